"""Proposal batching: the commands proposed in one loop iteration share a log entry.

Everything a log entry costs is paid once per entry on every node - the
entry object, its storage record and CRCs, its place in an append message,
the log's bookkeeping - whatever the entry holds. So the runtime collects
the commands proposed while the event loop runs one iteration and appends
them as one ``BATCH`` entry (a msgpack array of the commands), the way
thesis §10.2.1 batches at every layer. A lone command is appended as a plain
``NORMAL`` entry. The state machine never sees a batch: each command is
applied on its own, in order, with its own result.

A batch is capped in commands and bytes so that one entry never outgrows an
append message (``CoreConfig.max_bytes_per_message``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

import msgpack

from ranet.errors import RanetError

MAX_BATCH_COMMANDS = 4096
MAX_BATCH_BYTES = 256 << 10

T = TypeVar("T")


class BatchError(RanetError, ValueError):
    """A ``BATCH`` entry is not a msgpack array of byte strings."""


def pack(commands: Sequence[bytes]) -> bytes:
    """The data of a ``BATCH`` entry carrying ``commands``."""
    return msgpack.packb(commands)


def unpack(data: bytes) -> list[bytes]:
    """The commands of a ``BATCH`` entry; ``BatchError`` if it is malformed."""
    try:
        commands = msgpack.unpackb(data)
    except Exception as error:  # msgpack raises several types
        raise BatchError(f"undecodable batch entry: {error}") from None
    if type(commands) is not list:
        raise BatchError("a batch entry must be an array of commands")
    for command in commands:
        if type(command) is not bytes:
            raise BatchError("a batch entry must be an array of byte strings")
    return commands


def split(
    proposals: list[tuple[bytes, T]],
    max_commands: int = MAX_BATCH_COMMANDS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[tuple[bytes, T]]]:
    """``proposals`` (command, anything) in order, cut into runs that fit one entry.

    A run ends before the command that would pass ``max_commands`` or
    ``max_bytes``; a single command larger than ``max_bytes`` is a run alone.
    """
    run: list[tuple[bytes, T]] = []
    size = 0
    for proposal in proposals:
        length = len(proposal[0])
        if run and (len(run) == max_commands or size + length > max_bytes):
            yield run
            run, size = [], 0
        run.append(proposal)
        size += length
    if run:
        yield run
