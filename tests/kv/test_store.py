"""KVStore as a state machine: the envelope door, kinds of commands, snapshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack
import pytest

from ranet.errors import ConfigurationError, SnapshotFormatError
from ranet.kv.envelope import RunEnvelope, encode_run
from ranet.kv.reply import OK, ErrorReply, Status
from ranet.kv.store import SNAPSHOT_FORMAT, KVStore
from ranet.node.state_machine import StateMachine
from tests.kv.store_fixtures import call, entry


def populated() -> KVStore:
    """A store with keys, a deadline, sessions with each kind of cached reply, a clock."""
    store = KVStore()
    store.apply(entry("SET", "plain", "v", at=1_000))
    store.apply(entry("SET", "leased", "v", "PX", "5000", client_id=1, sequence=1))
    store.apply(entry("INCR", "plain", client_id=2, sequence=4))  # an error reply
    store.apply(entry("MGET", "plain", client_id=3, sequence=1))  # refused: a read
    store.apply(entry("INCR", "counter", client_id=4, sequence=9, at=2_000))
    store.apply(entry("SET", "counter", "0", "NX", client_id=5, sequence=1))  # None
    store.apply(entry("SET", "counter", "7", "GET", client_id=6, sequence=1))  # bytes
    return store


def test_it_is_a_state_machine() -> None:
    machine: StateMachine = KVStore()
    assert machine.apply(entry("SET", "k", "v")) == OK


def test_the_constructor_refuses_nonsense_settings() -> None:
    with pytest.raises(ConfigurationError):
        KVStore(session_ttl_ms=0)
    with pytest.raises(ConfigurationError):
        KVStore(max_sessions=-1)


@pytest.mark.parametrize(
    "command",
    [
        b"",
        b"\xc1",
        msgpack.packb([1, 2, 3]),
        msgpack.packb([0, 0, 99_999, []]),
        msgpack.packb([0, 0, 99_999, ["SET", "k", "v"]]),  # str, not bytes
        msgpack.packb([-1, 0, 99_999, [b"SET", b"k", b"v"]]),
        msgpack.packb([0, 0, 99_999, [b"SET", b"k", b"v"]]) + b"trailing",
        msgpack.packb([1, 1, 99_999, [[b"SET", b"k", b"v"]]]),  # a run has no session
        msgpack.packb([0, 0, 99_999, [[b"SET", b"k", b"v"], []]]),  # an empty command
        msgpack.packb([0, 0, 99_999, [[b"SET", b"k", b"v"], b"SET"]]),  # not a command
        msgpack.packb([0, 0, 99_999, [[b"SET", b"k", [b"v"]]]]),  # nested too deep
    ],
)
def test_a_malformed_entry_is_answered_with_an_error_and_changes_nothing(command: bytes) -> None:
    store = populated()
    before = store.snapshot()
    reply = store.apply(command)
    assert isinstance(reply, ErrorReply) and reply.message.startswith("ERR malformed log entry")
    assert store.snapshot() == before


def test_a_run_of_writes_applies_in_order_and_answers_each_command() -> None:
    store = populated()
    run = RunEnvelope(
        3_000,
        [
            [b"SET", b"n", b"1"],
            [b"INCR", b"n"],
            [b"INCR", b"plain"],  # its own error; the run goes on
            [b"GET", b"n"],  # a read inside a run: refused like a read entry
            [b"SET", b"n", b"9", b"GET"],
        ],
    )
    replies = store.apply(encode_run(run))
    assert isinstance(replies, list) and len(replies) == 5
    assert replies[:2] == [OK, 2]
    assert isinstance(replies[2], ErrorReply) and "not an integer" in replies[2].message
    assert isinstance(replies[3], ErrorReply) and "read command" in replies[3].message
    assert replies[4] == b"2"
    assert store.read([b"GET", b"n"]) == b"9"
    assert store.clock_ms == 3_000  # the run moved the clock once, to its own time


def test_apply_refuses_reads_and_connection_commands() -> None:
    store = KVStore()
    assert store.apply(entry("GET", "k")) == ErrorReply(
        "ERR 'get' is a read command, not applied from the log"
    )
    assert store.apply(entry("PING")) == ErrorReply(
        "ERR 'ping' is a connection command, not applied from the log"
    )


def test_read_refuses_writes_and_connection_commands_and_changes_nothing() -> None:
    store = populated()
    before = store.snapshot()
    assert store.read([b"SET", b"k", b"v"]) == ErrorReply(
        "ERR 'set' is a write command, not served by a read"
    )
    assert store.read([b"echo", b"x"]) == ErrorReply(
        "ERR 'echo' is a connection command, not served by a read"
    )
    assert store.read([b"NOSUCH"]) == ErrorReply(
        "ERR unknown command 'NOSUCH', with args beginning with: "
    )
    assert store.read([b"GET"]) == ErrorReply("ERR wrong number of arguments for 'get' command")
    store.read([b"GET", b"leased"], now_ms=10**12)
    assert store.snapshot() == before


def test_read_many_answers_each_command_as_read_does_on_one_clock() -> None:
    store = populated()
    before = store.snapshot()
    argvs = [[b"GET", b"plain"], [b"SET", b"k", b"v"], [b"GET", b"leased"], [b"GET"]]
    for now_ms in (None, 2_000, 10**12):  # 10**12: past the lease's deadline
        assert store.read_many(argvs, now_ms) == [store.read(argv, now_ms) for argv in argvs]
    assert store.read_many(argvs, 10**12)[2] is None
    assert store.read_many(argvs)[2] == b"v"
    assert store.snapshot() == before


def test_apply_answers_unknown_commands_and_arity_errors_as_redis_does() -> None:
    store = KVStore()
    assert store.apply(entry("FOO", "a")) == ErrorReply(
        "ERR unknown command 'FOO', with args beginning with: 'a' "
    )
    assert store.apply(entry("INCR")) == ErrorReply(
        "ERR wrong number of arguments for 'incr' command"
    )


def test_snapshot_round_trip() -> None:
    store = populated()
    copy = KVStore()
    copy.apply(entry("SET", "to-be-replaced", "v"))
    copy.restore(store.snapshot())
    assert copy.snapshot() == store.snapshot()
    assert copy.stats() == store.stats()
    assert store.stats() == {
        "keys": 3,
        "expires": 1,
        "expired_keys": 0,
        "sessions": 6,
        "clock_ms": 2_000,
    }
    assert call(copy, "KEYS", "*") == call(store, "KEYS", "*")
    assert call(copy, "PTTL", "leased") == 4_000
    for client, sequence, reply in [
        (2, 4, ErrorReply("ERR value is not an integer or out of range")),
        (3, 1, ErrorReply("ERR 'mget' is a read command, not applied from the log")),
        (5, 1, None),
        (6, 1, b"1"),
        (1, 1, Status("OK")),
    ]:
        assert copy.apply(entry("DEL", "x", client_id=client, sequence=sequence)) == reply
    copy.apply(entry("SET", "x", "y", at=6_000))  # the deadline expires in the copy too
    assert call(copy, "GET", "leased") is None


def test_an_empty_store_round_trips() -> None:
    copy = KVStore()
    copy.restore(KVStore().snapshot())
    assert len(copy) == 0 and copy.clock_ms == 0


def valid_fields() -> dict[str, Any]:
    return msgpack.unpackb(populated().snapshot())


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: f.pop("sessions"),
        lambda f: f.update(extra=1),
        lambda f: f.update(format="ranet.kv/0"),
        lambda f: f.update(clock_ms=-1),
        lambda f: f.update(clock_ms=True),
        lambda f: f.update(data=[]),  # loses keys that "expires" names
        lambda f: f.update(data={b"k": b"v"}),  # a map, not a list of chunks
        lambda f: f.update(data=[[[b"k", "text"]]]),
        lambda f: f.update(data=[[[b"k", 1]]]),
        lambda f: f.update(data=[[[b"k"]]]),
        lambda f: f.update(data=[b"k"]),
        lambda f: f.update(expires={b"missing": 10**9}),
        lambda f: f.update(expires={b"leased": 1}),  # deadline before the clock
        lambda f: f.update(expires={b"leased": 10.5}),
        lambda f: f.update(sessions={}),
        lambda f: f.update(sessions=[[1, 1, 0]]),
        lambda f: f.update(sessions=[[0, 1, 0, None]]),  # client 0 has no session
        lambda f: f.update(sessions=[[1, -1, 0, None]]),
        lambda f: f.update(sessions=[[1, 1, 9_999, None]]),  # active after the clock
        lambda f: f.update(sessions=[[1, 1, 500, None], [2, 1, 400, None]]),  # out of order
        lambda f: f.update(sessions=[[1, 1, 400, None], [1, 2, 500, None]]),  # duplicate
        lambda f: f.update(sessions=[[1, 1, 400, True]]),
        lambda f: f.update(sessions=[[1, 1, 400, "text"]]),
        lambda f: f.update(sessions=[[1, 1, 400, ["+", 5]]]),
        lambda f: f.update(sessions=[[1, 1, 400, ["*", [1, False]]]]),
        lambda f: f.update(sessions=[[1, 1, 400, ["*", 7]]]),
    ],
)
def test_restore_refuses_a_malformed_snapshot_and_keeps_its_state(
    damage: Callable[[dict[str, Any]], object],
) -> None:
    fields = valid_fields()
    damage(fields)
    store = populated()
    store.apply(entry("SET", "mine", "v"))
    before = store.snapshot()
    with pytest.raises(SnapshotFormatError):
        store.restore(msgpack.packb(fields))
    assert store.snapshot() == before


@pytest.mark.parametrize("garbage", [b"", b"\xc1", b"not msgpack at all", b"\x92\x01"])
def test_restore_refuses_garbage(garbage: bytes) -> None:
    store = populated()
    before = store.snapshot()
    with pytest.raises(SnapshotFormatError):
        store.restore(garbage)
    assert store.snapshot() == before


def test_the_snapshot_is_plain_msgpack_with_a_format_tag() -> None:
    fields = valid_fields()
    assert fields["format"] == SNAPSHOT_FORMAT
    pairs = dict(pair for chunk in fields["data"] for pair in chunk)
    assert pairs[b"plain"] == b"v"


def test_a_large_store_snapshots_in_chunks_and_restores_whole() -> None:
    """The key space is serialized in chunks, so a thread doing it lets the
    event loop run between them; the restore sees one store."""
    store = KVStore()
    for i in range(25_000):
        store.apply(entry("SET", b"k%d" % i, b"v%d" % i, at=1))
    data = store.snapshot()
    assert len(msgpack.unpackb(data)["data"]) == 3  # 10,000 + 10,000 + 5,000 pairs
    copy = KVStore()
    copy.restore(data)
    assert len(copy) == 25_000 and copy.read([b"GET", b"k24999"]) == b"v24999"


def test_copy_makes_an_independent_value_with_the_deadline_in_the_one_database() -> None:
    store = KVStore()
    call(store, "RPUSH", "l", "a", "b")
    call(store, "PEXPIRE", "l", 10_000, at=1_000)
    assert call(store, "COPY", "l", "copy", at=1_000) == 1
    call(store, "RPUSH", "copy", "c", at=1_000)
    assert call(store, "LRANGE", "l", 0, -1, at=1_000) == [b"a", b"b"]  # the source is untouched
    assert call(store, "PTTL", "copy", at=1_000) == 10_000
    assert call(store, "COPY", "l", "other", "DB", 1) == ErrorReply("ERR DB index is out of range")
