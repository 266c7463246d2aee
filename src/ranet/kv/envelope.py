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

A transaction - MULTI ... EXEC, with the keys WATCHed before it - travels as
``[0, 0, timestamp_ms, [argv, ...], [[key, version], ...]]``
(``TransactionEnvelope``): if every watched key's slot still carries the
version read at WATCH (``keyspace.py``), its commands - reads and writes -
run in order with nothing between them and its result is the list of their
replies; otherwise nothing runs and the result is null. Nodes of versions
before transactions cannot apply such entries.

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


class TransactionEnvelope(NamedTuple):
    """MULTI ... EXEC: commands applied in order with nothing between them,
    only if the watched keys' versions are unchanged."""

    timestamp_ms: int
    argvs: list[list[bytes]]
    watched: list[tuple[bytes, int]]  # (key, version read at WATCH)


def encode(envelope: Envelope) -> bytes:
    return msgpack.packb(
        [envelope.client_id, envelope.sequence, envelope.timestamp_ms, envelope.argv]
    )


def encode_run(run: RunEnvelope) -> bytes:
    return msgpack.packb([0, 0, run.timestamp_ms, run.argvs])


def encode_transaction(transaction: TransactionEnvelope) -> bytes:
    watched = [[key, version] for key, version in transaction.watched]
    return msgpack.packb([0, 0, transaction.timestamp_ms, transaction.argvs, watched])


def decode(data: bytes) -> Envelope | RunEnvelope | TransactionEnvelope:
    """Decode and validate a log entry (every node runs this for every write:
    plain type checks, no generators)."""
    try:
        fields = msgpack.unpackb(data)
    except Exception as error:  # msgpack raises several types
        raise EnvelopeError(f"undecodable command: {error}") from None
    if type(fields) is not list or len(fields) != 4:
        if type(fields) is list and len(fields) == 5:
            return _decode_transaction(fields)
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
    _check_run(client_id, sequence, argv)
    return RunEnvelope(timestamp_ms, argv)


def _decode_transaction(fields: list[object]) -> TransactionEnvelope:
    client_id, sequence, timestamp_ms, argvs, watched = fields
    if type(timestamp_ms) is not int or timestamp_ms < 0:
        raise EnvelopeError("timestamp_ms must be a non-negative integer")
    if type(argvs) is not list:
        raise EnvelopeError("a transaction's commands must be a list")
    _check_run(client_id, sequence, argvs)
    if type(watched) is not list:
        raise EnvelopeError("a transaction's watched keys must be a list")
    for pair in watched:
        if (
            type(pair) is not list
            or len(pair) != 2
            or type(pair[0]) is not bytes
            or type(pair[1]) is not int
            or pair[1] < 0
        ):
            raise EnvelopeError("a watched key must be [key, version]")
    return TransactionEnvelope(timestamp_ms, argvs, [(key, version) for key, version in watched])


def _check_run(client_id: object, sequence: object, argvs: list[object]) -> None:
    if client_id != 0 or sequence != 0 or type(client_id) is not int or type(sequence) is not int:
        raise EnvelopeError("a run of commands has no session")
    for command in argvs:
        if type(command) is not list or not command:
            raise EnvelopeError("a run must be a list of commands")
        _check_argv(command)


def _check_argv(argv: list[object]) -> None:
    for arg in argv:
        if type(arg) is not bytes:
            raise EnvelopeError("argv must be a non-empty list of byte strings")
