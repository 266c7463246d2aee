"""The pieces of Redis's RDB format a DUMP payload is made of.

A payload (FUNCTION DUMP here) is RDB records, then the RDB version in two
bytes and a CRC-64 of all before it in eight, both little-endian, as
Redis's ``createDumpPayload`` writes them. Strings are a length and the
bytes; Redis may store a string as an integer or LZF-compressed, so both
are read; strings are written plain, which every Redis reads.
"""

from __future__ import annotations

import struct

RDB_VERSION = 10  # Redis 7.0's
_CRC64_POLY = 0x95AC9329AC4BC9B5  # Jones's polynomial, reflected, as Redis's crc64.c


def _crc64_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC64_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc64_table()


def crc64(data: bytes, crc: int = 0) -> int:
    """Redis's CRC-64 (Jones, reflected; ``crc64(b"123456789")`` is
    0xE9C6D914C4B8D9CA)."""
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


class PayloadError(Exception):
    """A payload that cannot be read; the message says why."""


def with_footer(records: bytes) -> bytes:
    """``records`` as a DUMP payload: version and checksum appended."""
    body = records + struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(body))


def payload_reader(payload: bytes) -> Reader:
    """A reader of a DUMP payload's records, if this reads its version and
    its checksum is right; raises ``PayloadError``. As Redis's, the reader
    starts no record in the footer but may read into it."""
    if len(payload) < 10:
        raise PayloadError("DUMP payload version or checksum are wrong")
    (version,) = struct.unpack_from("<H", payload, len(payload) - 10)
    (checksum,) = struct.unpack_from("<Q", payload, len(payload) - 8)
    if version > RDB_VERSION or crc64(payload[:-8]) != checksum:
        raise PayloadError("DUMP payload version or checksum are wrong")
    return Reader(payload, len(payload) - 10)


def encode_string(value: bytes) -> bytes:
    """``value`` as an RDB string: its length, then its bytes."""
    size = len(value)
    if size < 1 << 6:
        prefix = bytes((size,))
    elif size < 1 << 14:
        prefix = bytes((0x40 | size >> 8, size & 0xFF))
    elif size <= 0xFFFFFFFF:
        prefix = b"\x80" + struct.pack(">I", size)
    else:
        prefix = b"\x81" + struct.pack(">Q", size)
    return prefix + value


class Reader:
    """Reads RDB records from ``data``, from the start; ``at_end`` past
    ``records_end``."""

    def __init__(self, data: bytes, records_end: int) -> None:
        self.data = data
        self.records_end = records_end
        self.position = 0

    def at_end(self) -> bool:
        return self.position >= self.records_end

    def byte(self) -> int:
        return self.take(1)[0]

    def take(self, count: int) -> bytes:
        end = self.position + count
        if end > len(self.data):
            raise PayloadError("the payload ends early")
        piece = self.data[self.position : end]
        self.position = end
        return piece

    def string(self) -> bytes:
        """An RDB string: plain, an integer, or LZF-compressed."""
        first = self.byte()
        kind, low = first >> 6, first & 0x3F
        if kind != 3:
            return self.take(self._length(kind, low))
        if low < 3:  # an integer of 1, 2 or 4 bytes, little-endian
            size = 1 << low
            return b"%d" % int.from_bytes(self.take(size), "little", signed=True)
        if low == 3:
            compressed = self.length()
            size = self.length()
            return lzf_decompress(self.take(compressed), size)
        raise PayloadError(f"unknown string encoding {low}")

    def length(self) -> int:
        first = self.byte()
        if first >> 6 == 3:
            raise PayloadError("a length is encoded as a string")
        return self._length(first >> 6, first & 0x3F)

    def _length(self, kind: int, low: int) -> int:
        if kind == 0:
            return low
        if kind == 1:
            return low << 8 | self.byte()
        if low == 0:
            return int.from_bytes(self.take(4), "big")
        if low == 1:
            return int.from_bytes(self.take(8), "big")
        raise PayloadError("unknown length encoding")


def lzf_decompress(data: bytes, size: int) -> bytes:
    """LibLZF's decompression (Redis's ``lzf_d.c``) of ``data`` into
    ``size`` bytes; raises ``PayloadError`` on anything malformed."""
    out = bytearray()
    i, end = 0, len(data)
    while i < end:
        control = data[i]
        i += 1
        if control < 32:  # a literal run of control + 1 bytes
            run = control + 1
            if i + run > end:
                raise PayloadError("compressed data ends inside a literal")
            out += data[i : i + run]
            i += run
        else:  # a back reference
            length = control >> 5
            if length == 7:
                if i >= end:
                    raise PayloadError("compressed data ends inside a reference")
                length += data[i]
                i += 1
            if i >= end:
                raise PayloadError("compressed data ends inside a reference")
            start = len(out) - ((control & 0x1F) << 8) - data[i] - 1
            i += 1
            if start < 0:
                raise PayloadError("compressed data refers before its start")
            for k in range(length + 2):  # may overlap what it writes
                out.append(out[start + k])
        if len(out) > size:
            raise PayloadError("compressed data is longer than its length says")
    if len(out) != size:
        raise PayloadError("compressed data is shorter than its length says")
    return bytes(out)
