"""Node-level messages: a follower forwards work to the leader.

They travel on the peer transport beside the core's messages but never reach
the core. A ``ForwardedProposal`` asks the leader to propose a command; a
``ForwardedReadIndex`` asks it for a confirmed read index (thesis §6.4), so
the follower can serve a linearizable read once it has applied that far; a
``ForwardedReplicaWait`` asks how many members besides the follower hold
the leader's log up to its end (WAIT: replica_waits.py), waiting up to
``timeout_ms`` for ``wanted`` of them.
The leader answers either with a ``ForwardedResult``: the msgpack-encoded
result, or the error the caller should see (e.g. it is no longer leader).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class ForwardedProposal:
    src: int
    dst: int
    request_id: int
    command: bytes


@dataclass(slots=True, frozen=True)
class ForwardedReadIndex:
    src: int
    dst: int
    request_id: int


@dataclass(slots=True, frozen=True)
class ForwardedReplicaWait:
    src: int
    dst: int
    request_id: int
    wanted: int
    timeout_ms: int  # 0: answer at once


@dataclass(slots=True, frozen=True)
class ForwardedResult:
    """``error`` is empty on success; ``leader_hint`` is -1 when unknown."""

    src: int
    dst: int
    request_id: int
    result: bytes
    error: str = ""
    leader_hint: int = -1


ForwardedRequest = ForwardedProposal | ForwardedReadIndex | ForwardedReplicaWait
NODE_MESSAGES = (ForwardedProposal, ForwardedResult, ForwardedReadIndex, ForwardedReplicaWait)
