"""A hand-driven cluster of cores for unit tests: no clock, no randomness but
each core's seeded election jitter, and messages delivered only when asked.

``deliver()`` carries every queued message to its receiver, honouring the
Ready contract (persist, then send what waits for the disk, then advance),
until no message is left, so a test reads as the story it checks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from ranet.core import CoreConfig, EntryKind, Message, RaftCore, ReadState, Ready
from ranet.storage import MemoryStorage

NO_PRE_VOTE = CoreConfig(pre_vote=False, check_quorum=False)


def new_core(
    node_id: int = 1, voters: Iterable[int] = (1, 2, 3), config: CoreConfig | None = None
) -> RaftCore:
    return RaftCore(node_id, frozenset(voters), random.Random(node_id), config or NO_PRE_VOTE)


def take(core: RaftCore) -> Ready:
    """Take a Ready and acknowledge it at once, as if the disk were instant."""
    ready = core.ready()
    core.advance(ready)
    return ready


def sent(ready: Ready) -> list[Message]:
    return ready.messages + ready.persisted_messages


class Cluster:
    """Cores wired together by a queue of messages the test delivers explicitly."""

    def __init__(self, size: int = 3, config: CoreConfig | None = None) -> None:
        voters = range(1, size + 1)
        self.config = config or NO_PRE_VOTE
        self.storage = {i: MemoryStorage() for i in voters}
        self.cores = {i: new_core(i, voters, self.config) for i in voters}
        self.applied: dict[int, list[bytes]] = {i: [] for i in voters}
        self.read_states: dict[int, list[ReadState]] = {i: [] for i in voters}
        self.queue: list[Message] = []
        self.cut: set[tuple[int, int]] = set()
        self.down: set[int] = set()
        self.delivered: list[Message] = []

    def __getitem__(self, node_id: int) -> RaftCore:
        return self.cores[node_id]

    def flush(self, node_id: int) -> None:
        """Run ``node_id``'s Ready loop: persist, queue messages, apply, advance."""
        core = self.cores[node_id]
        storage = self.storage[node_id]
        while core.has_ready():
            ready = core.ready()
            if ready.hard_state is not None:
                storage.set_hard_state(ready.hard_state)
            if ready.entries:
                storage.append(ready.entries_first_index, ready.entries)
            storage.sync()
            self.queue.extend(sent(ready))
            self.applied[node_id].extend(
                e.data for e in ready.committed_entries if e.kind == EntryKind.NORMAL
            )
            self.read_states[node_id].extend(ready.read_states)
            core.advance(ready)

    def deliver(self, keep: Callable[[Message], bool] = lambda m: True, limit: int = 10_000) -> int:
        """Deliver queued messages (and the answers they cause) until none is left.

        Messages for which ``keep`` is false, on cut links or to down nodes are lost.
        """
        for node_id in self.cores:
            if node_id not in self.down:
                self.flush(node_id)
        count = 0
        while self.queue:
            message = self.queue.pop(0)
            if (
                not keep(message)
                or (message.src, message.dst) in self.cut
                or message.dst in self.down
                or message.src in self.down
            ):
                continue
            count += 1
            if count > limit:
                raise AssertionError("message storm: more than {limit} deliveries")
            self.delivered.append(message)
            self.cores[message.dst].step(message)
            self.flush(message.dst)
        return count

    def elect(self, node_id: int) -> None:
        self.cores[node_id].campaign()
        self.deliver()
        assert self.cores[node_id].is_leader, f"node {node_id} failed to win the election"

    def isolate(self, node_id: int) -> None:
        for other in self.cores:
            if other != node_id:
                self.cut |= {(node_id, other), (other, node_id)}

    def heal(self) -> None:
        self.cut.clear()

    def commit_without(self, node_id: int, commands: list[bytes]) -> None:
        """The leader (node 1) commits ``commands`` while ``node_id`` is cut off;
        the link is healed afterwards, with nothing left in flight."""
        self.isolate(node_id)
        for command in commands:
            self.cores[1].propose(command)
        self.deliver()
        self.heal()

    def tick(self, node_id: int, ticks: int = 1) -> None:
        for _ in range(ticks):
            self.cores[node_id].tick()
        self.flush(node_id)

    def restart(self, node_id: int) -> None:
        """Replace a core with one rebuilt from what its storage kept."""
        state = self.storage[node_id].load()
        self.cores[node_id] = RaftCore(
            node_id,
            frozenset(self.cores),
            random.Random(node_id + 100),
            self.config,
            hard_state=state.hard_state,
            entries=state.entries,
        )
        self.applied[node_id] = []
