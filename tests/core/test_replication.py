"""Log replication and commitment, one rule per test (Raft §5.3, §5.4.2, §8;
thesis §10.2.1; DESIGN.md flow control and batching)."""

from __future__ import annotations

import random

import pytest

from ranet.core import (
    AppendEntries,
    AppendEntriesResponse,
    CoreConfig,
    Entry,
    EntryKind,
    HardState,
    Heartbeat,
    HeartbeatResponse,
    RaftCore,
)
from ranet.errors import ProtocolInvariantViolated
from tests.core.harness import NO_PRE_VOTE, Cluster, new_core, sent, take


def follower_with(entries: list[Entry], term: int, commit: int = 0) -> RaftCore:
    return RaftCore(
        2,
        frozenset({1, 2, 3}),
        random.Random(2),
        NO_PRE_VOTE,
        hard_state=HardState(current_term=term, commit_index=commit),
        entries=entries,
    )


def reply_to(core: RaftCore, message: AppendEntries) -> AppendEntriesResponse:
    core.step(message)
    (reply,) = [m for m in sent(take(core)) if isinstance(m, AppendEntriesResponse)]
    return reply


# -- the follower's side (Figure 2, AppendEntries receiver) ----------------------------


def test_append_rejected_when_previous_entry_does_not_match() -> None:
    """§5.3: the consistency check refuses entries that do not follow a matching entry."""
    follower = follower_with([Entry(1, b"a"), Entry(1, b"b")], term=2)
    reply = reply_to(follower, AppendEntries(1, 2, 2, 2, 2, (Entry(2, b"c"),), 0))
    assert not reply.success and reply.reject_index == 2
    assert [e.data for e in follower.log.entries] == [b"a", b"b"]


def test_append_rejected_when_previous_entry_is_missing() -> None:
    follower = follower_with([Entry(1, b"a")], term=1)
    reply = reply_to(follower, AppendEntries(1, 2, 1, 5, 1, (Entry(1, b"x"),), 0))
    assert not reply.success
    assert (reply.hint_index, reply.hint_term) == (1, 1)  # "my log ends at 1"


def test_conflicting_suffix_is_truncated_and_replaced() -> None:
    """§5.3: an existing entry that conflicts (same index, other term) is
    deleted with all that follow it, then the leader's entries are appended."""
    follower = follower_with([Entry(1, b"a"), Entry(1, b"b"), Entry(1, b"c")], term=2)
    reply = reply_to(follower, AppendEntries(1, 2, 2, 1, 1, (Entry(2, b"B"),), 0))
    assert reply.success and reply.match_index == 2
    assert [(e.term, e.data) for e in follower.log.entries] == [(1, b"a"), (2, b"B")]


def test_matching_entries_are_never_truncated() -> None:
    """§5.3: only a real conflict truncates. A delayed, shorter AppendEntries
    must not cut entries a later message already added."""
    follower = follower_with([], term=1)
    long = AppendEntries(1, 2, 1, 0, 0, (Entry(1, b"a"), Entry(1, b"b"), Entry(1, b"c")), 0)
    short = AppendEntries(1, 2, 1, 0, 0, (Entry(1, b"a"),), 0)
    assert reply_to(follower, long).match_index == 3
    assert reply_to(follower, short).match_index == 1  # acknowledges what the message held
    assert [e.data for e in follower.log.entries] == [b"a", b"b", b"c"]


def test_truncation_is_handed_to_storage_from_the_conflict() -> None:
    """The Ready tells storage to rewrite from the first conflicting index."""
    follower = follower_with([Entry(1, b"a"), Entry(1, b"b"), Entry(1, b"c")], term=2)
    follower.step(AppendEntries(1, 2, 2, 1, 1, (Entry(2, b"B"),), 0))
    ready = follower.ready()
    assert ready.entries_first_index == 2 and ready.entries == [Entry(2, b"B")]


def test_committed_entry_is_never_overwritten() -> None:
    """§5.4 (Leader Completeness): a leader never asks to overwrite a committed
    entry; if a forged message does, the core refuses rather than lose it."""
    follower = follower_with([Entry(1, b"a"), Entry(1, b"b")], term=2, commit=2)
    follower.step(Heartbeat(1, 2, 2, 0))
    take(follower)
    reply = reply_to(follower, AppendEntries(1, 2, 2, 1, 1, (Entry(2, b"X"),), 0))
    assert reply.success and reply.match_index == 2  # below commit: already known to match
    assert follower.log.entries[1] == Entry(1, b"b")
    with pytest.raises(ProtocolInvariantViolated):
        follower.log.maybe_append(1, 1, 0, [Entry(2, b"X")])


def test_follower_commit_is_capped_at_last_new_entry() -> None:
    """Figure 2: commitIndex = min(leaderCommit, index of last new entry)."""
    follower = follower_with([], term=1)
    follower.step(AppendEntries(1, 2, 1, 0, 0, (Entry(1, b"a"), Entry(1, b"b")), 10))
    assert follower.commit_index == 2


def test_conflict_hint_skips_a_whole_term() -> None:
    """§5.3 optimisation: the rejection names where the follower's log could
    match, so the leader skips every entry of a conflicting term at once."""
    follower = follower_with([Entry(1, b"a")] + [Entry(2, bytes([i])) for i in range(50)], term=3)
    reply = reply_to(follower, AppendEntries(1, 2, 3, 51, 3, (), 0))
    assert not reply.success
    assert (reply.hint_index, reply.hint_term) == (51, 2)
    reply = reply_to(follower, AppendEntries(1, 2, 3, 51, 1, (), 0))
    assert (reply.hint_index, reply.hint_term) == (1, 1)


# -- the leader's side ---------------------------------------------------------------------


def test_leader_backs_up_over_many_divergent_entries_in_few_round_trips() -> None:
    """§5.3: with the conflict hint, 60 divergent entries cost a couple of rejections."""
    cluster = Cluster(3)
    cluster.elect(1)
    cluster.isolate(1)
    for i in range(60):
        cluster[1].propose(b"lost-%d" % i)
    cluster.deliver()
    cluster.heal()
    cluster.isolate(1)  # 1 holds 60 uncommitted entries of term 1
    cluster.cut -= {(2, 3), (3, 2)}
    cluster.elect(2)
    for i in range(60):
        cluster[2].propose(b"kept-%d" % i)
    cluster.deliver()
    cluster.heal()
    cluster.delivered.clear()
    cluster.tick(2)
    cluster.deliver()
    rejections = [
        m for m in cluster.delivered if isinstance(m, AppendEntriesResponse) and not m.success
    ]
    assert len(rejections) <= 3
    assert cluster[1].log.entries == cluster[2].log.entries
    assert cluster[1].commit_index == cluster[2].commit_index


def test_leader_never_commits_an_old_term_entry_by_counting() -> None:
    """§5.4.2 (Figure 8): an entry from an earlier term is not committed by
    counting replicas; it commits only with an entry of the current term."""
    # Node 1 leads term 3 and holds an entry of term 2 that node 2 also holds.
    old = [Entry(1, b"a"), Entry(2, b"old")]
    leader = RaftCore(
        1, frozenset({1, 2, 3}), random.Random(1), NO_PRE_VOTE,
        hard_state=HardState(current_term=2), entries=old,
    )  # fmt: skip
    leader.campaign()
    for voter in (2, 3):
        leader.step(_granted(voter, leader.current_term))
    assert leader.is_leader and leader.current_term == 3
    take(leader)
    # Follower 2 acknowledges the old entry (index 2) but not the no-op (index 3).
    leader.step(AppendEntriesResponse(2, 1, 3, True, match_index=2))
    take(leader)
    assert leader.commit_index == 0
    leader.step(AppendEntriesResponse(2, 1, 3, True, match_index=3))
    take(leader)
    assert leader.commit_index == 3  # the no-op commits, and the old entry with it


def _granted(voter: int, term: int):
    from ranet.core import RequestVoteResponse

    return RequestVoteResponse(voter, 1, term, True)


def test_leader_counts_itself_only_after_its_own_write_is_durable() -> None:
    """Thesis §10.2.1: the leader sends while its write is in flight, but its
    own vote toward a commit waits for the fsync."""
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    index = leader.propose(b"x")
    ready = leader.ready()  # taken, not yet advanced: the write is in flight
    appends = [m for m in ready.messages if isinstance(m, AppendEntries)]
    assert len(appends) == 2  # sent at once, not held for the disk
    leader.step(AppendEntriesResponse(2, 1, 1, True, match_index=index))
    assert leader.commit_index < index  # 2 of 3 would be a majority, but 1 is not on disk
    leader.advance(ready)
    assert leader.commit_index == index


def test_committed_entries_are_applied_in_order_exactly_once() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    for i in range(5):
        cluster[1].propose(b"%d" % i)
        cluster.deliver()
    for i in range(5, 10):
        cluster[1].propose(b"%d" % i)
    cluster.deliver()
    cluster.tick(1)  # the followers learn the last commit index (Rule 3)
    cluster.deliver()
    expected = [b"%d" % i for i in range(10)]
    assert all(applied == expected for applied in cluster.applied.values())


def test_many_proposals_between_readies_make_one_append_per_follower() -> None:
    """DESIGN.md: batching. Proposals accumulated before the runtime takes a
    Ready go out as one AppendEntries per follower."""
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    leader.propose_batch([b"a", b"b"])
    for i in range(98):
        leader.propose(b"%d" % i)
    appends = [m for m in take(leader).messages if isinstance(m, AppendEntries)]
    assert sorted(m.dst for m in appends) == [2, 3]
    assert all(len(m.entries) == 100 for m in appends)


def test_append_batches_respect_count_and_byte_limits() -> None:
    config = CoreConfig(pre_vote=False, check_quorum=False, max_entries_per_message=10,
                        max_bytes_per_message=100, max_inflight=100)  # fmt: skip
    cluster = Cluster(3, config)
    cluster.elect(1)
    leader = cluster[1]
    for _ in range(25):
        leader.propose(b"x")
    leader.propose(b"y" * 150)  # larger than a message: still sent, alone
    appends = [m for m in take(leader).messages if isinstance(m, AppendEntries) and m.dst == 2]
    assert [len(m.entries) for m in appends] == [10, 10, 5, 1]


def test_pipelining_stops_at_the_inflight_window() -> None:
    """DESIGN.md flow control: a replicating follower is sent batches without
    waiting for acks, at most max_inflight of them, and acks reopen the window."""
    config = CoreConfig(pre_vote=False, check_quorum=False, max_inflight=3)
    cluster = Cluster(3, config)
    cluster.elect(1)
    leader = cluster[1]
    sent_to_2 = []
    for i in range(5):
        leader.propose(b"%d" % i)
        sent_to_2 += [m for m in take(leader).messages if isinstance(m, AppendEntries)
                      and m.dst == 2]  # fmt: skip
    assert len(sent_to_2) == 3  # two more proposals wait for room in the window
    first = sent_to_2[0]
    leader.step(AppendEntriesResponse(2, 1, 1, True, match_index=first.prev_log_index + 1))
    more = [m for m in take(leader).messages if isinstance(m, AppendEntries) and m.dst == 2]
    assert len(more) == 1 and len(more[0].entries) == 2  # the backlog, in one batch


def test_probing_follower_gets_one_message_at_a_time() -> None:
    """A follower whose log position is unknown is probed, not flooded."""
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    leader.step(AppendEntriesResponse(2, 1, 1, False, reject_index=1, hint_index=0))
    take(leader)
    for i in range(5):
        leader.propose(b"%d" % i)
    appends = [m for m in take(leader).messages if isinstance(m, AppendEntries) and m.dst == 2]
    assert len(appends) <= 1


def test_append_acknowledgement_waits_for_durability() -> None:
    """Persistence rule: a follower acknowledges entries only after they are on disk."""
    follower = follower_with([], term=1)
    follower.step(AppendEntries(1, 2, 1, 0, 0, (Entry(1, b"a"),), 0))
    ready = follower.ready()
    assert ready.entries == [Entry(1, b"a")]
    assert [type(m) for m in ready.persisted_messages] == [AppendEntriesResponse]
    assert not ready.messages


def test_heartbeat_commit_is_capped_at_what_the_follower_holds() -> None:
    """A heartbeat never lets a follower commit entries it may not hold."""
    cluster = Cluster(3)
    cluster.elect(1)
    cluster.commit_without(3, [b"0", b"1", b"2"])
    cluster[1].tick()
    heartbeats = [m for m in take(cluster[1]).messages if isinstance(m, Heartbeat)]
    by_peer = {m.dst: m.commit_index for m in heartbeats}
    assert by_peer[2] == cluster[1].commit_index == 4
    assert by_peer[3] == 1  # node 3 holds only the no-op


def test_new_leader_appends_a_noop_of_its_term() -> None:
    """§8: a new leader commits a blank no-op entry at the start of its term."""
    cluster = Cluster(3)
    cluster.elect(1)
    entry = cluster[1].log.entries[-1]
    assert entry.kind == EntryKind.NOOP and entry.term == 1


def test_idle_leader_sends_heartbeats_each_heartbeat_interval() -> None:
    """§5.2: an idle leader sends periodic heartbeats to keep its authority."""
    leader = new_core(1, (1, 2, 3))
    leader.campaign()
    for voter in (2, 3):
        leader.step(_granted(voter, 1))
    take(leader)
    leader.tick()
    heartbeats = [m for m in take(leader).messages if isinstance(m, Heartbeat)]
    assert sorted(m.dst for m in heartbeats) == [2, 3]


def test_only_entries_term_and_vote_demand_a_sync() -> None:
    """Persistence rules: entries, term and vote must be durable before the
    promises that depend on them; a new commit index alone need not be."""
    follower = follower_with([], term=1)
    follower.step(AppendEntries(1, 2, 1, 0, 0, (Entry(1, b"a"),), 0))
    assert follower.ready().must_sync  # new entry
    follower.step(Heartbeat(1, 2, 1, 1))
    ready = follower.ready()
    assert ready.hard_state is not None and ready.hard_state.commit_index == 1
    assert not ready.must_sync  # commit only
    follower.step(Heartbeat(3, 2, 2, 0))
    assert follower.ready().must_sync  # new term


def leader_with_appends_in_flight(count: int) -> tuple[RaftCore, int]:
    """A 3-node cluster's leader that sent ``count`` one-entry appends, none
    acknowledged; and the index of the first of those entries."""
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    first = leader.log.last_index + 1
    for i in range(count):
        leader.propose(b"%d" % i)
        take(leader)
    return leader, first


def test_a_new_commit_index_rides_on_the_next_append_or_heartbeat() -> None:
    """Rule 3 (Raft §5.3: the leader "includes that index in future
    AppendEntries RPCs (including heartbeats)"): committing sends nothing of
    its own; the next append carries the index, and so does the next tick's
    heartbeat to a follower with nothing new."""
    leader, first = leader_with_appends_in_flight(3)
    for index in range(first, first + 3):
        leader.step(AppendEntriesResponse(2, 1, 1, True, match_index=index))
    assert leader.commit_index == first + 2
    assert not take(leader).messages  # no notice: no message per commit
    leader.propose(b"next")
    (append,) = [m for m in take(leader).messages if isinstance(m, AppendEntries) and m.dst == 2]
    assert append.leader_commit == first + 2
    leader.tick()
    heartbeats = {m.dst: m for m in take(leader).messages if isinstance(m, Heartbeat)}
    assert heartbeats[2].commit_index == first + 2
    assert heartbeats[3].commit_index == 1  # capped: node 3 acknowledged only the no-op


def test_notify_commit_tells_a_follower_once_what_it_can_use() -> None:
    """A follower about to wait for an index (a read it forwarded) is told the
    commit index at once, capped at what it holds, and only if it has not
    heard it; on a follower the call does nothing."""
    leader, first = leader_with_appends_in_flight(2)
    leader.step(AppendEntriesResponse(2, 1, 1, True, match_index=first + 1))
    take(leader)
    leader.notify_commit(2)
    (notice,) = take(leader).messages
    assert isinstance(notice, Heartbeat) and notice.dst == 2
    assert notice.commit_index == first + 1
    leader.notify_commit(2)
    assert not take(leader).messages  # told already
    leader.notify_commit(3)
    assert not take(leader).messages  # node 3 holds only the no-op, whose commit it heard
    follower = follower_with([], term=1)
    follower.notify_commit(1)
    assert not follower.has_ready()


def test_no_empty_probe_while_acknowledgements_flow() -> None:
    """A heartbeat answered while entries are in flight and being acknowledged
    must not send an empty append (it could overtake them and be rejected)."""
    leader, first = leader_with_appends_in_flight(3)
    leader.step(AppendEntriesResponse(2, 1, 1, True, match_index=first))  # still 2 in flight
    take(leader)
    leader.step(HeartbeatResponse(2, 1, 1))
    assert not [m for m in take(leader).messages if isinstance(m, AppendEntries)]
    leader.step(HeartbeatResponse(2, 1, 1))  # a silent round: entries may be lost
    probes = [m for m in take(leader).messages if isinstance(m, AppendEntries) and m.dst == 2]
    assert len(probes) == 1
