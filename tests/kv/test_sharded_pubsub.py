"""Sharded pub/sub - SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB
SHARDCHANNELS and SHARDNUMSUB - against redis-server and ranet's server:
the same confirmations, counts, messages and errors, in RESP2 and RESP3,
for a subscriber and a publisher on two connections. (A Redis that is not a
cluster treats shard channels as channels of their own, apart from
SUBSCRIBE's; so does ranet. SPUBLISH goes through the log, as PUBLISH does:
tests/kv_cluster/test_pubsub.py shows every node delivering.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from .fake_backend import WAIT, served
from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    pytestmark,
    redis_server,
)

# (connection, command, how many replies it reads: a subscription command
# confirms each name; "-" reads a message the subscriber was sent)
STEPS: list[tuple[str, str, int]] = [
    ("sub", "SSUBSCRIBE news sport", 2),
    ("sub", "SSUBSCRIBE news", 1),
    ("pub", "PUBSUB SHARDCHANNELS", 1),
    ("pub", "PUBSUB SHARDCHANNELS n*", 1),
    ("pub", "PUBSUB SHARDNUMSUB news sport other", 1),
    ("pub", "PUBSUB CHANNELS", 1),
    ("pub", "SPUBLISH news hello", 1),
    ("sub", "-", 1),
    ("pub", "PUBLISH news not-for-shard-subscribers", 1),
    ("pub", "SPUBLISH other nobody", 1),
    ("sub", "SUBSCRIBE plain", 1),
    ("sub", "PSUBSCRIBE pl*", 1),
    ("sub", "SSUBSCRIBE third", 1),
    ("pub", "PUBLISH plain x", 1),
    ("sub", "-", 2),
    ("pub", "SPUBLISH sport goal", 1),
    ("sub", "-", 1),
    ("sub", "GET k", 1),
    ("sub", "PING", 1),
    ("sub", "SUNSUBSCRIBE news", 1),
    ("sub", "SUNSUBSCRIBE nothere", 1),
    ("pub", "PUBSUB SHARDNUMSUB news sport", 1),
    ("sub", "UNSUBSCRIBE", 1),
    ("sub", "PUNSUBSCRIBE", 1),
    ("sub", "SUNSUBSCRIBE third", 1),
    ("sub", "SUNSUBSCRIBE", 1),  # all: one left (Redis would name several in hash order)
    ("sub", "SUNSUBSCRIBE", 1),
    ("pub", "PUBSUB SHARDCHANNELS", 1),
    ("pub", "PUBSUB SHARDCHANNELS a b", 1),
    ("pub", "PUBSUB channels a b", 1),
    ("pub", "PUBSUB NUMPAT x", 1),
    ("pub", "PUBSUB SHARDNUMSUB", 1),
    ("pub", "SPUBLISH news", 1),
    ("pub", "SSUBSCRIBE", 1),
    ("pub", "SPUBLISH news after", 1),
]


def _script(connect: Callable[[], redis.connection.AbstractConnection]) -> list[str]:
    connections = {"sub": connect(), "pub": connect()}
    out = []
    try:
        for who, line, replies in STEPS:
            connection = connections[who]
            if line != "-":
                connection.send_command(*line.split())
            got = [reply_to_next(connection) for _ in range(replies)]
            if "CHANNELS" in line and isinstance(got[0], list):
                got = [sorted(got[0])]  # Redis lists them in its hash table's order
            out.append(f"{who}: {line} -> {got!r}")
    finally:
        for connection in connections.values():
            connection.disconnect()
    return out


def reply_to_next(connection: redis.connection.AbstractConnection) -> object:
    """The next reply or message waiting on ``connection`` (a push too, in
    RESP3, which redis-py would otherwise hand to a push handler)."""
    try:
        return connection.read_response(push_request=True)
    except redis.ResponseError as error:
        return f"error: {error}"


@pytest.mark.parametrize("protocol", [2, 3])
def test_sharded_pubsub_answers_as_redis_does(redis_server: Path, protocol: int) -> None:  # noqa: F811
    redis.Redis(unix_socket_path=str(redis_server)).flushall()

    def to_redis() -> redis.connection.AbstractConnection:
        return redis.connection.UnixDomainSocketConnection(
            path=str(redis_server), protocol=protocol, socket_timeout=WAIT
        )

    expected = _script(to_redis)
    with served() as server:

        def to_ranet() -> redis.connection.AbstractConnection:
            return redis.connection.Connection(
                host="127.0.0.1", port=server.port, protocol=protocol, socket_timeout=WAIT
            )

        got = _script(to_ranet)
    for want, have in zip(expected, got, strict=True):
        assert have == want
