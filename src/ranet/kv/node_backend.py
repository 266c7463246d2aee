"""The real backend of the RESP server: a ranet node running a ``KVStore``.

Writes are wrapped in an envelope (``envelope.py``) stamped with this
node's clock and the client's session, and go through the log with
``Node.submit`` (a follower forwards to the leader). Reads wait for
``Node.read_barrier`` (ReadIndex, thesis §6.4) and then run on the local
store, so they are linearizable on any node; stale reads skip the barrier.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from ranet.core import ChangeKind
from ranet.errors import ConfigurationError, NotLeader, ProposalDropped, ShuttingDown, Timeout
from ranet.kv import envelope, notifications
from ranet.kv.acl import Users
from ranet.kv.arguments import parse_int
from ranet.kv.commands import is_read
from ranet.kv.keyspace import Publisher
from ranet.kv.reply import OK, BulkParts, ErrorReply, Reply, from_wire, to_wire
from ranet.kv.store import KVStore
from ranet.node.config import parse_address
from ranet.node.runtime import Node, ResultCodec
from ranet.storage.snapshots import snapshot_parts

T = TypeVar("T")
REPLY_CODEC = ResultCodec(to_wire, from_wire)
NOTE = b"RANET.NOTE"
TICK = b"RANET.TICK"
EXPIRY_TICK = 0.1  # seconds between two looks for keys due to expire (_tick_expiry)
MEMBER_USAGE = "RAFT.MEMBER takes LIST, ADD id host:port, PROMOTE id or REMOVE id"
_CHANGES = {
    b"ADD": ChangeKind.ADD_LEARNER,
    b"PROMOTE": ChangeKind.PROMOTE,
    b"REMOVE": ChangeKind.REMOVE,
}


def note(text: bytes) -> bytes:
    """A log entry that only records ``text`` (the seed's ``client-append-entry``)."""
    return envelope.encode(envelope.Envelope(0, 0, int(time.time() * 1000), [NOTE, text]))


def describe_command(entry: bytes) -> str:
    """A log entry as a person reads it: a note's text quoted, a command as typed."""
    try:
        decoded = envelope.decode(entry)
    except envelope.EnvelopeError:
        return f"<not a command: {entry[:40]!r}>"
    if isinstance(decoded, envelope.Envelope):
        return _describe_argv(decoded.argv)
    commands = [_describe_argv(argv) for argv in decoded.argvs]
    if isinstance(decoded, envelope.TransactionEnvelope):
        watched = [f"WATCH {_word(key)}" for key, _ in decoded.watched]
        commands = [*watched, "MULTI", *commands, "EXEC"]
    return "; ".join(commands)


def _describe_argv(argv: list[bytes]) -> str:
    if argv == [TICK]:
        return "(the clock's tick: keys due to expire)"
    if argv[0].upper() == NOTE and len(argv) == 2:
        return repr(argv[1].decode(errors="backslashreplace"))
    return " ".join(_word(arg) for arg in argv)


def _word(arg: bytes) -> str:
    text = arg.decode(errors="backslashreplace")
    return text if text and text.isprintable() and " " not in text else repr(text)


class NodeBackend:
    """``Backend`` over a node whose state machine is ``store``. The node bounds
    every call by its proposal timeout, so the server needs no timer."""

    bounds_every_call = True

    def __init__(
        self, node: Node, store: KVStore, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.node = node
        self.store = store
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None  # the node's, once a read needs it
        # Blocking commands' wake-ups (changed()): what each waits on, and the
        # one future, shared by all, of the node's next applied entry.
        self._watchers: list[tuple[list[bytes], list[int], asyncio.Future[None]]] = []
        self._next_apply: asyncio.Future[int] | None = None
        self._expiry_ticks: asyncio.Task[None] | None = None

    def write(self, argv: list[bytes], session: tuple[int, int] | None) -> Awaitable[Reply]:
        """Propose now and return the reply's future: no coroutine and no task per
        write (a pipeline of writes settles as plain futures)."""
        client_id, sequence = session or (0, 0)
        now_ms = int(self._clock() * 1000)
        command = envelope.encode(envelope.Envelope(client_id, sequence, now_ms, argv))
        return self.node.submit_nowait(command)

    def write_many(self, argvs: list[list[bytes]]) -> Awaitable[list[Reply]]:
        """Propose the run of writes as one log command (``RunEnvelope``);
        the future of its replies."""
        run = envelope.RunEnvelope(int(self._clock() * 1000), argvs)
        return self.node.submit_nowait(envelope.encode_run(run))

    def transaction(
        self, argvs: list[list[bytes]], watched: list[tuple[bytes, int]], *, stale: bool
    ) -> Awaitable[Reply]:
        """MULTI ... EXEC: reads alone, with nothing watched, share one
        ReadIndex barrier as a pipeline's reads do; anything else is one log
        command (``TransactionEnvelope``), applied all at once on every replica."""
        if not watched and all(is_read(argv) for argv in argvs):
            return self.read(argvs, stale=stale)
        transaction = envelope.TransactionEnvelope(int(self._clock() * 1000), argvs, watched)
        return self.node.submit_nowait(envelope.encode_transaction(transaction))

    def versions(self, keys: list[bytes], *, stale: bool) -> Awaitable[list[int]]:
        """WATCH: the keys' versions, read as linearizably as a GET unless ``stale``."""
        return self._after_barrier(lambda _: self.store.versions(keys), stale)

    def changed(self, keys: list[bytes], versions: list[int]) -> Awaitable[None]:
        """Done once the local store's versions of ``keys`` move from
        ``versions``. Every waiter is checked after each entry the node
        applies while anyone waits (one shared wait on the node, and a
        CRC-32 per key per check); nothing is done while nobody waits."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = self._loop.create_future()
        if self.store.versions(keys) != versions:
            waiter.set_result(None)
            return waiter
        self._watchers.append((keys, versions, waiter))
        if self._next_apply is None:
            self._wait_for_next_apply()
        return waiter

    def _wait_for_next_apply(self) -> None:
        self._next_apply = self.node.applied_beyond(self.node.applied_index)
        self._next_apply.add_done_callback(self._applied)

    def _applied(self, applied: asyncio.Future[int]) -> None:
        """The node applied something (or stopped): wake the waiters whose
        keys changed, and wait for the next entry if some are left."""
        self._next_apply = None
        error = None if applied.cancelled() else applied.exception()
        waiting = []
        for keys, versions, waiter in self._watchers:
            if waiter.done():  # its client stopped waiting
                continue
            if error is not None:
                waiter.set_exception(error)
            elif self.store.versions(keys) != versions:
                waiter.set_result(None)
            else:
                waiting.append((keys, versions, waiter))
        self._watchers = waiting
        if waiting:
            self._wait_for_next_apply()

    def read(self, argvs: Sequence[list[bytes]], *, stale: bool) -> Awaitable[list[Reply]]:
        """The replies' future: linearizable reads run on the store the moment
        their one ReadIndex barrier lifts (no coroutine and no task per read)."""
        if not stale:  # the common case, without a call more
            return self.node.read_barrier_nowait(then=partial(self._read_now, argvs))
        return self._after_barrier(partial(self._read_now, argvs), stale)

    def _after_barrier(self, then: Callable[[int], T], stale: bool) -> Awaitable[T]:
        """``then(read_index)``'s future, once a ReadIndex barrier lifts; at
        once, on local state, if ``stale``."""
        if not stale:
            return self.node.read_barrier_nowait(then=then)
        if self._loop is None:  # kept: a lookup is a getpid() system call (optimization 18)
            self._loop = asyncio.get_running_loop()
        result: asyncio.Future[T] = self._loop.create_future()
        result.set_result(then(0))
        return result

    def _read_now(self, argvs: Sequence[list[bytes]], read_index: int = 0) -> list[Reply]:
        # Reading with this node's clock hides keys past their deadline without
        # changing state; only applied entries move the store's own clock.
        return self.store.read_many(argvs, int(self._clock() * 1000))

    async def transfer_leadership(self, target: int | None) -> Reply:
        try:
            return await self.node.transfer_leadership(target)
        except NotLeader as error:
            return ErrorReply(f"ERR RAFT.TRANSFER must be sent to the leader: {error}")
        except (ConfigurationError, Timeout) as error:
            return ErrorReply(f"ERR {error}")

    async def membership(self, argv: list[bytes]) -> Reply:
        action = argv[0].upper() if argv else b""
        arity = {b"LIST": 1, b"ADD": 3, b"PROMOTE": 2, b"REMOVE": 2}.get(action)
        if arity is None:
            return ErrorReply(f"ERR {MEMBER_USAGE}")
        if len(argv) != arity:
            name = action.lower().decode()
            return ErrorReply(f"ERR wrong number of arguments for 'raft.member|{name}'")
        if action == b"LIST":
            return [
                [n, address.encode(), role.encode()] for n, address, role in self.node.members()
            ]
        node_id = parse_int(argv[1])
        if node_id is None or node_id < 0:
            return ErrorReply("ERR node id must be a non-negative integer")
        try:
            address = parse_address(argv[2].decode()) if action == b"ADD" else None
            await self.node.change_membership(_CHANGES[action], node_id, address)
        except NotLeader as error:
            return ErrorReply(f"ERR RAFT.MEMBER must be sent to the leader: {error}")
        except ProposalDropped as error:
            return ErrorReply(f"TRYAGAIN {error}")
        except (ConfigurationError, Timeout) as error:
            return ErrorReply(f"ERR {error}")
        return OK

    async def backup(self) -> BulkParts:
        meta, data = await self.node.backup()
        return BulkParts(snapshot_parts(meta, data))

    def deliver_published(self, publisher: Publisher) -> None:
        self.store.deliver_published(publisher)

    def watch_users(self, listener: Callable[[Users], None]) -> None:
        self.store.watch_users(listener)

    def keyspace_stats(self) -> dict[str, int]:
        return self.store.stats()

    def track_changes(self, tracker: Callable[[bytes | None], None] | None) -> None:
        self.store.track_changes(tracker)

    def notify_keyspace_events(self, flags: int) -> None:
        """The events this node emits; with expired ones, ticks of the clock
        too (``_tick_expiry``)."""
        self.store.notify_keyspace_events(flags)
        wanted = bool(flags & notifications.EXPIRED and flags & notifications.CHANNELS)
        if wanted and self._expiry_ticks is None:
            self._expiry_ticks = asyncio.ensure_future(self._tick_expiry())
        elif not wanted and self._expiry_ticks is not None:
            self._expiry_ticks.cancel()
            self._expiry_ticks = None

    async def _tick_expiry(self) -> None:
        """Keys expire as entries are applied, by the entries' time: on an
        idle cluster a key past its deadline would wait for the next write
        to go, and its "expired" event with it. So while this node emits
        expired events, a key's deadline passing with no entry applied since
        makes it write one that does nothing (RANET.TICK, stamped now), at
        most every ``EXPIRY_TICK`` seconds; applied, it expires the keys on
        every replica. A tick refused (no leader) is tried again at the next."""
        while True:
            await asyncio.sleep(EXPIRY_TICK)
            if self.store.expiry_due(int(self._clock() * 1000)):
                with contextlib.suppress(NotLeader, Timeout, ProposalDropped, ShuttingDown):
                    await self.write([TICK], None)

    def replicas_holding(self, wanted: int, timeout: float | None) -> Awaitable[int]:
        """WAIT: counted by the leader (``Node.replicas_holding``)."""
        return self.node.replicas_holding(wanted, timeout)

    def other_members(self) -> int:
        me = self.node.config.node_id
        return sum(node_id != me for node_id, _, _ in self.node.members())

    def script_declares_writes(self, argv: list[bytes]) -> bool | None:
        return self.store.script_declares_writes(argv)

    def raft_info(self) -> dict[str, Any]:
        status = self.node.status()
        leader = status["leader_id"]
        return {
            "node_id": status["node_id"],
            "role": status["role"].lower(),
            "term": status["term"],
            "leader_id": "" if leader is None else leader,
            "commit_index": status["commit_index"],
            "applied_index": status["applied_index"],
            "last_log_index": status["last_log_index"],
            "members": ",".join(map(str, status["members"])),
        }
