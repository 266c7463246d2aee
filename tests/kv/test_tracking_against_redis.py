"""Client-side caching against redis-server: CLIENT TRACKING, CACHING,
GETREDIR and TRACKINGINFO, and the invalidations a tracking connection
receives - default mode, BCAST with prefixes, OPTIN, OPTOUT, a RESP2
connection redirecting to a subscriber, flushes, transactions, the commands
that name their keys by count - the same from both, errors included.

Each scenario runs on three connections: ``t`` tracks (RESP3), ``w``
writes, ``s`` is a RESP2 subscriber of ``__redis__:invalidate``. After
each step the tracking connections are sent a PING, and what arrives
before its PONG is the step's messages. Redis sends BCAST invalidations in
batches, one per event-loop turn; ranet one per key: the keys of a step's
invalidations are compared, in order, not their grouping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hiredis
import pytest

from tests.kv.fake_backend import served
from tests.kv.test_notifications_against_redis import Raw

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    pytestmark,
    redis_server,
)

Step = tuple[str, list[str]]

SCENARIOS: dict[str, list[Step]] = {
    "default": [
        ("w", ["MSET", "a", "1", "b", "2", "c", "3"]),
        ("w", ["HSET", "h", "f", "v"]),
        ("t", ["CLIENT", "TRACKING", "ON"]),
        ("t", ["GET", "a"]),
        ("t", ["MGET", "b", "c"]),
        ("t", ["HGET", "h", "f"]),
        ("w", ["SET", "a", "10"]),
        ("w", ["SET", "a", "11"]),  # not read since: no second invalidation
        ("w", ["MSET", "b", "20", "c", "30"]),
        ("w", ["HDEL", "h", "f"]),
        ("w", ["SET", "untracked", "x"]),
        ("t", ["GET", "a"]),
        ("w", ["DEL", "a"]),
        ("t", ["STRLEN", "b"]),
        ("w", ["EXPIRE", "b", "100"]),
        ("t", ["GET", "c"]),
        ("w", ["RENAME", "c", "renamed"]),
        ("t", ["GET", "b"]),
        ("t", ["GET", "renamed"]),
        ("w", ["FLUSHDB"]),
        ("t", ["CLIENT", "TRACKINGINFO"]),
        ("t", ["CLIENT", "GETREDIR"]),
        ("t", ["CLIENT", "TRACKING", "OFF"]),
        ("t", ["GET", "a"]),
        ("w", ["SET", "a", "1"]),
        ("t", ["CLIENT", "TRACKINGINFO"]),
    ],
    "keys by count, transactions": [
        ("w", ["ZADD", "z1", "1", "a"]),
        ("w", ["SADD", "s1", "a"]),
        ("w", ["XADD", "x", "1-1", "f", "v"]),
        ("t", ["CLIENT", "TRACKING", "ON"]),
        ("t", ["ZUNION", "2", "z1", "z2"]),
        ("t", ["SINTERCARD", "1", "s1"]),
        ("t", ["XREAD", "STREAMS", "x", "0"]),
        ("t", ["EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k"]),
        ("t", ["MULTI"]),
        ("t", ["GET", "m"]),
        ("t", ["EXEC"]),
        ("w", ["ZADD", "z2", "2", "b"]),
        ("w", ["SADD", "s1", "b"]),
        ("w", ["XADD", "x", "2-1", "f", "v"]),
        ("w", ["SET", "k", "v"]),
        ("w", ["SET", "m", "v"]),
        ("t", ["KEYS", "n*"]),
        ("w", ["SET", "n", "v"]),  # KEYS tracks nothing
    ],
    "bcast": [
        ("t", ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "cart:"]),
        ("w", ["SET", "user:1", "x"]),
        ("w", ["MSET", "cart:1", "x", "other", "y", "user:2", "z"]),
        ("t", ["CLIENT", "TRACKINGINFO"]),
        ("t", ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "order:"]),
        ("w", ["SET", "order:9", "x"]),
        ("t", ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:admin"]),
        ("t", ["CLIENT", "TRACKING", "ON"]),
        ("t", ["CLIENT", "TRACKING", "OFF"]),
        ("t", ["CLIENT", "TRACKING", "ON", "BCAST"]),
        ("w", ["SET", "anything", "x"]),
        ("w", ["FLUSHALL"]),
    ],
    "optin, optout": [
        ("t", ["CLIENT", "CACHING", "YES"]),
        ("t", ["CLIENT", "TRACKING", "ON", "OPTIN"]),
        ("t", ["GET", "a"]),
        ("t", ["CLIENT", "CACHING", "YES"]),
        ("t", ["CLIENT", "TRACKINGINFO"]),
        ("t", ["GET", "b"]),
        ("t", ["GET", "c"]),
        ("t", ["CLIENT", "CACHING", "NO"]),
        ("t", ["CLIENT", "CACHING", "MAYBE"]),
        ("w", ["MSET", "a", "1", "b", "2", "c", "3"]),
        ("t", ["CLIENT", "TRACKING", "ON", "OPTOUT"]),
        ("t", ["CLIENT", "TRACKING", "OFF"]),
        ("t", ["CLIENT", "TRACKING", "ON", "OPTOUT"]),
        ("t", ["CLIENT", "CACHING", "NO"]),
        ("t", ["GET", "a"]),
        ("t", ["GET", "b"]),
        ("t", ["CLIENT", "CACHING", "YES"]),
        ("w", ["MSET", "a", "10", "b", "20"]),
    ],
    "redirect": [
        ("s", ["SUBSCRIBE", "__redis__:invalidate"]),
        ("w", ["CLIENT", "TRACKING", "ON", "REDIRECT", "{s}"]),
        ("w", ["GET", "a"]),
        ("t", ["SET", "a", "1"]),
        ("w", ["CLIENT", "GETREDIR"]),
        ("w", ["CLIENT", "TRACKINGINFO"]),
        ("t", ["FLUSHDB"]),
    ],
    "errors": [
        ("t", ["CLIENT", "TRACKING"]),
        ("t", ["CLIENT", "TRACKING", "MAYBE"]),
        ("t", ["CLIENT", "TRACKING", "ON", "PREFIX", "a"]),
        ("t", ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab"]),
        ("t", ["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"]),
        ("t", ["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"]),
        ("t", ["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"]),
        ("t", ["CLIENT", "TRACKING", "ON", "REDIRECT", "x"]),
        ("t", ["CLIENT", "TRACKING", "ON", "FOO"]),
        ("t", ["CLIENT", "TRACKING", "ON", "PREFIX"]),
        ("t", ["CLIENT", "CACHING"]),
        ("t", ["CLIENT", "CACHING", "YES", "NO"]),
        ("t", ["CLIENT", "GETREDIR", "x"]),
        ("t", ["CLIENT", "TRACKINGINFO", "x"]),
        ("t", ["CLIENT", "TRACKING", "ON", "OPTIN"]),
        ("t", ["CLIENT", "TRACKING", "ON", "OPTOUT"]),
        ("t", ["CLIENT", "TRACKING", "ON", "BCAST"]),
    ],
}


def run(address: str | tuple[str, int], steps: list[Step]) -> list[str]:
    connections = {"t": Raw(address), "w": Raw(address), "s": Raw(address)}
    try:
        connections["t"].call("HELLO", "3")
        ids = {name: connection.call("CLIENT", "ID") for name, connection in connections.items()}
        out = []
        in_multi = False
        for who, command in steps:
            words = [word.format(**ids) for word in command]
            reply = connections[who].call(*words)
            if command[:2] in (["CLIENT", "GETREDIR"], ["CLIENT", "TRACKINGINFO"]):
                reply = _named(reply, ids)
            in_multi = command[0] == "MULTI" or (in_multi and command[0] not in ("EXEC", "DISCARD"))
            messages = [] if in_multi else _messages(connections, who)
            out.append(f"{who} {command} -> {_text(reply)} {messages}")
        return out
    finally:
        for connection in connections.values():
            connection.close()


def _messages(connections: dict[str, Raw], after: str) -> list[object]:
    """What reached ``t`` and ``s`` (besides its subscription's confirmation)
    with the step: the keys invalidated, in order, whatever their grouping."""
    keys: list[object] = []
    for name in ("t", "s"):
        connection = connections[name]
        if name == "s" and after == "s":
            continue  # its own SUBSCRIBE's confirmation was its reply
        connection.send("PING")
        while (message := connection.read()) not in (b"PONG", [b"pong", b""]):
            if isinstance(message, list) and message[:1] == [b"message"]:
                message = [b"invalidate", message[2]]  # RESP2: on __redis__:invalidate
            if isinstance(message, list) and message[:1] == [b"invalidate"]:
                keys += (
                    [f"{name}: all"]
                    if message[1] is None
                    else [f"{name}: {k!r}" for k in message[1]]
                )
            else:
                keys.append(f"{name}: {message!r}")
    return keys


def _named(reply: Any, ids: dict[str, int]) -> Any:
    """A connection's id in a reply (CLIENT GETREDIR, TRACKINGINFO) as its name."""
    names = {number: f"<{name}>" for name, number in ids.items()}
    if isinstance(reply, int) and reply in names:
        return names[reply]
    if isinstance(reply, list):
        return [_named(item, ids) for item in reply]
    if isinstance(reply, dict):
        return {key: _named(value, ids) for key, value in reply.items()}
    return reply


def _text(reply: Any) -> str:
    return f"error: {reply}" if isinstance(reply, hiredis.ReplyError) else repr(reply)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_ranet_tracks_as_redis_does(redis_server: Path, scenario: str) -> None:  # noqa: F811
    flush = Raw(str(redis_server))
    flush.call("FLUSHALL")
    flush.close()
    expected = run(str(redis_server), SCENARIOS[scenario])
    with served() as server:
        got = run(("127.0.0.1", server.port), SCENARIOS[scenario])
    assert got == expected
