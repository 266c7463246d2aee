"""Failover time: SIGKILL the leader of a 3-node cluster under write load and
measure how long until a write is acknowledged again.

    python bench/failover.py [TRIALS]

Each trial starts a fresh local cluster (real processes, fsync on), runs a
writer that moves to the next node on any error, kills the node that last
announced it leads, and waits (bounded, 15 s) for the next acknowledged
write. Run from the repository root: it reuses the tests' writer.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, ".")

from tests.kv_cluster.test_leadership import Writer

from ranet.node.supervisor import LocalCluster

GIVE_UP = 15.0


async def trial() -> float:
    """Seconds from the SIGKILL to the next acknowledged write."""
    with tempfile.TemporaryDirectory() as data:
        cluster = LocalCluster(3, Path(data), node_args=["--quiet"])
        await cluster.start()
        try:
            await cluster.wait_for(lambda: cluster.leader() is not None, GIVE_UP)
            with Writer(cluster) as writer:
                await asyncio.sleep(1.0)
                leader = cluster.leader()
                assert leader is not None
                acknowledged = len(writer.acknowledged)
                killed_at = time.monotonic()
                cluster.signal(leader, signal.SIGKILL)
                while len(writer.acknowledged) == acknowledged:
                    if time.monotonic() - killed_at > GIVE_UP:
                        break
                    await asyncio.sleep(0.002)
                return time.monotonic() - killed_at
        finally:
            await cluster.stop(timeout=5)


async def main(trials: int) -> None:
    gaps = []
    for number in range(trials):
        gaps.append(await trial())
        print(f"trial {number}: writes resumed {gaps[-1] * 1000:.0f} ms after the SIGKILL")
    print(f"median {statistics.median(gaps) * 1000:.0f} ms, max {max(gaps) * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
