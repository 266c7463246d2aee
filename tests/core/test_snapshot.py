"""Log compaction and InstallSnapshot (Raft §7)."""

from __future__ import annotations

import random

import pytest

from ranet.core import (
    AppendEntries,
    AppendEntriesResponse,
    Entry,
    HardState,
    HeartbeatResponse,
    InstallSnapshot,
    RaftCore,
    SnapshotMeta,
)
from ranet.core.progress import ReplicationState
from ranet.errors import ProtocolInvariantViolated
from tests.core.harness import NO_PRE_VOTE, Cluster, sent, take


def leader_with_compacted_log(lagging: int = 3) -> Cluster:
    """Node 1 leads, node ``lagging`` missed five entries that 1 then compacted."""
    cluster = Cluster(3)
    cluster.elect(1)
    cluster.isolate(lagging)
    for i in range(5):
        cluster[1].propose(b"%d" % i)
    cluster.deliver()
    leader = cluster[1]
    meta = leader.compact(leader.log.applied)
    assert meta.last_index == 6 and leader.log.first_index == 7
    cluster.heal()
    return cluster


def test_compaction_drops_applied_entries_only() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    cluster[1].propose(b"x")
    cluster.deliver()
    log = cluster[1].log
    meta = cluster[1].compact(2)
    assert (meta.last_index, meta.last_term, meta.voters) == (2, 1, (1, 2, 3))
    assert log.offset == 2 and log.entries == [] and log.term(2) == 1
    cluster[1].propose(b"y")
    with pytest.raises(ProtocolInvariantViolated):
        cluster[1].compact(3)  # proposed, not yet applied


def test_leader_sends_a_snapshot_to_a_follower_behind_the_log_start() -> None:
    cluster = leader_with_compacted_log()
    leader = cluster[1]
    leader.step(AppendEntriesResponse(3, 1, 1, False, reject_index=6, hint_index=1, hint_term=1))
    messages = take(leader).messages
    (snapshot,) = [m for m in messages if isinstance(m, InstallSnapshot)]
    assert (snapshot.dst, snapshot.last_index, snapshot.last_term) == (3, 6, 1)
    assert snapshot.data == b""  # the runtime attaches its stored snapshot
    assert leader.replicator.progress[3].state == ReplicationState.SNAPSHOT


def test_follower_installs_a_snapshot_it_does_not_hold() -> None:
    """§7: a snapshot beyond the follower's log replaces the log entirely."""
    follower = RaftCore(
        3, frozenset({1, 2, 3}), random.Random(3), NO_PRE_VOTE,
        hard_state=HardState(current_term=1), entries=[Entry(1, b"old")],
    )  # fmt: skip
    follower.step(InstallSnapshot(1, 3, 2, 10, 2, (1, 2, 3, 4), (), b"", b"state"))
    ready = follower.ready()
    assert ready.snapshot == (SnapshotMeta(10, 2, (1, 2, 3, 4), (), b""), b"state")
    assert ready.must_sync
    (reply,) = ready.persisted_messages  # acknowledged only once saved
    assert reply.success and reply.match_index == 10
    log = follower.log
    assert (log.offset, log.entries, log.commit_index, log.applied) == (10, [], 10, 10)
    assert follower.voters == {1, 2, 3, 4}


def test_follower_keeps_a_log_that_already_holds_the_snapshot_point() -> None:
    """§7: if the follower's log has the snapshot's last entry, it keeps the
    entries after it and only learns the commit."""
    entries = [Entry(1, b"a"), Entry(1, b"b"), Entry(1, b"c")]
    follower = RaftCore(3, frozenset({1, 2, 3}), random.Random(3), NO_PRE_VOTE,
                        hard_state=HardState(current_term=1), entries=entries)  # fmt: skip
    follower.step(InstallSnapshot(1, 3, 1, 2, 1, (1, 2, 3), (), b"", b"state"))
    ready = take(follower)
    assert ready.snapshot is None
    assert follower.log.entries == entries and follower.commit_index == 2


def test_a_stale_snapshot_is_only_acknowledged() -> None:
    follower = RaftCore(3, frozenset({1, 2, 3}), random.Random(3), NO_PRE_VOTE,
                        hard_state=HardState(current_term=1, commit_index=3),
                        entries=[Entry(1, b"a"), Entry(1, b"b"), Entry(1, b"c")])  # fmt: skip
    follower.step(InstallSnapshot(1, 3, 1, 2, 1, (1, 2, 3), (), b"", b"state"))
    ready = take(follower)
    assert ready.snapshot is None
    assert [m.match_index for m in sent(ready)] == [3]


def test_snapshot_acknowledgement_resumes_replication() -> None:
    cluster = leader_with_compacted_log()
    cluster[1].propose(b"after")
    cluster.tick(1)
    cluster.deliver(keep=lambda m: not isinstance(m, InstallSnapshot))
    progress = cluster[1].replicator.progress[3]
    assert progress.state == ReplicationState.SNAPSHOT
    cluster[1].step(AppendEntriesResponse(3, 1, 1, True, match_index=6))
    assert progress.state == ReplicationState.REPLICATE
    (append,) = [m for m in take(cluster[1]).messages if isinstance(m, AppendEntries)]
    assert append.dst == 3 and append.prev_log_index == 6  # the log resumes after the snapshot
    assert [e.data for e in append.entries] == [b"after"]


def test_a_lost_snapshot_is_sent_again_after_an_election_timeout_of_heartbeats() -> None:
    cluster = leader_with_compacted_log()
    leader = cluster[1]
    leader.step(AppendEntriesResponse(3, 1, 1, False, reject_index=6, hint_index=1, hint_term=1))
    take(leader)
    resent = []
    for _ in range(NO_PRE_VOTE.election_ticks):
        leader.step(HeartbeatResponse(3, 1, 1))
        resent += [m for m in take(leader).messages if isinstance(m, InstallSnapshot)]
    assert len(resent) == 1


def test_a_failed_delivery_report_probes_again() -> None:
    cluster = leader_with_compacted_log()
    leader = cluster[1]
    leader.step(AppendEntriesResponse(3, 1, 1, False, reject_index=6, hint_index=1, hint_term=1))
    take(leader)
    leader.report_snapshot(3, delivered=False)
    assert leader.replicator.progress[3].state == ReplicationState.PROBE


def test_restart_from_a_snapshot_and_the_log_after_it() -> None:
    core = RaftCore(2, frozenset({1, 2, 3}), random.Random(2), NO_PRE_VOTE,
                    hard_state=HardState(current_term=3, commit_index=12),
                    snapshot=SnapshotMeta(10, 2, (1, 2, 3), ()),
                    entries=[Entry(3, b"k"), Entry(3, b"l")])  # fmt: skip
    log = core.log
    assert (log.first_index, log.last_index, log.term(10), log.applied) == (11, 12, 2, 10)
    ready = take(core)
    assert ready.committed_first_index == 11
    assert [e.data for e in ready.committed_entries] == [b"k", b"l"]
