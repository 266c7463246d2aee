"""ranet.core: the pure, deterministic Raft protocol state machine (sans-IO).

Drive a ``RaftCore`` with ``tick()``, ``step(message)`` and ``propose(data)``;
take its output with ``ready()`` and acknowledge durability with
``advance(ready)``. See ``raft.py`` and ``ready.py`` for the contract.
"""

from ranet.core.config import CoreConfig
from ranet.core.membership import ChangeKind, Configuration, MembershipChange
from ranet.core.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Heartbeat,
    HeartbeatResponse,
    InstallSnapshot,
    Message,
    RequestVote,
    RequestVoteResponse,
    TimeoutNow,
)
from ranet.core.raft import RaftCore, RandomSource
from ranet.core.read_only import ReadState
from ranet.core.ready import Ready
from ranet.core.types import Entry, EntryKind, HardState, Role, SnapshotMeta, SoftState

__all__ = [
    "AppendEntries",
    "AppendEntriesResponse",
    "ChangeKind",
    "Configuration",
    "CoreConfig",
    "Entry",
    "EntryKind",
    "HardState",
    "Heartbeat",
    "HeartbeatResponse",
    "InstallSnapshot",
    "MembershipChange",
    "Message",
    "RaftCore",
    "RandomSource",
    "ReadState",
    "Ready",
    "RequestVote",
    "RequestVoteResponse",
    "Role",
    "SnapshotMeta",
    "SoftState",
    "TimeoutNow",
]
