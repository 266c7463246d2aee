"""How long ``ranet backup save`` and ``inspect`` take on a large store.

    .venv/bin/python bench/backup.py [KEYS] [ROUNDS]

Starts three local nodes (fsync on), fills KEYS keys (default 1,000,000)
of 100-byte values with pipelined SETs, then times ``ranet backup save``
end to end (connect, read barrier, copy, serialize, transfer, write, fsync,
read back and check) ROUNDS times (default 2) through a follower and
through the leader, and ``ranet backup inspect`` once; prints each time
and the file's size.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from ranet.node.supervisor import LocalCluster

VALUE = b"v" * 100
PIPELINE = 5_000


def fill(port: int, keys: int) -> None:
    client = redis.Redis(port=port, socket_timeout=60)
    for start in range(0, keys, PIPELINE):
        with client.pipeline(transaction=False) as pipe:
            for n in range(start, min(keys, start + PIPELINE)):
                pipe.set(b"key:%d" % n, VALUE)
            pipe.execute()


def timed(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ranet", *args], capture_output=True, text=True)
    return time.perf_counter() - started, (done.stdout or done.stderr).strip()


async def main(keys: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cluster = LocalCluster(3, Path(folder) / "cluster", node_args=["--quiet"])
        await cluster.start()
        try:
            await cluster.wait_for(lambda: cluster.leader() is not None, 20)
            leader = cluster.leader()
            assert leader is not None
            await asyncio.to_thread(fill, cluster.client_ports[leader], keys)
            follower = next(n for n in cluster.nodes if n != leader)
            backup = Path(folder) / "backup"
            for node, role in ((follower, "follower"), (leader, "leader")):
                for _ in range(rounds):
                    seconds, _ = await asyncio.to_thread(
                        timed, "backup", "save", str(backup),
                        "--endpoints", cluster.client_address(node),
                    )  # fmt: skip
                    print(f"save via the {role}: {seconds:.2f} s, {backup.stat().st_size:,} bytes")
            seconds, described = timed("backup", "inspect", str(backup))
            print(f"inspect: {seconds:.2f} s: {described}")
        finally:
            await cluster.stop(timeout=5)


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(arguments + [1_000_000, 2][len(arguments) :])))
