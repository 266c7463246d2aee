"""MIGRATE between real `ranet node` processes and a redis-server: keys
moved out of a three-node cluster through a follower are deleted on every
node (one log entry), and a redis-server's MIGRATE into the cluster lands
on every node too. Every wait is bounded (MIGRATE's own timeout, the
clients' socket timeouts, the reference server's start)."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.kv.test_monitor_against_redis import redis_on_tcp  # noqa: F401  (a fixture)
from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run

TIMEOUT_MS = "5000"


def test_keys_migrate_out_of_the_cluster_and_into_it(
    tmp_path: Path,
    redis_on_tcp: tuple[str, int],  # noqa: F811
) -> None:
    host, port = redis_on_tcp

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower = next(n for n in cluster.nodes if n != leader)

            def moves() -> None:
                known_everywhere(cluster, leader)
                on_follower = connect(cluster, follower)
                on_follower.set("out", "bye")
                on_follower.rpush("out:list", "a", "b")
                reply = on_follower.execute_command(
                    "MIGRATE", host, port, "", "0", TIMEOUT_MS, "KEYS", "out", "out:list"
                )
                assert reply == b"OK"
                with redis.Redis(host=host, port=port) as reference:
                    assert reference.get("out") == b"bye"
                    assert reference.lrange("out:list", 0, -1) == [b"a", b"b"]
                    reference.set("in", "hello")
                    node_port = cluster.client_ports[leader]
                    assert reference.migrate("127.0.0.1", node_port, "in", 0, 5000)
                for node in cluster.nodes:  # a read on each node is linearizable
                    on_node = connect(cluster, node)
                    assert on_node.exists("out", "out:list") == 0
                    assert on_node.get("in") == b"hello"

            await in_thread(moves)

    run(scenario())
