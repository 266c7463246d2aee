"""The values a command answers with, as the Redis protocol types them.

Plain Python values stand for most RESP types: ``int`` is an integer reply,
``float`` a double (a sorted set's score; a bulk string in RESP2), ``bytes``
a bulk string, ``None`` a null, ``list`` an array (of replies), ``dict`` a
map (HGETALL's; a flat array in RESP2).
Small classes cover the rest: ``Status`` ("+OK"), ``ErrorReply``
("-ERR ..."), and ``NULL_ARRAY``, the null RESP2 writes as ``*-1`` where a
command answers an array when it has something (BLPOP's timeout, XREAD's
nothing, EXEC stopped by WATCH). The state machine returns these; the server encodes them.
An ``ErrorReply`` is a normal answer (the command ran and failed), never an
exception, so that it can be stored in a session table and replayed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Status:
    """A simple-string reply, e.g. ``Status("OK")`` -> ``+OK``."""

    text: str


@dataclass(slots=True, frozen=True)
class ErrorReply:
    """An error reply; ``message`` starts with its code, e.g. ``"ERR syntax error"``."""

    message: str


@dataclass(slots=True, frozen=True)
class Double:
    """A double in the text Redis writes for it (GEOPOS's coordinates,
    ``%.17Lf``): a bulk string in RESP2, a double in RESP3."""

    text: bytes


class NullArray:
    """Redis's null array: ``*-1`` in RESP2, where ``None`` is ``$-1``; the
    same null (``_``) in RESP3. One instance, ``NULL_ARRAY``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"

    def __reduce__(self) -> str:  # copied or pickled, still the one instance
        return "NULL_ARRAY"


NULL_ARRAY = NullArray()


class BulkParts:
    """A bulk string given in parts, too large to join into one more copy
    (``RAFT.BACKUP``'s snapshot): the server writes the parts one after the
    other, as fast as the client reads them."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts


class Members(list):  # type: ignore[type-arg]
    """The members of a set (SMEMBERS, SINTER, ...): a set in RESP3, an array in RESP2."""


class Push(list):  # type: ignore[type-arg]
    """An out-of-band message (pub/sub): a push (``>``) in RESP3, an array in RESP2."""


class Scored(list):  # type: ignore[type-arg]
    """Members with their scores, ``[member, score]`` pairs (ZRANGE ...
    WITHSCORES), or fields with their values (HRANDFIELD ... WITHVALUES): an
    array of pairs in RESP3, one flat array in RESP2."""


class Keyed(list):  # type: ignore[type-arg]
    """Replies by key, ``(key, reply)`` pairs (XREAD's streams): a map in
    RESP3, an array of two-item arrays in RESP2."""


OK = Status("OK")
Reply = Status | ErrorReply | Double | NullArray | int | float | bytes | None | list | dict
"""One reply; a list's items and a dict's keys and values are replies too."""
_INFINITIES = {float("inf"): b"inf", float("-inf"): b"-inf"}


def format_score(score: float) -> bytes:
    """A score as Redis writes it: the shortest text that reads back as the
    same double (as Redis 7.2; 7.0 writes 17 digits, ``1.1000000000000001``),
    without a trailing ``.0``, in digits up to 17 of them, as both write
    ``13510798882111488`` where Python writes ``1.3510798882111488e+16``;
    ``inf`` and ``-inf``."""
    if score in _INFINITIES:
        return _INFINITIES[score]
    text = repr(score)
    if text.endswith("e+16"):  # an integer of 17 digits: Redis writes its digits
        return b"%d" % score
    return (text[:-2] if text.endswith(".0") else text).encode()


def to_wire(reply: Reply) -> object:
    """A msgpack-able form of ``reply``, to carry a forwarded command's answer."""
    if isinstance(reply, Status):
        return ["+", reply.text]
    if isinstance(reply, ErrorReply):
        return ["-", reply.message]
    if isinstance(reply, list):
        return [_LIST_TAGS.get(type(reply), "*"), [to_wire(item) for item in reply]]
    if isinstance(reply, dict):
        return ["%", [[to_wire(key), to_wire(value)] for key, value in reply.items()]]
    if isinstance(reply, Double):
        return [",", reply.text]
    if reply is NULL_ARRAY:
        return ["_", None]
    return reply


def from_wire(value: object) -> Reply:
    """Inverse of ``to_wire``."""
    if isinstance(value, list):
        tag, body = value
        if tag == "+":
            return Status(body)
        if tag == "-":
            return ErrorReply(body)
        if tag == "%":
            return {from_wire(key): from_wire(value) for key, value in body}
        if tag == ",":
            return Double(body)
        if tag == "_":
            return NULL_ARRAY
        items = [from_wire(item) for item in body]
        return _LIST_KINDS[tag](items)
    return value  # type: ignore[return-value]


_LIST_TAGS = {Members: "~", Scored: "z", Keyed: "k"}
_LIST_KINDS = {"*": list, "~": Members, "z": Scored, "k": Keyed}
