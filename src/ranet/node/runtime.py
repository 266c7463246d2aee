"""The asyncio runtime of one node: one core, one storage, one transport, the timers.

Theory of operation. Inputs - ticks from a timer, messages from peers,
proposals from callers - are fed to the core as they arrive, and each one
schedules a single ``_process`` call for the current loop iteration, so
everything that arrived together is handled as one batch. ``_process`` runs
the core's Ready loop (ranet.core.ready):

1. messages that promise nothing are sent at once;
2. hard state and entries are written to storage on the loop thread (a
   cheap ``write``); a leader's fsync runs on a disk thread while the loop
   keeps sending and receiving (thesis §10.2.1), a follower's on the loop
   (``_start_sync`` says why). Writes that arrive during an fsync wait for
   the next one, which covers all of them (group commit);
3. when an fsync returns, the Readies it covered release their
   durability-promising messages and are acknowledged to the core, in order;
4. committed entries are applied to the state machine and the proposers'
   futures resolved;
5. confirmed reads (ReadIndex, thesis §6.4) are released once the state
   machine has applied up to their read index.

Rule 1 - a Ready's ``persisted_messages`` never leave before every write
taken before it is durable, even when that Ready wrote nothing itself: an
acknowledgement may cover entries an earlier Ready wrote.

Rule 2 - a failed fsync is fatal. The node cannot know what reached the
disk, so it stops rather than make promises it may not keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import msgpack

from ranet.core import (
    ChangeKind,
    Configuration,
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
from ranet.errors import (
    ApplyError,
    ConfigurationError,
    NotLeader,
    ProposalDropped,
    ProtocolInvariantViolated,
    RanetError,
    ShuttingDown,
    Timeout,
)
from ranet.node import batching
from ranet.node.config import Address, NodeConfig, decode_addresses, encode_addresses
from ranet.node.events import (
    Applied,
    LeadershipHandedOff,
    MembershipChanged,
    NodeEvent,
    RoleChanged,
)
from ranet.node.forwarding import (
    NODE_MESSAGES,
    ForwardedProposal,
    ForwardedReadIndex,
    ForwardedReplicaWait,
    ForwardedRequest,
    ForwardedResult,
)
from ranet.node.replica_waits import ReplicaWaits
from ranet.node.snapshots import (
    SNAPSHOT_MESSAGES,
    SnapshotChunk,
    SnapshotChunkAck,
    SnapshotManager,
)
from ranet.node.state_machine import StateMachine
from ranet.storage import DiskStorage, Storage
from ranet.storage.base import SnapshotData
from ranet.transport.codec import default_codec
from ranet.transport.peers import PeerTransport

logger = logging.getLogger(__name__)

_Outcome = tuple[Any, BaseException | None]  # a command's result, or the error it raised


def _read_index(index: int) -> int:
    """``read_barrier``'s result: the read index itself."""
    return index


_ANSWER_GRACE = 0.5  # seconds a follower allows the leader's answer to WAIT past its timeout
_Then = Callable[[int], Any] | None  # run when a read barrier lifts; None: the index itself
_Reader = tuple["asyncio.Future[Any]", _Then]


def _fail_pending(futures: Iterable[asyncio.Future[Any]], error: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error)


class ResultCodec:
    """How results of forwarded commands cross the network: msgpack by default.

    An application whose ``apply`` returns other types passes its own
    ``encode``/``decode`` pair (e.g. the key-value store's reply codec).
    """

    def __init__(
        self,
        encode: Callable[[Any], object] = lambda result: result,
        decode: Callable[[object], Any] = lambda value: value,
    ) -> None:
        self._to_wire = encode
        self._from_wire = decode

    def encode(self, result: Any) -> bytes:
        return msgpack.packb(self._to_wire(result), default=repr)

    def decode(self, data: bytes) -> Any:
        return self._from_wire(msgpack.unpackb(data))


class Node:
    """A Raft server you can embed: ``await node.start()``, ``await node.propose(cmd)``.

    ``propose`` returns what ``state_machine.apply`` returned for the command
    once it is committed and applied on this node, or raises ``NotLeader``
    (with the leader's id and address), ``Timeout`` or ``ShuttingDown``.
    ``submit`` does the same from any node by forwarding to the leader.
    """

    def __init__(
        self,
        config: NodeConfig,
        state_machine: StateMachine,
        *,
        storage: Storage | None = None,
        on_event: Callable[[NodeEvent], None] | None = None,
        applied_events: bool = True,
        result_codec: ResultCodec | None = None,
    ) -> None:
        self.config = config
        self.state_machine = state_machine
        self.on_event = on_event
        # An Applied event per command costs every node time on every write.
        self._report_applied = on_event is not None and applied_events
        self.result_codec = result_codec or ResultCodec()
        self._storage = storage
        self.addresses: dict[int, Address] = dict(config.peers)
        self.core: RaftCore | None = None
        self.transport: PeerTransport | None = None
        self.applied_index = 0
        self.failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._disk: ThreadPoolExecutor | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._scheduled = False
        self._unsynced: list[Ready] = []
        # proposals appended since the last sync began, and in the one before it
        self._unsynced_proposals = self._last_sync_proposals = 0
        self._sync_future: asyncio.Future[None] | None = None
        # log index -> (term proposed in, the futures of the entry's commands in order)
        self._waiters: dict[int, tuple[int, list[asyncio.Future[Any]]]] = {}
        self._proposals: list[tuple[bytes, asyncio.Future[Any]]] = []  # not yet appended
        # request id -> (leader asked, is a write, future)
        self._forwarded: dict[int, tuple[int, bool, asyncio.Future[Any]]] = {}
        self._reads: dict[bytes, list[_Reader]] = {}  # ReadIndex context -> readers
        self._apply_waiters: list[tuple[int, int, asyncio.Future[Any], _Then]] = []  # a heap
        # per time limit, (deadline, future, what to say) in deadline order
        self._deadlines: dict[float, deque[tuple[float, asyncio.Future[Any], str]]] = {}
        # The hot paths' deadlines name what they bound, not the futures, so a
        # finished request's future is freed at once (see _expire_deadlines):
        self._entry_deadlines: deque[tuple[float, int, int]] = deque()  # (when, index, term)
        self._read_deadlines: deque[tuple[float, bytes]] = deque()  # (when, read context)
        self._read_context: bytes | None = None  # the ReadIndex request this pass shares
        self._request_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._state_changed = asyncio.Event()
        self._running = False
        self.snapshots = SnapshotManager(self)
        self._replica_waits = ReplicaWaits()  # WAIT, while this node leads

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Open storage, recover, start listening and ticking."""
        config = self.config
        self._loop = asyncio.get_running_loop()
        if self._storage is None:
            self._storage = DiskStorage(config.data_dir, fsync=config.fsync)
        storage = self._storage
        try:
            state = storage.load()
            snapshot = storage.load_snapshot()
            if snapshot is not None:
                self.state_machine.restore(snapshot[1])
            self.addresses = dict(config.peers)
            self.core = RaftCore(
                config.node_id,
                frozenset() if config.join else frozenset(config.peers),
                random.Random(),
                config.core,
                hard_state=state.hard_state,
                snapshot=state.snapshot,
                entries=state.entries,
            )
            self.applied_index = self.core.log.applied
            # Members that joined by a change are known from the recovered
            # configuration (its log entry, or the snapshot's meta), not --peers.
            self.addresses.update(decode_addresses(self.core.configuration.context))
            peers = {i: a for i, a in self.addresses.items() if i != config.node_id}
            self.transport = PeerTransport(
                config.node_id,
                config.cluster_id,
                config.bind_address,
                peers,
                default_codec(NODE_MESSAGES + SNAPSHOT_MESSAGES),
                self._on_message,
                secret=config.peer_secret,
                tls=None if config.tls is None else config.tls.peer_contexts(),
            )
            await self.transport.start()
        except BaseException:
            storage.close()
            raise
        self._disk = ThreadPoolExecutor(1, thread_name_prefix=f"ranet-disk-{config.node_id}")
        self._running = True
        self._ticker = self._loop.create_task(self._tick_loop())
        self.schedule()

    async def stop(self, *, transfer: bool = True) -> None:
        """Stop gracefully: hand leadership on, finish in-flight writes, close files.

        A leader first transfers leadership to its most up-to-date follower
        (thesis §3.10) and waits for it, bounded by an election timeout, so
        a rolling restart costs no election timeout of unavailability.
        """
        if not self._running:
            return
        if transfer and self.failure is None:
            await self._hand_off_leadership()
        self._running = False
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        this = asyncio.current_task()  # _fail runs stop() as one of the node's tasks
        for task in list(self._tasks):
            if task is not this:
                task.cancel()
        if self.transport is not None:
            await self.transport.stop()
        if self._sync_future is not None:
            with contextlib.suppress(Exception):
                await self._sync_future
        shutting_down = ShuttingDown(f"node {self.config.node_id} is shutting down")
        pending = [f for _, futures in self._waiters.values() for f in futures]
        pending += [future for _, future in self._proposals]
        pending += [f for _, _, f in self._forwarded.values()]
        pending += [f for readers in self._reads.values() for f, _ in readers]
        pending += [future for _, _, future, _ in self._apply_waiters]
        _fail_pending(pending, shutting_down)
        self._replica_waits.stop(shutting_down)
        self._waiters.clear()
        self._proposals.clear()
        self._forwarded.clear()
        self._reads.clear()
        self._apply_waiters.clear()
        assert self._storage is not None and self._disk is not None
        try:
            if self.failure is None:
                await self._loop_run_in_disk(self._storage.sync)
        finally:
            self.snapshots.close()
            self._storage.close()
            self._disk.shutdown(wait=True)

    async def transfer_leadership(self, target: int | None = None) -> int:
        """Hand leadership to ``target`` or the most up-to-date follower
        (thesis §3.10) and wait, bounded by an election timeout, until this
        node has stepped down and heard from the new leader; return its id
        (the one chosen, unless another node won the election first).

        Raises ``NotLeader`` on a follower, ``ConfigurationError`` for an
        unknown target and ``Timeout`` if the handoff did not happen.
        """
        core = self._running_core()
        if not core.is_leader:
            raise self._not_leader()
        self._append_proposals(core)  # what was proposed before the handoff still goes in
        chosen = core.transfer_leadership(target)
        self.schedule()
        limit = self.config.tick_seconds * self.config.core.election_ticks * 2
        try:
            async with asyncio.timeout(limit):
                while core.is_leader or core.leader_id is None:
                    self._state_changed.clear()
                    await self._state_changed.wait()
        except TimeoutError:
            raise Timeout(f"node {chosen} did not take over within {limit:.1f} s") from None
        return core.leader_id

    async def _hand_off_leadership(self) -> None:
        core = self._core()
        if core.is_leader and len(core.voters) > 1:
            with contextlib.suppress(RanetError):
                target = await self.transfer_leadership()
                self._emit(LeadershipHandedOff(core.id, target))

    async def __aenter__(self) -> Node:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- what callers do ---------------------------------------------------------

    @property
    def role(self) -> Role:
        return self._core().role

    @property
    def leader_id(self) -> int | None:
        return self._core().leader_id

    @property
    def is_leader(self) -> bool:
        return self._core().is_leader

    async def propose(self, command: bytes, *, timeout: float | None = None) -> Any:
        """Replicate ``command`` through the log; return the state machine's result.

        Leader only: elsewhere it raises ``NotLeader`` at once (and
        ``ProposalDropped`` during a leadership transfer). On ``Timeout`` the
        command may still commit later; ``timeout`` can shorten the node's
        ``proposal_timeout``, not lengthen it. Commands proposed in the same
        loop iteration share one log entry (batching.py).
        """
        return await self.propose_nowait(command, timeout=timeout)

    def propose_nowait(
        self, command: bytes, *, timeout: float | None = None
    ) -> asyncio.Future[Any]:
        """``propose`` for callers that batch: proposes now and returns the
        future of the result (no coroutine, no task); raises as ``propose``."""
        return self._propose(self._running_core(), command, timeout)

    def _propose(
        self, core: RaftCore, command: bytes, timeout: float | None
    ) -> asyncio.Future[Any]:
        if core.replicator is None:
            raise self._not_leader()
        core.check_accepts_proposals()
        future: asyncio.Future[Any] = self._loop_or_fail().create_future()
        self._proposals.append((command, future))
        self.schedule()
        if timeout is not None and timeout < self.config.proposal_timeout:
            self._bounded(future, timeout, f"command not applied within {timeout} s")
        return future  # else bounded with its log entry (_append_proposals)

    async def _applied_result(self, index: int, term: int, timeout: float | None) -> Any:
        """Wait until the entry this leader appended at ``index`` is applied."""
        future: asyncio.Future[Any] = self._loop_or_fail().create_future()
        self._waiters[index] = (term, [future])
        self.schedule()
        limit = timeout or self.config.proposal_timeout
        try:
            return await self._bounded(future, limit, f"entry {index} not applied within {limit} s")
        finally:
            if self._waiters.get(index, (0, [None]))[1][0] is future:
                del self._waiters[index]

    async def change_membership(
        self,
        kind: ChangeKind,
        node_id: int,
        address: Address | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Add a learner (with its ``address``), promote a learner to voter, or
        remove a member, one server at a time (thesis §4.1); returns once the
        change is committed. Leader only.

        Raises ``NotLeader``, ``ConfigurationError`` (unknown or duplicate
        node, a learner not caught up, a change that would lose quorum) or
        ``ProposalDropped`` (another change in progress; retry later).
        """
        core = self._running_core()
        if not core.is_leader:
            raise self._not_leader()
        addresses = {
            n: self.addresses[n] for n in core.configuration.members if n in self.addresses
        }
        if kind is ChangeKind.ADD_LEARNER:
            if address is None:
                raise ConfigurationError(f"adding node {node_id} needs its address")
            addresses[node_id] = address
        elif kind is ChangeKind.REMOVE:
            addresses.pop(node_id, None)
        change = MembershipChange(kind, node_id, encode_addresses(addresses))
        index = core.propose_membership(change)
        await self._applied_result(index, core.current_term, timeout)

    def members(self) -> list[tuple[int, str, str]]:
        """The configuration in force: (node id, address, "voter" or "learner")."""
        configuration = self._core().configuration
        rows = []
        for node_id in sorted(configuration.members):
            host, port = self.addresses.get(node_id, ("?", 0))
            role = "voter" if node_id in configuration.voters else "learner"
            rows.append((node_id, f"{host}:{port}", role))
        return rows

    async def submit(self, command: bytes, *, timeout: float | None = None) -> Any:
        """Like ``propose``, but from any node: a follower forwards to the leader."""
        return await self.submit_nowait(command, timeout=timeout)

    def submit_nowait(self, command: bytes, *, timeout: float | None = None) -> asyncio.Future[Any]:
        """``submit`` as ``propose_nowait``: sends now, returns the result's future."""
        core = self._running_core()
        if core.replicator is not None:  # the leader
            return self._propose(core, command, timeout)
        return self._forward(
            lambda leader, request_id: ForwardedProposal(
                self.config.node_id, leader, request_id, command
            ),
            timeout,
        )

    async def backup(self, *, timeout: float | None = None) -> tuple[SnapshotMeta, SnapshotData]:
        """A consistent copy of the replicated state, on any node: the metadata
        (index, term, configuration) and the state machine's snapshot data
        (bytes, or parts in order), holding every command that completed
        before the call - the state after a read barrier. Write it with
        ``ranet.node.backup.save_backup``; ``timeout`` bounds the barrier."""
        return await self.snapshots.backup(timeout)

    async def read_barrier(self, *, timeout: float | None = None) -> int:
        """Wait until this node may serve a linearizable read; return the read index.

        ReadIndex (thesis §6.4): the leader confirms with a heartbeat round
        that it still leads and takes its commit index; a follower asks the
        leader for it. Either way the call returns once this node's state
        machine has applied up to that index, so a read of local state now
        reflects every write that completed before the call.
        """
        return await self.read_barrier_nowait(timeout=timeout)

    def read_barrier_nowait(
        self, *, timeout: float | None = None, then: Callable[[int], Any] = _read_index
    ) -> asyncio.Future[Any]:
        """``read_barrier`` as a future: no coroutine or task per read.

        ``then(read_index)`` runs the moment the barrier lifts, and its result
        (or error) is the future's: a read done there is linearizable, and
        costs no further hand-off through the event loop.
        """
        limit = timeout or self.config.proposal_timeout
        core = self._running_core()
        if core.is_leader:
            return self._leader_read_index(limit, then)
        index = self._forward(
            lambda leader, request_id: ForwardedReadIndex(self.config.node_id, leader, request_id),
            limit,
        )
        barrier: asyncio.Future[Any] = self._loop_or_fail().create_future()
        index.add_done_callback(partial(self._read_index_known, barrier, then, limit))
        return barrier

    def replicas_holding(self, wanted: int, timeout: float | None) -> asyncio.Future[int]:
        """How many members other than this node hold, on their disks, every
        entry committed before the call - once ``wanted`` of them do, or
        when ``timeout`` seconds pass (None: no limit; 0: at once): the Redis
        protocol's WAIT (kv/replica_wait.py). The leader counts (the index
        it asks about is its log's end: replica_waits.py); a follower asks
        the leader, again as long as time is left, and answers the last
        count it heard (0 if none)."""
        core = self._running_core()
        if core.replicator is not None:
            return self._leader_replicas(wanted, core.id, timeout)
        task = self._loop_or_fail().create_task(self._replicas_from_leader(wanted, timeout))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _leader_replicas(
        self, wanted: int, asker: int, timeout: float | None
    ) -> asyncio.Future[int]:
        core = self._running_core()
        if core.replicator is None:
            raise self._not_leader()
        return self._replica_waits.wait(self._loop_or_fail(), core, wanted, asker, timeout)

    async def _replicas_from_leader(self, wanted: int, timeout: float | None) -> int:
        """A follower's ``replicas_holding``: each question to the leader is
        bounded by the proposal timeout, and its answer by ``_ANSWER_GRACE``
        more; without a leader it asks again a tick later."""
        loop = self._loop_or_fail()
        deadline = None if timeout is None else loop.time() + timeout
        me = self.config.node_id
        count = 0
        while True:
            left = self.config.proposal_timeout
            if deadline is not None:
                left = min(left, max(0.0, deadline - loop.time()))
            ask = partial(ForwardedReplicaWait, me, wanted=wanted, timeout_ms=int(left * 1000))
            try:
                count = await self._forward(ask, left + _ANSWER_GRACE)
            except (NotLeader, Timeout):
                await asyncio.sleep(min(self.config.tick_seconds, left))
            if count >= wanted or (deadline is not None and loop.time() >= deadline):
                return count

    def applied_beyond(self, index: int) -> asyncio.Future[int]:
        """A future done once this node has applied an entry after ``index``,
        holding the applied index then (at once if it has). It waits for new
        entries however long they take - no time limit - and fails with
        ``ShuttingDown`` when the node stops. A blocking command's wake-up
        waits on it (kv/blocking.py)."""
        applied: asyncio.Future[int] = self._loop_or_fail().create_future()
        if self.applied_index > index:
            applied.set_result(self.applied_index)
        else:
            heapq.heappush(self._apply_waiters, (index + 1, next(self._request_ids), applied, None))
        return applied

    def _read_index_known(
        self,
        barrier: asyncio.Future[Any],
        then: _Then,
        limit: float,
        index: asyncio.Future[int],
    ) -> None:
        """A follower got its read index from the leader."""
        if barrier.done():
            return
        if index.cancelled():
            barrier.cancel()
        elif (error := index.exception()) is not None:
            barrier.set_exception(error)
        else:
            self._lift_when_applied(barrier, then, index.result(), limit)

    def _lift_when_applied(
        self, barrier: asyncio.Future[Any], then: _Then, index: int, limit: float
    ) -> None:
        """Lift ``barrier`` (run ``then``) once ``index`` is applied here (thesis §6.4)."""
        if self.applied_index >= index:
            self._lift(barrier, then, index)
        elif not barrier.done():
            heapq.heappush(self._apply_waiters, (index, next(self._request_ids), barrier, then))
            self._bounded(barrier, limit, f"index {index} not applied within {limit} s")

    @staticmethod
    def _lift(barrier: asyncio.Future[Any], then: _Then, index: int) -> None:
        if barrier.done():
            return
        if then is None:
            barrier.set_result(index)
        else:
            try:
                barrier.set_result(then(index))
            except Exception as error:  # the caller's read failed: its error, for it
                barrier.set_exception(error)

    def _leader_read_index(self, limit: float, then: _Then = None) -> asyncio.Future[Any]:
        """A ReadIndex request on the leader. With ``then`` (a barrier), the
        future waits for the index to be applied and holds ``then``'s result;
        without it (a follower's forwarded request), it holds the index."""
        core = self._running_core()
        if not core.is_leader:
            raise self._not_leader()
        future: asyncio.Future[Any] = self._loop_or_fail().create_future()
        context = self._read_context
        if context is None:  # the first read of this pass asks the core
            context = next(self._request_ids).to_bytes(8, "big")
            core.read_index(context)
            self._read_context = context
            self._reads[context] = [(future, then)]
            deadline = self._loop_or_fail().time() + self.config.proposal_timeout
            self._read_deadlines.append((deadline, context))
            self.schedule()
        else:
            # Later reads of the same pass share its request: nothing can have
            # been applied (so no write answered) since it took its read index,
            # because applying happens only in _process, which ends the sharing.
            self._reads[context].append((future, then))
        # Readers whose request is never confirmed are dropped with the role,
        # or at the request's deadline (_expire_deadlines).
        if limit < self.config.proposal_timeout:
            self._bounded(future, limit, f"leadership not confirmed within {limit} s")
        return future

    def _bounded(self, future: asyncio.Future[Any], limit: float, late: str) -> asyncio.Future[Any]:
        """Fail ``future`` with ``Timeout(late)`` unless done within ``limit`` seconds.

        Deadlines, swept every tick, bound every wait: far cheaper per
        request than a timer each (``asyncio.wait_for``), at the price of
        timeouts firing up to a tick late. Waits with the same limit end in
        the order they began, so each limit keeps a plain queue.
        """
        queue = self._deadlines.get(limit)
        if queue is None:
            queue = self._deadlines[limit] = deque()
        queue.append((self._loop_or_fail().time() + limit, future, late))
        return future

    def _expire_deadlines(self) -> None:
        """Fail what waited past its deadline.

        Proposals and leader reads - the hot paths - keep one deadline per log
        entry and per ReadIndex request, naming the entry or request rather
        than holding its futures: a deadline queue of futures kept every
        finished request alive for the whole timeout, hundreds of thousands
        of objects under load, and Python's full garbage collections over
        them stalled the leader for up to 180 ms (docs/performance.md).
        """
        now = self._loop_or_fail().time()
        limit = self.config.proposal_timeout
        entries = self._entry_deadlines
        while entries and entries[0][0] <= now:
            _, index, term = entries.popleft()
            waiter = self._waiters.get(index)
            if waiter is not None and waiter[0] == term:
                del self._waiters[index]
                _fail_pending(waiter[1], Timeout(f"command not applied within {limit} s"))
        reads = self._read_deadlines
        while reads and reads[0][0] <= now:
            readers = self._reads.pop(reads.popleft()[1], None)
            if readers is not None:
                late = Timeout(f"leadership not confirmed within {limit} s")
                _fail_pending((f for f, _ in readers), late)
        for queue in self._deadlines.values():
            while queue and queue[0][0] <= now:
                _, future, late = queue.popleft()
                if not future.done():
                    future.set_exception(Timeout(late))

    def _forward(
        self,
        make: Callable[[int, int], ForwardedRequest],
        timeout: float | None,
    ) -> asyncio.Future[Any]:
        """Send a request to the leader; the future of its ``ForwardedResult``."""
        leader = self._core().leader_id
        if leader is None:
            raise NotLeader(None)
        assert self.transport is not None
        request_id = next(self._request_ids)
        future: asyncio.Future[Any] = self._loop_or_fail().create_future()
        request = make(leader, request_id)
        self._forwarded[request_id] = (leader, isinstance(request, ForwardedProposal), future)
        self.transport.send(request)
        future.add_done_callback(lambda _: self._forwarded.pop(request_id, None))
        limit = timeout or self.config.proposal_timeout
        return self._bounded(future, limit, f"no answer from leader {leader} in {limit} s")

    async def wait_for_leader(self, timeout: float) -> int:
        """Wait until this node knows a leader; return its id."""
        async with asyncio.timeout(timeout):
            while self._core().leader_id is None:
                self._state_changed.clear()
                await self._state_changed.wait()
        leader = self._core().leader_id
        assert leader is not None
        return leader

    def status(self) -> dict[str, Any]:
        """The node's Raft state in plain data (the seed's ``raftdebug``)."""
        core = self._core()
        log = core.log
        status: dict[str, Any] = {
            "node_id": core.id,
            "role": str(core.role),
            "term": core.current_term,
            "voted_for": core.voted_for,
            "leader_id": core.leader_id,
            "commit_index": log.commit_index,
            "applied_index": self.applied_index,
            "last_log_index": log.last_index,
            "last_log_term": log.last_term,
            "first_log_index": log.first_index,
            "members": sorted(core.voters),
        }
        if core.replicator is not None:
            status["followers"] = {
                peer: {
                    "match_index": p.match_index,
                    "next_index": p.next_index,
                    "state": p.state.name.lower(),
                }
                for peer, p in core.replicator.progress.items()
            }
        return status

    # -- used by the node's parts (snapshots) --------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            raise RuntimeError("the node is not started")
        return self._storage

    def send(self, message: object) -> None:
        """Hand a message to the peer transport."""
        assert self.transport is not None
        self.transport.send(message)

    def step(self, message: Message) -> None:
        """Feed a message to the core and schedule the Ready loop."""
        try:
            self._core().step(message)
        except ProtocolInvariantViolated as error:
            logger.error("node %s rejected %r: %s", self.config.node_id, message, error)
        self.schedule()

    # -- inputs ------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        """Tick at a steady rate; after a stall (e.g. SIGSTOP) resume, do not burst."""
        loop = self._loop_or_fail()
        interval = self.config.tick_seconds
        next_tick = loop.time()
        while True:
            next_tick += interval
            delay = next_tick - loop.time()
            if delay < -interval:
                next_tick = loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))
            self._core().tick()
            self._expire_deadlines()
            self.schedule()

    def _on_message(self, message: object) -> None:
        if not self._running or self.failure is not None:
            return
        if isinstance(message, ForwardedProposal):
            self._serve_forwarded(message, partial(self.propose_nowait, message.command))
        elif isinstance(message, ForwardedReadIndex):
            limit = self.config.proposal_timeout
            self._serve_forwarded(message, partial(self._leader_read_index, limit))
        elif isinstance(message, ForwardedReplicaWait):
            timeout = message.timeout_ms / 1000
            start = partial(self._leader_replicas, message.wanted, message.src, timeout)
            self._serve_forwarded(message, start)
        elif isinstance(message, ForwardedResult):
            self._resolve_forwarded(message)
        elif isinstance(message, SnapshotChunk):
            self.snapshots.on_chunk(message)
        elif isinstance(message, SnapshotChunkAck):
            self.snapshots.on_ack(message)
        else:
            self.step(message)  # type: ignore[arg-type]

    def _serve_forwarded(
        self, request: ForwardedRequest, start: Callable[[], asyncio.Future[Any]]
    ) -> None:
        """Do a follower's request and answer it when done (a callback, not a task)."""
        try:
            future = start()
        except RanetError as error:
            self._answer_forwarded(request, None, error)
        else:
            future.add_done_callback(
                lambda done: self._answer_forwarded(
                    request, done, ShuttingDown("cancelled") if done.cancelled() else None
                )
            )

    def _answer_forwarded(
        self,
        request: ForwardedRequest,
        done: asyncio.Future[Any] | None,
        error: BaseException | None,
    ) -> None:
        if error is None and done is not None:
            error = done.exception()
        src, dst, request_id = self.config.node_id, request.src, request.request_id
        if error is None and done is not None:
            reply = ForwardedResult(src, dst, request_id, self.result_codec.encode(done.result()))
            if isinstance(request, ForwardedReadIndex) and self.core is not None:
                self.core.notify_commit(dst)  # it waits to apply up to the index
                self.schedule()
        elif isinstance(error, NotLeader):
            hint = -1 if error.leader_hint is None else error.leader_hint
            reply = ForwardedResult(src, dst, request_id, b"", "NotLeader", hint)
        elif isinstance(error, RanetError):
            reply = ForwardedResult(src, dst, request_id, b"", f"{type(error).__name__}: {error}")
        else:  # the state machine's own error: its text, for the follower's caller
            text = f"ApplyError: {type(error).__name__}: {error}"
            reply = ForwardedResult(src, dst, request_id, b"", text)
        if self.transport is not None:
            self.transport.send(reply)

    def _resolve_forwarded(self, reply: ForwardedResult) -> None:
        forwarded = self._forwarded.get(reply.request_id)
        if forwarded is None or forwarded[2].done():
            return
        future = forwarded[2]
        if reply.error == "NotLeader":
            future.set_exception(NotLeader(None if reply.leader_hint < 0 else reply.leader_hint))
        elif reply.error.startswith("ApplyError: "):
            future.set_exception(ApplyError(reply.error.removeprefix("ApplyError: ")))
        elif reply.error.startswith(("Timeout", "ShuttingDown")):
            # The leader may still apply it: the outcome is unknown, not "dropped".
            future.set_exception(Timeout(f"at the leader: {reply.error}"))
        elif reply.error:
            future.set_exception(ProposalDropped(reply.error))
        else:
            future.set_result(self.result_codec.decode(reply.result))

    def _abandon_forwarded(self, new_leader: int | None) -> None:
        """Requests forwarded to a leader that is no longer the leader will not be
        answered: fail them now rather than at their timeout. A forwarded write
        may have been applied before the old leader fell, so its outcome is
        unknown (Timeout); a read index can simply be asked for again."""
        for leader, is_write, future in list(self._forwarded.values()):
            if leader != new_leader and not future.done():
                if is_write:
                    future.set_exception(Timeout(f"leader {leader} was replaced; outcome unknown"))
                else:
                    future.set_exception(NotLeader(new_leader))

    # -- the Ready loop -------------------------------------------------------------

    def schedule(self) -> None:
        """Run the Ready loop once in this loop iteration (batching all inputs)."""
        if not self._scheduled and self._running:
            self._scheduled = True
            self._loop_or_fail().call_soon(self._process)

    def _process(self) -> None:
        self._scheduled = False
        if not self._running or self.failure is not None:
            return
        core = self._core()
        storage = self._storage
        transport = self.transport
        assert storage is not None and transport is not None
        self._read_context = None
        if self._proposals:
            self._append_proposals(core)
        finished: list[Ready] = []  # applied and read once this pass's messages have left
        while core.has_ready():
            ready = core.ready()
            if ready.soft_state is not None:
                self._role_changed(ready.soft_state)
            if ready.snapshot is not None:
                self._finish(finished)  # what came before the snapshot goes first
                finished.clear()
                if not self._install_snapshot(*ready.snapshot):
                    return  # the node is failing: nothing of this Ready may leave
            if ready.configuration is not None:
                self._membership_changed(ready.configuration)
            for message in ready.messages:
                if isinstance(message, InstallSnapshot):
                    self.snapshots.send(message)
                else:
                    transport.send(message)
            if ready.messages:
                transport.flush()  # before this node's own disk write (thesis §10.2.1)
            if ready.hard_state is not None:
                storage.set_hard_state(ready.hard_state)
            if ready.entries:
                storage.append(ready.entries_first_index, ready.entries)
            if ready.must_sync or self._unsynced or self._sync_future is not None:
                self._unsynced.append(ready)  # rule 1
            else:
                self._release(ready)
            if ready.committed_entries or ready.read_states:
                finished.append(ready)
        if self._unsynced and self._sync_future is None:
            self._start_sync()
        transport.flush()  # this pass's messages leave now (docs/performance.md, opt. 16)
        self._finish(finished)  # a follower's acknowledgement does not wait for it (opt. 17)
        self.snapshots.maybe_take()
        if self._replica_waits.pending:
            self._replica_waits.check(core)

    def _finish(self, readies: list[Ready]) -> None:
        """Apply the Readies' committed entries and serve their confirmed reads, in order."""
        for ready in readies:
            if ready.committed_entries:
                self._apply(ready)
            for read in ready.read_states:
                for future, then in self._reads.pop(read.context, ()):
                    if then is None:  # a follower's request: the index, applied here or not
                        self._lift(future, None, read.index)
                    else:
                        limit = self.config.proposal_timeout
                        self._lift_when_applied(future, then, read.index, limit)

    def _membership_changed(self, configuration: Configuration) -> None:
        """Learn the members' addresses from the configuration in force.

        Addresses are only ever added: a member being removed may still lead
        until its removal commits (thesis §4.2.2), so its peers must keep
        talking to it; a removed server then simply stops being addressed.
        """
        self.addresses.update(decode_addresses(configuration.context))
        me = self.config.node_id
        assert self.transport is not None
        self.transport.update_peers({n: a for n, a in self.addresses.items() if n != me})
        if self.on_event is not None:
            voters, learners = sorted(configuration.voters), sorted(configuration.learners)
            self._emit(MembershipChanged(me, tuple(voters), tuple(learners)))

    def _install_snapshot(self, meta: SnapshotMeta, data: bytes) -> bool:
        try:
            self.snapshots.install(meta, data)
        except Exception as error:  # a snapshot we cannot restore or store
            self._fail(error, "installing a snapshot failed")
            return False
        self.applied_index = meta.last_index
        self._release_apply_waiters()
        return True

    def _start_sync(self) -> None:
        """Make the Readies written so far durable, then release them (rule 1).

        A busy leader syncs on the disk thread: it keeps serving clients and
        replicating meanwhile, and counts itself only once the sync is done
        (thesis §10.2.1). A follower syncs on the loop: its sync is what its
        acknowledgement waits for, and all its loop could do meanwhile is
        receive appends that must wait for the next sync anyway; the two
        thread hand-offs cost more (docs/performance.md, optimization 11).

        So does a leader serving a lone writer: this sync and the one before
        it carry at most one proposal each, and no other entry or read waits.
        Its appends have already left (``_process`` flushes them before the
        disk write) and the followers' acknowledgements take longer than its
        own sync, so the hand-offs would only add to the writer's latency.
        With any concurrency, proposals arriving during one sync make the
        next carry several, and the disk thread takes over: the loop does not
        block while more input is on its way (optimization 17).
        """
        batch, self._unsynced = self._unsynced, []
        proposals, self._unsynced_proposals = self._unsynced_proposals, 0
        lone_writer = proposals <= 1 and self._last_sync_proposals <= 1
        self._last_sync_proposals = proposals
        storage = self._storage
        assert storage is not None
        if not self._core().is_leader or (
            lone_writer and len(self._waiters) <= 1 and not self._reads
        ):
            try:
                storage.sync()
            except Exception as error:
                self._fail(error, "a storage sync failed")  # rule 2
                return
            self._synced(batch)
            return
        future = self._loop_run_in_disk(storage.sync)
        self._sync_future = future
        future.add_done_callback(lambda done: self._sync_done(batch, done))

    def _sync_done(self, batch: list[Ready], future: asyncio.Future[None]) -> None:
        self._sync_future = None
        error = None if future.cancelled() else future.exception()
        if error is not None:
            self._fail(error, "a storage sync failed")  # rule 2
            return
        if self._running:
            self._synced(batch)

    def _synced(self, batch: list[Ready]) -> None:
        for ready in batch:
            self._release(ready)
        self.schedule()

    def _release(self, ready: Ready) -> None:
        """The Ready's writes are durable: keep its promises, tell the core."""
        assert self.transport is not None
        for message in ready.persisted_messages:
            self.transport.send(message)
        self._core().advance(ready)

    def _append_proposals(self, core: RaftCore) -> None:
        """Append the commands proposed since the last pass: one entry per run
        that fits (batching.py), each run's futures waiting on its index."""
        proposals = [p for p in self._proposals if not p[1].done()]
        self._proposals = []
        self._unsynced_proposals += len(proposals)
        term = core.current_term
        runs = list(batching.split(proposals))
        for number, run in enumerate(runs):
            try:
                if len(run) == 1:
                    index = core.propose(run[0][0])
                else:
                    index = core.propose(batching.pack([c for c, _ in run]), EntryKind.BATCH)
            except (NotLeader, ProposalDropped) as error:  # nothing from here on was appended
                refusal = self._not_leader() if isinstance(error, NotLeader) else error
                for _, future in itertools.chain.from_iterable(runs[number:]):
                    future.set_exception(refusal)
                return
            self._waiters[index] = (term, [future for _, future in run])
            deadline = self._loop_or_fail().time() + self.config.proposal_timeout
            self._entry_deadlines.append((deadline, index, term))

    def _apply(self, ready: Ready) -> None:
        index = ready.committed_first_index
        applied_bytes = 0
        for entry in ready.committed_entries:
            applied_bytes += len(entry.data)
            kind = entry.kind
            if kind == EntryKind.NORMAL:
                outcomes = [self._apply_command(index, entry.term, entry.data)]
            elif kind == EntryKind.BATCH:
                outcomes = self._apply_batch(index, entry.term, entry.data)
            else:
                outcomes = [(None, None)]  # a no-op or a configuration: nothing to run
            self.applied_index = index
            self._resolve_waiters(index, entry.term, outcomes)
            index += 1
        self.snapshots.applied_bytes += applied_bytes
        self._release_apply_waiters()

    def _apply_batch(self, index: int, term: int, data: bytes) -> list[_Outcome]:
        try:
            commands = batching.unpack(data)
        except batching.BatchError as error:  # only a broken leader writes this: skip it
            logger.error("node %s: entry %s skipped: %s", self.config.node_id, index, error)
            return []
        return [self._apply_command(index, term, command) for command in commands]

    def _apply_command(self, index: int, term: int, command: bytes) -> _Outcome:
        """Run one command on the state machine: its result, or its own error."""
        result: Any = None
        error: BaseException | None = None
        try:
            result = self.state_machine.apply(command)
        except Exception as failure:  # the command's own error, for its proposer
            error = failure
        if self._report_applied:
            self._emit(Applied(self.config.node_id, index, term, command, result))
        return result, error

    def _release_apply_waiters(self) -> None:
        waiters = self._apply_waiters
        while waiters and waiters[0][0] <= self.applied_index:
            index, _, future, then = heapq.heappop(waiters)
            self._lift(future, then, index)

    def _resolve_waiters(self, index: int, term: int, outcomes: list[_Outcome]) -> None:
        waiter = self._waiters.pop(index, None)
        if waiter is None:
            return
        proposed_term, futures = waiter
        if proposed_term != term or len(futures) != len(outcomes):
            dropped = ProposalDropped(f"entry {index} was replaced by a later leader; not applied")
            _fail_pending(futures, dropped)
            return
        for future, (result, error) in zip(futures, outcomes, strict=True):
            if future.done():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

    def _role_changed(self, soft: SoftState) -> None:
        self._state_changed.set()
        if self._forwarded:
            self._abandon_forwarded(soft.leader_id)
        if soft.role != Role.LEADER and self._reads:
            lost = self._not_leader()
            for readers in self._reads.values():
                _fail_pending((f for f, _ in readers), lost)
            self._reads.clear()
        self._emit(RoleChanged(self.config.node_id, soft.role, soft.current_term, soft.leader_id))

    # -- helpers -----------------------------------------------------------------------

    def _emit(self, event: NodeEvent) -> None:
        """Tell ``on_event``. The callback is the embedder's code: an error in it
        is logged and the node goes on, mid-pass, as if it had returned."""
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:
            logger.exception(
                "node %s: on_event failed on %s; ignored", self.config.node_id, type(event).__name__
            )

    def _not_leader(self) -> NotLeader:
        leader = self._core().leader_id
        address = None
        if leader is not None and leader in self.config.peers:
            host, port = self.config.peers[leader]
            address = f"{host}:{port}"
        return NotLeader(leader, address)

    def _fail(self, error: BaseException, what: str) -> None:
        """Stop the node: its durable state can no longer be trusted (rule 2)."""
        logger.critical("node %s: %s (%s); stopping", self.config.node_id, what, error)
        self.failure = error
        self.spawn(self.stop(transfer=False))

    def spawn(self, coroutine: Any) -> None:
        """Run a background task owned by the node (cancelled on stop)."""
        task = self._loop_or_fail().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _loop_run_in_disk(self, function: Callable[[], None]) -> asyncio.Future[None]:
        return self._loop_or_fail().run_in_executor(self._disk, function)

    def _core(self) -> RaftCore:
        if self.core is None:
            raise RuntimeError("the node is not started")
        return self.core

    def _running_core(self) -> RaftCore:
        if not self._running:
            raise ShuttingDown(f"node {self.config.node_id} is not running")
        return self._core()

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the node is not started")
        return self._loop
