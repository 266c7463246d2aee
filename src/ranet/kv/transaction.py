"""MULTI, EXEC, DISCARD, WATCH and UNWATCH: one connection's transaction state.

As in Redis: after MULTI, data commands are queued (each answered
``+QUEUED``) until EXEC runs them all, in order, with nothing between them,
or DISCARD drops them. So are the connection commands a node answers by
itself (``RUN_AT_EXEC``: PING, ECHO, TIME, SELECT, CLIENT SETNAME, CONFIG,
INFO, ...): EXEC runs them on the node once the log has run the others, and
puts their replies in their places. They touch no key; what they read of
the node (INFO's figures, CONFIG GET) is read after the whole transaction.
The other connection commands (HELLO, AUTH, SUBSCRIBE, MONITOR, WAIT,
CLIENT REPLY, ...), which change how the connection's later commands run,
are refused. A command refused while queuing (unknown, of the wrong arity,
a container's unknown subcommand or one of the wrong arity, not allowed in
a transaction) dooms the transaction: EXEC then answers ``EXECABORT`` and
runs nothing. WATCH, before MULTI, reads the versions of keys
(``keyspace.py``); if one of them has changed when the transaction is
applied, EXEC answers a null array and nothing runs. EXEC and DISCARD
forget the watched keys, as UNWATCH does.

The server turns EXEC into one backend call (``Backend.transaction``): a
transaction that writes, or that watched keys, is one log command applied
at once on every replica; one that only reads shares a ReadIndex barrier,
as a pipeline's reads do.

Rule 1 - a transaction is one log entry, so it is bounded as one command
is: its watched keys and queued arguments together may hold at most
``max_bytes`` (the server's ``RequestLimits.max_command_len``), each
counted with a few bytes of overhead. A WATCH past that is refused; a
command past it dooms the transaction, and a doomed transaction keeps
nothing, so a client cannot grow the server's memory, or the entry past
what a peer link carries, by watching or queuing.

Rule 2 - a WATCH is a read call, and EXEC needs its versions: a WATCH
pipelined just before EXEC may not have been read when EXEC is queued.
``Watch`` objects are therefore kept in stream order and handed to EXEC
as they are; the server makes EXEC with watches a write call, which Rule 2
of the server starts only after the reads before it (the WATCHes) have
ended, and reads their versions then (``watched_versions``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ranet.kv.arguments import subcommand_refusal
from ranet.kv.commands import BLOCKING, CONNECTION, WRITE, CommandSpec
from ranet.kv.reply import OK, ErrorReply, Reply, Status

QUEUED = Status("QUEUED")
RUN_INSIDE_MULTI = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})
"""Commands that act at once even after MULTI (as in Redis); others are queued."""

EXEC_ABORTED = ErrorReply("EXECABORT Transaction discarded because of previous errors.")
ARGUMENT_OVERHEAD = 8  # bytes counted per queued argument besides its own (Rule 1)
NOT_ALLOWED = ErrorReply("ERR Command not allowed inside a transaction")
RUN_AT_EXEC = frozenset(
    {"ping", "echo", "time", "select", "command", "config", "info", "slowlog", "latency", "client"}
)
"""Connection commands a transaction holds, to run on the node at EXEC."""
_CLIENT_NOT_AT_EXEC = frozenset({b"reply", b"tracking", b"caching"})  # they act on what follows


@dataclass(slots=True)
class Watch:
    """One WATCH: its keys, and their versions once read (``None`` until then,
    or for good if the read failed)."""

    keys: list[bytes]
    versions: list[int] | None = None


@dataclass(slots=True)
class Exec:
    """What EXEC runs: the queued commands, whether one of them writes,
    whether one of them runs on the node (``RUN_AT_EXEC``), and the WATCHes
    made before them."""

    commands: list[list[bytes]]
    writes: bool
    watches: list[Watch]
    runs_here: bool = False


@dataclass(slots=True)
class TransactionState:
    """What one connection has queued since MULTI, and watched since its last EXEC."""

    max_bytes: int
    queued: list[list[bytes]] | None = None  # None: not inside MULTI
    size: int = 0  # bytes watched and queued, as Rule 1 counts them
    watched_size: int = 0  # bytes watched
    writes: bool = False  # whether a queued command writes
    runs_here: bool = False  # whether a queued command runs on the node (RUN_AT_EXEC)
    doomed: bool = False
    watches: list[Watch] = field(default_factory=list)

    @property
    def open(self) -> bool:
        """Whether MULTI was sent and neither EXEC nor DISCARD since."""
        return self.queued is not None

    def multi(self) -> Reply:
        if self.queued is not None:
            return ErrorReply("ERR MULTI calls can not be nested")
        self.queued, self.size, self.doomed = [], self.watched_size, False
        self.writes = self.runs_here = False
        return OK

    def queue(self, argv: list[bytes], spec: CommandSpec | ErrorReply) -> Reply:
        """A command sent after MULTI (other than ``RUN_INSIDE_MULTI``)."""
        assert self.queued is not None
        if not isinstance(spec, ErrorReply):
            spec = subcommand_refusal(spec, argv) or spec
        if isinstance(spec, ErrorReply) or (
            spec.kind is CONNECTION and not runs_at_exec(spec, argv)
        ):
            self._doom()
            return spec if isinstance(spec, ErrorReply) else NOT_ALLOWED
        if self.doomed:
            return QUEUED  # as Redis answers, but kept nowhere: EXEC will refuse
        self.size += _cost(argv)
        if self.size > self.max_bytes:
            self._doom()
            return ErrorReply(f"ERR the transaction is over its limit of {self.max_bytes} bytes")
        self.queued.append(argv)
        self.writes = self.writes or spec.kind is WRITE or spec.kind is BLOCKING
        self.runs_here = self.runs_here or spec.kind is CONNECTION
        return QUEUED

    def _doom(self) -> None:
        """EXEC will run nothing: keep nothing (Rule 1)."""
        self.doomed = True
        self.queued = []

    def exec(self) -> Exec | Reply:
        """End the transaction: what to run, or the reply if nothing runs."""
        if self.queued is None:
            return ErrorReply("ERR EXEC without MULTI")
        commands, doomed, watches = self.queued, self.doomed, self.watches
        self.queued = None
        self.unwatch()
        if doomed:
            return EXEC_ABORTED
        if not commands and not watches:
            return []
        return Exec(commands, self.writes, watches, self.runs_here)

    def discard(self) -> Reply:
        if self.queued is None:
            return ErrorReply("ERR DISCARD without MULTI")
        self.queued = None
        return self.unwatch()

    def watch(self, keys: list[bytes]) -> Watch | Reply:
        """A WATCH to read; the server reads it as a read call."""
        if self.queued is not None:
            return ErrorReply("ERR WATCH inside MULTI is not allowed")
        size = self.watched_size + _cost(keys)
        if size > self.max_bytes:
            return ErrorReply(f"ERR the watched keys are over the limit of {self.max_bytes} bytes")
        self.watched_size = size
        watch = Watch(keys)
        self.watches.append(watch)
        return watch

    def unwatch(self) -> Reply:
        self.watches, self.watched_size = [], 0
        return OK

    def reset(self) -> None:
        """Out of MULTI, if in it, and nothing watched (RESET)."""
        self.queued = None
        self.unwatch()


def runs_at_exec(spec: CommandSpec, argv: list[bytes]) -> bool:
    """Whether the connection command ``argv`` may be queued, to run on the
    node at EXEC (``RUN_AT_EXEC``)."""
    if spec.name != "client":
        return spec.name in RUN_AT_EXEC
    return len(argv) > 1 and argv[1].lower() not in _CLIENT_NOT_AT_EXEC


def _cost(args: list[bytes]) -> int:
    """What ``args`` count against a transaction's bytes (Rule 1)."""
    return sum(map(len, args)) + ARGUMENT_OVERHEAD * len(args)


def watched_versions(watches: list[Watch]) -> list[tuple[bytes, int]] | None:
    """The (key, version) pairs a transaction must find unchanged; ``None``
    if a WATCH's read failed, which dooms the transaction like a change."""
    watched: list[tuple[bytes, int]] = []
    for watch in watches:
        if watch.versions is None:
            return None
        watched += zip(watch.keys, watch.versions, strict=True)
    return watched
