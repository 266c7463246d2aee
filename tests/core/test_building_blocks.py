"""The small pure modules under the core: quorum arithmetic, the in-flight
window, follower progress and the log's cursors."""

from __future__ import annotations

import pytest

from ranet.core import CoreConfig, Entry
from ranet.core.inflights import Inflights
from ranet.core.log import RaftLog
from ranet.core.progress import Progress, ReplicationState
from ranet.core.quorum import VoteResult, committed_index, has_quorum, vote_result
from ranet.errors import ConfigurationError


@pytest.mark.parametrize(
    ("votes", "result"),
    [
        ({1: True}, VoteResult.PENDING),
        ({1: True, 2: True}, VoteResult.WON),
        ({1: True, 2: False}, VoteResult.PENDING),
        ({1: True, 2: False, 3: False}, VoteResult.LOST),
        ({1: True, 9: True}, VoteResult.PENDING),  # 9 is no voter
    ],
)
def test_vote_result_of_three_voters(votes: dict[int, bool], result: VoteResult) -> None:
    """§5.2: a candidate wins with votes from a majority of the full cluster."""
    assert vote_result({1, 2, 3}, votes) is result


def test_committed_index_is_what_a_majority_holds() -> None:
    """§5.3: an entry is committed once a majority of servers store it."""
    assert committed_index({1, 2, 3}, {1: 5, 2: 3, 3: 9}) == 5
    assert committed_index({1, 2, 3, 4}, {1: 5, 2: 3, 3: 9, 4: 1}) == 3
    assert committed_index({1, 2, 3}, {1: 5}) == 0  # missing voters hold nothing
    assert committed_index(set(), {}) == 0


def test_has_quorum() -> None:
    assert has_quorum({1, 2, 3}, {1, 3})
    assert not has_quorum({1, 2, 3, 4}, {1, 3})


def test_inflights_window_fills_and_frees_cumulatively() -> None:
    window = Inflights(3)
    for last in (5, 8, 12):
        window.add(last)
    assert window.full()
    with pytest.raises(OverflowError):
        window.add(13)
    window.free_to(8)
    assert len(window) == 1 and not window.full()
    window.free_first()
    assert len(window) == 0
    with pytest.raises(ValueError):
        Inflights(0)


def test_progress_probe_then_replicate() -> None:
    progress = Progress(next_index=10, max_inflight=2)
    assert progress.state == ReplicationState.PROBE and not progress.is_paused()
    progress.sent_entries(12)
    assert progress.is_paused()  # one probe at a time
    assert progress.maybe_update(12)
    progress.become_replicate()
    assert progress.next_index == 13
    progress.sent_entries(15)
    progress.sent_entries(18)
    assert progress.next_index == 19 and progress.is_paused()  # window of 2 full


def test_progress_ignores_stale_rejections() -> None:
    progress = Progress(next_index=10, max_inflight=4)
    progress.sent_entries(12)
    assert not progress.maybe_back_off(rejected_index=5, hint_next=3)  # not our probe
    assert progress.maybe_back_off(rejected_index=9, hint_next=4)
    assert progress.next_index == 4 and not progress.is_paused()


def test_log_cursors_and_terms() -> None:
    log = RaftLog(offset=10, offset_term=3, entries=[Entry(3, b"a"), Entry(4, b"b")])
    assert (log.first_index, log.last_index, log.last_term) == (11, 12, 4)
    assert log.term(10) == 3 and log.term(12) == 4
    assert log.term(9) is None and log.term(13) is None
    assert log.stable_index == 12  # restored entries are durable
    with pytest.raises(IndexError):
        log.slice(10, 12)


def test_log_hands_out_entries_for_storage_and_apply_once() -> None:
    log = RaftLog()
    log.append([Entry(1, b"a"), Entry(1, b"b")])
    assert log.take_unpersisted() == (1, [Entry(1, b"a"), Entry(1, b"b")])
    assert not log.has_unpersisted()
    log.commit_to(2)
    assert log.take_committed() == (1, [Entry(1, b"a"), Entry(1, b"b")])
    assert log.take_committed() == (3, [])


def test_stable_to_ignores_a_write_of_entries_since_replaced() -> None:
    """Rule 2 of log.py: durability of an index counts only for the entry written."""
    log = RaftLog()
    log.append([Entry(1, b"a"), Entry(1, b"b")])
    log.take_unpersisted()
    log.maybe_append(1, 1, 0, [Entry(2, b"B")])  # index 2 replaced before the write landed
    log.stable_to(2, 1)  # the first write finished, but its index 2 is gone
    assert log.stable_index == 0
    log.stable_to(2, 2)  # the rewrite finished (writes finish in order)
    assert log.stable_index == 2


def test_election_timeout_range_defaults_to_one_timeout_of_jitter() -> None:
    assert CoreConfig(election_ticks=10).election_timeout_range == (10, 20)
    assert CoreConfig(election_ticks=5, election_jitter_ticks=3).election_timeout_range == (5, 8)


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ConfigurationError, match="election_ticks"):
        CoreConfig(election_ticks=1, heartbeat_ticks=1)
    with pytest.raises(ConfigurationError, match="max_inflight"):
        CoreConfig(max_inflight=0)
