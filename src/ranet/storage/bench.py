"""Benchmark of DiskStorage: appends and syncs per second beside the disk's own fdatasync rate.

Each case appends batches of equal entries and syncs after every batch (fsync
on), the way a node persists one Ready per loop iteration. Right before each
case, the raw rate of the same disk (write one small block, fdatasync, repeat)
is measured for as long: it bounds syncs/s, and the gap between the two is
the storage's overhead. Measuring it beside every case keeps the comparison
fair on a shared machine whose disk speed drifts during a run.

Run: ``python -m ranet.storage.bench --seconds 2 [--dir DIR] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass

from ranet.core.types import Entry
from ranet.storage.disk import DiskStorage

BATCH_SIZES = (1, 16, 256)
ENTRY_SIZES = (16, 1024)


@dataclass(slots=True)
class CaseResult:
    batch: int
    entry_bytes: int
    raw_fdatasync_per_s: float  # measured just before the case
    entries_per_s: float
    syncs_per_s: float
    mib_per_s: float
    p50_ms: float
    p99_ms: float
    append_only_entries_per_s: float  # CPU cost alone: time inside append() calls


def raw_fdatasync_rate(directory: str, seconds: float) -> float:
    """fdatasyncs per second of one small appended block each: the disk's bound."""
    path = os.path.join(directory, "raw-fdatasync")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            os.write(fd, b"x" * 512)
            os.fdatasync(fd)
            count += 1
        return count / (time.perf_counter() - start)
    finally:
        os.close(fd)
        os.unlink(path)


def run_case(directory: str, batch: int, entry_bytes: int, seconds: float) -> CaseResult:
    """Append ``batch`` entries and sync, repeatedly, for ``seconds``."""
    raw_rate = raw_fdatasync_rate(directory, seconds)
    case_dir = tempfile.mkdtemp(prefix=f"case-{batch}x{entry_bytes}-", dir=directory)
    entries = [Entry(1, bytes(entry_bytes))] * batch
    latencies: list[float] = []
    append_time = 0.0
    try:
        with DiskStorage(case_dir) as storage:
            next_index = 1
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                began = time.perf_counter()
                storage.append(next_index, entries)
                appended = time.perf_counter()
                storage.sync()
                latencies.append(time.perf_counter() - began)
                append_time += appended - began
                next_index += batch
            elapsed = time.perf_counter() - start
    finally:
        shutil.rmtree(case_dir)
    syncs = len(latencies)
    quantiles = statistics.quantiles(latencies, n=100) if syncs > 1 else latencies * 99
    return CaseResult(
        batch=batch,
        entry_bytes=entry_bytes,
        raw_fdatasync_per_s=raw_rate,
        entries_per_s=syncs * batch / elapsed,
        syncs_per_s=syncs / elapsed,
        mib_per_s=syncs * batch * entry_bytes / elapsed / (1 << 20),
        p50_ms=quantiles[49] * 1000,
        p99_ms=quantiles[98] * 1000,
        append_only_entries_per_s=syncs * batch / append_time,
    )


def format_table(results: list[CaseResult]) -> str:
    lines = [
        f"{'batch':>5} {'entry B':>7} {'entries/s':>10} {'syncs/s':>8} {'raw fdatasync/s':>16} "
        f"{'MiB/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'append-only entries/s':>22}"
    ]
    for r in results:
        lines.append(
            f"{r.batch:>5} {r.entry_bytes:>7} {r.entries_per_s:>10,.0f} {r.syncs_per_s:>8,.0f} "
            f"{r.raw_fdatasync_per_s:>16,.0f} {r.mib_per_s:>7.2f} {r.p50_ms:>7.2f} "
            f"{r.p99_ms:>7.2f} {r.append_only_entries_per_s:>22,.0f}"
        )
    lines.append(
        "syncs/s: one append of a batch + one sync (fdatasync) each; raw fdatasync/s: "
        "512 B write + fdatasync, measured just before; append-only: time inside append()"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ranet-storage-bench",
        description="Measure DiskStorage appends/s and syncs/s (fsync on) beside the raw "
        "fdatasync rate of the same disk.",
    )
    parser.add_argument("--dir", help="directory on the disk to measure (default: a temp dir)")
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="duration of each case (and of its raw rate)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="ranet-bench-", dir=args.dir)
    try:
        results = [
            run_case(directory, batch, entry_bytes, args.seconds)
            for entry_bytes in ENTRY_SIZES
            for batch in BATCH_SIZES
        ]
    finally:
        shutil.rmtree(directory)
    print(format_table(results))
    if args.json:
        report = {
            "directory": args.dir or tempfile.gettempdir(),
            "seconds_per_case": args.seconds,
            "cases": [asdict(result) for result in results],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
