"""String commands, with the replies and error wording of Redis 7."""

from __future__ import annotations

import pytest

from ranet.kv.commands import is_write
from ranet.kv.reply import OK, ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call

SYNTAX = ErrorReply("ERR syntax error")
NOT_INTEGER = ErrorReply("ERR value is not an integer or out of range")
OVERFLOW = ErrorReply("ERR increment or decrement would overflow")
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@pytest.fixture
def store() -> KVStore:
    return KVStore()


def test_get_of_a_missing_key_is_null(store: KVStore) -> None:
    assert call(store, "GET", "nope") is None


def test_set_then_get(store: KVStore) -> None:
    assert call(store, "SET", "k", "v") == OK
    assert call(store, "get", "k") == b"v"
    assert call(store, "SET", "k", b"\x00\xffbinary") == OK
    assert call(store, "GET", "k") == b"\x00\xffbinary"


def test_set_nx_sets_only_a_missing_key(store: KVStore) -> None:
    assert call(store, "SET", "k", "1", "NX") == OK
    assert call(store, "SET", "k", "2", "nx") is None
    assert call(store, "GET", "k") == b"1"


def test_set_xx_sets_only_an_existing_key(store: KVStore) -> None:
    assert call(store, "SET", "k", "1", "XX") is None
    assert call(store, "GET", "k") is None
    call(store, "SET", "k", "1")
    assert call(store, "SET", "k", "2", "XX") == OK
    assert call(store, "GET", "k") == b"2"


def test_set_get_returns_the_old_value(store: KVStore) -> None:
    assert call(store, "SET", "k", "1", "GET") is None
    assert call(store, "SET", "k", "2", "GET") == b"1"
    assert call(store, "GET", "k") == b"2"


def test_set_get_with_a_condition_answers_the_old_value_whether_or_not_it_set(
    store: KVStore,
) -> None:
    # Redis 7 accepts NX together with GET (6.2 refused it).
    assert call(store, "SET", "k", "1", "NX", "GET") is None
    assert call(store, "SET", "k", "2", "NX", "GET") == b"1"
    assert call(store, "GET", "k") == b"1"
    assert call(store, "SET", "other", "1", "XX", "GET") is None
    assert call(store, "GET", "other") is None
    assert call(store, "SET", "k", "3", "GET", "XX") == b"1"
    assert call(store, "GET", "k") == b"3"


@pytest.mark.parametrize(
    "options",
    [
        ("NX", "XX"),
        ("XX", "NX"),
        ("EX", "10", "PX", "100"),
        ("PX", "100", "EXAT", "10"),
        ("EX", "10", "KEEPTTL"),
        ("KEEPTTL", "PXAT", "10"),
        ("EX",),  # no amount
        ("PX", "10", "EX"),
        ("BOGUS",),
        ("NX", "NX", "PERSIST"),  # PERSIST is GETEX's, not SET's
    ],
)
def test_set_refuses_bad_option_combinations(store: KVStore, options: tuple[str, ...]) -> None:
    assert call(store, "SET", "k", "v", *options) == SYNTAX
    assert call(store, "GET", "k") is None


def test_set_accepts_repeated_options_as_redis_does(store: KVStore) -> None:
    assert call(store, "SET", "k", "v", "NX", "nx", "GET", "get") is None
    assert call(store, "SET", "k", "w", "EX", "10", "EX", "20") == OK
    assert call(store, "TTL", "k") == 20


@pytest.mark.parametrize("amount", ["abc", "1.5", " 10", "+10", ""])
def test_set_expiry_must_be_an_integer(store: KVStore, amount: str) -> None:
    assert call(store, "SET", "k", "v", "EX", amount) == NOT_INTEGER


@pytest.mark.parametrize(
    "option, amount",
    [("EX", "0"), ("PX", "-5"), ("EXAT", "0"), ("PXAT", "-1"), ("EX", str(INT64_MAX // 1000 + 1))],
)
def test_set_refuses_an_invalid_expire_time(store: KVStore, option: str, amount: str) -> None:
    reply = call(store, "SET", "k", "v", option, amount)
    assert reply == ErrorReply("ERR invalid expire time in 'set' command")


def test_set_relative_expiry_that_overflows_is_invalid(store: KVStore) -> None:
    call(store, "SET", "clock", "moves", at=1_000)
    assert call(store, "SET", "k", "v", "PX", INT64_MAX) == ErrorReply(
        "ERR invalid expire time in 'set' command"
    )


def test_set_checks_the_expiry_before_the_condition(store: KVStore) -> None:
    call(store, "SET", "k", "1")
    assert call(store, "SET", "k", "2", "NX", "EX", "0") == ErrorReply(
        "ERR invalid expire time in 'set' command"
    )


def test_set_expiry_options_set_a_deadline(store: KVStore) -> None:
    call(store, "SET", "clock", "moves", at=10_000)
    call(store, "SET", "ex", "v", "EX", "5")
    call(store, "SET", "px", "v", "PX", "1500")
    call(store, "SET", "exat", "v", "EXAT", "60")
    call(store, "SET", "pxat", "v", "PXAT", "12345")
    assert call(store, "PEXPIRETIME", "ex") == 15_000
    assert call(store, "PEXPIRETIME", "px") == 11_500
    assert call(store, "PEXPIRETIME", "exat") == 60_000
    assert call(store, "PEXPIRETIME", "pxat") == 12_345


def test_set_without_keepttl_clears_the_deadline_and_keepttl_keeps_it(store: KVStore) -> None:
    call(store, "SET", "k", "1", "EX", "100")
    call(store, "SET", "k", "2", "KEEPTTL")
    assert call(store, "TTL", "k") == 100
    assert call(store, "GET", "k") == b"2"
    call(store, "SET", "k", "3")
    assert call(store, "TTL", "k") == -1


def test_set_with_a_deadline_already_past_leaves_no_key(store: KVStore) -> None:
    call(store, "SET", "clock", "moves", at=10_000)
    assert call(store, "SET", "k", "v", "PXAT", "5000") == OK
    assert call(store, "EXISTS", "k") == 0
    assert call(store, "SET", "k", "v", "PXAT", "9000", "GET") is None


def test_getdel_returns_and_removes(store: KVStore) -> None:
    assert call(store, "GETDEL", "k") is None
    call(store, "SET", "k", "v")
    assert call(store, "GETDEL", "k") == b"v"
    assert call(store, "GET", "k") is None


def test_mget_and_mset(store: KVStore) -> None:
    assert call(store, "MSET", "a", "1", "b", "2", "a", "3") == OK
    assert call(store, "MGET", "a", "b", "c", "a") == [b"3", b"2", None, b"3"]


def test_mset_with_a_key_but_no_value_is_an_arity_error(store: KVStore) -> None:
    reply = call(store, "MSET", "a", "1", "b")
    assert reply == ErrorReply("ERR wrong number of arguments for 'mset' command")
    assert call(store, "GET", "a") is None


def test_append_and_strlen(store: KVStore) -> None:
    assert call(store, "STRLEN", "k") == 0
    assert call(store, "APPEND", "k", "Hello") == 5
    assert call(store, "APPEND", "k", " World") == 11
    assert call(store, "GET", "k") == b"Hello World"
    assert call(store, "STRLEN", "k") == 11


def test_append_keeps_the_deadline(store: KVStore) -> None:
    call(store, "SET", "k", "a", "EX", "100")
    call(store, "APPEND", "k", "b")
    assert call(store, "TTL", "k") == 100


def test_incr_family_on_a_missing_key_starts_from_zero(store: KVStore) -> None:
    assert call(store, "INCR", "a") == 1
    assert call(store, "DECR", "b") == -1
    assert call(store, "INCRBY", "c", "10") == 10
    assert call(store, "DECRBY", "d", "-10") == 10
    assert call(store, "MGET", "a", "b", "c", "d") == [b"1", b"-1", b"10", b"10"]


def test_incr_keeps_the_deadline(store: KVStore) -> None:
    call(store, "SET", "k", "1", "EX", "100")
    assert call(store, "INCRBY", "k", "41") == 42
    assert call(store, "TTL", "k") == 100


@pytest.mark.parametrize(
    "value", ["abc", "", " 1", "1 ", "+1", "01", "-0", "1.0", "0x10", "1e3", "9223372036854775808"]
)
def test_incr_refuses_a_value_redis_does_not_read_as_an_integer(store: KVStore, value: str) -> None:
    call(store, "SET", "k", value)
    assert call(store, "INCR", "k") == NOT_INTEGER
    assert call(store, "GET", "k") == value.encode()


@pytest.mark.parametrize("value", ["0", "-1", "9223372036854775806", "-9223372036854775808"])
def test_incr_reads_every_64_bit_integer(store: KVStore, value: str) -> None:
    call(store, "SET", "k", value)
    assert call(store, "INCR", "k") == int(value) + 1


@pytest.mark.parametrize("amount", ["x", "", "1.5", "+1", "9223372036854775808"])
def test_incrby_refuses_an_amount_that_is_not_an_integer(store: KVStore, amount: str) -> None:
    assert call(store, "INCRBY", "k", amount) == NOT_INTEGER
    assert call(store, "DECRBY", "k", amount) == NOT_INTEGER


def test_increments_past_64_bits_overflow_and_change_nothing(store: KVStore) -> None:
    call(store, "SET", "max", INT64_MAX)
    call(store, "SET", "min", INT64_MIN)
    assert call(store, "INCR", "max") == OVERFLOW
    assert call(store, "INCRBY", "max", "1") == OVERFLOW
    assert call(store, "DECR", "min") == OVERFLOW
    assert call(store, "DECRBY", "min", "1") == OVERFLOW
    assert call(store, "INCRBY", "min", INT64_MIN) == OVERFLOW
    assert call(store, "MGET", "max", "min") == [str(INT64_MAX).encode(), str(INT64_MIN).encode()]
    assert call(store, "INCRBY", "max", INT64_MIN) == -1


def test_decrby_of_the_smallest_integer_cannot_be_negated(store: KVStore) -> None:
    assert call(store, "DECRBY", "k", INT64_MIN) == ErrorReply("ERR decrement would overflow")


def test_cas_swaps_only_the_expected_value(store: KVStore) -> None:
    call(store, "SET", "k", "old")
    assert call(store, "CAS", "k", "other", "new") == 0
    assert call(store, "GET", "k") == b"old"
    assert call(store, "CAS", "k", "old", "new") == 1
    assert call(store, "GET", "k") == b"new"


def test_cas_never_matches_a_missing_key(store: KVStore) -> None:
    assert call(store, "CAS", "k", "", "new") == 0
    assert call(store, "GET", "k") is None


def test_cas_matches_an_empty_value(store: KVStore) -> None:
    call(store, "SET", "k", "")
    assert call(store, "CAS", "k", "", "full") == 1


def test_cas_keeps_the_deadline_of_a_lease(store: KVStore) -> None:
    call(store, "SET", "lock", "alice", "NX", "PX", "30000")
    assert call(store, "CAS", "lock", "alice", "bob") == 1
    assert call(store, "PTTL", "lock") == 30_000


def test_setnx_and_msetnx_set_only_missing_keys(store: KVStore) -> None:
    assert call(store, "SETNX", "k", "1") == 1
    assert call(store, "SETNX", "k", "2") == 0
    assert call(store, "MSETNX", "a", "1", "k", "x") == 0  # one exists: none is set
    assert call(store, "MGET", "a", "k") == [None, b"1"]
    assert call(store, "MSETNX", "a", "1", "b", "2") == 1
    assert call(store, "MGET", "a", "b") == [b"1", b"2"]
    assert call(store, "MSETNX", "c", "1", "d") == ErrorReply(
        "ERR wrong number of arguments for 'msetnx' command"
    )


def test_setex_and_psetex_count_from_the_log_clock(store: KVStore) -> None:
    call(store, "SET", "clock", "moves", at=10_000)
    assert call(store, "SETEX", "s", "5", "v") == OK
    assert call(store, "PSETEX", "p", "1500", "v") == OK
    assert call(store, "PEXPIRETIME", "s") == 15_000
    assert call(store, "PEXPIRETIME", "p") == 11_500
    assert call(store, "SETEX", "s", "0", "v") == ErrorReply(
        "ERR invalid expire time in 'setex' command"
    )
    assert call(store, "PSETEX", "p", "x", "v") == NOT_INTEGER


def test_getset_returns_the_old_value_and_clears_the_deadline(store: KVStore) -> None:
    assert call(store, "GETSET", "k", "1") is None
    call(store, "EXPIRE", "k", "100")
    assert call(store, "GETSET", "k", "2") == b"1"
    assert call(store, "TTL", "k") == -1


def test_getex_sets_or_removes_the_deadline_and_returns_the_value(store: KVStore) -> None:
    call(store, "SET", "k", "v", at=10_000)
    assert call(store, "GETEX", "k", "PX", "500") == b"v"
    assert call(store, "PEXPIRETIME", "k") == 10_500
    assert call(store, "GETEX", "k", "PERSIST") == b"v"
    assert call(store, "TTL", "k") == -1
    assert call(store, "GETEX", "k") == b"v"
    assert call(store, "GETEX", "k", "PXAT", "9000") == b"v"  # already past: removed
    assert call(store, "EXISTS", "k") == 0
    assert call(store, "GETEX", "k", "EX", "5", "PERSIST") == SYNTAX


def test_getex_is_applied_from_the_log_like_any_write() -> None:
    """A deadline it sets must be the same on every replica: GETEX is a write."""
    assert is_write([b"GETEX", b"k", b"EX", b"5"]) and is_write([b"GETEX", b"k"])
