"""Backups (node/backup.py): taken from a running cluster or a stopped node's
directory, saved durably, checked on reading, and restored into a new
cluster that starts from the backed-up state and goes on from there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ranet.core import Configuration, Entry, EntryKind, HardState, SnapshotMeta
from ranet.errors import ConfigurationError, DataDirLocked, StorageError
from ranet.node import AppendLog
from ranet.node.backup import backup_data_dir, read_backup, restore_data_dir, save_backup
from ranet.node.batching import pack
from ranet.node.config import decode_addresses, encode_addresses
from ranet.storage import DiskStorage
from tests.node.test_node_api import (
    leader_and_follower,
    local_peers,
    make_nodes,
    run,
    running,
    wait_until,
)


def test_a_backup_holds_every_completed_write_and_starts_a_new_cluster(tmp_path: Path) -> None:
    """Taken on a follower right after the writes complete on the leader, the
    backup holds them all (a read barrier first); a new cluster on other
    ports restored from it has the same state, elects, accepts writes after
    the backup's index, and a restarted member keeps it all."""
    backup_file = tmp_path / "cluster.backup"
    old_peers, new_peers = local_peers(), local_peers()

    async def take() -> list[bytes]:
        async with running(make_nodes(tmp_path / "old", old_peers, 5.0)) as nodes:
            leader, follower = await leader_and_follower(nodes)
            for n in range(5):
                await leader.propose(b"one-%d" % n)
            # submitted together: some travel as one batch entry
            await asyncio.gather(*(leader.submit(b"many-%d" % n) for n in range(20)))
            meta, data = await follower.backup()
            assert meta.last_index >= leader.core.commit_index  # nothing completed is missing
            assert decode_addresses(meta.context) == old_peers
            save_backup(backup_file, meta, data)
            return list(leader.state_machine.items)

    written = run(take())
    assert len(written) == 25
    meta, data = read_backup(backup_file)
    restored = AppendLog()
    restored.restore(data)
    assert restored.items == written

    for n in new_peers:
        directory = tmp_path / "new" / f"node-{n}"
        snapshot = restore_data_dir((meta, data), directory, new_peers, state_machine=AppendLog())
        assert snapshot.voters == tuple(sorted(new_peers))
        assert decode_addresses(snapshot.context) == new_peers

    async def carry_on() -> None:
        nodes = make_nodes(tmp_path / "new", new_peers, 5.0)
        async with running(nodes):
            leader, follower = await leader_and_follower(nodes)
            assert all(node.state_machine.items == written for node in nodes)
            assert await leader.propose(b"after") == len(written) + 1
            assert leader.core.commit_index > meta.last_index
            assert leader.core.current_term > meta.last_term
            await wait_until(lambda: follower.state_machine.items == [*written, b"after"])
        again = make_nodes(tmp_path / "new", new_peers, 5.0)[:1]
        async with running(again):
            await wait_until(lambda: again[0].state_machine.items == [*written, b"after"])

    run(carry_on())


def test_a_restore_refuses_what_it_cannot_start_from(tmp_path: Path) -> None:
    peers = local_peers(1)
    backup_file = tmp_path / "one.backup"
    state = AppendLog()
    state.apply(b"x")
    good = SnapshotMeta(7, 2, tuple(peers), (), encode_addresses(peers))
    save_backup(backup_file, good, state.snapshot())

    with pytest.raises(ConfigurationError, match="holds no entry"):
        save_backup(tmp_path / "empty.backup", SnapshotMeta(), state.snapshot())
    assert not (tmp_path / "empty.backup").exists()

    target = tmp_path / "node-0"
    restore_data_dir(read_backup(backup_file), target, peers)
    with pytest.raises(ConfigurationError, match="already holds ranet data"):
        restore_data_dir(read_backup(backup_file), target, peers)
    with pytest.raises(ConfigurationError, match="at least one member"):
        restore_data_dir(read_backup(backup_file), tmp_path / "other", {})
    with pytest.raises(ValueError):  # the application cannot read it: nothing is written
        restore_data_dir((good, b"\xc1 not msgpack"), tmp_path / "bad", peers, state_machine=state)
    assert not (tmp_path / "bad").exists()

    with DiskStorage(target) as storage:  # what a node starts from
        stored = storage.load()
        assert stored.snapshot.last_index == 7 and stored.entries == []
        assert stored.hard_state == HardState(2, None, 7)

    contents = backup_file.read_bytes()
    for name, damaged in {
        "a flipped byte": contents[:-3] + bytes([contents[-3] ^ 1]) + contents[-2:],
        "cut short": contents[:-1],
        "not a backup": b"hello",
    }.items():
        path = tmp_path / f"{name}.backup"
        path.write_bytes(damaged)
        with pytest.raises(StorageError, match="is no intact ranet backup") as error:
            read_backup(path)
        assert str(path) in str(error.value), name


def test_a_stopped_nodes_directory_is_backed_up_with_its_whole_log(tmp_path: Path) -> None:
    """Offline: the snapshot, then every entry - the commands of plain and
    batch entries, none for no-ops and configurations - up to the end of the
    log, or up to the recorded commit index with ``committed_only``."""
    directory = tmp_path / "node-1"
    peers = {1: ("127.0.0.1", 1), 2: ("127.0.0.1", 2)}
    with DiskStorage(directory) as storage:
        storage.append(1, [
            Entry(1, b"a"),
            Entry(1, b"", EntryKind.NOOP),
            Entry(2, pack([b"b", b"c"]), EntryKind.BATCH),
            Entry(2, Configuration(frozenset(peers), context=encode_addresses(peers)).encode(),
                  EntryKind.CONFIG),
            Entry(2, b"d"),
            Entry(3, b"e"),
        ])  # fmt: skip
        storage.set_hard_state(HardState(3, 1, 5))
        storage.sync()
        with pytest.raises(DataDirLocked):  # a running node holds it
            backup_data_dir(directory, AppendLog())

    everything, committed = AppendLog(), AppendLog()
    meta, data = backup_data_dir(directory, everything)
    assert everything.items == [b"a", b"b", b"c", b"d", b"e"]
    assert (meta.last_index, meta.last_term, meta.voters) == (6, 3, (1, 2))
    assert decode_addresses(meta.context) == peers
    meta, data = backup_data_dir(directory, committed, committed_only=True)
    assert committed.items == [b"a", b"b", b"c", b"d"]
    assert (meta.last_index, meta.last_term) == (5, 2)
    restored = AppendLog()
    restored.restore(data)
    assert restored.items == committed.items
