"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: Lua scripts, replicated.

A script that may write (EVAL, EVALSHA) is a write command: it goes through
the log like any other and runs inside ``KVStore.apply`` on every replica,
with nothing between its commands - Redis's atomicity, and exactly-once with
a client session (thesis §6.3), for free. It must therefore do the same
thing everywhere (replicated state machines are deterministic: Raft paper
§2, thesis §2.1): the Lua sandbox takes away what differs between processes
(``lua_prelude.py``), ``math.random`` and the commands that pick at random
(SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) draw from a source seeded by the
log's time, the script and its arguments, and SCAN, whose pages depend on a
node's own index (keyspace.py), is refused there, as is MEMORY, whose
figures depend on how a node's containers grew. Time is the log's.
EVAL_RO and EVALSHA_RO are reads: served on one node after a ReadIndex
barrier (thesis §6.4), with every write command refused.

The scripts EVALSHA can run are replicated state (``ScriptCache``,
keyspace.py), carried in snapshots: SCRIPT LOAD keeps one until SCRIPT
FLUSH; EVAL keeps the latest 500 it ran (Redis 7.4's rule; 7.0 kept all,
a leak for clients that format values into scripts).

Redis's shebang (``#!lua flags=no-writes,...``) is read: ``no-writes``
makes the script read-only wherever it runs; the other flags are accepted
and change nothing here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial

from ranet.kv import acl_check
from ranet.kv.arguments import (
    NOT_AN_INTEGER,
    parse_int,
    subcommand_error,
    subcommand_refusal,
    text_of,
    time_reply,
)
from ranet.kv.command_spec import CONNECTION, READ, CommandSpec
from ranet.kv.keyspace import Keyspace, script_sha
from ranet.kv.lua_engine import CompileError, Runner, engine
from ranet.kv.reply import OK, ErrorReply, Reply, Status

Resolve = Callable[[list[bytes]], CommandSpec | ErrorReply]
"""commands.resolve: the command ``argv`` calls, or Redis's error (unknown, arity)."""

NO_SCRIPT = ErrorReply("NOSCRIPT No matching script. Please use EVAL.")
NOT_FROM_SCRIPT = ErrorReply("ERR This Redis command is not allowed from script")
WRITES_NOT_ALLOWED = ErrorReply("ERR Write commands are not allowed from read-only scripts.")
WRITE_FLAG_WITH_RO = ErrorReply("ERR Can not execute a script with write flag using *_ro command.")
_UNKNOWN = ErrorReply("ERR Unknown Redis command called from script")
_WRONG_ARITY = ErrorReply("ERR Wrong number of args calling Redis command from script")
_SHEBANG_FLAGS = frozenset(
    {b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys"}
)
# commands whose answers differ between replicas, so refused in a script that may write
_DIFFERS_IN_APPLY = {
    "scan": "its pages differ between replicas (use KEYS, or EVAL_RO)",  # keyspace.py, SCAN
    "memory": "its figures differ between replicas (use EVAL_RO)",  # memory_command.py
}
_SCRIPT_ARITIES = {b"LOAD": 3, b"EXISTS": -3, b"FLUSH": -2, b"KILL": 2, b"HELP": 2, b"DEBUG": 3}
_HELP = [
    b"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"EXISTS <sha1> [<sha1> ...]",
    b"    Return information about the existence of the scripts in the script cache.",
    b"FLUSH [ASYNC|SYNC]",
    b"    Flush the Lua scripts cache. Very dangerous on replicas.",
    b"KILL",
    b"    Kill the currently executing Lua script (never running in ranet: NOTBUSY).",
    b"LOAD <script>",
    b"    Load a script into the scripts cache without executing it.",
    b"HELP",
    b"    Print this help.",
]


def _shebang(body: bytes) -> tuple[bytes, bool] | ErrorReply:
    """The source Lua compiles (the shebang's line emptied, so lines keep
    their numbers) and whether the script is read-only (``no-writes``)."""
    if not body.startswith(b"#!"):
        return body, False
    line, newline, rest = body.partition(b"\n")
    words = line.split()
    if words[0] != b"#!lua":
        return ErrorReply(f"ERR Unexpected engine in script shebang: {text_of(words[0])}")
    read_only = False
    for word in words[1:]:
        name, equals, value = word.partition(b"=")
        if name != b"flags" or not equals:
            return ErrorReply(f"ERR Unknown lua shebang option: {text_of(word)}")
        for flag in filter(None, value.split(b",")):
            if flag not in _SHEBANG_FLAGS:
                return ErrorReply(f"ERR Unexpected flag in script shebang: {text_of(flag)}")
            read_only = read_only or flag == b"no-writes"
    return newline + rest, read_only


def declares_writes(body: bytes) -> bool | None:
    """Whether a script declares it writes: None without a shebang (Redis
    7.0's compatibility mode: its command's flags decide), False if its
    flags have ``no-writes``, True for any other shebang. A shebang that is
    not valid declares nothing: such a script never runs."""
    if not body.startswith(b"#!"):
        return None
    source = _shebang(body)
    return None if isinstance(source, ErrorReply) else not source[1]


def _compiled(sha: str, body: bytes) -> tuple[object, bool] | ErrorReply:
    """The compiled script and whether it is read-only, or the error."""
    source = _shebang(body)
    if isinstance(source, ErrorReply):
        return source
    try:
        return engine().compile(sha, source[0]), source[1]
    except CompileError as error:
        return ErrorReply(f"ERR Error compiling script (new function): {error}")


def evaluate(
    keyspace: Keyspace, argv: list[bytes], *, resolve: Resolve, by_sha: bool, read_only: bool
) -> Reply:
    """EVAL script numkeys [key ...] [arg ...], EVALSHA sha1 ..., and their
    _RO forms (``read_only``: a read, served on one node)."""
    numkeys = parse_int(argv[2])
    if numkeys is None:
        return NOT_AN_INTEGER
    if numkeys < 0:
        return ErrorReply("ERR Number of keys can't be negative")
    if numkeys > len(argv) - 3:
        return ErrorReply("ERR Number of keys can't be greater than number of args")
    scripts = keyspace.scripts
    if by_sha:
        sha = text_of(argv[1]).lower()
        body = scripts.get(sha)
        if body is None:
            return NO_SCRIPT
    else:
        body = argv[1]
        sha = script_sha(body)
    compiled = _compiled(sha, body)
    if isinstance(compiled, ErrorReply):
        return compiled
    function, declared_read_only = compiled
    if read_only and declares_writes(body):  # a shebang without no-writes (Redis 7.0)
        return WRITE_FLAG_WITH_RO
    if not read_only:
        scripts.remember(sha, body)
    return run_script(
        keyspace,
        resolve,
        engine().script(function, sha),
        argv[3 : 3 + numkeys],
        argv[3 + numkeys :],
        read_only_command=read_only,
        declared_read_only=declared_read_only,
    )


def run_script(
    keyspace: Keyspace,
    resolve: Resolve,
    runner: Runner,
    keys: list[bytes],
    args: list[bytes],
    *,
    read_only_command: bool,
    declared_read_only: bool,
) -> Reply:
    """Run a script or a function (``runner``) with its keys and arguments:
    as a read on one node for a _RO command, else inside the log's apply,
    deterministic (``declared_read_only``: it may not write all the same)."""
    if read_only_command:  # a read, on one node: no replica has to agree, any source will do
        caller = partial(_call, keyspace, resolve, False)
        return engine().run(runner, keys, args, caller, read_only=True, source=keyspace.random)
    seed = b"\0".join((b"%d" % keyspace.now_ms, runner.label.encode(), *keys, *args))
    source = SeededRandom(seed)
    shared_source, keyspace.random = keyspace.random, source
    try:
        return engine().run(
            runner,
            keys,
            args,
            partial(_call, keyspace, resolve, True),
            read_only=declared_read_only,
            source=source,
        )
    finally:
        keyspace.random = shared_source


class SeededRandom(random.Random):
    """A ``random.Random`` seeded with ``seed`` when first drawn from: most
    scripts draw nothing, and seeding costs a SHA-512 (about 5 us)."""

    def __init__(self, seed: bytes) -> None:  # not Random.__init__, which would seed now
        self._seed: bytes | None = seed
        self.gauss_next = None

    def random(self) -> float:
        self._seeded()
        return super().random()

    def getrandbits(self, k: int) -> int:
        self._seeded()
        return super().getrandbits(k)

    def _seeded(self) -> None:
        if self._seed is not None:
            self.seed(self._seed)
            self._seed = None


def _call(
    keyspace: Keyspace, resolve: Resolve, in_apply: bool, argv: list[bytes], read_only: bool
) -> Reply:
    """One ``redis.call`` of a script, with Redis's refusals; ``in_apply``:
    the script runs inside the log's apply, so must be deterministic."""
    spec = resolve(argv)
    if not isinstance(spec, ErrorReply):
        spec = subcommand_refusal(spec, argv) or spec
    if isinstance(spec, ErrorReply):
        return _UNKNOWN if spec.message.startswith("ERR unknown") else _WRONG_ARITY
    if "noscript" in spec.flags:
        return NOT_FROM_SCRIPT
    user = keyspace.acting_user
    if user is not None:  # a restricted user's script: its rules hold here too (acl.py)
        refused = acl_check.refusal(user, spec, argv, in_script=True)
        if refused is not None:
            return refused
    if spec.kind is CONNECTION:
        return _connection_command(keyspace, spec.name, argv)
    if spec.kind is not READ and read_only:
        return WRITES_NOT_ALLOWED
    if spec.may_block and _asks_to_block(argv):
        return ErrorReply(f"ERR {spec.name} command is not allowed with BLOCK option from scripts")
    if in_apply and spec.name in _DIFFERS_IN_APPLY:
        return ErrorReply(
            f"ERR {spec.name.upper()} is not allowed in a script that may write: "
            + _DIFFERS_IN_APPLY[spec.name]
        )
    assert spec.handler is not None
    return spec.handler(keyspace, argv)


def _asks_to_block(argv: list[bytes]) -> bool:
    """Whether XREAD or XREADGROUP is given BLOCK (before STREAMS)."""
    for arg in argv[1:]:
        upper = arg.upper()
        if upper == b"STREAMS":
            return False
        if upper == b"BLOCK":
            return True
    return False


def _connection_command(keyspace: Keyspace, name: str, argv: list[bytes]) -> Reply:
    """The connection commands a script may call: PING, ECHO, TIME (the
    log's time, so the same on every replica) and SELECT 0."""
    if name == "ping":
        return Status("PONG") if len(argv) == 1 else argv[1] if len(argv) == 2 else _WRONG_ARITY
    if name == "echo":
        return argv[1]
    if name == "time":
        return time_reply(keyspace.now_ms * 1000)
    if name == "select":
        return OK if argv[1] == b"0" else ErrorReply("ERR DB index is out of range")
    return NOT_FROM_SCRIPT


def script(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SCRIPT LOAD | EXISTS | FLUSH | KILL | HELP."""
    error = subcommand_error(argv, _SCRIPT_ARITIES)
    if error is not None:
        return error
    subcommand = argv[1].upper()
    scripts = keyspace.scripts
    if subcommand == b"LOAD":
        body = argv[2]
        sha = script_sha(body)
        compiled = _compiled(sha, body)
        if isinstance(compiled, ErrorReply):
            return compiled
        scripts.load(sha, body)
        return sha.encode()
    if subcommand == b"EXISTS":
        return [int(scripts.get(text_of(sha).lower()) is not None) for sha in argv[2:]]
    if subcommand == b"FLUSH":
        if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC")):
            return ErrorReply("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
        scripts.flush()
        return OK
    if subcommand == b"KILL":
        return ErrorReply("NOTBUSY No scripts in execution right now.")
    if subcommand == b"DEBUG":
        return ErrorReply("ERR SCRIPT DEBUG is not supported by ranet: scripts run in the log")
    return list(_HELP)
