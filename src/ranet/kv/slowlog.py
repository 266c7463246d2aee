"""SLOWLOG: the commands this node's clients sent that took at least
``slowlog-log-slower-than`` microseconds, newest first, at most
``slowlog-max-len`` of them - Redis 7.0's log, entry for entry:
``[id, unix time, microseconds, [arguments], "ip:port", client name]``.

The log is the node's own, as Redis's is the instance's: it records what
this node's connections asked for, not what other nodes' clients did.
What a command's time is here: from the moment the node starts running it
to the moment its reply is ready - for a write, its replication and the
fsyncs of a majority; for a read, its ReadIndex round; for a run of a
pipeline's reads or writes, or a transaction, sent as one call, that
call's - the time a client of a replicated store waits for, and the one it
wants to find. A blocking command's time waiting for something to take is
not counted, as in Redis.

Rule 1 - the server pays almost nothing per command: it compares the time
a command took with ``threshold`` (seconds; infinite when the log is off)
and calls ``add`` only for a slow one; an entry is built only there. The
latency monitor (latency.py) times commands the same way, so ``threshold``
is the lower of the two settings and ``add`` feeds both.

Rule 2 - as in Redis: an entry holds at most 32 arguments (the last
saying how many more there were), each at most 128 bytes (followed by how
many more); secrets are redacted (redaction.py); ids keep counting after a
RESET; a new entry makes the log drop its oldest past ``max_len`` (setting
``slowlog-max-len`` lower trims nothing until then). A command refused
before it runs - unknown, of the wrong number of arguments, an unknown
subcommand or a subcommand's wrong number of arguments, before AUTH, by
ACL, queued in MULTI - is not logged, nor is EXEC (the commands it runs
are), nor a blocking command that took nothing.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ranet.kv.arguments import parse_int, subcommand_error, subcommand_syntax_error
from ranet.kv.latency import LatencyMonitor
from ranet.kv.redaction import redacted
from ranet.kv.reply import OK, ErrorReply, Reply

DEFAULT_SLOWER_THAN = 10_000  # microseconds: Redis's default
DEFAULT_MAX_LEN = 128
_MAX_ARGUMENTS = 32
_MAX_ARGUMENT_BYTES = 128
_ARITIES = {b"GET": -2, b"LEN": 2, b"RESET": 2, b"HELP": 2}
_BAD_COUNT = ErrorReply("ERR count should be greater than or equal to -1")
_DEFAULT_COUNT = 10
_HELP = [
    b"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"GET [<count>]",
    b"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    b"    Entries are made of:",
    b"    id, timestamp, time in microseconds, arguments array, client IP and port,",
    b"    client name",
    b"LEN",
    b"    Return the length of the slowlog.",
    b"RESET",
    b"    Reset the slowlog.",
    b"HELP",
    b"    Prints this help.",
]
# Errors Redis's command table answers before a command runs; they may come
# back from the store (XINFO FOO), so they are told by their words.
_UNKNOWN_SUBCOMMAND = "ERR unknown subcommand '"
_WRONG_ARITY = "ERR wrong number of arguments for '"


@dataclass(slots=True, frozen=True)
class Entry:
    id: int
    timestamp: int  # unix seconds, when it ended
    microseconds: int
    arguments: list[bytes]
    peer: bytes  # ip:port
    name: bytes  # the client's name when the command ended

    def reply(self) -> Reply:
        """The entry as SLOWLOG GET gives it."""
        return [self.id, self.timestamp, self.microseconds, self.arguments, self.peer, self.name]


class SlowLog:
    """One node's slow log and its two settings."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.latency = LatencyMonitor(clock)  # latency-monitor-threshold's events
        self._slower_than_seconds = DEFAULT_SLOWER_THAN / 1e6
        self.threshold = self._slower_than_seconds  # seconds: the lower of both (Rule 1)
        self.slower_than = DEFAULT_SLOWER_THAN
        self.max_len = DEFAULT_MAX_LEN
        self._entries: deque[Entry] = deque()
        self._next_id = 0
        self._clock = clock

    def set_slower_than(self, microseconds: int) -> None:
        """``slowlog-log-slower-than``: log the commands that take at least
        this long (0: all of them; -1: none)."""
        self.slower_than = microseconds
        self._slower_than_seconds = math.inf if microseconds < 0 else microseconds / 1e6
        self.threshold = min(self._slower_than_seconds, self.latency.threshold)

    def set_latency_threshold(self, milliseconds: int) -> None:
        """``latency-monitor-threshold`` (latency.py)."""
        self.latency.set_threshold(milliseconds)
        self.threshold = min(self._slower_than_seconds, self.latency.threshold)

    def set_max_len(self, entries: int) -> None:
        """``slowlog-max-len``: keep at most this many entries (Rule 2)."""
        self.max_len = entries

    def add(self, argv: list[bytes], reply: object, seconds: float, peer: str, name: bytes) -> None:
        """A command of a client at ``peer`` took ``seconds`` (at least the
        threshold) and answered ``reply``: an entry, unless Redis would not
        have run it (Rule 2)."""
        if _refused_before_running(reply):
            return
        if seconds >= self.latency.threshold:
            self.latency.command_took(argv, seconds)
        if seconds < self._slower_than_seconds:
            return
        self._entries.appendleft(
            Entry(
                self._next_id,
                int(self._clock()),
                int(seconds * 1e6),
                _arguments(redacted(argv)),
                peer.encode(),
                name,
            )
        )
        self._next_id += 1
        while len(self._entries) > self.max_len:
            self._entries.pop()

    def command(self, argv: list[bytes]) -> Reply:
        """SLOWLOG GET [count] | LEN | RESET | HELP."""
        error = subcommand_error(argv, _ARITIES)
        if error is not None:
            return error
        subcommand = argv[1].upper()
        if subcommand == b"LEN":
            return len(self._entries)
        if subcommand == b"RESET":
            self._entries.clear()
            return OK
        if subcommand == b"HELP":
            return list(_HELP)
        if len(argv) > 3:
            return subcommand_syntax_error(argv)
        count = parse_int(argv[2]) if len(argv) == 3 else _DEFAULT_COUNT
        if count is None or count < -1:
            return _BAD_COUNT
        entries = list(self._entries) if count == -1 else list(self._entries)[:count]
        return [entry.reply() for entry in entries]


def _refused_before_running(reply: object) -> bool:
    """Whether ``reply`` is an error of Redis's command table: an unknown
    subcommand, or a subcommand's wrong number of arguments (the command's
    own are refused before the server takes it)."""
    if not isinstance(reply, ErrorReply):
        return False
    message = reply.message
    return message.startswith(_UNKNOWN_SUBCOMMAND) or (
        message.startswith(_WRONG_ARITY) and "|" in message
    )


def _arguments(argv: list[bytes]) -> list[bytes]:
    """At most 32 arguments, each at most 128 bytes (Rule 2)."""
    if len(argv) > _MAX_ARGUMENTS:
        kept = _MAX_ARGUMENTS - 1
        more = b"... (%d more arguments)" % (len(argv) - kept)
        return [*map(_cut, argv[:kept]), more]
    return [*map(_cut, argv)]


def _cut(argument: bytes) -> bytes:
    if len(argument) <= _MAX_ARGUMENT_BYTES:
        return argument
    more = len(argument) - _MAX_ARGUMENT_BYTES
    return argument[:_MAX_ARGUMENT_BYTES] + b"... (%d more bytes)" % more
