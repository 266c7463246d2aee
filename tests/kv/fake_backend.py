"""A Raft-less ``Backend`` for the RESP server tests, and a server running over it.

``FakeBackend`` keeps the data in a real ``KVStore`` (so commands answer
exactly as they will on a cluster) and applies writes at once, without a
log. Faults are switched on by the test: ``failure`` makes every data call
raise it (``NotLeader(None)``, ``Timeout(...)``, ...), ``hang`` makes every
data call wait forever, ``write_delay`` makes writes slow, ``write_gate``
holds every write until the test sets it. It records each call, the most
calls it has seen in flight together (a pipeline issued at once shows up
there), and the writes cancelled before they ended. WAIT's count is
``holding`` of the ``members`` besides the node (``hold_writes_on`` moves it).

``served`` runs a ``RespServer`` over a ``FakeBackend`` on an event loop of
its own thread (asyncio's or uvloop's: ``LOOP_FACTORIES``), so that blocking
clients (redis-py's sync API, redis-cli, raw sockets) can talk to it from the
test thread; it always stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ranet.kv.acl import Users
from ranet.kv.envelope import (
    Envelope,
    RunEnvelope,
    TransactionEnvelope,
    encode,
    encode_run,
    encode_transaction,
)
from ranet.kv.keyspace import Publisher
from ranet.kv.reply import BulkParts, Reply
from ranet.kv.server import RespServer
from ranet.kv.store import KVStore

LOOPBACK = "127.0.0.1"
WAIT = 10.0  # seconds: the bound of every wait on the server thread

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop
}
try:
    import uvloop
except ImportError:  # optional: the asyncio loop alone is still tested
    pass
else:
    LOOP_FACTORIES["uvloop"] = uvloop.new_event_loop


@dataclass
class FakeBackend:
    store: KVStore = field(default_factory=KVStore)
    failure: Exception | None = None
    refusal: Exception | None = None  # raised by write() itself, before any await
    hang: bool = False
    hang_writes: bool = False  # only writes never answer; reads still do
    write_delay: float = 0.0  # seconds a write takes: lets a read overtake it if it may
    write_gate: asyncio.Event | None = None  # when set here, writes wait until it is set
    # when set here, a read's replies, computed, wait until it is set: what a
    # node's read looks like between running and reaching its connection;
    # ``at_answer_gate`` is set once a read waits there
    answer_gate: asyncio.Event | None = None
    at_answer_gate: asyncio.Event | None = None
    cancelled_writes: int = 0
    writes: list[tuple[list[bytes], tuple[int, int] | None]] = field(default_factory=list)
    reads: list[tuple[list[bytes], bool]] = field(default_factory=list)
    transactions: list[tuple[list[list[bytes]], list[tuple[bytes, int]]]] = field(
        default_factory=list
    )
    version_reads: list[list[bytes]] = field(default_factory=list)
    transfers: list[int | None] = field(default_factory=list)
    membership_requests: list[list[bytes]] = field(default_factory=list)
    backup_parts: list[bytes] = field(default_factory=lambda: [b"backup"])
    in_flight: int = 0
    largest_read: int = 0  # the most reads in one call
    largest_write: int = 0  # the most writes in one call
    max_in_flight: int = 0
    watchers: list[tuple[list[bytes], list[int], asyncio.Future[None]]] = field(
        default_factory=list
    )
    members: int = 2  # the members besides this node (WAIT)
    holding: int = 2  # how many of them hold every write so far (WAIT)
    replica_waits: list[tuple[int, float | None]] = field(default_factory=list)
    _holding_waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)
    raft: dict[str, Any] = field(
        default_factory=lambda: {
            "node_id": 1,
            "role": "leader",
            "term": 3,
            "leader_id": 1,
            "commit_index": 0,
            "applied_index": 0,
            "members": "1,2,3",
        }
    )

    def write(self, argv: list[bytes], session: tuple[int, int] | None) -> Awaitable[Reply]:
        """Like ``NodeBackend.write``, which proposes at once and may raise at once."""
        self.writes.append((argv, session))
        self.largest_write = max(self.largest_write, 1)
        if self.refusal is not None:
            raise self.refusal
        client_id, sequence = session or (0, 0)
        return self._apply(encode(Envelope(client_id, sequence, int(time.time() * 1000), argv)))

    def write_many(self, argvs: list[list[bytes]]) -> Awaitable[list[Reply]]:
        """Like ``NodeBackend.write_many``: the run is one entry, applied at once."""
        self.writes += [(argv, None) for argv in argvs]
        self.largest_write = max(self.largest_write, len(argvs))
        if self.refusal is not None:
            raise self.refusal
        return self._apply(encode_run(RunEnvelope(int(time.time() * 1000), argvs)))

    def transaction(
        self, argvs: list[list[bytes]], watched: list[tuple[bytes, int]], *, stale: bool
    ) -> Awaitable[Reply]:
        """Every transaction as one entry, applied at once (the node reads
        unwatched read-only ones instead; the replies are the same)."""
        self.transactions.append((argvs, watched))
        if self.refusal is not None:
            raise self.refusal
        now_ms = int(time.time() * 1000)
        return self._apply(encode_transaction(TransactionEnvelope(now_ms, argvs, watched)))

    async def versions(self, keys: list[bytes], *, stale: bool) -> list[int]:
        self.version_reads.append(keys)
        return await self._call(lambda: self.store.versions(keys))  # type: ignore[return-value]

    async def _apply(self, entry: bytes) -> Reply:
        try:
            if self.hang_writes:
                await asyncio.Event().wait()
            if self.write_gate is not None:
                await self.write_gate.wait()
            reply = await self._call(lambda: self.store.apply(entry), self.write_delay)
        except asyncio.CancelledError:
            self.cancelled_writes += 1
            raise
        self._wake_watchers()
        return reply

    def changed(self, keys: list[bytes], versions: list[int]) -> asyncio.Future[None]:
        """Like ``NodeBackend.changed``: done once ``keys``' versions move."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.watchers.append((keys, versions, waiter))
        self._wake_watchers()
        return waiter

    def _wake_watchers(self) -> None:
        waiting = []
        for keys, versions, waiter in self.watchers:
            if not waiter.done() and self.store.versions(keys) != versions:
                waiter.set_result(None)
            if not waiter.done():
                waiting.append((keys, versions, waiter))
        self.watchers = waiting

    async def membership(self, argv: list[bytes]) -> Reply:
        self.membership_requests.append(argv)
        return [[0, b"127.0.0.1:1", b"voter"]]

    async def transfer_leadership(self, target: int | None) -> Reply:
        self.transfers.append(target)
        return 1 if target is None else target

    async def read(self, argvs: Sequence[list[bytes]], *, stale: bool) -> list[Reply]:
        self.reads += [(argv, stale) for argv in argvs]
        self.largest_read = max(self.largest_read, len(argvs))
        now_ms = int(time.time() * 1000)
        replies = await self._call(lambda: [self.store.read(argv, now_ms=now_ms) for argv in argvs])
        if self.answer_gate is not None:
            if self.at_answer_gate is not None:
                self.at_answer_gate.set()
            await self.answer_gate.wait()
        return replies  # type: ignore[return-value]

    async def backup(self) -> Reply | BulkParts:
        return await self._call(lambda: BulkParts(list(self.backup_parts)))

    def deliver_published(self, publisher: Publisher) -> None:
        self.store.deliver_published(publisher)

    def notify_keyspace_events(self, flags: int) -> None:
        self.store.notify_keyspace_events(flags)

    def watch_users(self, listener: Callable[[Users], None]) -> None:
        self.store.watch_users(listener)

    def keyspace_stats(self) -> dict[str, int]:
        return self.store.stats()

    def track_changes(self, tracker: Callable[[bytes | None], None] | None) -> None:
        self.store.track_changes(tracker)

    def raft_info(self) -> dict[str, Any]:
        return dict(self.raft)

    async def replicas_holding(self, wanted: int, timeout: float | None) -> int:
        """Like ``NodeBackend.replicas_holding``, with ``holding`` of the
        ``members`` holding every write: once ``wanted`` do, or at ``timeout``."""
        self.replica_waits.append((wanted, timeout))
        if self.holding < wanted and timeout != 0:
            reached: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._holding_waiters.append((wanted, reached))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reached, timeout)
        return self.holding

    def hold_writes_on(self, members: int) -> None:
        """From now on ``members`` of the others hold every write (on the server's loop)."""
        self.holding = members
        for wanted, reached in self._holding_waiters:
            if members >= wanted and not reached.done():
                reached.set_result(None)
        self._holding_waiters = [(w, r) for w, r in self._holding_waiters if not r.done()]

    def other_members(self) -> int:
        return self.members

    def script_declares_writes(self, argv: list[bytes]) -> bool | None:
        return self.store.script_declares_writes(argv)

    async def _call(self, run: Callable[[], Reply], delay: float = 0.0) -> Reply:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(delay)  # calls issued together are in flight together here
            if self.hang:
                await asyncio.Event().wait()
            if self.failure is not None:
                raise self.failure
            return run()
        finally:
            self.in_flight -= 1


@dataclass
class Served:
    """A running server: where it listens, its backend, and a way into its loop."""

    server: RespServer
    backend: FakeBackend
    loop: asyncio.AbstractEventLoop

    @property
    def port(self) -> int:
        return self.server.address[1]

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the server's loop (thread-safe access to its state)."""

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(WAIT)


@contextmanager
def served(
    backend: FakeBackend | None = None,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop,
    **options: Any,
) -> Iterator[Served]:
    """A ``RespServer`` on 127.0.0.1, a free port, its own thread and loop; stopped on exit."""
    backend = backend if backend is not None else FakeBackend()
    loop = loop_factory()
    thread = threading.Thread(target=loop.run_forever, name="resp-server", daemon=True)
    thread.start()
    server = RespServer(backend, LOOPBACK, 0, node_id=1, **options)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(WAIT)
        yield Served(server, backend, loop)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()
