"""Transactions in the state machine: the entry, the versions WATCH reads, snapshots."""

from __future__ import annotations

import random

import msgpack
import pytest

from ranet.errors import SnapshotFormatError
from ranet.kv.envelope import (
    EnvelopeError,
    TransactionEnvelope,
    decode,
    encode_transaction,
)
from ranet.kv.keyspace import VERSION_SLOTS
from ranet.kv.reply import NULL_ARRAY, OK, ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import Arg, argv_of, call, entry
from tests.kv.test_store_model import KEYS, random_command


def transaction(
    *commands: tuple[Arg, ...], watched: list[tuple[bytes, int]] | None = None, at: int = 0
) -> bytes:
    argvs = [argv_of(command) for command in commands]
    return encode_transaction(TransactionEnvelope(at, argvs, watched or []))


def test_a_transaction_runs_reads_and_writes_in_order_each_answered() -> None:
    store = KVStore()
    replies = store.apply(
        transaction(
            ("SET", "a", "1"),
            ("INCR", "a"),
            ("GET", "a"),  # a read sees the writes before it
            ("INCR", "text"),
            ("SET", "text", "x"),
            ("INCR", "text"),  # an error does not stop the others
            ("MGET", "a", "text", "missing"),
            ("PING",),
        )
    )
    assert replies == [
        OK,
        2,
        b"2",
        1,
        OK,
        ErrorReply("ERR value is not an integer or out of range"),
        [b"2", b"x", None],
        ErrorReply("ERR 'ping' is not allowed in a transaction"),
    ]
    assert call(store, "GET", "a") == b"2"


def test_reads_in_a_transaction_use_the_log_clock() -> None:
    store = KVStore()
    store.apply(transaction(("SET", "lease", "v", "PX", "100"), at=1_000))
    assert store.apply(transaction(("GET", "lease"), ("PTTL", "lease"), at=1_050)) == [b"v", 50]
    assert store.apply(transaction(("GET", "lease"), at=1_100)) == [None]


def test_a_watched_key_that_changed_aborts_the_whole_transaction() -> None:
    store = KVStore()
    call(store, "SET", "k", "1")
    [seen] = store.versions([b"k"])
    call(store, "SET", "k", "2")
    assert (
        store.apply(transaction(("SET", "k", "3"), ("SET", "other", "x"), watched=[(b"k", seen)]))
        is NULL_ARRAY
    )
    assert call(store, "GET", "k") == b"2" and call(store, "GET", "other") is None
    [now] = store.versions([b"k"])
    assert store.apply(transaction(("SET", "k", "3"), watched=[(b"k", now)])) == [OK]
    assert call(store, "GET", "k") == b"3"


def test_an_unchanged_watch_with_no_commands_answers_an_empty_list() -> None:
    store = KVStore()
    [seen] = store.versions([b"k"])
    assert store.apply(transaction(watched=[(b"k", seen)])) == []
    call(store, "SET", "k", "1")
    assert store.apply(transaction(watched=[(b"k", seen)])) is NULL_ARRAY


CHANGES: list[tuple[tuple[Arg, ...], ...]] = [
    (("SET", "k", "2"),),
    (("SET", "k", "2", "KEEPTTL"),),
    (("INCR", "n"), ("INCR", "k")),  # INCR of an integer
    (("APPEND", "k", "x"),),
    (("CAS", "k", "1", "2"),),
    (("DEL", "k"),),
    (("GETDEL", "k"),),
    (("MSET", "other", "1", "k", "2"),),
    (("EXPIRE", "k", "100"),),
    (("FLUSHDB",),),
]


@pytest.mark.parametrize("commands", CHANGES, ids=lambda c: " ".join(map(str, c[-1])))
def test_every_change_of_a_key_moves_its_version(commands: tuple[tuple[Arg, ...], ...]) -> None:
    store = KVStore()
    call(store, "SET", "k", "1")
    [before] = store.versions([b"k"])
    for command in commands:
        call(store, *command)
    assert store.versions([b"k"]) != [before]


def test_expiry_and_persist_move_the_version_and_reads_do_not() -> None:
    store = KVStore()
    call(store, "SET", "k", "1", "PX", "100", at=1_000)
    [before] = store.versions([b"k"])
    for read in (("GET", "k"), ("TTL", "k"), ("EXISTS", "k"), ("KEYS", "*"), ("DBSIZE",)):
        call(store, *read)
    call(store, "SET", "k", "1", "NX")  # changes nothing
    assert store.versions([b"k"]) == [before]
    call(store, "PERSIST", "k")
    [persisted] = store.versions([b"k"])
    assert persisted != before
    call(store, "PEXPIRE", "k", "100", at=1_000)
    [leased] = store.versions([b"k"])
    call(store, "SET", "unrelated-clock-tick", "x", at=1_200)  # k expires on this entry
    assert call(store, "GET", "k") is None
    assert store.versions([b"k"]) != [leased]


def test_versions_survive_a_snapshot_so_every_replica_decides_alike() -> None:
    store = KVStore()
    for i in range(200):
        call(store, "SET", f"key:{i}", i)
    call(store, "DEL", "key:7")
    [seen] = store.versions([b"key:7"])
    restored = KVStore()
    restored.restore(store.snapshot())
    assert restored.versions([b"key:7", b"key:8"]) == store.versions([b"key:7", b"key:8"])
    later = transaction(("SET", "key:7", "x"), watched=[(b"key:7", seen)])
    assert restored.apply(later) == store.apply(later) == [OK]
    stale = transaction(("SET", "key:7", "y"), watched=[(b"key:7", seen)])
    assert restored.apply(stale) is store.apply(stale) is NULL_ARRAY


def test_a_snapshot_from_before_transactions_restores_with_versions_at_zero() -> None:
    old = {
        "format": "ranet.kv/1",
        "clock_ms": 5,
        "data": [[[b"k", b"v"]]],
        "expires": {},
        "sessions": [],
    }
    store = KVStore()
    store.restore(msgpack.packb(old))
    assert call(store, "GET", "k") == b"v"
    assert store.versions([b"k"]) == [0]


@pytest.mark.parametrize(
    "versions",
    [
        b"\x00" * 8,  # too short
        b"\xff" * 8 * VERSION_SLOTS,  # -1
        [0] * VERSION_SLOTS,  # not bytes
    ],
)
def test_a_snapshot_with_bad_versions_is_refused(versions: object) -> None:
    fields = msgpack.unpackb(KVStore().snapshot())
    fields["versions"] = versions
    with pytest.raises(SnapshotFormatError):
        KVStore().restore(msgpack.packb(fields))


@pytest.mark.parametrize(
    "fields",
    [
        [0, 0, 1, [[b"GET", b"k"]], [[b"k"]]],  # a watch without a version
        [0, 0, 1, [[b"GET", b"k"]], [[b"k", -1]]],
        [0, 0, 1, [[b"GET", b"k"]], [["k", 1]]],  # a key that is not bytes
        [0, 0, 1, [[b"GET", b"k"]], {}],
        [0, 0, 1, [b"GET", b"k"], []],  # commands that are not a list of commands
        [1, 2, 1, [[b"GET", b"k"]], []],  # a session
        [0, 0, -1, [[b"GET", b"k"]], []],
    ],
)
def test_a_malformed_transaction_entry_is_refused_and_changes_nothing(fields: list[object]) -> None:
    data = msgpack.packb(fields)
    with pytest.raises(EnvelopeError):
        decode(data)
    store = KVStore()
    reply = store.apply(data)
    assert isinstance(reply, ErrorReply) and reply.message.startswith("ERR malformed log entry")
    assert store.clock_ms == 0 and len(store) == 0


@pytest.mark.parametrize("seed", range(5))
def test_replicas_restored_from_snapshots_decide_every_watch_alike(seed: int) -> None:
    """Random writes and transactions watching versions read at random earlier
    points: a replica that restores a snapshot now and then gives exactly the
    replies of one that applied every entry."""
    rng = random.Random(seed)
    replayed, restored = KVStore(), KVStore()
    seen: list[tuple[bytes, int]] = []
    aborted = 0
    for step in range(2_000):
        at = step * 10
        in_transaction = rng.random() < 0.3
        if in_transaction:
            watched = rng.sample(seen, min(len(seen), rng.randint(0, 2)))
            commands = [random_command(rng) for _ in range(rng.randint(0, 3))]
            data = encode_transaction(TransactionEnvelope(at, commands, watched))
        else:
            data = entry(*random_command(rng), at=at)
        reply = replayed.apply(data)
        assert restored.apply(data) == reply, f"seed {seed}, step {step}"
        aborted += in_transaction and reply is NULL_ARRAY
        key = rng.choice(KEYS)
        seen = [*seen[-5:], (key, replayed.versions([key])[0])]
        if rng.random() < 0.02:
            restored = KVStore()
            restored.restore(replayed.snapshot())
    assert aborted > 0  # some watches did see a change
