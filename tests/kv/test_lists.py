"""Lists in the state machine (kv/lists.py) and on the wire: the commands,
WRONGTYPE both ways, WATCH versions, snapshots (copy-on-write, format 4)
and replies through redis-py. Reply wording is checked against redis-server
in test_against_redis.py, and lists in randomized snapshots in
test_hashes.py."""

from __future__ import annotations

import msgpack
import pytest
import redis

from ranet.errors import SnapshotFormatError
from ranet.kv.arguments import WRONG_TYPE
from ranet.kv.reply import OK, ErrorReply, Status
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import as_format, call, moves_version

from .fake_backend import WAIT, served

WRONG_TYPES = [
    ("LPUSH", "str", "x"), ("RPUSH", "hash", "x"), ("LRANGE", "set", 0, -1), ("LPOP", "str"),
    ("LMOVE", "list", "str", "LEFT", "LEFT"), ("GET", "list"), ("HGET", "list", "f"),
    ("SADD", "list", "m"), ("LMPOP", 2, "nolist", "str", "LEFT"),
]  # fmt: skip


def test_a_list_works_as_a_queue_and_as_a_stack() -> None:
    store = KVStore()
    assert call(store, "RPUSH", "q", "1", "2", "3") == 3
    assert call(store, "LPUSH", "q", "0", "-1") == 5  # pushed one after the other
    assert call(store, "LRANGE", "q", 0, -1) == [b"-1", b"0", b"1", b"2", b"3"]
    assert call(store, "LPOP", "q") == b"-1"
    assert call(store, "RPOP", "q", 2) == [b"3", b"2"]
    assert call(store, "LMOVE", "q", "done", "LEFT", "RIGHT") == b"0"
    assert call(store, "RPOPLPUSH", "q", "done") == b"1"
    assert call(store, "EXISTS", "q") == 0  # the last element took the key with it
    assert call(store, "LRANGE", "done", 0, -1) == [b"1", b"0"]
    assert call(store, "TYPE", "done") == Status("list")


def test_lrange_walks_from_the_nearer_end_with_the_same_result() -> None:
    store = KVStore()
    call(store, "RPUSH", "l", *range(1000))
    for start, stop in ((0, 9), (990, 999), (-10, -1), (-3, 2000), (400, 600), (-600, -400)):
        expected = [str(i).encode() for i in range(1000)][start : (stop + 1) or None]
        if stop < 0:
            expected = [str(i).encode() for i in range(1000 + start, 1000 + stop + 1)]
        assert call(store, "LRANGE", "l", start, stop) == expected, (start, stop)


def test_ltrim_keeps_the_span_and_an_empty_span_removes_the_key() -> None:
    store = KVStore()
    call(store, "RPUSH", "l", *range(10))
    assert call(store, "LTRIM", "l", 2, -3) == OK
    assert call(store, "LRANGE", "l", 0, -1) == [str(i).encode() for i in range(2, 8)]
    assert call(store, "LTRIM", "l", 5, 1) == OK
    assert call(store, "EXISTS", "l") == 0


def test_lpos_refuses_the_one_rank_that_has_no_negation() -> None:
    """Redis 7.0 answers a match for RANK -2^63 (its negation overflows);
    ranet answers the range error later Redis versions answer."""
    store = KVStore()
    call(store, "RPUSH", "l", "a")
    assert call(store, "LPOS", "l", "a", "RANK", "-9223372036854775808") == ErrorReply(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert call(store, "LPOS", "l", "a", "RANK", "-9223372036854775807") is None  # no such match
    assert call(store, "LPOS", "l", "a", "RANK", "-1") == 0


def test_list_commands_answer_wrongtype_for_other_types_and_change_nothing() -> None:
    store = KVStore()
    call(store, "SET", "str", "v")
    call(store, "HSET", "hash", "f", "v")
    call(store, "SADD", "set", "m")
    call(store, "RPUSH", "list", "a", "b")
    for command in WRONG_TYPES:
        assert call(store, *command) == WRONG_TYPE, command
    assert call(store, "LRANGE", "list", 0, -1) == [b"a", b"b"]
    assert call(store, "GET", "str") == b"v"


def test_changes_move_the_version_and_no_ops_and_reads_do_not() -> None:
    store = KVStore()
    call(store, "RPUSH", "l", "a", "b")

    def moved(*command: object) -> bool:
        return moves_version(store, b"l", *command)  # type: ignore[arg-type]

    assert moved("RPUSH", "l", "c")
    assert moved("LSET", "l", 0, "z")
    assert moved("LPOP", "l")
    assert moved("LMOVE", "l", "l", "LEFT", "RIGHT")  # a rotation changes the list
    assert not moved("LREM", "l", 0, "absent")
    assert not moved("LINSERT", "l", "BEFORE", "absent", "x")
    assert not moved("LTRIM", "l", 0, -1)
    assert not moved("LPUSHX", "nolist", "x") and call(store, "EXISTS", "nolist") == 0
    for read in (("LRANGE", "l", 0, -1), ("LINDEX", "l", 0), ("LPOS", "l", "b"), ("LLEN", "l")):
        assert not moved(*read)


def test_a_snapshot_holds_the_lists_as_they_were_at_its_capture() -> None:
    """The capture copies the key space's dict, not each list: without the
    copy-on-write of lists, the changes below would leak into the snapshot."""
    store = KVStore()
    call(store, "RPUSH", "l", "a", "b", "c")
    call(store, "RPUSH", "other", "x")
    expected = store.snapshot()
    serialize = store.snapshot_later()
    call(store, "LSET", "l", 0, "changed")
    call(store, "RPOP", "l")
    call(store, "LPUSH", "other", "y")
    assert b"".join(serialize()) == expected
    restored = KVStore()
    restored.restore(expected)
    assert call(restored, "LRANGE", "l", 0, -1) == [b"a", b"b", b"c"]
    assert call(restored, "TYPE", "other") == Status("list")
    assert call(store, "LRANGE", "l", 0, -1) == [b"changed", b"b"]


@pytest.mark.parametrize(
    "value", [[], [b"a", 1], [b"a", None]], ids=["empty", "element not bytes", "element nil"]
)
def test_a_snapshot_with_a_malformed_list_is_refused(value: object) -> None:
    store = KVStore()
    call(store, "RPUSH", "l", "a")
    fields = msgpack.unpackb(store.snapshot())
    fields["data"] = [[[b"l", value]]]
    with pytest.raises(SnapshotFormatError, match="sorted sets or streams"):
        KVStore().restore(msgpack.packb(fields))


def test_a_format_3_snapshot_may_hold_no_list_but_still_restores() -> None:
    store = KVStore()
    call(store, "RPUSH", "l", "a")
    fields = msgpack.unpackb(store.snapshot())
    as_format(fields, "ranet.kv/3")
    with pytest.raises(SnapshotFormatError, match="sorted sets or streams"):
        KVStore().restore(msgpack.packb(fields))
    call(store, "DEL", "l")
    call(store, "HSET", "h", "f", "v")
    fields = msgpack.unpackb(store.snapshot())
    as_format(fields, "ranet.kv/3")
    restored = KVStore()
    restored.restore(msgpack.packb(fields))
    assert call(restored, "HGET", "h", "f") == b"v"


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_uses_lists_over_the_wire(protocol: int) -> None:
    with served() as server:
        client = redis.Redis(port=server.port, protocol=protocol, socket_timeout=WAIT)
        try:
            assert client.rpush("jobs", "a", "b", "c") == 3
            assert client.lpop("jobs", 2) == [b"a", b"b"]
            assert client.lpop("nothing", 2) is None
            assert client.lmpop(2, "nothing", "jobs", direction="RIGHT") == [b"jobs", [b"c"]]
            assert client.lpos("nothing", "x", count=3) == []
            with client.pipeline(transaction=True) as pipe:
                pipe.rpush("log", "x").lrange("log", 0, -1)
                assert pipe.execute() == [1, [b"x"]]
        finally:
            client.close()
