"""``ranet node N``: run one server of a cluster, the seed's ``janet control.janet N``.

Prints role changes and applied entries as they happen and, when standard
input is a terminal (or with ``--console``), reads console commands. SIGTERM
and SIGINT stop the node gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
from pathlib import Path

from ranet.core import Role
from ranet.errors import RanetError
from ranet.node.config import NodeConfig, default_peers, parse_address, parse_peers
from ranet.node.console import QuitConsole, run_command
from ranet.node.events import Applied, NodeEvent, RoleChanged
from ranet.node.loop import run as run_event_loop
from ranet.node.runtime import Node
from ranet.node.state_machine import AppendLog


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
    parser.add_argument("--cluster-id", default="ranet", help="name shared by the cluster's nodes")
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
        "--unsafe-no-fsync",
        action="store_true",
        help="never fsync (UNSAFE: for benchmarks only; a machine crash can lose acknowledged "
        "writes)",
    )
    parser.set_defaults(handler=run)


def config_from(args: argparse.Namespace) -> NodeConfig:
    peers = parse_peers(args.peers) if args.peers else default_peers()
    config = NodeConfig(
        node_id=args.node_id,
        peers=peers,
        data_dir=args.data_dir or Path("ranet-data") / f"node-{args.node_id}",
        listen=parse_address(args.listen) if args.listen else None,
        cluster_id=args.cluster_id,
        fsync=not args.unsafe_no_fsync,
    )
    return config.with_profile("slow" if args.slow else "default")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_from(args)
    except RanetError as error:
        print(f"ranet node: error: {error}", file=sys.stderr)
        return 2
    use_console = args.console or (not args.no_console and sys.stdin.isatty())
    try:
        return run_event_loop(serve(config, use_console))
    except (RanetError, OSError) as error:
        print(f"ranet node {config.node_id}: error: {error}", file=sys.stderr)
        return 1


def print_event(event: NodeEvent) -> None:
    if isinstance(event, RoleChanged):
        line = f"BECAME {event.role} (term {event.term})"
        if event.role == Role.FOLLOWER and event.leader_id is not None:
            line = f"FOLLOWING leader {event.leader_id} (term {event.term})"
        print(line, flush=True)
    elif isinstance(event, Applied):
        text = event.command.decode(errors="backslashreplace")
        print(f"Applying: entry {event.index} (term {event.term}): {text!r}", flush=True)


async def serve(config: NodeConfig, use_console: bool) -> int:
    node = Node(config, AppendLog(), on_event=print_event)
    await node.start()
    host, port = config.peers[config.node_id]
    print(
        f"ranet node {config.node_id} of {len(config.peers)} at {host}:{port}, "
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
    await node.stop()
    print(f"node {config.node_id} stopped", flush=True)
    return 0


async def _console(node: Node, stop: asyncio.Event) -> None:
    """Read lines on a thread (stdin blocks) and run them on the loop."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read_lines() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_lines, name="ranet-console", daemon=True).start()
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print(f"ranet[{node.config.node_id}]> ", end="", flush=True)
        line = await lines.get()
        if line is None:
            if interactive:
                stop.set()  # Ctrl-D at a terminal ends the node; a closed pipe does not
            return
        try:
            reply = await run_command(node, line)
        except QuitConsole:
            stop.set()
            return
        if reply:
            print(reply, flush=True)
