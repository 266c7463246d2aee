"""A stream, the value behind XADD, XRANGE, XREADGROUP and the rest: an
append-only log of entries, each a unique ID and its field-value pairs, with
consumer groups that hand entries out and remember who still owes an
acknowledgement.

An ID, ``ms-seq`` (two unsigned 64-bit integers), is held as 16 bytes, the
two numbers big-endian: IDs order as byte strings do, hash as strings do
(randomized, and spread: an integer ``ms << 64 | seq`` hashes to
``8 * ms + seq``, and the IDs of consecutive milliseconds collide), and a
string is an object the garbage collector never tracks. An entry's fields
and values are held as one msgpack array (bytes), for the same reason: the
entries dict then holds no tracked object, so Python's full collections
skip it, where a dict of tuples is walked whole by each one (800,000
entries: 35-65 ms a collection, docs/performance.md, "Streams").

The entries are a plain dict by ID - in ID order, since an entry is only
ever added after the last - beside a ``SortedList`` of the same IDs, where
a range starts in O(log n). Two plain containers rather than one
``SortedDict``: copy-on-write copies a whole stream the first time it
changes after a snapshot's capture, and these copy fast (600,000 entries:
0.04-0.06 s, against 0.34 s for a ``SortedDict``, which rebuilds itself
entry by entry - a stall of the node's loop long enough to delay
heartbeats).

As Redis keeps it, a stream also remembers its last ID (never smaller
after a deletion), the largest ID ever deleted (``max_deleted``), and how
many entries were ever added (``entries_added``): from those a group's lag
is computed without a walk.

A ``Group`` holds its last delivered ID, its count of entries read (for the
lag; ``INVALID_ENTRIES_READ`` when unknown), its pending entries list (the
PEL: delivered, not acknowledged: ID -> ``Pending``) and its consumers, each
with its own PEL (the IDs, sorted) and the time it was last seen.

Times are the store's clock (``Keyspace.now_ms``, from the log), so every
replica records the same delivery times. The whole value is copied on write
for snapshots, like the other containers (keyspace.py): ``Stream(stream,
generation)`` is a copy deep enough that changing one never changes the other.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import msgpack
from sortedcontainers import SortedDict, SortedList, SortedSet

U64_MAX = 2**64 - 1
StreamID = bytes  # ms and seq, 8 bytes each, big-endian
_ID = struct.Struct(">QQ")
ZERO_ID: StreamID = bytes(16)
MAX_ID: StreamID = b"\xff" * 16
INVALID_ENTRIES_READ = -1


def int64(value: int) -> int:
    """``value`` wrapped to a signed 64-bit integer, as Redis's counters
    wrap: XSETID ... ENTRIESADDED 9223372036854775807 and one XADD make
    entries-added -9223372036854775808 there, and so here."""
    return (value + 2**63) % 2**64 - 2**63


"""A group's entries-read count when it cannot be known (Redis's SCG_INVALID_ENTRIES_READ)."""


def make_id(ms: int, seq: int) -> StreamID:
    return _ID.pack(ms, seq)


def id_parts(stream_id: StreamID) -> tuple[int, int]:
    """``(ms, seq)``."""
    return _ID.unpack(stream_id)  # type: ignore[return-value]


def ms_of(stream_id: StreamID) -> int:
    return int.from_bytes(stream_id[:8], "big")


def format_id(stream_id: StreamID) -> bytes:
    return b"%d-%d" % _ID.unpack(stream_id)


def next_id(stream_id: StreamID) -> StreamID | None:
    """The ID right after ``stream_id``, or ``None`` after the last possible one."""
    if stream_id == MAX_ID:
        return None
    return (int.from_bytes(stream_id, "big") + 1).to_bytes(16, "big")


def previous_id(stream_id: StreamID) -> StreamID | None:
    """The ID right before ``stream_id``, or ``None`` before 0-0."""
    if stream_id == ZERO_ID:
        return None
    return (int.from_bytes(stream_id, "big") - 1).to_bytes(16, "big")


def pack_fields(fields: list[bytes]) -> bytes:
    """An entry's fields and values, as the stream holds them."""
    return msgpack.packb(fields)  # type: ignore[no-any-return]


def unpack_fields(packed: bytes) -> list[bytes]:
    return msgpack.unpackb(packed)  # type: ignore[no-any-return]


@dataclass(slots=True)
class Pending:
    """An entry delivered to ``consumer`` and not yet acknowledged."""

    consumer: bytes
    delivery_time: int  # ms, on the store's clock
    delivery_count: int


class Consumer:
    __slots__ = ("pending", "seen_time")

    def __init__(self, seen_time: int, pending: SortedSet | None = None) -> None:
        self.seen_time = seen_time
        self.pending: SortedSet = SortedSet() if pending is None else pending


class Group:
    __slots__ = ("consumers", "entries_read", "last_id", "pending")

    def __init__(self, last_id: StreamID, entries_read: int) -> None:
        self.last_id = last_id
        self.entries_read = entries_read
        self.pending: SortedDict = SortedDict()  # StreamID -> Pending
        self.consumers: dict[bytes, Consumer] = {}

    def copy(self) -> Group:
        group = Group(self.last_id, self.entries_read)
        group.pending = SortedDict(
            (stream_id, Pending(p.consumer, p.delivery_time, p.delivery_count))
            for stream_id, p in self.pending.items()
        )
        group.consumers = {
            name: Consumer(consumer.seen_time, SortedSet(consumer.pending))
            for name, consumer in self.consumers.items()
        }
        return group

    def consumer(self, name: bytes, now_ms: int) -> Consumer:
        """The consumer ``name``, made if absent, seen at ``now_ms``."""
        consumer = self.consumers.get(name)
        if consumer is None:
            consumer = self.consumers[name] = Consumer(now_ms)
        else:
            consumer.seen_time = now_ms
        return consumer

    def acknowledge(self, stream_id: StreamID) -> bool:
        """Take ``stream_id`` out of the PELs; whether it was pending."""
        pending = self.pending.pop(stream_id, None)
        if pending is None:
            return False
        self.consumers[pending.consumer].pending.discard(stream_id)
        return True

    def assign(self, stream_id: StreamID, pending: Pending, consumer: bytes) -> None:
        """Make the pending entry ``stream_id`` the present ``consumer``'s."""
        if pending.consumer != consumer:
            old = self.consumers.get(pending.consumer)
            if old is not None:
                old.pending.discard(stream_id)
            pending.consumer = consumer
        self.consumers[consumer].pending.add(stream_id)


class Stream:
    __slots__ = (
        "entries",
        "entries_added",
        "generation",
        "groups",
        "ids",
        "last_id",
        "max_deleted",
    )

    def __init__(self, items: Stream | tuple[()] = (), generation: int = 0) -> None:
        """An empty stream, or a copy of ``items`` (copy-on-write, keyspace.py)."""
        self.generation = generation
        if isinstance(items, Stream):
            self.entries: dict[StreamID, bytes] = items.entries.copy()  # packed fields
            self.ids: SortedList = SortedList(self.entries)  # the IDs (sorted: a linear pass)
            self.last_id: StreamID = items.last_id
            self.max_deleted: StreamID = items.max_deleted
            self.entries_added: int = items.entries_added
            self.groups: dict[bytes, Group] = {n: g.copy() for n, g in items.groups.items()}
        else:
            self.entries = {}
            self.ids = SortedList()
            self.last_id = self.max_deleted = ZERO_ID
            self.entries_added = 0
            self.groups = {}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def first_id(self) -> StreamID:
        """The first entry's ID, 0-0 when there is none (Redis's ``first_id``)."""
        return self.ids[0] if self.ids else ZERO_ID

    @property
    def top_id(self) -> StreamID | None:
        """The last entry's ID (not always ``last_id``: it may be deleted)."""
        return self.ids[-1] if self.ids else None

    def append(self, stream_id: StreamID, fields: bytes) -> None:
        """Add an entry after the last (the caller checked its ID is larger)."""
        self.entries[stream_id] = fields
        self.ids.add(stream_id)
        self.last_id = stream_id
        self.entries_added = int64(self.entries_added + 1)

    def delete(self, stream_id: StreamID) -> bool:
        """XDEL one entry; whether it was there."""
        if self.entries.pop(stream_id, None) is None:
            return False
        self.ids.remove(stream_id)
        self.max_deleted = max(self.max_deleted, stream_id)
        return True

    def ids_between(
        self, start: StreamID, end: StreamID, reverse: bool = False
    ) -> Iterator[StreamID]:
        """The IDs from ``start`` to ``end``, both included (an iterator)."""
        return self.ids.irange(start, end, reverse=reverse)  # type: ignore[no-any-return]

    def trim_count(self, max_length: int | None, min_id: StreamID | None, limit: int) -> int:
        """How many of the oldest entries a trim removes: those beyond the
        newest ``max_length``, or older than ``min_id``; at most ``limit``
        of them (0: no limit)."""
        if min_id is not None:
            removable = self.ids.bisect_left(min_id)
        else:
            removable = len(self.ids) - (max_length or 0)
        if limit:
            removable = min(removable, limit)
        return max(removable, 0)

    def drop_oldest(self, count: int) -> None:
        entries = self.entries
        for stream_id in self.ids.islice(0, count):
            del entries[stream_id]
        del self.ids[:count]

    def has_tombstone(self, start: StreamID) -> bool:
        """Whether an entry from ``start`` on may have been deleted (Redis's
        ``streamRangeHasTombstones`` up to the end)."""
        if not self.entries or self.max_deleted == ZERO_ID:
            return False
        return self.first_id <= self.max_deleted and start <= self.max_deleted

    def entries_read_at(self, stream_id: StreamID) -> int:
        """How many entries were added up to ``stream_id``, where the stream's
        counters tell it, else ``INVALID_ENTRIES_READ`` (Redis's
        ``streamEstimateDistanceFromFirstEverEntry``)."""
        if not self.entries_added:
            return 0
        if not self.entries and stream_id <= self.last_id:
            return self.entries_added
        if stream_id == self.last_id:
            return self.entries_added
        if stream_id > self.last_id:
            return INVALID_ENTRIES_READ
        first = self.first_id
        if self.max_deleted == ZERO_ID or self.max_deleted < first:
            if stream_id < first:
                return int64(self.entries_added - len(self.entries))
            if stream_id == first:
                return int64(self.entries_added - len(self.entries) + 1)
        return INVALID_ENTRIES_READ

    def lag(self, group: Group) -> int | None:
        """Entries not yet delivered to ``group``, or ``None`` when unknown."""
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstone(group.last_id):
            return int64(self.entries_added - group.entries_read)
        entries_read = self.entries_read_at(group.last_id)
        if entries_read == INVALID_ENTRIES_READ:
            return None
        return int64(self.entries_added - entries_read)

    def delivered(self, group: Group, stream_id: StreamID) -> None:
        """Move ``group``'s last delivered ID on to ``stream_id``, counting the read."""
        if stream_id <= group.last_id:
            return
        if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstone(stream_id):
            group.entries_read = int64(group.entries_read + 1)
        elif self.entries_added:
            group.entries_read = self.entries_read_at(stream_id)
        group.last_id = stream_id
