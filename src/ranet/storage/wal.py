"""The write-ahead log: entries and hard state in one stream of checksummed records.

Because hard state is a record in the same stream as the entries, one
fdatasync covers both (group commit, DESIGN.md "Persistence rules").

Theory of operation. The log lives in segments (segment.py); only the newest
is written. ``append`` and ``set_hard_state`` encode their records into one
blob, write it with one ``os.write`` into the page cache and return: they
never wait for the disk. ``sync`` fdatasyncs each segment written since the
previous sync, and the directory when files were created; it may run on
another thread while the writer goes on (base.py Rule 2, thesis §10.2.1).

Rule 1 - one lock guards what the writer shares with ``sync`` (the files
written since the last sync, the directory flag, pending removals), and it is
never held across an fsync. A file descriptor a sync is flushing is closed
only after that sync is done with it.

Rule 2 - a segment is sealed before its successor exists: the writer
fdatasyncs the newest segment before creating the next, so on disk every
segment but the newest is complete, and a bad record in one is corruption,
never a torn write.

Rule 3 - nothing durable is destroyed before its replacement is durable. A
conflicting suffix (Raft §5.3) is discarded by starting a new segment whose
header says where its entries begin; on recovery it overrides the older
entries from that index on (recovery.py Rule 3). The stale tails and files are
cut or removed by the next ``sync``, after the fsyncs that made the new
segment durable. Compaction removes segments the same way, after the snapshot
itself is durable (Raft §7).

Rule 4 - every segment starts with a copy of the current hard state, so the
newest segment holds the latest one and removing older segments never loses it.

Rule 5 - space is zero-filled ahead of the records, a megabyte at a time
(``PREALLOCATE_BYTES``), and a sealed segment is cut to its records. Records
then overwrite blocks that already exist, so an fdatasync flushes data alone,
without the file-size change that costs a filesystem journal commit; on this
project's machine that made three nodes' syncs contend less and raised
throughput (docs/performance.md, optimization 13). Recovery reads the zeros
after the last record as unused space (segment.py).

Rule 6 - after a failed write or fsync the log refuses all further calls: the
kernel may have dropped the dirty pages, so a retried fsync could report a
durability that does not exist. The node restarts, and recovery keeps exactly
what validates.
"""

from __future__ import annotations

import logging
import os
import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from functools import partial

from ranet.core.types import Entry, HardState
from ranet.errors import StorageError
from ranet.storage.datadir import DataDir, write_all
from ranet.storage.records import (
    ENTRY_HEAD_SIZE,
    decode_entry,
    encode_entries,
    encode_hard_state,
    encode_segment_header,
    entry_term,
)
from ranet.storage.recovery import RecoveredLog
from ranet.storage.segment import Segment, segment_name

logger = logging.getLogger(__name__)

PREALLOCATE_BYTES = 1 << 20  # zeros written ahead of the records at a time (Rule 5)


class WriteAheadLog:
    """Entries and hard state of one node, in segment files of ``directory``."""

    def __init__(
        self, directory: DataDir, recovered: RecoveredLog, first_index: int, segment_size: int
    ) -> None:
        """Continue a recovered log; an empty one starts at ``first_index``."""
        self._directory = directory
        self._segments = recovered.segments
        self._hard_state = recovered.hard_state
        self._next_seq = recovered.next_seq
        self._segment_size = segment_size
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()  # one sync at a time
        self._unsynced: dict[int, str] = {}  # fd -> path of files written since the last sync
        self._syncing: dict[int, str] = {}  # the files the running sync is flushing
        self._retired: list[int] = []  # fds to close once the running sync is done
        self._directory_changed = False
        self._removals: list[Callable[[], None]] = []
        self._failure: str | None = None
        self._fd: int | None = None
        self._zeroed_end = 0  # the newest segment's file size: records, then zeros
        if self._segments:
            newest = self._segments[-1]
            self._fd = os.open(newest.path, os.O_WRONLY)
            os.lseek(self._fd, newest.size, os.SEEK_SET)
            self._zeroed_end = newest.size  # recovery cut any zeros after it
        else:
            self._start_segment(first_index)

    @property
    def first_index(self) -> int:
        """Index of the first entry still on disk (the snapshot may cover some)."""
        return self._segments[0].first_index

    @property
    def last_index(self) -> int:
        return self._segments[-1].last_index

    @property
    def hard_state(self) -> HardState:
        return self._hard_state

    def check_usable(self) -> None:
        """Raise ``StorageError`` if the log is closed or failed (Rule 6)."""
        if self._failure is not None:
            raise StorageError(self._failure)

    def append(self, first_index: int, entries: Sequence[Entry]) -> None:
        """Write entries from ``first_index`` on, discarding stored ones from there (§5.3).

        ``first_index`` must be at most ``last_index + 1`` (checked by the caller).
        """
        self.check_usable()
        newest = self._segments[-1]
        base = newest.size
        blob, offsets = encode_entries(first_index, entries, base)  # bad input fails here
        conflict = first_index <= self.last_index
        full = bool(newest.offsets) and base + len(blob) > self._segment_size
        if conflict or (entries and full):
            self._start_segment(first_index)
            newest = self._segments[-1]
            offsets = [offset + newest.size - base for offset in offsets]
        if entries:
            self._write(blob)
            newest.offsets.extend(offsets)

    def set_hard_state(self, hard_state: HardState) -> None:
        self.check_usable()
        if hard_state != self._hard_state:
            self._write(encode_hard_state(hard_state))
            self._hard_state = hard_state

    def compact(self, snapshot_last_index: int, snapshot_last_term: int) -> None:
        """Drop the entries a snapshot covers (Raft §7).

        The entries after the snapshot are kept if the log holds the snapshot's
        last entry; otherwise the log disagrees with the snapshot and all of it
        goes. Segments wholly covered are removed by the next ``sync``.
        """
        self.check_usable()
        if snapshot_last_index > self.last_index or (
            snapshot_last_index >= self.first_index
            and self.term_at(snapshot_last_index) != snapshot_last_term
        ):
            self._start_segment(snapshot_last_index + 1)
        removals: list[Callable[[], None]] = []
        while len(self._segments) > 1 and self._segments[0].last_index <= snapshot_last_index:
            removals.append(partial(os.unlink, self._segments.pop(0).path))
        with self._lock:
            self._removals += removals

    def term_at(self, index: int) -> int:
        """The term of a stored entry."""
        segment = self._segments[bisect_right([s.first_index for s in self._segments], index) - 1]
        with open(segment.path, "rb") as f:
            f.seek(segment.offsets[index - segment.first_index])
            return entry_term(f.read(ENTRY_HEAD_SIZE))

    def read_entries(self, from_index: int) -> list[Entry]:
        """Every stored entry from ``from_index`` on, read back from the segment files."""
        entries: list[Entry] = []
        for segment in self._segments:
            if segment.last_index >= from_index:
                with open(segment.path, "rb") as f:
                    buf = f.read(segment.size)
                skip = max(0, from_index - segment.first_index)
                entries.extend(decode_entry(buf, offset) for offset in segment.offsets[skip:])
        return entries

    def sync(self) -> None:
        """Make durable every write that returned before this call (group commit).

        One fdatasync per segment written since the last sync, one fsync of the
        directory if files were created; then the removals that waited for
        them (Rule 3). Writes may go on meanwhile (Rule 1).
        """
        with self._sync_lock:
            with self._lock:
                self.check_usable()
                files, self._unsynced = self._unsynced, {}
                directory_changed, self._directory_changed = self._directory_changed, False
                removals, self._removals = self._removals, []
                self._syncing = files
            try:
                for fd, path in files.items():
                    self._sync_file(fd, path)
                if directory_changed:
                    self._sync_file(None, self._directory.path)
            finally:
                with self._lock:
                    self._syncing = {}
                    for fd in self._retired:
                        os.close(fd)
                    self._retired.clear()
            for removal in removals:
                try:
                    removal()
                except OSError as exc:  # harmless: recovery finds and removes leftovers
                    logger.warning("cleanup after sync failed: %s", exc)
            if removals:
                with self._lock:
                    self._directory_changed = True

    def close(self) -> None:
        """Release the open segment; unsynced writes may be lost. Later calls raise."""
        with self._sync_lock, self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._failure = f"the storage in {self._directory.path} is closed"

    def _write(self, blob: bytes) -> None:
        newest = self._segments[-1]
        try:
            if newest.size + len(blob) > self._zeroed_end:
                self._preallocate(newest.size + len(blob))
            write_all(self._fd, blob)
        except OSError as exc:
            raise self._fail(f"writing {newest.path} failed: {exc}") from exc
        newest.size += len(blob)
        with self._lock:
            self._unsynced[self._fd] = newest.path

    def _preallocate(self, end: int) -> None:
        """Rule 5: zero-fill the newest segment past ``end``, up to its size limit."""
        target = max(end, min(end + PREALLOCATE_BYTES, self._segment_size))
        zeros = bytes(target - self._zeroed_end)
        view = memoryview(zeros)
        while view:
            view = view[os.pwrite(self._fd, view, target - len(view)) :]
        self._zeroed_end = target

    def _start_segment(self, first_index: int) -> None:
        """Begin a new newest segment whose entries start at ``first_index``.

        The current newest segment is sealed first (Rule 2). Every stored entry
        at or after ``first_index`` is discarded: at once in memory, on disk by
        the first sync that also flushes the new segment (Rule 3). A removal is
        queued only once its replacement's writes are queued, under one lock, so
        no sync can run the one without flushing the other.
        """
        if self._fd is not None:
            self._seal()
        removals: list[Callable[[], None]] = []
        while self._segments and self._segments[-1].first_index >= first_index:
            removals.append(partial(os.unlink, self._segments.pop().path))
        if self._segments and self._segments[-1].last_index >= first_index:
            segment = self._segments[-1]
            keep = first_index - segment.first_index
            segment.size = segment.offsets[keep]
            del segment.offsets[keep:]
            removals.append(partial(os.truncate, segment.path, segment.size))

        seq, self._next_seq = self._next_seq, self._next_seq + 1
        path = self._directory.file(segment_name(seq))
        header = encode_segment_header(seq, first_index) + encode_hard_state(self._hard_state)
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            self._zeroed_end = 0
            self._preallocate(len(header))
            write_all(self._fd, header)
        except OSError as exc:
            raise self._fail(f"creating {path} failed: {exc}") from exc
        self._segments.append(Segment(seq, path, first_index, array("Q"), len(header)))
        with self._lock:
            self._unsynced[self._fd] = path
            self._directory_changed = True
            self._removals += removals

    def _seal(self) -> None:
        """Rule 2: make the newest segment complete on disk and stop writing to it;
        its unused preallocated space is cut off first (Rule 5)."""
        fd = self._fd
        newest = self._segments[-1]
        try:
            os.ftruncate(fd, newest.size)
        except OSError as exc:
            raise self._fail(f"cutting {newest.path} to its records failed: {exc}") from exc
        self._sync_file(fd, newest.path)
        with self._lock:
            self._unsynced.pop(fd, None)
            if fd in self._syncing:
                self._retired.append(fd)
            else:
                os.close(fd)
        self._fd = None

    def _sync_file(self, fd: int | None, path: str) -> None:
        """fdatasync a file (``fd``) or fsync the directory (``None``); failure is Rule 6."""
        try:
            if fd is None:
                self._directory.sync_dir()
            else:
                self._directory.sync_file(fd)
        except OSError as exc:
            raise self._fail(f"fsync of {path} failed: {exc}") from exc

    def _fail(self, reason: str) -> StorageError:
        self._failure = (
            f"{reason}; the storage refuses further writes: restart the node "
            "(recovery keeps every record that validates)"
        )
        return StorageError(self._failure)
