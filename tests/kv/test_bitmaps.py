"""The bit commands and SETRANGE where ranet's own choices show
(kv/bitmaps.py): the 512 MiB bound on a string, checked before anything
changes; field arithmetic and bit searches compared with a model that works
one bit at a time; WATCH versions. Replies and errors are compared with
redis-server in test_bitmaps_against_redis.py."""

from __future__ import annotations

import random

import pytest

from ranet.kv import bitmaps, commands
from ranet.kv.reply import ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call, moves_version

TOO_LONG = ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
BAD_OFFSET = ErrorReply("ERR bit offset is not an integer or out of range")
LIMIT = 16  # bytes: the bound the tests below set in place of 512 MiB


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bitmaps, "MAX_STRING_BYTES", LIMIT)
    monkeypatch.setattr(commands, "MAX_STRING_BYTES", LIMIT)


def test_the_bound_is_redis_default_proto_max_bulk_len() -> None:
    assert bitmaps.MAX_STRING_BYTES == commands.MAX_STRING_BYTES == 512 * 1024 * 1024


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize(
    ("command", "refused"),
    [
        (("SETRANGE", "k", LIMIT - 1, "ab"), TOO_LONG),
        (("SETRANGE", "k", LIMIT, "a"), TOO_LONG),
        (("APPEND", "k", "x" * (LIMIT - 3)), TOO_LONG),
        (("SETBIT", "k", LIMIT * 8, 1), BAD_OFFSET),
        (("BITFIELD", "k", "SET", "u8", LIMIT * 8, 1), BAD_OFFSET),
        (("BITFIELD", "k", "SET", "u8", f"#{LIMIT}", 1), BAD_OFFSET),
    ],
)
def test_a_string_never_grows_past_the_bound_and_a_refusal_changes_nothing(
    command: tuple[object, ...], refused: ErrorReply
) -> None:
    store = KVStore()
    call(store, "SET", "k", "abcd")
    call(store, "EXPIRE", "k", 100)
    before = store.versions([b"k"])
    assert call(store, *command) == refused
    assert call(store, "GET", "k") == b"abcd"
    assert call(store, "TTL", "k") == 100
    assert store.versions([b"k"]) == before


@pytest.mark.usefixtures("small_limit")
def test_up_to_the_bound_is_allowed() -> None:
    store = KVStore()
    assert call(store, "SETRANGE", "a", LIMIT - 1, "z") == LIMIT
    assert call(store, "SETBIT", "b", LIMIT * 8 - 1, 1) == 0
    assert call(store, "STRLEN", "b") == LIMIT
    assert call(store, "BITFIELD", "c", "SET", "u8", f"#{LIMIT - 1}", 7) == [0]
    assert call(store, "SET", "d", "x" * (LIMIT - 1)) == commands.OK
    assert call(store, "APPEND", "d", "y") == LIMIT


def _bits_of(value: bytes) -> list[int]:
    return [(byte >> (7 - i)) & 1 for byte in value for i in range(8)]


def _model_field(bits: list[int], offset: int, width: int, signed: bool) -> int:
    """A field read one bit at a time (zeros past the end)."""
    number = 0
    for i in range(offset, offset + width):
        number = number << 1 | (bits[i] if i < len(bits) else 0)
    if signed and number >> (width - 1):
        number -= 1 << width
    return number


def _random_value(rng: random.Random) -> bytes:
    return bytes(rng.choice([0, 255, rng.randrange(256)]) for _ in range(rng.randint(1, 12)))


def test_bitfield_reads_and_writes_as_a_bit_by_bit_model() -> None:
    """Random fields of every width at every alignment: what GET answers,
    what SET leaves in the string, what INCRBY wraps to."""
    rng = random.Random(7)
    store = KVStore()
    for _ in range(2_000):
        value = _random_value(rng)
        call(store, "SET", "k", value)
        signed = rng.random() < 0.5
        width = rng.randint(1, 64 if signed else 63)
        offset = rng.randrange(len(value) * 8 + 16)
        kind = f"{'i' if signed else 'u'}{width}"
        bits = _bits_of(value)
        assert call(store, "BITFIELD_RO", "k", "GET", kind, offset) == [
            _model_field(bits, offset, width, signed)
        ]
        new = rng.randrange(1 << width) - ((1 << (width - 1)) if signed else 0)
        assert call(store, "BITFIELD", "k", "SET", kind, offset, new, "GET", kind, offset) == [
            _model_field(bits, offset, width, signed),
            new,
        ]
        written = _bits_of(call(store, "GET", "k"))  # type: ignore[arg-type]
        expected = bits + [0] * (len(written) - len(bits))
        expected[offset : offset + width] = [(new >> (width - 1 - i)) & 1 for i in range(width)]
        assert written == expected
        assert len(written) == max(len(bits), (offset + width + 7) // 8 * 8)
        step = rng.randrange(-(1 << 62), 1 << 62)
        span = 1 << width
        wrapped = (new + step) % span
        if signed and wrapped >= span // 2:
            wrapped -= span
        assert call(store, "BITFIELD", "k", "INCRBY", kind, offset, step) == [wrapped]


def _model_position(bits: list[int], bit: int, start: int, end: int) -> int:
    for i in range(start, end + 1):
        if bits[i] == bit:
            return i
    return -1


def test_bitcount_and_bitpos_over_bit_ranges_as_a_bit_by_bit_model() -> None:
    rng = random.Random(11)
    store = KVStore()
    for _ in range(2_000):
        value = _random_value(rng)
        call(store, "SET", "k", value)
        bits = _bits_of(value)
        start, end = rng.randrange(len(bits)), rng.randrange(len(bits))
        selected = bits[start : end + 1]
        assert call(store, "BITCOUNT", "k", start, end, "BIT") == sum(selected)
        for bit in (0, 1):
            assert call(store, "BITPOS", "k", bit, start, end, "BIT") == _model_position(
                bits, bit, start, end
            )
        first = rng.randrange(len(value))
        whole = _model_position(bits, 0, first * 8, len(bits) - 1)
        assert call(store, "BITPOS", "k", 0, first) == (len(bits) if whole == -1 else whole)


def test_bitop_matches_python_integer_operations() -> None:
    rng = random.Random(3)
    store = KVStore()
    for _ in range(300):
        values = [_random_value(rng) for _ in range(rng.randint(1, 4))]
        for n, value in enumerate(values):
            call(store, "SET", f"s{n}", value)
        keys = [f"s{n}" for n in range(len(values))]
        length = max(map(len, values))
        numbers = [int.from_bytes(v.ljust(length, b"\0"), "big") for v in values]
        expected = {"AND": numbers[0], "OR": numbers[0], "XOR": numbers[0]}
        for number in numbers[1:]:
            expected["AND"] &= number
            expected["OR"] |= number
            expected["XOR"] ^= number
        for operation, number in expected.items():
            assert call(store, "BITOP", operation, "d", *keys) == length
            assert call(store, "GET", "d") == number.to_bytes(length, "big")
        assert call(store, "BITOP", "NOT", "d", "s0") == len(values[0])
        assert call(store, "GET", "d") == bytes(255 - b for b in values[0])


def test_a_write_that_changes_nothing_moves_no_watch_version() -> None:
    store = KVStore()
    call(store, "SETBIT", "k", 3, 1)
    assert not moves_version(store, b"k", "SETBIT", "k", 3, 1)
    assert not moves_version(store, b"k", "BITFIELD", "k", "SET", "u4", 0, 1)
    assert moves_version(store, b"k", "SETBIT", "k", 3, 0)
    assert moves_version(store, b"k", "BITFIELD", "k", "INCRBY", "u4", 0, 1)
    assert moves_version(store, b"k", "SETRANGE", "k", 0, "z")
    assert not moves_version(store, b"k", "SETBIT", "k", "x", 0)
