"""Keyspace commands (DEL, EXISTS, DBSIZE, KEYS, FLUSH*) and key expiry."""

from __future__ import annotations

import pytest

from ranet.kv.reply import OK, ErrorReply, Status
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call, entry

INT64_MAX = 2**63 - 1


@pytest.fixture
def store() -> KVStore:
    store = KVStore()
    call(store, "SET", "clock", "starts", at=100_000)  # relative deadlines from t = 100 s
    return store


def test_del_counts_the_keys_it_removed(store: KVStore) -> None:
    call(store, "MSET", "a", "1", "b", "2")
    assert call(store, "DEL", "a", "b", "c", "a") == 2
    assert call(store, "MGET", "a", "b") == [None, None]


def test_exists_counts_a_key_named_twice_twice(store: KVStore) -> None:
    call(store, "SET", "a", "1")
    assert call(store, "EXISTS", "a", "a", "missing") == 2


def test_dbsize_and_len(store: KVStore) -> None:
    call(store, "MSET", "a", "1", "b", "2")
    assert call(store, "DBSIZE") == 3
    assert len(store) == 3


@pytest.mark.parametrize("args", [(), ("ASYNC",), ("sync",)])
def test_flushdb_and_flushall_empty_the_store(store: KVStore, args: tuple[str, ...]) -> None:
    for command in ("FLUSHDB", "FLUSHALL"):
        call(store, "SET", "k", "v", "EX", "10")
        assert call(store, command, *args) == OK
        assert call(store, "DBSIZE") == 0
        assert store.stats()["expires"] == 0


@pytest.mark.parametrize("args", [("LAZY",), ("ASYNC", "SYNC")])
def test_flush_refuses_unknown_options(store: KVStore, args: tuple[str, ...]) -> None:
    assert call(store, "FLUSHDB", *args) == ErrorReply("ERR syntax error")
    assert call(store, "FLUSHALL", *args) == ErrorReply("ERR syntax error")
    assert call(store, "DBSIZE") == 1


def test_keys_lists_the_keys_matching_a_glob(store: KVStore) -> None:
    call(store, "FLUSHALL")
    call(store, "MSET", "hello", "1", "hallo", "2", "hxllo", "3", "world", "4", "", "5")
    assert call(store, "KEYS", "*") == [b"hello", b"hallo", b"hxllo", b"world", b""]
    assert call(store, "KEYS", "h?llo") == [b"hello", b"hallo", b"hxllo"]
    assert call(store, "KEYS", "h[ae]llo") == [b"hello", b"hallo"]
    assert call(store, "KEYS", "h[^e]llo") == [b"hallo", b"hxllo"]
    assert call(store, "KEYS", "*or*") == [b"world"]
    assert call(store, "KEYS", "**") == [b"hello", b"hallo", b"hxllo", b"world"]  # not ""


# --- expiry ----------------------------------------------------------------


def test_a_key_expires_when_the_log_reaches_its_deadline(store: KVStore) -> None:
    call(store, "SET", "k", "v", "PX", "500")
    call(store, "SET", "other", "x", at=100_499)
    assert call(store, "GET", "k") == b"v"
    call(store, "SET", "other", "x", at=100_500)
    assert call(store, "GET", "k") is None
    assert store.stats()["expires"] == 0
    assert call(store, "DBSIZE") == 2


def test_a_read_at_a_later_time_sees_the_key_expired_without_removing_it(store: KVStore) -> None:
    call(store, "SET", "k", "v", "EX", "1")
    call(store, "SET", "forever", "v")
    later = 101_000
    assert call(store, "GET", "k", at=later) is None
    assert call(store, "EXISTS", "k", at=later) == 0
    assert call(store, "TTL", "k", at=later) == -2
    assert call(store, "KEYS", "*", at=later) == [b"clock", b"forever"]
    assert call(store, "DBSIZE", at=later) == 2
    assert call(store, "GET", "k") == b"v"  # at the log's own time it is still there
    assert len(store) == 3
    assert call(store, "GET", "k", at=50) == b"v"  # a clock behind the log's is ignored


def test_expire_family_sets_deadlines(store: KVStore) -> None:
    call(store, "MSET", "a", "1", "b", "2", "c", "3", "d", "4")
    assert call(store, "EXPIRE", "a", "10") == 1
    assert call(store, "PEXPIRE", "b", "1500") == 1
    assert call(store, "EXPIREAT", "c", "200") == 1
    assert call(store, "PEXPIREAT", "d", "150000") == 1
    assert [call(store, "PTTL", key) for key in "abcd"] == [10_000, 1_500, 100_000, 50_000]
    assert [call(store, "TTL", key) for key in "abcd"] == [10, 2, 100, 50]  # rounded
    assert [call(store, "EXPIRETIME", key) for key in "abcd"] == [110, 102, 200, 150]
    assert call(store, "PEXPIRETIME", "a") == 110_000


def test_ttl_of_a_missing_key_and_of_a_key_without_deadline(store: KVStore) -> None:
    for command in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        assert call(store, command, "missing") == -2
        assert call(store, command, "clock") == -1


def test_expire_on_a_missing_key_answers_zero(store: KVStore) -> None:
    assert call(store, "EXPIRE", "missing", "10") == 0


def test_expire_in_the_past_removes_the_key_now(store: KVStore) -> None:
    call(store, "MSET", "a", "1", "b", "2")
    assert call(store, "EXPIRE", "a", "-1") == 1
    assert call(store, "PEXPIREAT", "b", "1") == 1
    assert call(store, "MGET", "a", "b") == [None, None]


def test_persist_removes_the_deadline(store: KVStore) -> None:
    call(store, "SET", "k", "v", "EX", "10")
    assert call(store, "PERSIST", "k") == 1
    assert call(store, "TTL", "k") == -1
    assert call(store, "PERSIST", "k") == 0
    assert call(store, "PERSIST", "missing") == 0


def test_expire_conditions(store: KVStore) -> None:
    call(store, "SET", "k", "v")
    assert call(store, "EXPIRE", "k", "100", "XX") == 0  # XX: only with a deadline
    assert call(store, "EXPIRE", "k", "100", "GT") == 0  # no deadline is infinite
    assert call(store, "EXPIRE", "k", "100", "LT") == 1  # anything is less than infinite
    assert call(store, "EXPIRE", "k", "50", "NX") == 0  # NX: only without a deadline
    assert call(store, "EXPIRE", "k", "200", "lt") == 0
    assert call(store, "EXPIRE", "k", "200", "gt") == 1
    assert call(store, "EXPIRE", "k", "200", "GT") == 0  # not greater: equal
    assert call(store, "EXPIRE", "k", "50", "XX", "LT") == 1
    assert call(store, "TTL", "k") == 50


def test_expire_option_errors_are_worded_as_redis_words_them(store: KVStore) -> None:
    call(store, "SET", "k", "v")
    assert call(store, "EXPIRE", "k", "10", "SOON") == ErrorReply("ERR Unsupported option SOON")
    nx_and = ErrorReply("ERR NX and XX, GT or LT options at the same time are not compatible")
    for other in ("XX", "GT", "LT"):
        assert call(store, "EXPIRE", "k", "10", "NX", other) == nx_and
    assert call(store, "PEXPIRE", "k", "10", "GT", "LT") == ErrorReply(
        "ERR GT and LT options at the same time are not compatible"
    )
    assert call(store, "EXPIRE", "k", "ten") == ErrorReply(
        "ERR value is not an integer or out of range"
    )
    assert call(store, "TTL", "k") == -1


@pytest.mark.parametrize(
    "command, amount",
    [
        ("EXPIRE", INT64_MAX // 1000 + 1),
        ("EXPIRE", -(INT64_MAX // 1000) - 2),
        ("PEXPIRE", INT64_MAX),
        ("EXPIREAT", INT64_MAX // 1000 + 1),
    ],
)
def test_expire_times_that_do_not_fit_are_invalid(
    store: KVStore, command: str, amount: int
) -> None:
    call(store, "SET", "k", "v")
    assert call(store, command, "k", amount) == ErrorReply(
        f"ERR invalid expire time in '{command.lower()}' command"
    )


def test_the_largest_absolute_deadline_fits(store: KVStore) -> None:
    call(store, "SET", "k", "v")
    assert call(store, "PEXPIREAT", "k", INT64_MAX) == 1
    assert call(store, "PEXPIRETIME", "k") == INT64_MAX


def test_deadlines_given_many_times_expire_once_at_the_last_one(store: KVStore) -> None:
    call(store, "SET", "k", "v")
    for seconds in range(1, 3000):  # enough stale deadlines to compact the heap
        call(store, "EXPIRE", "k", seconds)
    call(store, "PERSIST", "k")
    call(store, "EXPIRE", "k", "1")
    call(store, "SET", "other", "x", at=102_000)
    assert call(store, "GET", "k") is None
    call(store, "SET", "k", "again")
    call(store, "SET", "other", "x", at=10_000_000)
    assert call(store, "GET", "k") == b"again"


def test_rename_moves_the_value_and_its_deadline(store: KVStore) -> None:
    call(store, "SET", "k", "v", "PX", "5000")  # the clock is at 100 s
    call(store, "SET", "target", "old")
    assert call(store, "RENAME", "k", "target") == OK
    assert call(store, "MGET", "k", "target") == [None, b"v"]
    assert call(store, "PEXPIRETIME", "target") == 105_000
    assert call(store, "RENAME", "k", "x") == ErrorReply("ERR no such key")
    assert call(store, "RENAME", "target", "target") == OK


def test_renamenx_renames_only_onto_a_missing_key(store: KVStore) -> None:
    call(store, "MSET", "a", "1", "b", "2")
    assert call(store, "RENAMENX", "a", "b") == 0
    assert call(store, "RENAMENX", "a", "a") == 0
    assert call(store, "RENAMENX", "a", "c") == 1
    assert call(store, "MGET", "a", "b", "c") == [None, b"2", b"1"]


def test_unlink_deletes_and_type_and_touch_look(store: KVStore) -> None:
    call(store, "MSET", "a", "1", "b", "2")
    assert call(store, "TYPE", "a") == Status("string")
    assert call(store, "TOUCH", "a", "missing", "a") == 2
    assert call(store, "UNLINK", "a", "missing") == 1
    assert call(store, "TYPE", "a") == Status("none")


def test_randomkey_reaches_every_key_and_skips_expired_ones() -> None:
    store = KVStore()
    for i in range(20):
        call(store, "SET", f"k{i}", i)
    call(store, "SET", "old", "v", "PX", 10)
    picked = {call(store, "RANDOMKEY", at=5_000) for _ in range(2_000)}
    assert picked == {f"k{i}".encode() for i in range(20)}
    call(store, "DEL", *[f"k{i}" for i in range(20)])
    assert call(store, "RANDOMKEY", at=5_000) is None  # only an expired key is left


def test_randomkey_in_a_script_that_may_write_is_alike_on_every_replica() -> None:
    script = "local picks = {} for i = 1, 20 do picks[i] = redis.call('randomkey') end return picks"
    stores = [KVStore(), KVStore()]
    for store in stores:
        for i in range(100):
            store.apply(entry("SET", f"k{i}", i, at=1))
    replies = [store.apply(entry("EVAL", script, 0, at=2)) for store in stores]
    assert replies[0] == replies[1] and len(set(replies[0])) > 10  # type: ignore[arg-type]
