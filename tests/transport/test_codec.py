"""The codec: every message type round-trips; every bad payload is a DecodeError."""

from __future__ import annotations

import dataclasses
import random
import typing
from enum import IntEnum
from types import UnionType
from typing import Any

import msgpack
import pytest

from ranet.core.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Heartbeat,
    HeartbeatResponse,
    RequestVote,
    RequestVoteResponse,
)
from ranet.core.types import Entry, EntryKind, SnapshotMeta
from ranet.errors import DecodeError, EncodeError
from ranet.transport.codec import CORE_MESSAGE_TYPES, Codec, default_codec

from .helpers import CODEC, message_array

BIG = 2**64 - 1
SMALL = -(2**63)
ALL_BYTES = bytes(range(256))


@dataclasses.dataclass(slots=True, frozen=True)
class Snapshot:
    """A node-level type using every composite shape the codec supports."""

    src: int
    dst: int
    meta: SnapshotMeta
    previous: SnapshotMeta | None
    kind: EntryKind
    ratio: float
    note: str
    chunks: tuple[bytes, ...]


def test_core_tags_are_pinned() -> None:
    """Tags are positions: reordering the core union would break running clusters."""
    assert CORE_MESSAGE_TYPES[:6] == (
        RequestVote,
        RequestVoteResponse,
        AppendEntries,
        AppendEntriesResponse,
        Heartbeat,
        HeartbeatResponse,
    )
    assert default_codec((Snapshot,)).types == (*CORE_MESSAGE_TYPES, Snapshot)


EXAMPLES = [
    RequestVote(1, 2, 3, 4, 5),
    RequestVote(1, 2, BIG, BIG, BIG, pre_vote=True, transfer=True),
    RequestVoteResponse(2, 1, 3, vote_granted=True, pre_vote=True),
    AppendEntries(1, 2, 7, 10, 6, (), 9),
    AppendEntries(
        1,
        2,
        7,
        10,
        6,
        (Entry(7, b""), Entry(7, ALL_BYTES, EntryKind.CONFIG), Entry(BIG, b"\x00", EntryKind.NOOP)),
        BIG,
    ),
    AppendEntriesResponse(2, 1, 7, success=False, reject_index=10, hint_index=4, hint_term=3),
    AppendEntriesResponse(2, 1, SMALL, success=True, match_index=BIG),
    Heartbeat(1, 2, 7, 0),
    HeartbeatResponse(2, 1, 7),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(message: object) -> None:
    assert CODEC.decode(CODEC.encode(message)) == message


def test_entries_come_back_as_entry_objects_with_bytes_data() -> None:
    entries = (Entry(1, b"a"), Entry(2, b"", EntryKind.NOOP))
    decoded = CODEC.decode(CODEC.encode(AppendEntries(1, 2, 2, 0, 0, entries, 0)))
    assert isinstance(decoded, AppendEntries)
    assert type(decoded.entries) is tuple
    assert [type(entry) for entry in decoded.entries] == [Entry, Entry]
    assert [type(entry.data) for entry in decoded.entries] == [bytes, bytes]


def test_an_entry_is_a_three_element_array() -> None:
    array = message_array(AppendEntries(1, 2, 2, 0, 0, (Entry(2, b"x", 0),), 0))
    names = [field.name for field in dataclasses.fields(AppendEntries)]
    assert array[0] == CODEC.types.index(AppendEntries)
    assert array[1 + names.index("entries")] == [[2, b"x", 0]]


def test_nested_optional_enum_float_and_tuple_fields_round_trip() -> None:
    codec = default_codec((Snapshot,))
    meta = SnapshotMeta(10, 3, (1, 2, 3), (4,))
    for message in (
        Snapshot(1, 2, meta, None, EntryKind.CONFIG, 0.5, "é", (b"a", b"")),
        Snapshot(1, 2, meta, SnapshotMeta(), EntryKind.NORMAL, 2, "", ()),
    ):
        decoded = codec.decode(codec.encode(message))
        assert decoded == message
        assert type(decoded.kind) is EntryKind


def random_value(annotation: Any, rng: random.Random) -> Any:
    """A random value of an annotated type: edge cases often, anything in range otherwise."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, UnionType):
        return random_value(rng.choice(typing.get_args(annotation)), rng)
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        return tuple(random_value(item, rng) for _ in range(rng.choice((0, 1, 2, 64))))
    if annotation in (None, type(None)):
        return None
    if annotation is bool:
        return rng.random() < 0.5
    if annotation is int:
        return rng.choice((0, 1, BIG, SMALL, rng.randint(SMALL, BIG)))
    if annotation is bytes:
        return rng.randbytes(rng.choice((0, 1, 16, 300)))
    if annotation is str:
        return "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(0, 8)))
    if annotation is float:
        return rng.uniform(-1e9, 1e9)
    if isinstance(annotation, type) and issubclass(annotation, IntEnum):
        return rng.choice(list(annotation))
    hints = typing.get_type_hints(annotation)
    if dataclasses.is_dataclass(annotation):
        names = [f.name for f in dataclasses.fields(annotation)]
    else:
        names = list(annotation._fields)
    return annotation(*(random_value(hints[name], rng) for name in names))


@pytest.mark.parametrize("seed", range(5))
def test_randomized_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    codec = default_codec((Snapshot,))
    for _ in range(300):
        message = random_value(rng.choice(codec.types), rng)
        assert codec.decode(codec.encode(message)) == message


def pack(array: list[Any]) -> bytes:
    return msgpack.packb(array)


HEARTBEAT = Heartbeat(1, 2, 3, 4)
ARITY = len(dataclasses.fields(Heartbeat))
APPEND = AppendEntries(1, 2, 3, 0, 0, (), 0)
BAD_PAYLOADS = {
    "empty": (b"", "invalid msgpack"),
    "reserved byte": (b"\xc1", "invalid msgpack"),
    "garbage": (b"\xff\x00\x13garbage", "invalid msgpack"),
    "truncated": (CODEC.encode(HEARTBEAT)[:-1], "invalid msgpack"),
    "trailing bytes": (CODEC.encode(HEARTBEAT) + b"\x00", "invalid msgpack"),
    "not an array": (msgpack.packb({"tag": 4}), "must be a non-empty array"),
    "empty array": (pack([]), "must be a non-empty array"),
    "unknown tag": (pack([99, 1, 2, 3, 4]), "unknown message tag 99"),
    "negative tag": (pack([-1, 1, 2, 3, 4]), "unknown message tag -1"),
    "tag is a string": (pack(["4", 1, 2, 3, 4]), "unknown message tag '4'"),
    "too few fields": (
        pack(message_array(HEARTBEAT)[:-1]),
        f"Heartbeat expects {ARITY} fields, got {ARITY - 1}",
    ),
    "too many fields": (
        pack([*message_array(HEARTBEAT), 5]),
        f"Heartbeat expects {ARITY} fields, got {ARITY + 1}",
    ),
    "bool for int": (pack(message_array(HEARTBEAT, term=True)), "term must be int, got bool"),
    "str for int": (pack(message_array(HEARTBEAT, term="3")), "term must be int, got str"),
    "int for bool": (
        pack(message_array(RequestVoteResponse(2, 1, 3, True), vote_granted=1)),
        "vote_granted must be bool, got int",
    ),
    "entries not an array": (pack(message_array(APPEND, entries=b"x")), "entries must be tuple"),
    "entry of wrong arity": (
        pack(message_array(APPEND, entries=[[1, b"x"]])),
        "item 0: Entry expects 3 fields, got 2",
    ),
    "entry data as str": (
        pack(message_array(APPEND, entries=[[1, b"", 0], [1, "x", 0]])),
        "item 1: Entry.data must be bytes, got str",
    ),
    "entry is a map": (
        pack(message_array(APPEND, entries=[{"a": 1}])),
        "item 0 must be Entry, got dict",
    ),
    "ext type": (
        pack(message_array(HEARTBEAT, term=msgpack.ExtType(1, b"x"))),
        "term must be int, got ExtType",
    ),
    "deep nesting": (b"\x91" * 100_000 + b"\x00", "invalid msgpack"),
}


@pytest.mark.parametrize("payload, reason", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_bad_payload_is_a_decode_error(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        CODEC.decode(payload)


def test_invalid_enum_value_is_a_decode_error() -> None:
    codec = default_codec((Snapshot,))
    good = msgpack.unpackb(codec.encode(Snapshot(1, 2, SnapshotMeta(), None, 0, 0.0, "", ())))
    good[5] = 99
    with pytest.raises(DecodeError, match="99 is not a valid EntryKind"):
        codec.decode(msgpack.packb(good))


@pytest.mark.parametrize("seed", range(3))
def test_mutated_payloads_decode_or_raise_decode_error(seed: int) -> None:
    """Fuzz: flipped bytes, cuts and random bytes never raise anything but DecodeError."""
    rng = random.Random(seed)
    valid = [CODEC.encode(message) for message in EXAMPLES]
    for _ in range(2000):
        payload = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 4)):
            payload[rng.randrange(len(payload))] = rng.randrange(256)
        candidates = (
            bytes(payload),
            bytes(payload[: rng.randrange(len(payload))]),
            rng.randbytes(20),
        )
        for candidate in candidates:
            try:
                message = CODEC.decode(candidate)
            except DecodeError:
                continue
            assert type(message) in CODEC.types


def test_encode_refuses_unregistered_types_and_out_of_range_ints() -> None:
    with pytest.raises(EncodeError, match="Snapshot is not a message type"):
        CODEC.encode(Snapshot(1, 2, SnapshotMeta(), None, 0, 0.0, "", ()))
    with pytest.raises(EncodeError, match="does not fit in 64 bits"):
        CODEC.encode(Heartbeat(1, 2, 2**64, 0))
    assert CODEC.decode(CODEC.encode(Heartbeat(1, 2, 3, 4))) == Heartbeat(1, 2, 3, 4)


def test_unsupported_field_types_are_refused_when_the_codec_is_built() -> None:
    @dataclasses.dataclass(frozen=True)
    class WithDict:
        src: int
        dst: int
        table: dict[str, int]

    with pytest.raises(TypeError, match=r"WithDict\.table"):
        Codec([WithDict])
    with pytest.raises(TypeError, match="distinct"):
        Codec([Heartbeat, Heartbeat])


def test_fingerprint_follows_the_schema() -> None:
    @dataclasses.dataclass(frozen=True)
    class Ping:
        src: int
        dst: int

    @dataclasses.dataclass(frozen=True)
    class PingWithTerm:
        src: int
        dst: int
        term: int

    assert default_codec().fingerprint == CODEC.fingerprint
    assert default_codec((Ping,)).fingerprint != CODEC.fingerprint
    assert default_codec((Ping,)).fingerprint != default_codec((PingWithTerm,)).fingerprint
    assert Codec([Heartbeat, Ping]).fingerprint != Codec([Ping, Heartbeat]).fingerprint
