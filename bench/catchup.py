"""Catch-up speed: how fast a follower that missed N writes catches up.

    .venv/bin/python bench/catchup.py [--entries 1000000] [--runs 3]
        [--modes replay,snapshot] [--snapshot-every N] [--value-size 100]
        [--connections 8] [--batch 1000] [--timeout 900] [--json FILE]

Each run starts a fresh 3-node cluster (real ``ranet node`` processes on
127.0.0.1, fsync on, ``--quiet``, data in a temporary folder), SIGKILLs one
follower, writes ``--entries`` distinct keys to the leader (pipelines of
``--batch`` SETs on ``--connections`` connections; the two remaining nodes
commit them), then restarts the follower and polls its ``INFO raft`` every
50 ms until its ``applied_index`` reaches the leader's. The rate is what it
missed divided by the time from the restart (process spawn) to caught up,
so it includes the process start. It is given both in writes (SET commands)
and in log entries: with proposal batching (``node/batching.py``) many
writes share one log entry, and the two differ.

Modes (all nodes run with the same option):

- ``replay``: ``--snapshot-entries 0``, the leader keeps its whole log and the
  follower receives every entry in AppendEntries;
- ``snapshot``: ``--snapshot-entries`` ``--snapshot-every`` (default: the
  node's default, 10,000 entries); the follower receives the leader's latest
  snapshot, then the log after it. With batching, 1M writes may fill fewer
  log entries than the interval, and then no snapshot is taken: the result
  says whether the follower received one (``follower_snapshots``).

Runs interleave the modes (replay, snapshot, replay, ...) and the summary
gives medians. Every wait is bounded; processes and folders are removed at
the end. Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
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

import ranet
from ranet.bench.procstat import cpu_seconds
from ranet.node.loop import run as run_event_loop
from ranet.node.supervisor import LocalCluster

MODES = ("replay", "snapshot")
ELECTION_TIMEOUT_S = 20.0


async def find_leader(cluster: LocalCluster, timeout: float) -> int:
    """The node whose ``INFO raft`` says it is the leader."""
    found: list[int] = []

    async def elected() -> bool:
        for node_id in cluster.nodes:
            if not cluster.nodes[node_id].alive:
                continue
            info = await raft_info(cluster.host, cluster.client_ports[node_id])
            if info and info.get("role") == "leader":
                found.append(node_id)
                return True
        return False

    if not await wait_until(elected, timeout, interval=0.1):
        raise RuntimeError(f"no leader within {timeout:.0f} s")
    return found[-1]


async def applied(cluster: LocalCluster, node_id: int) -> int | None:
    info = await raft_info(cluster.host, cluster.client_ports[node_id], timeout=1.0)
    return int(info["applied_index"]) if info else None


async def one_run(mode: str, args: argparse.Namespace, parent: Path | None) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-catchup-", dir=parent))
    if mode == "replay":
        interval = ["--snapshot-entries", "0"]
    elif args.snapshot_every is not None:
        interval = ["--snapshot-entries", str(args.snapshot_every)]
    else:
        interval = []
    cluster = LocalCluster(3, data_dir, node_args=["--quiet", *interval])
    try:
        await cluster.start()
        leader = await find_leader(cluster, ELECTION_TIMEOUT_S)
        follower = (leader + 1) % 3
        before = await applied(cluster, follower) or 0  # a fresh cluster: one or two entries
        await cluster.kill(follower)
        port = cluster.client_ports[leader]
        print(f"[{mode}] leader {leader}, follower {follower} killed; loading", flush=True)
        load_s, errors = await asyncio.wait_for(
            load(
                cluster.host,
                port,
                args.entries,
                value_size=args.value_size,
                batch=args.batch,
                connections=args.connections,
            ),
            args.timeout,
        )
        if await find_leader(cluster, ELECTION_TIMEOUT_S) != leader:
            raise RuntimeError("leadership moved during the load; run again")
        target_box: list[int] = []

        async def leader_settled() -> bool:
            info = await raft_info(cluster.host, port)
            if info and info["applied_index"] == info["commit_index"]:
                target_box.append(int(info["applied_index"]))
                return True
            return False

        if not await wait_until(leader_settled, 60):
            raise RuntimeError("the leader did not apply its commits within 60 s")
        target = target_box[-1]
        leader_snapshots = snapshot_indexes(data_dir / f"node-{leader}")
        leader_pid = cluster.nodes[leader].process.pid  # type: ignore[union-attr]
        leader_cpu = cpu_seconds(leader_pid)
        print(
            f"[{mode}] loaded {args.entries:,} in {load_s:.1f} s "
            f"({args.entries / load_s:,.0f}/s, {errors} error replies); leader at {target}, "
            f"snapshot files {leader_snapshots}; restarting follower {follower}",
            flush=True,
        )
        started = time.monotonic()
        await cluster.start_node(follower)
        follower_pid = cluster.nodes[follower].process.pid  # type: ignore[union-attr]
        first_answer: list[float] = []

        async def caught_up() -> bool:
            if not cluster.nodes[follower].alive:
                last = list(cluster.nodes[follower].lines)[-3:]
                raise RuntimeError(f"follower {follower} exited: {last}")
            index = await applied(cluster, follower)
            if index is not None and not first_answer:
                first_answer.append(time.monotonic() - started)
            return index is not None and index >= target

        if not await wait_until(caught_up, args.timeout):
            raise RuntimeError(f"follower {follower} did not catch up within {args.timeout} s")
        wall = time.monotonic() - started
        behind = target - before
        rss, hwm = rss_mib(follower_pid)
        result = {
            "mode": mode,
            "writes_behind": args.entries,
            "entries_behind": behind,
            "catchup_s": round(wall, 3),
            "writes_per_s": round(args.entries / wall),
            "entries_per_s": round(behind / wall),
            "first_info_s": round(first_answer[0], 3) if first_answer else None,
            "load_s": round(load_s, 1),
            "load_per_s": round(args.entries / load_s),
            "load_error_replies": errors,
            "follower_cpu_s": cpu_seconds(follower_pid),
            "leader_cpu_s": round((cpu_seconds(leader_pid) or 0) - (leader_cpu or 0), 2),
            "follower_rss_mib": rss,
            "follower_peak_rss_mib": hwm,
            "follower_snapshots": snapshot_indexes(data_dir / f"node-{follower}"),
        }
        print(
            f"[{mode}] follower {follower} caught up {args.entries:,} writes ({behind:,} log "
            f"entries) in {wall:.2f} s: {args.entries / wall:,.0f} writes/s, "
            f"{behind / wall:,.0f} entries/s; snapshots received "
            f"{result['follower_snapshots'] or 'none'} (answered INFO after "
            f"{result['first_info_s']} s; "
            f"CPU follower {result['follower_cpu_s']} s, leader {result['leader_cpu_s']} s; "
            f"follower RSS {rss} MiB, peak {hwm} MiB)",
            flush=True,
        )
        return result
    finally:
        await cluster.stop(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


async def main(args: argparse.Namespace) -> int:
    print(f"ranet from {Path(ranet.__file__).parent}", flush=True)
    print(f"load: {os.getloadavg()}", flush=True)
    results: list[dict[str, object]] = []
    parent = Path(args.data_dir) if args.data_dir else None
    for number in range(args.runs):
        for mode in args.modes:
            print(f"run {number + 1}/{args.runs}, mode {mode}; load average {os.getloadavg()}")
            results.append(await one_run(mode, args, parent))
    print()
    for mode in args.modes:
        runs = [r for r in results if r["mode"] == mode]
        for field in ("catchup_s", "writes_per_s", "entries_per_s"):
            values = [r[field] for r in runs]
            print(
                f"{mode:9} {field:14} each run {', '.join(f'{v:,}' for v in values):40} "
                f"median {statistics.median(values):,}"
            )
    return finish(results, args.json)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--entries", type=int, default=1_000_000, help="writes (SETs) the follower misses"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="replay,snapshot", help="replay, snapshot or both")
    parser.add_argument(
        "--snapshot-every", type=int, help="--snapshot-entries of the nodes in snapshot mode"
    )
    add_load_options(parser)
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}")
    return args


if __name__ == "__main__":
    sys.exit(run_event_loop(main(parse())))
