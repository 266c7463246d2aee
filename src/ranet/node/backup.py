"""Backups: a consistent copy of a cluster's state, and new clusters started from one.

A backup is a snapshot file (``storage/snapshots.py``: a checksummed header
naming the last index, its term and the configuration in force there, then
the state machine's data, checksummed too), written under a temporary name,
fsynced and renamed, so a crash never leaves a half-written backup under its
final name.

Taking one:

- from a running cluster, ``Node.backup()`` on any node (over the Redis
  protocol, ``RAFT.BACKUP``): the state after a read barrier (thesis §6.4),
  so it holds every write that completed before the request;
- from a stopped node's data directory, ``backup_data_dir``: its latest
  snapshot with its log replayed on top - the way back when a majority is
  lost for good and no cluster is left to ask (see the rule there).

Restoring one, ``restore_data_dir``: a fresh data directory for one member
of a *new* cluster, which starts from the backup's state. Every member is
restored from the same backup with the same peers, so all start from the
same snapshot with the same configuration; the log is empty after it and the
term is the backup's, so the first election of the new cluster is in a
later term than every entry the state holds (Raft §5.4: a log's terms never
exceed the current term).

Rule - a restored cluster is a new cluster. It must not meet members of the
cluster the backup came from: their logs may run past the backup's index,
which would win them elections and overwrite the restored state. Start it on
other addresses, or under a new ``--cluster-id`` (the peer handshake refuses
any other cluster's nodes), or only once every old member is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from pathlib import Path

from ranet.core import Entry, EntryKind, HardState, RaftCore, SnapshotMeta
from ranet.errors import ConfigurationError, StorageCorruption, StorageError
from ranet.node import batching
from ranet.node.config import Address, encode_addresses
from ranet.node.state_machine import StateMachine
from ranet.storage import DiskStorage
from ranet.storage.base import SnapshotData
from ranet.storage.snapshots import read_snapshot_file, save_snapshot_file, snapshot_parts

logger = logging.getLogger(__name__)

_STORED = (".wal", ".snap")


def save_backup(path: str | os.PathLike[str], meta: SnapshotMeta, data: SnapshotData) -> None:
    """Durably write a backup taken by ``Node.backup`` or ``backup_data_dir``."""
    if meta.last_index <= 0:
        raise ConfigurationError("nothing to back up: the state holds no entry yet")
    save_snapshot_file(os.fspath(path), snapshot_parts(meta, data))


def read_backup(path: str | os.PathLike[str]) -> tuple[SnapshotMeta, bytes]:
    """A backup's metadata and data, both checksums checked; ``StorageError``
    naming the file if it is damaged or no backup."""
    try:
        return read_snapshot_file(os.fspath(path))
    except StorageCorruption as error:
        raise StorageError(
            f"{error.path} is no intact ranet backup (offset {error.offset}: {error.reason})"
        ) from None


def backup_data_dir(
    data_dir: str | os.PathLike[str], state_machine: StateMachine, *, committed_only: bool = False
) -> tuple[SnapshotMeta, bytes]:
    """A backup from a stopped node's data directory (it is locked while a node
    runs: ``DataDirLocked``): its latest snapshot restored into ``state_machine``
    (a fresh one), then its log applied on top. The directory is only read.

    Rule - by default every entry the log holds is applied, the committed
    ones and those the node could not know to be committed yet: a client is
    answered only once its entry is committed, so an entry missing here may
    have been acknowledged, while one that was never committed was never
    acknowledged as done (its client saw a timeout or an error, and its
    outcome was unknown). ``committed_only`` stops at the commit index the
    node had recorded instead. When choosing among surviving nodes, take the
    one with the most up-to-date log (highest last term, then index), as an
    election would (Raft §5.4.1).
    """
    with DiskStorage(data_dir) as storage:
        state = storage.load()
        stored = storage.load_snapshot()
    if stored is not None:
        state_machine.restore(stored[1])
    end = state.hard_state.commit_index if committed_only else state.last_index
    core = RaftCore(0, frozenset(), random.Random(0), hard_state=state.hard_state,
                    snapshot=state.snapshot, entries=state.entries)  # fmt: skip
    for entry in state.entries[: max(0, end - state.snapshot.last_index)]:
        for command in _commands(entry):
            with contextlib.suppress(Exception):  # as a node: a command's error is its result
                state_machine.apply(command)
    last = max(end, state.snapshot.last_index)
    return core.snapshot_meta_at(last), state_machine.snapshot()


def _commands(entry: Entry) -> list[bytes]:
    """The commands a node applies for ``entry`` (Node._apply): none for a
    no-op or a configuration, none for a batch only a broken leader writes."""
    if entry.kind == EntryKind.NORMAL:
        return [entry.data]
    if entry.kind == EntryKind.BATCH:
        with contextlib.suppress(batching.BatchError):
            return batching.unpack(entry.data)
    return []


def restore_data_dir(
    backup: tuple[SnapshotMeta, bytes],
    data_dir: str | os.PathLike[str],
    peers: dict[int, Address],
    *,
    state_machine: StateMachine | None = None,
) -> SnapshotMeta:
    """Make ``data_dir`` (absent or empty) the start of one member of a new
    cluster of ``peers`` (every voting member, by id, with its peer address),
    holding the backup's state; start the node with the same peers. With
    ``state_machine`` the data is first restored into it, so a backup the
    application cannot read is refused here, not when the node starts.
    Returns the snapshot written (the backup's index and term, the new
    configuration)."""
    meta, data = backup
    if not peers:
        raise ConfigurationError("a restored cluster needs at least one member")
    path = Path(data_dir)
    if path.exists() and any(p.suffix in _STORED or p.name == "VERSION" for p in path.iterdir()):
        raise ConfigurationError(
            f"{path} already holds ranet data; restore into a new, empty directory"
        )
    if state_machine is not None:
        state_machine.restore(data)
    restored = SnapshotMeta(
        meta.last_index, meta.last_term, tuple(sorted(peers)), (), encode_addresses(peers)
    )
    with DiskStorage(path) as storage:
        storage.save_snapshot(restored, data)
        storage.set_hard_state(HardState(meta.last_term, None, meta.last_index))
        storage.sync()
    logger.info("restored %s from a backup at entry %d", path, meta.last_index)
    return restored
