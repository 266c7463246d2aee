"""The WAL record codec: every durable byte of the log is inside a checksummed record.

A record is a 12-byte header and a body::

    body_length u32 | body_crc u32 | header_crc u32 | body[body_length]

``header_crc`` is the CRC-32 of the first 8 bytes, so a damaged length is
caught before it is trusted: a flipped length bit could otherwise pass for a
record cut short by a crash and silently swallow the records after it.
``body_crc`` is the CRC-32 of the body. The body's first byte names its kind:

- ``SEGMENT``: magic ``RNWL``, segment sequence number u64, index of the
  segment's first entry u64 (always the first record of a segment file);
- ``HARD_STATE``: current_term u64, has_vote u8, voted_for u64, commit_index u64;
- ``ENTRY``: index u64, term u64, entry kind u8, then the entry's data.

Integers are little-endian.

Invariant: ``read_record`` never returns a partial or damaged record. When it
refuses one it says whether the damage *could* be a torn write (the file ends
inside the record, or nothing but zero bytes follows it); only the caller
knows whether the record sits at the tail of the newest segment, the one place
a torn write is expected after a crash.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from zlib import crc32

from ranet.core.types import Entry, HardState

SEGMENT = 1
HARD_STATE = 2
ENTRY = 3

SEGMENT_MAGIC = b"RNWL"

HEADER = struct.Struct("<III")
_LENGTH_AND_CRC = struct.Struct("<II")
_CRC = struct.Struct("<I")
_SEGMENT_BODY = struct.Struct("<B4sQQ")
_HARD_STATE_BODY = struct.Struct("<BQBQQ")
_ENTRY_PREFIX = struct.Struct("<BQQB")

ENTRY_HEAD_SIZE = HEADER.size + _ENTRY_PREFIX.size
"""Bytes from the start of an entry record to the start of the entry's data."""


class BadRecord(Exception):
    """A record at ``offset`` failed validation.

    ``torn`` is true when the damage looks like a write cut short by a crash.
    """

    def __init__(self, offset: int, reason: str, *, torn: bool) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason
        self.torn = torn


def _header(body_length: int, body_crc: int) -> bytes:
    length_and_crc = _LENGTH_AND_CRC.pack(body_length, body_crc)
    return length_and_crc + _CRC.pack(crc32(length_and_crc))


def encode_record(body: bytes) -> bytes:
    """Frame ``body`` as one record: header with both checksums, then the body."""
    return _header(len(body), crc32(body)) + body


def encode_segment_header(seq: int, first_index: int) -> bytes:
    return encode_record(_SEGMENT_BODY.pack(SEGMENT, SEGMENT_MAGIC, seq, first_index))


def encode_hard_state(hard_state: HardState) -> bytes:
    voted_for = hard_state.voted_for
    return encode_record(
        _HARD_STATE_BODY.pack(
            HARD_STATE,
            hard_state.current_term,
            voted_for is not None,
            voted_for or 0,
            hard_state.commit_index,
        )
    )


def encode_entries(
    first_index: int, entries: Sequence[Entry], offset: int
) -> tuple[bytes, list[int]]:
    """Encode a batch as one blob to be written at file ``offset``.

    Returns the blob and the file offset of each entry's record: the in-memory
    index that later finds an entry without scanning. An entry whose term or
    kind does not fit (u64, u8) raises ``ValueError``.
    """
    parts: list[bytes] = []
    offsets = []
    index = first_index
    try:
        for index, (term, data, kind) in enumerate(entries, first_index):
            # The body is framed in two parts so the entry's data is never copied
            # but once, into the blob.
            prefix = _ENTRY_PREFIX.pack(ENTRY, index, term, kind)
            body_length = len(prefix) + len(data)
            parts += (_header(body_length, crc32(data, crc32(prefix))), prefix, data)
            offsets.append(offset)
            offset += HEADER.size + body_length
    except struct.error as exc:
        raise ValueError(f"entry {index} cannot be stored: {exc}") from None
    return b"".join(parts), offsets


def read_record(buf: memoryview, offset: int) -> tuple[memoryview, int]:
    """Validate the record at ``offset``; return its body and the offset after it.

    Raises ``BadRecord`` for a record that is cut short or fails a checksum.
    """
    body_start = offset + HEADER.size
    if body_start > len(buf):
        raise BadRecord(offset, "the file ends inside a record header", torn=True)
    length, body_crc, header_crc = HEADER.unpack_from(buf, offset)
    if crc32(buf[offset : offset + _LENGTH_AND_CRC.size]) != header_crc:
        raise BadRecord(offset, "record header checksum mismatch", torn=only_zeros(buf, offset))
    end = body_start + length
    if end > len(buf):
        raise BadRecord(offset, f"the file ends inside a {length}-byte record", torn=True)
    body = buf[body_start:end]
    if crc32(body) != body_crc:
        raise BadRecord(offset, "record checksum mismatch", torn=only_zeros(buf, end))
    if length == 0:
        raise BadRecord(offset, "empty record", torn=False)
    return body, end


def only_zeros(buf: memoryview, start: int) -> bool:
    """True if nothing but zero bytes follows ``start``: space a crash left unwritten."""
    return not buf[start:].tobytes().strip(b"\0")


def decode_segment_header(body: memoryview) -> tuple[int, int]:
    """Return ``(seq, first_index)``; ``ValueError`` if this is no segment header."""
    if len(body) != _SEGMENT_BODY.size or body[0] != SEGMENT:
        raise ValueError("a segment must begin with a segment header record")
    _, magic, seq, first_index = _SEGMENT_BODY.unpack(body)
    if magic != SEGMENT_MAGIC:
        raise ValueError(f"bad segment magic {magic!r}")
    return seq, first_index


def decode_hard_state(body: memoryview) -> HardState:
    if len(body) != _HARD_STATE_BODY.size:
        raise ValueError(f"hard-state record of {len(body)} bytes")
    _, current_term, has_vote, voted_for, commit_index = _HARD_STATE_BODY.unpack(body)
    return HardState(current_term, voted_for if has_vote else None, commit_index)


def entry_index(body: memoryview) -> int:
    """The index an entry record's body carries; ``ValueError`` if it is too short."""
    if len(body) < _ENTRY_PREFIX.size:
        raise ValueError(f"entry record of {len(body)} bytes")
    return _ENTRY_PREFIX.unpack_from(body)[1]


def entry_term(head: bytes) -> int:
    """The term in the first ``ENTRY_HEAD_SIZE`` bytes of a validated entry record."""
    return _ENTRY_PREFIX.unpack_from(head, HEADER.size)[2]


def decode_entry(buf: bytes, offset: int) -> Entry:
    """The entry whose record, already validated, starts at ``offset`` in ``buf``."""
    length = _LENGTH_AND_CRC.unpack_from(buf, offset)[0]
    _, _, term, kind = _ENTRY_PREFIX.unpack_from(buf, offset + HEADER.size)
    return Entry(term, buf[offset + ENTRY_HEAD_SIZE : offset + HEADER.size + length], kind)
