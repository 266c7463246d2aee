"""CPU per write of a three-node cluster in one process, with a profile.

Runs three ranet nodes (real TCP on 127.0.0.1, real disks, fsync on) inside
one Python process and sends writes through the key-value backend from 64
concurrent writers. Because every node shares the process, ``process_time``
divided by the number of writes is the CPU one write costs the whole
cluster - a figure far less sensitive to a shared machine's noise than
throughput. Prints it and the top functions by own time.

    python bench/profile_writes.py [--writes-per-writer 400] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from ranet.kv.node_backend import REPLY_CODEC, NodeBackend
from ranet.kv.store import KVStore
from ranet.node import Node, NodeConfig
from ranet.node.supervisor import free_ports

WRITERS = 64


async def measure(per_writer: int, top: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        ports = free_ports(3)
        peers = {i: ("127.0.0.1", port) for i, port in enumerate(ports)}
        stores = [KVStore() for _ in peers]
        nodes = [
            Node(NodeConfig(i, peers, Path(data) / f"n{i}"), stores[i], result_codec=REPLY_CODEC)
            for i in peers
        ]
        for node in nodes:
            await node.start()
        try:
            leader = await nodes[0].wait_for_leader(10)
            backend = NodeBackend(nodes[leader], stores[leader])

            async def writer(key: int) -> None:
                for _ in range(per_writer):
                    await backend.write([b"SET", b"k%d" % key, b"v" * 16], None)

            await asyncio.gather(*(writer(k) for k in range(WRITERS)))  # warm-up
            profile = cProfile.Profile()
            started, cpu = time.perf_counter(), time.process_time()
            profile.enable()
            await asyncio.gather(*(writer(k) for k in range(WRITERS)))
            profile.disable()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            writes = WRITERS * per_writer
            print(
                f"{writes} writes, {WRITERS} in flight: {writes / elapsed:.0f}/s, "
                f"{cpu / writes * 1e6:.0f} us of CPU per write (profiled)"
            )
            pstats.Stats(profile).sort_stats("tottime").print_stats(top)
        finally:
            for node in nodes:
                await node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes-per-writer", type=int, default=400)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(measure(args.writes_per_writer, args.top))


if __name__ == "__main__":
    main()
