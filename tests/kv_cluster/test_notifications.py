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
