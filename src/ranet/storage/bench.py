"""Benchmark of DiskStorage: appends and syncs per second beside the disk's own fdatasync rate.

Each case appends batches of equal entries and syncs after every batch (fsync
on), the way a node persists one Ready per loop iteration. Beside it, in
alternating quarter-second slices, runs the raw loop of the same disk (write
one small 512-byte block, fdatasync, repeat): it bounds syncs/s, and the gap
between the two is the storage's overhead. Interleaving keeps the comparison
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
SLICE_SECONDS = 0.25


@dataclass(slots=True)
class CaseResult:
    batch: int
    entry_bytes: int
    raw_fdatasync_per_s: float  # measured in slices interleaved with the case
    entries_per_s: float
    syncs_per_s: float
    mib_per_s: float
    p50_ms: float
    p99_ms: float
    append_only_entries_per_s: float  # CPU cost alone: time inside append() calls


def run_case(directory: str, batch: int, entry_bytes: int, seconds: float) -> CaseResult:
    """Append ``batch`` entries and sync, repeatedly, for ``seconds``; as long
    again, interleaved in slices, the raw fdatasync loop on the same disk."""
    case_dir = tempfile.mkdtemp(prefix=f"case-{batch}x{entry_bytes}-", dir=directory)
    raw_fd = os.open(os.path.join(case_dir, "raw"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    entries = [Entry(1, bytes(entry_bytes))] * batch
    latencies: list[float] = []
    append_time = elapsed = raw_elapsed = 0.0
    raw_syncs = 0
    try:
        with DiskStorage(os.path.join(case_dir, "storage")) as storage:
            next_index = 1
            while elapsed < seconds:
                slice_start = time.perf_counter()
                while time.perf_counter() - slice_start < SLICE_SECONDS:
                    os.write(raw_fd, b"x" * 512)
                    os.fdatasync(raw_fd)
                    raw_syncs += 1
                raw_elapsed += time.perf_counter() - slice_start
                slice_start = time.perf_counter()
                while time.perf_counter() - slice_start < SLICE_SECONDS:
                    began = time.perf_counter()
                    storage.append(next_index, entries)
                    appended = time.perf_counter()
                    storage.sync()
                    latencies.append(time.perf_counter() - began)
                    append_time += appended - began
                    next_index += batch
                elapsed += time.perf_counter() - slice_start
    finally:
        os.close(raw_fd)
        shutil.rmtree(case_dir)
    syncs = len(latencies)
    quantiles = statistics.quantiles(latencies, n=100) if syncs > 1 else latencies * 99
    return CaseResult(
        batch=batch,
        entry_bytes=entry_bytes,
        raw_fdatasync_per_s=raw_syncs / raw_elapsed,
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
        "512 B write + fdatasync, interleaved with the case; append-only: time inside append()"
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
