"""Raft paper Figure 8 (§5.4.2): why a leader never commits an entry from an
earlier term by counting replicas.

The deterministic scenarios rebuild the figure step by step with partitions
and crashes on five servers S1..S5 (ids chosen as the elections fall):

(a) S1 leads and replicates entry "a" at index 2 to S2 only.
(b) S1 crashes; S5 is elected by S3, S4, S5 and appends an entry of its own
    term at index 2, which reaches nobody; S5 crashes.
(c) S1 (or S2) is elected in a newer term and replicates "a" to S3: "a" is
    on a majority, but the new leader's own entry is not - so "a" is NOT
    committed.
(d) If the leader crashes now, S5 can win (votes from S3, S4) and overwrite
    "a" on S3 and S4 - which is why (c) must not have committed it.
(e) If instead the leader's entry reaches a majority, "a" commits with it,
    and S5 can no longer win.

Here every leader first commits a no-op of its term (§8), so S5's entry in
(b) is its no-op; one entry per AppendEntries and instant disks make each
step land exactly where the figure puts it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from ranet.core import CoreConfig, RaftCore, Role
from ranet.sim import NetworkConfig, Simulation
from tests.sim.helpers import (
    ELECTION_TIMEOUT,
    assert_everyone_has_every_committed_value,
    commit,
    wait_converged,
    wait_for_leader,
    wait_until,
)


@dataclass
class Figure8:
    """The cluster in state (c), and who is who."""

    sim: Simulation
    s1: int  # leader of (a)
    s2: int
    s3: int
    s4: int
    s5: int  # leader of (b)
    leader: int  # leader of (c): s1 or s2
    index: int  # where "a" sits
    term_a: int
    term_b: int

    @property
    def leader_core(self) -> RaftCore:
        return self.sim.nodes[self.leader].core


def figure_8_up_to_c(seed: int) -> Figure8:
    sim = Simulation(5, seed, config=CoreConfig(max_entries_per_message=1), max_disk_delay=0)
    s1 = wait_for_leader(sim)
    wait_converged(sim)
    s2, *group_b = (n for n in sorted(sim.nodes) if n != s1)

    # (a) S1 replicates "a" to S2 only.
    sim.partition([s1, s2], group_b)
    index = sim.propose(b"a", s1)
    assert index is not None
    wait_until(sim, lambda: sim.nodes[s2].core.log.last_index == index, 5, "S2 holds a")
    term_a = sim.nodes[s1].core.current_term
    sim.crash(s1)

    # (b) S3, S4, S5 elect S5, whose entry at the same index reaches nobody.
    sim.partition([s2], group_b)
    s5 = wait_for_leader(sim, group_b, above_term=term_a)
    s3, s4 = (n for n in group_b if n != s5)
    sim.partition([s2], [s3, s4], [s5])  # its AppendEntries are still in flight: lost
    term_b = sim.nodes[s5].core.current_term
    assert sim.nodes[s5].core.log.term(index) == term_b
    sim.crash(s5)

    # (c) S1 returns; S1, S2, S3 elect S1 or S2, which sends "a" to S3 and
    # then cannot reach it any more, so its own entry stays on two servers.
    sim.restart(s1)
    sim.partition([s1, s2, s3], [s4], [s5])
    leader = wait_for_leader(sim, [s1, s2, s3], above_term=term_b)
    assert leader in (s1, s2)  # S3 lacks "a", so its log is not up-to-date (§5.4.1)
    wait_until(sim, lambda: sim.nodes[s3].core.log.term(index) == term_a, 5, "S3 holds a")
    sim.cut_link(leader, s3)
    progress = sim.nodes[leader].core.replicator.progress
    follower = s2 if leader == s1 else s1
    wait_until(
        sim,
        lambda: progress[s3].match_index >= index and progress[follower].match_index >= index,
        5,
        "the leader knows a majority holds a",
    )
    return Figure8(sim, s1, s2, s3, s4, s5, leader, index, term_a, term_b)


def holders(sim: Simulation, index: int, term: int) -> set[int]:
    return {n.node_id for n in sim.nodes.values() if n.core.log.term(index) == term}


SEEDS = range(6)


@pytest.mark.parametrize("seed", SEEDS)
def test_figure_8_c_an_old_term_entry_on_a_majority_is_not_committed(seed: int) -> None:
    """§5.4.2: "Raft never commits log entries from previous terms by counting
    replicas." In (c) the leader knows "a" (of an older term) is on three of
    five servers, and still does not commit it."""
    f = figure_8_up_to_c(seed)
    sim, core = f.sim, f.leader_core

    assert core.log.term(f.index) == f.term_a
    assert len(holders(sim, f.index, f.term_a)) >= 3
    matched = [p for p, pr in core.replicator.progress.items() if pr.match_index >= f.index]
    assert len(matched) + 1 >= 3  # the leader knows: itself, plus at least two followers
    assert core.log.term(core.log.last_index) == core.current_term  # its own entry...
    assert len(holders(sim, core.log.last_index, core.current_term)) < 3  # ...on a minority

    sim.run_for(3)
    assert core.role == Role.LEADER
    assert all(node.core.commit_index < f.index for node in sim.nodes.values())
    assert b"a" not in sim.committed_values()


@pytest.mark.parametrize("seed", SEEDS)
def test_figure_8_d_a_newer_leader_may_overwrite_the_entry_the_old_one_did_not_commit(
    seed: int,
) -> None:
    """§5.4.2, Figure 8 (d): the leader of (c) crashes; S5, whose last entry
    has a later term than "a", is elected by S3 and S4 and overwrites "a".
    This is safe only because (c) did not commit it; the safety checker
    would raise if any server had applied "a" (Leader Completeness)."""
    f = figure_8_up_to_c(seed)
    sim = f.sim
    sim.crash(f.leader)
    sim.restart(f.s5)
    sim.partition([f.s3, f.s4, f.s5], [f.s1, f.s2])

    leader = wait_for_leader(sim, [f.s3, f.s4, f.s5], above_term=f.leader_core.current_term)

    assert leader == f.s5  # S3 and S4 hold older last terms than S5's no-op
    wait_until(
        sim,
        lambda: holders(sim, f.index, f.term_b) >= {f.s3, f.s4, f.s5},
        ELECTION_TIMEOUT,
        "S5's entry replaced a on S3 and S4",
    )
    commit(sim, b"after d", at=leader)
    assert b"a" not in sim.committed_values()
    assert sim.nodes[f.s3].core.log.term(f.index) == f.term_b


@pytest.mark.parametrize("seed", SEEDS)
def test_figure_8_e_an_old_term_entry_commits_only_with_one_of_the_current_term(
    seed: int,
) -> None:
    """§5.4.2, Figure 8 (e): once the leader's own entry is on a majority, the
    commit index jumps past "a" (never stopping at it), and S5 can no longer
    be elected, so "a" is safe."""
    f = figure_8_up_to_c(seed)
    sim, core = f.sim, f.leader_core
    seen: set[int] = set()

    def commit_passed_a() -> bool:
        seen.add(core.commit_index)
        return core.commit_index > f.index

    sim.heal()  # the leader's entry reaches S3 (S5 is still down)
    wait_until(sim, commit_passed_a, ELECTION_TIMEOUT, "committed past a")

    assert f.index not in seen, "the commit index stopped at the old-term entry"
    assert core.log.term(core.commit_index) == core.current_term
    assert b"a" in sim.committed_values()

    sim.crash(f.leader)
    sim.restart(f.s5)
    sim.partition([f.s3, f.s4, f.s5], [f.s1, f.s2])
    elected = sim.run_until(lambda: sim.nodes[f.s5].core.role == Role.LEADER, 20 * ELECTION_TIMEOUT)
    assert not elected, "S5 won an election without the committed entry"


def isolate(sim: Simulation, disconnected: set[int]) -> None:
    """Cut each of ``disconnected`` off alone; the rest talk freely."""
    connected = [n for n in sim.nodes if n not in disconnected]
    if disconnected:
        sim.partition(connected, *[[n] for n in sorted(disconnected)])
    else:
        sim.heal()


UNRELIABLE = NetworkConfig(max_latency=8, drop_rate=0.1, duplicate_rate=0.05, delay_spike_rate=0.05)


SMALL_BATCHES = CoreConfig(max_entries_per_message=1, max_inflight=2)


@pytest.mark.parametrize(
    ("network", "fault", "config"),
    [
        (NetworkConfig(), "crash", None),
        (UNRELIABLE, "crash", None),
        (UNRELIABLE, "disconnect", None),
        (UNRELIABLE, "crash", SMALL_BATCHES),
    ],
    ids=["reliable-crash", "unreliable-crash", "unreliable-disconnect", "small-batches-crash"],
)
@pytest.mark.parametrize("seed", range(3))
def test_figure_8_randomized_crashing_the_leader_never_loses_a_committed_entry(
    seed: int, network: NetworkConfig, fault: str, config: CoreConfig | None
) -> None:
    """Figure 8 stress (after MIT 6.824's TestFigure8 and TestFigure8Unreliable):
    over and over, propose at the leader, let a random while pass, then crash
    or disconnect the leader, reviving a server whenever fewer than three
    remain. Logs get divergent suffixes from many terms; at the end every
    committed command is on every server (§5.4.3). Small batches and a
    narrow in-flight window make every entry travel on its own."""
    sim = Simulation(5, seed, network=network, config=config)
    rng = random.Random(seed)
    down: set[int] = set()

    for round_number in range(200):
        leader = sim.leader()
        if leader is not None:
            sim.propose(f"round {round_number}".encode(), leader)
        sim.run_for(rng.randint(1, ELECTION_TIMEOUT) if rng.random() < 0.3 else rng.randint(1, 3))
        leader = sim.leader()
        if leader is not None and rng.random() < 0.5:
            down.add(leader)
            if fault == "crash":
                sim.crash(leader)
            else:
                isolate(sim, down)
        if len(down) > 2:
            revived = rng.choice(sorted(down))
            down.discard(revived)
            if fault == "crash":
                sim.restart(revived)
            else:
                isolate(sim, down)

    for node_id in sim.nodes:
        sim.restart(node_id)
    sim.heal()
    sim.network.config = NetworkConfig()
    commit(sim, b"final")
    wait_converged(sim)
    assert len(sim.committed_values()) >= 10  # progress was made between faults
    assert_everyone_has_every_committed_value(sim)
