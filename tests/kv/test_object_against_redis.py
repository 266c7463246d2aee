"""OBJECT and MEMORY against redis-server 7.0.15, in RESP2 and RESP3: the
encoding and reference count of values of every type, on both sides of
every threshold; FREQ's error; a missing key's null; the arities, unknown
subcommands and MEMORY USAGE's argument errors; a restricted user checked
on the key, as the subcommands' key specs say.

Where Redis's encoding depends on a value's history (a string APPEND made,
a hash that shrank below its limit), ranet answers what Redis answers once
it has reloaded the value from an RDB file: the reference server here runs
with DEBUG enabled, and DEBUG RELOAD (to ranet, an unknown command that
changes nothing) stands between making those values and asking about them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from .test_against_redis import (  # noqa: F401  (the skip without redis-server)
    answers,
    assert_answered_alike,
    both_answer,
    pytestmark,
    reply_to,
    running_redis,
)

Command = list[bytes]


def command(*words: bytes | str | int) -> Command:
    return [w if isinstance(w, bytes) else str(w).encode() for w in words]


def fields(count: int, width: int = 1, value: bytes = b"v") -> list[bytes]:
    """``count`` field-value pairs, the fields ``width`` bytes or more."""
    return [part for i in range(count) for part in (b"f%0*d" % (width, i), value)]


def members(count: int, prefix: bytes = b"m") -> list[bytes]:
    return [b"%s%d" % (prefix, i) for i in range(count)]


def scored(count: int, width: int = 1) -> list[bytes]:
    return [part for i in range(count) for part in (b"%d" % i, b"m%0*d" % (width, i))]


STRINGS = [
    *(b"0", b"1", b"9999", b"10000", b"-1", b"-0", b"01", b"+1", b" 1", b"1 ", b"1.5", b"1e3"),
    *(b"9223372036854775807", b"9223372036854775808"),
    *(b"-9223372036854775808", b"-9223372036854775809"),
    *(b"", b"abc", b"x" * 43, b"x" * 44, b"x" * 45, b"x" * 1000, b"\xff\x00\x01"),
    *(b"1" * 19, b"1" * 20, b"1" * 21, b"\xc3\xa9" * 22, b"\xc3\xa9" * 23),
]

# key -> the commands that make its value
VALUES: dict[str, list[Command]] = {
    **{f"s{i}": [command("SET", f"s{i}", value)] for i, value in enumerate(STRINGS)},
    "mset": [command("MSET", "mset", "7", "mset2", "70000")],
    "setnx": [command("SETNX", "setnx", "12")],
    "setex": [command("SETEX", "setex", 100, "13")],
    "getset": [command("GETSET", "getset", "x" * 50)],
    "ttl": [command("SET", "ttl", "42", "EX", 100)],
    "incr": [command("INCR", "incr")],
    "incr-big": [command("SET", "incr-big", "9999"), command("INCR", "incr-big")],
    "decr": [command("DECRBY", "decr", 5)],
    "append-new": [command("APPEND", "append-new", "12")],
    "renamed": [command("SET", "from", "5"), command("RENAME", "from", "renamed")],
    "list": [command("RPUSH", "list", "a", 1, 2)],
    "list-big": [command("RPUSH", "list-big", *[b"x" * 100] * 1000)],
    "list-pushed": [command("LPUSH", "list-pushed", *members(200))],
    "hash": [command("HSET", "hash", "f", "v")],
    "hash-512": [command("HSET", "hash-512", *fields(512))],
    "hash-513": [command("HSET", "hash-513", *fields(513))],
    "hash-field-64": [command("HSET", "hash-field-64", b"f" * 64, "v")],
    "hash-field-65": [command("HSET", "hash-field-65", b"f" * 65, "v")],
    "hash-value-64": [command("HSET", "hash-value-64", "f", b"v" * 64)],
    "hash-value-65": [command("HSET", "hash-value-65", "f", b"v" * 65)],
    "hash-bytes-64": [command("HSET", "hash-bytes-64", "f", "\u00e9" * 32)],
    "hash-bytes-66": [command("HSET", "hash-bytes-66", "f", "\u00e9" * 33)],
    "hash-empty": [command("HSET", "hash-empty", "", "")],
    "hash-incr": [command("HINCRBY", "hash-incr", "f", 1), command("HSETNX", "hash-incr", "g", 2)],
    "hash-one-by-one": [command("HSET", "hash-one-by-one", *fields(1, value=b"v"))]
    + [command("HSET", "hash-one-by-one", *fields(1, value=b"w" * n)) for n in (10, 70)],
    "set": [command("SADD", "set", 1, 2, 3)],
    "set-512": [command("SADD", "set-512", *range(512))],
    "set-513": [command("SADD", "set-513", *range(513))],
    "set-word": [command("SADD", "set-word", "a")],
    "set-mixed": [command("SADD", "set-mixed", 1, "a")],
    "set-extremes": [
        command("SADD", "set-extremes", "-9223372036854775808", "9223372036854775807", -5)
    ],
    "set-too-big": [command("SADD", "set-too-big", "9223372036854775808")],
    "set-leading-zero": [command("SADD", "set-leading-zero", "01")],
    "set-empty": [command("SADD", "set-empty", "")],
    "set-negative-zero": [command("SADD", "set-negative-zero", "-0")],
    "set-union": [
        command("SADD", "union-a", 1, 2),
        command("SADD", "union-b", 3),
        command("SUNIONSTORE", "set-union", "union-a", "union-b"),
    ],
    "set-union-words": [command("SUNIONSTORE", "set-union-words", "union-a", "set-word")],
    "zset": [command("ZADD", "zset", 1, "a")],
    "zset-128": [command("ZADD", "zset-128", *scored(128))],
    "zset-129": [command("ZADD", "zset-129", *scored(129))],
    "zset-member-64": [command("ZADD", "zset-member-64", 1, b"m" * 64)],
    "zset-member-65": [command("ZADD", "zset-member-65", 1, b"m" * 65)],
    "zset-empty-member": [command("ZADD", "zset-empty-member", 1, "")],
    "zset-incr": [command("ZINCRBY", "zset-incr", 2, "a")],
    "zset-union": [command("ZUNIONSTORE", "zset-union", 2, "zset", "zset-128")],
    "zset-range": [command("ZRANGESTORE", "zset-range", "zset-129", 0, 9)],
    "geo": [command("GEOADD", "geo", "13.361389", "38.115556", "Palermo")],
    "stream": [command("XADD", "stream", "1-1", "f", "v")],
    "stream-groups": [
        command("XADD", "stream-groups", "1-1", "f", "v"),
        command("XGROUP", "CREATE", "stream-groups", "g", "0"),
        command("XREADGROUP", "GROUP", "g", "c", "STREAMS", "stream-groups", ">"),
    ],
}

# key -> commands whose result Redis encodes by how it was made, until a reload
HISTORY: dict[str, list[Command]] = {
    "appended": [command("SET", "appended", "ab"), command("APPEND", "appended", "c")],
    "appended-int": [command("SET", "appended-int", "5"), command("APPEND", "appended-int", "5")],
    "ranged": [command("SET", "ranged", "abc"), command("SETRANGE", "ranged", 0, "1")],
    "bit": [command("SETBIT", "bit", 1, 1)],
    "hll": [command("PFADD", "hll", "a", "b")],
    "float": [command("SET", "float", "1"), command("INCRBYFLOAT", "float", "2")],
    "copied": [command("SET", "original", "7"), command("COPY", "original", "copied")],
    "hash-shrunk": [
        command("HSET", "hash-shrunk", *fields(513)),
        command("HDEL", "hash-shrunk", "f0"),
    ],
    "hash-shortened": [
        command("HSET", "hash-shortened", "f", b"v" * 65),
        command("HSET", "hash-shortened", "f", "v"),
    ],
    "set-shrunk": [command("SADD", "set-shrunk", 1, "a"), command("SREM", "set-shrunk", "a")],
    "zset-shrunk": [
        command("ZADD", "zset-shrunk", *scored(129)),
        command("ZREMRANGEBYRANK", "zset-shrunk", 0, 9),
    ],
    "zset-popped": [
        command("ZADD", "zset-popped", 1, "a", 2, b"m" * 65),
        command("ZPOPMAX", "zset-popped"),
    ],
}


def asked(keys: list[str]) -> list[Command]:
    return [command("OBJECT", sub, key) for key in keys for sub in ("ENCODING", "REFCOUNT")]


ERRORS = [
    *(command("OBJECT"), command("OBJECT", "ENCODING"), command("OBJECT", "ENCODING", "a", "b")),
    *(command("OBJECT", "REFCOUNT"), command("OBJECT", "FREQ"), command("OBJECT", "IDLETIME")),
    *(command("OBJECT", "FREQ", "a", "b"), command("OBJECT", "HELP", "x")),
    *(command("OBJECT", "nosuch", "k"), command("OBJECT", "NoSuch"), command("OBJECT", "")),
    command("OBJECT", b"x" * 200, "k"),
    *(command("OBJECT", "encoding", "nokey"), command("OBJECT", "Refcount", "nokey")),
    *(command("OBJECT", "FREQ", "nokey"), command("OBJECT", "IDLETIME", "nokey")),
    *(command("OBJECT", "FREQ", "s0"), command("OBJECT", "freq", "hash")),
    *(command("MEMORY"), command("MEMORY", "USAGE"), command("MEMORY", "nosuch")),
    *(command("MEMORY", "HELP", "x"), command("MEMORY", "STATS", "x")),
    *(command("MEMORY", "DOCTOR", "x"), command("MEMORY", "PURGE", "x")),
    *(command("MEMORY", "MALLOC-STATS", "x"), command("MEMORY", "USAGE", "nokey")),
    *(command("MEMORY", "USAGE", "nokey", "SAMPLES"), command("MEMORY", "USAGE", "s0", "SAMPLES")),
    command("MEMORY", "USAGE", "nokey", "SAMPLES", "x"),
    command("MEMORY", "USAGE", "s0", "SAMPLES", "1.5"),
    command("MEMORY", "USAGE", "nokey", "SAMPLES", "-1"),
    command("MEMORY", "USAGE", "s0", "samples", "99999999999999999999"),
    *(command("MEMORY", "USAGE", "nokey", "FOO"), command("MEMORY", "USAGE", "hash", "FOO", "1")),
    command("MEMORY", "USAGE", "nokey", "SAMPLES", 0),
    command("MEMORY", "usage", "nokey", "samples", 5, "SAMPLES", 3),
    command("MEMORY", "USAGE", "nokey", "SAMPLES", 5, "SAMPLES"),
]


@pytest.fixture(scope="module")
def reloading_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A redis-server that takes DEBUG RELOAD."""
    folder = tmp_path_factory.mktemp("redis")
    socket = folder / "redis.sock"
    listen = ["--port", "0", "--unixsocket", str(socket), "--enable-debug-command", "yes"]
    with running_redis(folder, listen, socket.exists):
        yield socket


@pytest.mark.parametrize("protocol", [2, 3])
def test_encodings_and_refcounts_are_redis_s(reloading_redis: Path, protocol: int) -> None:
    made = [c for commands in VALUES.values() for c in commands]
    assert_answered_alike(reloading_redis, protocol, made + asked(list(VALUES)))


@pytest.mark.parametrize("protocol", [2, 3])
def test_encodings_made_by_history_are_redis_s_after_a_reload(
    reloading_redis: Path, protocol: int
) -> None:
    made = [c for commands in HISTORY.values() for c in commands]

    def ask(connection: redis.connection.AbstractConnection) -> list[str]:
        answers(connection, made)
        reply_to(connection, command("DEBUG", "RELOAD"))  # ranet: an unknown command
        return answers(connection, asked(list(HISTORY)))

    expected, got = both_answer(reloading_redis, protocol, ask)
    assert got == expected


@pytest.mark.parametrize("protocol", [2, 3])
def test_errors_arities_and_missing_keys_are_redis_s(reloading_redis: Path, protocol: int) -> None:
    made = [*VALUES["s0"], *VALUES["hash"]]
    assert_answered_alike(reloading_redis, protocol, made + ERRORS)


REFUSED_FIRST = [
    *(command("MULTI"), command("OBJECT", "NOSUCH", "k"), command("EXEC")),
    *(command("MULTI"), command("OBJECT", "ENCODING"), command("EXEC")),
    *(command("MULTI"), command("MEMORY", "USAGE"), command("EXEC")),
    *(command("MULTI"), command("XINFO", "STREAM"), command("EXEC")),
    *(command("MULTI"), command("XGROUP", "nosuch"), command("EXEC")),
    command("MULTI"),
    *(command("SET", "n", 1), command("OBJECT", "ENCODING", "n"), command("OBJECT", "FREQ", "n")),
    *(command("MEMORY", "USAGE", "nokey", "SAMPLES", "x"), command("EXEC")),
    *(
        command("EVAL", f"return redis.pcall({call})", 0)
        for call in (
            "'OBJECT', 'NOSUCH', 'k'",
            "'OBJECT', 'ENCODING'",
            "'OBJECT', 'HELP', 'x'",
            "'MEMORY', 'USAGE'",
            "'XGROUP', 'CREATE', 'k'",
            "'OBJECT', 'ENCODING', 'n'",
            "'OBJECT', 'REFCOUNT', 'n'",
            "'OBJECT', 'FREQ', 'n'",
            "'OBJECT', 'IDLETIME', 'nokey'",
        )
    ),
    command("EVAL_RO", "return redis.pcall('MEMORY', 'USAGE', 'nokey')", 0),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_bad_subcommand_is_refused_before_anything_runs(
    reloading_redis: Path, protocol: int
) -> None:
    """As Redis looks a subcommand up with its command: in MULTI an unknown
    one or one of the wrong arity dooms the transaction, and a script's
    call gets Redis's script errors."""
    assert_answered_alike(reloading_redis, protocol, REFUSED_FIRST)


ACL_STEPS = [
    command("SET", "app:1", "1"),
    command("SET", "secret", "1"),
    command("XADD", "secret:stream", "1-1", "f", "v"),
    command("ACL", "SETUSER", "app", "on", "nopass", "+@all", "~app:*", "%W~write:*"),
    command("ACL", "SETUSER", "reader", "on", "nopass", "+@all", "-@read", "~*"),
    *(
        command("ACL", "DRYRUN", user, *call)
        for user in ("app", "reader")
        for call in (
            ("OBJECT", "ENCODING", "app:1"),
            ("OBJECT", "ENCODING", "secret"),
            ("OBJECT", "REFCOUNT", "write:1"),
            ("OBJECT", "HELP"),
            ("MEMORY", "USAGE", "secret", "SAMPLES", "0"),
            ("MEMORY", "USAGE", "write:1"),
            ("MEMORY", "HELP"),
            ("XINFO", "STREAM", "secret:stream"),
        )
    ),
    command("AUTH", "app", "any"),
    command("OBJECT", "ENCODING", "app:1"),
    command("OBJECT", "ENCODING", "secret"),
    command("OBJECT", "FREQ", "secret"),
    command("MEMORY", "USAGE", "secret"),
    command("MEMORY", "USAGE", "write:1"),
    command("XINFO", "STREAM", "secret:stream"),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_restricted_user_is_checked_on_the_key(reloading_redis: Path, protocol: int) -> None:
    """The key is the subcommand's (``object|encoding``, ``memory|usage``
    in the key specs): refused outside the user's patterns, as in Redis."""
    assert_answered_alike(reloading_redis, protocol, ACL_STEPS)
