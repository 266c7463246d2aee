"""Client-side caching's order (tracking.py, server.py): an invalidation
never overtakes the reply of a read already on its way, so a client never
caches a value older than its last invalidation; and the table forgets a
connection that stopped tracking. What the commands answer and which keys
are invalidated, against redis-server: test_tracking_against_redis.py."""

from __future__ import annotations

import asyncio

from ranet.kv.tracking import Tracking, TrackingTable
from tests.kv.fake_backend import WAIT, FakeBackend, served
from tests.kv.test_notifications_against_redis import Raw


def test_an_invalidation_waits_for_the_reply_of_a_read_in_flight() -> None:
    """The read runs (and sees 1), the write lands before its reply is sent:
    the client must get 1 and then the invalidation, not the reverse -
    which would leave it caching 1 for good."""
    backend = FakeBackend()
    with served(backend) as server:
        tracker, writer = Raw(("127.0.0.1", server.port)), Raw(("127.0.0.1", server.port))
        tracker.call("HELLO", "3")
        assert tracker.call("CLIENT", "TRACKING", "ON") == b"OK"
        writer.call("SET", "a", "1")
        gate, reached = server.call(asyncio.Event), server.call(asyncio.Event)
        backend.answer_gate, backend.at_answer_gate = gate, reached
        tracker.send("GET", "a")
        asyncio.run_coroutine_threadsafe(reached.wait(), server.loop).result(WAIT)
        assert writer.call("SET", "a", "2") == b"OK"  # applied while GET's reply waits
        server.call(gate.set)
        assert tracker.read() == b"1"
        assert tracker.read() == [b"invalidate", [b"a"]]
        tracker.close()
        writer.close()


def test_the_table_forgets_who_stopped_tracking() -> None:
    sent: list[tuple[int, list[bytes] | None]] = []
    table = TrackingTable(lambda client, keys: sent.append((client, keys)))
    table.enable(1, Tracking())
    table.enable(2, Tracking(bcast=True, prefixes=[b"user:"]))
    table.remember(1, [b"a", b"user:1"])
    table.changed(b"user:1")
    table.changed(b"user:1")  # no longer tracked by 1: read it again to track it again
    table.disable(2)
    table.changed(b"user:2")
    table.remember(1, [b"b"])
    table.disable(1)
    table.changed(b"b")
    assert sent == [(1, [b"user:1"]), (2, [b"user:1"]), (2, [b"user:1"])]


def test_past_its_size_the_table_invalidates_its_oldest_keys() -> None:
    sent: list[tuple[int, list[bytes] | None]] = []
    table = TrackingTable(lambda client, keys: sent.append((client, keys)), max_keys=2)
    table.enable(1, Tracking())
    table.remember(1, [b"a", b"b"])
    table.remember(1, [b"c"])
    assert sent == [(1, [b"a"])]  # the client drops it: it cannot be told of its change
    table.changed(b"a")
    table.changed(b"c")
    assert sent == [(1, [b"a"]), (1, [b"c"])]
