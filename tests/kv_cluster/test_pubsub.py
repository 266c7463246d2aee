"""Pub/sub on real `ranet node` processes (kv/pubsub.py): PUBLISH (and
SPUBLISH) goes through the log, so subscribers on every node receive what
is published on any node, and all in the same order - the log's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from redis.client import PubSub

from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run

MESSAGES = 30
WAIT_S = 15.0


def subscribed_everywhere(cluster: Any, how: str, name: str) -> list[PubSub]:
    """A subscriber on every node, ``how`` (``psubscribe``, ``ssubscribe``)
    to ``name``, each with its confirmation read."""
    subscribers = []
    for node in cluster.nodes:
        subscriber = connect(cluster, node).pubsub()
        getattr(subscriber, how)(name)
        read = subscriber.get_sharded_message if how == "ssubscribe" else subscriber.get_message
        assert read(timeout=WAIT_S)["type"] == how
        subscribers.append(subscriber)
    return subscribers


def test_subscribers_on_every_node_get_every_message_in_one_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)

            def clients() -> None:
                known_everywhere(cluster, leader)
                subscribers = subscribed_everywhere(cluster, "psubscribe", "news.*")
                publishers = [connect(cluster, node) for node in cluster.nodes]
                for i in range(MESSAGES):  # from every node in turn, forwarded to the leader
                    assert publishers[i % 3].publish(f"news.{i % 2}", f"m{i}") >= 0
                received = []
                for subscriber in subscribers:
                    got: list[bytes] = []
                    deadline = time.monotonic() + WAIT_S
                    while len(got) < MESSAGES and time.monotonic() < deadline:
                        message = subscriber.get_message(timeout=1)
                        if message is not None:
                            got.append(message["data"])
                    received.append(got)
                    subscriber.close()
                assert received[0] == [f"m{i}".encode() for i in range(MESSAGES)]
                assert received[1] == received[0] and received[2] == received[0]
                # sharded pub/sub: SPUBLISH through a follower, a shard subscriber on each node
                shard_subscribers = subscribed_everywhere(cluster, "ssubscribe", "orders")
                follower = next(node for node in cluster.nodes if node != leader)
                assert connect(cluster, follower).spublish("orders", "o1") >= 0
                for subscriber in shard_subscribers:
                    message = subscriber.get_sharded_message(timeout=WAIT_S)
                    assert message is not None
                    assert (message["type"], message["data"]) == ("smessage", b"o1")
                    subscriber.close()

            await in_thread(clients)

    run(scenario())
