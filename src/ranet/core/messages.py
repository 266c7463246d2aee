"""Messages exchanged between cores (Raft Figure 2, thesis §9.6).

Every message names its sender ``src``, its receiver ``dst`` and the sender's
``term``. They are frozen, slotted dataclasses: small, immutable, and cheap to
compare in tests.

Departure from the paper (see docs/divergence.md): heartbeats are a message
of their own rather than empty AppendEntries, so that with pipelined
replication a heartbeat never races an in-flight append and never triggers a
spurious back-off; a heartbeat carries ``commit_index`` capped at what the
follower is known to hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from ranet.core.types import Entry


@dataclass(slots=True, frozen=True)
class RequestVote:
    """RequestVote RPC (Raft §5.2); with ``pre_vote`` the pre-vote of thesis §9.6.

    A pre-vote carries the term the candidate *would* campaign in and changes
    nobody's term or vote. ``transfer`` marks a campaign started by a
    leadership transfer (thesis §3.10), which may disturb a live leader.
    """

    src: int
    dst: int
    term: int
    last_log_index: int
    last_log_term: int
    pre_vote: bool = False
    transfer: bool = False


@dataclass(slots=True, frozen=True)
class RequestVoteResponse:
    src: int
    dst: int
    term: int
    vote_granted: bool
    pre_vote: bool = False


@dataclass(slots=True, frozen=True)
class AppendEntries:
    """AppendEntries RPC (Raft §5.3): entries follow ``prev_log_index``."""

    src: int
    dst: int
    term: int
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    leader_commit: int


@dataclass(slots=True, frozen=True)
class AppendEntriesResponse:
    """Reply to AppendEntries.

    On success ``match_index`` is the last index the follower now holds that
    matches the leader. On rejection ``reject_index`` is the ``prev_log_index``
    that failed, and ``(hint_index, hint_term)`` is the follower's last entry at
    or before it whose term is at most the leader's ``prev_log_term`` — the
    conflict hint that lets the leader skip a whole divergent term per round
    trip instead of one entry (Raft §5.3, "the protocol can be optimized").
    """

    src: int
    dst: int
    term: int
    success: bool
    match_index: int = 0
    reject_index: int = 0
    hint_index: int = 0
    hint_term: int = 0


@dataclass(slots=True, frozen=True)
class Heartbeat:
    """Leader's periodic proof of life (Raft §5.2) and commit-index carrier.

    ``context`` is the leader's latest ReadIndex sequence number (thesis §6.4);
    the follower echoes it so the leader can confirm pending reads.
    """

    src: int
    dst: int
    term: int
    commit_index: int
    context: int = 0


@dataclass(slots=True, frozen=True)
class HeartbeatResponse:
    src: int
    dst: int
    term: int
    context: int = 0


@dataclass(slots=True, frozen=True)
class InstallSnapshot:
    """InstallSnapshot RPC (Raft §7): replace the follower's log by a snapshot.

    The core emits it with empty ``data`` and the metadata of its compaction
    point; the runtime sends its latest durable snapshot instead - metadata
    and data as stored - in as many chunks as it likes, and steps the
    receiving core with one complete message.
    """

    src: int
    dst: int
    term: int
    last_index: int
    last_term: int
    voters: tuple[int, ...]
    learners: tuple[int, ...]
    context: bytes
    data: bytes


@dataclass(slots=True, frozen=True)
class TimeoutNow:
    """Leadership transfer (thesis §3.10): "start an election now", sent by a
    leader to a follower whose log it has just brought up to date."""

    src: int
    dst: int
    term: int


Message = (
    RequestVote
    | RequestVoteResponse
    | AppendEntries
    | AppendEntriesResponse
    | Heartbeat
    | HeartbeatResponse
    | TimeoutNow
    | InstallSnapshot
)
