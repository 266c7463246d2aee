"""ReadIndex: linearizable reads without writing to the log (thesis §6.4).

Theory of operation. To serve a read the leader must be sure it is still the
leader and know an index at least as high as any committed write:

1. it waits until it has committed an entry of its own term (its no-op), so
   its commit index is the cluster's;
2. it records the read with ``read_index = commit_index`` and a sequence
   number, and sends heartbeats carrying the latest sequence number;
3. once a majority of voters (itself included) has acknowledged a heartbeat
   carrying a sequence number at least the read's, no other leader can have
   been elected before the read began, so the read may be served as soon as
   the state machine has applied ``read_index``.

Reads that arrive together share one heartbeat round: a voter's
acknowledgement of sequence number ``s`` confirms every read numbered up
to ``s``. And only one round is in flight at a time: reads that arrive
while one is out wait for it to return and then share the next, so under
load a round carries many reads instead of every loop iteration sending
its own (a lost round is made up by the next periodic heartbeat, which
carries the latest sequence number too).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class ReadState:
    """A read the runtime may serve once its state machine applied ``index``."""

    context: bytes
    index: int


class ReadOnlyQueue:
    """The leader's pending ReadIndex requests, in arrival order."""

    __slots__ = ("_pending", "last_sequence")

    def __init__(self) -> None:
        self.last_sequence = 0
        self._pending: deque[tuple[int, ReadState]] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, context: bytes, read_index: int) -> int:
        """Queue a read at ``read_index``; return the sequence number to confirm."""
        self.last_sequence += 1
        self._pending.append((self.last_sequence, ReadState(context, read_index)))
        return self.last_sequence

    def waiting_since(self, sequence: int) -> bool:
        """Whether a read numbered ``sequence`` or lower is still unconfirmed."""
        return bool(self._pending) and self._pending[0][0] <= sequence

    def confirm_through(self, sequence: int) -> list[ReadState]:
        """Release every read numbered up to ``sequence`` (a majority acknowledged it)."""
        released = []
        pending = self._pending
        while pending and pending[0][0] <= sequence:
            released.append(pending.popleft()[1])
        return released

    def clear(self) -> list[ReadState]:
        """Drop every pending read (leadership lost); return them so callers can fail them."""
        dropped = [state for _, state in self._pending]
        self._pending.clear()
        return dropped
