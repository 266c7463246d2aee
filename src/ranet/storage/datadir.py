"""A node's data directory: locked while open, versioned, and where fsync lives.

Files in it: ``LOCK`` (flock'ed while a storage has the directory open),
``VERSION`` (the on-disk format), WAL segments ``<seq>.wal`` and snapshots
``snapshot-<last_index>.snap``.

Invariants: at most one open ``DataDir`` per directory (the flock is held
from open to close, and a second one fails fast with ``DataDirLocked``); the
format version is checked before any other file is read; every fsync of the
storage goes through ``sync_file``/``sync_dir``, the single place where the
unsafe ``fsync=False`` benchmark mode turns durability off.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import ExitStack

from ranet.errors import DataDirLocked, StorageError

FORMAT_VERSION = 1
_VERSION_TEXT = f"ranet-storage {FORMAT_VERSION}\n"


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class DataDir:
    """An open, locked, version-checked data directory."""

    def __init__(self, path: str, *, fsync: bool) -> None:
        self.path = path
        self._fsync = fsync
        os.makedirs(path, exist_ok=True)
        with ExitStack() as undo:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            undo.callback(os.close, self.fd)
            self._lock_fd = os.open(self.file("LOCK"), os.O_RDWR | os.O_CREAT, 0o644)
            undo.callback(os.close, self._lock_fd)
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DataDirLocked(
                    f"data directory {path} is in use by another open ranet storage "
                    "(another process, or another instance in this one); stop it first"
                ) from None
            self._check_version()
            undo.pop_all()

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def names(self) -> list[str]:
        return os.listdir(self.path)

    def sync_file(self, fd: int) -> None:
        """Make a file's data (and its size) durable."""
        if self._fsync:
            os.fdatasync(fd)

    def sync_dir(self) -> None:
        """Make file creations, renames and removals in the directory durable."""
        if self._fsync:
            os.fsync(self.fd)

    def _check_version(self) -> None:
        version_path = self.file("VERSION")
        try:
            with open(version_path, encoding="utf-8", errors="replace") as f:
                found = f.read()
        except FileNotFoundError:
            if any(name.endswith((".wal", ".snap")) for name in self.names()):
                raise StorageError(
                    f"{self.path} holds ranet data but no VERSION file; refusing to guess "
                    "its format"
                ) from None
            self._write_version(version_path)
            return
        if found != _VERSION_TEXT:
            raise StorageError(
                f"{version_path} says {found.strip()!r}, but this ranet reads only "
                f"{_VERSION_TEXT.strip()!r}; use a matching ranet version or a fresh directory"
            )

    def _write_version(self, version_path: str) -> None:
        temporary = version_path + ".tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            write_all(fd, _VERSION_TEXT.encode())
            self.sync_file(fd)
        finally:
            os.close(fd)
        os.rename(temporary, version_path)
        self.sync_dir()

    def close(self) -> None:
        """Release the lock; the directory may be opened again."""
        os.close(self.fd)
        os.close(self._lock_fd)
