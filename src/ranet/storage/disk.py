"""Durable storage in a local directory: a write-ahead log and snapshot files.

``DiskStorage`` implements the ``Storage`` contract (base.py) on top of three
parts: the data directory (datadir.py: lock, format version, fsync), the
write-ahead log (wal.py: entries and hard state, group commit) and the
snapshot files (snapshots.py). Opening it runs recovery (recovery.py); a
corrupt directory is refused with ``StorageCorruption`` and left untouched.

Invariant linking the parts: the log always continues the latest snapshot.
On open and after every ``save_snapshot`` the log is compacted against the
snapshot (Raft §7): the entries it covers are dropped, and a log that
disagrees with it is discarded, so ``load`` returns the snapshot followed by
exactly the entries after it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from contextlib import ExitStack
from types import TracebackType

from ranet.core.types import Entry, HardState, SnapshotMeta
from ranet.storage.append_rule import entries_to_store
from ranet.storage.base import PersistentState, SnapshotData
from ranet.storage.datadir import DataDir
from ranet.storage.recovery import recover_log
from ranet.storage.snapshots import SnapshotStore
from ranet.storage.wal import WriteAheadLog

logger = logging.getLogger(__name__)

DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024


class DiskStorage:
    """A ``Storage`` in the directory ``path``, which it creates if needed and locks.

    ``segment_size`` is the size at which the log moves on to a new segment file
    (a batch is never split, so a segment may exceed it by one batch).

    ``fsync=False`` is UNSAFE and for benchmarks only: nothing is ever flushed
    to disk, so a power cut or kernel crash can lose acknowledged writes and
    break Raft's safety. A warning is logged when it is used.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = True,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> None:
        if segment_size <= 0:
            raise ValueError(f"segment_size must be positive, got {segment_size}")
        self.path = os.fspath(path)
        if not fsync:
            logger.warning(
                "DiskStorage(%s, fsync=False): UNSAFE benchmark mode, a crash of the "
                "machine can lose acknowledged writes",
                self.path,
            )
        with ExitStack() as undo:
            self._directory = DataDir(self.path, fsync=fsync)
            undo.callback(self._directory.close)
            self._snapshots = SnapshotStore(self._directory)
            snapshot = self._snapshots.meta
            recovered = recover_log(self._directory, snapshot.last_index)
            self._wal = WriteAheadLog(
                self._directory, recovered, snapshot.last_index + 1, segment_size
            )
            undo.callback(self._wal.close)
            self._wal.compact(snapshot.last_index, snapshot.last_term)
            undo.pop_all()
        self._closed = False

    def load(self) -> PersistentState:
        self._wal.check_usable()
        snapshot = self._snapshots.meta
        entries = self._wal.read_entries(snapshot.last_index + 1)
        return PersistentState(self._wal.hard_state, snapshot, entries)

    def append(self, first_index: int, entries: Sequence[Entry]) -> None:
        first_index, entries = entries_to_store(
            first_index, entries, self._snapshots.meta.last_index, self._wal.last_index
        )
        self._wal.append(first_index, entries)

    def set_hard_state(self, hard_state: HardState) -> None:
        self._wal.set_hard_state(hard_state)

    def sync(self) -> None:
        self._wal.sync()

    def save_snapshot(self, meta: SnapshotMeta, data: bytes) -> None:
        """Durably store a snapshot, compact the log against it, and sync (Raft §7)."""
        self._wal.check_usable()
        if meta.last_index <= self._snapshots.meta.last_index:
            return
        self._snapshots.save(meta, data)
        self._wal.compact(meta.last_index, meta.last_term)
        self._wal.sync()

    def write_snapshot(self, meta: SnapshotMeta, data: SnapshotData) -> None:
        """Durably store a snapshot file without touching the log.

        Safe to call from another thread than the writer's, so a node can
        write a large snapshot while it keeps appending; ``compact_log`` then
        drops the entries it covers.
        """
        self._wal.check_usable()
        if meta.last_index > self._snapshots.meta.last_index:
            self._snapshots.save(meta, data)

    def compact_log(self, meta: SnapshotMeta) -> None:
        """Drop the log entries a stored snapshot covers (writer thread).

        The files are removed by the next ``sync``; a crash before it only
        leaves them for recovery, which compacts against the snapshot again.
        """
        self._wal.compact(meta.last_index, meta.last_term)

    def load_snapshot(self) -> tuple[SnapshotMeta, bytes] | None:
        self._wal.check_usable()
        return self._snapshots.load()

    def close(self) -> None:
        """Release the files and the directory lock. Unsynced writes may be lost."""
        if not self._closed:
            self._closed = True
            self._wal.close()
            self._directory.close()

    def __enter__(self) -> DiskStorage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
