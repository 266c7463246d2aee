"""Key-space notifications on real nodes: a subscriber on a follower sees
the events of writes made through another node, in the log's order; a key
that expires on an idle cluster is announced within a second or so (the
node that emits expired events writes the clock's tick); a node whose
setting is off says nothing."""

from __future__ import annotations

import time
from pathlib import Path

from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run

WAIT = 10.0


def test_a_follower_s_subscriber_sees_writes_and_expiries(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower, silent = (n for n in cluster.nodes if n != leader)

            def clients() -> None:
                known_everywhere(cluster, leader)
                watched, writer = connect(cluster, follower), connect(cluster, leader)
                assert watched.config_set("notify-keyspace-events", "KEA")
                assert watched.config_get("notify-keyspace-events") == {
                    "notify-keyspace-events": "AKE"
                }
                listener = watched.pubsub()
                listener.psubscribe("__keyspace@0__:*")
                quiet = connect(cluster, silent).pubsub()
                quiet.psubscribe("__key*__:*")
                for pubsub in (listener, quiet):  # the subscriptions' confirmations
                    assert pubsub.get_message(timeout=WAIT)["type"] == "psubscribe"
                writer.set("job", "1")
                writer.rpush("queue", "a", "b")
                writer.lpop("queue", 2)
                writer.set("lease", "mine", px=300)
                seen = [next_event(listener) for _ in range(5)]
                assert seen == [
                    ("job", "set"),
                    ("queue", "rpush"),
                    ("queue", "lpop"),
                    ("queue", "del"),
                    ("lease", "set"),
                ]
                assert next_event(listener) == ("lease", "expire")
                started = time.monotonic()
                assert next_event(listener) == ("lease", "expired")  # nothing else was written
                assert time.monotonic() - started < 3.0
                assert writer.exists("lease") == 0
                assert quiet.get_message(timeout=0.5) is None  # its node's setting is off

            await in_thread(clients)

    run(scenario())


def next_event(pubsub: object) -> tuple[str, str]:
    """The next key-space event: (key, event)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=deadline - time.monotonic())  # type: ignore[attr-defined]
        if message is not None and message["type"] == "pmessage":
            channel = message["channel"].decode()
            return channel.removeprefix("__keyspace@0__:"), message["data"].decode()
    raise AssertionError("no key-space event came")


def test_every_node_announces_the_same_events_in_the_same_order(tmp_path: Path) -> None:
    """Writes through every node, interleaved: each node's subscriber sees
    every write's events, in one order - the log's."""

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)

            def clients() -> None:
                known_everywhere(cluster, leader)
                nodes = [connect(cluster, n) for n in cluster.nodes]
                listeners = []
                for node in nodes:
                    assert node.config_set("notify-keyspace-events", "KEA")
                    listener = node.pubsub()
                    listener.psubscribe("__keyspace@0__:*")
                    assert listener.get_message(timeout=WAIT)["type"] == "psubscribe"
                    listeners.append(listener)
                for i in range(60):  # keys made, changed, emptied
                    writer = nodes[i % 3]
                    writer.hset(f"h{i % 7}", str(i), i)
                    writer.incr(f"n{i % 5}")
                    writer.hdel(f"h{(i - 3) % 7}", str(i - 3))
                    if i % 2:
                        writer.rpush("log", i)
                    else:
                        writer.lpop("log")
                nodes[0].set("done", 1)
                heard = [until_done(listener) for listener in listeners]
                assert heard[0] == heard[1] == heard[2]
                assert len(heard[0]) > 200
                assert {e for _, e in heard[0]} >= {
                    "hset",
                    "incrby",
                    "hdel",
                    "rpush",
                    "lpop",
                    "del",
                }

            await in_thread(clients)

    run(scenario())


def until_done(pubsub: object) -> list[tuple[str, str]]:
    """The events up to the setting of ``done``."""
    heard = []
    while (event := next_event(pubsub)) != ("done", "set"):
        heard.append(event)
    return heard
