"""The client against a real 3-node cluster: commands, failover, exactly-once.

Each test starts its own cluster of real processes on ephemeral ports in a
temp dir (tests.process.helpers.local_cluster); every wait is bounded by the
client's retry deadline and by ``run``'s overall limit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ranet.client import AsyncClient, Client, RetryPolicy
from ranet.errors import CommandError, Unavailable
from ranet.node.supervisor import LocalCluster
from tests.client.helpers import endpoints, serving
from tests.jepsen.proxy import LinkProxy
from tests.process.helpers import elect, local_cluster, run


def node_at(cluster: LocalCluster, address: str) -> int:
    return endpoints(cluster).index(address)


def test_every_node_serves_reads_and_writes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            await elect(cluster)
            for node_id in cluster.nodes:
                async with AsyncClient([cluster.client_address(node_id)]) as client:
                    assert await client.set("k", f"from-{node_id}") is True
                    assert await client.get("k") == f"from-{node_id}".encode()
                    assert await client.incr("n") == node_id + 1
                    assert await client.cas("k", f"from-{node_id}", "swapped") is True
                    assert await client.cas("k", f"from-{node_id}", "again") is False
                    await client.mset({"a": "1", "b": "2"})
                    assert await client.mget("a", "b", "missing") == [b"1", b"2", None]
                    assert await client.set("a", "3", nx=True) is False
                    assert await client.delete("a", "b", "missing") == 2
                    with pytest.raises(CommandError) as raised:
                        await client.incr("k")
                    assert str(raised.value) == "ERR value is not an integer or out of range"

    run(scenario())


def test_blocking_client_has_the_same_commands(tmp_path: Path) -> None:
    def use(addresses: list[str]) -> None:
        with Client(addresses) as client:
            assert client.set("k", "v") is True
            assert client.get("k") == b"v"
            assert client.incr("n", 5) == 5
            assert client.cas("k", "v", "w") is True
            client.mset({"x": 1})
            assert client.mget("k", "x") == [b"w", b"1"]
            assert client.delete("k") == 1
            assert client.execute("EXISTS", "k", "x") == 1
            with pytest.raises(CommandError, match=r"^ERR unknown command 'NOPE'"):
                client.execute("NOPE")
            assert client.transaction(("SET", "t", 1), ("INCR", "t"), ("GET", "t")) == [
                b"OK",
                2,
                b"2",
            ]
            assert client.transaction(("GET", "t"), ("EXISTS", "t")) == [b"2", 1]
            script = "return redis.call('incrby', KEYS[1], ARGV[1])"
            assert client.execute("EVAL", script, 1, "s", 4) == 4  # a write: in the session
            assert client.execute("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "s") == b"4"

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            await elect(cluster)
            await asyncio.to_thread(use, endpoints(cluster))

    run(scenario())


@pytest.mark.parametrize("victim", ["connected-node", "leader"])
def test_client_survives_losing_a_node_and_applies_each_write_once(
    victim: str, tmp_path: Path
) -> None:
    """Kill the node the client talks to, or the leader; the client moves on, and
    the counter shows every increment exactly once (Rule 3 across failover)."""

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            addresses = endpoints(cluster)
            start = leader if victim == "leader" else (leader + 1) % 3
            async with AsyncClient(addresses[start:] + addresses[:start]) as client:
                for expected in range(1, 4):
                    assert await client.incr("n") == expected
                doomed = leader if victim == "leader" else node_at(cluster, client.endpoint)
                await cluster.kill(doomed)
                for expected in range(4, 10):
                    assert await asyncio.wait_for(client.incr("n"), 20) == expected
                assert client.endpoint != addresses[doomed]
                assert await client.get("n") == b"9"

    run(scenario())


def test_the_same_session_sequence_twice_is_applied_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            await elect(cluster)
            async with AsyncClient(endpoints(cluster), session=False) as raw:
                for _ in range(2):
                    assert await raw.execute("RANET.EXEC", 42, 7, "INCR", "n") == 1
                assert await raw.get("n") == b"1"
                with pytest.raises(CommandError, match=r"^ERR stale request: sequence 6 "):
                    await raw.execute("RANET.EXEC", 42, 6, "INCR", "n")
                assert await raw.get("n") == b"1"
                script = "return redis.call('incr', KEYS[1])"  # a script, exactly once too
                for _ in range(2):
                    assert await raw.execute("RANET.EXEC", 42, 8, "EVAL", script, 1, "n") == 2
                assert await raw.get("n") == b"2"

    run(scenario())


@pytest.mark.parametrize("session", [True, False], ids=["session", "no-session"])
def test_a_write_whose_reply_is_lost(session: bool, tmp_path: Path) -> None:
    """The request reaches the node and applies; the reply never comes back.

    In a session the client retries with the same sequence on the next node
    and gets the first application's reply: INCR ends at 1. Without one it
    cannot know, and says so instead of retrying."""

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            await serving(cluster)
            host, port = cluster.client_address(0).rsplit(":", 1)
            proxy = LinkProxy((host, int(port)))
            await proxy.start()
            try:
                addresses = [proxy.address, *endpoints(cluster)[1:]]
                fast = RetryPolicy(deadline=10.0, initial_backoff=0.01)
                async with AsyncClient(addresses, session=session, retry=fast) as client:
                    assert await client.get("n") is None
                    assert client.endpoint == proxy.address
                    proxy.lose_next_reply()
                    if session:
                        assert await client.incr("n") == 1
                    else:
                        with pytest.raises(Unavailable) as raised:
                            await client.incr("n")
                        assert raised.value.maybe_applied
                    assert proxy.replies_lost == 1
                    assert await client.get("n") == b"1"
            finally:
                await proxy.stop()

    run(scenario())
