"""Log replication on the simulated cluster: what commits, where, in what order.

Raft §5.3 (log replication) and §5.4 (safety). Each scenario checks the
outside view a client cares about: a committed command is in every log and
every state machine, once, in one order; and nothing commits without a
majority.
"""

from __future__ import annotations

import pytest

from ranet.core import Role
from ranet.sim import NetworkConfig, Simulation
from tests.sim.helpers import (
    DEFAULT_CONFIG,
    ELECTION_TIMEOUT,
    applied_values,
    assert_everyone_has_every_committed_value,
    commit,
    leaders,
    log_values,
    steady_leader,
    values,
    wait_converged,
    wait_for_leader,
    wait_until,
)

SEEDS = range(4)


@pytest.mark.parametrize("nodes", [1, 3, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_proposals_commit_on_every_node_in_one_order_applied_exactly_once(
    seed: int, nodes: int
) -> None:
    """Raft §5.3: the leader appends each command, replicates it, and once it
    is committed every server applies it, in log order (§5.4.3 State Machine
    Safety); a command is applied once, however many messages carried it."""
    sim = Simulation(nodes, seed)
    wait_for_leader(sim)
    commands = values("cmd", 20)

    for command in commands:
        commit(sim, command, max_ticks=ELECTION_TIMEOUT)
    wait_converged(sim, max_ticks=ELECTION_TIMEOUT)

    assert sim.committed_values() == commands
    for node in sim.nodes.values():
        assert log_values(node) == commands
        assert applied_values(node) == commands


@pytest.mark.parametrize("fault", ["crash", "isolate"])
@pytest.mark.parametrize("seed", SEEDS)
def test_commits_continue_without_one_follower_which_catches_up_on_return(
    seed: int, fault: str
) -> None:
    """Raft §5.3: the leader needs only a majority, so with 1 of 3 followers
    down commands keep committing; "the leader retries AppendEntries
    indefinitely", so the follower catches up when it comes back (§5.5)."""
    sim = Simulation(3, seed)
    leader = steady_leader(sim, b"before")
    follower = next(n for n in sim.nodes if n != leader)

    if fault == "crash":
        sim.crash(follower)
    else:
        sim.partition([follower], [n for n in sim.nodes if n != follower])
    commit(sim, *values("while away ", 10), at=leader, max_ticks=ELECTION_TIMEOUT)
    assert sim.nodes[follower].core.log.last_index < sim.nodes[leader].core.log.last_index

    if fault == "crash":
        sim.restart(follower)
    else:
        sim.heal()
    wait_converged(sim, max_ticks=ELECTION_TIMEOUT)

    expected = [b"before", *values("while away ", 10)]
    assert sim.committed_values() == expected
    assert applied_values(sim.nodes[follower]) == expected
    assert sim.nodes[follower].core.log.entries == sim.nodes[leader].core.log.entries


@pytest.mark.parametrize("seed", SEEDS)
def test_a_leader_with_a_minority_cannot_commit_until_the_partition_heals(seed: int) -> None:
    """Raft §5.3: an entry is committed once the leader has replicated it on a
    majority. A leader that can reach only one of its four followers keeps
    the entry uncommitted; healed before it gives up (thesis §6.2), it
    commits the entry in the same term."""
    sim = Simulation(5, seed)
    leader = steady_leader(sim, b"before")
    term = sim.nodes[leader].core.current_term
    followers = [n for n in sim.nodes if n != leader]
    sim.partition([leader, followers[0]], *[[n] for n in followers[1:]])

    index = sim.propose(b"needs a majority", leader)
    assert index is not None
    sim.run_for(DEFAULT_CONFIG.election_ticks // 2)  # shorter than a check-quorum round

    assert sim.nodes[followers[0]].core.log.last_index == index  # replicated, on 2 of 5
    assert all(node.core.commit_index < index for node in sim.nodes.values())
    assert b"needs a majority" not in sim.committed_values()

    sim.heal()
    wait_until(
        sim, lambda: b"needs a majority" in sim.committed_values(), ELECTION_TIMEOUT, "committed"
    )
    assert leaders(sim) == [leader]
    assert sim.nodes[leader].core.current_term == term
    wait_converged(sim)


# Most seeds elect a server without the entry; 8 and 37 elect one holding it.
@pytest.mark.parametrize("seed", [*SEEDS, 8, 37])
def test_an_entry_stranded_with_a_deposed_minority_leader_commits_or_vanishes_everywhere(
    seed: int,
) -> None:
    """Raft §5.4.1-§5.4.2: if the minority leader steps down before the heal,
    a new election decides the entry's fate. If the winner holds it, it
    commits with the winner's first entry; if not, it is overwritten. Either
    way all logs agree, and it is committed at most once."""
    sim = Simulation(5, seed)
    leader = steady_leader(sim, b"before")
    followers = [n for n in sim.nodes if n != leader]
    sim.partition([leader, followers[0]], *[[n] for n in followers[1:]])
    index = sim.propose(b"stranded", leader)
    assert index is not None
    wait_until(
        sim,
        lambda: sim.nodes[leader].core.role != Role.LEADER,
        2 * DEFAULT_CONFIG.election_ticks + 1,
        "the minority leader stepped down",
    )
    assert b"stranded" not in sim.committed_values()

    sim.heal()
    commit(sim, b"after")
    wait_converged(sim)

    committed = sim.committed_values()
    assert committed.count(b"stranded") <= 1
    for node in sim.nodes.values():
        assert (b"stranded" in log_values(node)) == (b"stranded" in committed)
    assert_everyone_has_every_committed_value(sim)


@pytest.mark.parametrize(
    "network",
    [
        NetworkConfig(),
        NetworkConfig(max_latency=8, drop_rate=0.1, duplicate_rate=0.1, delay_spike_rate=0.05),
    ],
    ids=["reliable", "unreliable"],
)
@pytest.mark.parametrize("seed", SEEDS)
def test_many_proposals_in_one_tick_all_commit_in_one_order_everywhere(
    seed: int, network: NetworkConfig
) -> None:
    """Raft §5.3: the leader serializes concurrent commands into its log, and
    every server applies that one order (§5.4.3), even when the network
    drops, duplicates and reorders the messages that carry them."""
    sim = Simulation(3, seed, network=network)
    leader = wait_for_leader(sim)
    commands = values("concurrent ", 100)

    for command in commands:  # all at the same instant of virtual time
        assert sim.propose(command, leader) is not None
    wait_converged(sim, max_ticks=5 * ELECTION_TIMEOUT)

    assert sim.committed_values() == commands  # one leader, so its arrival order
    for node in sim.nodes.values():
        assert applied_values(node) == commands
