"""CLIENT PAUSE timeout [WRITE | ALL] and CLIENT UNPAUSE: a node holds its
clients' commands for a while.

A pause is per node, as Redis's is per instance: it holds the commands of
this node's clients, not the cluster's - other nodes' clients go on
writing, and this node goes on applying the log. Everything else is as in
Redis 7.0:

Rule 1 - what is held (``holds``). ALL holds every command; WRITE those
Redis 7.0 flags ``write`` or ``may-replicate``: every write and blocking
command, PUBLISH and SPUBLISH, PFCOUNT (it may rewrite its key), EVAL,
EVALSHA and FCALL - by the script's or function's own flags when it
declares some (a ``#!lua`` shebang, a function's flags), so their _RO
forms too, unless ``no-writes`` -, the subcommands of FUNCTION and XGROUP
that change something, and EXEC when it runs one of those.

Rule 2 - where. A command is held where Redis's ``processCommand`` holds
it: after the checks that answer it at once (unknown command, arity, NOAUTH,
ACL, a subscribed RESP2 connection's), before it runs or MULTI queues it.
Its connection takes nothing after it until the pause ends, so a pipeline
keeps its order; replies already due are written. MONITOR connections are
never held (Redis never holds its replicas, and a monitor is one).

Rule 3 - a pause in force is only extended and strengthened by a later
one: the later end, the stronger kind (ALL over WRITE). UNPAUSE ends it at
once. A timeout of 0, or one so long that Redis 7.0's 64-bit end in
milliseconds wraps into the past, pauses nothing (it still strengthens a
pause in force).

Rule 4 - bounded. A held connection reads no more than any connection's
backlog of unanswered commands (the server's read limit), and one that
closes is forgotten.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from ranet.kv.acl_catalog import SUBCOMMANDS
from ranet.kv.acl_check import full_name
from ranet.kv.arguments import INT64_MAX, parse_milliseconds, subcommand_syntax_error
from ranet.kv.command_spec import BLOCKING, WRITE, CommandSpec
from ranet.kv.commands import resolve
from ranet.kv.reply import ErrorReply

PAUSE_WRITE, PAUSE_ALL = 1, 2  # in Redis's order: the larger is the stronger
_KINDS = {b"WRITE": PAUSE_WRITE, b"ALL": PAUSE_ALL}
_SCRIPTS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})
_WRITING_SUBCOMMANDS = frozenset(
    {"function|delete", "function|flush", "function|load", "function|restore"}
    | {"xgroup|create", "xgroup|createconsumer", "xgroup|delconsumer", "xgroup|destroy"}
    | {"xgroup|setid"}
)  # of the containers ranet runs (SCRIPT, FUNCTION, XGROUP, XINFO, ...), what Redis flags write

_ALSO_WRITING = frozenset({"pfcount", "migrate"})  # PFCOUNT may rewrite its key; MIGRATE: a DEL
DeclaresWrites = Callable[[list[bytes]], bool | None]
"""``Backend.script_declares_writes``: what a script or function declares."""


def parse(argv: list[bytes]) -> tuple[int, int] | ErrorReply:
    """CLIENT PAUSE timeout [WRITE | ALL]: the milliseconds and the kind,
    checked in Redis's order - the kind, then the timeout."""
    if len(argv) > 4:
        return subcommand_syntax_error(argv)
    kind = PAUSE_ALL
    if len(argv) == 4:
        named = _KINDS.get(argv[3].upper())
        if named is None:
            return ErrorReply("ERR CLIENT PAUSE mode must be WRITE or ALL")
        kind = named
    milliseconds = parse_milliseconds(argv[2])
    if isinstance(milliseconds, ErrorReply):
        return milliseconds
    return milliseconds, kind


def may_write(
    spec: CommandSpec, argv: list[bytes], declares_writes: DeclaresWrites, queued: list[list[bytes]]
) -> bool:
    """Whether the command is one CLIENT PAUSE WRITE holds (Rule 1);
    ``queued`` is the transaction EXEC would run."""
    name = spec.name
    if name == "exec":
        return any(_may_write(command, declares_writes) for command in queued)
    if name == "ranet.exec":
        return _may_write(argv[3:], declares_writes)
    if name in _SCRIPTS:
        declared = declares_writes(argv)
        return spec.kind is WRITE if declared is None else declared
    if name in SUBCOMMANDS:
        return full_name(spec, argv) in _WRITING_SUBCOMMANDS
    return spec.kind is WRITE or spec.kind is BLOCKING or name in _ALSO_WRITING


def _may_write(argv: list[bytes], declares_writes: DeclaresWrites) -> bool:
    spec = resolve(argv)
    return not isinstance(spec, ErrorReply) and may_write(spec, argv, declares_writes, [])


class Holdable(Protocol):
    """A connection, as a pause holds it (server.py's ``_Client``)."""

    id: int

    def release(self) -> None:
        """The pause ended: take the held command again, and what follows it."""
        ...


class Pause:
    """A pause in force: its kind, its end (on the event loop's clock), and
    the connections it holds, in the order they were held; ``on_end`` is
    called when the time is up."""

    def __init__(self, kind: int, end: float, on_end: Callable[[], None]) -> None:
        self.kind = kind
        self.end = end
        self.held: dict[int, Holdable] = {}
        self._on_end = on_end
        self._timer = asyncio.get_running_loop().call_at(end, on_end)

    def extend(self, kind: int, end: float | None) -> None:
        """A later CLIENT PAUSE (Rule 3); ``end`` None pauses nothing of its own."""
        self.kind = max(self.kind, kind)
        if end is not None and end > self.end:
            self.end = end
            self._timer.cancel()
            self._timer = asyncio.get_running_loop().call_at(end, self._on_end)

    def holds(
        self,
        spec: CommandSpec,
        argv: list[bytes],
        declares_writes: DeclaresWrites,
        queued: list[list[bytes]],
    ) -> bool:
        """Whether this pause holds the command (Rule 1)."""
        return self.kind == PAUSE_ALL or may_write(spec, argv, declares_writes, queued)

    def hold(self, connection: Holdable) -> None:
        self.held[connection.id] = connection

    def forget(self, connection: Holdable) -> None:
        """A held connection closed (Rule 4)."""
        self.held.pop(connection.id, None)

    def stop(self) -> list[Holdable]:
        """End the pause: the connections to release, in the order held."""
        self._timer.cancel()
        return list(self.held.values())


def end_of(milliseconds: int) -> float | None:
    """When a pause of ``milliseconds`` ends, on the event loop's clock, or
    None if it pauses nothing (Rule 3)."""
    if milliseconds == 0 or milliseconds > INT64_MAX - time.time_ns() // 1_000_000:
        return None
    return asyncio.get_running_loop().time() + milliseconds / 1000
