"""The ``Ready`` batch: everything the core asks its runtime to do.

Rule 1 - order. The runtime handles a Ready in this order (DESIGN.md):
  0. if there is a ``snapshot`` (InstallSnapshot from the leader, Raft §7),
     save it durably, which discards the log it replaces, and restore the
     state machine from it;
  1. write ``hard_state`` and ``entries`` (from ``entries_first_index``,
     first discarding any stored entry at or after it) and sync them;
  2. send ``persisted_messages`` — only once step 1 is durable, because they
     promise durability (a vote granted, an append acknowledged, a
     RequestVote that relies on the term and self-vote being on disk);
  3. apply ``committed_entries`` (from ``committed_first_index``) in order.
  4. serve each of ``read_states`` once the state machine has applied its
     ``index`` (ReadIndex, thesis §6.4).
``messages`` promise nothing about this node's disk and may be sent at once,
before or while step 1 runs (thesis §10.2.1: a leader replicates its entries
while its own write is in flight).

Rule 2 - acknowledge. Once step 1 is durable the runtime calls
``core.advance(ready)``; Readies are advanced in the order they were taken.
Several may be outstanding, which is how a runtime overlaps one fsync with
gathering the next batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ranet.core.membership import Configuration
from ranet.core.messages import Message
from ranet.core.read_only import ReadState
from ranet.core.types import Entry, HardState, SnapshotMeta, SoftState


@dataclass(slots=True)
class Ready:
    """One batch of work for the runtime. See the module docstring for the order."""

    soft_state: SoftState | None = None
    snapshot: tuple[SnapshotMeta, bytes] | None = None
    hard_state: HardState | None = None
    entries_first_index: int = 0
    entries: list[Entry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    persisted_messages: list[Message] = field(default_factory=list)
    committed_first_index: int = 0
    committed_entries: list[Entry] = field(default_factory=list)
    read_states: list[ReadState] = field(default_factory=list)
    configuration: Configuration | None = None
    """The configuration now in force, when it changed (members and their
    context, e.g. addresses the runtime must connect to)."""

    must_sync: bool = False
    """Whether step 1 must sync before this Ready's promises are kept: true
    for new entries or a new term or vote. A change of commit index alone is
    written but need not be synced at once - a commit index found lower
    after a crash is only learned again from the leader."""

    @property
    def last_entry_index(self) -> int:
        """Index of the last entry to persist (0 if none)."""
        return self.entries_first_index + len(self.entries) - 1 if self.entries else 0
