"""INFO's sections for dashboards (server_stats.py): Redis's names, true
values - the counters move with what the node does, the default sections
are Redis's and the Raft section comes when named or with "all"."""

from __future__ import annotations

import pytest
import redis

from ranet.kv import server_stats
from ranet.kv.server_stats import ServerStats
from ranet.kv.store import KVStore
from tests.kv.fake_backend import served
from tests.kv.store_fixtures import entry


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counters_follow_connections_commands_and_bytes() -> None:
    with served() as server:
        with redis.Redis(port=server.port) as client:
            before = client.info("stats")
            pipe = client.pipeline(transaction=False)
            for i in range(10):
                pipe.set(f"k{i}", i)
            pipe.execute()
            after = client.info("stats")
        with redis.Redis(port=server.port) as other:
            assert other.info("stats")["total_connections_received"] == 2
    assert after["total_commands_processed"] - before["total_commands_processed"] == 11
    assert after["total_net_input_bytes"] > before["total_net_input_bytes"] + 10 * 20
    assert after["evicted_keys"] == 0 and after["rejected_connections"] == 0


def test_ops_per_second_is_the_rate_of_the_last_samples() -> None:
    clock = Clock()
    stats = ServerStats(clock)
    for _ in range(20):  # 2 s at 500 commands every 0.1 s: 5,000 a second
        clock.now += 0.1
        stats.received(1000, 500)
    assert stats.ops_per_second() == 5000
    clock.now += 5  # idle since
    assert stats.ops_per_second() == 0


def test_sections_and_what_they_say() -> None:
    with served() as server, redis.Redis(port=server.port) as client:
        client.set("k", "v", ex=100)
        assert set(client.info()) >= {
            "redis_version", "uptime_in_seconds", "connected_clients", "used_memory",
            "used_memory_human", "maxmemory_policy", "total_commands_processed",
            "instantaneous_ops_per_sec", "role", "used_cpu_user", "db0",
        }  # fmt: skip
        memory = client.info("memory")
        assert memory["used_memory"] > 1 << 20 and memory["used_memory_human"].endswith("M")
        assert memory["maxmemory"] == 0 and memory["maxmemory_policy"] == "noeviction"
        assert float(client.info("cpu")["used_cpu_user"]) > 0
        assert client.info("keyspace") == {"db0": {"keys": 1, "expires": 1, "avg_ttl": 0}}
        assert client.info("replication") == {"role": "master", "connected_slaves": 0}
        assert "leader_id" in client.info("all") and "leader_id" not in client.info("default")


def test_expired_keys_counts_the_keys_this_node_expired() -> None:
    store = KVStore()
    store.apply(entry("SET", "a", "1", "PX", 10, at=1_000))
    store.apply(entry("SET", "b", "1", "PX", 10, at=1_000))
    assert store.stats()["expired_keys"] == 0
    store.apply(entry("SET", "c", "1", at=2_000))
    assert store.stats()["expired_keys"] == 2
    store.restore(store.snapshot())  # a node's count, not the state's: kept
    assert store.stats()["expired_keys"] == 2


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0B"), (500, "500B"), (1536, "1.50K"), (3 << 30, "3.00G")]
)
def test_sizes_read_as_redis_writes_them(size: int, text: str) -> None:
    assert server_stats._human(size) == text
