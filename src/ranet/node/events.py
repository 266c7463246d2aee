"""What a node tells its embedder as it runs: role changes and applied commands.

The command line prints these (the seed's "BECAME LEADER" and "Applying:");
an application may log or count them. Callbacks run on the event loop and
must not block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ranet.core import Role


@dataclass(slots=True, frozen=True)
class RoleChanged:
    node_id: int
    role: Role
    term: int
    leader_id: int | None


@dataclass(slots=True, frozen=True)
class Applied:
    node_id: int
    index: int
    term: int
    command: bytes
    result: Any


@dataclass(slots=True, frozen=True)
class MembershipChanged:
    """The configuration in force changed (thesis §4.1: on append, not commit)."""

    node_id: int
    voters: tuple[int, ...]
    learners: tuple[int, ...]


@dataclass(slots=True, frozen=True)
class LeadershipHandedOff:
    """A stopping leader transferred leadership (thesis §3.10) before closing."""

    node_id: int
    target: int


NodeEvent = RoleChanged | Applied | MembershipChanged | LeadershipHandedOff
