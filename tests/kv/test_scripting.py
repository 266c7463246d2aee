"""Scripts in the store: deterministic on every replica, bounded, sandboxed,
replicated with their cache (scripting.py, lua_engine.py, lua_prelude.py).
What a script answers is compared with redis-server in
test_scripting_against_redis.py."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest

from ranet.errors import SnapshotFormatError
from ranet.kv.envelope import TransactionEnvelope, encode_transaction
from ranet.kv.keyspace import EVALUATED_KEPT
from ranet.kv.lua_engine import BUDGET, CALL_COST, engine
from ranet.kv.reply import ErrorReply, Status
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import as_format, call, entry

REPO = Path(__file__).resolve().parents[2]

# Everything a script could take from its process rather than from the log:
# math.random, the members SRANDMEMBER / HRANDFIELD / ZRANDMEMBER pick, the
# name tostring gives a table, pairs' order over a table, TIME.
WANDERING = """
local picks = {}
for i = 1, 5 do picks[#picks + 1] = math.random(1000000) end
picks[#picks + 1] = redis.call('srandmember', 's')
picks[#picks + 1] = redis.call('hrandfield', 'h')
picks[#picks + 1] = redis.call('zrandmember', 'z')
picks[#picks + 1] = tostring({})
picks[#picks + 1] = tostring(redis.call) .. tostring(function() end)
local t = {}
for i = 1, 50 do t['key' .. i] = i end
for k, v in pairs(t) do picks[#picks + 1] = k end
local now = redis.call('time')
picks[#picks + 1] = now[1] .. '.' .. now[2]
redis.call('set', KEYS[1], table.concat(picks, ','))
redis.call('spop', 's')
return picks
"""


def wandering_entries() -> list[bytes]:
    setup = [
        entry("SADD", "s", *[f"m{i}" for i in range(100)], at=1_000),
        entry("HSET", "h", *[x for i in range(100) for x in (f"f{i}", "v")], at=1_000),
        entry("ZADD", "z", *[x for i in range(100) for x in (i, f"z{i}")], at=1_000),
    ]
    runs = [entry("EVAL", WANDERING, 1, f"out{i}", at=2_000 + i) for i in range(10)]
    return setup + runs


def applied(entries: list[bytes]) -> KVStore:
    store = KVStore()
    for data in entries:
        store.apply(data)
    return store


def test_a_script_does_the_same_on_every_replica() -> None:
    first, second = applied(wandering_entries()), applied(wandering_entries())
    assert first.snapshot() == second.snapshot()
    outputs = {call(first, "GET", f"out{i}") for i in range(10)}
    assert len(outputs) == 10  # the draws differ between runs, the same on both stores
    assert call(first, "GET", "out3").endswith(b",2.3000")  # TIME: the log's 2,003 ms


def test_a_script_does_the_same_in_another_process() -> None:
    """A process with another hash seed (Python's sets and str hashes) and
    another Lua heap applies the same entries to the same state."""
    program = (
        "import hashlib, sys\n"
        "from tests.kv.test_scripting import applied, wandering_entries\n"
        "print(hashlib.sha256(applied(wandering_entries()).snapshot()).hexdigest())\n"
    )
    here = hashlib.sha256(applied(wandering_entries()).snapshot()).hexdigest()
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", program],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert result.stdout.strip() == here


def test_reads_pick_at_random_outside_a_script() -> None:
    store = applied(wandering_entries()[:1])
    assert len({call(store, "SRANDMEMBER", "s") for _ in range(50)}) > 1


def test_a_script_that_never_ends_is_stopped_at_the_same_point_everywhere() -> None:
    script = "redis.call('set', 'before', 1) while true do redis.call('incr', 'n') end"
    stores = [KVStore(), KVStore()]
    for store in stores:
        reply = call(store, "EVAL", script, 0)
        assert isinstance(reply, ErrorReply) and "budget" in reply.message
        assert reply.message.endswith("on @user_script:1.")
    counts = {call(store, "GET", "n") for store in stores}
    assert len(counts) == 1
    assert 0 < int(counts.pop()) <= BUDGET // CALL_COST  # the writes before the stop are kept
    assert call(stores[0], "GET", "before") == b"1"
    assert call(stores[0], "EVAL", "return 7", 0) == 7  # and the store goes on


@pytest.mark.parametrize(
    "escape",
    [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function() while 1 do end end) end",
        "while 1 do coroutine.resume(coroutine.create(function() for i = 1, 900 do end end)) end",
        "while true do pcall(coroutine.wrap(function() while true do end end)) end",
        "local f f = function() pcall(f) end while true do pcall(f) end",
    ],
)
def test_the_budget_cannot_be_caught(escape: str) -> None:
    reply = call(KVStore(), "EVAL", escape, 0)
    assert isinstance(reply, ErrorReply) and "budget" in reply.message, reply


def test_a_script_out_of_memory_fails_and_the_store_goes_on() -> None:
    store = KVStore()
    reply = call(store, "EVAL", "local s = 'x' for i = 1, 40 do s = s .. s end return #s", 0)
    assert isinstance(reply, ErrorReply) and "out of memory" in reply.message
    assert call(store, "EVAL", "return #string.rep('y', 1000)", 0) == 1000
    assert engine().runtime.eval('collectgarbage("count")') < 64 * 1024  # KiB: collected


@pytest.mark.parametrize(
    "change",
    [
        "rawset(_G, 'leaked', 1)",
        "rawset(string, 'leaked', 1)",
        "rawset(math, 'leaked', 1)",
        "rawset(redis, 'leaked', 1)",
        "rawset(KEYS, 'leaked', 1)",
        "local m = getmetatable(string) if m then m.__index = {leaked = 1} end",
        "local m = getmetatable('') if m then m.leaked = 1 end",
        "loadstring('rawset(_G, \"leaked\", 1)')()",
    ],
)
def test_nothing_a_read_only_script_does_survives_it(change: str) -> None:
    """EVAL_RO runs on one node only: if it could leave anything behind, a
    later script would see it on that node and not on the others."""
    store = KVStore()
    assert call(store, "EVAL_RO", change + " return 1", 0) == 1
    probe = (
        "return {rawget(_G, 'leaked') or 0, rawget(string, 'leaked') or 0,"
        " rawget(math, 'leaked') or 0, rawget(redis, 'leaked') or 0,"
        " ('').leaked or 0, string.leaked or 0}"
    )
    assert call(store, "EVAL", probe, 0) == [0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    "reach",
    [
        "return redis.call.__class__",
        "return cjson.encode.__globals__",
        "return python",
        "return getfenv",
        "return os",
        "return io",
        "return require",
        "return debug",
    ],
)
def test_scripts_reach_neither_python_nor_the_process(reach: str) -> None:
    assert isinstance(call(KVStore(), "EVAL", reach, 0), ErrorReply)


@pytest.mark.parametrize(
    "script",
    [
        "return assert(loadstring(string.dump(function() return 1 end)))()",
        "local d, done = string.dump(function() return 1 end), false"
        " return assert(load(function() if done then return nil end done = true return d end))()",
    ],
)
def test_bytecode_is_never_loaded(script: str) -> None:
    """Lua 5.1 runs bytecode unchecked (crafted, it crashes the process: on
    every replica at once). A chunk starting with ESC is read as text."""
    reply = call(KVStore(), "EVAL", script, 0)
    assert isinstance(reply, ErrorReply) and "near 'char(27)'" in reply.message, reply
    compiled = call(KVStore(), "EVAL", b"\x1bLuaQ\x00" + b"\x00" * 20, 0)
    assert compiled == ErrorReply(
        "ERR Error compiling script (new function): "
        "user_script:1: unexpected symbol near 'char(27)'"
    )


def test_scan_is_refused_where_a_script_may_write_and_served_where_it_reads() -> None:
    store = KVStore()
    call(store, "SET", "k", "v")
    refused = call(store, "EVAL", "return redis.call('scan', 0)", 0)
    assert isinstance(refused, ErrorReply) and "SCAN" in refused.message
    assert call(store, "EVAL_RO", "return redis.call('scan', 0, 'count', 100)[2]", 0) in (
        [b"k"],
        [],  # the index is built in chunks (keyspace.py); a first page may be empty
    )


def test_scripts_survive_a_snapshot_with_their_kind() -> None:
    store = KVStore()
    loaded = call(store, "SCRIPT", "LOAD", "return 'loaded'")
    call(store, "EVAL", "return 'evaluated'", 0)
    evaluated = hashlib.sha1(b"return 'evaluated'").hexdigest()
    restored = KVStore()
    restored.restore(store.snapshot())
    assert call(restored, "EVALSHA", loaded, 0) == b"loaded"
    assert call(restored, "EVALSHA", evaluated, 0) == b"evaluated"
    assert restored.snapshot() == store.snapshot()
    for i in range(EVALUATED_KEPT):  # evaluated scripts make way; loaded ones stay
        call(restored, "EVAL", f"return {i}", 0)
    assert call(restored, "SCRIPT", "EXISTS", loaded, evaluated) == [1, 0]


def test_only_the_latest_evaluated_scripts_are_kept() -> None:
    store = KVStore()
    shas = [hashlib.sha1(f"return {i}".encode()).hexdigest() for i in range(EVALUATED_KEPT + 2)]
    for i in range(EVALUATED_KEPT):
        assert call(store, "EVAL", f"return {i}", 0) == i
    assert call(store, "EVALSHA", shas[2], 0) == 2  # run again: the latest
    for i in (EVALUATED_KEPT, EVALUATED_KEPT + 1):
        call(store, "EVAL", f"return {i}", 0)
    assert call(store, "SCRIPT", "EXISTS", *shas[:4]) == [0, 0, 1, 1]
    assert call(store, "SCRIPT", "EXISTS", *shas[4:]) == [1] * (EVALUATED_KEPT - 2)


def test_a_snapshot_before_scripts_restores_with_none() -> None:
    store = KVStore()
    call(store, "SET", "k", "v")
    call(store, "SCRIPT", "LOAD", "return 1")
    fields = as_format(msgpack.unpackb(store.snapshot()), "ranet.kv/5")
    restored = KVStore()
    restored.restore(msgpack.packb(fields))
    assert call(restored, "GET", "k") == b"v"
    assert call(restored, "SCRIPT", "EXISTS", hashlib.sha1(b"return 1").hexdigest()) == [0]


@pytest.mark.parametrize("scripts", [[[b"return 1"]], [[b"return 1", 1]], [["text", True]], {}])
def test_a_snapshot_with_malformed_scripts_is_refused(scripts: object) -> None:
    fields = msgpack.unpackb(KVStore().snapshot())
    fields["scripts"] = scripts
    store = KVStore()
    call(store, "SET", "k", "mine")
    with pytest.raises(SnapshotFormatError, match="scripts"):
        store.restore(msgpack.packb(fields))
    assert call(store, "GET", "k") == b"mine"


def test_flushall_keeps_scripts_and_script_flush_drops_them() -> None:
    store = KVStore()
    sha = call(store, "SCRIPT", "LOAD", "return 1")
    call(store, "FLUSHALL")
    assert call(store, "SCRIPT", "EXISTS", sha) == [1]
    assert call(store, "SCRIPT", "FLUSH") == Status("OK")
    assert call(store, "SCRIPT", "EXISTS", sha) == [0]


def test_a_retried_script_runs_once() -> None:
    """Exactly-once (thesis §6.3): the same session and sequence answers the
    first run's reply without running the script again."""
    store = KVStore()
    script = "return redis.call('incr', KEYS[1])"
    first = entry("EVAL", script, 1, "n", client_id=7, sequence=1, at=1)
    assert store.apply(first) == 1
    assert store.apply(first) == 1
    assert call(store, "GET", "n") == b"1"


def test_a_script_inside_multi_sees_the_commands_before_it() -> None:
    store = KVStore()
    transaction = TransactionEnvelope(
        5, [[b"SET", b"k", b"1"], [b"EVAL", b"return redis.call('incr', 'k')", b"0"]], []
    )
    assert store.apply(encode_transaction(transaction)) == [Status("OK"), 2]


def test_runs_leave_nothing_in_the_lua_heap() -> None:
    """Each run's globals and library views are garbage once it ends (they
    were kept for good by a weak table, whose keys their values referred to)."""
    store = KVStore()
    lua = engine()
    call(store, "EVAL", "return redis.call('incr', 'n')", 0)
    lua._collect()
    before = lua._heap_kib()
    for _ in range(3000):
        call(store, "EVAL", "local t = {pairs(string)} return redis.call('incr', 'n')", 0)
    lua._collect()
    assert lua._heap_kib() - before < 512  # KiB; the leak kept about 4 KiB a run


def test_a_library_call_never_returns_more_values_than_lua_s_stack_holds() -> None:
    script = "return select('#', cmsgpack.unpack(string.rep(string.char(1), ARGV[1])))"
    assert call(KVStore(), "EVAL", script, 0, 7_000) == 7_000
    reply = call(KVStore(), "EVAL", script, 0, 300_000)
    assert isinstance(reply, ErrorReply)
    assert reply.message.startswith("ERR user_script:1: too many objects to unpack"), reply


def test_table_sort_is_counted_against_the_budget() -> None:
    """It sorts in C, where no instruction is counted: charged per element."""
    script = "local t = {} for i = 1, ARGV[1] do t[i] = (i * 7919) % 1000003 end table.sort(t)"
    assert call(KVStore(), "EVAL", script + " return #t", 0, 1_000) == 1_000
    reply = call(KVStore(), "EVAL", script, 0, 1_000_000)
    assert isinstance(reply, ErrorReply) and "budget" in reply.message, reply
