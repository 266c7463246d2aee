"""``ranet bench``: committed operations per second and latency percentiles of a cluster.

Starts a local cluster (real processes, durable storage with fsync on, in a
temporary folder), or targets running servers (``--endpoints``), drives a
closed-loop load against the leader from separate processes for a fixed
duration after a warm-up, shows a line per second on standard error, and
prints throughput, latency p50/p99/p99.9, each node's CPU and memory and the
load generator's CPU. ``--json FILE`` writes the same as one JSON object:
scripts rely on ``ops_per_s``, ``p50_ms`` and ``p99_ms`` being there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ranet.bench.cluster import Target, find_leader, local_cluster, parse_endpoints
from ranet.bench.procstat import machine
from ranet.bench.resp import Access
from ranet.bench.runner import SATURATED_PERCENT, BenchError, LoadPlan, LoadResult, run_load
from ranet.client.tool_options import add_connection_options, connection_from
from ranet.errors import ConfigurationError
from ranet.node.loop import run as run_event_loop


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure throughput and latency of a cluster under load",
        description=(
            "Start a local cluster (3 nodes, durable storage, fsync on) in a temporary folder, "
            "or target running servers with --endpoints, and drive a closed-loop Redis-protocol "
            "load (SET, or GET with --read-ratio) against the leader from separate processes. "
            "Reports committed ops/s, latency p50/p99/p99.9, and CPU and memory per process."
        ),
    )
    target = parser.add_argument_group("what to measure")
    target.add_argument(
        "--nodes", type=_cluster_size, default=3, help="local cluster size (default 3)"
    )
    target.add_argument(
        "--endpoints",
        type=_endpoints,
        metavar="HOST:PORT,...",
        help="measure running servers instead (their Redis-protocol addresses); the load goes "
        "to the one whose INFO raft says role:leader, or to the first if none is a Raft server",
    )
    add_connection_options(target)  # --user, --password-file, --tls-*: with --endpoints
    target.add_argument(
        "--unsafe-no-fsync",
        action="store_true",
        help="start the local nodes with fsync off (UNSAFE; for comparison only)",
    )
    target.add_argument(
        "--data-dir",
        type=Path,
        help="folder in which to make the cluster's temporary data folder (default: the "
        "system's temporary folder); its disk decides what fsync costs",
    )
    load = parser.add_argument_group("the load")
    load.add_argument(
        "--concurrency",
        type=_positive,
        default=64,
        help="requests in flight, all processes together (default 64)",
    )
    load.add_argument(
        "--clients", type=_positive, default=1, help="load generator processes (default 1)"
    )
    load.add_argument(
        "--connections",
        type=_positive,
        help="connections, all processes together (default: concurrency, at most 64)",
    )
    load.add_argument(
        "--value-size", type=_non_negative, default=16, help="bytes per value (default 16)"
    )
    load.add_argument(
        "--read-ratio",
        type=_ratio,
        default=0.0,
        help="fraction of requests that are GET (linearizable reads), 0..1 (default 0: writes)",
    )
    load.add_argument(
        "--keys", type=_positive, default=100_000, help="size of the key space (default 100000)"
    )
    load.add_argument(
        "--duration",
        type=_seconds,
        default=10.0,
        help="measured seconds (default 10)",
    )
    load.add_argument(
        "--warmup", type=_seconds_or_zero, default=2.0, help="seconds before measuring (default 2)"
    )
    output = parser.add_argument_group("output")
    output.add_argument("--json", type=Path, metavar="FILE", help="write the result here as JSON")
    output.add_argument(
        "--no-progress", action="store_true", help="no line per second on standard error"
    )
    parser.set_defaults(handler=run)


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None


def _positive(text: str) -> int:
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _cluster_size(text: str) -> int:
    value = _positive(text)
    if value > 9:
        raise argparse.ArgumentTypeError(f"expected 1 to 9 nodes, got {value}")
    return value


def _ratio(text: str) -> float:
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text}")
    return value


def _seconds(text: str) -> float:
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _seconds_or_zero(text: str) -> float:
    value = _number(text, float)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text}")
    return value


def _endpoints(text: str) -> list[tuple[str, int]]:
    try:
        return parse_endpoints(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    if args.endpoints and args.unsafe_no_fsync:
        return _usage_error("--unsafe-no-fsync applies to a local cluster, not to --endpoints")
    if args.endpoints and args.data_dir:
        return _usage_error("--data-dir applies to a local cluster, not to --endpoints")
    if args.connections and args.connections > args.concurrency:
        return _usage_error("--connections cannot exceed --concurrency")
    if args.clients > args.concurrency:
        return _usage_error("--clients cannot exceed --concurrency")
    if args.data_dir and not args.data_dir.is_dir():
        return _usage_error(f"--data-dir {args.data_dir} is not a folder")
    secured = args.user or args.password_file or args.tls_ca or args.tls_cert or args.tls_key
    if secured and not args.endpoints:
        return _usage_error("--user, --password-file and --tls-* apply to --endpoints")
    try:
        access = _access(args) if args.endpoints else Access()
    except (ConfigurationError, OSError) as error:
        return _usage_error(str(error))
    try:
        result = run_event_loop(_cancel_on_sigterm(bench(args, access, _progress_printer(args))))
    except BenchError as error:
        print(f"ranet bench: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ranet bench: interrupted", file=sys.stderr)
        return 130
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _access(args: argparse.Namespace) -> Access:
    """The password (its file, else RANET_PASSWORD), user and TLS files the
    load's connections use - checked as the other tools check them."""
    reach = connection_from(args)
    files = (args.tls_ca, args.tls_cert, args.tls_key)
    return Access(reach.password, args.user, *(None if f is None else str(f) for f in files))


def _usage_error(message: str) -> int:
    print(f"ranet bench: error: {message}", file=sys.stderr)
    return 2


def _progress_printer(args: argparse.Namespace) -> Callable[[str], None] | None:
    if args.no_progress:
        return None
    return lambda line: print(line, file=sys.stderr, flush=True)


async def _cancel_on_sigterm(main: Any) -> Any:
    """SIGTERM cancels the run like Ctrl-C does, so every process is still stopped."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def bench(
    args: argparse.Namespace, access: Access, progress: Callable[[str], None] | None
) -> dict[str, Any]:
    """Run one benchmark as the arguments say, reaching the servers as
    ``access`` says; the result as a JSON-ready dict."""
    started_at = time.time()
    if args.endpoints:
        target = await find_leader(args.endpoints, access=access)
        load = await _drive(args, target, access, progress)
        return report(args, target, load, started_at)
    if progress:
        fsync = "off (UNSAFE)" if args.unsafe_no_fsync else "on"
        progress(f"starting {args.nodes} nodes (fsync {fsync})...")
    async with local_cluster(
        args.nodes, fsync=not args.unsafe_no_fsync, parent_dir=args.data_dir
    ) as target:
        load = await _drive(args, target, access, progress)
        result = report(args, target, load, started_at)
    return result


async def _drive(
    args: argparse.Namespace,
    target: Target,
    access: Access,
    progress: Callable[[str], None] | None,
) -> LoadResult:
    host, port = target.load_endpoint
    if progress:
        role = f"leader (endpoint {target.leader})" if target.raft else "server"
        progress(
            f"load: {args.concurrency} in flight from {args.clients} process(es) to the "
            f"{role} at {host}:{port}; warm-up {args.warmup:g} s, then {args.duration:g} s"
        )
    plan = LoadPlan(
        host=host,
        port=port,
        concurrency=args.concurrency,
        clients=args.clients,
        connections=args.connections or 0,
        value_size=args.value_size,
        read_ratio=args.read_ratio,
        keys=args.keys,
        warmup_s=args.warmup,
        duration_s=args.duration,
        access=access,
    )
    return await run_load(plan, target.pids, progress)


def report(
    args: argparse.Namespace, target: Target, load: LoadResult, started_at: float
) -> dict[str, Any]:
    histogram = load.histogram
    return {
        "ops_per_s": round(load.ops_per_s, 1),
        "p50_ms": histogram.percentile_ms(0.50),
        "p99_ms": histogram.percentile_ms(0.99),
        "p999_ms": histogram.percentile_ms(0.999),
        "mean_ms": histogram.mean_ms(),
        "max_ms": histogram.max_ms(),
        "ops": load.ops,
        "errors": load.errors,
        "error_samples": load.error_samples,
        "elapsed_s": round(load.elapsed_s, 3),
        "nodes": [
            {"node": node, "leader": node == target.leader, **meter.report()}
            for node, meter in sorted(load.servers.items())
        ],
        "client": {
            "processes": len(load.clients),
            "cpu_percent": _total(meter.cpu_percent for meter in load.clients),
            "per_process": [meter.report() for meter in load.clients],
        },
        "parameters": {
            "target": "endpoints" if args.endpoints else "local cluster",
            "endpoints": [f"{host}:{port}" for host, port in target.endpoints],
            "load_endpoint": "{}:{}".format(*target.load_endpoint),
            "raft": target.raft,
            "nodes": len(target.endpoints),
            "fsync": None if args.endpoints else not args.unsafe_no_fsync,
            "concurrency": args.concurrency,
            "clients": len(load.clients),
            "connections": args.connections or min(args.concurrency, 64),
            "value_size": args.value_size,
            "read_ratio": args.read_ratio,
            "keys": args.keys,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
        },
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started_at)),
        "machine": machine(target.data_dir),
    }


def _total(values: Any) -> float | None:
    known = [value for value in values if value is not None]
    return round(sum(known), 1) if known else None


def summary(result: dict[str, Any]) -> str:
    """The result for a person: what ran, throughput, latency, CPU and memory."""
    p = result["parameters"]
    if p["target"] == "local cluster":
        what = f"{p['nodes']} local nodes, fsync {'on' if p['fsync'] else 'OFF (unsafe)'}"
    else:
        what = f"{p['load_endpoint']}" + (" (Raft leader)" if p["raft"] else "")
    operation = (
        "SET"
        if p["read_ratio"] == 0
        else "GET"
        if p["read_ratio"] == 1
        else f"{p['read_ratio']:.0%} GET / SET"
    )
    lines = [
        f"ranet bench: {what}; {operation}, {p['value_size']}-byte values, {p['keys']} keys; "
        f"{p['concurrency']} in flight over {p['connections']} connections from "
        f"{p['clients']} process(es)",
        f"  throughput  {result['ops_per_s']:,.0f} ops/s  ({result['ops']:,} ops in "
        f"{result['elapsed_s']:.1f} s, {result['errors']} errors)",
        f"  latency     p50 {_ms(result['p50_ms'])}  p99 {_ms(result['p99_ms'])}  "
        f"p99.9 {_ms(result['p999_ms'])}  max {_ms(result['max_ms'])}",
    ]
    for sample in result["error_samples"]:
        lines.append(f"  error       {sample}")
    for node in result["nodes"]:
        role = " (leader)" if node["leader"] else ""
        lines.append(
            f"  node {node['node']}{role:9s} CPU {_percent(node['cpu_percent'])}  "
            f"RSS {_mib(node['rss_mib'])} (peak {_mib(node['peak_rss_mib'])})"
        )
    client = result["client"]
    lines.append(
        f"  load generator CPU {_percent(client['cpu_percent'])} "
        f"({client['processes']} process(es))"
    )
    busiest = max((c["cpu_percent"] or 0 for c in client["per_process"]), default=0)
    if busiest >= SATURATED_PERCENT:
        lines.append(
            f"  warning: a load process used {busiest:.0f}% of a core: the generator may be "
            "the limit; try more --clients"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MiB"
