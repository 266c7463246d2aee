"""Real Redis clients against a real ranet cluster: redis-py and redis-cli
talk to `ranet node` processes over TCP (issue: "point redis-cli, redis-py
or any Redis client at a ranet cluster")."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from ranet.node.supervisor import LocalCluster
from tests.process.helpers import dump, elect, local_cluster, run

T = TypeVar("T")


async def in_thread(function: Callable[[], T]) -> T:
    """redis-py is synchronous: run it off the loop that reads node output."""
    return await asyncio.wait_for(asyncio.to_thread(function), 60)


def connect(cluster: LocalCluster, node_id: int, **options: object) -> redis.Redis:
    options.setdefault("socket_timeout", 15)
    return redis.Redis(port=cluster.client_ports[node_id], **options)  # type: ignore[arg-type]


def known_everywhere(
    cluster: LocalCluster, leader: int, timeout: float = 15.0, among: Iterable[int] = ()
) -> None:
    """Wait until every node (of ``among``, if given) names ``leader`` in INFO
    raft. ``elect`` returns once one node says it leads; a follower that has
    not heard from it yet answers TRYAGAIN to a write it would forward (seen
    under load: 0.5 s)."""
    nodes = [connect(cluster, n) for n in (among or cluster.nodes)]
    deadline = time.monotonic() + timeout
    while [node.info("raft")["leader_id"] for node in nodes] != [leader] * len(nodes):
        assert time.monotonic() < deadline, "a node does not know the leader"
        time.sleep(0.02)


def test_redis_py_reads_its_writes_on_every_node(tmp_path: Path) -> None:
    """Writes on any node (followers forward them) are read back linearizably
    on every node, including right after the write on another node - strings,
    counters, CAS, bitmaps, HyperLogLogs and geo sets."""

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            await elect(cluster)

            def clients() -> None:
                nodes = [connect(cluster, n) for n in cluster.nodes]
                for i in range(30):
                    writer, reader = nodes[i % 3], nodes[(i + 1) % 3]
                    assert writer.set("k", i) is True
                    assert reader.get("k") == str(i).encode()
                assert nodes[0].incr("n") == 1 and nodes[1].incr("n") == 2
                assert nodes[2].execute_command("CAS", "n", "2", "10") == 1
                assert nodes[0].execute_command("CAS", "n", "2", "11") == 0
                assert nodes[1].get("n") == b"10"
                assert nodes[2].mget("k", "n", "missing") == [b"29", b"10", None]
                # bitmaps, written through followers, read on another node
                assert nodes[1].setbit("seen", 9, 1) == 0
                assert nodes[2].getbit("seen", 9) == 1 and nodes[0].bitcount("seen") == 1
                counters = nodes[2].bitfield("counters")
                assert counters.incrby("u8", "#1", 200).incrby("u8", "#1", 100).execute() == [
                    200,
                    44,
                ]
                assert nodes[0].bitfield_ro("counters", "u8", "#1") == [44]
                assert nodes[1].setrange("seen", 3, "x") == 4
                assert nodes[2].bitpos("seen", 1) == 9
                # HyperLogLog and geo, the same way
                assert nodes[1].pfadd("visitors", *[f"v{n}" for n in range(100)]) == 1
                assert nodes[2].pfcount("visitors") == 100
                assert nodes[0].get("visitors") == nodes[1].get("visitors")
                assert nodes[2].geoadd("sicily", [13.361389, 38.115556, "Palermo"]) == 1
                assert nodes[0].geoadd("sicily", [15.087269, 37.502669, "Catania"]) == 1
                assert nodes[1].geodist("sicily", "Palermo", "Catania", "km") == 166.2742
                # GEORADIUS is a write: its reply, coordinates included, comes back
                # from the leader through the follower (redis-py reads them as floats).
                assert nodes[2].georadius("sicily", 15, 37, 200, "km", withcoord=True) == [
                    [b"Palermo", (float("13.36138933897018433"), float("38.11555639549629859"))],
                    [b"Catania", (float("15.08726745843887329"), float("37.50266842333162032"))],
                ]

            await in_thread(clients)

    run(scenario())


def test_redis_py_pipeline_info_and_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower = next(n for n in cluster.nodes if n != leader)

            def clients() -> None:
                client = connect(cluster, follower)
                pipe = client.pipeline(transaction=False)
                for i in range(500):
                    pipe.set(f"key:{i}", i)
                pipe.get("key:499")
                assert pipe.execute() == [True] * 500 + [b"499"]  # one forwarded run
                assert client.dbsize() == 500
                pipe = client.pipeline(transaction=False)
                pipe.set("s", "x").incr("s").set("t", 1).incrby("t", 2)
                replies = pipe.execute(raise_on_error=False)  # an error inside a run
                assert replies[0] is True and replies[2:] == [True, 3]
                assert isinstance(replies[1], redis.ResponseError)
                assert "not an integer" in str(replies[1])
                info = client.info("raft")
                assert info["role"] == "follower" and info["leader_id"] == leader
                # the pipeline's 500 writes share a few log entries (proposal batching)
                assert 2 <= info["applied_index"] <= info["commit_index"]
                with pytest.raises(redis.ResponseError, match="not an integer"):
                    client.incr("key:1", amount=1) and client.set("s", "x") and client.incr("s")
                with pytest.raises(
                    redis.ResponseError, match="wrong number of arguments for 'get'"
                ):
                    client.execute_command("GET")
                with pytest.raises(redis.ResponseError, match="unknown command 'NOPE'"):
                    client.execute_command("NOPE", "x")
                resp3 = connect(cluster, leader, protocol=3)
                assert resp3.set("r3", "v") is True and resp3.get("r3") == b"v"

            await in_thread(clients)

    run(scenario())


def test_no_leader_gives_a_retryable_error_not_a_hang(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            for node_id in cluster.nodes:
                if node_id != leader:
                    await cluster.kill(node_id)
            assert await cluster.wait_for(lambda: not cluster.nodes[leader].is_leader, 15), dump(
                cluster
            )

            def client() -> float:
                started = time.monotonic()
                # TRYAGAIN, which redis-py knows as retryable (TryAgainError),
                # or TIMEOUT if the node still believed it led when asked.
                with pytest.raises(redis.ResponseError) as error:
                    connect(cluster, leader).set("x", "1")
                assert isinstance(error.value, redis.exceptions.TryAgainError) or str(
                    error.value
                ).startswith("TIMEOUT"), error.value
                return time.monotonic() - started

            assert await in_thread(client) < 10  # bounded: the server's command timeout

    run(scenario())


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_redis_cli_works_against_a_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower = next(n for n in cluster.nodes if n != leader)
            port = str(cluster.client_ports[follower])

            def cli(*args: str) -> str:
                result = subprocess.run(
                    ["redis-cli", "-p", port, *args], capture_output=True, text=True, timeout=30
                )
                assert result.returncode == 0, result.stderr
                return result.stdout.strip()

            def session() -> None:
                assert cli("ping") == "PONG"
                assert cli("set", "greeting", "hello") == "OK"
                assert cli("get", "greeting") == "hello"
                assert cli("cas", "greeting", "hello", "bye") == "1"
                assert "role:follower" in cli("info", "raft")

            await in_thread(session)

    run(scenario())


def test_a_client_port_in_use_is_a_clear_error_at_startup(tmp_path: Path) -> None:
    with socket.socket() as busy, socket.socket() as free:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free.bind(("127.0.0.1", 0))
        peer_port = free.getsockname()[1]
        free.close()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ranet", "node", "0", "--peers", f"0=127.0.0.1:{peer_port}",
             "--client", f"127.0.0.1:{port}", "--data-dir", str(tmp_path), "--no-console"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
