"""DUMP and RESTORE against redis-server 7.0: payloads Redis dumps restore
in ranet, payloads ranet dumps restore in Redis, and payloads in the older
and packed encodings (Redis 6's ziplists and quicklists, intsets,
listpacks, text scores), crafted here by the formats' rules, restore alike
in both - the same replies, errors included, in RESP2 and RESP3.

DUMP's own bytes are not compared: ranet writes the plain RDB types, Redis
its packed encodings; each reads the other's."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import redis

from ranet.kv import rdb

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    assert_answered_alike,
    both_answer,
    pytestmark,
    redis_server,
    reply_to,
    served,
)
from .test_streams_against_redis import _timeless

# Values of every kind, small (Redis packs them) and large (it does not).
VALUES: dict[str, tuple[str, list[object]]] = {
    "text": ("SET", ["hello"]),
    "integer": ("SET", [12345]),
    "negative": ("SET", [-9_000_000_000]),
    "compressible": ("SET", ["ab" * 500]),
    "short_list": (
        "RPUSH",
        [0, -1, 127, 128, 4095, 4096, -4096, 2**31, -(2**63), "text", "x" * 70],
    ),
    "long_list": ("RPUSH", [f"element-{i}" * 20 for i in range(400)]),
    "integers": ("SADD", [1, -2, 40000, 2**40]),
    "members": ("SADD", ["a", "b", "c"]),
    "many_members": ("SADD", [f"m{i}" for i in range(300)]),
    "short_hash": ("HSET", ["f1", "v1", "f2", 2, "f3", "x" * 100]),
    "long_hash": ("HSET", [x for i in range(300) for x in (f"f{i}", f"v{i}")]),
    "short_zset": ("ZADD", [1, "a", 2.5, "b", -3, "c", "inf", "top", "-inf", "bottom"]),
    "long_zset": ("ZADD", [x for i in range(300) for x in (i / 8, f"m{i}")]),
}


# Streams: entries with the first entry's fields and others, one deleted,
# two groups, pending entries of two consumers, one acknowledged; an empty
# stream that has had an entry.
STREAMS: list[list[object]] = [
    *(["XADD", "stream", f"{i + 1}-{i % 3}", "f", i, "g", "x"] for i in range(150)),
    *(["XADD", "stream", f"{i}-0", "other", i] for i in range(200, 260)),
    ["XDEL", "stream", "2-1"],
    ["XGROUP", "CREATE", "stream", "g1", "0"],
    ["XGROUP", "CREATE", "stream", "g2", "$"],
    ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", 5, "STREAMS", "stream", ">"],
    ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", 2, "STREAMS", "stream", ">"],
    ["XACK", "stream", "g1", "1-0"],
    ["XGROUP", "CREATECONSUMER", "stream", "g2", "idle"],
    ["XADD", "emptied", "5-5", "a", 1],
    ["XTRIM", "emptied", "MAXLEN", 0],
]


def stream_reads(key: str) -> list[list[object]]:
    return [
        ["XLEN", key],
        ["XRANGE", key, "-", "+"],
        ["XINFO", "STREAM", key, "FULL"],
        ["XINFO", "CONSUMERS", key, "g1"],
        ["XINFO", "GROUPS", key],
        ["XPENDING", key, "g1"],
        ["XPENDING", key, "g1", "-", "+", 10],
        ["XADD", key, "9999-0", "after", "restore"],
        ["XREADGROUP", "GROUP", "g1", "carol", "COUNT", 3, "STREAMS", key, ">"],
        ["XINFO", "GROUPS", key],
    ]


def reads(key: str) -> list[list[str]]:
    """Commands that read the whole of ``key``, in an order both agree on."""
    return [
        ["TYPE", key],
        ["GET", key],
        ["LRANGE", key, "0", "-1"],
        ["SORT", key, "ALPHA"],
        ["SCARD", key],
        ["HLEN", key],
        ["HMGET", key, "f1", "f2", "f3", "f299"],
        ["ZRANGE", key, "0", "-1", "WITHSCORES"],
        ["TTL", key],
    ]


def fill(connection: redis.Redis) -> None:
    for key, (command, args) in VALUES.items():
        connection.execute_command(command, key, *args)
    for command in STREAMS:
        connection.execute_command(*command)


def as_bytes(commands: list[list[object]]) -> list[list[bytes]]:
    return [[w if isinstance(w, bytes) else str(w).encode() for w in c] for c in commands]


@pytest.mark.parametrize("protocol", [2, 3])
def test_what_redis_dumps_restores_in_ranet(redis_server: Path, protocol: int) -> None:  # noqa: F811
    reference = redis.Redis(unix_socket_path=str(redis_server))
    reference.flushall()
    fill(reference)
    payloads = {key: reference.dump(key) for key in VALUES}
    commands: list[list[object]] = []
    for key, payload in payloads.items():
        commands += [["RESTORE", key, 0, payload], *reads(key)]
    some = payloads["short_hash"]
    commands += [
        ["RESTORE", "short_hash", 0, some],  # BUSYKEY
        ["RESTORE", "short_hash", 0, payloads["text"], "REPLACE"],
        ["GET", "short_hash"],
        ["RESTORE", "ttl", 100_000, some],
        ["TTL", "ttl"],
        ["RESTORE", "absolute", 4_102_444_800_000, some, "ABSTTL"],
        ["EXPIRETIME", "absolute"],
        ["RESTORE", "past", 1_000, some, "ABSTTL"],
        ["EXISTS", "past"],
        ["RESTORE", "text", 1_000, some, "ABSTTL", "REPLACE"],  # replaced, already expired
        ["EXISTS", "text"],
        ["RESTORE", "idle", 0, some, "IDLETIME", 100],
        ["RESTORE", "freq", 0, some, "FREQ", 100],
        ["RESTORE", "x", 0, some, "IDLETIME", -1],
        ["RESTORE", "x", 0, some, "FREQ", 256],
        ["RESTORE", "x", 0, some, "FREQ", "many"],
        ["RESTORE", "x", 0, some, "IDLETIME", 1, "FREQ", 1],
        ["RESTORE", "x", 0, some, "IDLETIME"],
        ["RESTORE", "x", 0, some, "NOSUCH"],
        ["RESTORE", "x", -1, some],
        ["RESTORE", "x", "soon", some],
        ["RESTORE", "x", 0, some[:-1] + bytes((some[-1] ^ 1,))],
        ["RESTORE", "x", 0, "short"],
        ["RESTORE", "x", 0],
        ["EXISTS", "x"],
        ["DUMP", "nokey"],
        ["DUMP"],
    ]
    assert_answered_alike(redis_server, protocol, as_bytes(commands))


def payload(record: bytes, version: int = 9) -> bytes:
    body = record + struct.pack("<H", version)
    return body + struct.pack("<Q", rdb.crc64(body))


def fitting(number: int, encodings: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """The first (code, size in bytes) whose signed integer holds ``number``."""
    return next(
        (code, size)
        for code, size in encodings
        if -(1 << 8 * size - 1) <= number < 1 << 8 * size - 1
    )


def ziplist(items: list[bytes | int]) -> bytes:
    """A ziplist by Redis 6's rules: each entry its previous entry's size,
    its encoding (the smallest that holds it), its data."""
    entries, previous = [], 0
    for item in items:
        prevlen = bytes((previous,)) if previous < 254 else b"\xfe" + struct.pack("<I", previous)
        if isinstance(item, int):
            if 0 <= item <= 12:
                body = bytes((0xF1 + item,))
            else:
                code, size = fitting(item, ((0xFE, 1), (0xC0, 2), (0xF0, 3), (0xD0, 4), (0xE0, 8)))
                body = bytes((code,)) + item.to_bytes(size, "little", signed=True)
        elif len(item) < 64:
            body = bytes((len(item),)) + item
        elif len(item) < 16384:
            body = bytes((0x40 | len(item) >> 8, len(item) & 0xFF)) + item
        else:
            body = b"\x80" + struct.pack(">I", len(item)) + item
        entries.append(prevlen + body)
        previous = len(prevlen + body)
    content = b"".join(entries)
    tail = 10 + len(content) - len(entries[-1]) if entries else 10
    return struct.pack("<IIH", 11 + len(content), tail, len(items)) + content + b"\xff"


def intset(width: int, values: list[int]) -> bytes:
    code = {2: "<h", 4: "<i", 8: "<q"}[width]
    return struct.pack("<II", width, len(values)) + b"".join(struct.pack(code, v) for v in values)


def string(value: bytes) -> bytes:
    return rdb.encode_string(value)


MIXED = [b"a", 0, 12, 13, -1, 127, 128, 255, -129, 40000, -40000, 2**23 - 1, 2**31, -(2**63)]
MIXED += [b"x" * 63, b"y" * 64, b"z" * 300]
PAIRS: list[bytes | int] = [b"f1", b"v1", b"f2", 2, b"f3", b"w" * 100, 7, b"seven"]
SCORED: list[bytes | int] = [b"a", 1, b"b", b"2.5", b"c", -3, b"d", b"inf", b"e", b"-1024.25"]
CRAFTED: dict[str, bytes] = {
    "list_ziplist": b"\x0a" + string(ziplist(MIXED)),
    "quicklist": b"\x0e\x02" + string(ziplist(MIXED[:5])) + string(ziplist(MIXED[5:])),
    "quicklist_2": b"\x12\x03\x02"
    + string(rdb.encode_listpack(MIXED[:5]))
    + b"\x01"
    + string(b"plain element")
    + b"\x02"
    + string(rdb.encode_listpack(MIXED[5:])),
    "intset_16": b"\x0b" + string(intset(2, [-5, 1, 300])),
    "intset_32": b"\x0b" + string(intset(4, [-70000, 1, 70000])),
    "intset_64": b"\x0b" + string(intset(8, [-(2**40), 0, 2**40])),
    "hash_ziplist": b"\x0d" + string(ziplist(PAIRS)),
    "hash_listpack": b"\x10" + string(rdb.encode_listpack(PAIRS)),
    "zset_ziplist": b"\x0c" + string(ziplist(SCORED)),
    "zset_listpack": b"\x11" + string(rdb.encode_listpack(SCORED)),
    "old_list": b"\x01\x02" + string(b"one") + string(b"two"),
    "old_set": b"\x02\x02" + string(b"one") + string(b"two"),
    "old_hash": b"\x04\x01" + string(b"f1") + string(b"v1"),
    "old_zset": b"".join(
        (b"\x03\x03", string(b"a"), b"\x031.5", string(b"b"), b"\xfe", string(b"c"), b"\xff")
    ),
    "zset_2": b"\x05\x02"
    + string(b"a")
    + struct.pack("<d", 0.125)
    + string(b"b")
    + struct.pack("<d", -2.0),
    "int_string": b"\x00\xc1\x39\x30",
}
MALFORMED: dict[str, bytes] = {
    "empty_list": b"\x01\x00",
    "empty_set": b"\x02\x00",
    "empty_ziplist": b"\x0a" + string(ziplist([])),
    "empty_intset": b"\x0b" + string(intset(2, [])),
    "duplicate_member": b"\x02\x02" + string(b"one") + string(b"one"),
    "duplicate_field": b"\x04\x02" + string(b"f") + string(b"1") + string(b"f") + string(b"2"),
    "nan_score": b"\x05\x01" + string(b"a") + struct.pack("<d", float("nan")),
    "text_nan_score": b"\x03\x01" + string(b"a") + b"\xfd",
    "odd_hash": b"\x10" + string(rdb.encode_listpack([b"f1", b"v1", b"f2"])),
    "truncated_list": b"\x01\x03" + string(b"one"),
    "unknown_type": b"\x08" + string(b"x"),
    "zipmap": b"\x09" + string(b"\x00\xff"),
    "bad_intset_width": b"\x0b" + string(intset(2, [1])[:0] + struct.pack("<II", 3, 0)),
    "truncated_ziplist": b"\x0a" + string(ziplist(MIXED)[:-3] + b"\xff"),
    "bad_quicklist_node": b"\x12\x01\x05" + string(b"x"),
}


@pytest.mark.parametrize("protocol", [2, 3])
def test_crafted_payloads_restore_alike(redis_server: Path, protocol: int) -> None:  # noqa: F811
    commands: list[list[object]] = []
    for key, record in CRAFTED.items():
        commands += [["RESTORE", key, 0, payload(record)], *reads(key)]
    for key, record in MALFORMED.items():
        commands += [["RESTORE", key, 0, payload(record)], ["EXISTS", key]]
    commands.append(["RESTORE", "v11", 0, payload(CRAFTED["old_list"], version=11)])
    # Redis checks a payload's packed encodings only when asked to (without,
    # some of these crash it); ranet always does
    redis.Redis(unix_socket_path=str(redis_server)).config_set("sanitize-dump-payload", "yes")
    assert_answered_alike(redis_server, protocol, as_bytes(commands))


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_stream_redis_dumps_restores_in_ranet(redis_server: Path, protocol: int) -> None:  # noqa: F811
    """Entries, counters, groups, pending entries and consumers, read back
    as XINFO, XPENDING and XREADGROUP see them (without the clock's times
    and Redis's radix tree: test_streams_against_redis.py)."""
    reference = redis.Redis(unix_socket_path=str(redis_server))
    reference.flushall()
    for command in STREAMS:
        reference.execute_command(*command)
    commands: list[list[object]] = []
    for key in ("stream", "emptied"):
        commands += [["RESTORE", key, 0, reference.dump(key)], *stream_reads(key)]

    def ask(connection: redis.connection.AbstractConnection) -> list[str]:
        return [
            f"{command[:2]} -> {_timeless(command, reply_to(connection, command))!r}"  # type: ignore[arg-type]
            for command in commands
        ]

    expected, got = both_answer(redis_server, protocol, ask)
    assert got == expected
    assert got[0].endswith("-> 'OK'") or got[0].endswith("-> b'OK'"), got[0]


def test_what_ranet_dumps_restores_in_redis(redis_server: Path) -> None:  # noqa: F811
    reference = redis.Redis(unix_socket_path=str(redis_server))
    reference.flushall()
    with served() as server:
        ours = redis.Redis(port=server.port)
        fill(ours)
        ours.zadd("scores", {"neg_zero": -0.0, "tiny": 5e-324, "big": 1.7976931348623157e308})
        keys = [*VALUES, "scores", "stream", "emptied"]
        for key in keys:
            assert reference.restore(key, 0, ours.dump(key))
        checks = [c for key in VALUES for c in reads(key)]
        checks += [c for key in ("stream", "emptied") for c in stream_reads(key)]
        checks.append(["ZRANGE", "scores", 0, -1, "WITHSCORES"])
        raw_reference = redis.connection.UnixDomainSocketConnection(path=str(redis_server))
        raw_ours = redis.connection.Connection(host="127.0.0.1", port=server.port)
        for command in checks:
            assert answer(raw_reference, command) == answer(raw_ours, command), command


def answer(connection: redis.connection.AbstractConnection, command: list[object]) -> object:
    """The reply, an error as its text, without the clock's times and
    Redis's radix tree (test_streams_against_redis.py)."""
    sent = [word if isinstance(word, bytes) else str(word) for word in command]
    return _timeless([str(word) for word in command], reply_to(connection, sent))


def redis_6_stream() -> bytes:
    """A stream as Redis 6 writes one (RDB_TYPE_STREAM_LISTPACKS, RDB 9): an
    entry with the master fields, a deleted one, one with its own fields; a
    group with an entry pending for its consumer."""
    length, text = rdb.encode_length, rdb.encode_string
    first = struct.pack(">QQ", 5, 0)
    items: list[bytes | int] = [2, 1, 2, b"f", b"g", 0]  # live, deleted, master fields, 0
    items += [2, 0, 0, b"1", b"2", 5]  # 5-0: the master's fields, values only
    items += [3, 1, 0, b"x", b"y", 5]  # 6-0: deleted
    items += [0, 2, 1, 1, b"h", b"3", 6]  # 7-1: fields of its own
    record = b"\x0f" + length(1) + text(first) + text(rdb.encode_listpack(items))
    record += length(2) + length(7) + length(1)  # length, last ID
    record += length(1) + text(b"g1") + length(5) + length(0)  # a group, its last ID
    record += length(1) + first + struct.pack("<q", 1_000) + length(1)  # its pending entry
    record += length(1) + text(b"alice") + struct.pack("<q", 1_000) + length(1) + first
    return payload(record)


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_redis_6_stream_restores_alike(redis_server: Path, protocol: int) -> None:  # noqa: F811
    """Counters Redis 6 did not write, derived as Redis 7.0 derives them."""
    commands = [["RESTORE", "old", 0, redis_6_stream()], *stream_reads("old")]

    def ask(connection: redis.connection.AbstractConnection) -> list[str]:
        return [f"{command[:2]} -> {answer(connection, command)!r}" for command in commands]

    expected, got = both_answer(redis_server, protocol, ask)
    assert got == expected
    assert got[0].endswith("-> 'OK'") or got[0].endswith("-> b'OK'"), got[0]
