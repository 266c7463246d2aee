"""Crashes and restarts: what survives is exactly what reached the disk.

Raft Figure 2 ("persistent state on all servers ... updated on stable storage
before responding to RPCs") and §5.4; thesis §10.2.1 (a leader may write its
own log in parallel with replicating it). The simulator's storage loses every
write not yet synced when a node crashes, and a restart rebuilds the core
from what storage kept.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ranet.sim import NetworkConfig, Simulation
from tests.sim.helpers import (
    ELECTION_TIMEOUT,
    assert_everyone_has_every_committed_value,
    commit,
    log_values,
    steady_leader,
    values,
    wait_converged,
    wait_for_leader,
    wait_until,
)

SEEDS = range(4)
SLOW_DISK = 200  # up to 20 ticks per sync: longer than an election timeout


def durable_state(sim: Simulation, node_id: int) -> tuple:
    core = sim.nodes[node_id].core
    return core.current_term, core.voted_for, list(core.log.entries), core.commit_index


def all_synced(sim: Simulation) -> bool:
    return all(n.core.log.stable_index == n.core.log.last_index for n in sim.nodes.values())


@pytest.mark.parametrize("seed", SEEDS)
def test_a_restarted_node_recovers_term_vote_and_log_from_storage(seed: int) -> None:
    """Raft Figure 2: currentTerm, votedFor and log[] are persistent. With a
    disk that syncs every write at once, a node that crashes - alone, with
    another, or with the whole cluster - restarts with exactly the term,
    vote, log and commit index it had."""
    sim = Simulation(5, seed, max_disk_delay=0)
    rng = random.Random(seed)
    members = sorted(sim.nodes)
    wait_for_leader(sim)

    for round_number in range(40):
        for command in values(f"round {round_number}.", 2):
            sim.propose(command)
        sim.run_for(rng.randint(1, ELECTION_TIMEOUT))
        everyone = round_number % 8 == 7
        victims = members if everyone else rng.sample(members, rng.randint(1, 2))
        before = {n: durable_state(sim, n) for n in victims}

        for node_id in victims:
            sim.crash(node_id)
        sim.run_for(rng.randint(0, ELECTION_TIMEOUT))
        for node_id in victims:
            sim.restart(node_id)

        assert {n: durable_state(sim, n) for n in victims} == before

    commit(sim, b"end")
    wait_converged(sim)
    assert len(sim.committed_values()) > 20
    assert_everyone_has_every_committed_value(sim)


@pytest.mark.parametrize("seed", SEEDS)
def test_committed_entries_survive_crashing_random_nodes_and_the_whole_cluster(
    seed: int,
) -> None:
    """Raft §5.4 and Figure 2: an entry is committed only once a majority
    holds it on stable storage, so crashing any servers - all five at once
    included - never loses it: after a full-cluster restart every committed
    entry is on the disks of a majority, and in the end on every server."""
    sim = Simulation(5, seed, max_disk_delay=40)
    rng = random.Random(seed)
    members = sorted(sim.nodes)
    majority = len(members) // 2 + 1
    wait_for_leader(sim)

    for round_number in range(30):
        for command in values(f"round {round_number}.", 3):
            sim.propose(command)
        sim.run_for(rng.randint(1, 8))
        everyone = round_number % 5 == 4
        victims = members if everyone else rng.sample(members, rng.randint(1, 2))
        for node_id in victims:
            sim.crash(node_id)
        if everyone:
            for node_id in members:
                sim.restart(node_id)
            for index, entry in sim.checker.committed.items():
                holding = [
                    n
                    for n in members
                    if sim.nodes[n].core.log.term(index) == entry.term
                    and sim.nodes[n].core.log.entries[index - 1] == entry
                ]
                assert len(holding) >= majority, f"committed entry {index} survived on {holding}"
        else:
            sim.run_for(rng.randint(0, ELECTION_TIMEOUT))
            for node_id in victims:
                sim.restart(node_id)

    commit(sim, b"end")
    wait_converged(sim)
    assert len(sim.committed_values()) > 20
    assert_everyone_has_every_committed_value(sim)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_follower_crashing_before_its_sync_finishes_loses_exactly_the_unsynced_entries(
    seed: int,
) -> None:
    """Figure 2: a follower acknowledges entries only once they are on stable
    storage. Crashed after receiving entries but before its slow sync
    finished, it restarts with only what was synced; it never acknowledged
    the rest, so nothing committed is lost and it catches up again."""
    sim = Simulation(3, seed, max_disk_delay=SLOW_DISK)
    leader = steady_leader(sim, b"synced")
    followers = [n for n in sim.nodes if n != leader]
    proposed = [b"synced"]

    def holding_unsynced(last: bytes) -> int | None:
        """A follower holding ``last`` whose disk has not caught up yet."""
        for node_id in followers:
            log = sim.nodes[node_id].core.log
            if log_values(sim.nodes[node_id])[-1:] == [last] and log.stable_index < log.last_index:
                return node_id
        return None

    for attempt in range(20):  # until a follower's sync lags behind what it received
        wait_until(sim, lambda: all_synced(sim), 5 * ELECTION_TIMEOUT, "every disk synced")
        batch = values(f"attempt {attempt}.", 5)
        for command in batch:
            assert sim.propose(command, leader) is not None
        proposed += batch
        if sim.run_until(lambda batch=batch: holding_unsynced(batch[-1]) is not None, 5):
            break
    else:
        pytest.fail("no follower was ever caught with unsynced entries")
    follower = holding_unsynced(batch[-1])
    assert follower is not None
    log = sim.nodes[follower].core.log
    synced = list(log.entries[: log.stable_index])
    received = log.last_index

    sim.crash(follower)
    sim.restart(follower)

    restarted = sim.nodes[follower].core.log
    assert restarted.entries == synced
    assert restarted.last_index < received
    assert b"synced" in log_values(sim.nodes[follower])
    wait_converged(sim, max_ticks=10 * ELECTION_TIMEOUT)
    assert sim.committed_values() == proposed
    assert_everyone_has_every_committed_value(sim)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_leader_crashing_before_its_own_sync_loses_only_its_copy_of_a_committed_entry(
    seed: int,
) -> None:
    """Thesis §10.2.1: the leader replicates an entry while writing it, and the
    entry commits once a majority - here both followers - has it durably,
    even if the leader's own write is still pending. The leader crashes and
    loses its copy, but not the entry: the followers hold it, one of them is
    elected (§5.4.1 rejects the leader's now shorter log), and it stays
    committed."""
    sim = Simulation(3, seed, max_disk_delay=SLOW_DISK)
    leader = steady_leader(sim, b"first")
    core = sim.nodes[leader].core

    for attempt in range(50):  # until the leader's write is the slowest of the three
        wait_until(sim, lambda: all_synced(sim), 5 * ELECTION_TIMEOUT, "every disk synced")
        command = f"attempt {attempt}".encode()
        sim.propose(command, leader)
        if sim.run_until(
            lambda command=command: (
                command in sim.committed_values() and core.log.stable_index < core.log.last_index
            ),
            max_ticks=SLOW_DISK // sim.TICK + 1,
        ):
            break
    else:
        pytest.fail("the leader's disk was never the slowest")

    sim.crash(leader)
    sim.restart(leader)
    assert command not in log_values(sim.nodes[leader])

    followers = [n for n in sim.nodes if n != leader]
    wait_for_leader(sim, followers, above_term=core.current_term)
    commit(sim, b"after")
    wait_converged(sim, max_ticks=10 * ELECTION_TIMEOUT)
    assert command in log_values(sim.nodes[leader])
    assert_everyone_has_every_committed_value(sim)


@pytest.mark.parametrize("seed", SEEDS)
def test_with_one_follower_away_a_commit_means_the_leaders_own_disk_holds_the_entry(
    seed: int,
) -> None:
    """Thesis §10.2.1: the leader counts itself toward a majority only for
    entries on its own disk. With one of three servers away the majority is
    the leader and one follower, so an entry is committed only once both
    have synced it: crashing both right after the commit loses nothing."""
    sim = Simulation(3, seed, max_disk_delay=SLOW_DISK)
    leader = steady_leader(sim, b"first")
    follower, away = (n for n in sim.nodes if n != leader)
    sim.partition([leader, follower], [away])

    for round_number in range(5):
        command = f"round {round_number}".encode()
        assert sim.propose(command, leader) is not None
        wait_until(sim, lambda command=command: command in sim.committed_values(), 100, "committed")
        for node_id in (leader, follower):
            sim.crash(node_id)
        for node_id in (leader, follower):
            sim.restart(node_id)

        assert command in log_values(sim.nodes[leader])
        assert command in log_values(sim.nodes[follower])
        leader = wait_for_leader(sim, [leader, follower])
        follower = next(n for n in sim.nodes if n not in (leader, away))


CHURN_NETWORK = NetworkConfig(max_latency=6, drop_rate=0.05, duplicate_rate=0.05)


@pytest.mark.parametrize("seed", range(4))
def test_churn_of_crashes_restarts_and_partitions_loses_no_committed_command(seed: int) -> None:
    """Raft §5.4.3 State Machine Safety under churn: random crashes, restarts,
    partitions and one-way cuts while clients keep proposing, several per
    tick. After everything heals, every command in committed_values() is in
    every server's log and state machine, in one order."""
    sim = Simulation(5, seed, network=CHURN_NETWORK, max_disk_delay=4)
    rng = random.Random(seed)
    members = sorted(sim.nodes)
    proposed = 0
    faults: Counter[str] = Counter()

    for step in range(300):
        sim.run_for(1)
        for _ in range(rng.randint(0, 3)):
            if sim.propose(f"step {step}.{proposed}".encode()) is not None:
                proposed += 1
        alive = [n for n in members if sim.nodes[n].alive]
        down = [n for n in members if not sim.nodes[n].alive]
        roll = rng.random()
        if roll < 0.03 and alive:
            sim.crash(rng.choice(alive))
            faults["crash"] += 1
        elif roll < 0.08 and down:  # restarts outpace crashes: the cluster is mostly up
            sim.restart(rng.choice(down))
        elif roll < 0.10:
            shuffled = rng.sample(members, len(members))
            cut = rng.randint(1, len(members) - 1)
            sim.partition(shuffled[:cut], shuffled[cut:])
            faults["partition"] += 1
        elif roll < 0.11:
            sim.cut_link(*rng.sample(members, 2))
            faults["one-way cut"] += 1
        elif roll < 0.14:
            sim.heal()

    for node_id in members:
        sim.restart(node_id)
    sim.heal()
    sim.network.config = NetworkConfig()
    commit(sim, b"end")
    wait_converged(sim)

    # The churn really churned, and left windows in which commands committed.
    assert faults["crash"] >= 2 and faults["partition"] >= 2, faults
    assert proposed > 0 and len(sim.committed_values()) > 1
    assert_everyone_has_every_committed_value(sim)
