"""The commands the keyspace-notification comparison sends: every script
of the comparison tests against redis-server, as word lists."""

from __future__ import annotations

from tests.kv import (
    test_against_redis,
    test_bitmaps_against_redis,
    test_geo_against_redis,
    test_hyperloglog_against_redis,
    test_sort_against_redis,
    test_streams_against_redis,
)
from tests.kv.test_against_redis import words_of

# What the other scripts leave out: scripts and functions, RESTORE,
# deadlines already past, flushes, transactions, blocking pops served at
# once.
_PAYLOAD = b"\x00\x05hello\n\x00cr\xdfve4 \n"  # DUMP of "hello", from redis-server 7.0
_LIBRARY = (
    "#!lua name=events\n"
    "redis.register_function('bump', function(keys) "
    "return redis.call('hincrby', keys[1], 'f', 1) end)"
)
_SCRIPT = (
    "redis.call('set', KEYS[1], 'x') redis.call('incr', 'n') return redis.call('del', KEYS[1])"
)
EXTRAS: list[list[bytes | str]] = [
    ["SET", "k", "v"],
    ["EVAL", _SCRIPT, "1", "k"],
    ["FUNCTION", "LOAD", _LIBRARY],
    ["FCALL", "bump", "1", "h"],
    ["FCALL", "bump", "1", "h"],
    ["SET", "d", "1"],
    ["EXPIRE", "d", "-1"],
    ["SET", "d", "1"],
    ["PEXPIREAT", "d", "1"],
    ["SET", "d", "1"],
    ["GETEX", "d", "PXAT", "1"],
    ["SET", "d", "1", "PXAT", "1"],
    ["SET", "e", "1", "EX", "100"],
    ["PERSIST", "e"],
    ["PERSIST", "e"],
    ["RESTORE", "r", "0", _PAYLOAD],
    ["RESTORE", "r", "0", _PAYLOAD, "REPLACE"],
    ["RESTORE", "r", "1", _PAYLOAD, "REPLACE", "ABSTTL"],
    ["RESTORE", "r", "1", _PAYLOAD, "ABSTTL"],
    ["MULTI"],
    ["SET", "m", "1"],
    ["INCRBY", "m", "2"],
    ["LPUSH", "q", "a"],
    ["EXEC"],
    ["RPUSH", "q", "b", "c"],
    ["BLPOP", "q", "0"],
    ["BRPOPLPUSH", "q", "q2", "0"],
    ["BLMPOP", "0", "1", "q2", "LEFT", "COUNT", "5"],
    ["ZADD", "bz", "1", "a"],
    ["BZPOPMIN", "bz", "0"],
    ["SET", "f", "1"],
    ["FLUSHDB"],
    ["SET", "f", "1"],
    ["FLUSHALL"],
    ["FUNCTION", "FLUSH"],
]


def corpus() -> dict[str, list[list[bytes]]]:
    scripts = {
        "keys and values": test_against_redis.SCRIPT,
        "streams": test_streams_against_redis.SCRIPT,
        "bitmaps": test_bitmaps_against_redis.SCRIPT,
        "geo": test_geo_against_redis.SCRIPT,
        "hyperloglog": test_hyperloglog_against_redis.SCRIPT,
        "sort": test_sort_against_redis.SCRIPT,
    }
    extras = [[w if isinstance(w, bytes) else w.encode() for w in c] for c in EXTRAS]
    return {
        "extras": extras,
        **{
            name: [
                words_of(line.removeprefix("~ ").removeprefix("? "))
                for line in script.strip().splitlines()
            ]
            for name, script in scripts.items()
        },
    }
