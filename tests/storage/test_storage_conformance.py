"""The ``Storage`` contract (storage/base.py), checked on every implementation.

Each test runs on MemoryStorage, on DiskStorage, and on DiskStorage with tiny
segments (so that nearly every batch crosses a segment boundary), and checks
the state both before and after a restart.
"""

from __future__ import annotations

import pytest
from storage_fixtures import StorageUnderTest, entries

from ranet.core.types import Entry, EntryKind, HardState, SnapshotMeta
from ranet.storage import PersistentState


def assert_state(subject: StorageUnderTest, expected: PersistentState) -> None:
    """The state is as expected now, and still after a restart."""
    assert subject.storage.load() == expected
    assert subject.restart().load() == expected


def test_a_fresh_storage_is_empty(subject: StorageUnderTest) -> None:
    assert_state(subject, PersistentState())
    assert subject.storage.load_snapshot() is None


def test_appended_entries_read_back_in_order(subject: StorageUnderTest) -> None:
    storage = subject.storage
    batch = [
        Entry(1, b""),
        Entry(1, b"noop", EntryKind.NOOP),
        Entry(2, b"\x00\xff" * 3000),
        Entry(2, b"config", EntryKind.CONFIG),
    ]
    storage.append(1, batch)
    storage.append(5, entries(5, 40, 3))
    storage.append(41, [])
    assert_state(subject, PersistentState(entries=batch + entries(5, 40, 3)))


def test_append_overwrites_a_conflicting_suffix(subject: StorageUnderTest) -> None:
    """Raft §5.3: a follower deletes a conflicting entry and all that follow it."""
    storage = subject.storage
    storage.append(1, entries(1, 30, 1))
    storage.sync()
    storage.append(12, entries(12, 14, 2))
    assert_state(subject, PersistentState(entries=entries(1, 11, 1) + entries(12, 14, 2)))
    subject.storage.append(15, entries(15, 16, 2))
    expected = entries(1, 11, 1) + entries(12, 16, 2)
    assert_state(subject, PersistentState(entries=expected))


def test_an_empty_append_inside_the_log_discards_the_suffix(subject: StorageUnderTest) -> None:
    subject.storage.append(1, entries(1, 20, 1))
    subject.storage.append(8, [])
    assert_state(subject, PersistentState(entries=entries(1, 7, 1)))


def test_overwriting_the_whole_log(subject: StorageUnderTest) -> None:
    subject.storage.append(1, entries(1, 20, 1))
    subject.storage.sync()
    subject.storage.append(1, entries(1, 3, 4))
    assert_state(subject, PersistentState(entries=entries(1, 3, 4)))


def test_append_past_the_end_raises_at_once_and_changes_nothing(
    subject: StorageUnderTest,
) -> None:
    storage = subject.storage
    storage.append(1, entries(1, 10, 1))
    with pytest.raises(ValueError, match="hole"):
        storage.append(12, entries(12, 12, 1))
    storage.sync()  # the rejected append must not resurface here
    storage.append(11, entries(11, 11, 1))
    assert_state(subject, PersistentState(entries=entries(1, 11, 1)))


def test_append_below_index_one_raises(subject: StorageUnderTest) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        subject.storage.append(0, entries(0, 1, 1))


def test_the_last_hard_state_wins(subject: StorageUnderTest) -> None:
    storage = subject.storage
    storage.set_hard_state(HardState(1, 3, 0))
    storage.append(1, entries(1, 5, 1))
    storage.set_hard_state(HardState(2, None, 4))
    assert_state(subject, PersistentState(HardState(2, None, 4), entries=entries(1, 5, 1)))
    subject.storage.set_hard_state(HardState(2, 7, 5))
    assert_state(subject, PersistentState(HardState(2, 7, 5), entries=entries(1, 5, 1)))


def test_a_snapshot_compacts_the_prefix_it_covers(subject: StorageUnderTest) -> None:
    """Raft §7: the snapshot replaces the entries up to its last index; later ones stay."""
    storage = subject.storage
    storage.set_hard_state(HardState(1, 1, 8))
    storage.append(1, entries(1, 30, 1))
    meta = SnapshotMeta(20, 1, voters=(1, 2, 3), learners=(4,))
    storage.save_snapshot(meta, b"state machine at 20")
    assert_state(subject, PersistentState(HardState(1, 1, 8), meta, entries(21, 30, 1)))
    assert subject.storage.load_snapshot() == (meta, b"state machine at 20")
    subject.storage.append(31, entries(31, 32, 2))
    expected = PersistentState(HardState(1, 1, 8), meta, entries(21, 30, 1) + entries(31, 32, 2))
    assert_state(subject, expected)


def test_a_snapshot_written_in_parts_reads_back_whole(subject: StorageUnderTest) -> None:
    """A large state is stored from its parts without joining them first."""
    meta = SnapshotMeta(5, 1, (1,))
    subject.storage.write_snapshot(meta, [b"part one, ", b"", b"part two"])
    assert subject.storage.load_snapshot() == (meta, b"part one, part two")
    subject.restart()
    assert subject.storage.load_snapshot() == (meta, b"part one, part two")


def test_a_newer_snapshot_replaces_the_older_one(subject: StorageUnderTest) -> None:
    storage = subject.storage
    storage.append(1, entries(1, 30, 1))
    storage.save_snapshot(SnapshotMeta(10, 1, (1,)), b"at 10")
    storage.save_snapshot(SnapshotMeta(25, 1, (1, 2)), b"at 25")
    storage.save_snapshot(SnapshotMeta(15, 1, (1,)), b"older: ignored")
    meta = SnapshotMeta(25, 1, (1, 2))
    assert_state(subject, PersistentState(snapshot=meta, entries=entries(26, 30, 1)))
    assert subject.storage.load_snapshot() == (meta, b"at 25")


def test_a_snapshot_past_the_end_of_the_log_empties_it(subject: StorageUnderTest) -> None:
    """A snapshot installed from the leader (Raft §7) may cover more than our log."""
    storage = subject.storage
    storage.append(1, entries(1, 5, 1))
    meta = SnapshotMeta(12, 3, (1, 2, 3))
    storage.save_snapshot(meta, b"from the leader")
    assert_state(subject, PersistentState(snapshot=meta))
    with pytest.raises(ValueError, match="hole"):
        subject.storage.append(14, entries(14, 14, 3))
    subject.storage.append(13, entries(13, 14, 3))
    assert_state(subject, PersistentState(snapshot=meta, entries=entries(13, 14, 3)))


def test_a_snapshot_that_disagrees_with_the_log_discards_it(subject: StorageUnderTest) -> None:
    """Raft §7: if the entry at the snapshot's last index has another term, the
    log after it cannot be trusted and is discarded."""
    storage = subject.storage
    storage.append(1, entries(1, 20, 1))
    meta = SnapshotMeta(10, 2, (1, 2, 3))
    storage.save_snapshot(meta, b"from the leader")
    assert_state(subject, PersistentState(snapshot=meta))
    subject.storage.append(11, entries(11, 12, 2))
    assert_state(subject, PersistentState(snapshot=meta, entries=entries(11, 12, 2)))


def test_entries_a_snapshot_covers_are_dropped_from_an_append(
    subject: StorageUnderTest,
) -> None:
    storage = subject.storage
    storage.append(1, entries(1, 10, 1))
    meta = SnapshotMeta(6, 1)
    storage.save_snapshot(meta, b"")
    storage.append(3, entries(3, 12, 2))
    assert_state(subject, PersistentState(snapshot=meta, entries=entries(7, 12, 2)))
    subject.storage.append(5, entries(5, 6, 3))
    assert_state(subject, PersistentState(snapshot=meta))


def test_the_hard_state_outlives_the_segments_a_snapshot_compacts(
    subject: StorageUnderTest,
) -> None:
    storage = subject.storage
    storage.set_hard_state(HardState(5, 2, 1))
    for first in range(1, 200, 10):
        storage.append(first, entries(first, first + 9, 5))
    meta = SnapshotMeta(200, 5)
    storage.save_snapshot(meta, b"all of it")
    assert_state(subject, PersistentState(HardState(5, 2, 1), meta))


def test_a_snapshot_written_apart_from_the_log_then_compacts_it(
    subject: StorageUnderTest,
) -> None:
    """write_snapshot stores the file and leaves the log; compact_log drops
    what it covers. A restart between the two compacts on recovery."""
    storage = subject.storage
    storage.append(1, entries(1, 30, 1))
    storage.sync()
    meta = SnapshotMeta(20, 1, (1, 2, 3))
    storage.write_snapshot(meta, b"at 20")
    assert storage.load_snapshot() == (meta, b"at 20")
    storage.compact_log(meta)
    storage.sync()
    assert_state(subject, PersistentState(snapshot=meta, entries=entries(21, 30, 1)))


def test_recovery_compacts_against_a_snapshot_written_before_a_crash(
    subject: StorageUnderTest,
) -> None:
    storage = subject.storage
    storage.append(1, entries(1, 30, 1))
    storage.sync()
    meta = SnapshotMeta(12, 1, (1,))
    storage.write_snapshot(meta, b"at 12")
    restarted = subject.restart()
    state = restarted.load()
    assert state.snapshot == meta and state.entries == entries(13, 30, 1)
