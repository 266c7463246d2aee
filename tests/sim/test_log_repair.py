"""Repairing divergent logs: the leader's log wins, and quickly.

Raft §5.3: "the leader handles inconsistencies by forcing the followers' logs
to duplicate its own", and the optimisation at the end of §5.3 lets it skip
a whole conflicting term per rejected AppendEntries instead of one entry.
"""

from __future__ import annotations

import pytest

from ranet.core import AppendEntries
from tests.sim.helpers import (
    ObservedSimulation,
    assert_everyone_has_every_committed_value,
    commit,
    log_values,
    steady_leader,
    values,
    wait_converged,
    wait_for_leader,
    wait_until,
)

SEEDS = range(6)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_partitioned_old_leaders_uncommitted_entries_are_overwritten_on_rejoin(
    seed: int,
) -> None:
    """Raft §5.3 and Figure 7: the old leader accepted commands in a minority;
    the majority elected a new leader and committed others. After the heal
    every log equals the new leader's and the minority's commands, never
    committed, are gone."""
    sim = ObservedSimulation(5, seed)
    old = steady_leader(sim, b"before")
    followers = [n for n in sim.nodes if n != old]
    minority, majority = [old, followers[0]], followers[1:]
    sim.partition(minority, majority)
    lost = values("minority ", 5)
    for command in lost:
        assert sim.propose(command, old) is not None
    wait_until(
        sim,
        lambda: log_values(sim.nodes[followers[0]])[-1:] == lost[-1:],
        5,
        "the minority follower holds the old leader's entries",
    )

    new = wait_for_leader(sim, majority, above_term=sim.nodes[old].core.current_term)
    kept = values("majority ", 5)
    commit(sim, *kept, at=new)
    sim.heal()
    wait_converged(sim)

    assert sim.committed_values() == [b"before", *kept]
    for node in sim.nodes.values():
        assert node.core.log.entries == sim.nodes[new].core.log.entries
        assert not set(lost) & set(log_values(node))


@pytest.mark.parametrize("seed", SEEDS)
def test_leader_backs_up_over_fifty_divergent_entries_in_a_few_round_trips(seed: int) -> None:
    """Raft §5.3, last paragraphs (and MIT 6.824's TestBackup): two minority
    partitions each build 50+ uncommitted entries, while majorities commit
    others. Converging must not cost a rejection per divergent entry: with
    the conflict-term hint, one rejection per follower per divergent term."""
    sim = ObservedSimulation(5, seed)
    first = steady_leader(sim, b"base")
    others = [n for n in sim.nodes if n != first]

    # 50 entries that will never commit, on the old leader and one follower.
    follower_a, group_b = others[0], others[1:]
    sim.partition([first, follower_a], group_b)
    for command in values("lost A ", 50):
        sim.propose(command, first)
    wait_until(
        sim,
        lambda: log_values(sim.nodes[follower_a])[-1:] == [b"lost A 49"],
        5,
        "the follower holds the 50 doomed entries",
    )

    # The other three elect a leader and commit 50.
    second = wait_for_leader(sim, group_b, above_term=sim.nodes[first].core.current_term)
    commit(sim, *values("kept B ", 50), at=second)

    # That leader and one follower now build 50 doomed entries of their own.
    follower_b = next(n for n in group_b if n != second)
    third_group = [first, follower_a, *[n for n in group_b if n not in (second, follower_b)]]
    sim.partition([second, follower_b], third_group)
    for command in values("lost C ", 50):
        sim.propose(command, second)
    wait_until(
        sim,
        lambda: log_values(sim.nodes[follower_b])[-1:] == [b"lost C 49"],
        5,
        "the follower holds the next 50 doomed entries",
    )

    # The first leader's side comes back with the third server: its new
    # leader must back two servers up over the 50 "lost A" entries.
    since = sim.mark()
    third = wait_for_leader(sim, third_group, above_term=sim.nodes[second].core.current_term)
    commit(sim, *values("kept D ", 50), at=third)
    # And finally everyone: two more servers to back up over "lost C".
    sim.heal()
    commit(sim, b"everyone", max_ticks=40)
    wait_converged(sim)

    committed = sim.committed_values()
    assert committed == [b"base", *values("kept B ", 50), *values("kept D ", 50), b"everyone"]
    assert_everyone_has_every_committed_value(sim)
    leader = sim.leader()
    assert leader is not None
    # Four servers held a divergent suffix, each of a single term: with the
    # conflict-term hint that is at most one rejection per server, where a
    # back-off of one entry per rejection needs 50 for each of them.
    rejections = sim.rejections(since, to=leader)
    assert rejections <= 4, f"{rejections} rejected AppendEntries to converge"
    appends = sum(
        1 for m in sim.messages_since(since) if isinstance(m, AppendEntries) and m.src == leader
    )
    assert appends < 50, f"{appends} AppendEntries from the leader to converge"
