"""In-memory storage that models a crash exactly.

Writes go to a pending list; ``sync()`` folds them into the durable state.
``crash()`` throws the pending writes away, which is what a power cut does to
writes that were never fsynced. The simulator restarts nodes from
``load()`` after ``crash()``, so "only what was fsynced survives" holds there
just as it does on disk.
"""

from __future__ import annotations

from collections.abc import Sequence

from ranet.core.types import Entry, HardState, SnapshotMeta
from ranet.storage.append_rule import entries_to_store
from ranet.storage.base import PersistentState, SnapshotData


class MemoryStorage:
    """A ``Storage`` that lives in memory. Not thread-safe; for tests and simulation."""

    def __init__(self) -> None:
        self._durable = PersistentState()
        self._snapshot_file: tuple[SnapshotMeta, bytes] = (SnapshotMeta(), b"")
        self._pending: list[tuple[int, Sequence[Entry]] | HardState] = []
        self._last_index = 0  # of the log with the pending writes applied

    def load(self) -> PersistentState:
        self.compact_log(self._snapshot_file[0])  # as recovery does on disk
        return PersistentState(
            self._durable.hard_state, self._durable.snapshot, list(self._durable.entries)
        )

    def append(self, first_index: int, entries: Sequence[Entry]) -> None:
        first_index, entries = entries_to_store(
            first_index, entries, self._durable.snapshot.last_index, self._last_index
        )
        self._pending.append((first_index, tuple(entries)))
        self._last_index = first_index + len(entries) - 1

    def set_hard_state(self, hard_state: HardState) -> None:
        self._pending.append(hard_state)

    def sync(self) -> None:
        for op in self._pending:
            if isinstance(op, HardState):
                self._durable.hard_state = op
            else:
                self._apply_append(*op)
        self._pending.clear()

    def _apply_append(self, first_index: int, entries: Sequence[Entry]) -> None:
        state = self._durable
        del state.entries[first_index - state.snapshot.last_index - 1 :]
        state.entries.extend(entries)

    def save_snapshot(self, meta: SnapshotMeta, data: bytes) -> None:
        self.write_snapshot(meta, data)
        self.compact_log(meta)

    def write_snapshot(self, meta: SnapshotMeta, data: SnapshotData) -> None:
        if meta.last_index > self._snapshot_file[0].last_index:
            self._snapshot_file = (meta, data if isinstance(data, bytes) else b"".join(data))

    def compact_log(self, meta: SnapshotMeta) -> None:
        self.sync()
        state = self._durable
        if meta.last_index <= state.snapshot.last_index:
            return
        keep_from = meta.last_index - state.snapshot.last_index
        kept = state.entries[keep_from:] if keep_from <= len(state.entries) else []
        if kept and state.entries[keep_from - 1].term != meta.last_term:
            kept = []  # the snapshot supersedes a log that diverges from it
        state.entries = kept
        state.snapshot = meta
        self._last_index = state.last_index

    def load_snapshot(self) -> tuple[SnapshotMeta, bytes] | None:
        if self._snapshot_file[0].last_index == 0:
            return None
        return self._snapshot_file

    def crash(self) -> None:
        """Lose every write not yet synced, as a power cut would."""
        self._pending.clear()
        self._last_index = self._durable.last_index

    def close(self) -> None:
        self.crash()
