"""SCAN: pages over the key slots, with Redis's guarantee that a key present
for the whole iteration is returned (here exactly once)."""

from __future__ import annotations

import random

import pytest

from ranet.kv import keyspace as keyspace_module
from ranet.kv.keyspace import SCAN_START
from ranet.kv.reply import ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call
from tests.kv.test_store_model import random_command


def scan_all(store: KVStore, *options: str) -> list[bytes]:
    """Every key a whole SCAN iteration returns, in order, duplicates kept."""
    keys: list[bytes] = []
    cursor = b"0"
    for _ in range(100_000):
        reply = call(store, "SCAN", cursor, *options)
        assert isinstance(reply, list), reply
        cursor, page = reply
        keys += page
        if cursor == b"0":
            return keys
    raise AssertionError("SCAN never ended")


def test_a_whole_iteration_returns_every_key_once() -> None:
    store = KVStore()
    for i in range(1_000):
        call(store, "SET", f"key:{i}", i)
    for count in ("1", "7", "1000", "100000"):
        keys = scan_all(store, "COUNT", count)
        assert sorted(keys) == sorted(f"key:{i}".encode() for i in range(1_000))


def test_pages_hold_about_count_keys() -> None:
    store = KVStore()
    for i in range(1_000):
        call(store, "SET", f"key:{i}", i)
    cursor, page = call(store, "SCAN", "0", "COUNT", "50")  # type: ignore[misc]
    assert cursor != b"0" and 50 <= len(page) < 60  # whole slots: a few more at most


def test_match_type_and_expired_keys() -> None:
    store = KVStore()
    call(store, "MSET", "user:1", "a", "user:2", "b", "order:1", "c")
    call(store, "SET", "lease", "x", "PX", "100", at=1_000)
    assert sorted(scan_all(store, "MATCH", "user:*")) == [b"user:1", b"user:2"]
    assert scan_all(store, "TYPE", "hash") == []
    assert len(scan_all(store, "TYPE", "STRING")) == 4
    assert (
        store.read_many([[b"SCAN", b"0", b"COUNT", b"100"]], now_ms=1_200)[0][1].count(b"lease")
        == 0
    )  # past its deadline for a read ahead of the log


def test_a_key_present_throughout_is_returned_whatever_changes_meanwhile() -> None:
    store = KVStore()
    for i in range(300):
        call(store, "SET", f"stays:{i}", i)
    seen: list[bytes] = []
    cursor = b"0"
    step = 0
    while True:
        cursor, page = call(store, "SCAN", cursor, "COUNT", "5")  # type: ignore[misc]
        seen += page
        call(store, "SET", f"new:{step}", "x")  # keys come and go between pages
        call(store, "DEL", f"new:{step - 3}")
        step += 1
        if cursor == b"0":
            break
    stays = [key for key in seen if key.startswith(b"stays:")]
    assert sorted(stays) == sorted(f"stays:{i}".encode() for i in range(300))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("x",), "ERR invalid cursor"),
        (("-1",), "ERR invalid cursor"),  # Redis reads it as 2**64 - 1
        (("18446744073709551616",), "ERR invalid cursor"),
        (("0", "COUNT", "0"), "ERR syntax error"),
        (("0", "COUNT", "x"), "ERR value is not an integer or out of range"),
        (("0", "COUNT"), "ERR syntax error"),
        (("0", "SIZE", "3"), "ERR syntax error"),
    ],
)
def test_bad_arguments_are_refused_as_redis_refuses_them(args: tuple[str, ...], error: str) -> None:
    assert call(KVStore(), "SCAN", *args) == ErrorReply(error)


@pytest.mark.parametrize("seed", range(5))
def test_the_slot_index_follows_every_change(seed: int) -> None:
    """Once a SCAN has built the index, every write keeps it exact: a whole
    iteration always returns exactly KEYS *."""
    rng = random.Random(seed)
    store = KVStore()
    scan_all(store)
    extra = [["SET", "k", "v", "KEEPTTL"], ["INCR", "fresh"], ["RENAME", "a", "moved"],
             ["RENAMENX", "b", "c"], ["GETEX", "c", "PX", "5"], ["SETNX", "z", "1"],
             ["MSETNX", "y", "1", "x", "2"], ["UNLINK", "y"], ["GETSET", "g", "1"]]  # fmt: skip
    for step in range(3_000):
        argv = rng.choice(extra) if rng.random() < 0.2 else random_command(rng)
        call(store, *argv, at=step * 3)
        if step % 100 == 0:
            assert sorted(scan_all(store)) == sorted(call(store, "KEYS", "*")), step
            # and it holds nothing else: a removed key leaves it (no leak)
            keyspace = store._keyspace
            assert sum(map(len, keyspace._by_slot)) == len(keyspace.data), step


def test_a_large_store_is_indexed_a_chunk_per_call_behind_empty_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first SCAN of a store with more than INDEX_CHUNK keys does not
    stall the node: each call indexes one chunk and answers an empty page
    with a cursor that is not 0, until the index is whole."""
    monkeypatch.setattr(keyspace_module, "INDEX_CHUNK", 100)
    store = KVStore()
    for i in range(1_000):
        call(store, "SET", f"key:{i}", i)
    pages = [call(store, "SCAN", "0")]
    while pages[-1][1] == []:  # type: ignore[index]
        assert pages[-1][0] != b"0"  # type: ignore[index]
        call(store, "DEL", f"key:{len(pages)}")  # removed before or after its turn
        call(store, "SET", f"new:{len(pages)}", "x")  # written while indexing
        pages.append(call(store, "SCAN", pages[-1][0]))  # type: ignore[index]
    assert 9 <= len(pages) <= 11  # 1,000 keys, 100 a call
    assert sorted(scan_all(store)) == sorted(call(store, "KEYS", "*"))  # type: ignore[arg-type]


def test_a_cursor_given_while_the_index_is_rebuilt_starts_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = KVStore()
    for i in range(500):
        call(store, "SET", f"key:{i}", i)
    cursor, _ = call(store, "SCAN", "0", "COUNT", "100")  # type: ignore[misc]
    assert cursor not in (b"0", b"%d" % SCAN_START)
    call(store, "FLUSHDB")  # drops the index
    for i in range(500):
        call(store, "SET", f"again:{i}", i)
    monkeypatch.setattr(keyspace_module, "INDEX_CHUNK", 100)
    restore = KVStore()
    restore.restore(store.snapshot())  # a new key space: no index yet
    assert call(restore, "SCAN", cursor) == [b"%d" % SCAN_START, []]
    keys: list[bytes] = []
    next_cursor = b"%d" % SCAN_START
    while next_cursor != b"0":
        next_cursor, page = call(restore, "SCAN", next_cursor)  # type: ignore[misc]
        keys += page
    assert sorted(keys) == sorted(f"again:{i}".encode() for i in range(500))
