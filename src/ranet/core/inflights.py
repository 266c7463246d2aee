"""Flow control: the AppendEntries a leader has in flight to one follower.

A bounded FIFO of the last index carried by each message sent and not yet
acknowledged. When it is full the leader stops sending to that follower
until acknowledgements free room (DESIGN.md, "pipeline ... within a bounded
in-flight window"). Acknowledgements are cumulative: an ack for index ``i``
frees every message whose last index is ``<= i``.
"""

from __future__ import annotations

from collections import deque


class Inflights:
    """At most ``capacity`` unacknowledged messages, by the last index each carries."""

    __slots__ = ("_last_indexes", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the in-flight window needs room for at least one message")
        self.capacity = capacity
        self._last_indexes: deque[int] = deque()

    def __len__(self) -> int:
        return len(self._last_indexes)

    def full(self) -> bool:
        return len(self._last_indexes) >= self.capacity

    def add(self, last_index: int) -> None:
        """Record a message carrying entries up to ``last_index`` (increasing)."""
        if self.full():
            raise OverflowError("in-flight window is full")
        self._last_indexes.append(last_index)

    def free_to(self, index: int) -> None:
        """Forget every message whose entries are all acknowledged by ``index``."""
        last_indexes = self._last_indexes
        while last_indexes and last_indexes[0] <= index:
            last_indexes.popleft()

    def free_first(self) -> None:
        """Free one slot, so a follower that lost an ack is probed again."""
        if self._last_indexes:
            self._last_indexes.popleft()

    def reset(self) -> None:
        self._last_indexes.clear()
