"""``ranet cluster``: start a local cluster of real processes and drive it from one console.

The one-command start for a new user: N node processes on 127.0.0.1, their
data in a folder you can look into, their events interleaved in this
console, and commands to append entries and to kill, pause, resume and
restart nodes while you watch elections and catch-up happen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from ranet.node.config import DEFAULT_BASE_PORT, DEFAULT_CLIENT_PORT
from ranet.node.console import QuitConsole, serve_console
from ranet.node.loop import run as run_event_loop
from ranet.node.supervisor import LocalCluster

HELP = """commands:
  append TEXT        replicate TEXT (sent to the leader's console, or any node's)
  status [N]         Raft state of node N, or of every running node
  kill N             SIGKILL node N (it keeps only what it had synced)
  restart N          start node N again (after kill), or kill and start it
  pause N / resume N SIGSTOP / SIGCONT node N
  nodes              which nodes run, and who leads
  help               this text
  quit               stop every node and exit (Ctrl-C does the same)"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cluster",
        help="start a local cluster of node processes with one console",
        description=(
            "Start N ranet nodes as separate processes on 127.0.0.1 and drive them "
            "from one console: append entries, kill, pause, resume and restart nodes, "
            "and watch elections and catch-up. Ctrl-C stops everything."
        ),
    )
    parser.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("ranet-cluster"),
        help="folder for the nodes' data (default ./ranet-cluster)",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        default=DEFAULT_BASE_PORT,
        help=f"node N listens on BASE+N (default {DEFAULT_BASE_PORT})",
    )
    parser.add_argument(
        "--slow", action="store_true", help="the seed's timing (heartbeat 1 s, elections 5-8 s)"
    )
    for option, what in _FILE_OPTIONS:
        parser.add_argument(
            option, type=Path, metavar="FILE", help=f"every node's {what} (ranet node {option})"
        )
    parser.add_argument(
        "--tls-auth-clients",
        choices=("no", "optional", "yes"),
        help="whether Redis clients must show a certificate (ranet node --tls-auth-clients)",
    )
    parser.add_argument(
        "--notify-keyspace-events",
        metavar="CLASSES",
        help="the key-space events every node emits (ranet node --notify-keyspace-events)",
    )
    parser.set_defaults(handler=run)


_FILE_OPTIONS = (
    ("--password-file", "clients' password"),
    ("--peer-secret-file", "peer secret"),
    ("--tls-cert", "TLS certificate (one naming 127.0.0.1 serves them all)"),
    ("--tls-key", "TLS key"),
    ("--tls-ca", "CA certificate"),
)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.nodes <= 99:
        print("ranet cluster: error: --nodes must be between 1 and 99", file=sys.stderr)
        return 2
    if not 1 <= args.base_port <= 65535 - args.nodes:
        print("ranet cluster: error: --base-port is out of range", file=sys.stderr)
        return 2
    return run_event_loop(_main(args))


def _node_args(args: argparse.Namespace) -> list[str]:
    """The options every node of the cluster is started with."""
    options = ["--slow"] if args.slow else []
    for option, _ in _FILE_OPTIONS:
        path = getattr(args, option.removeprefix("--").replace("-", "_"))
        if path is not None:
            options += [option, str(path.resolve())]
    if args.notify_keyspace_events:
        options += ["--notify-keyspace-events", args.notify_keyspace_events]
    if args.tls_auth_clients:
        options += ["--tls-auth-clients", args.tls_auth_clients]
    return options


async def _main(args: argparse.Namespace) -> int:
    ports = [args.base_port + i for i in range(args.nodes)]
    client_ports = [DEFAULT_CLIENT_PORT + i for i in range(args.nodes)]
    cluster = LocalCluster(
        args.nodes,
        args.data_dir,
        ports=ports,
        client_ports=client_ports,
        node_args=_node_args(args),
        on_line=lambda node_id, line: print(f"[node {node_id}] {line}", flush=True),
    )
    print(f"starting {args.nodes} nodes, data in {args.data_dir.resolve()}")
    for node_id in range(args.nodes):
        print(
            f"  node {node_id}: peers {cluster.address(node_id)}, "
            f"clients (Redis protocol) {cluster.client_address(node_id)}"
        )
    print("type 'help' for commands; Ctrl-C stops the cluster", flush=True)
    await cluster.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    console = loop.create_task(_console(cluster, stop))
    await stop.wait()
    console.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await console
    print("stopping the cluster...", flush=True)
    await cluster.stop()
    print("all nodes stopped", flush=True)
    return 0


async def _console(cluster: LocalCluster, stop: asyncio.Event) -> None:
    async def answer(line: str) -> str:
        try:
            return await execute(cluster, line)
        except (ValueError, ProcessLookupError) as error:
            return f"error: {error}"

    await serve_console(answer, stop)


async def execute(cluster: LocalCluster, line: str) -> str:
    """Run one cluster-console command; return what to show."""
    command, _, argument = line.strip().partition(" ")
    argument = argument.strip()
    if not command:
        return ""
    if command == "help":
        return HELP
    if command in ("quit", "exit"):
        raise QuitConsole
    if command == "nodes":
        return _nodes(cluster)
    if command == "append":
        if not argument:
            return "usage: append TEXT"
        target = cluster.leader()
        if target is None:
            running = [n for n in cluster.nodes.values() if n.alive and not n.paused]
            if not running:
                return "no node is running"
            target = running[0].node_id
        await cluster.send(target, f"append {argument}")
        return ""
    if command == "status":
        targets = [_node_id(cluster, argument)] if argument else list(cluster.nodes)
        for node_id in targets:
            if cluster.nodes[node_id].alive and not cluster.nodes[node_id].paused:
                await cluster.send(node_id, "status")
        return ""
    actions = {"kill", "restart", "pause", "resume"}
    if command in actions:
        if not argument:
            return f"usage: {command} N"
        node_id = _node_id(cluster, argument)
        return await _act(cluster, command, node_id)
    return f"unknown command {command!r}; type 'help' for the list"


def _node_id(cluster: LocalCluster, text: str) -> int:
    try:
        node_id = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a node number") from None
    if node_id not in cluster.nodes:
        raise ValueError(f"there is no node {node_id} (nodes are 0-{cluster.size - 1})")
    return node_id


async def _act(cluster: LocalCluster, command: str, node_id: int) -> str:
    node = cluster.nodes[node_id]
    if command == "restart":
        await cluster.restart(node_id)
        return f"node {node_id} restarted"
    if not node.alive:
        return f"node {node_id} is not running (use 'restart {node_id}')"
    if command == "kill":
        await cluster.kill(node_id)
        return f"node {node_id} killed"
    if command == "pause":
        cluster.signal(node_id, signal.SIGSTOP)
        return f"node {node_id} paused"
    cluster.signal(node_id, signal.SIGCONT)
    return f"node {node_id} resumed"


def _nodes(cluster: LocalCluster) -> str:
    rows = []
    leader = cluster.leader()
    for node_id, node in cluster.nodes.items():
        state = "paused" if node.paused else "running" if node.alive else "stopped"
        role = " (leader)" if node_id == leader else ""
        rows.append(f"node {node_id} {cluster.address(node_id)}: {state}{role}")
    return "\n".join(rows)
