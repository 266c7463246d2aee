"""DUMP and RESTORE in the store (dump_restore.py): every kind of value
round-trips with its deadline, RESTORE is a deterministic write, and no
payload - damaged, truncated, crafted - does more than answer an error.
Payloads from and to redis-server: test_dump_restore_against_redis.py."""

from __future__ import annotations

import random

import pytest

from ranet.kv import rdb, stream_codec
from ranet.kv.reply import ErrorReply, Status
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call, entry

OK = Status("OK")
BAD_FORMAT = ErrorReply("ERR Bad data format")


def filled() -> KVStore:
    store = KVStore()
    call(store, "SET", "string", "hello")
    call(store, "RPUSH", "list", "a", "b", "a")
    call(store, "SADD", "set", "x", "y")
    call(store, "HSET", "hash", "f", "v", "g", "w")
    call(store, "ZADD", "zset", "-inf", "low", 1.5, "mid", "inf", "high")
    return store


READS = {
    "string": ("GET",),
    "list": ("LRANGE", 0, -1),
    "set": ("SMEMBERS",),
    "hash": ("HGETALL",),
    "zset": ("ZRANGE", 0, -1, "WITHSCORES"),
}


def test_every_kind_of_value_round_trips() -> None:
    source, target = filled(), KVStore()
    for key, (command, *args) in READS.items():
        assert call(target, "RESTORE", key, 0, call(source, "DUMP", key)) == OK
        assert call(target, command, key, *args) == call(source, command, key, *args)
        assert call(target, "DUMP", key) == call(source, "DUMP", key)
    assert call(source, "DUMP", "missing") is None


def test_a_restored_ttl_counts_from_the_log_s_time() -> None:
    """The deadline is the entry's time plus the TTL on every replica, not
    each node's clock when it applies the entry."""
    payload = call(filled(), "DUMP", "string")
    stores = [KVStore(), KVStore()]
    for store in stores:
        store.apply(entry("RESTORE", "k", 5_000, payload, at=1_000))
        store.apply(entry("RESTORE", "abs", 9_000, payload, "ABSTTL", at=1_000))
        store.apply(entry("RESTORE", "gone", 500, payload, "ABSTTL", at=1_000))
    assert stores[0].snapshot() == stores[1].snapshot()
    assert call(stores[0], "PEXPIRETIME", "k") == 6_000
    assert call(stores[0], "PEXPIRETIME", "abs") == 9_000
    assert call(stores[0], "EXISTS", "gone") == 0


def test_restore_keeps_or_replaces_what_is_there() -> None:
    store = filled()
    payload = call(store, "DUMP", "set")
    assert call(store, "RESTORE", "string", 0, payload) == ErrorReply(
        "BUSYKEY Target key name already exists."
    )
    assert call(store, "GET", "string") == b"hello"
    call(store, "EXPIRE", "string", 100)
    assert call(store, "RESTORE", "string", 0, payload, "REPLACE") == OK
    assert call(store, "TYPE", "string") == Status("set")
    assert call(store, "TTL", "string") == -1  # the old deadline went with the old value


def test_a_stream_round_trips_with_its_groups() -> None:
    source, target = KVStore(), KVStore()
    for i in range(1, 260):
        call(source, "XADD", "s", f"{i}-0", *(["f", i] if i % 7 else ["other", i, "more", "x"]))
    call(source, "XDEL", "s", "5-0")
    call(source, "XGROUP", "CREATE", "s", "g", "0")
    call(source, "XREADGROUP", "GROUP", "g", "alice", "COUNT", 3, "STREAMS", "s", ">")
    call(source, "XGROUP", "CREATECONSUMER", "s", "g", "bob")
    call(source, "XGROUP", "CREATE", "s", "later", "$", "ENTRIESREAD", 9)
    assert call(target, "RESTORE", "s", 0, call(source, "DUMP", "s")) == OK
    for command in (
        ("XRANGE", "s", "-", "+"),
        ("XINFO", "STREAM", "s", "FULL"),
        ("XPENDING", "s", "g", "-", "+", 10),
        ("XINFO", "CONSUMERS", "s", "g"),
    ):
        assert call(target, *command) == call(source, *command)
    assert call(target, "DUMP", "s") == call(source, "DUMP", "s")
    restored, original = (store._keyspace.data[b"s"] for store in (target, source))
    assert stream_codec.pack(restored) == stream_codec.pack(original)  # the whole value


def damaged(payload: bytes, rng: random.Random) -> bytes:
    """``payload`` with its records cut, flipped or grown, its checksum made right."""
    records = bytearray(payload[:-10])
    action = rng.randrange(3)
    if action == 0:
        del records[rng.randrange(1, len(records)) :]
    elif action == 1:
        for _ in range(rng.randint(1, 3)):
            records[rng.randrange(len(records))] = rng.randrange(256)
    else:
        position = rng.randrange(len(records))
        records[position:position] = rng.randbytes(rng.randint(1, 8))
    return rdb.with_footer(bytes(records))


def test_damaged_payloads_answer_an_error_or_a_value_never_a_crash() -> None:
    source = filled()
    call(source, "RPUSH", "long", *[f"element{i}" for i in range(100)])
    call(source, "XADD", "stream", "1-1", "f", "v", "g", "w")
    call(source, "XADD", "stream", "2-1", "f", "v2", "g", "w2")
    call(source, "XGROUP", "CREATE", "stream", "group", "0")
    call(source, "XREADGROUP", "GROUP", "group", "c", "COUNT", 1, "STREAMS", "stream", ">")
    payloads = [call(source, "DUMP", key) for key in (*READS, "long", "stream")]
    rng = random.Random(7)
    outcomes = set()
    for i in range(3_000):
        bad = damaged(payloads[i % len(payloads)], rng)
        replies = [
            call(store, "RESTORE", "k", 0, bad, "REPLACE") for store in (KVStore(), KVStore())
        ]
        assert replies[0] == replies[1]
        outcomes.add(replies[0])
    assert outcomes <= {OK, BAD_FORMAT}
    assert {OK, BAD_FORMAT} <= outcomes  # some damage still reads as a value, most does not


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (("0", "x", "IDLETIME", "-1"), "ERR Invalid IDLETIME value, must be >= 0"),
        (("0", "x", "FREQ", "300"), "ERR Invalid FREQ value, must be >= 0 and <= 255"),
        (("-5", "x"), "ERR Invalid TTL value, must be >= 0"),
        (("0", "x"), "ERR DUMP payload version or checksum are wrong"),
        (("0", "x", "KEEPTTL"), "ERR syntax error"),
    ],
)
def test_restore_s_arguments_are_checked(arguments: tuple[str, ...], error: str) -> None:
    assert call(KVStore(), "RESTORE", "k", *arguments) == ErrorReply(error)
