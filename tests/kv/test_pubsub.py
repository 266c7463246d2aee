"""Pub/sub (kv/pubsub.py): the same exchanges with redis-server and with
ranet's server, byte for byte, in RESP2 and RESP3 (pushes included); then
what only ranet has to get right - delivery from the log, a slow
subscriber dropped, clean-up when a subscriber leaves. On real processes in
tests/kv_cluster/test_pubsub.py."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import hiredis
import pytest
import redis

from ranet.kv import pubsub
from ranet.kv.reply import Push
from ranet.kv.resp import encode_reply

from .fake_backend import WAIT, served
from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    pytestmark,
    redis_server,
)

# (connection, command, replies to read): S subscribes, P publishes.
EXCHANGES: list[tuple[str, str, int]] = [
    ("S", "SUBSCRIBE a b", 2),
    ("S", "PSUBSCRIBE c*", 1),
    ("S", "SUBSCRIBE a", 1),
    ("S", "PING", 1),
    ("S", "PING hi", 1),
    ("S", "GET x", 1),
    ("P", "PUBLISH a m1", 1),
    ("P", "PUBLISH cx m2", 1),
    ("P", "PUBLISH zz m3", 1),
    ("S", "", 2),  # the two messages
    ("P", "PUBSUB CHANNELS a*", 1),
    ("P", "PUBSUB NUMSUB a zz", 1),
    ("P", "PUBSUB NUMPAT", 1),
    ("P", "PUBSUB NUMPAT x", 1),
    ("P", "PUBSUB FOO", 1),
    ("P", "SUBSCRIBE", 1),
    ("S", "UNSUBSCRIBE b", 1),
    ("S", "UNSUBSCRIBE", 1),
    ("S", "PUNSUBSCRIBE", 1),
    ("S", "UNSUBSCRIBE", 1),
    ("S", "GET x", 1),
    ("P", "PUBLISH a m4", 1),
]


def _command(line: str) -> bytes:
    words = line.split()
    return b"*%d\r\n" % len(words) + b"".join(
        b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words
    )


def _exchange(sock: socket.socket, line: str, replies: int) -> bytes:
    """Send ``line`` (if any) and read ``replies`` replies: their raw bytes."""
    if line:
        sock.sendall(_command(line))
    reader, raw, got = hiredis.Reader(), b"", 0
    while got < replies:
        data = sock.recv(65536)
        assert data, "connection closed"
        raw += data
        reader.feed(data)
        while reader.gets() is not False:
            got += 1
    return raw


def transcript(connect: Callable[[], socket.socket], protocol: int) -> list[str]:
    sockets = {name: connect() for name in "SP"}
    try:
        if protocol == 3:
            for sock in sockets.values():
                _exchange(sock, "HELLO 3", 1)  # the servers describe themselves differently
        return [
            f"{name} {line!r} -> {_exchange(sockets[name], line, replies)!r}"
            for name, line, replies in EXCHANGES
        ]
    finally:
        for sock in sockets.values():
            sock.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_subscribers_see_what_redis_subscribers_see(redis_server: Path, protocol: int) -> None:  # noqa: F811
    def to_redis() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(WAIT)
        sock.connect(str(redis_server))
        return sock

    with served() as server:
        ours = transcript(
            lambda: socket.create_connection(("127.0.0.1", server.port), timeout=WAIT), protocol
        )
    assert ours == transcript(to_redis, protocol)


def test_a_message_is_delivered_when_the_publish_is_applied() -> None:
    """PUBLISH is a write: the fake backend applies it, and the store hands
    it to the server's subscribers - the path the log takes on a node."""
    with served() as server:
        subscriber = redis.Redis("127.0.0.1", server.port, socket_timeout=WAIT).pubsub()
        subscriber.subscribe("news")
        assert subscriber.get_message(timeout=WAIT)["type"] == "subscribe"
        publisher = redis.Redis("127.0.0.1", server.port, socket_timeout=WAIT)
        assert publisher.publish("news", "hello") == 1
        assert [argv for argv, _ in server.call(lambda: server.backend.writes)] == [
            [b"PUBLISH", b"news", b"hello"]
        ]
        assert subscriber.get_message(timeout=WAIT)["data"] == b"hello"
        subscriber.close()


@contextmanager
def raw_subscriber(port: int, channel: str) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    try:
        _exchange(sock, f"SUBSCRIBE {channel}", 1)
        yield sock
    finally:
        sock.close()


def test_a_subscriber_that_leaves_is_forgotten() -> None:
    with served() as server:
        with raw_subscriber(server.port, "news"):
            publisher = redis.Redis("127.0.0.1", server.port, socket_timeout=WAIT)
            assert publisher.pubsub_numsub("news") == [(b"news", 1)]
        deadline = time.monotonic() + WAIT
        while publisher.pubsub_numsub("news") != [(b"news", 0)]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert publisher.publish("news", "anyone?") == 0


def test_a_subscriber_that_does_not_read_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its messages would pile up in the node's memory: past the limit the
    connection is closed, and publishing goes on."""
    monkeypatch.setattr(pubsub, "OUTPUT_LIMIT", 1 << 20)
    monkeypatch.setattr("ranet.kv.server.OUTPUT_LIMIT", 1 << 20)
    with served() as server, raw_subscriber(server.port, "flood") as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        publisher = redis.Redis("127.0.0.1", server.port, socket_timeout=WAIT)
        big = b"x" * 65536
        for _ in range(200):  # 13 MB, never read
            if publisher.publish("flood", big) == 0:
                break
        assert publisher.publish("flood", big) == 0  # the subscriber is gone
        assert publisher.pubsub_numsub("flood") == [(b"flood", 0)]


def test_a_push_is_an_array_in_resp2_and_a_push_in_resp3() -> None:
    message = Push([b"message", b"c", b"m"])
    assert encode_reply(message) == b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"
    assert encode_reply(message, resp3=True).startswith(b">3\r\n")


class _Listener:
    def __init__(self, client_id: int, broken: bool = False) -> None:
        self.id, self.broken = client_id, broken
        self.channels: dict[bytes, None] = {}
        self.patterns: dict[bytes, None] = {}
        self.shard_channels: dict[bytes, None] = {}
        self.got: list[Push] = []

    def push(self, message: Push) -> None:
        if self.broken:
            raise RuntimeError("this subscriber's connection broke")
        self.got.append(message)


def test_a_failing_subscriber_does_not_fail_the_delivery_to_others() -> None:
    """Delivery runs inside the store's apply: a subscriber's error must
    neither reach the entry nor keep the message from the others."""
    subscriptions = pubsub.Subscriptions()
    broken, fine = _Listener(1, broken=True), _Listener(2)
    subscriptions.subscribe(broken, [b"c"], pubsub.CHANNEL)
    subscriptions.subscribe(fine, [b"c*"], pubsub.PATTERN)
    assert subscriptions.deliver(b"c", b"m") == 1
    assert fine.got == [Push([b"pmessage", b"c*", b"c", b"m"])]
    subscriptions.subscribe(broken, [b"s"], pubsub.SHARD)
    subscriptions.subscribe(fine, [b"s"], pubsub.SHARD)
    assert subscriptions.deliver(b"s", b"m", shard=True) == 1
    assert fine.got[-1] == Push([b"smessage", b"s", b"m"])
