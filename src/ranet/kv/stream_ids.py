"""Stream IDs as Redis reads them from arguments: ``ms-seq``, ``ms`` (the
sequence left to the command), ``-`` and ``+``, ``(`` for an exclusive range
bound, and XADD's ``ms-*``. Each number is read as Redis's ``string2ull``
reads it: a plain integer, or what C's ``strtoull`` accepts (spaces before,
a sign, leading zeros; a ``-`` wraps around, as in C).
"""

from __future__ import annotations

from ranet.kv.arguments import parse_int
from ranet.kv.reply import ErrorReply
from ranet.kv.stream_value import (
    MAX_ID,
    U64_MAX,
    ZERO_ID,
    StreamID,
    make_id,
    next_id,
    previous_id,
)

INVALID_ID = ErrorReply("ERR Invalid stream ID specified as stream command argument")
_MAX_ID_TEXT = 127  # Redis copies an ID into a 128-byte buffer
_C_SPACES = b" \t\n\v\f\r"


def _parse_u64(text: bytes) -> int | None:
    number = parse_int(text)
    if number is not None:
        return number if number >= 0 else None
    body = text.lstrip(_C_SPACES)
    negative = body[:1] == b"-"
    if body[:1] in (b"+", b"-"):
        body = body[1:]
    if not body.isdigit() or int(body) > U64_MAX:
        return None
    return (-int(body)) % (U64_MAX + 1) if negative else int(body)


def parse_id(
    text: bytes, missing_seq: int = 0, *, strict: bool = False, seq_star: bool = False
) -> StreamID | tuple[int, None] | None:
    """The ID ``text`` names, ``None`` if it names none. ``missing_seq`` is
    the sequence of an ``ms`` alone; ``strict`` refuses ``-`` and ``+``;
    ``seq_star`` reads ``ms-*`` as ``(ms, None)``."""
    if len(text) > _MAX_ID_TEXT:
        return None
    text = text.split(b"\0", 1)[0]  # C strings end at the first NUL
    if text in (b"-", b"+"):
        return None if strict else (ZERO_ID if text == b"-" else MAX_ID)
    ms_text, dash, seq_text = text.partition(b"-")
    ms = _parse_u64(ms_text)
    if ms is None:
        return None
    if not dash:
        return make_id(ms, missing_seq)
    if seq_star and seq_text == b"*":
        return ms, None
    seq = _parse_u64(seq_text)
    return None if seq is None else make_id(ms, seq)


def parse_strict_id(text: bytes, missing_seq: int = 0) -> StreamID | ErrorReply:
    """An ID, ``-`` and ``+`` refused: Redis's ``streamParseStrictIDOrReply``."""
    stream_id = parse_id(text, missing_seq, strict=True)
    return INVALID_ID if stream_id is None else stream_id  # type: ignore[return-value]


def parse_distinct_ids(texts: list[bytes]) -> list[StreamID] | ErrorReply:
    """XDEL's and XACK's IDs: each strict, each once, in order; all are
    checked before anything changes, so an invalid one changes nothing."""
    ids: list[StreamID] = []
    for text in texts:
        stream_id = parse_strict_id(text)
        if isinstance(stream_id, ErrorReply):
            return stream_id
        ids.append(stream_id)
    return list(dict.fromkeys(ids))


def parse_bound(text: bytes, *, end: bool) -> StreamID | ErrorReply:
    """A range bound (XRANGE, XPENDING, XAUTOCLAIM): inclusive, or exclusive
    after ``(``, turned into the inclusive bound next to it."""
    if len(text) > 1 and text[:1] == b"(":
        stream_id = parse_id(text[1:], U64_MAX if end else 0, strict=True)
        if stream_id is None:
            return INVALID_ID
        assert isinstance(stream_id, bytes)
        moved = previous_id(stream_id) if end else next_id(stream_id)
        if moved is None:
            return ErrorReply(f"ERR invalid {'end' if end else 'start'} ID for the interval")
        return moved
    stream_id = parse_id(text, U64_MAX if end else 0)
    return INVALID_ID if stream_id is None else stream_id  # type: ignore[return-value]
