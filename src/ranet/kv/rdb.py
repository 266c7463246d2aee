"""The pieces of Redis's RDB format a DUMP payload is made of.

A payload (DUMP, FUNCTION DUMP) is RDB records, then the RDB version in two
bytes and a CRC-64 of all before it in eight, both little-endian, as
Redis's ``createDumpPayload`` writes them. Strings are a length and the
bytes; Redis may store a string as an integer or LZF-compressed, so both
are read; strings are written plain, which every Redis reads. Redis packs
small collections in a blob of its own formats - ziplist (RDB 9, Redis 6),
listpack (Redis 7), intset -, read here into their items; versions up to
Redis 7.0's (10) are read.
"""

from __future__ import annotations

import math
import struct

RDB_VERSION = 10  # Redis 7.0's
MAX_STRING = 512 << 20  # Redis's limit on a string (proto-max-bulk-len)
_CRC64_POLY = 0x95AC9329AC4BC9B5  # Jones's polynomial, reflected, as Redis's crc64.c


def _crc64_tables() -> list[list[int]]:
    """The byte table, and seven more for eight bytes at a time ("slicing
    by 8"): table k gives a byte's effect k bytes further on."""
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC64_POLY if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(7):
        tables.append([(crc >> 8) ^ first[crc & 0xFF] for crc in tables[-1]])
    return tables


_TABLES = _crc64_tables()
_WORD = struct.Struct("<Q")


def crc64(data: bytes, crc: int = 0) -> int:
    """Redis's CRC-64 (Jones, reflected; ``crc64(b"123456789")`` is
    0xE9C6D914C4B8D9CA), eight bytes a step (about 60 ms a megabyte)."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _TABLES
    whole = len(data) - len(data) % 8
    for (word,) in _WORD.iter_unpack(memoryview(data)[:whole]):
        crc ^= word
        crc = (
            t7[crc & 0xFF] ^ t6[crc >> 8 & 0xFF] ^ t5[crc >> 16 & 0xFF] ^ t4[crc >> 24 & 0xFF]
            ^ t3[crc >> 32 & 0xFF] ^ t2[crc >> 40 & 0xFF] ^ t1[crc >> 48 & 0xFF] ^ t0[crc >> 56]
        )  # fmt: skip
    for byte in data[whole:]:
        crc = t0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
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


def encode_length(size: int) -> bytes:
    """An RDB length: 1, 2, 5 or 9 bytes."""
    if size < 1 << 6:
        return bytes((size,))
    if size < 1 << 14:
        return bytes((0x40 | size >> 8, size & 0xFF))
    if size <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", size)
    return b"\x81" + struct.pack(">Q", size)


def encode_string(value: bytes) -> bytes:
    """``value`` as an RDB string: its length, then its bytes."""
    size = len(value)
    return (bytes((size,)) if size < 1 << 6 else encode_length(size)) + value


def encode_double(value: float) -> bytes:
    """A score as RDB_TYPE_ZSET_2 stores it: a little-endian IEEE double."""
    return struct.pack("<d", value)


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

    def binary_double(self) -> float:
        """A score of RDB_TYPE_ZSET_2: eight bytes, little-endian."""
        return float(struct.unpack("<d", self.take(8))[0])

    def text_double(self) -> float:
        """A score of the old RDB_TYPE_ZSET: its length in a byte (253 NaN,
        254 +inf, 255 -inf), then its text."""
        size = self.byte()
        if size >= 253:
            return (math.nan, math.inf, -math.inf)[size - 253]
        return number(self.take(size))

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
    ``size`` bytes, at most ``MAX_STRING``; raises ``PayloadError`` on
    anything malformed."""
    if size > MAX_STRING:
        raise PayloadError("a compressed string longer than Redis allows")
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
        else:  # a back reference: length + 2 bytes from distance + 1 back
            length = control >> 5
            if length == 7:
                length += _byte(data, i)
                i += 1
            distance = ((control & 0x1F) << 8 | _byte(data, i)) + 1
            i += 1
            length += 2
            if distance > len(out):
                raise PayloadError("compressed data refers before its start")
            start = len(out) - distance
            if distance >= length:
                out += out[start : start + length]
            else:  # overlapping what it writes: the last ``distance`` bytes, repeated
                out += (out[start:] * (length // distance + 1))[:length]
        if len(out) > size:
            raise PayloadError("compressed data is longer than its length says")
    if len(out) != size:
        raise PayloadError("compressed data is shorter than its length says")
    return bytes(out)


def number(text: bytes) -> float:
    """A score as text (a listpack or ziplist item, an old zset's)."""
    try:
        return float(text)
    except ValueError:
        raise PayloadError(f"not a number: {text[:32]!r}") from None


_INTSET_FORMATS = {2: "<h", 4: "<i", 8: "<q"}


def intset_items(blob: bytes) -> list[bytes]:
    """The members of an intset: its width, its count, its integers."""
    if len(blob) < 8:
        raise PayloadError("an intset shorter than its header")
    width, count = struct.unpack_from("<II", blob)
    code = _INTSET_FORMATS.get(width)
    if code is None or len(blob) != 8 + width * count:
        raise PayloadError("a malformed intset")
    return [b"%d" % value for (value,) in struct.iter_unpack(code, blob[8:])]


def listpack_items(blob: bytes) -> list[bytes]:
    """The items of a listpack (Redis 7's ``listpack.c``): each an encoding,
    its data and its back-length; integers as their decimal text."""
    if len(blob) < 7 or struct.unpack_from("<I", blob)[0] != len(blob) or blob[-1] != 0xFF:
        raise PayloadError("a malformed listpack")
    items: list[bytes] = []
    i, end = 6, len(blob) - 1
    while i < end:
        first = blob[i]
        start = i
        if first < 0x80:  # a 7-bit unsigned integer
            items.append(b"%d" % first)
            i += 1
        elif first < 0xC0:  # a string of up to 63 bytes
            i += 1 + (first & 0x3F)
            items.append(blob[start + 1 : i])
        elif first < 0xE0:  # a 13-bit signed integer
            value = (first & 0x1F) << 8 | _byte(blob, i + 1)
            items.append(b"%d" % (value - (1 << 13) if value >= 1 << 12 else value))
            i += 2
        elif first < 0xF0:  # a string of up to 4,095 bytes
            i += 2 + ((first & 0x0F) << 8 | _byte(blob, i + 1))
            items.append(blob[start + 2 : i])
        elif first == 0xF0:  # a string with a 32-bit length
            size = struct.unpack_from("<I", _piece(blob, i + 1, 4))[0]
            i += 5 + size
            items.append(blob[start + 5 : i])
        elif 0xF1 <= first <= 0xF4:  # a 16, 24, 32 or 64-bit signed integer
            size = (2, 3, 4, 8)[first - 0xF1]
            items.append(b"%d" % int.from_bytes(_piece(blob, i + 1, size), "little", signed=True))
            i += 1 + size
        else:
            raise PayloadError("a listpack item of unknown encoding")
        if i > end:
            raise PayloadError("a listpack item runs past its end")
        size = i - start
        i += 1 if size < 128 else 2 if size < 16384 else 3 if size < 2097152 else 4
    if i != end:
        raise PayloadError("a listpack item runs past its end")
    return items


def encode_listpack(items: list[bytes | int]) -> bytes:
    """A listpack of ``items``: each integer in the smallest integer
    encoding that holds it, each string as a string; every entry followed
    by its size, written backwards (``lpEncodeBacklen``)."""
    entries = [_listpack_entry(item) for item in items]
    body = b"".join(entries)
    count = min(len(items), 0xFFFF)  # 65,535: "count them"
    return struct.pack("<IH", 7 + len(body), count) + body + b"\xff"


def _listpack_entry(item: bytes | int) -> bytes:
    if isinstance(item, int):
        if 0 <= item < 128:
            data = bytes((item,))
        elif -4096 <= item < 4096:
            data = bytes((0xC0 | (item >> 8) & 0x1F, item & 0xFF))
        else:
            code, size = next(
                (code, size)
                for code, size in ((0xF1, 2), (0xF2, 3), (0xF3, 4), (0xF4, 8))
                if -(1 << 8 * size - 1) <= item < 1 << 8 * size - 1
            )
            data = bytes((code,)) + item.to_bytes(size, "little", signed=True)
    elif len(item) < 64:
        data = bytes((0x80 | len(item),)) + item
    elif len(item) < 4096:
        data = bytes((0xE0 | len(item) >> 8, len(item) & 0xFF)) + item
    else:
        data = b"\xf0" + struct.pack("<I", len(item)) + item
    size, groups = len(data), []
    while True:  # 7 bits a byte, the most significant first; the others marked 0x80
        groups.insert(0, size & 0x7F)
        size >>= 7
        if not size:
            break
    return data + bytes(groups[:1]) + bytes(group | 0x80 for group in groups[1:])


def ziplist_items(blob: bytes) -> list[bytes]:
    """The items of a ziplist (Redis 6's ``ziplist.c``): each the previous
    item's length, an encoding and its data; integers as decimal text."""
    if len(blob) < 11 or struct.unpack_from("<I", blob)[0] != len(blob) or blob[-1] != 0xFF:
        raise PayloadError("a malformed ziplist")
    items: list[bytes] = []
    i, end = 10, len(blob) - 1
    while i < end:
        i += 5 if blob[i] == 0xFE else 1  # the previous item's length
        first = _byte(blob, i)
        kind = first >> 6
        if kind == 0:
            i += 1 + (first & 0x3F)
            items.append(blob[i - (first & 0x3F) : i])
        elif kind == 1:
            size = (first & 0x3F) << 8 | _byte(blob, i + 1)
            i += 2 + size
            items.append(blob[i - size : i])
        elif first == 0x80:
            size = struct.unpack_from(">I", _piece(blob, i + 1, 4))[0]
            i += 5 + size
            items.append(blob[i - size : i])
        elif first in _ZIPLIST_INTEGERS:
            size = _ZIPLIST_INTEGERS[first]
            items.append(b"%d" % int.from_bytes(_piece(blob, i + 1, size), "little", signed=True))
            i += 1 + size
        elif 0xF1 <= first <= 0xFD:  # 0 to 12, in the encoding itself
            items.append(b"%d" % ((first & 0x0F) - 1))
            i += 1
        else:
            raise PayloadError("a ziplist item of unknown encoding")
        if i > end:
            raise PayloadError("a ziplist item runs past its end")
    return items


_ZIPLIST_INTEGERS = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


def _byte(blob: bytes, i: int) -> int:
    if i >= len(blob):
        raise PayloadError("an item runs past its blob")
    return blob[i]


def _piece(blob: bytes, i: int, size: int) -> bytes:
    if i + size > len(blob):
        raise PayloadError("an item runs past its blob")
    return blob[i : i + size]
