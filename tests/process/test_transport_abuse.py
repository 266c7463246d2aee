"""Transport robustness with real processes: a stranger throws garbage at a
node's peer port while the cluster runs; the node stays up and the cluster
keeps committing (DESIGN.md, "Bad input")."""

from __future__ import annotations

import asyncio
import random
import struct
from pathlib import Path

from tests.process.helpers import append, elect, local_cluster, run, wait_applied


async def abuse(host: str, port: int, payload: bytes, *, close_at_once: bool = False) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except OSError:
        return
    try:
        writer.write(payload)
        await writer.drain()
        if not close_at_once:
            await asyncio.wait_for(reader.read(1024), 2)  # the node should hang up on us
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()


def test_garbage_and_connection_storms_do_not_disturb_the_cluster(tmp_path: Path) -> None:
    rng = random.Random(7)
    attacks = [
        bytes(rng.randrange(256) for _ in range(4096)),  # random bytes
        struct.pack(">I", 0xFFFFFFF0) + b"x" * 64,  # an enormous length
        struct.pack(">I", 1000) + b"only part of the frame",  # truncated, then EOF
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # a confused HTTP client
    ]

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            await append(cluster, leader, "before")
            for victim in cluster.nodes:
                port = cluster.ports[victim]
                for attack in attacks:
                    await abuse("127.0.0.1", port, attack)
                storm = [abuse("127.0.0.1", port, b"", close_at_once=True) for _ in range(100)]
                await asyncio.gather(*storm)
            assert all(node.alive for node in cluster.nodes.values())
            leader = await elect(cluster)
            await append(cluster, leader, "after")
            await wait_applied(cluster, [0, 1, 2], ["before", "after"])

    run(scenario())
