"""A simulated cluster: N cores on a virtual clock over a faulty network.

Theory of operation. Time is an integer; a tick lasts ``TICK`` units and each
node ticks on its own phase so that nodes are not in lock step. Events (a
tick, a message arriving, a disk write finishing) sit in one heap ordered by
time, then by sequence number, so a run is a pure function of its seed.

Each node handles its Readies the way the real runtime does (``ready.py``):
entries and hard state go to a ``MemoryStorage``; the sync finishes after a
random disk delay; only then are the Ready's durability-promising messages
sent and the core told (``advance``). A crash drops unsynced writes
(``MemoryStorage.crash``) and every Ready still waiting for its sync; a
restart rebuilds the core from what storage kept. So "only what was synced
survives" holds here exactly as on disk.

With ``snapshot_every`` set, each node snapshots its state machine (the list
of entries it applied) whenever that many entries were applied since the
last snapshot, and compacts its log (Raft §7); leaders then bring lagging
followers up to date with InstallSnapshot, carrying the sender's latest
stored snapshot as the real runtime does.

Safety properties are checked after every event (``invariants.py``); the
first violation raises ``SafetyViolation`` with the seed and the trace.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import msgpack

from ranet.core import (
    CoreConfig,
    Entry,
    EntryKind,
    InstallSnapshot,
    MembershipChange,
    Message,
    RaftCore,
    Ready,
    Role,
    SnapshotMeta,
    SoftState,
)
from ranet.errors import ConfigurationError, NotLeader, ProposalDropped
from ranet.sim.invariants import SafetyChecker, SafetyViolation
from ranet.sim.network import NetworkConfig, SimNetwork
from ranet.storage.memory import MemoryStorage

TICK = 10  # virtual time units per tick
TRACE_LINES = 400


@dataclass(slots=True)
class SimNode:
    """One simulated server: its core, its disk, and what it has applied."""

    node_id: int
    core: RaftCore
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    alive: bool = True
    applied: list[Entry] = field(default_factory=list)
    syncing: deque[Ready] = field(default_factory=deque)
    incarnation: int = 0
    soft_state: SoftState | None = None


class Simulation:
    """Drive a cluster of cores deterministically from one seed.

    Typical use::

        sim = Simulation(nodes=5, seed=7)
        sim.run_until(lambda: sim.leader() is not None, max_ticks=100)
        sim.propose(b"x")
        sim.run_for(20)
    """

    TICK = TICK

    def __init__(
        self,
        nodes: int = 3,
        seed: int = 0,
        *,
        config: CoreConfig | None = None,
        network: NetworkConfig | None = None,
        max_disk_delay: int = 2,
        snapshot_every: int | None = None,
        voters: Iterable[int] | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.config = config or CoreConfig()
        self.network = SimNetwork(network or NetworkConfig(), self.rng)
        self.max_disk_delay = max_disk_delay
        self.snapshot_every = snapshot_every
        # The initial configuration; other nodes start outside it, waiting to be added.
        self.voters = frozenset(range(nodes) if voters is None else voters)
        self.now = 0
        self.trace: deque[str] = deque(maxlen=TRACE_LINES)
        self.on_event = on_event
        self.checker = SafetyChecker()
        self.messages_sent = 0
        self.faults_injected = 0
        self.snapshots_installed = 0
        self.membership_changes = 0
        self._events: list[tuple[int, int, int, Any]] = []
        self._sequence = 0
        self.nodes: dict[int, SimNode] = {}
        for node_id in range(nodes):
            self.nodes[node_id] = SimNode(node_id, self._new_core(node_id, MemoryStorage()))
            self._schedule(self.rng.randrange(1, TICK + 1), _TICK, node_id)

    # -- building blocks -------------------------------------------------------

    def _restored_state(self, storage: MemoryStorage) -> list[Entry]:
        snapshot = storage.load_snapshot()
        return decode_snapshot(snapshot[1]) if snapshot is not None else []

    def _new_core(self, node_id: int, storage: MemoryStorage) -> RaftCore:
        state = storage.load()
        return RaftCore(
            node_id,
            self.voters,
            random.Random(self.rng.getrandbits(64)),
            self.config,
            hard_state=state.hard_state,
            snapshot=state.snapshot,
            entries=state.entries,
        )

    def _schedule(self, delay: int, kind: int, payload: Any) -> None:
        self._sequence += 1
        heapq.heappush(self._events, (self.now + delay, self._sequence, kind, payload))

    def log(self, text: str, *, detail: bool = False) -> None:
        """Add a line to the trace, and unless it is a ``detail``, to the live timeline."""
        line = f"t={self.now / TICK:8.1f}  {text}"
        self.trace.append(line)
        if self.on_event is not None and not detail:
            self.on_event(line)

    def _violation(self, detail: str | None) -> None:
        if detail is not None:
            prop = detail.split(":", 1)[0]
            raise SafetyViolation(prop, detail, self.seed, list(self.trace))

    # -- running ------------------------------------------------------------------

    def step(self) -> bool:
        """Handle the next event; False when there is none."""
        if not self._events:
            return False
        time, _, kind, payload = heapq.heappop(self._events)
        self.now = time
        if kind == _TICK:
            node = self.nodes[payload]
            self._schedule(TICK, _TICK, payload)
            if node.alive:
                node.core.tick()
                self._process(node)
        elif kind == _DELIVER:
            message = payload
            node = self.nodes[message.dst]
            if node.alive and self.network.connected(message.src, message.dst):
                node.core.step(message)
                self._process(node)
        else:
            node_id, incarnation = payload
            node = self.nodes[node_id]
            if node.alive and node.incarnation == incarnation and node.syncing:
                self._finish_sync(node)
                self._process(node)
        return True

    def run_for(self, ticks: int) -> None:
        """Advance virtual time by ``ticks`` ticks."""
        until = self.now + ticks * TICK
        while self._events and self._events[0][0] <= until:
            self.step()
        self.now = until

    def run_until(self, condition: Callable[[], bool], max_ticks: int) -> bool:
        """Run until ``condition()`` holds (checked after every event) or time runs out."""
        until = self.now + max_ticks * TICK
        while not condition():
            if not self._events or self._events[0][0] > until:
                self.now = max(self.now, until)
                return condition()
            self.step()
        return True

    # -- one node's Ready loop -------------------------------------------------

    def _process(self, node: SimNode) -> None:
        core = node.core
        while core.has_ready():
            ready = core.ready()
            self._observe(node, ready)
            self._send(node, ready.messages)
            if ready.snapshot is not None:
                self._install_snapshot(node, *ready.snapshot)
            if ready.hard_state is not None:
                node.storage.set_hard_state(ready.hard_state)
            if ready.entries:
                node.storage.append(ready.entries_first_index, ready.entries)
            self._apply(node, ready)
            self._maybe_snapshot(node)
            node.syncing.append(ready)
            delay = self.rng.randint(0, self.max_disk_delay)
            if delay == 0 and len(node.syncing) == 1:
                self._finish_sync(node)
            else:
                self._schedule(delay, _SYNCED, (node.node_id, node.incarnation))

    def _finish_sync(self, node: SimNode) -> None:
        """The disk finished: every queued Ready is now durable, in order."""
        node.storage.sync()
        while node.syncing:
            ready = node.syncing.popleft()
            self._send(node, ready.persisted_messages)
            node.core.advance(ready)

    def _install_snapshot(self, node: SimNode, meta: SnapshotMeta, data: bytes) -> None:
        node.storage.save_snapshot(meta, data)
        node.applied = decode_snapshot(data)
        self._violation(self.checker.on_snapshot(node.node_id, node.applied))
        self.snapshots_installed += 1
        self.log(f"node {node.node_id} installed a snapshot up to {meta.last_index}")

    def _maybe_snapshot(self, node: SimNode) -> None:
        log = node.core.log
        if self.snapshot_every is None or log.applied - log.offset < self.snapshot_every:
            return
        meta = node.core.compact(log.applied)
        node.storage.save_snapshot(meta, encode_snapshot(node.applied[: log.applied]))
        self.log(f"node {node.node_id} snapshot at {meta.last_index}", detail=True)

    def _send(self, node: SimNode, messages: list[Message]) -> None:
        for message in messages:
            if isinstance(message, InstallSnapshot):
                message = self._with_snapshot(node, message)
            self.messages_sent += 1
            for delay in self.network.arrival_delays(message.src, message.dst):
                self._schedule(delay, _DELIVER, message)

    @staticmethod
    def _with_snapshot(node: SimNode, message: InstallSnapshot) -> InstallSnapshot:
        """Attach the sender's latest stored snapshot, as the runtime does."""
        stored = node.storage.load_snapshot()
        assert stored is not None, "a compacted log implies a stored snapshot"
        meta, data = stored
        return replace(
            message, last_index=meta.last_index, last_term=meta.last_term,
            voters=meta.voters, learners=meta.learners, context=meta.context, data=data,
        )  # fmt: skip

    def _apply(self, node: SimNode, ready: Ready) -> None:
        if not ready.committed_entries:
            return
        self._violation(
            self.checker.on_apply(
                node.node_id, ready.committed_first_index, ready.committed_entries
            )
        )
        node.applied.extend(ready.committed_entries)
        last = ready.committed_first_index + len(ready.committed_entries) - 1
        if node.core.role == Role.LEADER:
            self.log(f"node {node.node_id} (leader) committed and applied up to {last}")
        else:
            self.log(f"node {node.node_id} applied up to {last}", detail=True)

    def _observe(self, node: SimNode, ready: Ready) -> None:
        core = node.core
        soft = ready.soft_state
        if soft is not None:
            self._log_soft_state(node, soft)
            if soft.role == Role.LEADER:
                # Entries in this same Ready were appended after taking office.
                handed = ready.entries_first_index - 1 if ready.entries else core.log.last_index
                self._violation(
                    self.checker.on_leader(node.node_id, soft.current_term, core.log, handed)
                )
            else:
                self.checker.on_not_leader(node.node_id)
        if ready.entries:
            prev_term = core.log.term(ready.entries_first_index - 1) or 0
            self._violation(
                self.checker.on_entries(
                    node.node_id,
                    core.current_term,
                    ready.entries_first_index,
                    ready.entries,
                    prev_term,
                )
            )

    def _log_soft_state(self, node: SimNode, soft: SoftState) -> None:
        previous, node.soft_state = node.soft_state, soft
        if previous is None or previous.role != soft.role:
            text = f"node {node.node_id} BECAME {soft.role} in term {soft.current_term}"
        elif soft.leader_id is not None:
            text = (
                f"node {node.node_id} follows leader {soft.leader_id} in term {soft.current_term}"
            )
        else:
            text = f"node {node.node_id} lost its leader in term {soft.current_term}"
        self.log(text, detail=soft.role == Role.FOLLOWER and previous is not None)

    # -- what a test does to the cluster ----------------------------------------

    def leader(self) -> int | None:
        """The live leader with the highest term, if any."""
        leaders = [n for n in self.nodes.values() if n.alive and n.core.role == Role.LEADER]
        if not leaders:
            return None
        return max(leaders, key=lambda n: n.core.current_term).node_id

    def propose(self, data: bytes, node_id: int | None = None) -> int | None:
        """Propose ``data`` at ``node_id`` (default: the leader); its index or None."""
        target = self.leader() if node_id is None else node_id
        if target is None or not self.nodes[target].alive:
            return None
        node = self.nodes[target]
        try:
            index = node.core.propose(data)
        except NotLeader:
            return None
        self.log(f"node {target} proposed {data!r} at index {index}", detail=True)
        self._process(node)
        return index

    def change_membership(self, change: MembershipChange) -> int | None:
        """Propose a single-server change at the leader; its index, or None if refused."""
        leader = self.leader()
        if leader is None:
            return None
        try:
            index = self.nodes[leader].core.propose_membership(change)
        except (NotLeader, ProposalDropped, ConfigurationError):
            return None
        self.membership_changes += 1
        self.log(f"node {leader} proposed {change.kind.value} {change.node_id} at {index}")
        self._process(self.nodes[leader])
        return index

    def crash(self, node_id: int) -> None:
        """Stop a node; it keeps only what it had synced."""
        node = self.nodes[node_id]
        if not node.alive:
            return
        node.alive = False
        node.storage.crash()
        node.syncing.clear()
        node.incarnation += 1
        self.faults_injected += 1
        self.log(f"node {node_id} CRASHED")

    def restart(self, node_id: int) -> None:
        """Restart a crashed node from its storage; its state machine replays the log."""
        node = self.nodes[node_id]
        if node.alive:
            return
        node.core = self._new_core(node_id, node.storage)
        node.alive = True
        node.applied = self._restored_state(node.storage)
        node.soft_state = None
        self.checker.on_restart(node_id, node.core.log.applied)
        self.log(
            f"node {node_id} RESTARTED with term {node.core.current_term}, "
            f"{node.core.log.last_index} entries, commit {node.core.commit_index}"
        )

    def partition(self, *groups: Iterable[int]) -> None:
        """Split the cluster; nodes hear only their own group."""
        sets = [frozenset(group) for group in groups]
        self.network.partition(*sets)
        self.faults_injected += 1
        self.log("PARTITION " + " | ".join(",".join(map(str, sorted(g))) for g in sets))

    def cut_link(self, src: int, dst: int) -> None:
        self.network.cut_link(src, dst)
        self.faults_injected += 1
        self.log(f"CUT link {src} -> {dst}")

    def heal(self) -> None:
        if self.network.cut:
            self.network.heal()
            self.log("HEAL network")

    def committed_values(self) -> list[bytes]:
        """Client commands known committed (applied by some node), in log order."""
        committed = self.checker.committed
        return [committed[i].data for i in sorted(committed) if committed[i].kind == _NORMAL]

    def check_logs_match(self) -> None:
        """Full Log Matching check across every pair of live logs (slow; for tests)."""
        logs = [(n.node_id, n.core.log) for n in self.nodes.values()]
        for a_id, a in logs:
            for b_id, b in logs:
                if a_id >= b_id:
                    continue
                last = min(a.last_index, b.last_index)
                first = max(a.first_index, b.first_index)
                agree_from = None
                for index in range(last, first - 1, -1):
                    if a.term(index) == b.term(index):
                        agree_from = index
                        break
                if agree_from is None:
                    continue
                if a.slice(first, agree_from + 1) != b.slice(first, agree_from + 1):
                    self._violation(
                        f"Log Matching: nodes {a_id} and {b_id} agree at {agree_from} "
                        "but differ before it"
                    )


_TICK, _DELIVER, _SYNCED = 0, 1, 2
_NORMAL = EntryKind.NORMAL


def encode_snapshot(entries: list[Entry]) -> bytes:
    """The simulated state machine (the entries applied so far) as bytes."""
    return msgpack.packb([list(entry) for entry in entries])


def decode_snapshot(data: bytes) -> list[Entry]:
    return [Entry(term, payload, kind) for term, payload, kind in msgpack.unpackb(data)]
