"""ReadIndex, linearizable reads without log writes (thesis §6.4)."""

from __future__ import annotations

import pytest

from ranet.core import (
    AppendEntriesResponse,
    Heartbeat,
    HeartbeatResponse,
    ReadState,
    RequestVoteResponse,
)
from ranet.errors import NotLeader
from tests.core.harness import Cluster, new_core, take


def test_read_on_a_follower_fails_fast_with_the_leader_hint() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    with pytest.raises(NotLeader) as error:
        cluster[2].read_index(b"r")
    assert error.value.leader_hint == 1


def test_read_is_released_after_a_majority_confirms_leadership() -> None:
    """§6.4 steps 2-3: record the commit index, confirm with a heartbeat round."""
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    leader.read_index(b"r1")
    ready = take(leader)
    assert ready.read_states == []  # not before the round
    rounds = [m for m in ready.messages if isinstance(m, Heartbeat)]
    assert len(rounds) == 1 and rounds[0].context == 1  # one voter makes a majority with it
    leader.step(HeartbeatResponse(rounds[0].dst, 1, 1, context=1))  # 2 of 3 with the leader
    assert take(leader).read_states == [ReadState(b"r1", leader.commit_index)]


def test_reads_wait_for_the_leaders_first_commit() -> None:
    """§6.4 step 1: a new leader's commit index may be stale until its no-op commits."""
    leader = new_core(1, (1, 2, 3))
    leader.campaign()
    leader.step(RequestVoteResponse(2, 1, 1, True))
    take(leader)
    leader.read_index(b"early")
    assert not any(isinstance(m, Heartbeat) for m in take(leader).messages)
    leader.step(AppendEntriesResponse(2, 1, 1, True, match_index=1))  # the no-op commits
    ready = take(leader)
    assert any(isinstance(m, Heartbeat) and m.context == 1 for m in ready.messages)
    leader.step(HeartbeatResponse(2, 1, 1, context=1))
    assert take(leader).read_states == [ReadState(b"early", 1)]


def test_reads_arriving_together_share_one_round() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    for name in (b"a", b"b", b"c"):
        leader.read_index(name)
    heartbeats = [m for m in take(leader).messages if isinstance(m, Heartbeat)]
    assert [m.context for m in heartbeats] == [3]
    leader.step(HeartbeatResponse(heartbeats[0].dst, 1, 1, context=3))
    assert [s.context for s in take(leader).read_states] == [b"a", b"b", b"c"]


def heartbeat_contexts(messages: list[object]) -> list[int]:
    return [m.context for m in messages if isinstance(m, Heartbeat)]


def test_reads_arriving_while_a_round_is_out_wait_for_it_and_share_the_next() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    leader.read_index(b"a")
    assert heartbeat_contexts(take(leader).messages) == [1]
    leader.read_index(b"b")
    leader.read_index(b"c")
    assert heartbeat_contexts(take(leader).messages) == []  # round 1 is still out
    leader.step(HeartbeatResponse(2, 1, 1, context=1))
    ready = take(leader)
    assert [s.context for s in ready.read_states] == [b"a"]
    assert heartbeat_contexts(ready.messages) == [3]  # one round for b and c
    leader.step(HeartbeatResponse(2, 1, 1, context=3))
    assert [s.context for s in take(leader).read_states] == [b"b", b"c"]


def test_a_read_round_goes_to_the_voters_that_answered_rounds_last() -> None:
    cluster = Cluster(5)
    cluster.elect(1)
    leader = cluster[1]
    for peer in (2, 3, 4, 5):  # the periodic heartbeat: everyone answers, 4 and 5 last
        leader.step(HeartbeatResponse(peer, 1, 1, context=0))
    leader.read_index(b"a")
    (first,) = [m for m in take(leader).messages if isinstance(m, Heartbeat)][:1]
    leader.step(HeartbeatResponse(first.dst, 1, 1, context=1))
    leader.step(HeartbeatResponse(4, 1, 1, context=1))  # a late answer to a periodic heartbeat
    take(leader)
    leader.read_index(b"b")
    targets = sorted(m.dst for m in take(leader).messages if isinstance(m, Heartbeat))
    assert targets == sorted({first.dst, 4})  # two voters and the leader make 3 of 5


def test_a_lost_read_round_is_made_up_by_the_periodic_heartbeat() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    leader.read_index(b"a")
    take(leader)  # the round is lost
    leader.read_index(b"b")
    assert heartbeat_contexts(take(leader).messages) == []
    for _ in range(leader.config.heartbeat_ticks):
        leader.tick()
    assert heartbeat_contexts(take(leader).messages) == [2, 2]
    leader.step(HeartbeatResponse(2, 1, 1, context=2))
    assert [s.context for s in take(leader).read_states] == [b"a", b"b"]


def test_an_acknowledgement_of_an_older_round_does_not_confirm_a_newer_read() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    leader.read_index(b"first")
    take(leader)
    leader.read_index(b"second")
    take(leader)
    leader.step(HeartbeatResponse(2, 1, 1, context=1))
    assert [s.context for s in take(leader).read_states] == [b"first"]
    leader.step(HeartbeatResponse(2, 1, 1, context=2))
    assert [s.context for s in take(leader).read_states] == [b"second"]


def test_isolated_leader_never_serves_the_read() -> None:
    """A deposed leader must not answer from its stale state."""
    cluster = Cluster(3)
    cluster.elect(1)
    cluster.isolate(1)
    cluster[1].read_index(b"stale?")
    cluster.deliver()
    for _ in range(5):
        cluster.tick(1)
        cluster.deliver()
    assert cluster[1].read_states == []


def test_single_voter_serves_reads_at_once() -> None:
    core = new_core(1, (1,))
    core.campaign()
    take(core)
    core.advance(core.ready())
    assert core.commit_index == 1
    core.read_index(b"solo")
    assert take(core).read_states == [ReadState(b"solo", 1)]


def test_read_index_round_trip_through_delivery() -> None:
    cluster = Cluster(5)
    cluster.elect(1)
    cluster[1].propose(b"w")
    cluster.deliver()
    cluster[1].read_index(b"r")
    cluster.deliver()
    assert cluster.read_states[1] == [ReadState(b"r", 2)]
