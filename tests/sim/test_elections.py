"""Elections on the simulated cluster: who leads, when, and in which term.

Raft §5.2 (leader election), thesis §6.2 (check-quorum) and §9.6 (pre-vote).
Every scenario arranges a cluster, injects a fault, and asserts the property
within a bounded number of virtual ticks.
"""

from __future__ import annotations

import random

import pytest

from ranet.core import Role
from ranet.sim import Simulation
from tests.sim.helpers import (
    DEFAULT_CONFIG,
    ELECTION_TIMEOUT,
    commit,
    leaders,
    max_term,
    steady_leader,
    wait_converged,
    wait_for_leader,
    wait_until,
)

SEEDS = range(4)
# A leader cut off from a majority notices at its next check-quorum, at most
# two election_ticks after the cut (thesis §6.2).
STEP_DOWN_BOUND = 2 * DEFAULT_CONFIG.election_ticks + 1


def everyone_follows(sim: Simulation, leader: int) -> bool:
    """``leader`` leads and every live node knows it, in the leader's term."""
    term = sim.nodes[leader].core.current_term
    return sim.nodes[leader].core.role == Role.LEADER and all(
        node.core.leader_id == leader and node.core.current_term == term
        for node in sim.nodes.values()
        if node.alive
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_three_nodes_elect_exactly_one_leader_and_agree_on_its_term(seed: int) -> None:
    """Raft §5.2: a fresh cluster elects one leader, and every server learns
    it from its AppendEntries and adopts its term (§5.1)."""
    sim = Simulation(3, seed)

    leader = wait_for_leader(sim, max_ticks=5 * ELECTION_TIMEOUT)
    wait_until(sim, lambda: everyone_follows(sim, leader), ELECTION_TIMEOUT, "all following")

    assert leaders(sim) == [leader]
    assert {node.core.current_term for node in sim.nodes.values()} == {
        sim.nodes[leader].core.current_term
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_without_faults_the_leader_and_term_survive_a_long_idle_period(seed: int) -> None:
    """Raft §5.2: heartbeats keep followers from timing out, so with no
    faults there is never a second election (checked after every event)."""
    sim = Simulation(3, seed)
    leader = wait_for_leader(sim)
    wait_until(sim, lambda: everyone_follows(sim, leader), ELECTION_TIMEOUT, "all following")
    term = max_term(sim)

    disturbed = sim.run_until(
        lambda: not everyone_follows(sim, leader) or max_term(sim) != term,
        max_ticks=50 * ELECTION_TIMEOUT,
    )

    assert not disturbed, f"seed {seed}: the idle cluster changed leader or term"


@pytest.mark.parametrize("fault", ["crash", "isolate"])
@pytest.mark.parametrize("seed", SEEDS)
def test_losing_the_leader_elects_another_in_a_higher_term(seed: int, fault: str) -> None:
    """Raft §5.2: followers that stop hearing from the leader time out and
    elect one of themselves in a new term; thesis §6.2: an isolated leader
    steps down once it cannot hear from a majority."""
    sim = Simulation(5, seed)
    old = wait_for_leader(sim)
    old_term = sim.nodes[old].core.current_term
    rest = [n for n in sim.nodes if n != old]

    if fault == "crash":
        sim.crash(old)
    else:
        sim.partition([old], rest)
    new = wait_for_leader(sim, rest, above_term=old_term, max_ticks=5 * ELECTION_TIMEOUT)

    assert sim.nodes[new].core.current_term > old_term
    commit(sim, b"under the new leader", at=new)
    if fault == "isolate":
        wait_until(
            sim, lambda: sim.nodes[old].core.role != Role.LEADER, STEP_DOWN_BOUND, "stepped down"
        )


@pytest.mark.parametrize("fault", ["crash", "isolate"])
@pytest.mark.parametrize("seed", SEEDS)
def test_without_a_quorum_nobody_becomes_leader_and_nothing_commits(seed: int, fault: str) -> None:
    """Raft §5.2: a candidate needs votes from a majority, and §5.3: an entry
    commits only on a majority. With 3 of 5 servers gone - crashed, or each cut
    off alone - the remaining two never elect a leader, however long they try,
    and with pre-vote (thesis §9.6) they do not even raise their terms."""
    sim = Simulation(5, seed)
    leader = steady_leader(sim, b"before the fault")
    committed = sim.committed_values()
    followers = [n for n in sim.nodes if n != leader]
    pair = followers[:2]  # what is left of the cluster: two of five

    if fault == "crash":
        for node_id in [leader, *followers[2:]]:
            sim.crash(node_id)
    else:
        sim.partition(pair, [leader], *[[n] for n in followers[2:]])
        wait_until(sim, lambda: not leaders(sim), STEP_DOWN_BOUND, "the old leader stepped down")
    term = max_term(sim)
    commit_indexes = {n: sim.nodes[n].core.commit_index for n in sim.nodes}

    elected = sim.run_until(lambda: bool(leaders(sim)), max_ticks=50 * ELECTION_TIMEOUT)

    assert not elected, f"seed {seed}: node {leaders(sim)} became leader without a quorum"
    assert sim.committed_values() == committed
    assert {n: sim.nodes[n].core.commit_index for n in sim.nodes} == commit_indexes
    assert max_term(sim) == term


@pytest.mark.parametrize("fault", ["crash", "isolate"])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_returning_old_leader_follows_without_disrupting_the_new_one(
    seed: int, fault: str
) -> None:
    """Thesis §9.6 (pre-vote) and §4.2.3: a server that comes back after the
    cluster moved on cannot win a pre-vote against followers of a live
    leader, so it never enters a new term of its own; it learns the new
    leader from its heartbeats and the new leader keeps its term."""
    sim = Simulation(5, seed)
    old = wait_for_leader(sim)
    old_term = sim.nodes[old].core.current_term
    rest = [n for n in sim.nodes if n != old]
    if fault == "crash":
        sim.crash(old)
    else:
        sim.partition([old], rest)
    new = wait_for_leader(sim, rest, above_term=old_term)
    new_term = sim.nodes[new].core.current_term
    commit(sim, b"while the old leader was away", at=new)
    sim.run_for(5 * ELECTION_TIMEOUT)  # long enough for the old leader to campaign, alone
    assert sim.nodes[old].core.current_term == old_term

    if fault == "crash":
        sim.restart(old)
    else:
        sim.heal()
    wait_until(sim, lambda: everyone_follows(sim, new), ELECTION_TIMEOUT, "the old leader follows")

    disrupted = sim.run_until(
        lambda: not everyone_follows(sim, new) or max_term(sim) != new_term,
        max_ticks=20 * ELECTION_TIMEOUT,
    )
    assert not disrupted, f"seed {seed}: the returning node disturbed leader {new}"
    wait_converged(sim)


@pytest.mark.parametrize("seed", range(3))
def test_seven_nodes_elect_a_leader_after_each_of_thirty_partitions(seed: int) -> None:
    """Raft §5.2, repeated: 30 times, 3 random servers of 7 are cut off for a
    while and reconnected. The majority side always has (or elects) a leader,
    and after each reconnect the whole cluster follows one leader within a
    bound and commits through it."""
    sim = Simulation(7, seed)
    rng = random.Random(seed)
    members = sorted(sim.nodes)
    wait_for_leader(sim)

    for round_number in range(30):
        away = rng.sample(members, 3)
        majority = [n for n in members if n not in away]
        sim.partition(away, majority)
        wait_for_leader(sim, majority, max_ticks=5 * ELECTION_TIMEOUT)
        sim.run_for(rng.randint(1, 2 * ELECTION_TIMEOUT))

        sim.heal()
        wait_until(
            sim,
            lambda: any(everyone_follows(sim, n) for n in leaders(sim)),
            3 * ELECTION_TIMEOUT,
            f"one leader for all seven after reconnect {round_number}",
        )
        commit(sim, f"round {round_number}".encode(), max_ticks=ELECTION_TIMEOUT)

    assert sim.committed_values() == [f"round {r}".encode() for r in range(30)]
