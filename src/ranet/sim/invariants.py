"""Raft's safety properties (paper Figure 3), checked as the simulation runs.

Theory of operation. Every change to a core's log reaches its storage
through a Ready, and every applied entry through a Ready too, so the checker
watches Readies and role changes rather than re-reading whole logs:

- Election Safety: at most one leader per term. Checked on every role change.
- Leader Append-Only: a leader never overwrites or deletes its entries. A
  Ready from a node that has led the same term since its previous Ready must
  not rewrite an index it already handed out.
- Log Matching: same index and term imply the same entry and, recursively,
  the same preceding entries. Checked by induction: every entry ever handed
  out is recorded as ``(index, term) -> (entry, term of index - 1)``; any
  node holding the same ``(index, term)`` must agree on both.
- Leader Completeness: a committed entry is in the log of every later
  leader. Checked when a node takes office, against every entry known to be
  committed (applied anywhere).
- State Machine Safety: no two nodes apply different entries at one index,
  and each node applies indexes in order, exactly once per incarnation.

A violation raises ``SafetyViolation`` carrying the seed and the trace tail.
"""

from __future__ import annotations

from ranet.core.log import RaftLog
from ranet.core.types import Entry


class SafetyViolation(AssertionError):
    """A Raft safety property failed. Replays exactly with the same seed."""

    def __init__(self, prop: str, detail: str, seed: int | None, trace: list[str]) -> None:
        self.prop = prop
        self.detail = detail
        self.seed = seed
        self.trace = trace
        tail = "\n".join(trace[-60:])
        super().__init__(f"{prop} violated (seed {seed}): {detail}\n--- trace tail ---\n{tail}")


class SafetyChecker:
    """Accumulates what the cluster has done and rejects what Raft forbids."""

    def __init__(self) -> None:
        self.leaders: dict[int, int] = {}  # term -> leader id
        self.entries: dict[tuple[int, int], tuple[Entry, int]] = {}  # (index, term) -> entry, prev
        self.committed: dict[int, Entry] = {}  # index -> entry applied somewhere
        self._leading: dict[int, tuple[int, int]] = {}  # node -> (term, last handed index)
        self._applied_to: dict[int, int] = {}  # node -> last index applied this incarnation

    # Each check returns a description of the violation, or None.

    def on_leader(self, node_id: int, term: int, log: RaftLog, handed: int) -> str | None:
        """A node took office in ``term`` having handed its storage entries up to
        ``handed`` (Election Safety, Leader Completeness)."""
        other = self.leaders.setdefault(term, node_id)
        if other != node_id:
            return f"Election Safety: nodes {other} and {node_id} both lead term {term}"
        self._leading[node_id] = (term, handed)
        for index, entry in self.committed.items():
            if index <= log.offset:
                continue
            held = log.term(index)
            if held is None or log.entries[index - log.offset - 1] != entry:
                return (
                    f"Leader Completeness: leader {node_id} of term {term} lacks committed "
                    f"entry {index} {entry!r}"
                )
        return None

    def on_not_leader(self, node_id: int) -> None:
        self._leading.pop(node_id, None)

    def on_entries(
        self, node_id: int, term: int, first_index: int, entries: list[Entry], prev_term: int
    ) -> str | None:
        """A node handed ``entries`` (from ``first_index``) to its storage."""
        leading = self._leading.get(node_id)
        if leading is not None:
            lead_term, handed = leading
            if lead_term == term and first_index <= handed:
                return (
                    f"Leader Append-Only: leader {node_id} of term {term} rewrote from "
                    f"index {first_index}, having handed out up to {handed}"
                )
            self._leading[node_id] = (lead_term, first_index + len(entries) - 1)
        known = self.entries
        for position, entry in enumerate(entries):
            key = (first_index + position, entry.term)
            record = (entry, prev_term)
            seen = known.setdefault(key, record)
            if seen != record:
                return (
                    f"Log Matching: node {node_id} holds {entry!r} after term {prev_term} at "
                    f"index {key[0]}, another node held {seen[0]!r} after term {seen[1]}"
                )
            prev_term = entry.term
        return None

    def on_restart(self, node_id: int, applied: int) -> None:
        """A node restarted; its state machine restarts from ``applied``."""
        self._applied_to[node_id] = applied
        self._leading.pop(node_id, None)

    def on_snapshot(self, node_id: int, entries: list[Entry]) -> str | None:
        """A node's state machine was replaced by a snapshot holding ``entries``
        (indexes 1..n): each must be the entry committed at its index."""
        for index, entry in enumerate(entries, start=1):
            seen = self.committed.setdefault(index, entry)
            if seen != entry:
                return (
                    f"State Machine Safety: node {node_id} installed a snapshot with {entry!r} "
                    f"at index {index}, another node applied {seen!r}"
                )
        self._applied_to[node_id] = len(entries)
        return None

    def on_apply(self, node_id: int, first_index: int, entries: list[Entry]) -> str | None:
        """A node applied ``entries`` from ``first_index`` (State Machine Safety)."""
        expected = self._applied_to.get(node_id, 0) + 1
        if entries and first_index != expected:
            return f"node {node_id} applied index {first_index} but expected {expected}"
        for position, entry in enumerate(entries):
            index = first_index + position
            seen = self.committed.setdefault(index, entry)
            if seen != entry:
                return (
                    f"State Machine Safety: node {node_id} applied {entry!r} at index {index}, "
                    f"another node applied {seen!r}"
                )
        self._applied_to[node_id] = first_index + len(entries) - 1 if entries else expected - 1
        return None
