"""Redis's two nulls, byte for byte: in RESP2 a command that answers an array
when it has something answers ``*-1`` when it has nothing (BLPOP's timeout,
XREAD's nothing, EXEC stopped by WATCH, LPOP with a count on a missing key,
GEOPOS's missing member), where the others answer ``$-1``; RESP3 has one
null, ``_``. Client libraries read both as nil, so only the wire shows it."""

from __future__ import annotations

import socket
from pathlib import Path

import hiredis
import pytest

from tests.kv.fake_backend import WAIT, served

from .test_against_redis import (  # noqa: F401  (the skip without redis-server)
    pytestmark,
    redis_server,
)

STEPS = [
    # blocking commands that time out (every one: *-1, BLMOVE's too)
    ["BLPOP", "nolist", "0.01"],
    ["BRPOP", "nolist", "other", "0.01"],
    ["BLMOVE", "nolist", "dest", "LEFT", "LEFT", "0.01"],
    ["BRPOPLPUSH", "nolist", "dest", "0.01"],
    ["BZPOPMIN", "nozset", "0.01"],
    ["BZPOPMAX", "nozset", "0.01"],
    ["BLMPOP", "0.01", "1", "nolist", "LEFT"],
    ["BZMPOP", "0.01", "1", "nozset", "MIN"],
    # the same commands' forms that do not wait, and the other array nulls
    ["LPOP", "nolist"],
    ["LPOP", "nolist", "2"],
    ["RPOP", "nolist", "2"],
    ["RPOP", "nolist", "0"],
    ["LMPOP", "1", "nolist", "LEFT"],
    ["ZMPOP", "2", "nozset", "other", "MAX", "COUNT", "3"],
    ["XADD", "stream", "1-1", "field", "value"],
    ["XREAD", "STREAMS", "stream", "$"],
    ["XREAD", "COUNT", "2", "STREAMS", "stream", "nostream", "1-1", "0"],
    ["XREAD", "BLOCK", "10", "STREAMS", "stream", "$"],
    ["XGROUP", "CREATE", "stream", "group", "$"],
    ["XREADGROUP", "GROUP", "group", "reader", "STREAMS", "stream", ">"],
    ["XREADGROUP", "GROUP", "group", "reader", "BLOCK", "10", "STREAMS", "stream", ">"],
    ["GEOADD", "places", "13.361389", "38.115556", "palermo"],
    ["GEOPOS", "places", "palermo", "nowhere"],
    ["GEOPOS", "noplaces", "x"],
    # nulls that stay bulk nulls
    ["GET", "nokey"],
    ["ZSCORE", "nozset", "member"],
    ["ZMSCORE", "nozset", "a", "b"],
    ["LINDEX", "nolist", "0"],
    ["EVAL", "return redis.call('LPOP', 'nolist', '2')", "0"],
    ["EVAL", "return redis.call('XREAD', 'STREAMS', 'stream', '$')", "0"],
    # inside a transaction: the blocking forms answer at once
    ["MULTI"],
    ["BLPOP", "nolist", "0"],
    ["BLMOVE", "nolist", "dest", "LEFT", "LEFT", "0"],
    ["BZMPOP", "0", "1", "nozset", "MIN"],
    ["LPOP", "nolist", "3"],
    ["EXEC"],
    # a transaction a watched key stopped
    ["WATCH", "watched"],
    ["SET", "watched", "changed"],
    ["MULTI"],
    ["GET", "watched"],
    ["EXEC"],
]


def _encoded(words: list[str]) -> bytes:
    parts = [b"*%d\r\n" % len(words)]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _reply_length(data: bytes) -> int:
    """How many of ``data``'s first bytes make one whole reply; 0 if none yet."""
    for length in range(1, len(data) + 1):
        reader = hiredis.Reader()
        reader.feed(data[:length])
        if reader.gets() is not False:
            return length
    return 0


def _raw_replies(address: str | tuple[str, int], protocol: int) -> list[bytes]:
    """Each step's reply as the bytes on the wire."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as connection:
        connection.settimeout(WAIT)
        connection.connect(address)
        out = []
        for words in [["HELLO", str(protocol)], ["FLUSHALL"], *STEPS]:
            connection.sendall(_encoded(words))
            received = b""
            while not (length := _reply_length(received)):
                data = connection.recv(1 << 16)
                assert data, "the server closed the connection"
                received += data
            assert length == len(received), "one reply at a time"
            out.append(received)
        return out[2:]  # HELLO's own reply names the server


@pytest.mark.parametrize("protocol", [2, 3])
def test_the_nulls_are_redis_s_to_the_byte(redis_server: Path, protocol: int) -> None:  # noqa: F811
    expected = _raw_replies(str(redis_server), protocol)
    with served() as server:
        got = _raw_replies(("127.0.0.1", server.port), protocol)
    for words, want, have in zip(STEPS, expected, got, strict=True):
        assert (" ".join(words), have) == (" ".join(words), want)
    if protocol == 2:  # the test sees both nulls
        assert b"*-1\r\n" in expected and b"$-1\r\n" in expected
