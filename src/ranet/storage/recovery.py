"""Recovery on open: rebuild the log from its segment files, trusting only what validates.

DESIGN.md, "Persistence rules": recover to the last valid record, never
beyond it, and never silently drop an acknowledged record. Concretely:

Rule 1 - every record of every segment is validated. Damage is
``StorageCorruption`` naming the file and offset, except at the tail of the
newest segment, where a torn write is expected after a crash: it is cut off
(the file is truncated there and fsynced before anything new is written). A
torn write is told from damage by ``records.read_record``: the file ends inside
the record, or only zero bytes follow it. Zero bytes right after the last
record are preallocated space (wal.py) in any segment, cut off silently.

Rule 2 - a newest segment without its header and hard-state copy was created
just before a crash and never synced: it is removed. Any other empty or
headless segment is corruption.

Rule 3 - each segment header names the index of its first entry; a segment
that starts at or below entries of older segments overrides them (this is
how a conflicting suffix is discarded, Raft §5.3, see wal.py). Walking from
the newest segment back, each older one must supply the entries just before
the newer one begins, until the snapshot covers the rest. A shortfall means a
segment is missing or cut short: corruption. Overridden segments or tails,
and segments wholly covered by the snapshot, are leftovers of a cleanup a
crash interrupted; they are removed. Any subset of those removals may have
reached the disk before the crash: the walk yields the same log either way.

Rule 4 - the hard state is the last hard-state record of the newest segment.

Rule 5 - nothing is modified until everything has validated, so a directory
refused as corrupt is left exactly as it was found, for inspection.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from ranet.core.types import HardState
from ranet.errors import StorageCorruption
from ranet.storage.datadir import DataDir
from ranet.storage.segment import ScannedSegment, Segment, scan_segment, segment_name, segment_seq

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class RecoveredLog:
    """The live segments, oldest first, the hard state, and the next free sequence number."""

    segments: list[Segment]
    hard_state: HardState
    next_seq: int


def recover_log(directory: DataDir, snapshot_last_index: int) -> RecoveredLog:
    """Validate every segment of ``directory``, then repair what a crash left behind (Rule 5)."""
    seqs = sorted(seq for name in directory.names() if (seq := segment_seq(name)) is not None)
    scanned: list[ScannedSegment] = []
    empty_newest = None
    for position, seq in enumerate(seqs):
        path = directory.file(segment_name(seq))
        found = scan_segment(path, seq, newest=position == len(seqs) - 1)
        if found is None:
            empty_newest = path
        else:
            scanned.append(found)
    live = _chain([found.segment for found in scanned], snapshot_last_index) if scanned else []

    changed = empty_newest is not None
    if empty_newest is not None:
        logger.warning("removing %s: created just before a crash, it holds no record", empty_newest)
        os.unlink(empty_newest)
    live_ids = {id(segment) for segment in live}
    for found in scanned:
        segment = found.segment
        if id(segment) not in live_ids:
            logger.warning("removing %s: its entries are overridden or compacted", segment.path)
            os.unlink(segment.path)
            changed = True
        elif found.file_size > segment.size:
            if found.zero_tail:  # preallocated space, never written: nothing to report
                _truncate(directory, segment.path, segment.size)
                continue
            what = "a torn write" if segment is live[-1] else "entries a newer segment overrides"
            logger.warning(
                "cutting %s at offset %d: the %d bytes after it are %s",
                segment.path,
                segment.size,
                found.file_size - segment.size,
                what,
            )
            _truncate(directory, segment.path, segment.size)
    if changed:
        directory.sync_dir()
    hard_state = scanned[-1].hard_state if scanned else HardState()
    return RecoveredLog(live, hard_state, seqs[-1] + 1 if seqs else 1)


def _chain(segments: list[Segment], snapshot_last_index: int) -> list[Segment]:
    """Rule 3: the live segments, oldest first, each cut to its live entries."""
    newest = segments[-1]
    live = [newest]
    needed = newest.first_index - 1  # the last entry older segments must supply
    for segment in reversed(segments[:-1]):
        if needed <= snapshot_last_index or segment.first_index > needed:
            continue  # overridden by a newer segment, or covered by the snapshot
        if segment.last_index < needed:
            raise StorageCorruption(
                live[-1].path,
                0,
                f"entries {segment.last_index + 1}..{needed} are missing: the previous "
                f"segment {os.path.basename(segment.path)} ends at entry {segment.last_index} "
                "(a segment file was deleted or cut short)",
            )
        if segment.last_index > needed:
            cut = needed - segment.first_index + 1
            segment.size = segment.offsets[cut]
            del segment.offsets[cut:]
        live.append(segment)
        needed = segment.first_index - 1
    if needed > snapshot_last_index:
        raise StorageCorruption(
            live[-1].path,
            0,
            f"entries {snapshot_last_index + 1}..{needed} are missing: the oldest segment "
            f"starts at entry {needed + 1} but the snapshot covers only up to entry "
            f"{snapshot_last_index} (a segment or snapshot file was deleted)",
        )
    live.reverse()
    return live


def _truncate(directory: DataDir, path: str, size: int) -> None:
    """Cut a torn tail and make the cut durable before new records land after it."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        directory.sync_file(fd)
    finally:
        os.close(fd)
