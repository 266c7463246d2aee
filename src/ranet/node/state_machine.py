"""The application's side of replication: a deterministic state machine.

Raft replicates a log of commands; the application turns them into state.
Every node applies the same commands in the same order, so ``apply`` must be
deterministic: same state, same command, same result and same new state,
on every node. ``snapshot`` and ``restore`` let a node compact its log and
bring a lagging node up to date (Raft §7).
"""

from __future__ import annotations

from typing import Any, Protocol

import msgpack


class StateMachine(Protocol):
    def apply(self, command: bytes) -> Any:
        """Apply one committed command; the result goes back to the proposer."""
        ...

    def snapshot(self) -> bytes:
        """The whole state as bytes."""
        ...

    def restore(self, data: bytes) -> None:
        """Replace the whole state with one taken by ``snapshot``."""
        ...


class AppendLog:
    """The seed's state machine: remember every applied command, in order."""

    def __init__(self) -> None:
        self.items: list[bytes] = []

    def apply(self, command: bytes) -> int:
        self.items.append(command)
        return len(self.items)

    def snapshot(self) -> bytes:
        return msgpack.packb(self.items)

    def restore(self, data: bytes) -> None:
        self.items = list(msgpack.unpackb(data))
