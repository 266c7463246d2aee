"""Recovery on damaged data (recovery.py): cut a torn tail, refuse anything else.

A torn write at the tail of the newest segment is what a crash leaves; it is
cut off and the log ends at the record before it. Damage anywhere else is
refused with ``StorageCorruption`` naming the file and offset, and the
directory is left exactly as it was found.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from storage_fixtures import entries

from ranet.core.types import SnapshotMeta
from ranet.errors import StorageCorruption
from ranet.storage.disk import DiskStorage
from ranet.storage.records import encode_entries, encode_record
from ranet.storage.segment import scan_segment, segment_name


def write_log(path: Path, batches: int, segment_size: int = 1 << 20) -> None:
    """Batches of 5 entries of term 1 (1..5, 6..10, ...), synced and closed."""
    with DiskStorage(path, segment_size=segment_size) as storage:
        for first in range(1, 5 * batches, 5):
            storage.append(first, entries(first, first + 4, 1))
        storage.sync()


def record_offsets(path: Path, seq: int) -> list[int]:
    return list(scan_segment(str(path / segment_name(seq)), seq, newest=False).segment.offsets)


def records_end(path: Path, seq: int) -> int:
    """Where a segment's records end: the newest is zero-filled beyond (wal.py Rule 5)."""
    return scan_segment(str(path / segment_name(seq)), seq, newest=True).segment.size


def snapshot_of_directory(path: Path) -> dict[str, bytes]:
    return {name: (path / name).read_bytes() for name in os.listdir(path) if name != "LOCK"}


def assert_refused(path: Path, damaged_file: str, offset: int) -> StorageCorruption:
    before = snapshot_of_directory(path)
    with pytest.raises(StorageCorruption) as caught:
        DiskStorage(path)
    error = caught.value
    assert (error.path, error.offset) == (str(path / damaged_file), offset)
    assert damaged_file in str(error) and f"offset {offset}" in str(error)
    assert "ranet member remove" in str(error) and "--join" in str(error)
    assert snapshot_of_directory(path) == before, "a refused directory must be left untouched"
    return error


def test_a_torn_last_record_is_cut_at_every_offset(tmp_path: Path) -> None:
    original = tmp_path / "original"
    write_log(original, batches=1)
    last_record = record_offsets(original, 1)[-1]
    size = records_end(original, 1)
    for cut in range(last_record, size):
        crashed = tmp_path / f"cut-{cut}"
        shutil.copytree(original, crashed)
        os.truncate(crashed / segment_name(1), cut)
        with DiskStorage(crashed) as storage:
            assert storage.load().entries == entries(1, 4, 1), f"cut at {cut}"
        assert (crashed / segment_name(1)).stat().st_size == last_record


def test_a_zero_filled_tail_is_cut(tmp_path: Path) -> None:
    """A crash can leave space the file system allocated but never wrote."""
    write_log(tmp_path, batches=2)
    segment = tmp_path / segment_name(1)
    size = records_end(tmp_path, 1)
    with open(segment, "ab") as f:
        f.write(bytes(4096))
    with DiskStorage(tmp_path) as storage:
        assert storage.load().entries == entries(1, 10, 1)
    assert segment.stat().st_size == size


def test_a_record_cut_short_by_zeros_is_a_torn_tail(tmp_path: Path) -> None:
    write_log(tmp_path, batches=2)
    segment = tmp_path / segment_name(1)
    last_record = record_offsets(tmp_path, 1)[-1]
    data = bytearray(segment.read_bytes())
    data[last_record + 20 :] = bytes(len(data) - last_record - 20 + 1000)
    segment.write_bytes(data)
    with DiskStorage(tmp_path) as storage:
        assert storage.load().entries == entries(1, 9, 1)


@pytest.mark.parametrize("where", ["length", "body crc", "header crc", "index", "data"])
def test_a_flipped_bit_in_the_middle_of_the_newest_segment_is_refused(
    tmp_path: Path, where: str
) -> None:
    write_log(tmp_path, batches=4)
    record = record_offsets(tmp_path, 1)[7]
    position = (
        record + {"length": 2, "body crc": 5, "header crc": 9, "index": 14, "data": 40}[where]
    )
    segment = tmp_path / segment_name(1)
    data = bytearray(segment.read_bytes())
    data[position] ^= 0x10
    segment.write_bytes(data)
    assert_refused(tmp_path, segment_name(1), record)


def test_every_flipped_byte_of_a_middle_record_is_refused(tmp_path: Path) -> None:
    original = tmp_path / "original"
    write_log(original, batches=3)
    offsets = record_offsets(original, 1)
    for position in range(offsets[6], offsets[7]):
        damaged = tmp_path / f"flip-{position}"
        shutil.copytree(original, damaged)
        segment = damaged / segment_name(1)
        data = bytearray(segment.read_bytes())
        data[position] ^= 0xFF
        segment.write_bytes(data)
        assert_refused(damaged, segment_name(1), offsets[6])


def test_damage_in_the_last_record_of_an_older_segment_is_refused(tmp_path: Path) -> None:
    """Older segments were sealed (fdatasynced) before the next one was created,
    so even damage at their very end is corruption, not a torn write."""
    write_log(tmp_path, batches=4, segment_size=500)
    last_record = record_offsets(tmp_path, 1)[-1]
    segment = tmp_path / segment_name(1)
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0x01
    segment.write_bytes(data)
    assert_refused(tmp_path, segment_name(1), last_record)


def test_an_older_segment_cut_short_is_refused(tmp_path: Path) -> None:
    write_log(tmp_path, batches=4, segment_size=500)
    last_record = record_offsets(tmp_path, 1)[-1]
    os.truncate(tmp_path / segment_name(1), last_record + 5)
    assert_refused(tmp_path, segment_name(1), last_record)


def test_an_empty_newest_segment_is_removed(tmp_path: Path) -> None:
    """Created just before a crash, it never held a synced record."""
    write_log(tmp_path, batches=2)
    (tmp_path / segment_name(2)).touch()
    with DiskStorage(tmp_path) as storage:
        assert storage.load().entries == entries(1, 10, 1)
    assert not (tmp_path / segment_name(2)).exists()


def test_a_newest_segment_with_a_torn_header_is_removed(tmp_path: Path) -> None:
    write_log(tmp_path, batches=4, segment_size=500)
    newest = sorted(tmp_path.glob("*.wal"))[-1]
    os.truncate(newest, 10)
    with DiskStorage(tmp_path) as storage:
        state = storage.load()
    assert 0 < state.last_index < 20 and state.entries == entries(1, state.last_index, 1)


def test_an_empty_older_segment_is_refused(tmp_path: Path) -> None:
    write_log(tmp_path, batches=4, segment_size=500)
    os.truncate(tmp_path / segment_name(2), 0)
    assert_refused(tmp_path, segment_name(2), 0)


def test_a_missing_segment_in_the_middle_is_refused(tmp_path: Path) -> None:
    write_log(tmp_path, batches=4, segment_size=500)
    assert len(list(tmp_path.glob("*.wal"))) >= 3
    (tmp_path / segment_name(2)).unlink()
    error = assert_refused(tmp_path, segment_name(3), 0)
    assert "missing" in error.reason


def test_a_missing_first_segment_is_refused(tmp_path: Path) -> None:
    write_log(tmp_path, batches=4, segment_size=500)
    (tmp_path / segment_name(1)).unlink()
    error = assert_refused(tmp_path, segment_name(2), 0)
    assert "entries 1.." in error.reason


def test_a_valid_record_of_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    """Its checksum holds, so it is no torn write: something else wrote it."""
    write_log(tmp_path, batches=1)
    segment = tmp_path / segment_name(1)
    offset = records_end(tmp_path, 1)
    os.truncate(segment, offset)
    with open(segment, "ab") as f:
        f.write(encode_record(b"\x09future record kind"))
    error = assert_refused(tmp_path, segment_name(1), offset)
    assert "unknown record kind 9" in error.reason


def test_an_entry_out_of_sequence_is_refused(tmp_path: Path) -> None:
    write_log(tmp_path, batches=1)
    segment = tmp_path / segment_name(1)
    offset = records_end(tmp_path, 1)
    os.truncate(segment, offset)
    with open(segment, "ab") as f:
        f.write(encode_entries(9, entries(9, 9, 1), offset)[0])
    error = assert_refused(tmp_path, segment_name(1), offset)
    assert "entry 9 where 6 belongs" in error.reason


def save_snapshots(path: Path, *indexes: int) -> None:
    """Entries 1..30 in 6 segments, then snapshots through ``indexes``."""
    with DiskStorage(path, segment_size=500) as storage:
        for first in range(1, 30, 5):
            storage.append(first, entries(first, first + 4, 1))
        for index in indexes:
            storage.save_snapshot(SnapshotMeta(index, 1, (1, 2, 3)), f"at {index}".encode())


def snapshot_file(path: Path) -> Path:
    (found,) = path.glob("snapshot-*.snap")
    return found


def test_a_half_written_snapshot_is_ignored_for_the_previous_one(tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    save_snapshots(newer, 20)
    save_snapshots(tmp_path / "data", 10)
    half_written = snapshot_file(newer).read_bytes()[:-3]
    (tmp_path / "data" / snapshot_file(newer).name).write_bytes(half_written)
    (tmp_path / "data" / (snapshot_file(newer).name + ".tmp")).write_bytes(half_written)
    with DiskStorage(tmp_path / "data") as storage:
        state = storage.load()
        assert state.snapshot == SnapshotMeta(10, 1, (1, 2, 3))
        assert state.entries == entries(11, 30, 1)
        assert storage.load_snapshot() == (state.snapshot, b"at 10")
    assert not list((tmp_path / "data").glob("*.tmp"))


def test_a_damaged_snapshot_that_the_log_relies_on_is_refused(tmp_path: Path) -> None:
    """Without the snapshot the compacted log has a hole: never start from it."""
    save_snapshots(tmp_path, 20)
    snapshot = snapshot_file(tmp_path)
    data = bytearray(snapshot.read_bytes())
    data[-1] ^= 0x01
    snapshot.write_bytes(data)
    with pytest.raises(StorageCorruption, match=r"entries 1\.\.20 are missing"):
        DiskStorage(tmp_path)
