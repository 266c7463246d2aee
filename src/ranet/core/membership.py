"""Cluster membership as data: who votes, who only learns (thesis §4).

ranet changes membership one server at a time (thesis §4.1): any two
configurations that differ by one voter have overlapping majorities, so no
joint consensus is needed. The rules, enforced by the core:

Rule 1 - a configuration takes effect as soon as its entry is in a server's
log, committed or not (thesis §4.1); if the entry is cut by a conflict, the
previous configuration is back in force.

Rule 2 - one change at a time: a leader proposes a change only when the
previous one is committed.

Rule 3 - a leader proposes a change only after it has committed an entry of
its own term (the fix for the single-server-change bug reported on raft-dev
in 2015: without it, changes proposed by successive leaders can form
non-overlapping majorities).

New servers join as learners: they receive the log but neither vote nor
count toward commitment, so a slow newcomer cannot stall the cluster while
it catches up; a separate change promotes it to voter.

``context`` is opaque to the core: the runtime keeps the members' network
addresses there, so every server learns them from the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import msgpack

from ranet.errors import ConfigurationError, ProtocolInvariantViolated


class ChangeKind(Enum):
    ADD_LEARNER = "add-learner"
    PROMOTE = "promote"
    REMOVE = "remove"


@dataclass(slots=True, frozen=True)
class MembershipChange:
    """One single-server change; ``context`` replaces the configuration's context."""

    kind: ChangeKind
    node_id: int
    context: bytes = b""


@dataclass(slots=True, frozen=True)
class Configuration:
    voters: frozenset[int]
    learners: frozenset[int] = field(default_factory=frozenset)
    context: bytes = b""

    @property
    def members(self) -> frozenset[int]:
        return self.voters | self.learners

    def encode(self) -> bytes:
        return msgpack.packb([sorted(self.voters), sorted(self.learners), self.context])

    @staticmethod
    def decode(data: bytes) -> Configuration:
        try:
            voters, learners, context = msgpack.unpackb(data)
            configuration = Configuration(frozenset(voters), frozenset(learners), context)
        except (ValueError, TypeError) as error:
            raise ProtocolInvariantViolated(f"malformed configuration entry: {error}") from None
        if not all(isinstance(n, int) for n in configuration.members) or not isinstance(
            configuration.context, bytes
        ):
            raise ProtocolInvariantViolated("malformed configuration entry")
        return configuration

    def changed(self, change: MembershipChange) -> Configuration:
        """This configuration with ``change`` applied; ConfigurationError if invalid."""
        node = change.node_id
        voters, learners = set(self.voters), set(self.learners)
        if change.kind is ChangeKind.ADD_LEARNER:
            if node in self.members:
                raise ConfigurationError(f"node {node} is already a member")
            learners.add(node)
        elif change.kind is ChangeKind.PROMOTE:
            if node not in learners:
                raise ConfigurationError(f"node {node} is not a learner; add it first")
            learners.discard(node)
            voters.add(node)
        else:
            if node not in self.members:
                raise ConfigurationError(f"node {node} is not a member")
            if voters == {node}:
                raise ConfigurationError(f"node {node} is the last voter; it cannot be removed")
            voters.discard(node)
            learners.discard(node)
        return Configuration(frozenset(voters), frozenset(learners), change.context)
