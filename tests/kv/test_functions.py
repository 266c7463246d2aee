"""Libraries of functions in the store: replicated, deterministic, bounded,
carried in snapshots (functions.py, function_libraries.py). What FUNCTION
and FCALL answer is compared with redis-server in
test_functions_against_redis.py."""

from __future__ import annotations

import msgpack
import pytest

from ranet.errors import SnapshotFormatError
from ranet.kv.envelope import TransactionEnvelope, encode_transaction
from ranet.kv.lua_engine import engine
from ranet.kv.reply import ErrorReply, Status
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import as_format, call, entry
from tests.kv.test_scripting import WANDERING

WANDERING_LIBRARY = (
    "#!lua name=wandering\n"
    "redis.register_function('wander', function(keys, args)\n"
    "  local KEYS = keys\n" + WANDERING + "\nend)"  # the script's body reads KEYS[1]
)
COUNTING_LIBRARY = """#!lua name=counting
local calls = 0
local function counted() calls = calls + 1 return calls end
redis.register_function('count', counted)
redis.register_function{function_name='count_ro', callback=counted, flags={'no-writes'}}
"""


def loaded(*libraries: str) -> KVStore:
    store = KVStore()
    for library in libraries:
        name = call(store, "FUNCTION", "LOAD", library)
        assert not isinstance(name, ErrorReply), name
    return store


def test_a_function_does_the_same_on_every_replica() -> None:
    """math.random, random picks, tostring, pairs' order and TIME as in a
    script (test_scripting.py): from the log, alike on every replica."""
    stores = [loaded(WANDERING_LIBRARY), loaded(WANDERING_LIBRARY)]
    for store in stores:
        store.apply(entry("SADD", "s", *[f"m{i}" for i in range(100)], at=1_000))
        store.apply(entry("HSET", "h", *[x for i in range(100) for x in (f"f{i}", "v")]))
        store.apply(entry("ZADD", "z", *[x for i in range(100) for x in (i, f"z{i}")]))
        for i in range(5):
            store.apply(entry("FCALL", "wander", 1, f"out{i}", at=2_000 + i))
    assert stores[0].snapshot() == stores[1].snapshot()
    assert len({call(stores[0], "GET", f"out{i}") for i in range(5)}) == 5


def test_a_library_s_locals_start_afresh_at_each_call() -> None:
    """The library's code runs again before each call: a local it keeps is
    never state one node has and another has not (an FCALL_RO runs on one
    node; a restart or a snapshot would lose it)."""
    store = loaded(COUNTING_LIBRARY)
    assert [call(store, "FCALL", "count", 0) for _ in range(3)] == [1, 1, 1]
    assert [call(store, "FCALL_RO", "count_ro", 0) for _ in range(3)] == [1, 1, 1]


def test_fcall_ro_is_a_read_and_refuses_writes() -> None:
    store = loaded(
        "#!lua name=rw\n"
        "redis.register_function{function_name='sneak', flags={'no-writes'},"
        " callback=function(keys) return redis.call('set', keys[1], 'x') end}\n"
        "redis.register_function{function_name='peek', flags={'no-writes'},"
        " callback=function(keys) return redis.call('get', keys[1]) end}\n"
    )
    call(store, "SET", "k", "v")
    assert store.read([b"FCALL_RO", b"peek", b"1", b"k"]) == b"v"
    for command in ("FCALL", "FCALL_RO"):
        reply = call(store, command, "sneak", 1, "k")
        assert isinstance(reply, ErrorReply) and "not allowed from read-only" in reply.message
    assert call(store, "GET", "k") == b"v"


@pytest.mark.parametrize(
    "change",
    [
        "rawset(_G, 'leaked', 1)",
        "rawset(string, 'leaked', 1)",
        "rawset(redis, 'leaked', 1)",
        "rawset(keys, 'leaked', 1)",
        "loadstring('rawset(_G, \"leaked\", 1)')()",
    ],
)
def test_nothing_an_fcall_ro_does_survives_it(change: str) -> None:
    store = loaded(
        "#!lua name=leaky\n"
        "redis.register_function{function_name='leak', flags={'no-writes'},"
        f" callback=function(keys, args) {change} return 1 end}}\n"
    )
    assert call(store, "FCALL_RO", "leak", 0) == 1
    probe = (
        "return {rawget(_G, 'leaked') or 0, rawget(string, 'leaked') or 0,"
        " rawget(redis, 'leaked') or 0, string.leaked or 0}"
    )
    assert call(store, "EVAL", probe, 0) == [0, 0, 0, 0]


def test_a_library_that_never_finishes_loading_is_stopped() -> None:
    store = KVStore()
    reply = call(store, "FUNCTION", "LOAD", "#!lua name=spin\nwhile true do end")
    assert isinstance(reply, ErrorReply)
    assert reply.message.startswith("ERR Error registering functions: ERR script used up its")
    assert call(store, "FUNCTION", "LIST") == []
    assert call(store, "EVAL", "return 7", 0) == 7  # the store goes on


def test_a_function_that_never_ends_is_stopped_at_the_same_point_everywhere() -> None:
    library = (
        "#!lua name=runaway\n"
        "redis.register_function('run', function(keys, args)\n"
        "  redis.call('set', 'before', 1)\n"
        "  while true do pcall(redis.call, 'incr', 'n') end\n"
        "end)"
    )
    stores = [loaded(library), loaded(library)]
    for store in stores:
        reply = call(store, "FCALL", "run", 0)
        assert isinstance(reply, ErrorReply) and "budget" in reply.message
        assert reply.message.endswith("script: run, on @user_function:4.")
    assert len({call(store, "GET", "n") for store in stores}) == 1
    assert call(stores[0], "GET", "before") == b"1"


def test_libraries_survive_a_snapshot() -> None:
    store = loaded(COUNTING_LIBRARY, WANDERING_LIBRARY)
    restored = KVStore()
    restored.restore(store.snapshot())
    assert call(restored, "FCALL", "count", 0) == 1
    assert call(restored, "FUNCTION", "LIST") == call(store, "FUNCTION", "LIST")
    assert call(restored, "FUNCTION", "DUMP") == call(store, "FUNCTION", "DUMP")
    assert restored.snapshot() == store.snapshot()


def test_a_snapshot_before_functions_restores_with_none() -> None:
    store = loaded(COUNTING_LIBRARY)
    call(store, "SET", "k", "v")
    restored = KVStore()
    restored.restore(msgpack.packb(as_format(msgpack.unpackb(store.snapshot()), "ranet.kv/6")))
    assert call(restored, "GET", "k") == b"v"
    assert call(restored, "FUNCTION", "LIST") == []


@pytest.mark.parametrize(
    "libraries",
    [
        {},
        ["#!lua name=text\nredis.register_function('f', function() end)"],
        [b"return 1"],
        [b"#!lua name=empty\n"],
        [
            b"#!lua name=a\nredis.register_function('f', function() end)",
            b"#!lua name=b\nredis.register_function('F', function() end)",
        ],
    ],
)
def test_a_snapshot_with_malformed_libraries_is_refused(libraries: object) -> None:
    fields = msgpack.unpackb(KVStore().snapshot())
    fields["functions"] = libraries
    store = KVStore()
    call(store, "SET", "k", "mine")
    with pytest.raises(SnapshotFormatError, match=r"functions|librar"):
        store.restore(msgpack.packb(fields))
    assert call(store, "GET", "k") == b"mine"


def test_flushall_keeps_libraries_and_function_flush_drops_them() -> None:
    store = loaded(COUNTING_LIBRARY)
    call(store, "FLUSHALL")
    assert call(store, "FCALL", "count", 0) == 1
    assert call(store, "FUNCTION", "FLUSH") == Status("OK")
    assert call(store, "FCALL", "count", 0) == ErrorReply("ERR Function not found")


def test_a_retried_fcall_runs_once() -> None:
    """Exactly-once (thesis §6.3), as for a script."""
    store = loaded("#!lua name=inc\nredis.register_function('inc', "
                   "function(keys) return redis.call('incr', keys[1]) end)")  # fmt: skip
    first = entry("FCALL", "inc", 1, "n", client_id=7, sequence=1, at=1)
    assert store.apply(first) == 1
    assert store.apply(first) == 1
    assert call(store, "GET", "n") == b"1"


def test_an_fcall_inside_multi_sees_the_commands_before_it() -> None:
    store = loaded(COUNTING_LIBRARY)
    transaction = TransactionEnvelope(
        5, [[b"SET", b"k", b"1"], [b"FCALL", b"count", b"0"], [b"INCR", b"k"]], []
    )
    assert store.apply(encode_transaction(transaction)) == [Status("OK"), 1, 2]


def test_a_replaced_library_s_functions_go_with_it() -> None:
    store = loaded(COUNTING_LIBRARY)
    replacement = "#!lua name=counting\nredis.register_function('other', function() return 2 end)"
    assert call(store, "FUNCTION", "LOAD", "REPLACE", replacement) == b"counting"
    assert call(store, "FCALL", "count", 0) == ErrorReply("ERR Function not found")
    assert call(store, "FCALL", "other", 0) == 2
    assert call(store, "FUNCTION", "STATS") == {
        b"running_script": None,
        b"engines": {b"LUA": {b"libraries_count": 1, b"functions_count": 1}},
    }


def test_calls_leave_nothing_in_the_lua_heap() -> None:
    """Each call's library environment, closures and registrations are
    garbage once it ends."""
    store = loaded(
        "#!lua name=heap\nlocal kept = {}\n"
        "redis.register_function('grow', function(keys)\n"
        "  kept[#kept + 1] = {pairs(string)} return redis.call('incr', keys[1]) end)"
    )
    lua = engine()
    call(store, "FCALL", "grow", 1, "n")
    lua._collect()
    before = lua._heap_kib()
    for _ in range(2000):
        call(store, "FCALL", "grow", 1, "n")
    lua._collect()
    assert lua._heap_kib() - before < 64
    assert call(store, "GET", "n") == b"2001"
