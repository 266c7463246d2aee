"""Helpers shared by bench/catchup.py and bench/memory.py (not a benchmark itself).

- ``load``: write ``count`` distinct keys (``key:0000000000`` ...) with values
  of ``value_size`` bytes to one node, as pipelines of ``batch`` SETs on
  ``connections`` connections (raw RESP, replies parsed by hiredis). A batch
  with error replies (``TRYAGAIN``, ``TIMEOUT``) is sent again, so every key
  is written at least once; SET of a fixed value is idempotent.
- ``raft_info``: the ``# Raft`` section of ``INFO`` as a dict, or None when the
  node does not answer.
- ``wait_until``: poll a condition, bounded.
- ``rss_mib``: VmRSS and VmHWM of a process, from /proc.
- ``snapshot_indexes``: the snapshot files in a node's data folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import hiredis

from ranet.bench.procstat import memory_mib
from ranet.bench.resp import encode, parse_info, request

BATCH_TIMEOUT_S = 60.0  # one pipeline of SETs must be answered within this
MAX_ATTEMPTS = 20  # a batch answered with errors this often stops the load


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """The options every bulk-loading script shares."""
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1000, help="SETs per pipeline")
    parser.add_argument("--timeout", type=float, default=900, help="bound on each phase (s)")
    parser.add_argument("--data-dir", help="parent folder of the temporary data folders")
    parser.add_argument("--json", help="write every run's figures here")


def finish(results: list[dict[str, Any]], json_path: str | None) -> int:
    """Print the load average, write the runs' figures as JSON if asked; exit status 0."""
    print(f"load average at the end: {os.getloadavg()}")
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def key(number: int) -> bytes:
    return b"key:%010d" % number


async def _send_batches(
    host: str,
    port: int,
    batches: asyncio.Queue[range],
    value: bytes,
    progress: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
    parser = hiredis.Reader()
    try:
        while True:
            try:
                numbers = batches.get_nowait()
            except asyncio.QueueEmpty:
                return
            for attempt in range(MAX_ATTEMPTS):
                writer.write(b"".join(encode(b"SET", key(n), value) for n in numbers))
                errors = 0
                expected = len(numbers)
                async with asyncio.timeout(BATCH_TIMEOUT_S):
                    while expected:
                        reply = parser.gets()
                        if reply is False:
                            data = await reader.read(1 << 20)
                            if not data:
                                raise ConnectionError(f"{host}:{port} closed the connection")
                            parser.feed(data)
                            continue
                        expected -= 1
                        if isinstance(reply, hiredis.ReplyError):
                            if not progress[1] and not errors:  # the first one, for the record
                                print(f"  first error reply: {reply}", file=sys.stderr)
                            errors += 1
                if not errors:
                    progress[0] += len(numbers)
                    break
                progress[1] += errors
                await asyncio.sleep(0.2 * (attempt + 1))
            else:
                raise RuntimeError(f"a batch got error replies {MAX_ATTEMPTS} times")
    finally:
        writer.close()


async def load(
    host: str,
    port: int,
    count: int,
    *,
    value_size: int = 100,
    batch: int = 1000,
    connections: int = 8,
    report_every: float = 10.0,
) -> tuple[float, int]:
    """Write ``count`` keys; (seconds taken, error replies retried)."""
    batches: asyncio.Queue[range] = asyncio.Queue()
    for start in range(0, count, batch):
        batches.put_nowait(range(start, min(start + batch, count)))
    value = (b"0123456789abcdef" * (value_size // 16 + 1))[:value_size]
    progress = [0, 0]  # keys acknowledged, error replies
    started = time.monotonic()
    tasks = [
        asyncio.create_task(_send_batches(host, port, batches, value, progress))
        for _ in range(connections)
    ]
    reporter = asyncio.create_task(_report(progress, count, started, report_every))
    try:
        await asyncio.gather(*tasks)
    finally:
        reporter.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, reporter, return_exceptions=True)
    return time.monotonic() - started, progress[1]


async def _report(progress: list[int], count: int, started: float, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        elapsed = time.monotonic() - started
        print(
            f"  loaded {progress[0]:,}/{count:,} in {elapsed:.0f} s "
            f"({progress[0] / elapsed:,.0f}/s, {progress[1]} error replies)",
            flush=True,
        )


async def raft_info(host: str, port: int, timeout: float = 2.0) -> dict[str, str] | None:
    """``INFO raft`` of one node, or None if it does not answer in time."""
    try:
        reply = await request(host, port, "INFO", "raft", timeout=timeout)
    except (OSError, TimeoutError, Exception):
        return None
    return parse_info(reply) if isinstance(reply, bytes | str) else None


async def wait_until(
    condition: Callable[[], Awaitable[bool]], timeout: float, interval: float = 0.05
) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(interval)
    return False


def rss_mib(pid: int) -> tuple[float | None, float | None]:
    """(VmRSS, VmHWM) of a process in MiB."""
    return memory_mib(pid)


def snapshot_indexes(node_dir: Path) -> list[int]:
    """Last indexes of the snapshot files under a node's data folder."""
    return sorted(
        int(path.name.removeprefix("snapshot-").removesuffix(".snap"))
        for path in node_dir.rglob("snapshot-*.snap")
    )
