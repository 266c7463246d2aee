"""FUNCTION, FCALL and FCALL_RO against redis-server and against ranet's
server: the same replies, errors included, in RESP2 and RESP3.

FUNCTION LIST is compared where it lists one library of one function
(Redis lists libraries and functions in its hash tables' order); where it
lists more, the order is left out (``test_functions.py``). Left out as a
documented departure: what a library's locals hold between calls (ranet
runs a library's code again before each call).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from ranet.kv import rdb

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    assert_answered_alike,
    pytestmark,
    redis_server,
    served,
)


def library(name: str, *lines: str) -> str:
    return "\n".join((f"#!lua name={name}", *lines))


def register(function: str, body: str) -> str:
    return f"redis.register_function('{function}', function(keys, args) {body} end)"


ECHO = library("echo", register("echo", "return {keys[1], args[1], #keys, #args}"))
COUNTER = library(
    "counter",
    "local function bump(key, by) return redis.call('incrby', key, by) end",
    "redis.register_function{function_name='bump', callback=function(keys, args)",
    "  return bump(keys[1], args[1] or 1) end}",
    "redis.register_function{function_name='peek', callback=function(keys, args)",
    "  return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads it'}",
)
ERRORS = library(
    "errors",
    register("unknown", "return redis.call('nosuch')"),
    register("index", "local t = nil return t.x"),
    register("global", "return KEYS"),
    register("assign", "x = 1"),
    register("raise", "return redis.error_reply('MINE custom')"),
    register("pcalled", "local ok, e = pcall(redis.call, 'nosuch') return e"),
    register("register", "return redis.register_function('again', function() end)"),
    register("wrongtype", "redis.call('set', 's', 'v') return redis.call('lpush', 's', 'x')"),
    register("typed", "return {type(keys), type(args), type(_G), type(redis.call)}"),
    register("libraries", "return {string.rep('a', 3), cjson.encode({1}), bit.band(6, 3)}"),
    register("resp3", "redis.setresp(3) return redis.call('hgetall', 'nohash')"),
)

COMMANDS: list[list[str]] = [
    ["FUNCTION", "FLUSH"],
    ["FUNCTION", "LIST"],
    ["FUNCTION", "STATS"],
    ["FUNCTION", "LOAD", ECHO],
    ["FCALL", "echo", "1", "key", "arg"],
    ["FCALL", "ECHO", "0"],
    ["FCALL", "echo", "2", "a", "b", "c", "d"],
    ["FCALL_RO", "echo", "0"],
    ["FCALL", "echo", "-1"],
    ["FCALL", "echo", "3", "a"],
    ["FCALL", "echo", "x"],
    ["FCALL", "nosuch", "0"],
    ["FCALL", "nosuch", "x"],
    ["FCALL", "echo"],
    ["FCALL_RO"],
    ["FUNCTION", "LIST"],
    ["FUNCTION", "LIST", "WITHCODE"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "ec*"],
    ["FUNCTION", "LIST", "libraryname", "EC*"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "nomatch"],
    ["FUNCTION", "LIST", "LIBRARYNAME"],
    ["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
    ["FUNCTION", "LIST", "foo"],
    ["FUNCTION", "STATS"],
    ["FUNCTION", "LOAD", ECHO],
    ["FUNCTION", "LOAD", "REPLACE", ECHO],
    ["FUNCTION", "LOAD", "replace", ECHO.replace("echo", "echo2")],
    ["FUNCTION", "LOAD", "FORCE", ECHO],
    ["FUNCTION", "LOAD", "REPLACE", "x", ECHO],
    ["FUNCTION", "LOAD"],
    ["FUNCTION", "DELETE", "echo2"],
    ["FUNCTION", "DELETE", "echo2"],
    ["FUNCTION", "DELETE"],
    ["FUNCTION", "LOAD", COUNTER],
    ["FCALL", "bump", "1", "n"],
    ["FCALL", "bump", "1", "n", "41"],
    ["FCALL_RO", "peek", "1", "n"],
    ["FCALL", "peek", "1", "n"],
    ["FCALL_RO", "bump", "1", "n"],
    ["FUNCTION", "STATS"],
    ["FUNCTION", "LOAD", ERRORS],
    *(
        ["FCALL", name, "0"]
        for name in (
            "unknown",
            "index",
            "global",
            "assign",
            "raise",
            "pcalled",
            "register",
            "wrongtype",
            "typed",
            "libraries",
            "resp3",
        )
    ),
    ["FUNCTION", "DELETE", "errors"],
    ["FUNCTION", "DELETE", "counter"],
    # the library's metadata
    ["FUNCTION", "LOAD", "return 1"],
    ["FUNCTION", "LOAD", "#!lua name=x"],
    ["FUNCTION", "LOAD", "#!lua\n" + register("f", "return 1")],
    ["FUNCTION", "LOAD", "#!lua foo=bar\n" + register("f", "return 1")],
    ["FUNCTION", "LOAD", "#!lua name=a name=b\n" + register("f", "return 1")],
    ["FUNCTION", "LOAD", "#!lua NAME=upper\n" + register("fu", "return 1")],
    ["FUNCTION", "LOAD", "#!LUA name=engine_case\n" + register("fe", "return 1")],
    ["FUNCTION", "LOAD", "#!luajit name=x\n" + register("f", "return 1")],
    ["FUNCTION", "LOAD", "#!lua name=a-b\n" + register("f", "return 1")],
    ["FUNCTION", "LOAD", "#!lua name=\n" + register("f", "return 1")],
    ["FUNCTION", "LOAD", '#!lua name="quoted"\n' + register("fq", "return 1")],
    ["FUNCTION", "LOAD", '#!lua name="unbalanced\n' + register("f", "return 1")],
    ["FUNCTION", "LOAD", '#!lua name="a"b\n' + register("f", "return 1")],
    ["FUNCTION", "LOAD", "#!lua name='single'\n" + register("fs", "return 1")],
    ["FUNCTION", "LOAD", "#!lua   name=spaced   \n" + register("fsp", "return 1")],
    ["FUNCTION", "LOAD", '#!lua name="\\x41bc"\n' + register("fx", "return 1")],
    ["FCALL", "fu", "0"],
    ["FCALL", "fq", "0"],
    ["FCALL", "fx", "0"],
    ["FUNCTION", "DELETE", "Abc"],
    # what a library's code may do as it loads
    ["FUNCTION", "LOAD", library("empty")],
    ["FUNCTION", "LOAD", library("syntax", "local x = (")],
    ["FUNCTION", "LOAD", library("loadcall", "redis.call('ping')")],
    ["FUNCTION", "LOAD", library("loadstring", "local s = string.rep('a', 2)")],
    ["FUNCTION", "LOAD", library("loadkeys", "local k = KEYS")],
    ["FUNCTION", "LOAD", library("loadglobal", "x = 1")],
    ["FUNCTION", "LOAD", library("loadg", "local g = _G")],
    ["FUNCTION", "LOAD", library("loaderror", "error('boom')")],
    ["FUNCTION", "LOAD", library("loadindex", "local t = nil; t.x = 1")],
    ["FUNCTION", "LOAD", library("loadsetresp", "redis.setresp(3)")],
    ["FUNCTION", "LOAD", library("loadredis", "redis.LOG_WARNING = 1")],
    ["FUNCTION", "LOAD", library("loadreturn", "return 5")],
    [
        "FUNCTION",
        "LOAD",
        library(
            "loadlog",
            "redis.log(redis.LOG_DEBUG, 'loading', redis.REDIS_VERSION_NUM > 0)",
            register("logged", "return 1"),
        ),
    ],
    ["FCALL", "logged", "0"],
    # redis.register_function's arguments
    *(
        ["FUNCTION", "LOAD", library("reg", line)]
        for line in (
            "redis.register_function()",
            "redis.register_function('f')",
            "redis.register_function('f', function() end, 3)",
            "redis.register_function(5, function() end)",
            "redis.register_function(nil, function() end)",
            "redis.register_function('f', 5)",
            "redis.register_function('a-b', function() end)",
            "redis.register_function('', function() end)",
            register("same", "return 1") + " " + register("same", "return 2"),
            "redis.register_function{callback=function() end}",
            "redis.register_function{function_name='f'}",
            "redis.register_function{function_name='f', callback=5}",
            "redis.register_function{function_name={}, callback=function() end}",
            "redis.register_function{function_name='f', callback=function() end, foo=1}",
            "redis.register_function{function_name='f', callback=function() end, [1]=2}",
            "redis.register_function{function_name='f', callback=function() end, flags='x'}",
            "redis.register_function{function_name='f', callback=function() end, flags={'x'}}",
            "redis.register_function{function_name='f', callback=function() end, flags={1}}",
            "redis.register_function{function_name='f', callback=function() end, description={}}",
        )
    ),
    [
        "FUNCTION",
        "LOAD",
        library(
            "named",
            "redis.register_function{FUNCTION_NAME=7, Callback=function(keys, args)",
            "  return redis.call('set', keys[1], 'v') end,",
            "  FLAGS={'NO-WRITES', 'allow-stale'}, description=5}",
        ),
    ],
    ["FUNCTION", "LIST", "LIBRARYNAME", "named"],
    ["FCALL", "7", "1", "k"],
    ["FCALL_RO", "7", "1", "k"],
    ["FUNCTION", "DELETE", "named"],
    # names are unique across libraries, whatever their case
    ["FUNCTION", "LOAD", library("first", register("shared", "return 1"))],
    ["FUNCTION", "LOAD", library("second", register("SHARED", "return 2"))],
    ["FUNCTION", "LOAD", library("First", register("other", "return 3"))],
    ["FCALL", "Other", "0"],
    ["FUNCTION", "LOAD", "REPLACE", library("first", register("shared2", "return 4"))],
    ["FCALL", "shared", "0"],
    ["FCALL", "shared2", "0"],
    ["FUNCTION", "LOAD", library("second", register("SHARED", "return 2"))],
    ["FCALL", "shared", "0"],
    ["FUNCTION", "LOAD", "REPLACE", library("second", register("other", "return 5"))],
    ["FUNCTION", "STATS"],
    # FLUSH, KILL, RESTORE's arguments, unknown subcommands
    ["FUNCTION", "FLUSH", "ASYNC"],
    ["FUNCTION", "FLUSH", "SYNC"],
    ["FUNCTION", "FLUSH", "LATER"],
    ["FUNCTION", "FLUSH", "SYNC", "SYNC"],
    ["FUNCTION", "STATS"],
    ["FUNCTION", "STATS", "x"],
    ["FUNCTION", "KILL"],
    ["FUNCTION", "DUMP", "x"],
    ["FUNCTION", "RESTORE"],
    ["FUNCTION", "RESTORE", "garbage"],
    ["FUNCTION", "RESTORE", "garbage", "MERGE"],
    ["FUNCTION", "RESTORE", "garbage", "FLUSH", "x"],
    ["FUNCTION", "NOSUCH"],
    ["FUNCTION"],
    ["FUNCTION", "HELP", "x"],
    ["FUNCTION", "LIST"],
    # a library's function calling scripts' commands, and the reverse
    [
        "FUNCTION",
        "LOAD",
        library("nested", register("evals", "return redis.call('eval', 'return 1', 0)")),
    ],
    ["FCALL", "evals", "0"],
    ["EVAL", "return redis.call('fcall', 'evals', 0)", "0"],
    ["EVAL", "return redis.call('function', 'list')", "0"],
    ["FUNCTION", "FLUSH"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_ranet_answers_functions_as_redis_does(redis_server: Path, protocol: int) -> None:  # noqa: F811
    assert_answered_alike(
        redis_server, protocol, [[word.encode() for word in command] for command in COMMANDS]
    )


MOVED = library(
    "moved",
    *(register(f"moved{i}", f"return {i}") for i in range(3)),  # long: Redis compresses it
)


def payload(*records: bytes, version: int = rdb.RDB_VERSION) -> bytes:
    """A FUNCTION DUMP payload of ``records``, as Redis writes one."""
    body = b"".join(records) + version.to_bytes(2, "little")
    return body + rdb.crc64(body).to_bytes(8, "little")


def code_record(code: str, kind: int = 245) -> bytes:
    return bytes((kind,)) + rdb.encode_string(code.encode())


@pytest.mark.parametrize("protocol", [2, 3])
def test_ranet_restores_payloads_as_redis_does(redis_server: Path, protocol: int) -> None:  # noqa: F811
    """FUNCTION RESTORE's policies and its errors, on payloads both read."""
    echo = payload(code_record(ECHO))
    clash = payload(code_record(library("clash", register("echo", "return 0"))))
    both = payload(code_record(ECHO), code_record(MOVED))
    twice = payload(code_record(ECHO), code_record(ECHO))
    corrupt = echo[:-1] + bytes((echo[-1] ^ 1,))
    commands = [
        [b"FUNCTION", b"FLUSH"],
        [b"FUNCTION", b"RESTORE", payload()],
        [b"FUNCTION", b"RESTORE", echo],
        [b"FCALL", b"echo", b"1", b"k", b"a"],
        [b"FUNCTION", b"RESTORE", echo],
        [b"FUNCTION", b"RESTORE", echo, b"append"],
        [b"FUNCTION", b"RESTORE", echo, b"REPLACE"],
        [b"FUNCTION", b"RESTORE", clash],
        [b"FUNCTION", b"RESTORE", clash, b"REPLACE"],
        [b"FUNCTION", b"RESTORE", clash, b"FLUSH"],
        [b"FCALL", b"echo", b"0"],
        [b"FUNCTION", b"RESTORE", both],
        [b"FUNCTION", b"RESTORE", both, b"FLUSH"],
        [b"FCALL", b"moved2", b"0"],
        [b"FUNCTION", b"STATS"],
        [b"FUNCTION", b"RESTORE", twice, b"FLUSH"],
        [b"FUNCTION", b"RESTORE", corrupt],
        [b"FUNCTION", b"RESTORE", payload(code_record(ECHO), version=11)],
        [b"FUNCTION", b"RESTORE", payload(code_record(ECHO, kind=0))],
        [b"FUNCTION", b"RESTORE", payload(code_record(ECHO)[:-5])],
        [b"FUNCTION", b"RESTORE", payload(code_record("#!lua name=bad\nlocal x = ("))],
        [b"FUNCTION", b"RESTORE", payload(code_record("return 1"))],
        [b"FUNCTION", b"RESTORE", b"short"],
        [b"FUNCTION", b"STATS"],
        [b"FUNCTION", b"FLUSH"],
    ]
    assert_answered_alike(redis_server, protocol, commands)


def test_libraries_move_between_redis_and_ranet(redis_server: Path) -> None:  # noqa: F811
    """A payload Redis dumps (its strings LZF-compressed) restores in ranet,
    and one ranet dumps restores in Redis."""
    reference = redis.Redis(unix_socket_path=str(redis_server))
    reference.function_flush()
    reference.function_load(MOVED)
    reference.function_load(ECHO)
    from_redis = reference.function_dump()
    with served() as server:
        ours = redis.Redis(port=server.port)
        assert ours.function_restore(from_redis)
        assert [ours.fcall(f"moved{i}", 0) for i in range(3)] == [0, 1, 2]
        assert ours.fcall("echo", 1, "k", "a") == [b"k", b"a", 1, 1]
        from_ranet = ours.function_dump()
    reference.function_flush()
    assert reference.function_restore(from_ranet)
    assert reference.fcall("moved1", 0) == 1
    listed = reference.function_list(withcode=True)
    codes = sorted(entry[entry.index(b"library_code") + 1] for entry in listed)
    assert codes == [ECHO.encode(), MOVED.encode()]
