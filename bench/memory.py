"""Memory per node: resident memory of each node holding N keys.

    .venv/bin/python bench/memory.py [--keys 1000000] [--value-size 100] [--runs 3]
        [--snapshot-entries N] [--connections 8] [--batch 1000] [--timeout 900]
        [--json FILE]

Each run starts a fresh 3-node cluster (real ``ranet node`` processes on
127.0.0.1, fsync on, ``--quiet``, data in a temporary folder), writes
``--keys`` distinct keys (``key:0000000000`` ...) with values of
``--value-size`` bytes to the leader (pipelines of ``--batch`` SETs on
``--connections`` connections), waits until every node has applied
everything, and reads each node's VmRSS and VmHWM (peak) from
/proc/PID/status:

- ``loaded``: right after every node applied the last write (2 s later);
- ``snapshot``: after every node took one more snapshot of the whole store:
  the script overwrites ``snapshot_entries`` + 100 existing keys one at a
  time (so each is its own log entry, even with proposal batching; the key
  count does not change), waits until each node has a snapshot file newer
  than before, then 2 s, and reads the figures again. Skipped with
  ``--snapshot-entries 0`` (nodes never snapshot).

``--snapshot-entries`` is passed to the nodes (default: theirs, 10,000).
The summary gives, per phase, the largest node's RSS of each run and the
median over runs. Every wait is bounded; processes and folders are removed
at the end. Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bulkload import (
    add_load_options,
    finish,
    load,
    raft_info,
    rss_mib,
    snapshot_indexes,
    wait_until,
)
from catchup import find_leader

import ranet
from ranet.node.config import DEFAULT_SNAPSHOT_ENTRIES
from ranet.node.loop import run as run_event_loop
from ranet.node.supervisor import LocalCluster

SETTLE_S = 2.0


async def all_applied(cluster: LocalCluster, leader: int, timeout: float) -> int:
    """Wait until every node applied the leader's commit index; return it."""
    target: list[int] = []

    async def done() -> bool:
        info = await raft_info(cluster.host, cluster.client_ports[leader])
        if info is None:
            return False
        commit = int(info["commit_index"])
        for node_id in cluster.nodes:
            other = await raft_info(cluster.host, cluster.client_ports[node_id])
            if other is None or int(other["applied_index"]) < commit:
                return False
        target.append(commit)
        return True

    if not await wait_until(done, timeout, interval=0.2):
        raise RuntimeError(f"the nodes did not all apply within {timeout:.0f} s")
    return target[-1]


def measure(cluster: LocalCluster, data_dir: Path) -> dict[str, dict[str, object]]:
    figures: dict[str, dict[str, object]] = {}
    for node_id, node in cluster.nodes.items():
        assert node.process is not None
        rss, hwm = rss_mib(node.process.pid)
        figures[str(node_id)] = {
            "rss_mib": rss,
            "peak_rss_mib": hwm,
            "snapshots": snapshot_indexes(data_dir / f"node-{node_id}"),
        }
    return figures


def show(phase: str, figures: dict[str, dict[str, object]]) -> None:
    for node_id, f in figures.items():
        print(
            f"  [{phase}] node {node_id}: RSS {f['rss_mib']} MiB, peak {f['peak_rss_mib']} MiB, "
            f"snapshot files {f['snapshots']}",
            flush=True,
        )


async def one_run(args: argparse.Namespace, parent: Path | None) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-memory-", dir=parent))
    extra = []
    if args.snapshot_entries is not None:
        extra = ["--snapshot-entries", str(args.snapshot_entries)]
    cluster = LocalCluster(3, data_dir, node_args=["--quiet", *extra])
    every = DEFAULT_SNAPSHOT_ENTRIES if args.snapshot_entries is None else args.snapshot_entries
    try:
        await cluster.start()
        leader = await find_leader(cluster, 20)
        host, port = cluster.host, cluster.client_ports[leader]
        print(f"leader {leader}; loading {args.keys:,} keys", flush=True)
        load_s, errors = await asyncio.wait_for(
            load(
                host,
                port,
                args.keys,
                value_size=args.value_size,
                batch=args.batch,
                connections=args.connections,
            ),
            args.timeout,
        )
        index = await all_applied(cluster, leader, args.timeout)
        await asyncio.sleep(SETTLE_S)
        dbsize = await _dbsize(host, port)
        result: dict[str, object] = {
            "keys": args.keys,
            "dbsize": dbsize,
            "value_size": args.value_size,
            "load_s": round(load_s, 1),
            "load_error_replies": errors,
            "applied_index": index,
            "snapshot_entries": every,
            "loaded": measure(cluster, data_dir),
        }
        print(
            f"loaded in {load_s:.1f} s ({args.keys / load_s:,.0f}/s, {errors} error replies); "
            f"all applied {index}; DBSIZE {dbsize}",
            flush=True,
        )
        show("loaded", result["loaded"])  # type: ignore[arg-type]
        if every > 0:
            before = {
                node_id: (snapshot_indexes(data_dir / f"node-{node_id}") or [0])[-1]
                for node_id in cluster.nodes
            }
            # One write in flight at a time, so each is its own log entry even with
            # proposal batching: ``every`` entries then surely trigger a snapshot.
            await asyncio.wait_for(
                load(
                    host,
                    port,
                    min(every + 100, args.keys),
                    value_size=args.value_size,
                    batch=1,
                    connections=1,
                ),
                args.timeout,
            )

            async def snapshotted() -> bool:
                return all(
                    (snapshot_indexes(data_dir / f"node-{node_id}") or [0])[-1] > before[node_id]
                    for node_id in cluster.nodes
                )

            if not await wait_until(snapshotted, args.timeout, interval=0.2):
                raise RuntimeError("not every node took a new snapshot in time")
            await all_applied(cluster, leader, args.timeout)
            await asyncio.sleep(SETTLE_S)
            result["snapshot"] = measure(cluster, data_dir)
            show("snapshot", result["snapshot"])  # type: ignore[arg-type]
        return result
    finally:
        await cluster.stop(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


async def _dbsize(host: str, port: int) -> int | None:
    from ranet.bench.resp import request

    try:
        reply = await request(host, port, "DBSIZE", timeout=10)
    except Exception:
        return None
    return reply if isinstance(reply, int) else None


def largest(figures: dict[str, dict[str, object]], field: str) -> float:
    return max(float(f[field]) for f in figures.values() if f[field] is not None)  # type: ignore[arg-type]


async def main(args: argparse.Namespace) -> int:
    print(f"ranet from {Path(ranet.__file__).parent}", flush=True)
    results = []
    parent = Path(args.data_dir) if args.data_dir else None
    for number in range(args.runs):
        print(f"run {number + 1}/{args.runs}; load average {os.getloadavg()}", flush=True)
        results.append(await one_run(args, parent))
    print()
    for phase in ("loaded", "snapshot"):
        runs = [r for r in results if phase in r]
        if not runs:
            continue
        rss = [largest(r[phase], "rss_mib") for r in runs]  # type: ignore[arg-type]
        peak = [largest(r[phase], "peak_rss_mib") for r in runs]  # type: ignore[arg-type]
        print(
            f"{phase:9} largest node RSS per run {rss} MiB, median {statistics.median(rss)}; "
            f"largest peak per run {peak} MiB, median {statistics.median(peak)}"
        )
    return finish(results, args.json)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--snapshot-entries", type=int, help="passed to the nodes (default: theirs, 10000)"
    )
    add_load_options(parser)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run_event_loop(main(parse())))
