"""WAIT on the leader: how many members hold its log up to an index, durably.

The leader knows. A follower's ``match_index`` is the last entry it
acknowledged, and it acknowledges only what is on its disk (runtime.py
Rule 1: an append's answer is a persisted message); the leader's own
entries are on disk up to its log's ``stable_index`` (replication.py
Rule 2). By Log Matching (Raft §5.3) a member holding index ``i`` of the
leader's log holds every entry before it - for good, once committed.

``ReplicaWaits`` keeps the requests waiting for more members to hold their
index; the runtime checks them after each pass of its Ready loop while any
waits (acknowledgements arrive as messages, the leader's own durability
with a sync). Each ends when enough members hold its index, at its
timeout, or when the node no longer leads - answering how many held it,
as last counted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ranet.core import RaftCore


def holding(core: RaftCore, index: int, asker: int) -> int:
    """How many members other than ``asker`` hold the leader's log up to
    ``index`` on their disks."""
    replicator = core.replicator
    assert replicator is not None, "only the leader knows"
    count = sum(
        peer != asker and progress.match_index >= index
        for peer, progress in replicator.progress.items()
    )
    return count + (asker != core.id and core.log.stable_index >= index)


@dataclass(slots=True)
class _Wait:
    index: int
    wanted: int
    asker: int
    count: int
    future: asyncio.Future[int]
    timer: asyncio.TimerHandle | None = None


class ReplicaWaits:
    """The leader's WAIT requests still waiting for members."""

    def __init__(self) -> None:
        self.pending: list[_Wait] = []

    def wait(
        self, loop: asyncio.AbstractEventLoop, core: RaftCore, wanted: int, asker: int,
        timeout: float | None,
    ) -> asyncio.Future[int]:  # fmt: skip
        """How many members other than ``asker`` hold the log up to its
        present end, once ``wanted`` do or ``timeout`` seconds pass (None:
        no limit; 0: at once). Leader only."""
        index = core.log.last_index
        count = holding(core, index, asker)
        future: asyncio.Future[int] = loop.create_future()
        if count >= wanted or timeout == 0:
            future.set_result(count)
            return future
        waiting = _Wait(index, wanted, asker, count, future)
        if timeout is not None:
            waiting.timer = loop.call_later(timeout, self._answer, waiting)
        self.pending.append(waiting)
        return future

    def check(self, core: RaftCore) -> None:
        """After a pass of the Ready loop: answer the requests enough members
        now hold - all of them, with their last counts, if the node no longer
        leads - and drop those whose callers went away."""
        leading = core.replicator is not None
        still: list[_Wait] = []
        for waiting in self.pending:
            if leading and not waiting.future.done():
                waiting.count = holding(core, waiting.index, waiting.asker)
                if waiting.count < waiting.wanted:
                    still.append(waiting)
                    continue
            self._answer(waiting)
        self.pending = still

    def stop(self, error: BaseException) -> None:
        """The node stops: every request fails with ``error``."""
        for waiting in self.pending:
            if waiting.timer is not None:
                waiting.timer.cancel()
            if not waiting.future.done():
                waiting.future.set_exception(error)
        self.pending = []

    @staticmethod
    def _answer(waiting: _Wait) -> None:
        if waiting.timer is not None:
            waiting.timer.cancel()
            waiting.timer = None
        if not waiting.future.done():
            waiting.future.set_result(waiting.count)
