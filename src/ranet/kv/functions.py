"""FUNCTION and FCALL: libraries of Lua functions, replicated (Redis 7.0).

A library is Lua code that starts with ``#!lua name=LIBRARY`` and
registers functions (``redis.register_function``); FCALL calls one by
name with its keys and arguments, FCALL_RO one flagged ``no-writes``. The
libraries are replicated state (``function_libraries.py``): FUNCTION LOAD,
DELETE, FLUSH and RESTORE are writes, applied alike on every replica.

Where ranet departs from Redis, for the replicas' sake: a library's code
runs again before each call (in Redis once, at load), so what its locals
hold starts afresh at every call. Redis keeps it in the process, where an
FCALL_RO on one node, a restart or a snapshot would leave the replicas
holding different values; here a function is a function of the keys and
its arguments only. The code a library runs at load is cheap (it mostly
registers), and counted in the call's budget. Everything else - the
sandbox, the budget, determinism, exactly-once - is a script's
(``scripting.py``, ``lua_prelude.py``).
"""

from __future__ import annotations

import re
from typing import Any

from ranet.errors import RespProtocolError
from ranet.kv import rdb
from ranet.kv.arguments import (
    parse_int,
    subcommand_error,
    subcommand_syntax_error,
    text_of,
)
from ranet.kv.function_libraries import Function, FunctionLibraries, Library
from ranet.kv.glob import compile_pattern, match_tokens
from ranet.kv.keyspace import Keyspace, script_sha
from ranet.kv.lua_engine import CompileError, engine
from ranet.kv.reply import OK, ErrorReply, Members, Reply
from ranet.kv.scripting import WRITE_FLAG_WITH_RO, Resolve, run_script
from ranet.kv.split_args import split_inline

_ARITIES = {
    b"LOAD": -3,
    b"DELETE": 3,
    b"FLUSH": -2,
    b"LIST": -2,
    b"STATS": 2,
    b"DUMP": 2,
    b"RESTORE": -3,
    b"KILL": 2,
    b"HELP": 2,
}
_FUNCTION_RECORD = 245  # RDB_OPCODE_FUNCTION2: a library's code
_PRE_GA_RECORD = 246
_NAME = re.compile(rb"[A-Za-z0-9_]+")
_BAD_NAME = (
    "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
    "least one character long"
)
_HELP = [
    b"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"LOAD [REPLACE] <FUNCTION CODE>",
    b"    Create a new library with the given library name and code.",
    b"DELETE <LIBRARY NAME>",
    b"    Delete the given library.",
    b"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    b"    Return general information on all the libraries, or those whose name matches.",
    b"STATS",
    b"    Return the function running (never any in ranet) and the libraries' counts.",
    b"KILL",
    b"    Kill the function running (never running in ranet: NOTBUSY).",
    b"FLUSH [ASYNC|SYNC]",
    b"    Delete all the libraries.",
    b"DUMP",
    b"    Return a serialized payload of the libraries, for FUNCTION RESTORE.",
    b"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    b"    Restore the libraries of a payload: FLUSH deletes the existing ones first,",
    b"    APPEND (the default) refuses a name already loaded, REPLACE replaces it.",
    b"HELP",
    b"    Print this help.",
]


def fcall(keyspace: Keyspace, argv: list[bytes], *, resolve: Resolve, read_only: bool) -> Reply:
    """FCALL function numkeys [key ...] [arg ...], and FCALL_RO (``read_only``:
    a read, served on one node, of a function flagged no-writes)."""
    found = keyspace.libraries.find(argv[1])
    if found is None:
        return ErrorReply("ERR Function not found")
    numkeys = parse_int(argv[2])
    if numkeys is None:
        return ErrorReply("ERR Bad number of keys provided")
    if numkeys > len(argv) - 3:
        return ErrorReply("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        return ErrorReply("ERR Number of keys can't be negative")
    library, function = found
    if read_only and not function.read_only:
        return WRITE_FLAG_WITH_RO
    compiled = _compiled(library.code)
    assert not isinstance(compiled, ErrorReply)  # it compiled when it was loaded
    return run_script(
        keyspace,
        resolve,
        engine().library_function(compiled, function.name),
        argv[3 : 3 + numkeys],
        argv[3 + numkeys :],
        read_only_command=read_only,
        declared_read_only=function.read_only,
    )


def function(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """FUNCTION LOAD | DELETE | FLUSH | LIST | STATS | DUMP | RESTORE | KILL | HELP."""
    error = subcommand_error(argv, _ARITIES)
    if error is not None:
        return error
    subcommand = argv[1].upper()
    libraries = keyspace.libraries
    if subcommand == b"LOAD":
        return _load(libraries, argv)
    if subcommand == b"DELETE":
        return OK if libraries.delete(argv[2]) else ErrorReply("ERR Library not found")
    if subcommand == b"FLUSH":
        if len(argv) > 3:
            return subcommand_syntax_error(argv)
        if len(argv) == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC"):
            return ErrorReply("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
        libraries.flush()
        return OK
    if subcommand == b"LIST":
        return _list(libraries, argv)
    if subcommand == b"STATS":
        counts = {
            b"libraries_count": len(libraries.libraries),
            b"functions_count": libraries.function_count(),
        }
        return {b"running_script": None, b"engines": {b"LUA": counts}}
    if subcommand == b"DUMP":
        return dump(libraries)
    if subcommand == b"RESTORE":
        return _restore(libraries, argv)
    if subcommand == b"KILL":
        return ErrorReply("NOTBUSY No scripts in execution right now.")
    return list(_HELP)


def library_from_code(code: bytes) -> Library | ErrorReply:
    """The library ``code`` makes - its metadata read, compiled, run to
    register its functions - or Redis's error."""
    name = _library_name(code)
    if isinstance(name, ErrorReply):
        return name
    compiled = _compiled(code)
    if isinstance(compiled, ErrorReply):
        return compiled
    registered = engine().load_library(compiled)
    if isinstance(registered, str):
        return ErrorReply(f"ERR Error registering functions: {registered}")
    if not registered:
        return ErrorReply("ERR No functions registered")
    return Library(name, code, tuple(Function(*entry) for entry in registered))


def dump(libraries: FunctionLibraries) -> bytes:
    """FUNCTION DUMP's payload: each library's code as Redis records it."""
    return rdb.with_footer(
        b"".join(
            bytes((_FUNCTION_RECORD,)) + rdb.encode_string(library.code)
            for library in libraries.libraries.values()
        )
    )


def _load(libraries: FunctionLibraries, argv: list[bytes]) -> Reply:
    for option in argv[2:-1]:
        if option.upper() != b"REPLACE":
            return ErrorReply(f"ERR Unknown option given: {text_of(option)}")
    replace = len(argv) > 3
    code = argv[-1]
    name = _library_name(code)
    if isinstance(name, ErrorReply):
        return name
    if name in libraries.libraries and not replace:
        return ErrorReply(f"ERR Library '{text_of(name)}' already exists")
    library = library_from_code(code)
    if isinstance(library, ErrorReply):
        return library
    error = libraries.join([library], replace=replace, quoted=True)
    return library.name if error is None else ErrorReply(f"ERR {error}")


def _restore(libraries: FunctionLibraries, argv: list[bytes]) -> Reply:
    if len(argv) > 4:
        return subcommand_syntax_error(argv)
    policy = argv[3].upper() if len(argv) == 4 else b"APPEND"
    if policy not in (b"APPEND", b"REPLACE", b"FLUSH"):
        return ErrorReply(
            "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
        )
    try:
        reader = rdb.payload_reader(argv[2])
    except rdb.PayloadError as error:
        return ErrorReply(f"ERR {error}")
    restored = FunctionLibraries()
    while not reader.at_end():
        try:
            kind = reader.byte()
            if kind == _PRE_GA_RECORD:
                return ErrorReply("ERR Pre-GA function format not supported")
            if kind != _FUNCTION_RECORD:
                return ErrorReply("ERR given type is not a function")
            code = reader.string()
        except rdb.PayloadError:
            return ErrorReply("ERR failed loading the given functions payload")
        library = library_from_code(code)
        if isinstance(library, ErrorReply):
            return library
        error = restored.join([library], replace=False, quoted=True)
        if error is not None:
            return ErrorReply(f"ERR {error}")
    if policy == b"FLUSH":
        libraries.flush()
    error = libraries.join(
        list(restored.libraries.values()), replace=policy == b"REPLACE", quoted=False
    )
    return OK if error is None else ErrorReply(f"ERR {error}")


def _list(libraries: FunctionLibraries, argv: list[bytes]) -> Reply:
    with_code = False
    pattern: bytes | None = None
    i = 2
    while i < len(argv):
        option = argv[i].upper()
        if option == b"WITHCODE" and not with_code:
            with_code = True
        elif option == b"LIBRARYNAME" and pattern is None:
            if i == len(argv) - 1:
                return ErrorReply("ERR library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            return ErrorReply(f"ERR Unknown argument {text_of(argv[i])}")
        i += 1
    tokens = None if pattern is None else compile_pattern(pattern.lower())  # any case
    reply: list[Reply] = []
    for library in libraries.libraries.values():
        if tokens is not None and not match_tokens(tokens, library.name.lower()):
            continue
        fields: dict[Any, Reply] = {
            b"library_name": library.name,
            b"engine": b"LUA",
            b"functions": [
                {
                    b"name": f.name,
                    b"description": f.description,
                    b"flags": Members(f.flags),
                }
                for f in library.functions
            ],
        }
        if with_code:
            fields[b"library_code"] = library.code
        reply.append(fields)
    return reply


def _library_name(code: bytes) -> bytes | ErrorReply:
    """The library's name, from its ``#!`` line, or Redis's error."""
    if not code.startswith(b"#!"):
        return ErrorReply("ERR Missing library metadata")
    line, newline, _ = code.partition(b"\n")
    try:
        parts = split_inline(line) if newline else None  # Redis's sdssplitargs
    except RespProtocolError:  # unbalanced quotes
        parts = None
    if not parts:
        return ErrorReply("ERR Invalid library metadata")
    name: bytes | None = None
    for part in parts[1:]:
        if part[:5].lower() != b"name=":
            return ErrorReply(f"ERR Invalid metadata value given: {text_of(part)}")
        if name is not None:
            return ErrorReply("ERR Invalid metadata value, name argument was given multiple times")
        name = part[5:]
    if name is None:
        return ErrorReply("ERR Library name was not given")
    engine_name = parts[0][2:]
    if engine_name.upper() != b"LUA":
        return ErrorReply(f"ERR Engine '{text_of(engine_name)}' not found")
    if not _NAME.fullmatch(name):
        return ErrorReply(_BAD_NAME)
    return name


def _compiled(code: bytes) -> Any:
    """A library's code, compiled (its ``#!`` line emptied, so lines keep
    their numbers), or Redis's error."""
    body = b"\n" + code.partition(b"\n")[2]
    try:
        return engine().compile("library:" + script_sha(code), body, "user_function")
    except CompileError as error:
        return ErrorReply(f"ERR Error compiling function: {error}")
