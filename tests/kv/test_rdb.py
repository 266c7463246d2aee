"""The RDB pieces of DUMP payloads (rdb.py): Redis's CRC-64, its string
encodings and LZF, read from a payload redis-server 7.0.15 wrote."""

from __future__ import annotations

import pytest

from ranet.kv import rdb

# FUNCTION DUMP of one library of three functions, from redis-server 7.0.15:
# its code LZF-compressed (Redis compresses strings of more than 20 bytes).
FROM_REDIS = bytes.fromhex(
    "f5c3406940df1f23216c7561206e616d653d6d6f7665640a72656469732e72656769737465725f"
    "0966756e6374696f6e2827601e0330272c20e00012186b6579732c2061726773292072657475726e"
    "203020656e6429e016440031e016440031e01b440032e01644003220440164290a007c77c9b866000404"
)
CODE = "#!lua name=moved\n" + "\n".join(
    f"redis.register_function('moved{i}', function(keys, args) return {i} end)" for i in range(3)
)


def test_crc64_is_redis_s() -> None:
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert rdb.crc64(b"") == 0


def test_a_payload_redis_wrote_is_read() -> None:
    reader = rdb.payload_reader(FROM_REDIS)
    assert reader.byte() == 245
    assert reader.string() == CODE.encode()
    assert reader.at_end()


@pytest.mark.parametrize("size", [0, 1, 63, 64, 16_383, 16_384, 70_000])
def test_strings_are_read_back_whatever_their_length(size: int) -> None:
    value = bytes(i % 251 for i in range(size))
    payload = rdb.with_footer(rdb.encode_string(value) + rdb.encode_string(b"next"))
    reader = rdb.payload_reader(payload)
    assert (reader.string(), reader.string(), reader.at_end()) == (value, b"next", True)


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        (b"\xc0\x85", b"-123"),
        (b"\xc1\x39\x30", b"12345"),
        (b"\xc2\x00\x00\x00\x80", b"-2147483648"),
    ],
)
def test_integer_strings_are_read_as_text(encoded: bytes, value: bytes) -> None:
    assert rdb.payload_reader(rdb.with_footer(encoded)).string() == value


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p[:-1] + bytes((p[-1] ^ 1,)),  # checksum
        lambda p: p[:-10] + b"\x0b\x00" + p[-8:],  # a later RDB version
        lambda p: p[:5],
    ],
)
def test_a_damaged_payload_is_refused(damage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(rdb.PayloadError, match="version or checksum"):
        rdb.payload_reader(damage(FROM_REDIS))


@pytest.mark.parametrize(
    ("compressed", "size"),
    [
        (b"\x02ab", 3),  # a literal run past the end
        (b"\x00a\x20", 3),  # a reference cut short
        (b"\x00a\x20\x05", 3),  # a reference before the start
        (b"\x00a\x20\x00", 2),  # longer than the length says
        (b"\x00a", 2),  # shorter
    ],
)
def test_malformed_lzf_is_refused(compressed: bytes, size: int) -> None:
    with pytest.raises(rdb.PayloadError):
        rdb.lzf_decompress(compressed, size)


def test_lzf_back_references_may_overlap_what_they_write() -> None:
    assert rdb.lzf_decompress(b"\x00a\xe0\x03\x00", 13) == b"a" * 13


def test_a_compressed_string_may_not_claim_more_than_redis_allows() -> None:
    with pytest.raises(rdb.PayloadError, match="longer than Redis allows"):
        rdb.lzf_decompress(b"\x00a", rdb.MAX_STRING + 1)


def crc64_bit_by_bit(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x95AC9329AC4BC9B5 if crc & 1 else crc >> 1
    return crc


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 63, 64, 1000])
def test_crc64_eight_bytes_a_step_is_the_bitwise_crc(size: int) -> None:
    data = bytes((i * 37 + 11) % 256 for i in range(size))
    assert rdb.crc64(data) == crc64_bit_by_bit(data)
