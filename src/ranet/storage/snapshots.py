"""Snapshot files: written whole under a temporary name, fsynced, then renamed.

A snapshot ``snapshot-<last_index>.snap`` is a checksummed header and the
state machine's data::

    magic "RNSP" | last_index u64 | last_term u64 | voter count u32 | learner count u32
    | context length u32 | voters u64... | learners u64... | context bytes
    | data length u64 | data crc u32 | header crc u32 | data

Invariants:

- a file carries its final name only once it is complete and fsynced, and the
  rename is fsynced (via the directory) before ``save`` returns, so the
  snapshot is durable before the log prefix it covers is dropped (Raft §7);
- the latest snapshot is the highest-indexed file whose checksums hold; a
  temporary file (a crash mid-write) is removed and a damaged one ignored, so
  recovery falls back to the previous snapshot;
- once a new snapshot is durable, older ones are removed: only the latest is kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from zlib import crc32

from ranet.core.types import SnapshotMeta
from ranet.errors import StorageCorruption
from ranet.storage.base import SnapshotData
from ranet.storage.datadir import DataDir, write_all

logger = logging.getLogger(__name__)

_PREFIX = "snapshot-"
_SUFFIX = ".snap"
_TEMPORARY = ".tmp"
_MAGIC = b"RNSP"
_FIXED = struct.Struct("<4sQQIII")
_TRAILER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_CHUNK = 1 << 20


def _snapshot_name(last_index: int) -> str:
    return f"{_PREFIX}{last_index:020d}{_SUFFIX}"


def _snapshot_index(name: str) -> int | None:
    """The last index in a snapshot file name, or ``None`` for other files."""
    digits = name.removeprefix(_PREFIX).removesuffix(_SUFFIX)
    framed = len(digits) + len(_PREFIX) + len(_SUFFIX) == len(name)
    return int(digits) if framed and digits.isascii() and digits.isdigit() else None


@dataclass(slots=True, frozen=True)
class _SnapshotFile:
    path: str
    meta: SnapshotMeta
    data_offset: int
    data_length: int
    data_crc: int


def snapshot_parts(meta: SnapshotMeta, data: SnapshotData) -> list[bytes]:
    """A snapshot file's contents as parts, in order: the header, then the data's
    parts (a large state is never joined into one more copy)."""
    return _framed(meta, data)[0]


def _framed(meta: SnapshotMeta, data: SnapshotData) -> tuple[list[bytes], int, int]:
    """``snapshot_parts``, with the data's length and checksum."""
    parts = [data] if isinstance(data, bytes) else list(data)
    length, crc = 0, 0
    for part in parts:
        length += len(part)
        crc = crc32(part, crc)
    return [_encode_header(meta, length, crc), *parts], length, crc


def save_snapshot_file(path: str, parts: list[bytes]) -> SnapshotMeta:
    """Durably write a snapshot file's ``parts`` anywhere (a backup,
    node/backup.py): under a temporary name, fsynced, read back and checked
    (``StorageCorruption`` if the parts are no intact snapshot; nothing is
    left behind), renamed, and the rename fsynced. Returns its meta."""
    temporary = path + _TEMPORARY
    try:
        _write_parts(temporary, parts, os.fdatasync)
        meta = _validate(temporary, named=False).meta
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    os.rename(temporary, path)
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return meta


def read_snapshot_file(path: str) -> tuple[SnapshotMeta, bytes]:
    """A snapshot file anywhere, both checksums checked; ``StorageCorruption``
    naming the file if it is not a complete, intact snapshot."""
    return _read_data(_validate(path, named=False))


def _write_parts(path: str, parts: list[bytes], sync: Callable[[int], None]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for part in parts:
            write_all(fd, part)
        sync(fd)
    finally:
        os.close(fd)


def _read_data(found: _SnapshotFile) -> tuple[SnapshotMeta, bytes]:
    with open(found.path, "rb") as f:
        f.seek(found.data_offset)
        data = f.read()
    if len(data) != found.data_length or crc32(data) != found.data_crc:
        raise StorageCorruption(found.path, found.data_offset, "snapshot data damaged")
    return found.meta, data


def _encode_header(meta: SnapshotMeta, data_length: int, data_crc: int) -> bytes:
    ids = meta.voters + meta.learners
    counts = (len(meta.voters), len(meta.learners), len(meta.context))
    header = (
        _FIXED.pack(_MAGIC, meta.last_index, meta.last_term, *counts)
        + struct.pack(f"<{len(ids)}Q", *ids)
        + meta.context
        + _TRAILER.pack(data_length, data_crc)
    )
    return header + _CRC.pack(crc32(header))


class SnapshotStore:
    """The snapshots of one data directory; ``meta`` describes the latest one."""

    def __init__(self, directory: DataDir) -> None:
        self._directory = directory
        self._latest: _SnapshotFile | None = None
        for name in sorted(directory.names(), reverse=True):
            path = directory.file(name)
            if name.startswith(_PREFIX) and name.endswith(_TEMPORARY):
                logger.warning("removing %s: a snapshot whose writing a crash interrupted", path)
                os.unlink(path)
            elif self._latest is None and _snapshot_index(name) is not None:
                try:
                    self._latest = _validate(path)
                except StorageCorruption as exc:
                    logger.warning(
                        "ignoring damaged snapshot %s (offset %d: %s); using the previous one",
                        exc.path,
                        exc.offset,
                        exc.reason,
                    )
        self._remove_older_than(self.meta.last_index)

    @property
    def meta(self) -> SnapshotMeta:
        return self._latest.meta if self._latest is not None else SnapshotMeta()

    def save(self, meta: SnapshotMeta, data: SnapshotData) -> None:
        """Durably store a snapshot, then remove the older ones. ``data`` may
        come in parts, written one after the other: a large state need not be
        joined into one more copy in memory."""
        parts, length, crc = _framed(meta, data)
        path = self._directory.file(_snapshot_name(meta.last_index))
        temporary = path + _TEMPORARY
        _write_parts(temporary, parts, self._directory.sync_file)
        os.rename(temporary, path)
        self._directory.sync_dir()
        self._latest = _SnapshotFile(path, meta, len(parts[0]), length, crc)
        self._remove_older_than(meta.last_index)

    def load(self) -> tuple[SnapshotMeta, bytes] | None:
        """The latest snapshot and its data, checked again against its checksum."""
        return None if self._latest is None else _read_data(self._latest)

    def _remove_older_than(self, last_index: int) -> None:
        """Only the latest snapshot is kept; superseded (or damaged older) files go."""
        for name in self._directory.names():
            index = _snapshot_index(name)
            if index is not None and index < last_index:
                os.unlink(self._directory.file(name))


def _validate(path: str, *, named: bool = True) -> _SnapshotFile:
    """Check a snapshot file's header and data checksums, and - ``named``, for a
    data directory's - that its name carries its last index."""
    with open(path, "rb") as f:
        fixed = f.read(_FIXED.size)
        if len(fixed) < _FIXED.size:
            raise StorageCorruption(path, 0, "the file ends inside the snapshot header")
        magic, last_index, last_term, voter_count, learner_count, context_length = _FIXED.unpack(
            fixed
        )
        ids_size = 8 * (voter_count + learner_count) + context_length
        rest = f.read(ids_size + _TRAILER.size + _CRC.size)
        if magic != _MAGIC or len(rest) < ids_size + _TRAILER.size + _CRC.size:
            raise StorageCorruption(path, 0, "not a complete snapshot header")
        header = fixed + rest[: -_CRC.size]
        if crc32(header) != _CRC.unpack_from(rest, len(rest) - _CRC.size)[0]:
            raise StorageCorruption(path, 0, "snapshot header checksum mismatch")
        if named and os.path.basename(path) != _snapshot_name(last_index):
            raise StorageCorruption(path, 0, f"the header says last index {last_index}")
        data_length, data_crc = _TRAILER.unpack_from(rest, ids_size)
        data_offset = len(header) + _CRC.size
        crc = 0
        while chunk := f.read(_CHUNK):
            crc = crc32(chunk, crc)
        if f.tell() != data_offset + data_length or crc != data_crc:
            raise StorageCorruption(path, data_offset, "snapshot data is incomplete or damaged")
    ids = struct.unpack_from(f"<{voter_count + learner_count}Q", rest)
    context = rest[ids_size - context_length : ids_size]
    meta = SnapshotMeta(last_index, last_term, ids[:voter_count], ids[voter_count:], context)
    return _SnapshotFile(path, meta, data_offset, data_length, data_crc)
