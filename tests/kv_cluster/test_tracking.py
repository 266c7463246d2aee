"""Client-side caching on real nodes: a connection tracking on a follower
is told of changes made through the leader, of keys it read there."""

from __future__ import annotations

from pathlib import Path

from tests.kv.test_notifications_against_redis import Raw
from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run


def test_a_follower_invalidates_what_the_leader_changes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower = next(n for n in cluster.nodes if n != leader)

            def clients() -> None:
                known_everywhere(cluster, leader)
                writer = connect(cluster, leader)
                writer.set("price", "10")
                tracker = Raw(("127.0.0.1", cluster.client_ports[follower]))
                try:
                    tracker.call("HELLO", "3")
                    assert tracker.call("CLIENT", "TRACKING", "ON") == b"OK"
                    assert tracker.call("GET", "price") == b"10"
                    writer.set("price", "12")
                    assert tracker.read() == [b"invalidate", [b"price"]]
                    assert tracker.call("GET", "price") == b"12"  # linearizable, re-tracked
                    writer.delete("price")
                    assert tracker.read() == [b"invalidate", [b"price"]]
                    writer.flushall()
                    assert tracker.read() == [b"invalidate", None]
                finally:
                    tracker.close()

            await in_thread(clients)

    run(scenario())
