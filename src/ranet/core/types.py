"""The small value types the core speaks in: entries, roles, hard and soft state.

Entries are ``(term, data, kind)`` named tuples: cheap to build, compared by
value, and their index is their position in the log, never stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple


class EntryKind(IntEnum):
    """What an entry carries: a client command, a leader's no-op, a configuration,
    or several client commands the runtime packed into one entry (opaque to the
    core, which replicates and commits it like any command)."""

    NORMAL = 0
    NOOP = 1
    CONFIG = 2
    BATCH = 3


class Entry(NamedTuple):
    """One log entry. Its index is implied by its position in the log."""

    term: int
    data: bytes
    kind: int = EntryKind.NORMAL


class Role(IntEnum):
    """Server states of Raft §5.1, plus the pre-candidate of thesis §9.6."""

    FOLLOWER = 0
    PRE_CANDIDATE = 1
    CANDIDATE = 2
    LEADER = 3

    def __str__(self) -> str:
        return self.name.replace("_", "-")


@dataclass(slots=True, frozen=True)
class HardState:
    """State that must be durable before the core's promises are released.

    Raft Figure 2, "persistent state on all servers": ``current_term`` and
    ``voted_for``; ``commit_index`` is persisted too so that a restarted node
    can apply what it knew to be committed without waiting for a leader.
    """

    current_term: int = 0
    voted_for: int | None = None
    commit_index: int = 0


@dataclass(slots=True, frozen=True)
class SoftState:
    """Volatile state a runtime wants to watch: who leads, and our role in which term."""

    role: Role
    leader_id: int | None
    current_term: int


@dataclass(slots=True, frozen=True)
class SnapshotMeta:
    """What a snapshot covers: the last included index and term, and the
    configuration in force at that index (Raft §7)."""

    last_index: int = 0
    last_term: int = 0
    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()
    context: bytes = b""  # the configuration's context (members' addresses), see membership.py
