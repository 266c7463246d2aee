"""One WAL segment file, and reading one back with every record validated.

A segment ``<seq>.wal`` is append-only. Its records (records.py) are: a
SEGMENT header naming the index of its first entry, a HARD_STATE copy, then
ENTRY and HARD_STATE records in the order they were written. Its entries have
consecutive indexes from the header's first index on.

Invariants kept by the writer (wal.py) and relied on here:

- only the newest segment is written; each older one was fdatasynced before
  its successor was created, so it is complete on disk and a bad record in it
  is corruption, never a torn write;
- every segment begins with a copy of the hard state current at its creation,
  so the newest segment holds the latest hard state;
- space is zero-filled ahead of the records (wal.py, preallocation) and a
  segment is cut to its records when sealed, so zero bytes after the last
  record are space never written, not damage. Only the newest segment should
  have them, but an older one may too if a crash came before its cut reached
  the disk; either way nothing synced is lost.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from ranet.core.types import HardState
from ranet.errors import StorageCorruption
from ranet.storage.records import (
    ENTRY,
    HARD_STATE,
    BadRecord,
    decode_hard_state,
    decode_segment_header,
    entry_index,
    only_zeros,
    read_record,
)

SUFFIX = ".wal"


def segment_name(seq: int) -> str:
    return f"{seq:016d}{SUFFIX}"


def segment_seq(name: str) -> int | None:
    """The sequence number in a segment file name, or ``None`` for other files."""
    stem = name.removesuffix(SUFFIX)
    return int(stem) if stem != name and stem.isascii() and stem.isdigit() else None


@dataclass(slots=True)
class Segment:
    """What the log knows about one segment: where each of its live entries is."""

    seq: int
    path: str
    first_index: int
    offsets: array  # file offset of the record of entry first_index + k, for each k
    size: int  # bytes from the start of the file through its last live record

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.offsets) - 1


@dataclass(slots=True)
class ScannedSegment:
    """A segment as found on disk. ``file_size > segment.size`` means a torn tail,
    or, when ``zero_tail``, preallocated space that was never written."""

    segment: Segment
    hard_state: HardState
    file_size: int
    zero_tail: bool


def scan_segment(path: str, seq: int, *, newest: bool) -> ScannedSegment | None:
    """Read and validate every record of a segment file.

    In the newest segment a torn tail (see ``BadRecord.torn``) ends the scan;
    if not even the header and hard-state copy survive, the segment was
    created just before a crash, holds nothing that was ever synced, and
    ``None`` is returned. Any other damage raises ``StorageCorruption``.
    """
    with open(path, "rb") as f:
        buf = memoryview(f.read())
    first_index: int | None = None
    hard_state: HardState | None = None
    offsets = array("Q")
    offset = 0
    zero_tail = True  # nothing but zeros after the last record (nothing at all, too)
    while offset < len(buf):
        try:
            body, end = read_record(buf, offset)
            if offset == 0:
                found_seq, first_index = decode_segment_header(body)
                if found_seq != seq:
                    raise ValueError(f"segment header says sequence number {found_seq}")
            elif body[0] == ENTRY:
                index = entry_index(body)
                if index != first_index + len(offsets):
                    raise ValueError(f"entry {index} where {first_index + len(offsets)} belongs")
                offsets.append(offset)
            elif body[0] == HARD_STATE:
                hard_state = decode_hard_state(body)
            else:
                raise ValueError(f"unknown record kind {body[0]}")
        except BadRecord as bad:
            zero_tail = only_zeros(buf, offset)
            if (newest and bad.torn) or zero_tail:
                break
            raise StorageCorruption(path, bad.offset, bad.reason) from None
        except ValueError as exc:
            raise StorageCorruption(path, offset, str(exc)) from None
        offset = end
    if first_index is None or hard_state is None:
        if newest:
            return None
        raise StorageCorruption(
            path,
            offset,
            "segment lacks its header or hard-state copy (only the newest segment may "
            "be empty, after a crash)",
        )
    segment = Segment(seq, path, first_index, offsets, offset)
    return ScannedSegment(segment, hard_state, len(buf), zero_tail)
