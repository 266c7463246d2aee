"""``ranet backup``: save a key-value cluster's state to a file, inspect one,
and restore one into the data directories of a new cluster (node/backup.py).

``save`` asks the nodes of ``--endpoints`` in turn for ``RAFT.BACKUP`` (any
node serves it, a follower as well as the leader) or, with ``--data-dir``,
reads a stopped node's directory; either way the file is written under a
temporary name, fsynced, read back and checked, then renamed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from ranet.client.tool_options import ToolConnection, add_connection_options, connection_from
from ranet.core import SnapshotMeta
from ranet.errors import RanetError
from ranet.kv.admin_command import DEFAULT_ENDPOINTS
from ranet.kv.store import KVStore
from ranet.node.backup import backup_data_dir, read_backup, restore_data_dir, save_backup
from ranet.node.config import decode_addresses, parse_peers
from ranet.storage.snapshots import save_snapshot_file

CONNECT_TIMEOUT = 5.0
BACKUP_TIMEOUT = 120.0  # serializing a large state takes a while (about 1 s per million keys)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    backup = subparsers.add_parser(
        "backup",
        help="save, inspect or restore a backup of the key-value state",
        description=(
            "Back up a cluster's key-value state to a file, and start a new cluster from "
            "one. A backup taken from running nodes holds every write completed before it."
        ),
    )
    actions = backup.add_subparsers(dest="action", metavar="ACTION", required=True)
    save = actions.add_parser(
        "save",
        help="write a backup file, from running nodes or a stopped node's data directory",
    )
    save.add_argument("file", type=Path, metavar="FILE")
    source = save.add_mutually_exclusive_group()
    source.add_argument(
        "--endpoints",
        default=DEFAULT_ENDPOINTS,
        metavar="HOST:PORT,...",
        help="the nodes' client (Redis protocol) addresses, tried in turn (default: "
        "127.0.0.1:6379-6383)",
    )
    source.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="read a stopped node's data directory instead (when no majority is left): "
        "its snapshot and every entry of its log",
    )
    add_connection_options(save)
    save.add_argument(
        "--committed-only",
        action="store_true",
        help="with --data-dir: stop at the commit index the node recorded",
    )
    inspect = actions.add_parser("inspect", help="check a backup file and describe it")
    inspect.add_argument("file", type=Path, metavar="FILE")
    restore = actions.add_parser(
        "restore",
        help="make a new, empty data directory for one member of a new cluster",
        description=(
            "Restore a backup into DIR for node ID of a new cluster of --peers. Restore every "
            "member from the same file with the same --peers, then start each with "
            "'ranet node ID --peers ... --data-dir DIR'. Keep the old cluster's members "
            "away from it: other addresses, or a new --cluster-id."
        ),
    )
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument("node_id", type=int, metavar="ID", help="the member this directory is for")
    restore.add_argument(
        "--peers", required=True, metavar="ID=HOST:PORT,...", help="every member of the new cluster"
    )
    restore.add_argument("--data-dir", type=Path, required=True, metavar="DIR")
    backup.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "save":
            meta = _save(args)
            print(f"saved {args.file}: {_describe(meta)}")
        elif args.action == "inspect":
            meta, data = read_backup(args.file)
            store = KVStore()
            store.restore(data)
            print(f"{args.file}: {_describe(meta)}; {len(data)} bytes, {len(store)} keys")
        else:
            _restore(args)
    except (RanetError, OSError, LookupError) as error:
        print(f"ranet: {error}", file=sys.stderr)
        return 1
    return 0


def _save(args: argparse.Namespace) -> SnapshotMeta:
    if args.data_dir is not None:
        meta, data = backup_data_dir(args.data_dir, KVStore(), committed_only=args.committed_only)
        save_backup(args.file, meta, data)
        return meta
    if args.committed_only:
        raise LookupError("--committed-only goes with --data-dir")
    contents = asyncio.run(_fetch(args.endpoints.split(","), connection_from(args)))
    return save_snapshot_file(str(args.file), [contents])


async def _fetch(endpoints: list[str], reach: ToolConnection) -> bytes:
    """RAFT.BACKUP from the first node that serves it."""
    failures = []
    for endpoint in endpoints:
        try:
            connection = await reach.open(endpoint, CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            failures.append(f"{endpoint}: {error or 'no answer'}")
            continue
        try:
            reply = await connection.receive(
                connection.send([b"RAFT.BACKUP"]), timeout=BACKUP_TIMEOUT
            )
        except (ConnectionError, TimeoutError) as error:
            failures.append(f"{endpoint}: {error or 'no reply in time'}")
            continue
        finally:
            connection.close()
        if isinstance(reply, bytes):
            return reply
        failures.append(f"{endpoint}: {reply}")
    raise LookupError("no node served a backup (" + "; ".join(failures) + ")")


def _restore(args: argparse.Namespace) -> None:
    peers = parse_peers(args.peers)
    if args.node_id not in peers:
        raise LookupError(f"node {args.node_id} is not among --peers {sorted(peers)}")
    meta = restore_data_dir(read_backup(args.file), args.data_dir, peers, state_machine=KVStore())
    print(f"restored {args.data_dir} for node {args.node_id}: {_describe(meta)}")
    start = f"ranet node {args.node_id} --peers {args.peers} --data-dir {args.data_dir}"
    print(f"start it with: {start}")


def _describe(meta: SnapshotMeta) -> str:
    addresses = decode_addresses(meta.context)
    members = ", ".join(
        f"{n}={addresses[n][0]}:{addresses[n][1]}" if n in addresses else str(n)
        for n in meta.voters
    )
    return f"entry {meta.last_index} (term {meta.last_term}), members {members or 'unknown'}"
