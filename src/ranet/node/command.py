"""``ranet node N``: run one server of a cluster, the seed's ``janet control.janet N``.

The node's state machine is the replicated key-value store (``ranet.kv``),
served over the Redis protocol on its client address. It prints role
changes and applied entries as they happen and, when standard input is a
terminal (or with ``--console``), reads console commands. SIGTERM and
SIGINT stop the node gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import ssl
import sys
from collections.abc import Callable
from pathlib import Path

from ranet.core import Role
from ranet.errors import ConfigurationError, RanetError
from ranet.kv import notifications
from ranet.kv.node_backend import REPLY_CODEC, NodeBackend, describe_command
from ranet.kv.server import RespServer
from ranet.kv.store import KVStore
from ranet.node.config import (
    DEFAULT_CLIENT_PORT,
    DEFAULT_SNAPSHOT_ENTRIES,
    Address,
    NodeConfig,
    default_peers,
    parse_address,
    parse_peers,
)
from ranet.node.console import run_command, serve_console
from ranet.node.events import (
    Applied,
    LeadershipHandedOff,
    MembershipChanged,
    NodeEvent,
    RoleChanged,
)
from ranet.node.loop import run as run_event_loop
from ranet.node.runtime import Node
from ranet.secret_file import read_secret
from ranet.tls import CLIENT_AUTH, TlsFiles


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "node",
        help="run one server of a Raft cluster",
        description=(
            "Run node ID of a cluster. Without --peers: node ID (0-4) of the default "
            "5-node cluster on 127.0.0.1:15000-15004. Prints role changes and applied "
            "entries; on a terminal, opens a console ('append hello', 'status', 'help')."
        ),
    )
    parser.add_argument("node_id", type=int, metavar="ID", help="this node's id")
    parser.add_argument(
        "--peers",
        metavar="ID=HOST:PORT,...",
        help="every initial voting member, this node included (default: the 5-node "
        "cluster on 127.0.0.1:15000-15004)",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="where this node keeps its data (default ranet-data/node-ID)"
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address to bind, when it differs from the one in --peers (e.g. 0.0.0.0:15000)",
    )
    clients = parser.add_mutually_exclusive_group()
    clients.add_argument(
        "--client",
        metavar="HOST:PORT",
        help="serve the Redis protocol here (default: this node's peer host, port 6379+ID)",
    )
    clients.add_argument("--no-client", action="store_true", help="do not serve the Redis protocol")
    parser.add_argument(
        "--quiet", action="store_true", help="do not print every applied entry (benchmarks)"
    )
    parser.add_argument(
        "--join",
        action="store_true",
        help="start outside the configuration and wait to be added "
        "(RAFT.MEMBER ADD on the leader); --peers lists the cluster and this node",
    )
    parser.add_argument("--cluster-id", default="ranet", help="name shared by the cluster's nodes")
    parser.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="Redis clients must AUTH with the password on this file's first line",
    )
    parser.add_argument(
        "--notify-keyspace-events",
        default="",
        metavar="CLASSES",
        help="key-space events this node emits, as Redis's setting (e.g. KEA); "
        "CONFIG SET notify-keyspace-events changes it",
    )
    parser.add_argument(
        "--peer-secret-file",
        type=Path,
        metavar="FILE",
        help="peers must prove the secret on this file's first line (the same on every node)",
    )
    for option, what in TLS_OPTIONS:
        parser.add_argument(
            option, type=Path, metavar="FILE", help=f"TLS on both ports: {what} (PEM)"
        )
    parser.add_argument(
        "--tls-auth-clients",
        choices=sorted(CLIENT_AUTH),
        default="no",
        help="whether Redis clients must show a certificate from the CA (default no)",
    )
    parser.add_argument(
        "--slow",
        action="store_true",
        help="the seed's timing: heartbeat every 1 s, elections after 5-8 s",
    )
    console = parser.add_mutually_exclusive_group()
    console.add_argument(
        "--console", action="store_true", help="read console commands even from a pipe"
    )
    console.add_argument("--no-console", action="store_true", help="do not read standard input")
    parser.add_argument(
        "--snapshot-entries",
        type=_non_negative,
        default=DEFAULT_SNAPSHOT_ENTRIES,
        metavar="N",
        help="snapshot the state and compact the log every N applied entries "
        "(default %(default)s; 0: never)",
    )
    parser.add_argument(
        "--unsafe-no-fsync",
        action="store_true",
        help="never fsync (UNSAFE: for benchmarks only; a machine crash can lose acknowledged "
        "writes)",
    )
    parser.set_defaults(handler=run)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (never) or positive, got {value}")
    return value


def client_address_from(args: argparse.Namespace, config: NodeConfig) -> Address | None:
    if args.no_client:
        return None
    if args.client:
        return parse_address(args.client)
    host = config.peers[config.node_id][0]
    return host, DEFAULT_CLIENT_PORT + config.node_id


TLS_OPTIONS = (
    ("--tls-cert", "this node's certificate"),
    ("--tls-key", "its key"),
    ("--tls-ca", "the cluster's CA certificate"),
)


def tls_files_from(args: argparse.Namespace) -> TlsFiles | None:
    """``--tls-cert``, ``--tls-key`` and ``--tls-ca``: all three, or none."""
    files = (args.tls_cert, args.tls_key, args.tls_ca)
    if not any(files):
        return None
    if not all(files):
        raise ConfigurationError("TLS needs all three of --tls-cert, --tls-key and --tls-ca")
    return TlsFiles(*files)


def client_port_tls(args: argparse.Namespace, tls: TlsFiles | None) -> ssl.SSLContext | None:
    """The Redis port's TLS context: the node's certificate, and clients'
    as ``--tls-auth-clients`` asks."""
    if tls is None:
        if args.tls_auth_clients != "no":
            raise ConfigurationError(
                "--tls-auth-clients needs TLS (--tls-cert, --tls-key, --tls-ca)"
            )
        return None
    return tls.server_context(peers=False, auth_clients=args.tls_auth_clients)


def config_from(args: argparse.Namespace) -> NodeConfig:
    peers = parse_peers(args.peers) if args.peers else default_peers()
    config = NodeConfig(
        node_id=args.node_id,
        peers=peers,
        data_dir=args.data_dir or Path("ranet-data") / f"node-{args.node_id}",
        listen=parse_address(args.listen) if args.listen else None,
        cluster_id=args.cluster_id,
        fsync=not args.unsafe_no_fsync,
        join=args.join,
        snapshot_entries=args.snapshot_entries,
        peer_secret=read_secret(args.peer_secret_file) if args.peer_secret_file else None,
        tls=tls_files_from(args),
    )
    return config.with_profile("slow" if args.slow else "default")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_from(args)
        client = client_address_from(args, config)
        password = read_secret(args.password_file) if args.password_file else None
        events = notifications.parse(args.notify_keyspace_events)
        client_tls = client_port_tls(args, config.tls)
    except notifications.UnknownClass as error:
        print(f"ranet node: error: --notify-keyspace-events: {error}", file=sys.stderr)
        return 2
    except RanetError as error:
        print(f"ranet node: error: {error}", file=sys.stderr)
        return 2
    use_console = args.console or (not args.no_console and sys.stdin.isatty())
    try:
        return run_event_loop(
            serve(
                config,
                client,
                password,
                use_console=use_console,
                quiet=args.quiet,
                events=events,
                client_tls=client_tls,
            )
        )
    except (RanetError, OSError) as error:
        print(f"ranet node {config.node_id}: error: {error}", file=sys.stderr)
        return 1


def event_printer() -> Callable[[NodeEvent], None]:
    def print_event(event: NodeEvent) -> None:
        if isinstance(event, RoleChanged):
            line = f"BECAME {event.role} (term {event.term})"
            if event.role == Role.FOLLOWER and event.leader_id is not None:
                line = f"FOLLOWING leader {event.leader_id} (term {event.term})"
            print(line, flush=True)
        elif isinstance(event, LeadershipHandedOff):
            print(f"HANDED leadership to node {event.target}", flush=True)
        elif isinstance(event, MembershipChanged):
            members = f"voters {list(event.voters)} learners {list(event.learners)}"
            print(f"MEMBERS {members}", flush=True)
        elif isinstance(event, Applied):
            text = describe_command(event.command)
            print(f"Applying: entry {event.index} (term {event.term}): {text}", flush=True)

    return print_event


async def serve(
    config: NodeConfig,
    client: Address | None,
    password: bytes | None,
    *,
    use_console: bool,
    quiet: bool,
    events: int = 0,
    client_tls: ssl.SSLContext | None,
) -> int:
    store = KVStore()
    node = Node(
        config,
        store,
        on_event=event_printer(),
        applied_events=not quiet,
        result_codec=REPLY_CODEC,
    )
    await node.start()
    server = None
    if client is not None:
        server = RespServer(
            NodeBackend(node, store),
            client[0],
            client[1],
            node_id=config.node_id,
            password=password,
            ssl_context=client_tls,
            keyspace_events=events,
        )
        try:
            await server.start()
        except BaseException:
            await node.stop(transfer=False)
            raise
    host, port = config.peers[config.node_id]
    serving = f", Redis protocol on {client[0]}:{client[1]}" if client else ""
    print(
        f"ranet node {config.node_id} of {len(config.peers)} at {host}:{port}{serving}, "
        f"data in {config.data_dir}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    console = loop.create_task(_console(node, stop)) if use_console else None
    await stop.wait()
    if console is not None:
        console.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await console
    if server is not None:
        await server.stop()
    await node.stop()
    print(f"node {config.node_id} stopped", flush=True)
    return 0


async def _console(node: Node, stop: asyncio.Event) -> None:
    await serve_console(
        lambda line: run_command(node, line), stop, prompt=f"ranet[{node.config.node_id}]> "
    )
