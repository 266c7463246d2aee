"""Hashes in the state machine (kv/hashes.py): the commands, WRONGTYPE both
ways, WATCH versions, and snapshots - whose serialization, running after the
capture on another thread, must see the hashes as they were at the capture
(copy-on-write, keyspace.py). Replies worded as Redis's are checked against
redis-server itself in test_against_redis.py."""

from __future__ import annotations

import random
from collections.abc import Callable

import msgpack
import pytest

from ranet.errors import SnapshotFormatError
from ranet.kv.arguments import MAX_REPEATS, WRONG_TYPE
from ranet.kv.reply import OK, ErrorReply, Scored, Status
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import as_format, call, entry, moves_version
from tests.kv.test_store_model import KEYS, VALUES, random_command

FIELDS = [b"f", b"g", b"h"]
WRONG_TYPES = [
    ("GET", "h"), ("INCR", "h"), ("APPEND", "h", "x"), ("CAS", "h", "a", "b"), ("STRLEN", "h"),
    ("HGET", "s", "f"), ("HSET", "s", "f", "v"), ("HINCRBY", "s", "f", "1"), ("HLEN", "s"),
]  # fmt: skip


def test_the_commands_change_and_read_a_hash() -> None:
    store = KVStore()
    assert call(store, "HSET", "h", "f", "1", "g", "2") == 2
    assert call(store, "HSET", "h", "f", "one", "x", "3") == 1
    assert call(store, "HGETALL", "h") == {b"f": b"one", b"g": b"2", b"x": b"3"}
    assert call(store, "HINCRBY", "h", "n", "-4") == -4
    assert call(store, "HINCRBY", "h", "f", "1") == ErrorReply("ERR hash value is not an integer")
    assert call(store, "HDEL", "h", "f", "g", "x", "nope") == 3
    assert call(store, "HDEL", "h", "n") == 1
    assert call(store, "EXISTS", "h") == 0  # the last field took the key with it
    assert call(store, "HGETALL", "h") == {}


def test_a_string_command_on_a_hash_and_a_hash_command_on_a_string_answer_wrongtype() -> None:
    store = KVStore()
    call(store, "HSET", "h", "f", "v")
    call(store, "SET", "s", "1")
    for command in WRONG_TYPES:
        assert call(store, *command) == WRONG_TYPE, command
    assert call(store, "MGET", "h", "s") == [None, b"1"]
    assert (call(store, "TYPE", "h"), call(store, "TYPE", "s")) == (
        Status("hash"),
        Status("string"),
    )
    assert call(store, "SET", "h", "now a string") == OK  # SET replaces any type
    assert call(store, "GET", "h") == b"now a string"


def test_changes_move_the_version_and_no_ops_and_reads_do_not() -> None:
    store = KVStore()
    call(store, "HSET", "h", "f", "v")

    def moved(*command: str) -> bool:
        return moves_version(store, b"h", *command)

    assert moved("HSET", "h", "f", "v")  # Redis signals every HSET
    assert moved("HINCRBY", "h", "n", "1")
    assert moved("HDEL", "h", "n")
    assert moved("HSETNX", "h", "new", "v")
    assert not moved("HSETNX", "h", "f", "other")
    assert not moved("HDEL", "h", "absent")
    for read in (("HGET", "h", "f"), ("HGETALL", "h"), ("HSCAN", "h", "0"), ("HLEN", "h")):
        assert not moved(*read)


def test_a_snapshot_holds_the_hashes_as_they_were_at_its_capture() -> None:
    """The capture copies the key space's dict, not each hash: without the
    copy-on-write of hashes, the changes below would leak into the snapshot."""
    store = KVStore()
    call(store, "HSET", "h", "f", "1", "g", "2")
    call(store, "HSET", "other", "f", "1")
    expected = store.snapshot()
    serialize = store.snapshot_later()
    call(store, "HSET", "h", "f", "changed", "new", "3")
    call(store, "HDEL", "h", "g")
    call(store, "HINCRBY", "other", "f", "5")
    assert b"".join(serialize()) == expected
    restored = KVStore()
    restored.restore(expected)
    assert call(restored, "HGETALL", "h") == {b"f": b"1", b"g": b"2"}
    assert call(store, "HGETALL", "h") == {b"f": b"changed", b"new": b"3"}


def random_command_of_any_type(rng: random.Random) -> list[bytes]:
    """A string, hash, set, list or sorted set command on a few shared keys
    (so types collide)."""
    if rng.random() < 0.4:
        return random_command(rng)
    key, other, part, value = (
        rng.choice(KEYS),
        rng.choice(KEYS),
        rng.choice(FIELDS),
        rng.choice(VALUES),
    )
    return rng.choice([
        [b"HSET", key, part, value, rng.choice(FIELDS), rng.choice(VALUES)],
        [b"HSETNX", key, part, value],
        [b"HDEL", key, part, rng.choice(FIELDS)],
        [b"HINCRBY", key, part, rng.choice([b"1", b"-3", b"9223372036854775807"])],
        [b"HGETALL", key],
        [b"SADD", key, part, rng.choice(FIELDS)],
        [b"SREM", key, part],
        [b"SPOP", key, *rng.choice([[], [b"2"]])],
        [b"SMOVE", key, other, part],
        [b"SUNIONSTORE", key, other, rng.choice(KEYS)],
        [b"SINTER", key, other],
        [b"SMEMBERS", key],
        [rng.choice([b"LPUSH", b"RPUSH"]), key, part, value],
        [rng.choice([b"LPOP", b"RPOP"]), key, *rng.choice([[], [b"2"]])],
        [b"LSET", key, rng.choice([b"0", b"-1"]), value],
        [b"LREM", key, rng.choice([b"0", b"1", b"-1"]), part],
        [b"LINSERT", key, b"BEFORE", part, value],
        [b"LTRIM", key, b"1", b"-1"],
        [b"LMOVE", key, other, b"LEFT", b"RIGHT"],
        [b"LRANGE", key, b"0", b"-1"],
        [b"ZADD", key, rng.choice([b"1", b"-2.5", b"inf"]), part, b"3", rng.choice(FIELDS)],
        [b"ZINCRBY", key, rng.choice([b"1", b"-inf"]), part],
        [b"ZREM", key, part],
        [rng.choice([b"ZPOPMIN", b"ZPOPMAX"]), key, *rng.choice([[], [b"2"]])],
        [b"ZREMRANGEBYSCORE", key, b"(0", b"2"],
        [b"ZUNIONSTORE", key, b"2", other, rng.choice(KEYS), b"WEIGHTS", b"2", b"1"],
        [b"ZRANGESTORE", key, other, b"0", b"1"],
        [b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"],
    ])  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_a_snapshot_serialized_later_is_the_state_at_its_capture(seed: int) -> None:
    """Random string, hash, set, list and sorted set commands; now and then a snapshot is captured
    and serialized only some entries later, as a node's worker does: it must
    be byte for byte the snapshot serialized at once, and a replica restored
    from it must answer as the one that applied everything."""
    rng = random.Random(seed)
    store, replica = KVStore(), KVStore()
    pending: list[tuple[Callable[[], list[bytes]], bytes, int]] = []
    checked = 0
    for step in range(3_000):
        data = entry(*random_command_of_any_type(rng), at=step * 10)
        reply = store.apply(data)
        assert replica.apply(data) == reply, f"seed {seed}, step {step}"
        if rng.random() < 0.05:
            pending.append((store.snapshot_later(), store.snapshot(), step))
        for later in [p for p in pending if rng.random() < 0.2]:
            serialize, expected, taken = later
            assert b"".join(serialize()) == expected, f"taken at {taken}, serialized at {step}"
            pending.remove(later)
            checked += 1
        if rng.random() < 0.02:
            replica = KVStore()
            replica.restore(store.snapshot())
    assert checked > 50


@pytest.mark.parametrize(
    "value, reason",
    [
        ({}, "sorted sets or streams"),
        ({b"f": 1}, "sorted sets or streams"),
        ({b"f": b"v", b"g": None}, "sorted sets or streams"),
        ({1: b"v"}, "undecodable"),
    ],
    ids=["empty", "value not bytes", "hash and set mixed", "field not bytes"],
)
def test_a_snapshot_with_a_malformed_hash_is_refused(value: object, reason: str) -> None:
    store = KVStore()
    call(store, "HSET", "h", "f", "v")
    fields = msgpack.unpackb(store.snapshot(), strict_map_key=False)
    fields["data"] = [[[b"h", value]]]
    with pytest.raises(SnapshotFormatError, match=reason):
        KVStore().restore(msgpack.packb(fields))


def test_a_format_2_snapshot_may_hold_no_hash() -> None:
    store = KVStore()
    call(store, "HSET", "h", "f", "v")
    fields = msgpack.unpackb(store.snapshot())
    as_format(fields, "ranet.kv/2")
    with pytest.raises(SnapshotFormatError, match="sorted sets or streams"):
        KVStore().restore(msgpack.packb(fields))
    call(store, "DEL", "h")
    call(store, "SET", "s", "v")
    fields = msgpack.unpackb(store.snapshot())
    as_format(fields, "ranet.kv/2")
    restored = KVStore()
    restored.restore(msgpack.packb(fields))  # a format 2 snapshot of strings still restores
    assert call(restored, "GET", "s") == b"v"


def test_hrandfield_draws_fields_values_and_repeats_within_bounds() -> None:
    store = KVStore()
    call(store, "HSET", "h", "a", "1", "b", "2", "c", "3")
    assert sorted(call(store, "HRANDFIELD", "h", 5)) == [b"a", b"b", b"c"]  # type: ignore[type-var]
    repeats = call(store, "HRANDFIELD", "h", -7)
    assert isinstance(repeats, list) and len(repeats) == 7 and set(repeats) <= {b"a", b"b", b"c"}
    pairs = call(store, "HRANDFIELD", "h", 2, "WITHVALUES")
    assert isinstance(pairs, Scored) and all(call(store, "HGET", "h", f) == v for f, v in pairs)
    too_many = call(store, "HRANDFIELD", "h", -(MAX_REPEATS + 1))
    assert isinstance(too_many, ErrorReply) and "out of range" in too_many.message
    assert call(store, "HRANDFIELD", "absent", -(MAX_REPEATS + 1)) == []  # as Redis: no key first
