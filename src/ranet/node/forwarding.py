"""Node-level messages: a follower forwards a client command to the leader.

They travel on the peer transport beside the core's messages but never reach
the core. The leader proposes the command and answers with the result, or
with the error the proposer should see (e.g. it is no longer the leader).
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
class ForwardedResult:
    """``error`` is empty on success; ``leader_hint`` is -1 when unknown."""

    src: int
    dst: int
    request_id: int
    result: bytes
    error: str = ""
    leader_hint: int = -1


NODE_MESSAGES = (ForwardedProposal, ForwardedResult)
