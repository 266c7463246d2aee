"""A stream in Redis's serialization (DUMP, RESTORE: ``dump_restore.py``).

Redis 7.0 writes a stream as RDB_TYPE_STREAM_LISTPACKS_2: its entries in
listpacks, each under the ID of its first entry (the "master" ID), then the
stream's counters, then its consumer groups with their pending entries and
consumers (``rdb.c``, ``t_stream.c``). Each listpack starts with a master
entry - how many entries it holds, how many of them are deleted, the
master fields, a 0 - and holds each entry as flags, its ID as differences
from the master ID, its fields and values (only the values when its fields
are the master's), and how many items that was. Redis 6's
RDB_TYPE_STREAM_LISTPACKS lacks the counters; they are derived as Redis
7.0 derives them when it loads one.
"""

from __future__ import annotations

import struct
from itertools import islice

from sortedcontainers import SortedDict, SortedSet

from ranet.kv import rdb
from ranet.kv.arguments import parse_int
from ranet.kv.stream_value import (
    Consumer,
    Group,
    Pending,
    Stream,
    StreamID,
    id_parts,
    int64,
    make_id,
    pack_fields,
    unpack_fields,
)

NODE_ENTRIES = 100  # entries a listpack holds (Redis's stream-node-max-entries)
_DELETED, _SAME_FIELDS = 1, 2  # an entry's flags
_U64 = 2**64


def encode(stream: Stream) -> bytes:
    """The stream as RDB_TYPE_STREAM_LISTPACKS_2 after the type byte."""
    length, u64 = rdb.encode_length, _unsigned
    ids = list(stream.ids)
    nodes = [ids[i : i + NODE_ENTRIES] for i in range(0, len(ids), NODE_ENTRIES)]
    parts = [length(len(nodes))]
    for node in nodes:
        parts += [rdb.encode_string(node[0]), rdb.encode_string(_listpack(stream, node))]
    first = stream.first_id
    parts += [
        length(len(stream)),
        *(length(part) for part in (*id_parts(stream.last_id), *id_parts(first))),
        *(length(part) for part in id_parts(stream.max_deleted)),
        length(u64(stream.entries_added)),
        length(len(stream.groups)),
    ]
    for name, group in stream.groups.items():
        parts += [rdb.encode_string(name), *map(length, id_parts(group.last_id))]
        parts += [length(u64(group.entries_read)), length(len(group.pending))]
        for stream_id, pending in group.pending.items():
            parts += [stream_id, struct.pack("<q", pending.delivery_time)]
            parts.append(length(pending.delivery_count))
        parts.append(length(len(group.consumers)))
        for consumer_name, consumer in group.consumers.items():
            parts += [rdb.encode_string(consumer_name), struct.pack("<q", consumer.seen_time)]
            parts += [length(len(consumer.pending)), *consumer.pending]
    return b"".join(parts)


def _listpack(stream: Stream, node: list[StreamID]) -> bytes:
    """One listpack of entries, the first entry's fields the master fields."""
    master_ms, master_seq = id_parts(node[0])
    rows = [unpack_fields(stream.entries[stream_id]) for stream_id in node]
    master = rows[0][::2]
    items: list[bytes | int] = [len(node), 0, len(master), *master, 0]
    for stream_id, row in zip(node, rows, strict=True):
        ms, seq = id_parts(stream_id)
        items += [0, int64(ms - master_ms), int64(seq - master_seq)]
        if row[::2] == master:
            items[-3] = _SAME_FIELDS
            items += row[1::2]
            items.append(len(master) + 3)
        else:
            items += [len(row) // 2, *row]
            items.append(len(row) + 4)
    return rdb.encode_listpack(items)


def decode(reader: rdb.Reader, with_counters: bool, generation: int) -> Stream:
    """A stream read as Redis 7.0 (``with_counters``) or 6 wrote it; raises
    ``rdb.PayloadError`` on anything malformed or inconsistent."""
    stream = Stream((), generation)
    for _ in range(reader.length()):
        master = reader.string()
        if len(master) != 16:
            raise rdb.PayloadError("a stream node's ID is not 16 bytes")
        for stream_id, fields in _entries(master, rdb.listpack_items(reader.string())):
            if stream.ids and stream_id <= stream.ids[-1]:
                raise rdb.PayloadError("stream entries out of order")
            stream.entries[stream_id] = pack_fields(fields)
            stream.ids.add(stream_id)
    if reader.length() != len(stream):
        raise rdb.PayloadError("a stream's length is not its entries'")
    stream.last_id = _id(reader)
    if stream.ids and stream.ids[-1] > stream.last_id:
        raise rdb.PayloadError("a stream entry after the stream's last ID")
    if with_counters:
        _id(reader)  # the first ID: the first entry's
        stream.max_deleted = _id(reader)
        stream.entries_added = int64(reader.length())
    else:
        stream.entries_added = len(stream)
    for _ in range(reader.length()):
        name = reader.string()
        if name in stream.groups:
            raise rdb.PayloadError("a consumer group twice")
        last_id = _id(reader)
        counted = int64(reader.length()) if with_counters else stream.entries_read_at(last_id)
        group = stream.groups[name] = Group(last_id, counted)
        group.pending = _group_pending(reader)
        _read_consumers(reader, group)
    return stream


def _entries(master: bytes, items: list[bytes]) -> list[tuple[StreamID, list[bytes]]]:
    """A listpack's live entries: (ID, fields and values)."""
    master_ms, master_seq = id_parts(master)
    numbers = iter(items)
    count, deleted, field_count = (_integer(next(numbers, b"")) for _ in range(3))
    master_fields = list(islice(numbers, field_count))
    if len(master_fields) != field_count or _integer(next(numbers, b"")) != 0:
        raise rdb.PayloadError("a malformed stream master entry")
    entries: list[tuple[StreamID, list[bytes]]] = []
    seen = 0
    for flags_item in numbers:
        flags = _integer(flags_item)
        ms = (master_ms + _integer(next(numbers, b""))) % _U64
        seq = (master_seq + _integer(next(numbers, b""))) % _U64
        if flags & _SAME_FIELDS:
            values = list(islice(numbers, field_count))
            fields = [part for pair in zip(master_fields, values, strict=False) for part in pair]
            expected = field_count + 3
        else:
            pairs = _integer(next(numbers, b""))
            fields = list(islice(numbers, 2 * pairs))
            expected = 2 * pairs + 4
        if len(fields) != 2 * (field_count if flags & _SAME_FIELDS else pairs):
            raise rdb.PayloadError("a stream entry ends early")
        if _integer(next(numbers, b"")) != expected:
            raise rdb.PayloadError("a stream entry's item count is wrong")
        seen += 1
        if not flags & _DELETED:
            entries.append((make_id(ms, seq), fields))
    if seen != count + deleted or len(entries) != count:
        raise rdb.PayloadError("a stream node's counts are wrong")
    return entries


def _group_pending(reader: rdb.Reader) -> SortedDict:
    pending = SortedDict()
    for _ in range(reader.length()):
        stream_id = reader.take(16)
        delivery_time = struct.unpack("<q", reader.take(8))[0]
        pending[stream_id] = Pending(b"", delivery_time, reader.length())
    return pending


def _read_consumers(reader: rdb.Reader, group: Group) -> None:
    """The group's consumers, each owning pending entries of the group's,
    and every pending entry owned by one."""
    owners: dict[StreamID, bytes] = {}
    for _ in range(reader.length()):
        name = reader.string()
        if name in group.consumers:
            raise rdb.PayloadError("a consumer twice")
        seen_time = struct.unpack("<q", reader.take(8))[0]
        owned = SortedSet()
        for _ in range(reader.length()):
            stream_id = reader.take(16)
            if stream_id not in group.pending or stream_id in owners:
                raise rdb.PayloadError("a consumer's pending entry not the group's alone")
            group.pending[stream_id].consumer = owners[stream_id] = name
            owned.add(stream_id)
        group.consumers[name] = Consumer(seen_time, owned)
    if len(owners) != len(group.pending):
        raise rdb.PayloadError("a pending entry no consumer owns")


def _id(reader: rdb.Reader) -> StreamID:
    ms = reader.length()
    return make_id(ms, reader.length())


def _integer(item: bytes) -> int:
    number = parse_int(item)
    if number is None:
        raise rdb.PayloadError("a stream item that should be an integer")
    return number


def _unsigned(value: int) -> int:
    """A signed counter as Redis writes it: its 64 bits, unsigned (-1: 2^64 - 1)."""
    return value % _U64
