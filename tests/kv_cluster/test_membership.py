"""Growing and shrinking a live key-value cluster with RAFT.MEMBER (thesis §4.1),
with real `ranet node` processes, while a client keeps writing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import redis

from ranet.node.supervisor import LocalCluster, free_ports
from tests.kv_cluster.test_leadership import Writer
from tests.kv_cluster.test_redis_clients import in_thread
from tests.process.helpers import dump, elect, run


def test_grow_to_five_and_shrink_back_to_three_while_writing(tmp_path: Path) -> None:
    async def scenario() -> None:
        ports, client_ports = free_ports(5), free_ports(5)
        cluster = LocalCluster(3, tmp_path, ports=ports[:3], client_ports=client_ports[:3])
        joiners: dict[int, subprocess.Popen[bytes]] = {}
        try:
            await cluster.start()
            leader = await elect(cluster)
            everyone = ",".join(f"{i}=127.0.0.1:{ports[i]}" for i in range(5))
            for node_id in (3, 4):
                joiners[node_id] = subprocess.Popen(
                    [sys.executable, "-m", "ranet", "node", str(node_id), "--join",
                     "--peers", everyone, "--data-dir", str(tmp_path / f"node-{node_id}"),
                     "--client", f"127.0.0.1:{client_ports[node_id]}", "--no-console", "--quiet"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip

            def member(*args: object) -> object:
                """RAFT.MEMBER on whichever node leads now (retrying while it changes)."""
                for _ in range(100):
                    for node_id in range(5):
                        if node_id < 3 and not cluster.nodes[node_id].alive:
                            continue
                        try:
                            client = redis.Redis(port=client_ports[node_id], socket_timeout=10)
                            if client.info("raft")["role"] != "leader":
                                continue
                            return client.execute_command("RAFT.MEMBER", *args)
                        except redis.ResponseError as error:
                            if "not caught up" not in str(error) and "TRYAGAIN" not in str(error):
                                raise
                        except (redis.ConnectionError, OSError):
                            pass
                    time.sleep(0.1)
                raise AssertionError(f"RAFT.MEMBER {args} never succeeded")

            with Writer(cluster) as writer:

                def grow_then_shrink() -> list[object]:
                    for node_id in (3, 4):
                        member("ADD", node_id, f"127.0.0.1:{ports[node_id]}")
                        member("PROMOTE", node_id)
                    grown = member("LIST")
                    member("REMOVE", leader)  # replacing the leader along the way
                    member("REMOVE", (leader + 1) % 3)
                    return [grown, member("LIST")]

                grown, shrunk = await in_thread(grow_then_shrink)
            assert [row[0] for row in grown] == [0, 1, 2, 3, 4]  # type: ignore[union-attr]
            assert all(row[2] == b"voter" for row in grown)  # type: ignore[union-attr]
            remaining = sorted(row[0] for row in shrunk)  # type: ignore[union-attr]
            assert len(remaining) == 3 and leader not in remaining
            assert writer.acknowledged
            # Nothing acknowledged was lost: the last acknowledged value is readable.
            last = writer.acknowledged[-1]

            def read_last() -> bytes | None:
                node = remaining[0]
                client = redis.Redis(port=client_ports[node], socket_timeout=10)
                return client.get(f"k{last % 10}")

            assert int(await in_thread(read_last) or 0) >= last, dump(cluster)
        finally:
            for process in joiners.values():
                process.kill()
                process.wait(10)
            await cluster.stop(timeout=5)

    run(scenario())
