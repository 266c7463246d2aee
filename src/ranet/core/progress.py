"""What a leader knows about one follower's log, and how it sends to it.

Raft Figure 2 keeps ``next_index`` and ``match_index`` per follower. We add a
replication state, as etcd-io/raft does:

- PROBE: the leader does not know where the follower's log ends. It sends one
  AppendEntries and waits for the answer (or the next heartbeat) before
  sending another, backing ``next_index`` off with the follower's conflict
  hint on each rejection (Raft §5.3).
- REPLICATE: the follower's log is known to match. The leader pipelines:
  it advances ``next_index`` optimistically as it sends, limited by the
  in-flight window.
- SNAPSHOT: the entries the follower needs are compacted away; a snapshot
  is on its way (Raft §7) and nothing else is sent until it is acknowledged,
  or until ``snapshot_wait`` heartbeat rounds pass and it is sent again.

``sent_commit`` is the highest commit index this follower was told, so the
leader can tell whether a follower waiting on an index still needs a notice;
``read_acked`` the highest ReadIndex sequence number it acknowledged.

Invariant: ``match_index < next_index``.
"""

from __future__ import annotations

from enum import IntEnum

from ranet.core.inflights import Inflights


class ReplicationState(IntEnum):
    PROBE = 0
    REPLICATE = 1
    SNAPSHOT = 2


class Progress:
    """Replication progress of one follower, as tracked by the leader."""

    __slots__ = (
        "acked_recently",
        "heard_at",
        "inflights",
        "match_index",
        "next_index",
        "probe_sent",
        "read_acked",
        "recent_active",
        "sent_commit",
        "snapshot_index",
        "snapshot_wait",
        "state",
    )

    def __init__(self, next_index: int, max_inflight: int) -> None:
        self.match_index = 0
        self.next_index = next_index
        self.state = ReplicationState.PROBE
        self.probe_sent = False
        self.recent_active = False
        self.acked_recently = False
        self.heard_at = -1  # the leader's tick count when this follower last answered
        self.sent_commit = 0
        self.read_acked = 0
        self.snapshot_index = 0
        self.snapshot_wait = 0
        self.inflights = Inflights(max_inflight)

    def __repr__(self) -> str:
        return (
            f"Progress({self.state.name}, match={self.match_index}, next={self.next_index}, "
            f"inflight={len(self.inflights)})"
        )

    def is_paused(self) -> bool:
        """Whether the leader must hold further AppendEntries to this follower."""
        if self.state == ReplicationState.PROBE:
            return self.probe_sent
        if self.state == ReplicationState.SNAPSHOT:
            return True
        return self.inflights.full()

    def become_probe(self) -> None:
        self.state = ReplicationState.PROBE
        self.next_index = self.match_index + 1
        self.probe_sent = False
        self.inflights.reset()

    def become_replicate(self) -> None:
        self.state = ReplicationState.REPLICATE
        self.next_index = self.match_index + 1
        self.probe_sent = False
        self.inflights.reset()

    def become_snapshot(self, snapshot_index: int) -> None:
        self.state = ReplicationState.SNAPSHOT
        self.snapshot_index = snapshot_index
        self.snapshot_wait = 0
        self.inflights.reset()

    def sent_entries(self, last_index: int) -> None:
        """Account for an AppendEntries carrying entries up to ``last_index``."""
        if self.state == ReplicationState.REPLICATE:
            self.next_index = last_index + 1
            self.inflights.add(last_index)
        else:
            self.probe_sent = True

    def maybe_update(self, match_index: int) -> bool:
        """Record an acknowledgement of ``match_index``; False if it was stale."""
        updated = match_index > self.match_index
        if updated:
            self.match_index = match_index
            self.probe_sent = False
            self.acked_recently = True
        self.next_index = max(self.next_index, match_index + 1)
        return updated

    def maybe_back_off(self, rejected_index: int, hint_next: int) -> bool:
        """Move ``next_index`` back after a rejection of ``rejected_index``.

        ``hint_next`` is where the follower's conflict hint says to resume.
        Returns False for a stale rejection (one answering a message sent
        before a newer decision), which must be ignored.
        """
        if self.state == ReplicationState.SNAPSHOT:
            return False  # only the snapshot's acknowledgement moves it on
        if self.state == ReplicationState.REPLICATE:
            if rejected_index <= self.match_index:
                return False
            self.next_index = self.match_index + 1
            return True
        if self.next_index - 1 != rejected_index:
            return False
        self.next_index = max(min(rejected_index, hint_next), self.match_index + 1)
        self.probe_sent = False
        return True
