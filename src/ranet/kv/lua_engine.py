"""The Lua 5.1 state scripts run in (EVAL and its kin, ``scripting.py``).

One state per process (``engine()``), shared by every store in it: a run
leaves nothing behind (``lua_prelude.py`` gives each a fresh global table),
so which stores share it does not matter. Compiled scripts are kept by SHA1
(at most ``COMPILED_KEPT``, least recently used dropped), not replicated:
compiling is deterministic.

Values cross as Redis 7.0 converts them (its ``script_lua.c``). A reply
becomes, for the script: an integer a number, a bulk string a string, a
null ``false`` (``nil`` after ``redis.setresp(3)``), an array a table, a
status ``{ok=...}``; with ``redis.setresp(3)`` a map ``{map={...}}``, a set
``{set={member=true}}``, a double ``{double=n}`` (in RESP2 a double is its
text). The script's result becomes, for the client: a number an integer
(truncated; past 64 bits or NaN, -2^63 as Redis's cast gives), a string a
bulk string, ``true`` 1 and ``false`` a null (after ``redis.setresp(3)``,
RESP3 booleans: in RESP2 1 and 0), ``nil`` a null, a table with a string
``err`` an error, with ``ok`` a status, with ``map``, ``set`` or ``double``
those, and any other table an array of its items up to the first nil.

Budget. A script runs inside a log entry's apply, on every replica, on the
node's only thread: however long it takes, the node does nothing else, and
a script that never ends would stop the cluster for good - every replica
would run it again on restart. So every run has ``BUDGET`` units: each Lua
instruction is one, each ``redis.call`` ``CALL_COST``, and ``ARGUMENT_COST``
per argument and ``ITEM_COST`` per item of its reply (what a command and
its reply's conversion cost in Python, in instructions' time), each call
of cjson, cmsgpack or bit ``CALL_COST`` and ``BYTE_COST`` per byte it reads
or writes, each coroutine ``COROUTINE_COST``, each element table.sort
sorts ``SORT_COST``; a run
that spends them all is ended with an error, the writes it made kept (as an
error ends a Redis script). The count depends only on the script and the
data, so every replica ends it at the same point. About 0.1-0.3 s of work
on this project's machine (docs/performance.md, "Scripting"). The Lua heap
is capped at ``MEMORY_LIMIT`` to keep a script from exhausting the node's
memory; unlike the budget, how near a script may come to it before failing
depends a little on what else the node's Lua state holds, so a script that
needs that much memory is not one to run (docs/kv-commands.md).
"""

from __future__ import annotations

import logging
import random
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from lupa import lua51

from ranet.kv import lua_patterns, lua_struct
from ranet.kv.arguments import INT64_MAX, INT64_MIN, REDIS_VERSION, text_of
from ranet.kv.keyspace import script_sha
from ranet.kv.lua_libraries import ScriptCallError, guarded, libraries, number_text
from ranet.kv.lua_prelude import PRELUDE
from ranet.kv.reply import (
    NULL_ARRAY,
    Double,
    ErrorReply,
    Keyed,
    Members,
    Reply,
    Scored,
    Status,
    format_score,
)

BUDGET = 100_000_000
CALL_COST = 1_000  # per redis.call, and per argument and per item of its reply:
ARGUMENT_COST = 100
ITEM_COST = 200
BYTE_COST = 100  # per byte a cjson or cmsgpack call reads or writes
MATCH_STEP_COST = 200  # per step of the metered pattern matcher (lua_patterns.py)
COROUTINE_COST = 1_000
SORT_COST = 100  # per element of a table.sort
STEP = 1_000  # instructions between two counts of the budget
MEMORY_LIMIT = 64 << 20
COMPILED_KEPT = 1_000
MAX_DEPTH = 200  # nested tables converted in a script's result
_LOG_LEVELS = (logging.DEBUG, logging.DEBUG, logging.INFO, logging.WARNING)
_log = logging.getLogger("ranet.kv.scripts")
_BUDGET_SPENT = (
    b"ERR script used up its budget of %d units (Lua instructions, %d per redis.call) "
    b"and was stopped" % (BUDGET, CALL_COST)
)

Call = Callable[[list[bytes], bool], Reply]
"""Runs one ``redis.call``: its arguments, and whether the script is read-only."""


class CompileError(Exception):
    """A script Lua cannot compile; the message is Lua's."""


class Registered(NamedTuple):
    """A function a library registers (``redis.register_function``)."""

    name: bytes
    flags: tuple[bytes, ...]  # known flags, in Redis's order
    description: bytes | None


class Runner(NamedTuple):
    """What one run runs (``LuaEngine.script``, ``library_function``): the
    name its errors give, and the prelude's call with the compiled code
    given - it takes the keys, the arguments and the budget."""

    label: str
    call: Callable[..., Any]


class LuaEngine:
    """The Lua state, the prelude's ``compile`` and ``run``, and the compiled
    scripts. Every Python callable Lua is given is ``guarded``: an exception
    other than the errors meant for the script becomes the script's error."""

    def __init__(self) -> None:
        self.runtime = lua51.LuaRuntime(
            encoding=None,
            unpack_returned_tuples=True,
            register_eval=False,
            register_builtins=False,
            attribute_filter=_no_attributes,
            max_memory=MEMORY_LIMIT,
        )
        major, minor, patch = (int(part) for part in REDIS_VERSION.split("."))
        table_from = self.runtime.table_from
        helpers = {
            b"sha1hex": guarded(_sha1hex),
            b"log": guarded(_log_from_script),
            b"setresp": guarded(self._setresp),
        }
        load_prelude = self.runtime.eval(
            "function(text) return assert(loadstring(text, '=ranet')) end"
        )
        (
            self._compile,
            self._run,
            self._load_library,
            self._call_function,
            self._state,
            self._keyed,
        ) = load_prelude(PRELUDE.encode())(
            guarded(partial(self._call, raise_error=True)),
            guarded(partial(self._call, raise_error=False)),
            table_from(helpers),
            self._random,
            self._libraries(),
            table_from(
                {
                    name.encode(): guarded(partial(function, self._spend_matching))
                    for name, function in (
                        ("find", lua_patterns.find),
                        ("match", lua_patterns.match),
                        ("gmatch", lua_patterns.gmatch),
                        ("gsub", lua_patterns.gsub),
                    )
                }
            ),
            STEP,
            COROUTINE_COST,
            SORT_COST,
            lua_patterns.C_STEPS,
            REDIS_VERSION.encode(),
            major << 16 | minor << 8 | patch,
        )
        self._heap_kib = self.runtime.eval('function() return collectgarbage("count") end')
        self._collect = self.runtime.eval('function() collectgarbage("collect") end')
        self._compiled: OrderedDict[str, Any] = OrderedDict()
        self._caller: Call | None = None
        self._read_only = False
        self._items = 0  # items of the reply being converted (the budget counts them)
        self._source = random.Random()

    def compile(self, key: str, body: bytes, chunk: str = "user_script") -> Any:
        """The compiled script (``chunk``: ``user_function`` for a library
        of functions), from the cache by ``key`` or compiled now; raises
        ``CompileError``."""
        function = self._compiled.get(key)
        if function is not None:
            self._compiled.move_to_end(key)
            return function
        function, message = self._compile(body, chunk.encode())
        if function is None:
            raise CompileError(text_of(message))
        self._compiled[key] = function
        if len(self._compiled) > COMPILED_KEPT:
            self._compiled.popitem(last=False)
        return function

    def script(self, function: Any, sha: str) -> Runner:
        """What ``run`` runs for a compiled script."""
        return Runner(sha, partial(self._run, function, sha.encode()))

    def library_function(self, library: Any, name: bytes) -> Runner:
        """What ``run`` runs for FCALL: a compiled library, run again, then
        its function ``name``."""
        return Runner(text_of(name), partial(self._call_function, library, name))

    def run(
        self,
        runner: Runner,
        keys: list[bytes],
        args: list[bytes],
        caller: Call,
        *,
        read_only: bool,
        source: random.Random,
    ) -> Reply:
        """Run a script or a function with ``keys`` and ``args``; ``caller``
        runs its ``redis.call``s, ``math.random`` draws from ``source``;
        errors name ``runner.label``. Never raises."""
        self._caller, self._read_only, self._source = caller, read_only, source
        table_from = self.runtime.table_from
        try:
            ok, result = runner.call(table_from(keys), table_from(args), BUDGET, _BUDGET_SPENT)
            if not ok:
                if result == b"not enough memory":
                    return _out_of_memory(runner.label)
                return ErrorReply(text_of(result))
            return _from_lua(result, self._state[b"resp"] == 3, 0)
        except lua51.LuaMemoryError:
            return _out_of_memory(runner.label)
        finally:
            self._caller = None
            self._collect_if_large()

    def load_library(self, library: Any) -> list[Registered] | str:
        """Run a compiled library's code: the functions it registers, in
        order, or the error's text. Never raises."""
        self._caller = _no_calls
        try:
            ok, result = self._load_library(library, BUDGET, _BUDGET_SPENT)
        except lua51.LuaMemoryError:
            return _OUT_OF_MEMORY
        finally:
            self._caller = None
            self._collect_if_large()
        if not ok:
            return _OUT_OF_MEMORY if result == b"not enough memory" else text_of(result)
        return [
            Registered(
                entry[b"name"],
                tuple(entry[b"flags"].values()),
                entry[b"description"],
            )
            for entry in result.values()
        ]

    def _collect_if_large(self) -> None:
        if self._heap_kib() > MEMORY_LIMIT >> 12:  # past a quarter of the limit
            self._collect()

    def _call(self, *args: Any, raise_error: bool) -> Any:
        """``redis.call`` (``raise_error``) and ``redis.pcall``, from Lua: the
        reply as Lua sees it; an error raised (``ScriptCallError``, which Lua
        sees as an error value whose text is the message) or, for
        ``redis.pcall``, answered as ``{err=...}``."""
        self._spend(CALL_COST + ARGUMENT_COST * len(args))
        reply = self._reply_to(args)
        if raise_error and reply.__class__ is ErrorReply:
            raise ScriptCallError(reply.message)  # type: ignore[union-attr]
        self._items = 0
        value = self._to_lua(reply, self._state[b"resp"] == 3)
        self._spend(ITEM_COST * self._items)
        return value

    def _spend_matching(self, steps: int) -> None:
        """Steps of the metered pattern matcher (lua_patterns.py)."""
        self._spend(MATCH_STEP_COST * steps)

    def _libraries(self) -> Any:
        """cjson, cmsgpack and bit (lua_libraries.py) and struct (lua_struct.py)."""
        tables = libraries(self.runtime, self.runtime.eval("newproxy(false)"), self._spend_library)
        tables[b"struct"] = lua_struct.library(self.runtime, self._spend_library)
        return tables

    def _spend_library(self, size: int) -> None:
        """A cjson, cmsgpack, bit or struct call that read or wrote ``size`` bytes."""
        self._spend(CALL_COST + BYTE_COST * size)

    def _spend(self, units: int) -> None:
        """Count ``units`` against the run's budget; past it, end the run."""
        state = self._state
        used = state[b"used"] + units
        state[b"used"] = used
        if used > BUDGET:
            state[b"exhausted"] = True
            raise ScriptCallError(_BUDGET_SPENT.decode())

    def _reply_to(self, args: tuple[Any, ...]) -> Reply:
        if not args:
            return ErrorReply("ERR Please specify at least one argument for this redis lib call")
        argv: list[bytes] = []
        for arg in args:
            if arg.__class__ is bytes:
                argv.append(arg)
            elif arg.__class__ in (int, float):
                argv.append(number_text(arg).encode())
            else:
                return ErrorReply("ERR Lua redis lib command arguments must be strings or integers")
        assert self._caller is not None
        try:
            return self._caller(argv, self._read_only)
        except Exception as error:  # a bug in a handler: the script fails, the node does not
            _log.exception("a command called from a script raised")
            return ErrorReply(f"ERR internal error: {error!r}")

    def _to_lua(self, reply: Reply, resp3: bool) -> Any:
        """``reply`` as the script sees it, its items counted in ``_items``."""
        cls = reply.__class__
        if cls is bytes or cls is int:
            return reply
        if isinstance(reply, list | dict):
            self._items += len(reply)
        if reply is None or reply is NULL_ARRAY:
            return None if resp3 else False
        table_from = self.runtime.table_from
        if cls is Status:
            return table_from({b"ok": reply.text.encode()})  # type: ignore[union-attr]
        if cls is ErrorReply:
            return table_from({b"err": reply.message.encode()})  # type: ignore[union-attr]
        if cls is float or cls is Double:
            number = float(reply.text) if cls is Double else reply  # type: ignore[union-attr]
            if resp3:
                return table_from({b"double": number})
            return reply.text if cls is Double else format_score(number)  # type: ignore
        if cls is dict or cls is Keyed or (cls is Scored and not resp3):
            pairs = reply.items() if cls is dict else reply  # type: ignore[union-attr]
            flat = [self._to_lua(part, resp3) for pair in pairs for part in pair]
            if resp3:  # a map
                return self._keyed(b"map", table_from(flat), len(flat))
            if cls is Keyed:  # RESP2: an array of [key, reply] pairs
                return table_from([table_from(flat[i : i + 2]) for i in range(0, len(flat), 2)])
            return table_from(flat)  # RESP2: key, value, key, value ...
        if cls is Members and resp3:
            flat = [part for member in reply for part in (member, True)]  # type: ignore
            return self._keyed(b"set", table_from(flat), len(flat))
        return table_from([self._to_lua(item, resp3) for item in reply])  # type: ignore[union-attr]

    def _random(self) -> float:
        return self._source.random()

    def _setresp(self, *args: Any) -> None:
        """redis.setresp(2 | 3): the protocol of the replies ``redis.call`` answers."""
        if len(args) != 1:
            raise ScriptCallError("ERR redis.setresp() requires one argument.")
        if args[0] not in (2, 3) or args[0] is True:
            raise ScriptCallError("ERR RESP version must be 2 or 3.")
        self._state[b"resp"] = int(args[0])


def _from_lua(value: Any, booleans: bool, depth: int) -> Reply:
    """A script's result as a reply (see the module's docstring); ``booleans``:
    after ``redis.setresp(3)``, when a Lua boolean is a RESP3 boolean."""
    if value is None:
        return None
    if value is True or value is False:
        return value if booleans else (1 if value else None)
    cls = value.__class__
    if cls is bytes or cls is int:
        return value  # type: ignore[no-any-return]
    if cls is float:
        return int(value) if INT64_MIN <= value <= INT64_MAX else INT64_MIN
    if lua51.lua_type(value) != "table":
        return None  # a function, a coroutine, a userdata: nil, as Redis answers
    if depth >= MAX_DEPTH:
        return ErrorReply("ERR reached lua stack limit")
    error, status = value[b"err"], value[b"ok"]
    if error.__class__ is bytes:
        return ErrorReply(text_of(error))  # line breaks: spaces when encoded (resp.py)
    if status.__class__ is bytes:
        return Status(text_of(status))
    double, mapping, members = value[b"double"], value[b"map"], value[b"set"]
    if double.__class__ in (int, float):
        return float(double)
    if lua51.lua_type(mapping) == "table":
        return {
            _from_lua(k, booleans, depth + 1): _from_lua(v, booleans, depth + 1)
            for k, v in mapping.items()
        }
    if lua51.lua_type(members) == "table":
        return Members(_from_lua(member, booleans, depth + 1) for member in members)
    items: list[Reply] = []
    index = 1
    while (item := value[index]) is not None:
        items.append(_from_lua(item, booleans, depth + 1))
        index += 1
    return items


_OUT_OF_MEMORY = f"ERR script ran out of memory (Lua's limit: {MEMORY_LIMIT >> 20} MiB)"


def _out_of_memory(label: str) -> ErrorReply:
    return ErrorReply(f"{_OUT_OF_MEMORY} script: {label}")


def _no_calls(argv: list[bytes], read_only: bool) -> Reply:
    """A library's code, as it loads, has no redis.call: never called."""
    raise AssertionError("redis.call while a library loads")


def _no_attributes(obj: object, name: object, setting: bool) -> object:
    raise AttributeError("scripts cannot reach Python objects")


def _sha1hex(*args: Any) -> bytes:
    if len(args) != 1 or args[0].__class__ not in (bytes, int, float):
        raise ScriptCallError("ERR wrong number of arguments")
    text = args[0] if args[0].__class__ is bytes else number_text(args[0]).encode()
    return script_sha(text).encode()


def _log_from_script(*args: Any) -> None:
    """redis.log(level, message...): into this node's log, each replica's."""
    if len(args) < 2:
        raise ScriptCallError("ERR redis.log() requires two arguments or more.")
    level = args[0]
    if level.__class__ not in (int, float) or level is True or level is False:
        raise ScriptCallError("ERR First argument must be a number (log level).")
    if level not in (0, 1, 2, 3):
        raise ScriptCallError("ERR Invalid debug level.")
    parts = [
        text_of(part) if part.__class__ is bytes else number_text(part)
        for part in args[1:]
        if part.__class__ in (bytes, int, float)
    ]
    _log.log(_LOG_LEVELS[int(level)], "script: %s", " ".join(parts))


_engine: LuaEngine | None = None


def engine() -> LuaEngine:
    """This process's Lua state, made on first use."""
    global _engine
    if _engine is None:
        _engine = LuaEngine()
    return _engine
