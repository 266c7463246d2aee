"""Typed errors of ranet, in one place.

Callers act on the type: a ``NotLeader`` carries the leader hint so a client
can redirect, a ``ProposalDropped`` may be retried, a ``StorageCorruption``
names the file and offset that failed validation.
"""

from __future__ import annotations


class RanetError(Exception):
    """Base class of every error ranet raises on purpose."""


class NotLeader(RanetError):
    """A request that only the leader may serve reached a non-leader.

    ``leader_hint`` is the id of the leader this node believes in, or ``None``
    when it knows of none (an election is under way).
    """

    def __init__(self, leader_hint: int | None, address: str | None = None) -> None:
        self.leader_hint = leader_hint
        self.address = address
        where = "no leader is known" if leader_hint is None else f"the leader is node {leader_hint}"
        if address:
            where += f" at {address}"
        super().__init__(f"not the leader: {where}")


class ProposalDropped(RanetError):
    """The core refused a proposal it could not append (e.g. during a transfer)."""


class Timeout(RanetError):
    """An operation did not complete in time; its outcome is unknown.

    A proposal that timed out may still be committed later: retry it only
    through a session that makes retries idempotent.
    """


class ApplyError(RanetError):
    """A command submitted through a follower was committed, and the state
    machine's ``apply`` raised on the leader; the text names that error. (On
    the leader itself the caller gets the original exception.)"""


class ShuttingDown(RanetError):
    """The node is stopping and will not finish this operation."""


class ProtocolInvariantViolated(RanetError):
    """The core detected a state that Raft's safety argument rules out.

    Raised instead of silently continuing, e.g. when a leader asks a follower
    to overwrite an entry the follower already knows is committed.
    """


class StorageError(RanetError):
    """Base class of storage failures."""


class StorageCorruption(StorageError):
    """A durable record failed validation somewhere other than a torn tail."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        self.path = path
        self.offset = offset
        self.reason = reason
        super().__init__(
            f"corrupt record in {path} at offset {offset}: {reason}. "
            "ranet will not start on damaged data. To recover: remove this node from the "
            "cluster (ranet member remove), move its data directory aside, start it with "
            "--join and add it back (ranet member add); it catches up from its peers."
        )


class DataDirLocked(StorageError):
    """Another process holds the lock on this data directory."""


class ConfigurationError(RanetError):
    """A configuration value is missing or invalid."""


class AuthenticationError(RanetError):
    """A node refused the password a client gave (or needs one it did not give)."""


class HistoryError(RanetError, ValueError):
    """A recorded operation history is malformed, or a recorder was driven out of order."""


class TransportError(RanetError):
    """Base class of network transport failures (framing, codec, handshake, listening)."""


class FrameError(TransportError):
    """A byte stream broke the framing rules: a length prefix above the frame limit."""


class DecodeError(TransportError):
    """A frame's payload is not a valid message: bad msgpack, unknown tag, wrong fields."""


class EncodeError(TransportError):
    """A message cannot be encoded: its type is not registered, or a value does not fit."""


class HandshakeError(TransportError):
    """A connection's first frame is not an acceptable handshake for this node."""


class ListenError(TransportError, OSError):
    """The transport cannot listen on its address (e.g. the port is already in use).

    An ``OSError`` too, with the ``errno`` of the failed bind, so callers that
    handle socket errors generically keep working.
    """


class SnapshotFormatError(RanetError, ValueError):
    """A state machine snapshot is not in the format this version writes.

    Raised by ``restore`` before anything is replaced: the state machine keeps
    the state it had.
    """


class RespProtocolError(RanetError, ValueError):
    """A client broke the Redis protocol (RESP); the connection cannot go on.

    ``str(error)`` is the text Redis replies with, e.g.
    ``Protocol error: invalid bulk length``. ``commands`` holds the complete
    commands that arrived before the bad bytes, in order: they are still
    served, as Redis serves them, before the error reply and the hang-up.
    """

    def __init__(self, message: str, commands: list[list[bytes]] | None = None) -> None:
        super().__init__(message)
        self.commands: list[list[bytes]] = commands if commands is not None else []


class Unavailable(RanetError):
    """No node of the cluster served a client's request within its retry budget.

    ``maybe_applied`` is ``True`` when a write reached a node at least once:
    its outcome is then unknown (it may commit later, or have committed
    already). It is ``False`` for reads and for requests that never left the
    client. ``last_error`` says what the last attempt ran into.
    """

    def __init__(self, message: str, *, maybe_applied: bool, last_error: str) -> None:
        self.maybe_applied = maybe_applied
        self.last_error = last_error
        super().__init__(f"{message} (last error: {last_error})")


class CommandError(RanetError):
    """The server answered a command with an error reply it will not retry.

    ``str(error)`` is the reply's text exactly as Redis words it, e.g.
    ``ERR value is not an integer or out of range``; ``code`` is its first
    word (``ERR``, ``WRONGPASS``, ...).
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    @property
    def code(self) -> str:
        return self.message.split(" ", 1)[0]
