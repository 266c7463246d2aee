"""DiskStorage beyond the shared contract: segments, group commit, cleanup, locking."""

from __future__ import annotations

import itertools
import logging
import os
import random
import shutil
import threading
from pathlib import Path

import pytest
from storage_fixtures import entries

from ranet.core.types import Entry, HardState, SnapshotMeta
from ranet.errors import DataDirLocked, StorageCorruption, StorageError
from ranet.storage import MemoryStorage, PersistentState
from ranet.storage.disk import DiskStorage
from ranet.storage.segment import scan_segment, segment_name


def segment_files(path: Path) -> list[str]:
    return sorted(name for name in os.listdir(path) if name.endswith(".wal"))


def reopened(path: Path, **options: int) -> PersistentState:
    with DiskStorage(path, **options) as storage:
        return storage.load()


def test_disk_storage_behaves_like_memory_storage_under_random_operations(
    tmp_path: Path,
) -> None:
    """Differential test: the same random appends, conflicts, hard states,
    snapshots and restarts on both; their states never differ."""
    rng = random.Random(7)
    memory = MemoryStorage()
    disk = DiskStorage(tmp_path, segment_size=600)
    term = 1
    for step in range(400):
        state = memory.load()
        action = rng.random()
        if action < 0.6:
            low = max(state.snapshot.last_index - 3, 1)
            first = rng.randint(low, state.last_index + 1)
            term += first <= state.last_index
            batch = entries(first, first + rng.randint(0, 12) - 1, term)
            memory.append(first, batch)
            disk.append(first, batch)
        elif action < 0.8:
            hard_state = HardState(term, rng.choice([None, 1, 2]), rng.randint(0, step))
            memory.set_hard_state(hard_state)
            disk.set_hard_state(hard_state)
        elif action < 0.9 and state.last_index > 0:
            last_index = rng.randint(1, state.last_index + 3)
            meta = SnapshotMeta(last_index, rng.choice([term, term - 1]), (1, 2, 3))
            memory.save_snapshot(meta, f"snapshot {step}".encode())
            disk.save_snapshot(meta, f"snapshot {step}".encode())
        else:
            disk.sync()
            disk.close()
            disk = DiskStorage(tmp_path, segment_size=600)
        assert disk.load() == memory.load(), f"step {step}"
        assert disk.load_snapshot() == memory.load_snapshot()
    disk.close()


def test_the_log_rolls_over_into_segments_and_reads_back_across_them(tmp_path: Path) -> None:
    with DiskStorage(tmp_path, segment_size=1000) as storage:
        for first in range(1, 101, 10):
            storage.append(first, entries(first, first + 9, 1))
        storage.sync()
    assert len(segment_files(tmp_path)) > 5
    assert reopened(tmp_path, segment_size=1000).entries == entries(1, 100, 1)


def test_a_batch_larger_than_a_segment_is_never_split(tmp_path: Path) -> None:
    with DiskStorage(tmp_path, segment_size=100) as storage:
        storage.append(1, entries(1, 50, 1))
        storage.sync()
    assert len(segment_files(tmp_path)) == 1
    assert reopened(tmp_path).entries == entries(1, 50, 1)


def test_truncation_across_segments_cuts_the_holding_file_and_removes_later_ones(
    tmp_path: Path,
) -> None:
    storage = DiskStorage(tmp_path, segment_size=1000)
    for first in range(1, 101, 10):
        storage.append(first, entries(first, first + 9, 1))
    storage.sync()
    before = segment_files(tmp_path)
    holding = scan_segment(str(tmp_path / before[2]), 3, newest=False).segment
    storage.append(25, entries(25, 26, 2))
    storage.sync()
    after = segment_files(tmp_path)
    assert after[:3] == before[:3] and set(after).isdisjoint(before[3:])
    assert os.path.getsize(tmp_path / before[2]) == holding.offsets[25 - holding.first_index]
    storage.close()
    assert reopened(tmp_path).entries == entries(1, 24, 1) + entries(25, 26, 2)


def test_a_snapshot_removes_the_segments_it_covers(tmp_path: Path) -> None:
    storage = DiskStorage(tmp_path, segment_size=1000)
    for first in range(1, 101, 10):
        storage.append(first, entries(first, first + 9, 1))
    storage.set_hard_state(HardState(1, 1, 100))
    storage.sync()
    before = segment_files(tmp_path)
    storage.save_snapshot(SnapshotMeta(95, 1), b"snapshot")
    assert segment_files(tmp_path) == before[-1:]
    storage.close()
    state = reopened(tmp_path)
    assert (state.hard_state, state.entries) == (HardState(1, 1, 100), entries(96, 100, 1))


def test_every_state_an_interrupted_truncation_cleanup_can_leave_recovers_the_same_log(
    tmp_path: Path,
) -> None:
    """wal.py Rule 3: after a conflicting suffix is replaced, the stale files are
    cut or removed only after a sync; a crash may leave any subset of those
    steps done, and each must read back as the new log."""
    original = tmp_path / "original"
    storage = DiskStorage(original, segment_size=1000)
    for first in range(1, 41, 10):
        storage.append(first, entries(first, first + 9, 1))
    storage.sync()
    names = segment_files(original)
    holding = scan_segment(str(original / names[1]), 2, newest=False).segment
    storage.append(15, entries(15, 17, 2))  # discards 15..40 of term 1, not yet synced
    cleanup = [
        lambda d: os.truncate(d / names[1], holding.offsets[15 - holding.first_index]),
        lambda d: os.unlink(d / names[2]),
        lambda d: os.unlink(d / names[3]),
    ]
    expected = entries(1, 14, 1) + entries(15, 17, 2)
    subsets = (done for count in range(4) for done in itertools.combinations(cleanup, count))
    for number, done in enumerate(subsets):
        crashed = tmp_path / f"crashed-{number}"
        shutil.copytree(original, crashed)
        for step in done:
            step(crashed)
        assert reopened(crashed).entries == expected
    storage.close()


def test_an_append_that_cannot_be_encoded_changes_nothing(tmp_path: Path) -> None:
    """Bad input is refused before the conflicting suffix is touched."""
    with DiskStorage(tmp_path) as storage:
        storage.append(1, entries(1, 10, 1))
        with pytest.raises(ValueError, match="entry 6 cannot be stored"):
            storage.append(5, [Entry(2, b"ok"), Entry(-1, b"negative term")])
        assert storage.load().entries == entries(1, 10, 1)


def test_group_commit_one_fdatasync_per_written_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = DiskStorage(tmp_path, segment_size=5000)
    storage.sync()  # the directory entry of the first segment
    calls: list[str] = []
    real_fdatasync, real_fsync = os.fdatasync, os.fsync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (calls.append("fdatasync"), real_fdatasync(fd)))
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    for first in range(1, 31, 10):
        storage.append(first, entries(first, first + 9, 1))
        storage.set_hard_state(HardState(1, 1, first))
    storage.sync()
    assert calls == ["fdatasync"]
    storage.sync()
    assert calls == ["fdatasync"]
    storage.append(31, entries(31, 230, 1))  # rolls over: the full segment is sealed first
    assert calls == ["fdatasync", "fdatasync"]
    storage.sync()  # the new segment, and the directory that now lists it
    assert calls == ["fdatasync", "fdatasync", "fdatasync", "fsync"]
    storage.close()


def test_writes_go_on_while_a_sync_waits_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """wal.py Rule 1: no lock is held across an fsync, and a file a sync is
    flushing stays open even when the writer moves on to a new segment."""
    storage = DiskStorage(tmp_path, segment_size=2000)
    storage.append(1, entries(1, 5, 1))
    in_fdatasync, release = threading.Event(), threading.Event()
    real_fdatasync = os.fdatasync
    flushed: list[tuple[str, str]] = []  # the file of the fd, before and after the wait

    def slow_fdatasync(fd: int) -> None:
        if threading.current_thread() is syncer:
            before = os.readlink(f"/proc/self/fd/{fd}")
            in_fdatasync.set()
            release.wait(30)
            flushed.append((before, os.readlink(f"/proc/self/fd/{fd}")))
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", slow_fdatasync)
    syncer = threading.Thread(target=storage.sync)
    syncer.start()
    assert in_fdatasync.wait(30)
    writer = threading.Thread(
        target=lambda: [storage.append(i, entries(i, i + 4, 1)) for i in range(6, 200, 5)]
    )
    writer.start()
    writer.join(30)
    assert not writer.is_alive(), "appends waited for the fdatasync of a sync"
    assert syncer.is_alive(), "the sync should still be waiting for the disk"
    release.set()
    syncer.join(30)
    assert flushed and all(before == after for before, after in flushed)
    storage.sync()
    storage.close()
    assert reopened(tmp_path).entries == entries(1, 200, 1)


def test_one_append_is_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = DiskStorage(tmp_path)
    writes = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: (writes.append(fd), real_write(fd, data))[1])
    storage.append(1, entries(1, 256, 1))
    assert len(writes) == 1
    storage.close()


def test_sync_on_another_thread_while_the_writer_appends(tmp_path: Path) -> None:
    """base.py Rule 2: sync() runs concurrently with appends, rollovers and
    conflicts without losing or mixing up a write."""
    storage = DiskStorage(tmp_path, segment_size=4000)
    stop = threading.Event()
    errors: list[BaseException] = []

    def sync_until_stopped() -> None:
        try:
            while not stop.is_set():
                storage.sync()
        except BaseException as exc:
            errors.append(exc)

    syncer = threading.Thread(target=sync_until_stopped)
    syncer.start()
    try:
        last, term = 0, 1
        for step in range(600):
            first = last + 1 if step % 50 else max(1, last - 5)
            term += first <= last
            storage.append(first, entries(first, first + 7, term))
            storage.set_hard_state(HardState(term, 1, first))
            last = first + 7
    finally:
        stop.set()
        syncer.join(timeout=30)
    assert not syncer.is_alive() and not errors
    expected = storage.load()
    storage.sync()
    storage.close()
    assert reopened(tmp_path) == expected
    assert expected.last_index == last


def test_fsync_off_is_labelled_unsafe(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), DiskStorage(tmp_path, fsync=False) as storage:
        storage.append(1, entries(1, 3, 1))
        storage.sync()
    assert "UNSAFE" in caplog.text
    assert reopened(tmp_path).entries == entries(1, 3, 1)


def test_a_locked_directory_is_refused_by_name(tmp_path: Path) -> None:
    with DiskStorage(tmp_path), pytest.raises(DataDirLocked, match=str(tmp_path)):
        DiskStorage(tmp_path)
    with DiskStorage(tmp_path):
        pass  # released on close


def test_an_unknown_format_version_is_refused(tmp_path: Path) -> None:
    DiskStorage(tmp_path).close()
    (tmp_path / "VERSION").write_text("ranet-storage 99\n")
    with pytest.raises(StorageError, match="ranet-storage 99"):
        DiskStorage(tmp_path)
    DiskStorage(tmp_path / "other").close()  # and the lock was released on failure
    (tmp_path / "VERSION").unlink()
    with pytest.raises(StorageError, match="no VERSION"):
        DiskStorage(tmp_path)


def test_a_closed_storage_refuses_calls(tmp_path: Path) -> None:
    storage = DiskStorage(tmp_path)
    storage.close()
    storage.close()
    with pytest.raises(StorageError, match="closed"):
        storage.append(1, [Entry(1, b"late")])
    with pytest.raises(StorageError, match="closed"):
        storage.sync()


def test_a_failed_fsync_makes_the_storage_refuse_further_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """wal.py Rule 5: after EIO from fsync, durability is unknown; never retry."""
    storage = DiskStorage(tmp_path)
    storage.append(1, entries(1, 3, 1))

    def failing_fdatasync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing_fdatasync)
    with pytest.raises(StorageError, match="Input/output error"):
        storage.sync()
    monkeypatch.undo()
    with pytest.raises(StorageError, match="restart the node"):
        storage.append(4, entries(4, 4, 1))
    with pytest.raises(StorageError, match="restart the node"):
        storage.sync()
    storage.close()
    assert reopened(tmp_path).entries == entries(1, 3, 1)


def test_a_bad_segment_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="segment_size"):
        DiskStorage(tmp_path, segment_size=0)


def test_segment_files_are_named_by_sequence_number(tmp_path: Path) -> None:
    DiskStorage(tmp_path).close()
    assert segment_files(tmp_path) == [segment_name(1)]


def test_space_ahead_of_the_records_is_zero_filled_and_sealed_segments_are_cut(
    tmp_path: Path,
) -> None:
    """wal.py Rule 5: records overwrite preallocated zeros; a sealed segment ends
    at its last record."""
    with DiskStorage(tmp_path, segment_size=4000) as storage:
        storage.append(1, entries(1, 10, 1))
        storage.sync()
        newest = tmp_path / segment_files(tmp_path)[-1]
        records_end = scan_segment(str(newest), 1, newest=True).segment.size
        assert os.path.getsize(newest) == 4000 > records_end
        assert not newest.read_bytes()[records_end:].strip(b"\0")
        for first in range(11, 201, 10):
            storage.append(first, entries(first, first + 9, 1))
        storage.sync()
    names = segment_files(tmp_path)
    assert len(names) > 2
    for seq, name in enumerate(names[:-1], start=1):
        found = scan_segment(str(tmp_path / name), seq, newest=False)
        assert found.file_size == found.segment.size  # cut when sealed
    assert reopened(tmp_path, segment_size=4000).entries == entries(1, 200, 1)


def test_reopening_cuts_the_zero_tail_silently_and_appends_after_the_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with DiskStorage(tmp_path) as storage:
        storage.append(1, entries(1, 5, 1))
        storage.sync()
    with caplog.at_level(logging.WARNING), DiskStorage(tmp_path) as storage:
        assert storage.load().entries == entries(1, 5, 1)
        storage.append(6, entries(6, 8, 2))
        storage.sync()
    assert not caplog.records  # unused space is no torn write
    assert reopened(tmp_path).entries == entries(1, 5, 1) + entries(6, 8, 2)


def test_an_older_segment_whose_cut_did_not_reach_the_disk_is_accepted(tmp_path: Path) -> None:
    """A crash after sealing but before the shortened size was on disk leaves
    zeros after an older segment's records: space, not damage."""
    with DiskStorage(tmp_path, segment_size=600) as storage:
        for first in range(1, 41, 10):
            storage.append(first, entries(first, first + 9, 1))
        storage.sync()
    oldest = tmp_path / segment_files(tmp_path)[0]
    with open(oldest, "ab") as f:
        f.write(bytes(3000))
    assert reopened(tmp_path, segment_size=600).entries == entries(1, 40, 1)


def test_damage_before_the_zeros_of_an_older_segment_is_still_corruption(
    tmp_path: Path,
) -> None:
    with DiskStorage(tmp_path, segment_size=600) as storage:
        for first in range(1, 41, 10):
            storage.append(first, entries(first, first + 9, 1))
        storage.sync()
    oldest = tmp_path / segment_files(tmp_path)[0]
    data = bytearray(oldest.read_bytes())
    data[-3] ^= 0xFF  # inside the last record
    oldest.write_bytes(bytes(data) + bytes(3000))
    with pytest.raises(StorageCorruption):
        reopened(tmp_path, segment_size=600)
