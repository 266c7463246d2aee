"""A stream in a key-value snapshot (store.py, format ranet.kv/5): a msgpack
extension value of type ``STREAM_EXT``, holding one msgpack array::

    [last_ms, last_seq, max_deleted_ms, max_deleted_seq, entries_added,
     [ms, ...], [seq, ...], [[field, value, ...], ...],     # entries, in ID order
     [[name, last_ms, last_seq, entries_read,               # groups
       [[ms, seq, consumer, delivery_time, delivery_count], ...],  # PEL, in ID order
       [[consumer, seen_time], ...]], ...]]

A consumer's own pending list is not stored: it is the group's pending
entries that name it. The entries are three parallel arrays, so that a
large stream packs and unpacks in a few calls rather than one per entry
(a million small entries: about 0.3-0.4 s to pack, 2 s to unpack and check,
here). ``unpack`` checks everything it reads and raises
``ValueError`` on anything malformed, so a corrupt snapshot is refused
whole rather than restored in part.
"""

from __future__ import annotations

from itertools import islice, pairwise

import msgpack
from sortedcontainers import SortedDict, SortedList

from ranet.kv.stream_value import (
    U64_MAX,
    Consumer,
    Group,
    Pending,
    Stream,
    StreamID,
    id_parts,
    make_id,
    pack_fields,
)

STREAM_EXT = 1
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)


def pack(stream: Stream) -> msgpack.ExtType:
    """The stream as an extension value. The entries' arrays are packed in
    chunks of ``CHUNK``, each one short call into msgpack, so that a thread
    serializing a snapshot gives the event loop the GIL in between."""
    entries = stream.entries
    groups = [
        [
            name,
            *id_parts(group.last_id),
            group.entries_read,
            [
                [*id_parts(stream_id), p.consumer, p.delivery_time, p.delivery_count]
                for stream_id, p in group.pending.items()
            ],
            [[consumer_name, c.seen_time] for consumer_name, c in group.consumers.items()],
        ]
        for name, group in stream.groups.items()
    ]
    counters = (*id_parts(stream.last_id), *id_parts(stream.max_deleted), stream.entries_added)
    ids = list(map(id_parts, entries))
    parts = [
        _array_header(9),
        *map(msgpack.packb, counters),
        _packed_array([ms for ms, _ in ids]),
        _packed_array([seq for _, seq in ids]),
        _array_header(len(entries)),  # each entry's fields are held packed already
        b"".join(entries.values()),
        msgpack.packb(groups),
    ]
    return msgpack.ExtType(STREAM_EXT, b"".join(parts))


CHUNK = 10_000


def _packed_array(items: list[object]) -> bytes:
    """``msgpack.packb(items)``, packed ``CHUNK`` items at a time."""
    parts = [_array_header(len(items))]
    chunks = iter(items)
    while chunk := list(islice(chunks, CHUNK)):
        packed = msgpack.packb(chunk)
        parts.append(packed[len(_array_header(len(chunk))) :])  # the items without a header
    return b"".join(parts)


def _array_header(length: int) -> bytes:
    # a packer of its own: snapshots and backups may serialize on two threads at once
    return msgpack.Packer().pack_array_header(length)


def unpack(value: msgpack.ExtType) -> Stream:
    """The stream ``value`` holds; ``ValueError`` if it is not a well-formed one."""
    _check(value.code == STREAM_EXT, "not a stream")
    try:
        body = msgpack.unpackb(value.data)
    except Exception as error:  # msgpack raises several types
        raise ValueError(f"undecodable stream: {error}") from None
    _check(isinstance(body, list) and len(body) == 9, "a stream is not a 9-item array")
    last_ms, last_seq, deleted_ms, deleted_seq, added, ms_list, seq_list, fields, groups = body
    stream = Stream()
    stream.last_id = _id(last_ms, last_seq)
    stream.max_deleted = _id(deleted_ms, deleted_seq)
    _check(_int64(added), "bad entries added")
    stream.entries_added = added
    _check(
        all(isinstance(part, list) for part in (ms_list, seq_list, fields))
        and len(ms_list) == len(seq_list) == len(fields),
        "entries are not three arrays of one length",
    )
    _check(
        all(type(n) is int and 0 <= n <= U64_MAX for n in ms_list + seq_list),
        "an ID is not two unsigned 64-bit integers",
    )
    _check(
        all(
            type(pairs) is list and pairs and not len(pairs) % 2 and all(
                type(part) is bytes for part in pairs)
            for pairs in fields
        ),
        "an entry's fields are not pairs of strings",
    )  # fmt: skip
    ids = list(map(make_id, ms_list, seq_list))
    _check(all(a < b for a, b in pairwise(ids)), "entries are not in increasing ID order")
    _check(not ids or ids[-1] <= stream.last_id, "an entry comes after the last ID")
    # a count below zero has wrapped past 2^63 - 1, as Redis's does (stream_value.int64)
    _check(added < 0 or added >= len(ids), "fewer entries added than there are")
    stream.entries = dict(zip(ids, map(pack_fields, fields), strict=True))
    stream.ids = SortedList(ids)
    _check(isinstance(groups, list), "groups are not an array")
    for row in groups:
        name, group = _group(row, stream)
        _check(name not in stream.groups, "a group repeats")
        stream.groups[name] = group
    return stream


def _group(row: object, stream: Stream) -> tuple[bytes, Group]:
    _check(isinstance(row, list) and len(row) == 6, "a group is not a 6-item array")
    name, last_ms, last_seq, entries_read, pending, consumers = row  # type: ignore[misc]
    _check(type(name) is bytes, "a group's name is not a string")
    _check(_int64(entries_read), "bad entries read")
    group = Group(_id(last_ms, last_seq), entries_read)
    _check(isinstance(consumers, list), "consumers are not an array")
    for consumer in consumers:
        _check(
            isinstance(consumer, list)
            and len(consumer) == 2
            and type(consumer[0]) is bytes
            and _count(consumer[1]),
            "a consumer is not [name, seen time]",
        )
        group.consumers[consumer[0]] = Consumer(consumer[1])
    _check(len(group.consumers) == len(consumers), "a consumer repeats")
    _check(isinstance(pending, list), "pending entries are not an array")
    group.pending = SortedDict()
    previous: StreamID | None = None
    for item in pending:
        _check(isinstance(item, list) and len(item) == 5, "a pending entry is not a 5-item array")
        ms, seq, owner, delivered, count = item
        _check(
            type(owner) is bytes and owner in group.consumers, "a pending entry names no consumer"
        )
        # a delivery count below zero has wrapped, as Redis's (stream_value.int64)
        _check(_count(delivered) and _int64(count), "bad delivery time or count")
        stream_id = _id(ms, seq)
        _check(previous is None or previous < stream_id, "pending entries are not in ID order")
        previous = stream_id
        group.pending[stream_id] = Pending(owner, delivered, count)
        group.consumers[owner].pending.add(stream_id)
    _check(len(group.pending) == len(pending), "a pending entry repeats")
    return name, group


def _id(ms: object, seq: object) -> StreamID:
    _check(
        type(ms) is int and type(seq) is int and 0 <= ms <= U64_MAX and 0 <= seq <= U64_MAX,
        "an ID is not two unsigned 64-bit integers",
    )
    return make_id(ms, seq)  # type: ignore[arg-type]


def _count(value: object) -> bool:
    """A time in ms or a count: a non-negative 64-bit integer."""
    return type(value) is int and 0 <= value <= _INT64_MAX


def _int64(value: object) -> bool:
    return type(value) is int and _INT64_MIN <= value <= _INT64_MAX


def _check(condition: object, reason: str) -> None:
    if not condition:
        raise ValueError(reason)
