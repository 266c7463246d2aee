"""Streams where ranet is not Redis (kv/streams.py, stream_groups.py,
stream_codec.py, blocking.py): streams in snapshots (format 5, copy-on-write,
malformed ones refused), IDs made from the log's clock, ``~`` trimming
exactly, XREAD / XREADGROUP with BLOCK over the fake backend (what goes
through the log and what does not), and the refusal of BLOCK by ranet's own
client and ``ranet kv``. Replies and errors are compared with redis-server
in test_streams_against_redis.py."""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
import time
from collections.abc import Callable

import hiredis
import msgpack
import pytest
import redis

from ranet.cli import main
from ranet.client import AsyncClient
from ranet.client.async_client import is_blocking
from ranet.errors import SnapshotFormatError
from ranet.kv import stream_codec
from ranet.kv.envelope import RunEnvelope, TransactionEnvelope, encode_run, encode_transaction
from ranet.kv.reply import OK, ErrorReply, Reply, Status
from ranet.kv.store import KVStore
from tests.client.fake_nodes import fake_nodes
from tests.kv.store_fixtures import Arg, argv_of, as_format, call, entry

from .fake_backend import WAIT, Served, served
from .test_blocking import client, eventually, in_background

U64_MAX = 2**64 - 1
READ_AT = 9_000  # the time every comparison of replies reads at (idle times)


# --- snapshots -------------------------------------------------------------------


def rich_store() -> KVStore:
    """Streams in every state a snapshot must keep: deleted entries, groups
    with and without a known entries-read, consumers with and without pending
    entries, entries delivered, claimed, acknowledged and read with NOACK, a
    pending entry since deleted, XSETID's counters, an empty stream, a TTL."""
    store = KVStore()
    for n in range(1, 9):
        call(store, "XADD", "s", "*", "n", n, at=1000 + n)  # 1001-0 ... 1008-0
    assert call(store, "XADD", "s", "1008-*", "n", 9, "extra", "x") == b"1008-1"
    assert call(store, "XDEL", "s", "1003-0", "1006-0") == 2
    call(store, "XGROUP", "CREATE", "s", "g1", "0")
    call(store, "XGROUP", "CREATE", "s", "g2", "1004-0")  # entries-read unknown
    call(store, "XGROUP", "CREATE", "s", "g3", "$", "ENTRIESREAD", 9)
    call(store, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", 3, "STREAMS", "s", ">", at=2000)
    call(store, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", 2, "STREAMS", "s", ">", at=2100)
    call(store, "XREADGROUP", "GROUP", "g1", "carol", "NOACK", "STREAMS", "s", ">", at=2200)
    claimed = call(store, "XCLAIM", "s", "g1", "bob", 0, "1001-0", at=2300)
    assert claimed == [[b"1001-0", [b"n", b"1"]]]
    assert call(store, "XACK", "s", "g1", "1002-0") == 1
    assert call(store, "XDEL", "s", "1004-0") == 1  # still pending for alice
    call(store, "XREADGROUP", "GROUP", "g2", "dave", "COUNT", 1, "STREAMS", "s", ">", at=2400)
    call(store, "XGROUP", "CREATECONSUMER", "s", "g3", "idle", at=2500)
    call(store, "XADD", "t", "5-0", "f", "v")
    assert call(store, "XSETID", "t", "100-0", "ENTRIESADDED", 50, "MAXDELETEDID", "90-0") == OK
    call(store, "XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
    call(store, "XADD", "ttl", "1-0", "f", "v")
    call(store, "PEXPIREAT", "ttl", 10**13)
    call(store, "SET", "str", "v")
    call(store, "RPUSH", "list", "a")
    return store


def views(store: KVStore) -> dict[tuple[Arg, ...], Reply]:
    """What the read commands answer about every stream of ``rich_store``,
    read at ``READ_AT``."""
    commands: list[tuple[Arg, ...]] = [("GET", "str"), ("LRANGE", "list", 0, -1)]
    for key in ("s", "t", "empty", "ttl"):
        commands += [
            ("TYPE", key), ("PEXPIRETIME", key), ("XLEN", key), ("XRANGE", key, "-", "+"),
            ("XREVRANGE", key, "+", "-"), ("XINFO", "STREAM", key),
            ("XINFO", "STREAM", key, "FULL", "COUNT", 0), ("XINFO", "GROUPS", key),
        ]  # fmt: skip
    for key, group in (("s", "g1"), ("s", "g2"), ("s", "g3"), ("empty", "g")):
        commands += [
            ("XINFO", "CONSUMERS", key, group), ("XPENDING", key, group),
            ("XPENDING", key, group, "-", "+", 100),
        ]  # fmt: skip
        commands += [
            ("XPENDING", key, group, "-", "+", 100, consumer)
            for consumer in ("alice", "bob", "carol", "dave", "idle")
        ]
    return {command: call(store, *command, at=READ_AT) for command in commands}


def test_a_snapshot_restores_streams_with_their_groups_and_counters() -> None:
    store = rich_store()
    before = views(store)
    snapshot = store.snapshot()
    restored = KVStore()
    restored.restore(snapshot)
    assert views(restored) == before
    assert restored.snapshot() == snapshot  # nothing lost or reordered on the way
    # the views hold what rich_store made, not two equal empty answers
    assert before[("XPENDING", "s", "g1")] == [
        4, b"1001-0", b"1007-0", [[b"alice", b"1"], [b"bob", b"3"]]
    ]  # fmt: skip
    assert before[("XPENDING", "s", "g1", "-", "+", 100)] == [
        [b"1001-0", b"bob", READ_AT - 2300, 2], [b"1004-0", b"alice", READ_AT - 2000, 1],
        [b"1005-0", b"bob", READ_AT - 2100, 1], [b"1007-0", b"bob", READ_AT - 2100, 1],
    ]  # fmt: skip
    assert [c[b"name"] for c in before[("XINFO", "CONSUMERS", "s", "g1")]] == [  # type: ignore[union-attr, index]
        b"alice", b"bob", b"carol"
    ]  # fmt: skip
    stream_s = before[("XINFO", "STREAM", "s")]
    assert isinstance(stream_s, dict)
    assert (stream_s[b"length"], stream_s[b"max-deleted-entry-id"], stream_s[b"groups"]) == (
        6, b"1006-0", 3
    )  # fmt: skip
    groups = {g[b"name"]: g for g in before[("XINFO", "GROUPS", "s")]}  # type: ignore[union-attr, index]
    assert (groups[b"g2"][b"entries-read"], groups[b"g2"][b"lag"]) == (None, None)
    assert (groups[b"g3"][b"entries-read"], groups[b"g3"][b"lag"]) == (9, 0)
    stream_t = before[("XINFO", "STREAM", "t")]
    assert isinstance(stream_t, dict)
    assert (
        stream_t[b"last-generated-id"], stream_t[b"entries-added"],
        stream_t[b"max-deleted-entry-id"],
    ) == (b"100-0", 50, b"90-0")  # fmt: skip
    assert before[("PEXPIRETIME", "ttl")] == 10**13
    assert before[("XLEN", "empty")] == 0 and before[("TYPE", "empty")] == Status("stream")


def test_a_restored_stream_goes_on_as_the_original_does() -> None:
    """The state a snapshot leaves out of the replies - the clock, each
    group's entries-read, the consumers' pending lists - comes back too."""
    store = rich_store()
    restored = KVStore()
    restored.restore(store.snapshot())
    later = [
        ("XADD", "t", "*", "f", "v"),  # the clock, 2500, is restored
        ("XADD", "s", "*", "n", 10),
        ("XREADGROUP", "GROUP", "g2", "erin", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g1", "alice", "STREAMS", "s", "0"),
        ("XAUTOCLAIM", "s", "g1", "carol", 0, "0", "JUSTID"),
        ("XINFO", "STREAM", "s", "FULL"),
    ]
    replies = [[call(each, *command) for command in later] for each in (store, restored)]
    assert replies[0] == replies[1]
    assert replies[0][:2] == [b"2500-0", b"2500-0"]
    assert replies[0][3] == [[b"s", [[b"1004-0", None]]]]  # deleted, still pending for alice


def test_a_stream_longer_than_a_packing_chunk_round_trips() -> None:
    """The entries are packed ``CHUNK`` at a time (stream_codec.py): the
    chunks' seams lose and repeat nothing, in a snapshot taken now or later."""
    store = KVStore()
    count = 2 * stream_codec.CHUNK + 1
    numbered(store, "s", count)
    call(store, "XGROUP", "CREATE", "s", "g", "0")
    call(store, "XREADGROUP", "GROUP", "g", "c", "COUNT", 3, "STREAMS", "s", ">")
    expected = call(store, "XRANGE", "s", "-", "+")
    serialize = store.snapshot_later()
    call(store, "XTRIM", "s", "MAXLEN", 0)
    restored = KVStore()
    restored.restore(b"".join(serialize()))
    assert call(restored, "XRANGE", "s", "-", "+") == expected
    assert len(expected) == count and expected[-1] == [b"%d-0" % count, [b"n", b"%d" % count]]  # type: ignore[index]
    assert call(restored, "XPENDING", "s", "g") == [3, b"1-0", b"3-0", [[b"c", b"3"]]]


def without_streams() -> KVStore:
    store = KVStore()
    call(store, "SET", "k", "v", at=1000)
    call(store, "RPUSH", "l", "a", "b")
    call(store, "ZADD", "z", 1, "m")
    call(store, "HSET", "h", "f", "v")
    return store


def test_a_format_4_snapshot_restores() -> None:
    fields = msgpack.unpackb(without_streams().snapshot())
    assert fields["format"] == "ranet.kv/8"
    as_format(fields, "ranet.kv/4")
    restored = KVStore()
    restored.restore(msgpack.packb(fields))
    assert call(restored, "GET", "k") == b"v"
    assert call(restored, "LRANGE", "l", 0, -1) == [b"a", b"b"]
    assert call(restored, "ZSCORE", "z", "m") == 1.0
    assert restored.clock_ms == 1000


def test_a_format_4_snapshot_may_hold_no_stream() -> None:
    store = without_streams()
    call(store, "XADD", "s", "1-0", "f", "v")
    fields = msgpack.unpackb(store.snapshot())
    as_format(fields, "ranet.kv/4")
    target = without_streams()
    call(target, "SET", "k", "mine")
    before = target.snapshot()
    with pytest.raises(SnapshotFormatError, match="sorted sets or streams"):
        target.restore(msgpack.packb(fields))
    assert target.snapshot() == before


# --- copy-on-write -----------------------------------------------------------------

CHANGES: list[tuple[Arg, ...]] = [
    ("XADD", "s", "*", "new", "entry"),
    ("XADD", "s", "MAXLEN", 2, "*", "trimming", "too"),
    ("XDEL", "s", "1001-0"),
    ("XTRIM", "s", "MAXLEN", 3),
    ("XTRIM", "s", "MINID", "~", "1008-0"),
    ("XGROUP", "CREATE", "s", "g4", "0"),
    ("XGROUP", "SETID", "s", "g1", "0", "ENTRIESREAD", 0),
    ("XGROUP", "DESTROY", "s", "g2"),
    ("XGROUP", "DELCONSUMER", "s", "g1", "bob"),
    ("XGROUP", "CREATECONSUMER", "s", "g1", "frank"),
    ("XREADGROUP", "GROUP", "g2", "dave", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g1", "bob", "STREAMS", "s", "0"),  # history: delivery counts
    ("XREADGROUP", "GROUP", "g2", "noack", "NOACK", "STREAMS", "s", ">"),
    ("XACK", "s", "g1", "1005-0", "1007-0"),
    ("XCLAIM", "s", "g1", "carol", 0, "1005-0", "1007-0"),
    ("XCLAIM", "s", "g1", "alice", 0, "1008-0", "FORCE", "RETRYCOUNT", 7),
    ("XAUTOCLAIM", "s", "g1", "carol", 0, "0"),  # 1004-0 is deleted: out of the PEL
    ("XSETID", "s", "9999-0", "ENTRIESADDED", 99, "MAXDELETEDID", "9000-0"),
    ("XSETID", "t", "200-0"),
]


@pytest.mark.parametrize("change", CHANGES, ids=[" ".join(map(str, c)) for c in CHANGES])
def test_a_snapshot_holds_a_stream_as_it_was_at_its_capture(change: tuple[Arg, ...]) -> None:
    """The capture copies the key space's dict, not each stream: without the
    copy-on-write of streams (Keyspace.own) each change would leak into it."""
    store = rich_store()
    expected = store.snapshot()
    serialize = store.snapshot_later()
    reply = call(store, *change, at=5000)
    assert not isinstance(reply, ErrorReply), reply
    assert store.snapshot() != expected  # the change changed the stream
    assert b"".join(serialize()) == expected


def test_a_snapshot_holds_streams_as_they_were_through_every_kind_of_change() -> None:
    store = rich_store()
    expected = store.snapshot()
    before = views(store)
    serialize = store.snapshot_later()
    for at, change in enumerate(CHANGES, start=5000):
        call(store, *change, at=at)
    assert views(store) != before
    assert b"".join(serialize()) == expected
    restored = KVStore()
    restored.restore(b"".join(serialize()))
    assert views(restored) == before


def test_a_stream_named_twice_in_one_xreadgroup_right_after_a_capture() -> None:
    """The first read copies the stream (copy-on-write); the second must see
    what the first delivered, not the copy's original: nothing more to
    deliver, so the stream appears once, as in Redis."""
    store = KVStore()
    for n in (1, 2):
        call(store, "XADD", "s", f"{n}-0", "f", n)
    call(store, "XGROUP", "CREATE", "s", "g", "0")
    store.snapshot_later()
    reply = call(store, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "s", ">", ">")
    assert reply == [[b"s", [[b"1-0", [b"f", b"1"]], [b"2-0", [b"f", b"2"]]]]]


# --- malformed snapshots ---------------------------------------------------------------

Body = list[object]


def stream_body() -> tuple[dict[str, object], Body]:
    """A snapshot's fields holding one stream, ``s``, and that stream's ext
    body: entries 1-1, 2-1 and 3-1; group ``g`` (1-1 and 2-1 pending for
    ``c``; consumers ``c`` and ``d``) and group ``h``."""
    store = KVStore()
    call(store, "XADD", "s", "1-1", "a", "1", at=1000)
    call(store, "XADD", "s", "2-1", "b", "2")
    call(store, "XADD", "s", "3-1", "c", "3")
    call(store, "XGROUP", "CREATE", "s", "g", "0")
    call(store, "XREADGROUP", "GROUP", "g", "c", "COUNT", 2, "STREAMS", "s", ">")
    call(store, "XGROUP", "CREATECONSUMER", "s", "g", "d")
    call(store, "XGROUP", "CREATE", "s", "h", "$")
    fields = msgpack.unpackb(store.snapshot())
    [[[key, ext]]] = fields["data"]
    assert key == b"s" and isinstance(ext, msgpack.ExtType) and ext.code == 1
    return fields, msgpack.unpackb(ext.data)


def ext(body: object, code: int = 1) -> msgpack.ExtType:
    return msgpack.ExtType(code, msgpack.packb(body))


def edited(edit: Callable[[Body], None]) -> Callable[[Body], msgpack.ExtType]:
    def make(body: Body) -> msgpack.ExtType:
        body = copy.deepcopy(body)
        edit(body)
        return ext(body)

    return make


def _set(path: tuple[int, ...], value: object) -> Callable[[Body], None]:
    def edit(body: Body) -> None:
        node: list[object] = body
        for i in path[:-1]:
            node = node[i]  # type: ignore[assignment]
        node[path[-1]] = value

    return edit


LAST_MS, LAST_SEQ, DELETED_SEQ, ADDED = 0, 1, 3, 4  # in the stream's body
IDS_MS, IDS_SEQ, FIELDS, GROUPS = 5, 6, 7, 8  # the entries: three parallel arrays; groups
G_READ, G_PENDING, G_CONSUMERS = 3, 4, 5  # in a group's row
MALFORMED: dict[str, Callable[[Body], object]] = {
    "undecodable msgpack": lambda body: msgpack.ExtType(1, b"\xc1"),
    "truncated msgpack": lambda body: msgpack.ExtType(1, msgpack.packb(body)[:-1]),
    "bytes after the msgpack": lambda body: msgpack.ExtType(1, msgpack.packb(body) + b"\x00"),
    "not an array": lambda body: ext({b"last": 1}),
    "8 items": lambda body: ext(body[:8]),
    "10 items": lambda body: ext([*body, []]),
    "ID arrays of two lengths": edited(lambda b: b[IDS_MS].append(4)),  # type: ignore[attr-defined]
    "fewer field arrays than IDs": edited(lambda b: b[FIELDS].pop()),  # type: ignore[attr-defined]
    "the IDs' ms not an array": edited(_set((IDS_MS,), 1)),
    "a group of 5 items": edited(lambda b: b[GROUPS][0].pop()),  # type: ignore[index]
    "a pending entry of 4 items": edited(lambda b: b[GROUPS][0][G_PENDING][0].pop()),  # type: ignore[index]
    "a consumer of 3 items": edited(lambda b: b[GROUPS][0][G_CONSUMERS][0].append(0)),  # type: ignore[index]
    "a negative last ms": edited(_set((LAST_MS,), -1)),
    "a float last seq": edited(_set((LAST_SEQ,), 1.5)),
    "a negative max-deleted seq": edited(_set((DELETED_SEQ,), -1)),
    "an entry's ms negative": edited(_set((IDS_MS, 0), -1)),
    "an entry's seq a string": edited(_set((IDS_SEQ, 0), b"1")),
    "a group's last ms negative": edited(_set((GROUPS, 0, 1), -5)),
    "a pending entry's seq negative": edited(_set((GROUPS, 0, G_PENDING, 0, 1), -1)),
    "entries added past 64 bits": edited(_set((ADDED,), 2**63)),
    "fewer entries added than there are": edited(_set((ADDED,), 2)),
    "entries read past 64 bits": edited(_set((GROUPS, 0, G_READ), 2**63)),
    "entries out of order": edited(lambda b: b[IDS_MS].reverse()),  # type: ignore[attr-defined]
    "an entry's ID repeated": edited(_set((IDS_MS, 1), 1)),  # 1-1, 1-1, 3-1
    "an entry after the last ID": edited(_set((LAST_MS,), 2)),  # last 2-1, an entry 3-1
    "an entry with no fields": edited(_set((FIELDS, 0), [])),
    "an entry's fields odd": edited(_set((FIELDS, 0), [b"a", b"1", b"b"])),
    "an entry's field not a string": edited(_set((FIELDS, 0), [b"a", 1])),
    "an entry's fields not an array": edited(_set((FIELDS, 0), b"a")),
    "a pending entry naming no consumer": edited(_set((GROUPS, 0, G_PENDING, 0, 2), b"nobody")),
    # An array or a map raised TypeError (unhashable) before the check.
    "a pending entry naming an array": edited(_set((GROUPS, 0, G_PENDING, 0, 2), [b"c"])),
    "a pending entry naming a map": edited(_set((GROUPS, 0, G_PENDING, 0, 2), {b"c": 1})),
    "a pending entry's ID repeated": edited(
        lambda b: b[GROUPS][0][G_PENDING].append(b[GROUPS][0][G_PENDING][0])  # type: ignore[index]
    ),
    # Were restored, sorted by the SortedDict, rather than refused.
    "pending entries out of order": edited(lambda b: b[GROUPS][0][G_PENDING].reverse()),  # type: ignore[index]
    "a pending delivery count not an integer": edited(_set((GROUPS, 0, G_PENDING, 0, 4), 1.0)),
    "a group repeated": edited(lambda b: b[GROUPS].append(b[GROUPS][0])),  # type: ignore[index]
    "a group's name not a string": edited(_set((GROUPS, 0, 0), 7)),
    "a consumer repeated": edited(
        lambda b: b[GROUPS][0][G_CONSUMERS].append(b[GROUPS][0][G_CONSUMERS][0])  # type: ignore[index]
    ),
    "a consumer's seen time not an integer": edited(_set((GROUPS, 0, G_CONSUMERS, 0, 1), b"1")),
    "a consumer's seen time negative": edited(_set((GROUPS, 0, G_CONSUMERS, 0, 1), -1)),
    "a pending delivery time negative": edited(_set((GROUPS, 0, G_PENDING, 0, 3), -1)),
    "a pending delivery count past 64 bits": edited(_set((GROUPS, 0, G_PENDING, 0, 4), 2**63)),
    "another ext code": lambda body: ext(body, code=2),
    "msgpack's timestamp ext": lambda body: msgpack.Timestamp(1),
}


def test_the_unedited_stream_body_restores() -> None:
    """The control of the cases below: only the edit makes them malformed."""
    fields, body = stream_body()
    fields["data"] = [[[b"s", ext(body)]]]
    restored = KVStore()
    restored.restore(msgpack.packb(fields))
    assert call(restored, "XPENDING", "s", "g") == [2, b"1-1", b"2-1", [[b"c", b"2"]]]
    assert body[IDS_MS] == [1, 2, 3] and len(body[GROUPS][0][G_PENDING]) == 2  # type: ignore[index]


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_snapshot_with_a_malformed_stream_is_refused_and_changes_nothing(
    make: Callable[[Body], object],
) -> None:
    fields, body = stream_body()
    fields["data"] = [[[b"s", make(body)]]]
    store = rich_store()
    before = store.snapshot()
    with pytest.raises(SnapshotFormatError):
        store.restore(msgpack.packb(fields))
    assert store.snapshot() == before


def test_counters_wrap_at_64_bits_as_redis_does_and_survive_a_snapshot() -> None:
    """XSETID ... ENTRIESADDED 2^63 - 1 then one XADD: Redis's counter wraps
    to -2^63, and a group's entries-read and lag with it; so does a pending
    entry's delivery count, set by XCLAIM RETRYCOUNT. Before, ranet's
    went to 2^63: XINFO answered an integer no client can read, and the
    snapshot was refused on restore (a node could not load its own)."""
    store = KVStore()
    call(store, "XADD", "s", "1-1", "f", "v")
    call(store, "XSETID", "s", "1-1", "ENTRIESADDED", 2**63 - 1)
    call(store, "XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", 2**63 - 1)
    call(store, "XADD", "s", "2-1", "f", "v")
    call(store, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    info = call(store, "XINFO", "STREAM", "s")
    assert isinstance(info, dict) and info[b"entries-added"] == -(2**63)
    (group,) = call(store, "XINFO", "GROUPS", "s")  # type: ignore[misc]
    assert group[b"entries-read"] == -(2**63) + 1 and group[b"lag"] == -1  # Redis's figures
    call(store, "XCLAIM", "s", "g", "c", 0, "1-1", "RETRYCOUNT", 2**63 - 1, "JUSTID")
    call(store, "XCLAIM", "s", "g", "c", 0, "1-1")  # one more delivery: -2^63, as Redis
    assert call(store, "XPENDING", "s", "g", "-", "+", 1, at=READ_AT)[0][3] == -(2**63)  # type: ignore[index]
    restored = KVStore()
    restored.restore(store.snapshot())
    assert call(restored, "XINFO", "GROUPS", "s") == call(store, "XINFO", "GROUPS", "s")
    assert call(restored, "XINFO", "STREAM", "s") == info
    assert call(restored, "XPENDING", "s", "g", at=READ_AT) == call(
        store, "XPENDING", "s", "g", at=READ_AT
    )


# --- IDs from the log's clock -----------------------------------------------------------------


def test_auto_ids_come_from_the_log_so_every_replica_makes_the_same() -> None:
    """XADD ``*`` takes its ms from the envelope's timestamp (the leader's
    clock), never from the replica's; the store's clock never goes back; a
    clock behind the stream's last ms gives that ms and the next sequence."""
    log = [
        entry("XADD", "s", "*", "n", 1, at=1000),
        entry("XADD", "s", "*", "n", 2, at=1000),
        entry("XADD", "s", "*", "n", 3, at=999),  # a new leader's clock behind: still 1000
        entry("XADD", "s", "*", "n", 4, at=2000),
        entry("XADD", "s", "5000-7", "n", 5, at=2000),
        entry("XADD", "s", "*", "n", 6, at=3000),  # behind the stream's last ms
        entry("XADD", "s", "5000-*", "n", 7, at=3000),
        entry("XADD", "s", "*", "n", 8, at=6000),
        entry("XADD", "u", f"6000-{U64_MAX}", "n", 1, at=6000),
        entry("XADD", "u", "*", "n", 2, at=6000),  # no sequence left in 6000: 6001-0
        entry("XGROUP", "CREATE", "s", "g", "0", at=6100),
        entry("XREADGROUP", "GROUP", "g", "c", "COUNT", 2, "STREAMS", "s", ">", at=6200),
        entry("XCLAIM", "s", "g", "d", 0, "1000-0", at=6300),
        entry("XAUTOCLAIM", "s", "g", "e", 50, "0", at=6400),
    ]
    replicas = [KVStore(), KVStore()]
    replies = [[replica.apply(e) for e in log] for replica in replicas]
    assert replies[0] == replies[1]
    assert replies[0][:10] == [
        b"1000-0", b"1000-1", b"1000-2", b"2000-0", b"5000-7", b"5000-8", b"5000-9",
        b"6000-0", f"6000-{U64_MAX}".encode(), b"6001-0",
    ]  # fmt: skip
    assert replicas[0].snapshot() == replicas[1].snapshot()
    pending = call(replicas[0], "XPENDING", "s", "g", "-", "+", 10, at=7000)
    assert pending == [  # delivery times from the log too: 6200, 6300, 6400
        [b"1000-0", b"e", 600, 3], [b"1000-1", b"e", 600, 2]
    ]  # fmt: skip


def test_a_read_ahead_of_the_log_does_not_move_the_clock_that_ids_come_from() -> None:
    store = KVStore()
    call(store, "XADD", "s", "*", "f", "v", at=1000)
    assert call(store, "XLEN", "s", at=10**12) == 1  # a read at a node's wall clock
    assert call(store, "XADD", "s", "*", "f", "v", at=1500) == b"1500-0"
    assert store.clock_ms == 1500


def test_auto_ids_in_a_run_and_in_a_transaction_take_the_entrys_timestamp() -> None:
    store = KVStore()
    xadd = argv_of(("XADD", "s", "*", "f", "v"))
    assert store.apply(encode_run(RunEnvelope(4000, [xadd, xadd]))) == [b"4000-0", b"4000-1"]
    transaction = TransactionEnvelope(7000, [xadd, argv_of(("XRANGE", "s", "7000", "+")), xadd], [])
    assert store.apply(encode_transaction(transaction)) == [
        b"7000-0", [[b"7000-0", [b"f", b"v"]]], b"7000-1"
    ]  # fmt: skip


# --- trimming -----------------------------------------------------------------------------------


def numbered(store: KVStore, key: str, count: int, first: int = 1) -> None:
    """``count`` entries ``first-0``, ``first+1-0``, ... in one log entry."""
    argvs = [argv_of(("XADD", key, f"{n}-0", "n", n)) for n in range(first, first + count)]
    store.apply(encode_run(RunEnvelope(store.clock_ms, argvs)))


def first_id(store: KVStore, key: str) -> Reply:
    reply = call(store, "XRANGE", key, "-", "+", "COUNT", 1)
    return reply[0][0] if reply else None  # type: ignore[index]


def test_approximate_trimming_trims_exactly_and_respects_its_limit() -> None:
    """Redis trims only whole radix-tree nodes with ``~`` (100 entries by
    default), so it would keep all of these; ranet trims down to the
    threshold exactly, at most LIMIT entries (streams.py)."""
    store = KVStore()
    numbered(store, "s", 100)
    assert call(store, "XTRIM", "s", "MAXLEN", "~", 90) == 10
    assert (call(store, "XLEN", "s"), first_id(store, "s")) == (90, b"11-0")
    assert call(store, "XTRIM", "s", "MAXLEN", "~", 0, "LIMIT", 5) == 5
    assert (call(store, "XLEN", "s"), first_id(store, "s")) == (85, b"16-0")
    assert call(store, "XTRIM", "s", "MINID", "~", "50-0", "LIMIT", 1000) == 34
    assert (call(store, "XLEN", "s"), first_id(store, "s")) == (51, b"50-0")
    assert call(store, "XTRIM", "s", "MINID", "~", "60-0", "LIMIT", 3) == 3
    assert first_id(store, "s") == b"53-0"
    assert call(store, "XADD", "s", "MAXLEN", "~", 10, "LIMIT", 4, "101-0", "n", 101) == b"101-0"
    assert (call(store, "XLEN", "s"), first_id(store, "s")) == (45, b"57-0")  # 49 + 1 - 4
    assert call(store, "XADD", "s", "MAXLEN", "~", 10, "102-0", "n", 102) == b"102-0"
    assert (call(store, "XLEN", "s"), first_id(store, "s")) == (10, b"93-0")
    assert call(store, "XTRIM", "s", "MAXLEN", "~", 10) == 0
    info = call(store, "XINFO", "STREAM", "s")
    assert info[b"entries-added"] == 102 and info[b"max-deleted-entry-id"] == b"0-0"  # type: ignore[index]


def test_approximate_trimming_stops_at_10000_unless_told_and_exact_has_no_limit() -> None:
    store = KVStore()
    numbered(store, "s", 10_050)
    assert call(store, "XTRIM", "s", "MAXLEN", "~", 0) == 10_000  # Redis's default LIMIT
    assert (call(store, "XLEN", "s"), first_id(store, "s")) == (50, b"10001-0")
    numbered(store, "s", 10_000, first=10_051)
    assert call(store, "XTRIM", "s", "MINID", "~", "20051-0") == 10_000
    assert (call(store, "XLEN", "s"), first_id(store, "s")) == (50, b"20001-0")
    numbered(store, "s", 10_000, first=20_051)
    assert call(store, "XTRIM", "s", "MAXLEN", "~", 0, "LIMIT", 0) == 10_050  # 0: no limit
    assert call(store, "XLEN", "s") == 0
    numbered(store, "s", 10_050, first=30_051)
    assert call(store, "XTRIM", "s", "MAXLEN", 0) == 10_050  # exact: every entry
    numbered(store, "s", 10_050, first=40_101)
    assert call(store, "XTRIM", "s", "MINID", "=", "50151-0") == 10_050
    assert call(store, "XLEN", "s") == 0
    numbered(store, "s", 10_002, first=60_000)
    assert call(store, "XADD", "s", "MAXLEN", "~", 1, "*", "f", "v") == b"70001-1"
    assert call(store, "XLEN", "s") == 3  # 10,003 entries, 10,000 trimmed


# --- blocking reads, on the fake backend ----------------------------------------------------------


def live_waits(server: Served) -> int:
    """How many waits (``Backend.changed``) are pending on the server."""
    return server.call(lambda: sum(not w.done() for _, _, w in server.backend.watchers))  # type: ignore[no-any-return]


def stream_writes(server: Served, name: bytes, *, containing: bytes = b"") -> list[list[bytes]]:
    """The ``name`` commands (XREAD, XREADGROUP) that went to the log."""
    return server.call(  # type: ignore[no-any-return]
        lambda: [
            argv
            for argv, _ in server.backend.writes
            if argv[0].upper() == name and (not containing or containing in argv)
        ]
    )


def reads_of(server: Served, name: bytes) -> list[tuple[list[bytes], bool]]:
    return server.call(  # type: ignore[no-any-return]
        lambda: [(argv, stale) for argv, stale in server.backend.reads if argv[0].upper() == name]
    )


def resp(*args: Arg) -> bytes:
    argv = argv_of(args)
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


class Raw:
    """A connection of its own, its replies as hiredis reads them: a null
    stays ``None`` (redis-py answers XREAD's null as an empty list)."""

    def __init__(self, server: Served) -> None:
        self.socket = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        self.reader = hiredis.Reader()

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *_: object) -> None:
        self.socket.close()

    def send(self, *args: Arg) -> None:
        self.socket.sendall(resp(*args))

    def reply(self) -> object:
        while (reply := self.reader.gets()) is False:
            data = self.socket.recv(65536)
            assert data, "the server closed the connection"
            self.reader.feed(data)
        return reply

    def call(self, *args: Arg) -> object:
        self.send(*args)
        return self.reply()


def test_xread_block_wakes_on_a_new_entry_and_returns_just_it() -> None:
    with served() as server:
        writer = client(server)
        writer.xadd("s", {"old": "1"}, id="1-0")
        waiter, result = in_background(
            lambda: client(server).xread({"s": "$", "absent": "$"}, block=0)
        )
        eventually(lambda: live_waits(server) == 1)
        time.sleep(0.05)
        assert waiter.is_alive()
        assert writer.xadd("s", {"new": "2"}, id="2-0") == b"2-0"
        waiter.join(WAIT)
        assert result == [[[b"s", [(b"2-0", {b"new": b"2"})]]]]
        waiter, result = in_background(
            lambda: client(server).xread({"s": "$", "absent": "$"}, block=0)
        )
        eventually(lambda: live_waits(server) == 1)
        writer.xadd("absent", {"made": "3"}, id="3-0")  # a stream that did not exist
        waiter.join(WAIT)
        assert result == [[[b"absent", [(b"3-0", {b"made": b"3"})]]]]


def test_xread_block_writes_nothing_to_the_log_and_reads_linearizably_first() -> None:
    with served() as server:
        writer = client(server)
        writer.xadd("s", {"f": "v"}, id="1-0")
        waiter, result = in_background(lambda: client(server).xread({"s": "$"}, block=0))
        eventually(lambda: live_waits(server) == 1)
        writer.set("unrelated", "x")  # moves no version of s: no read
        writer.xadd("s", {"f": "w"}, id="2-0")
        waiter.join(WAIT)
        assert result == [[[b"s", [(b"2-0", {b"f": b"w"})]]]]
        assert stream_writes(server, b"XREAD") == []
        assert server.call(lambda: [argv[0] for argv, _ in server.backend.writes]) == [
            b"XADD", b"SET", b"XADD"
        ]  # fmt: skip
        # ``$`` is read in a linearizable round; the waits after it read locally
        assert reads_of(server, b"XREVRANGE") == [
            ([b"XREVRANGE", b"s", b"+", b"-", b"COUNT", b"1"], False)
        ]
        assert [stale for _, stale in reads_of(server, b"XREAD")] == [True, True]
        waiter, result = in_background(lambda: client(server).xread({"s": "2-0"}, block=0))
        eventually(lambda: live_waits(server) == 1)
        writer.xadd("s", {"f": "x"}, id="3-0")
        waiter.join(WAIT)
        assert result == [[[b"s", [(b"3-0", {b"f": b"x"})]]]]
        # without ``$`` the first XREAD itself is the linearizable read
        assert [stale for _, stale in reads_of(server, b"XREAD")][2:] == [False, True]
        assert stream_writes(server, b"XREAD") == []


def test_dollar_means_entries_after_the_call_started() -> None:
    with served() as server, Raw(server) as raw:
        raw.call("XADD", "s", "1-0", "f", "before")
        # the entry from before the call is not new: null after the time
        assert raw.call("XREAD", "BLOCK", 50, "STREAMS", "s", "$") is None
        assert raw.call("XREAD", "BLOCK", 0, "STREAMS", "s", 0) == [
            [b"s", [[b"1-0", [b"f", b"before"]]]]
        ]
        raw.call("XADD", "s", "5-0", "f", "top")
        raw.call("XDEL", "s", "5-0")  # the last ID stays 5-0, with no entry at it
        assert raw.call("XREAD", "BLOCK", 50, "STREAMS", "s", "$") is None
        waiter, result = in_background(lambda: client(server).xread({"s": "$"}, block=0))
        eventually(lambda: live_waits(server) == 1)
        raw.call("XADD", "s", "6-0", "f", "after")
        waiter.join(WAIT)
        assert result == [[[b"s", [(b"6-0", {b"f": b"after"})]]]]


def test_the_block_time_ends_a_read_with_null_not_before_it() -> None:
    with served() as server, Raw(server) as raw:
        raw.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        started = time.monotonic()
        assert raw.call("XREAD", "BLOCK", 200, "STREAMS", "s", "$") is None
        assert 0.2 <= time.monotonic() - started < WAIT
        started = time.monotonic()
        assert raw.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", 100, "STREAMS", "s", ">") is None
        assert 0.1 <= time.monotonic() - started < WAIT
        assert stream_writes(server, b"XREAD") == []
        assert stream_writes(server, b"XREADGROUP") == []  # nothing to deliver: no entry
        assert raw.call("XINFO", "CONSUMERS", "s", "g") == []  # and no consumer made


def test_two_waiting_consumers_share_entries_each_delivered_once() -> None:
    """Each XADD wakes both; one delivery commits first, the other answers
    null without changing the group and waits again."""
    with served() as server:
        writer = client(server)
        writer.xgroup_create("s", "g", id="$", mkstream=True)

        def consumer(name: str) -> tuple[threading.Thread, list[object]]:
            return in_background(
                lambda: client(server).xreadgroup("g", name, {"s": ">"}, count=1, block=0)
            )

        waiting = {name: consumer(name) for name in ("alice", "bob")}
        delivered_to: dict[bytes, str] = {}
        for n in range(4):
            eventually(lambda: live_waits(server) == 2)
            entry_id = writer.xadd("s", {"n": n})
            eventually(
                lambda: (
                    live_waits(server) == 1
                    and sum(not t.is_alive() for t, _ in waiting.values()) == 1
                )
            )
            [name] = [name for name, (t, _) in waiting.items() if not t.is_alive()]
            assert waiting[name][1] == [[[b"s", [(entry_id, {b"n": str(n).encode()})]]]]
            delivered_to[entry_id] = name
            waiting[name] = consumer(name)
        eventually(lambda: live_waits(server) == 2)
        rows = writer.xpending_range("s", "g", "-", "+", 10)
        assert {row["message_id"]: row["consumer"].decode() for row in rows} == delivered_to
        assert [row["times_delivered"] for row in rows] == [1] * 4
        for name in ("alice", "bob"):
            own = writer.xpending_range("s", "g", "-", "+", 10, consumername=name)
            assert [row["message_id"] for row in own] == [
                entry_id for entry_id, to in delivered_to.items() if to == name
            ]
        [group] = writer.xinfo_groups("s")
        assert (group["entries-read"], group["lag"], group["pending"]) == (4, 0, 4)
        deliveries = stream_writes(server, b"XREADGROUP")
        assert 4 <= len(deliveries) <= 8  # each XADD: the winner's write, maybe the loser's


def test_a_waiting_consumer_woken_with_nothing_to_deliver_writes_nothing() -> None:
    """XACK, a claim and a delivery to another group all change the stream
    and wake the waiter; it reads locally, finds nothing new for its group,
    and waits on without a log entry."""
    with served() as server:
        c = client(server)
        c.xadd("s", {"f": "v"}, id="1-0")
        c.xgroup_create("s", "g", id="0")
        c.xgroup_create("s", "other", id="0")
        assert c.xreadgroup("g", "early", {"s": ">"}) == [[b"s", [(b"1-0", {b"f": b"v"})]]]
        waiter, result = in_background(
            lambda: client(server).xreadgroup("g", "waiting", {"s": ">"}, block=0)
        )
        eventually(lambda: live_waits(server) == 1)
        time.sleep(0.1)
        assert (
            waiter.is_alive() and stream_writes(server, b"XREADGROUP", containing=b"waiting") == []
        )
        changes: list[Callable[[], object]] = [
            lambda: c.xclaim("s", "g", "late", 0, ["1-0"]),
            lambda: c.xack("s", "g", "1-0"),
            lambda: c.xreadgroup("other", "o", {"s": ">"}),
        ]
        for change in changes:
            looks = len(reads_of(server, b"XINFO"))
            assert change()
            eventually(
                lambda: (
                    len(reads_of(server, b"XINFO")) > looks  # noqa: B023
                    and live_waits(server) == 1
                )
            )
        assert waiter.is_alive()
        assert stream_writes(server, b"XREADGROUP", containing=b"waiting") == []
        c.xadd("s", {"f": "w"}, id="2-0")
        waiter.join(WAIT)
        assert result == [[[b"s", [(b"2-0", {b"f": b"w"})]]]]
        assert len(stream_writes(server, b"XREADGROUP", containing=b"waiting")) == 1
        assert [row["consumer"] for row in c.xpending_range("s", "g", "-", "+", 10)] == [b"waiting"]


@pytest.mark.parametrize(
    "remove",
    [lambda c: c.delete("s"), lambda c: c.xgroup_destroy("s", "g")],
    ids=["DEL", "XGROUP DESTROY"],
)
def test_removing_the_stream_or_group_ends_a_wait_with_nogroup(
    remove: Callable[[redis.Redis], int],
) -> None:
    with served() as server:
        c = client(server)
        c.xgroup_create("s", "g", id="$", mkstream=True)
        waiter, result = in_background(
            lambda: client(server).xreadgroup("g", "c", {"s": ">"}, block=0)
        )
        eventually(lambda: live_waits(server) == 1)
        assert remove(c) == 1
        waiter.join(WAIT)
        assert len(result) == 1 and isinstance(result[0], redis.ResponseError)
        assert str(result[0]) == (
            "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"
        )


def test_inside_multi_blocking_reads_answer_at_once() -> None:
    with served() as server, Raw(server) as raw:
        raw.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        assert raw.call("MULTI") == b"OK"
        commands: list[tuple[Arg, ...]] = [
            ("XREAD", "BLOCK", 0, "STREAMS", "s", "$"),
            ("XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">"),
            ("XADD", "s", "1-0", "f", "v"),
            ("XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">"),
            ("XREAD", "BLOCK", 0, "STREAMS", "s", "$"),
        ]
        for command in commands:
            assert raw.call(*command) == b"QUEUED"
        assert raw.call("EXEC") == [None, None, b"1-0", [[b"s", [[b"1-0", [b"f", b"v"]]]]], None]
        assert server.call(lambda: server.backend.watchers) == []


def test_xreadgroup_block_with_an_id_reads_the_history_at_once() -> None:
    with served() as server:
        c = client(server)
        c.xadd("s", {"f": "v"}, id="1-0")
        c.xgroup_create("s", "g", id="0")
        assert c.xreadgroup("g", "c", {"s": "0"}, block=0) == [[b"s", []]]
        c.xreadgroup("g", "c", {"s": ">"})
        assert c.xreadgroup("g", "c", {"s": "0"}, block=0) == [[b"s", [(b"1-0", {b"f": b"v"})]]]
        assert server.call(lambda: server.backend.watchers) == []
        assert c.xpending_range("s", "g", "-", "+", 1)[0]["times_delivered"] == 2


def test_a_command_pipelined_after_a_blocking_xread_waits_for_it() -> None:
    with served() as server:
        connection = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        with connection:
            connection.sendall(
                resp("XREAD", "BLOCK", 0, "STREAMS", "s", "$") + resp("SET", "after", 1)
            )
            eventually(lambda: live_waits(server) == 1)
            time.sleep(0.1)
            assert client(server).get("after") is None
            client(server).xadd("s", {"f": "v"}, id="1-0")
            received = b""
            while not received.endswith(b"+OK\r\n"):
                received += connection.recv(1024)
            assert received == (
                b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n+OK\r\n"
            )
        assert client(server).get("after") == b"1"


@pytest.mark.parametrize(
    "command, name",
    [(("XREAD", "BLOCK", 0, "STREAMS", "s", "$"), "xread"),
     (("XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">"), "xreadgroup")],
    ids=["XREAD", "XREADGROUP"],
)  # fmt: skip
def test_info_and_client_list_show_a_blocked_reader(command: tuple[Arg, ...], name: str) -> None:
    with served() as server:
        observer = client(server)
        observer.xgroup_create("s", "g", id="$", mkstream=True)
        waiter, _ = in_background(lambda: client(server).execute_command(*command))
        eventually(lambda: live_waits(server) == 1)
        assert observer.info("clients")["blocked_clients"] == 1
        flags = {each["cmd"]: each["flags"] for each in observer.client_list()}
        assert "b" in flags[name]
        assert sum("b" in each["flags"] for each in observer.client_list()) == 1
        observer.xadd("s", {"f": "v"})
        waiter.join(WAIT)
        assert observer.info("clients")["blocked_clients"] == 0


# --- ranet's client and ranet kv -----------------------------------------------------------


@pytest.mark.parametrize(
    "command, blocking",
    [(("XREAD", "BLOCK", "0", "STREAMS", "s", "$"), True),
     (("xread", "count", "1", "block", "10", "streams", "s", "0"), True),
     (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"), True),
     (("XREAD", "STREAMS", "s", "0"), False),
     (("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"), False),
     (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", "0"), False),  # history
     (("XRANGE", "s", "-", "+"), False), (("BLPOP", "q", "0"), True)],
)  # fmt: skip
def test_which_commands_would_block(command: tuple[str, ...], blocking: bool) -> None:
    assert is_blocking(argv_of(command)) is blocking


@pytest.mark.parametrize(
    "command",
    [("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
     ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "s", ">")],
    ids=["XREAD", "XREADGROUP"],
)  # fmt: skip
def test_the_client_refuses_blocking_stream_reads(command: tuple[str, ...]) -> None:
    async def scenario() -> None:
        async with fake_nodes([]) as [node], AsyncClient([node.address]) as ranet:
            with pytest.raises(ValueError, match="for blocking commands"):
                await ranet.execute(*command)
        assert node.requests == []

    asyncio.run(scenario())


def test_the_client_sends_stream_reads_without_block() -> None:
    """XREAD is a read; XREADGROUP, without BLOCK or with a history ID, a
    write in the client's session."""
    entry_reply = b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"

    async def scenario() -> None:
        async with (
            fake_nodes([entry_reply, b"*-1\r\n", b"*-1\r\n"]) as [node],
            AsyncClient([node.address], client_id=7) as ranet,
        ):
            assert await ranet.execute("XREAD", "STREAMS", "s", "0") == [
                [b"s", [[b"1-0", [b"f", b"v"]]]]
            ]
            assert await ranet.execute("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">") is None
            history = ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", "0")
            assert await ranet.execute(*history) is None
        assert node.requests == [
            [b"XREAD", b"STREAMS", b"s", b"0"],
            [
                b"RANET.EXEC",
                b"7",
                b"1",
                *argv_of(("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")),
            ],
            [b"RANET.EXEC", b"7", b"2", *argv_of(history)],
        ]

    asyncio.run(scenario())


def test_ranet_kv_refuses_blocking_stream_reads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kv", "XREAD", "BLOCK", "0", "STREAMS", "s", "$"]) == 2
    assert main(["kv", "XREADGROUP", "GROUP", "g", "c", "BLOCK", "5", "STREAMS", "s", ">"]) == 2
    err = capsys.readouterr().err
    assert err.count("ranet kv: error:") == 2 and err.count("waits for data to arrive") == 2
    assert "Traceback" not in err
