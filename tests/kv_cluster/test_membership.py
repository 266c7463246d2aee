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

            def on_leader(*args: object) -> object:
                """A command on whichever node leads now; None if none answers."""
                for node_id in range(5):
                    if node_id < 3 and not cluster.nodes[node_id].alive:
                        continue
                    try:
                        client = redis.Redis(port=client_ports[node_id], socket_timeout=15)
                        if client.info("raft")["role"] == "leader":
                            return client.execute_command(*args)
                    except (redis.ConnectionError, OSError):
                        pass
                return None

            def listing() -> list[list[object]]:
                for _ in range(100):
                    rows = on_leader("RAFT.MEMBER", "LIST")
                    if rows is not None:
                        return rows  # type: ignore[return-value]
                    time.sleep(0.1)
                raise AssertionError("no leader answered RAFT.MEMBER LIST")

            def holds(action: str, node_id: int) -> bool:
                rows = on_leader("RAFT.MEMBER", "LIST") or []
                roles = {row[0]: row[2] for row in rows}  # type: ignore[union-attr]
                if action == "ADD":
                    return node_id in roles
                if action == "PROMOTE":
                    return roles.get(node_id) == b"voter"
                return node_id not in roles

            def member(action: str, node_id: int, *address: str) -> None:
                """Apply a change, retrying through leader changes; an ambiguous
                failure (timeout, replaced entry) is settled by reading the list."""
                for _ in range(100):
                    try:
                        if on_leader("RAFT.MEMBER", action, node_id, *address) is not None:
                            return
                    except redis.ResponseError as error:
                        retryable = ("not caught up", "TIMEOUT", "replaced", "in progress")
                        if not isinstance(error, redis.exceptions.TryAgainError) and not any(
                            text in str(error) for text in retryable
                        ):
                            raise
                        if holds(action, node_id):
                            return
                    time.sleep(0.1)
                raise AssertionError(f"RAFT.MEMBER {action} {node_id} never succeeded")

            with Writer(cluster) as writer:

                def grow_then_shrink() -> list[object]:
                    for node_id in (3, 4):
                        member("ADD", node_id, f"127.0.0.1:{ports[node_id]}")
                        member("PROMOTE", node_id)
                    grown = listing()
                    member("REMOVE", leader)  # replacing the leader along the way
                    member("REMOVE", (leader + 1) % 3)
                    return [grown, listing()]

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
