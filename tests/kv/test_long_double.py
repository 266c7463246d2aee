"""INCRBYFLOAT's arithmetic (kv/long_double.py) against figures redis-server
7.0.15 answered on x86-64 (the random comparison with a live redis-server,
test_against_redis_random.py, draws thousands more)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ranet.kv import long_double
from ranet.kv.reply import ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call


@pytest.mark.parametrize(
    "value, increment, redis_answered",
    [
        (b"0", b"1000.1", b"1000.09999999999999998"),
        (b"1000.09999999999999998", b"0.2", b"1000.29999999999999999"),
        (b"123456789.123", b"0.001", b"123456789.12399999999615829"),
        (b"0.1", b"0.2", b"0.3"),
        (b"0.3", b"1e10", b"10000000000.29999999981373549"),
        (b"5", b"1e-5", b"5.00001"),
        (b"-5363454411", b"14.444e18", b"14443999994636545589"),
        (b"0", b"12575.99063", b"12575.99063000000000034"),
        (b"1", b"-1", b"0"),
        (b"-0.5", b"0.5", b"0"),
    ],
)
def test_sums_are_written_as_redis_writes_them(
    value: bytes, increment: bytes, redis_answered: bytes
) -> None:
    total = long_double.add(long_double.parse(value), long_double.parse(increment))  # type: ignore[arg-type]
    assert total is not None and long_double.format_human(total) == redis_answered


def test_rounding_keeps_64_bits_ties_to_even() -> None:
    one = Fraction(1)
    ulp = Fraction(1, 2**63)  # the step of a long double between 1 and 2
    assert long_double.round_extended(one + ulp / 2) == one  # a tie: to the even 1
    assert long_double.round_extended(one + ulp * 3 / 2) == one + 2 * ulp  # to even 1 + 2 ulp
    assert long_double.round_extended(one + ulp / 3) == one


@pytest.mark.parametrize("text", [b"x", b"nan", b"", b" 1", b"1 ", b"0x10", b"1e5000", b"1e-5000"])
def test_what_strtold_would_refuse_or_ranet_does_not_read_is_no_number(text: bytes) -> None:
    assert long_double.parse(text) is None


def test_an_infinite_operand_or_sum_is_refused_and_changes_nothing() -> None:
    assert long_double.parse(b"-Infinity") == float("-inf")
    store = KVStore()
    call(store, "SET", "k", "inf")
    assert call(store, "INCRBYFLOAT", "k", "1") == ErrorReply(
        "ERR increment would produce NaN or Infinity"
    )
    assert call(store, "HINCRBYFLOAT", "h", "f", "inf") == ErrorReply(
        "ERR value is NaN or Infinity"
    )
    assert call(store, "GET", "k") == b"inf" and call(store, "EXISTS", "h") == 0


def test_incrbyfloat_keeps_the_deadline_as_incr_does() -> None:
    store = KVStore()
    call(store, "SET", "k", "1", "PX", 10_000, at=1_000)
    assert call(store, "INCRBYFLOAT", "k", "0.5", at=2_000) == b"1.5"
    assert call(store, "PTTL", "k", at=2_000) == 9_000
