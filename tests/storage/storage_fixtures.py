"""Helpers shared by the storage tests: every ``Storage`` under one harness."""

from __future__ import annotations

from pathlib import Path

from ranet.core.types import Entry
from ranet.storage import MemoryStorage, Storage
from ranet.storage.disk import DiskStorage

TINY_SEGMENTS = 200
"""A segment size so small that nearly every batch starts a new segment file."""


def entries(first: int, last: int, term: int) -> list[Entry]:
    """Entries ``first..last`` of ``term``, each with data naming both."""
    return [Entry(term, f"entry {i} of term {term}".encode()) for i in range(first, last + 1)]


class StorageUnderTest:
    """A storage and a way to restart it from what it made durable.

    A restart syncs first: this harness tests the contract, not crash
    semantics (a reopened directory still sees the OS page cache; crashes are
    tested with killed processes in test_disk_crash.py).
    """

    def __init__(self, kind: str, path: Path) -> None:
        self.kind = kind
        self.path = path
        self.storage = self._open()

    def _open(self) -> Storage:
        if self.kind == "memory":
            return MemoryStorage()
        segment_size = TINY_SEGMENTS if self.kind == "disk-tiny-segments" else 1 << 20
        return DiskStorage(self.path, segment_size=segment_size)

    def restart(self) -> Storage:
        self.storage.sync()
        if isinstance(self.storage, MemoryStorage):
            self.storage.crash()
        else:
            self.storage.close()
            self.storage = self._open()
        return self.storage

    def close(self) -> None:
        self.storage.close()
