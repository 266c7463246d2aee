"""The storage interface shared by the runtime and the simulator.

Rules (DESIGN.md, "Persistence rules"):

Rule 1 - writes are buffered, ``sync()`` makes them durable. ``append`` and
``set_hard_state`` return quickly; nothing they wrote may be assumed to
survive a crash until a later ``sync()`` has returned. One ``sync()`` covers
every write that returned before it was called (group commit).

Rule 2 - one writer thread. Mutating calls come from one thread; ``sync()``
may run on another thread at the same time (Raft thesis §10.2.1: the node
keeps receiving while the disk works).

Rule 3 - a crash loses only what was never synced, and never leaves a hole:
after reopening, the log is a prefix of what was written, at least as long
as what was synced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ranet.core.types import Entry, HardState, SnapshotMeta

SnapshotData = bytes | Sequence[bytes]
"""A snapshot's bytes, whole or as parts in order (written without joining them)."""


@dataclass(slots=True)
class PersistentState:
    """Everything a node needs to restart: hard state, snapshot, later entries.

    ``entries[0]`` has index ``snapshot.last_index + 1``.
    """

    hard_state: HardState = field(default_factory=HardState)
    snapshot: SnapshotMeta = field(default_factory=SnapshotMeta)
    entries: list[Entry] = field(default_factory=list)

    @property
    def last_index(self) -> int:
        return self.snapshot.last_index + len(self.entries)


class Storage(Protocol):
    """Durable home of one node's Raft state."""

    def load(self) -> PersistentState:
        """Return the state to restart from (what survived, after recovery)."""
        ...

    def append(self, first_index: int, entries: Sequence[Entry]) -> None:
        """Write ``entries`` from ``first_index`` on, first discarding any stored
        entry at or after ``first_index`` (Raft §5.3: a conflicting suffix)."""
        ...

    def set_hard_state(self, hard_state: HardState) -> None:
        """Replace the hard state (term, vote, commit) atomically."""
        ...

    def sync(self) -> None:
        """Make every write that returned before this call durable."""
        ...

    def save_snapshot(self, meta: SnapshotMeta, data: bytes) -> None:
        """Durably store a snapshot, then drop the log prefix it covers (Raft §7)."""
        ...

    def write_snapshot(self, meta: SnapshotMeta, data: SnapshotData) -> None:
        """Durably store a snapshot without touching the log; may run on another
        thread than the writer's. ``compact_log`` then drops what it covers."""
        ...

    def compact_log(self, meta: SnapshotMeta) -> None:
        """Drop the log entries that the stored snapshot ``meta`` covers."""
        ...

    def load_snapshot(self) -> tuple[SnapshotMeta, bytes] | None:
        """The latest complete snapshot, or ``None``."""
        ...

    def close(self) -> None:
        """Release files and locks. Unsynced writes may be lost."""
        ...
