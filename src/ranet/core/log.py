"""The replicated log as one core sees it, with its durable and pending parts.

Theory of operation. The whole log after the last snapshot lives in memory:
``entries[k]`` has index ``offset + 1 + k``, where ``offset`` is the index the
snapshot covers (0 when there is none). Four cursors move through it:

    offset <= applied <= commit_index <= last_index
    stable_index <= last_index            (durable on this node's disk)
    unpersisted_from <= last_index + 1    (first index not yet handed to storage)

Rule 1 - never truncate what matches (Raft §5.3). Entries are only cut at the
first index whose term differs from the incoming entry, and never at or below
``commit_index``: a committed entry is permanent.

Rule 2 - durability is learned, not assumed. ``stable_index`` moves only when
the runtime reports a finished write (``stable_to``), and only if the entry
at that index is still the one that was written (same term).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ranet.core.types import Entry, EntryKind
from ranet.errors import ProtocolInvariantViolated


class RaftLog:
    """In-memory log with commit, apply and durability cursors."""

    __slots__ = (
        "applied",
        "commit_index",
        "config_indexes",
        "config_version",
        "entries",
        "offset",
        "offset_term",
        "stable_index",
        "unpersisted_from",
    )

    def __init__(
        self, offset: int = 0, offset_term: int = 0, entries: Sequence[Entry] = ()
    ) -> None:
        self.offset = offset
        self.offset_term = offset_term
        self.entries: list[Entry] = list(entries)
        self.commit_index = offset
        self.applied = offset
        self.stable_index = self.last_index
        self.unpersisted_from = self.last_index + 1
        self.config_indexes: list[int] = []  # indexes of CONFIG entries in the log
        self.config_version = 0  # changes whenever config_indexes does
        self._note_configs(self.offset + 1, self.entries)

    # -- reading -----------------------------------------------------------

    @property
    def first_index(self) -> int:
        return self.offset + 1

    @property
    def last_index(self) -> int:
        return self.offset + len(self.entries)

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.offset_term

    def term(self, index: int) -> int | None:
        """Term of the entry at ``index``; None if compacted away or beyond the end."""
        if index == self.offset:
            return self.offset_term
        if self.offset < index <= self.last_index:
            return self.entries[index - self.offset - 1].term
        return None

    def slice(self, low: int, high: int) -> list[Entry]:
        """Entries with index in ``[low, high)``."""
        if low <= self.offset:
            raise IndexError(f"entries before {self.first_index} are compacted")
        return self.entries[low - self.offset - 1 : high - self.offset - 1]

    def matches(self, index: int, term: int) -> bool:
        return self.term(index) == term

    def is_up_to_date(self, last_log_index: int, last_log_term: int) -> bool:
        """Raft §5.4.1: a log with a later last term, or the same last term and
        at least as many entries, is at least as up-to-date as ours."""
        return last_log_term > self.last_term or (
            last_log_term == self.last_term and last_log_index >= self.last_index
        )

    def find_conflict_by_term(self, index: int, term: int) -> int:
        """Largest index ``<= index`` whose entry has a term ``<= term``.

        Both sides of a rejected AppendEntries use this to skip a whole run of
        entries that cannot match (Raft §5.3, the optimisation at the end).
        """
        index = min(index, self.last_index)
        while index > self.offset and self.entries[index - self.offset - 1].term > term:
            index -= 1
        return index

    # -- writing -----------------------------------------------------------

    def append(self, entries: Sequence[Entry]) -> int:
        """Append at the end (the leader's own proposals). Returns the new last index."""
        first_index = self.last_index + 1
        self.entries.extend(entries)
        self._note_configs(first_index, entries)
        return self.last_index

    def _note_configs(self, first_index: int, entries: Sequence[Entry]) -> None:
        found = [first_index + i for i, e in enumerate(entries) if e.kind == EntryKind.CONFIG]
        if found:
            self.config_indexes += found
            self.config_version += 1

    def _forget_configs(self, keep: Callable[[int], bool]) -> None:
        kept = [index for index in self.config_indexes if keep(index)]
        if len(kept) != len(self.config_indexes):
            self.config_indexes = kept
            self.config_version += 1

    def latest_config(self, at_or_before: int | None = None) -> tuple[int, Entry] | None:
        """The last CONFIG entry in the log (at or before an index), with its index."""
        for index in reversed(self.config_indexes):
            if at_or_before is None or index <= at_or_before:
                return index, self.entries[index - self.offset - 1]
        return None

    def maybe_append(
        self,
        prev_log_index: int,
        prev_log_term: int,
        leader_commit: int,
        entries: Sequence[Entry],
    ) -> int | None:
        """The follower's AppendEntries rule (Raft Figure 2, receiver steps 2-5).

        Returns the index of the last new entry, or None when the consistency
        check fails. Only a real conflict truncates (rule 1).
        """
        if not self.matches(prev_log_index, prev_log_term):
            return None
        last_new_index = prev_log_index + len(entries)
        conflict = self._first_conflict(prev_log_index + 1, entries)
        if conflict:
            if conflict <= self.commit_index:
                raise ProtocolInvariantViolated(
                    f"entry {conflict} conflicts but is already committed "
                    f"(commit index {self.commit_index})"
                )
            self._truncate_and_append(entries[conflict - prev_log_index - 1 :], conflict)
        self.commit_to(min(leader_commit, last_new_index))
        return last_new_index

    def _first_conflict(self, first_index: int, entries: Sequence[Entry]) -> int:
        """Index of the first entry that is new or differs in term; 0 if none."""
        for position, entry in enumerate(entries):
            index = first_index + position
            if index <= self.offset:
                continue  # covered by the snapshot, hence committed and matching
            if self.term(index) != entry.term:
                return index
        return 0

    def _truncate_and_append(self, entries: Sequence[Entry], first_index: int) -> None:
        del self.entries[first_index - self.offset - 1 :]
        self._forget_configs(lambda index: index < first_index)
        self.entries.extend(entries)
        self._note_configs(first_index, entries)
        self.unpersisted_from = min(self.unpersisted_from, first_index)
        self.stable_index = min(self.stable_index, first_index - 1)

    def commit_to(self, index: int) -> bool:
        """Raise the commit index to ``index`` if that is progress."""
        if index <= self.commit_index:
            return False
        if index > self.last_index:
            raise ProtocolInvariantViolated(
                f"commit index {index} is beyond the last index {self.last_index}"
            )
        self.commit_index = index
        return True

    # -- handing work to the runtime -----------------------------------------

    def take_unpersisted(self) -> tuple[int, list[Entry]]:
        """Entries not yet handed to storage, with the index of the first one."""
        first = self.unpersisted_from
        entries = self.entries[first - self.offset - 1 :]
        self.unpersisted_from = self.last_index + 1
        return first, entries

    def has_unpersisted(self) -> bool:
        return self.unpersisted_from <= self.last_index

    def take_committed(self) -> tuple[int, list[Entry]]:
        """Committed entries not yet handed out for applying, in order, once each."""
        first = self.applied + 1
        entries = self.entries[first - self.offset - 1 : self.commit_index - self.offset]
        self.applied = self.commit_index
        return first, entries

    def has_committed_to_apply(self) -> bool:
        return self.applied < self.commit_index

    # -- snapshots (Raft §7) -------------------------------------------------------------

    def compact(self, index: int) -> None:
        """Drop the entries up to ``index``, which a durable snapshot now covers.

        Only applied entries may be compacted: the snapshot holds their effect.
        """
        if index <= self.offset:
            return
        if index > self.applied:
            raise ProtocolInvariantViolated(
                f"cannot compact to {index}: only entries up to {self.applied} are applied"
            )
        term = self.term(index)
        assert term is not None
        del self.entries[: index - self.offset]
        self.offset, self.offset_term = index, term
        self._forget_configs(lambda config_index: config_index > index)
        self.unpersisted_from = max(self.unpersisted_from, index + 1)
        self.stable_index = max(self.stable_index, index)

    def restore(self, index: int, term: int) -> None:
        """Replace the whole log by a snapshot's point (InstallSnapshot, Raft §7)."""
        self.entries = []
        self.offset, self.offset_term = index, term
        self._forget_configs(lambda config_index: False)
        self.commit_index = self.applied = self.stable_index = index
        self.unpersisted_from = index + 1

    def stable_to(self, index: int, term: int) -> None:
        """The runtime reports entries up to ``index`` (of ``term``) are durable (rule 2)."""
        if index > self.stable_index and self.term(index) == term:
            self.stable_index = index
