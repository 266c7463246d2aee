"""How a client's write travels through the log.

A log entry of the key-value store is a msgpack array
``[client_id, sequence, timestamp_ms, argv]``:

- ``client_id`` and ``sequence`` identify the request for exactly-once
  sessions (thesis §6.3); ``client_id`` 0 means "no session";
- ``timestamp_ms`` is the proposing leader's wall clock. Session expiry reads
  time from the log, never from a local clock, so every replica expires the
  same sessions at the same index;
- ``argv`` is the command as the client sent it, name first (bytes).

A run of writes without a session - consecutive writes of one pipeline -
may travel as one log command, ``[0, 0, timestamp_ms, [argv, argv, ...]]``
(``RunEnvelope``): its commands are applied in order with nothing between
them, and its result is the list of their replies. One command instead of
many spares the leader a proposal, a future and a decode per write. Nodes
of versions before the run form cannot apply such entries.

Entries come from our own leader, but a corrupt or hostile one must still
not crash a node: ``decode`` raises ``EnvelopeError`` on any malformed input.
"""

from __future__ import annotations

from typing import NamedTuple

import msgpack

from ranet.errors import RanetError


class EnvelopeError(RanetError, ValueError):
    """A log entry is not a well-formed key-value command."""


class Envelope(NamedTuple):
    client_id: int
    sequence: int
    timestamp_ms: int
    argv: list[bytes]


class RunEnvelope(NamedTuple):
    """Writes without a session applied as one log command, in order."""

    timestamp_ms: int
    argvs: list[list[bytes]]


def encode(envelope: Envelope) -> bytes:
    return msgpack.packb(
        [envelope.client_id, envelope.sequence, envelope.timestamp_ms, envelope.argv]
    )


def encode_run(run: RunEnvelope) -> bytes:
    return msgpack.packb([0, 0, run.timestamp_ms, run.argvs])


def decode(data: bytes) -> Envelope | RunEnvelope:
    """Decode and validate a log entry (every node runs this for every write:
    plain type checks, no generators)."""
    try:
        fields = msgpack.unpackb(data)
    except Exception as error:  # msgpack raises several types
        raise EnvelopeError(f"undecodable command: {error}") from None
    if type(fields) is not list or len(fields) != 4:
        raise EnvelopeError("a command must be [client_id, sequence, timestamp_ms, argv]")
    client_id, sequence, timestamp_ms, argv = fields
    if (
        type(client_id) is not int
        or type(sequence) is not int
        or type(timestamp_ms) is not int
        or client_id < 0
        or sequence < 0
        or timestamp_ms < 0
    ):
        raise EnvelopeError("client_id, sequence and timestamp_ms must be non-negative integers")
    if type(argv) is not list or not argv:
        raise EnvelopeError("argv must be a non-empty list of byte strings")
    if type(argv[0]) is not list:
        _check_argv(argv)
        return Envelope(client_id, sequence, timestamp_ms, argv)
    if client_id or sequence:
        raise EnvelopeError("a run of commands has no session")
    for command in argv:
        if type(command) is not list or not command:
            raise EnvelopeError("a run must be a list of commands")
        _check_argv(command)
    return RunEnvelope(timestamp_ms, argv)


def _check_argv(argv: list[object]) -> None:
    for arg in argv:
        if type(arg) is not bytes:
            raise EnvelopeError("argv must be a non-empty list of byte strings")
