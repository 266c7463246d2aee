"""The Redis-protocol server of a node: RESP clients in, ``Backend`` calls out.

Any Redis client (redis-cli, redis-py, ...) can talk to a ranet node. Data
commands go to the backend - a WRITE through the Raft log, a READ after a
ReadIndex barrier - and connection commands (PING, HELLO, CLIENT, SELECT,
INFO, ...) are answered here. See ``docs/kv-server.md`` for the commands,
error replies and limits as clients see them.

Rule 1 - replies leave in the order the commands arrived, each encoded in
the protocol (RESP2 or RESP3) in force when its command ran.

Rule 2 - a connection's commands take effect in its order. A run of
consecutive reads is one backend call (so a pipeline of reads shares one
ReadIndex round), likewise a run of consecutive writes without a session
(one log command, applied in order with nothing between; the run stops
growing at ``_MAX_WRITE_RUN_BYTES``), and the calls of a group are made in
order in one loop iteration; but a read waits until the writes before it
have answered, and a write until the reads before it have.

Rule 3 - nothing a client does can hang the server or disturb another
client: every backend call is bounded by ``command_timeout``; bytes that are
not a request get ``-ERR Protocol error: ...`` and the connection is closed
after the replies to the commands before them; a client that does not read
its replies stops being read (back-pressure) instead of growing buffers.

A lone command - a read or write that arrives alone on a connection with
nothing queued, in flight or unanswered, as every command of a client that
does not pipeline does - is called at once from the read callback and
answered from its call's callback, without the queue, slots and groups that
Rules 1 and 2 need for pipelines (docs/performance.md, optimization 19).
Whatever arrives meanwhile queues behind it, so the rules hold unchanged.

Transactions (MULTI ... EXEC, WATCH) keep their state in ``transaction.py``;
EXEC is one backend call, ordered by Rule 2 like any other.

CLIENT REPLY and CLIENT PAUSE act as a command is taken: its replies are
dropped if the connection's mode says so when it is taken (Rule 1 holds
for the others), and a command the node's pause holds goes back to the
head of its queue, the connection taking nothing more until the pause ends
(``client_reply.py``, ``client_pause.py``). A connection under either is
``controlled``: it takes every command through the queue, never the lone
path, which tests that one attribute.

SLOWLOG (``slowlog.py``) times a lone command from its call to its reply,
a group's commands from the group's calls to their end (less a blocking
command's wait), and a connection command while its handler runs; each
time is compared with the threshold, and only a slow command is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from ranet import __version__
from ranet.errors import (
    ConfigurationError,
    ListenError,
    NotLeader,
    ProposalDropped,
    RanetError,
    RespProtocolError,
    ShuttingDown,
    Timeout,
)
from ranet.kv import (
    acl_check,
    acl_command,
    client_filters,
    client_pause,
    migrate,
    monitor,
    replica_wait,
    server_stats,
)
from ranet.kv.acl import DEFAULT, User, Users, password_hash
from ranet.kv.acl_log import AclLog
from ranet.kv.arguments import (
    REDIS_VERSION,
    arity_error,
    parse_int,
    parse_timeout,
    subcommand_refusal,
    subcommand_syntax_error,
    text_of,
    time_reply,
)
from ranet.kv.backend import Backend
from ranet.kv.blocking import FORMS, UNBLOCKED, Unblock, wait_and_take, wait_for_entries
from ranet.kv.client_pause import Pause
from ranet.kv.client_reply import ReplyMode
from ranet.kv.commands import (
    BLOCKING,
    CONNECTION,
    READ,
    WRITE,
    CommandSpec,
    Kind,
    command_reply,
    lookup,
    resolve,
)
from ranet.kv.config_command import config_reply, parameters, setters
from ranet.kv.keyspace import Keyspace
from ranet.kv.pubsub import (
    CHANNEL,
    OUTPUT_LIMIT,
    PATTERN,
    SHARD,
    SUBSCRIBED_MODE,
    Subscriptions,
)
from ranet.kv.reply import NULL_ARRAY, OK, BulkParts, ErrorReply, Push, Reply, Status
from ranet.kv.resp import DEFAULT_LIMITS, Encodable, RequestLimits, RequestParser, encode_reply
from ranet.kv.server_stats import ServerStats
from ranet.kv.slowlog import SlowLog
from ranet.kv.streams import waiting_read
from ranet.kv.tracking import Tracking, TrackingTable, caching, invalidation
from ranet.kv.tracking import info as tracking_info
from ranet.kv.tracking import parse as parse_tracking
from ranet.kv.transaction import RUN_INSIDE_MULTI, Exec, TransactionState, Watch, watched_versions

log = logging.getLogger(__name__)

"""The Redis version ranet claims to speak (HELLO, INFO): the commands it has behave as there."""

DEFAULT_COMMAND_TIMEOUT = 5.0
_MAX_QUEUED_BYTES = 256 << 10  # stop reading a client whose unanswered commands pass this
_WRITE_SLICE = 1 << 16  # replies are written in slices of about this size
_HTTP_WORDS = (b"post", b"host:")  # commands that show a client is a browser
_BEFORE_AUTH = frozenset(
    {b"auth", b"hello", b"quit", b"reset"}
)  # what a client may send unauthenticated
NO_AUTH = "NOAUTH Authentication required."
HELLO_NO_AUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
    "select the RESP protocol version at the same time"
)
WRONG_PASSWORD = "WRONGPASS invalid username-password pair or user is disabled."
_HANG_UP = Status("hang up")  # _execute's answer when the connection must close unanswered
_JOINED = Status("joined")  # _execute's answer for a command that joined the run before it
_HELD = Status("held")  # _execute's answer for a command CLIENT PAUSE holds (client_pause.py)
_MISMATCH = "ERR internal error: the backend's replies do not match the commands"
_CHANGED_AT_EXEC = (
    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the "
    "EXEC call. This command is no longer allowed for the following reason: "
)
_MAX_WRITE_RUN_BYTES = 256 << 10  # a run of writes is one log command: about a batch at most

NO_LEADER = "TRYAGAIN no leader is known yet; retry shortly"
SHUTTING_DOWN = "SHUTDOWN this node is shutting down; retry on another node"
_BAD_CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters."


def error_reply(error: Exception, kind: Kind | None) -> ErrorReply:
    """The reply to a backend call that raised ``error``: what happened, whether to retry."""
    if isinstance(error, NotLeader):
        return ErrorReply(NO_LEADER if error.leader_hint is None else f"TRYAGAIN {error}")
    if isinstance(error, Timeout | TimeoutError):
        return timeout_reply(kind, str(error) or "no reply in time")
    if isinstance(error, ShuttingDown):
        return ErrorReply(SHUTTING_DOWN)
    if isinstance(error, ProposalDropped):
        return ErrorReply(f"TRYAGAIN the command was not accepted: {error}; retry shortly")
    if isinstance(error, RanetError):
        return ErrorReply(f"ERR {error}")
    log.error("backend call failed unexpectedly", exc_info=error)
    return ErrorReply(f"ERR internal error: {type(error).__name__}: {error}")


def timeout_reply(kind: Kind | None, detail: str) -> ErrorReply:
    """A write that timed out may still be applied; a read that timed out changed nothing."""
    if kind is WRITE or kind is BLOCKING:
        return ErrorReply(f"TIMEOUT the command's outcome is unknown: {detail}")
    return ErrorReply(f"TIMEOUT the read did not complete: {detail}")


class RespServer:
    """Serves the Redis protocol on ``host:port`` for one node, over ``backend``."""

    def __init__(
        self,
        backend: Backend,
        host: str = "127.0.0.1",
        port: int = 6379,
        *,
        node_id: int,
        limits: RequestLimits = DEFAULT_LIMITS,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        password: bytes | None = None,
        ssl_context: ssl.SSLContext | None = None,
        keyspace_events: int = 0,
    ) -> None:
        if password is not None and not password:
            raise ConfigurationError("the password must not be empty")
        self.backend = backend
        self.password = password
        self.ssl_context = ssl_context
        self.node_id = node_id
        self.limits = limits
        self.command_timeout = command_timeout
        self.backend_bounds_calls = getattr(backend, "bounds_every_call", False)
        self._listen = (host, port)
        self._server: asyncio.Server | None = None
        self._clients: dict[int, _Client] = {}
        self.subscriptions = Subscriptions()
        self.keyspace_events = keyspace_events  # notifications.py: this node's setting
        self.tracking = TrackingTable(self._invalidate)  # client-side caching (tracking.py)
        self._next_client_id = 1
        self.stats = ServerStats()
        self.users = Users()  # this node's replica of the ACL users (acl.py)
        self.monitors: dict[int, _Client] = {}  # connections in MONITOR (monitor.py)
        self.acl_log = AclLog()  # what this node refused (ACL LOG)
        self.slowlog = SlowLog()  # this node's clients' slow commands (SLOWLOG)
        self.config_setters = setters(self.notify_keyspace_events, self.slowlog)
        self.pause: Pause | None = None  # CLIENT PAUSE in force (client_pause.py)

    def default_logs_in(self) -> bool:
        """Whether a new connection is authenticated at once, as the default
        user: no node password, and that user on and without one (Redis)."""
        default = self.users.get(DEFAULT)
        return self.password is None and default is not None and default.authenticates(b"")

    def _users_changed(self, users: Users) -> None:
        """The ACL users changed (ACL SETUSER or DELUSER applied, a snapshot
        installed): each connection takes its user's new rules; one whose
        user is gone, or whose subscriptions its rules no longer allow, is
        closed (Redis 7.0 closes both)."""
        self.users = users
        for client in list(self._clients.values()):
            client.take_rules(users.get(client.user_name))

    def track(self, client: _Client, tracking: Tracking | None) -> None:
        """CLIENT TRACKING: ``client``'s new tracking (None: off); the store
        tells the table of changes while any connection tracks."""
        table = self.tracking
        before = bool(table.clients)
        table.disable(client.id)
        client.tracking = tracking
        if tracking is not None:
            table.enable(client.id, tracking)
        if bool(table.clients) != before:
            self.backend.track_changes(table.changed if table.clients else None)

    def _invalidate(self, client_id: int, keys: list[bytes] | None) -> None:
        """Send an invalidation to the tracking ``client_id``, or to the
        client it redirects to (RESP3: a push; RESP2, subscribed: a message
        on ``__redis__:invalidate``; RESP2 otherwise: nothing, as in Redis)."""
        client = self._clients.get(client_id)
        if client is None or client.tracking is None:
            self.tracking.disable(client_id)
            return
        redirect = client.tracking.redirect
        target = self._clients.get(redirect) if redirect else client
        if target is None:  # the redirection's connection is gone: said once
            if not client.tracking.broken_redirect and client.resp3:
                client.push(Push([b"tracking-redir-broken", redirect]))
            client.tracking.broken_redirect = True
            return
        if target.resp3 or (redirect and target._subscribed):
            target.push(invalidation(keys, target.resp3))

    def notify_keyspace_events(self, flags: int) -> None:
        """CONFIG SET notify-keyspace-events: the events this node emits from now on."""
        self.keyspace_events = flags
        self.backend.notify_keyspace_events(flags)

    @property
    def address(self) -> tuple[str, int]:
        """The bound address once started (the real port when asked for port 0)."""
        if self._server is not None and self._server.sockets:
            host, port = self._server.sockets[0].getsockname()[:2]
            return host, port
        return self._listen

    async def start(self) -> None:
        """Listen for clients; ``ListenError`` (an ``OSError``) if the address is taken."""
        if self._server is not None:
            raise RuntimeError("a RespServer starts once")
        host, port = self._listen
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _Client(self), host, port, ssl=self.ssl_context
            )
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise ListenError(
                error.errno,
                f"node {self.node_id} cannot serve the Redis protocol on {host}:{port}: {reason}",
            ) from error
        self.stats.started = time.monotonic()
        self.backend.deliver_published(self.subscriptions.deliver)
        self.backend.watch_users(self._users_changed)
        self.backend.notify_keyspace_events(self.keyspace_events)
        log.info("node %s: Redis protocol on %s:%s", self.node_id, *self.address)

    async def stop(self) -> None:
        """Stop listening and drop every client connection. Idempotent.

        Commands in flight are abandoned: their clients see the connection
        close (a write among them may still be applied).
        """
        if self._server is not None:
            self._server.close()
        self.backend.notify_keyspace_events(0)  # and the node's ticks for them stop
        if self.pause is not None:  # its timer stops; the connections it holds close below
            self.pause.stop()
            self.pause = None
        clients = list(self._clients.values())
        for client in clients:
            client.abort()
        if clients:
            await asyncio.wait([client.closed for client in clients], timeout=1.0)

    def clients(self) -> list[_Client]:
        return list(self._clients.values())

    def client(self, client_id: int) -> _Client | None:
        """The connection with that id (CLIENT ID), if it is open."""
        return self._clients.get(client_id)

    def _register(self, client: _Client) -> int:
        client_id = self._next_client_id
        self._next_client_id += 1
        self._clients[client_id] = client
        self.stats.connections_received += 1
        return client_id

    def _unregister(self, client: _Client) -> None:
        self._clients.pop(client.id, None)
        self.monitors.pop(client.id, None)
        if self.pause is not None:
            self.pause.forget(client)

    def pause_clients(self, milliseconds: int, kind: int) -> None:
        """CLIENT PAUSE: hold this node's clients' commands (client_pause.py)."""
        end = client_pause.end_of(milliseconds)
        if self.pause is not None:
            self.pause.extend(kind, end)
        elif end is not None:
            self.pause = Pause(kind, end, self.unpause_clients)
            for client in self._clients.values():
                client.recheck_control()

    def unpause_clients(self) -> None:
        """CLIENT UNPAUSE, or the pause's time is up: the held commands run."""
        pause, self.pause = self.pause, None
        if pause is None:
            return
        for client in self._clients.values():
            client.recheck_control()
        for client in pause.stop():
            client.release()

    def feed_monitors(self, client: _Client, spec: CommandSpec, argv: list[bytes]) -> None:
        """MONITOR: ``client`` sent ``argv``; each monitor gets its line
        (unless its replies are off: client_reply.py)."""
        if monitor.shown(spec, argv):
            line = monitor.line(time.time(), client.peer, argv)
            for watcher in list(self.monitors.values()):
                if watcher.reply_mode is None or not watcher.reply_mode.silent:
                    watcher.push(line)

    async def info(self, sections: list[bytes]) -> bytes:
        """The text of ``INFO [section ...]``: Server, Clients, Memory,
        Stats, Replication, CPU, Keyspace (server_stats.py) - Redis's
        default sections - and, named or with ``all``, Raft, whose ``role``
        (leader, follower) is Raft's, where Replication's is Redis's (master)."""
        wanted = {section.lower() for section in sections} or {b"default"}
        everything = bool(wanted & {b"all", b"everything"})
        if b"default" in wanted:
            wanted |= server_stats.DEFAULT_SECTIONS
        texts = [
            _info_section(title, fields())
            for title, fields in (
                ("Server", self._server_fields),
                ("Clients", self._client_fields),
                ("Memory", server_stats.memory),
                ("Stats", self._stats_fields),
                ("Replication", server_stats.replication),
                ("CPU", server_stats.cpu),
                ("Keyspace", self._keyspace_fields),
                ("Raft", self.backend.raft_info),
            )
            if everything or title.lower().encode() in wanted
        ]
        return "\r\n".join(texts).encode()

    def _server_fields(self) -> dict[str, Any]:
        return self.stats.server(
            {
                "redis_version": REDIS_VERSION,
                "ranet_version": __version__,
                "redis_mode": "standalone",
                "node_id": self.node_id,
                "multiplexing_api": type(asyncio.get_running_loop()).__module__.split(".")[0],
                "tcp_port": self.address[1],
            }
        )

    def _client_fields(self) -> dict[str, Any]:
        blocked = sum(client.blocked or client.held for client in self._clients.values())
        return {"connected_clients": len(self._clients), "blocked_clients": blocked}

    def _stats_fields(self) -> dict[str, Any]:
        expired = self.backend.keyspace_stats()["expired_keys"]
        subscriptions = self.subscriptions
        return self.stats.stats(expired, len(subscriptions.channels(None)), subscriptions.numpat())

    def _keyspace_fields(self) -> dict[str, Any]:
        """``db0:keys=N,expires=M,avg_ttl=0``, this node's (as applied)."""
        counts = self.backend.keyspace_stats()
        return server_stats.keyspace(counts["keys"], counts["expires"])


def _info_section(title: str, fields: dict[str, Any]) -> str:
    """One section of INFO: a ``# Title`` line, then ``name:value`` lines."""
    lines = "".join(
        f"{name}:{'' if value is None else value}\r\n" for name, value in fields.items()
    )
    return f"# {title}\r\n{lines}"


@dataclass(slots=True)
class _Call:
    """A command that needs the backend; it is made when its group settles (Rule 2).

    Reads and writes carry their arguments instead of a ``start``, so they
    are made without a closure. Consecutive reads, and consecutive writes
    without a session, share one call and one slot: the ``run`` goes to the
    backend as one call (one ReadIndex barrier, or one log command) and
    comes back as one ``_Replies``.
    """

    kind: Kind | None  # READ or WRITE; None for INFO, which orders with neither
    start: Callable[[], Awaitable[Any]] | None  # makes the call: a coroutine or a future
    run: list[list[bytes]] | None = None  # a run of reads' or writes' argvs
    stale: bool = False  # whether a run of reads may be served from local state
    size: int = 0  # a run of writes' argument bytes
    session: tuple[int, int] | None = None  # a write in a session: alone, never joined
    sent: list[bytes] | None = None  # a call without a run: its command, as sent (SLOWLOG)
    transaction: list[list[bytes]] | None = None  # EXEC's: the commands it runs (SLOWLOG)
    muted: bool = False  # its reply is dropped: CLIENT REPLY (client_reply.py)

    @property
    def replies_each(self) -> bool:
        """Whether the call answers with a list: one reply per command of its run."""
        return self.run is not None and (self.kind is READ or len(self.run) > 1)


class _Replies:
    """The replies to a run of commands, in one slot; ``sent`` of them are written."""

    __slots__ = ("replies", "sent")
    encode = staticmethod(encode_reply)

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.sent = 0


class _Encoded(_Replies):
    """One reply already encoded, in pieces (a ``BulkParts``), written in slices."""

    __slots__ = ()
    encode = staticmethod(lambda piece, resp3: piece)

    def __init__(self, bulk: BulkParts) -> None:
        size = sum(map(len, bulk.parts))
        super().__init__([b"$%d\r\n" % size, *bulk.parts, b"\r\n"])


class _Client(asyncio.Protocol):
    """One client connection: parse, run in order, answer in order (Rules 1-3).

    Driven by callbacks, not by a task: bytes arriving and the socket
    becoming writable schedule ``_advance``, and a group of backend calls
    ending runs it; it runs queued commands until one must wait for the
    backend, writes the replies that are ready, and returns. A request that
    needs the log thus costs no task wake-up of its own (docs/performance.md,
    optimization 12).
    """

    def __init__(self, server: RespServer) -> None:
        self.server = server
        self.id = 0
        self.name = b""
        self.lib_name = b""
        self.lib_version = b""
        self.resp3 = False
        self.stale = False  # READONLY: serve reads from local state, without ReadIndex
        self.peer = self.local = "?"
        self.created = self.last_active = time.monotonic()
        self.last_command = [b"NULL"]  # as sent: CLIENT LIST shows its name, SLOWLOG all of it
        self._slowlog = server.slowlog
        # Kept: asyncio.get_running_loop() is a getpid() system call on
        # Python 3.11, too dear once per request (docs/performance.md, opt. 18).
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._transport: asyncio.Transport | None = None
        self._parser = RequestParser(server.limits)
        self._queue: deque[list[bytes]] = deque()
        self._queued_bytes = 0
        self._failure: RespProtocolError | None = None
        self._eof = False
        self._quitting = False
        self._finished = False
        self._reading_paused = False
        self._writing_paused = False
        # Replies in command order; a slot holds a _Call until its reply is in.
        self._slots: list[list[Any]] = []  # [reply or _Call, resp3]
        self._written = 0  # slots[:_written] are on the wire already
        self._group: list[int] = []  # slots of calls not made yet, all of one kind
        self._group_kind: Kind | None = None
        self._open_run: _Call | None = None  # the run in the last slot, which may grow
        self._in_flight: list[tuple[int, asyncio.Future[Any]]] = []  # (slot, its call)
        self._generation = 0  # of the group in flight: a late callback of an older one is ignored
        self._group_started = 0.0  # when the group in flight was called (SLOWLOG)
        self.blocked = False  # the group in flight is a blocking command's wait (blocking.py)
        self._blocked_for = 0.0  # seconds that wait has waited for something to take
        self.unblock: Unblock | None = None  # set while that wait runs: CLIENT UNBLOCK ends it
        self.tracking: Tracking | None = None  # CLIENT TRACKING (tracking.py)
        self.reply_mode: ReplyMode | None = None  # CLIENT REPLY OFF or SKIP (client_reply.py)
        self.controlled = False  # recheck_control's
        self.recheck_control()
        self.held = False  # CLIENT PAUSE holds its next command (client_pause.py)
        self.wrote = False  # whether it sent a write: WAIT (replica_wait.py)
        self._after_lone: list[Push] = []  # messages held until the lone command's reply
        self._timer: asyncio.TimerHandle | None = None
        self._advance_scheduled = False
        self._lone: asyncio.Future[Any] | None = None  # the call of a lone command
        self._lone_kind: Kind = WRITE
        self._transaction = TransactionState(server.limits.max_command_len)
        self.authenticated = server.default_logs_in()
        self.channels: dict[bytes, None] = {}  # subscribed (pubsub.py), in order
        self.patterns: dict[bytes, None] = {}
        self.shard_channels: dict[bytes, None] = {}
        self._subscribed = False  # whether there is one: RESP2 then takes few commands
        self.user_name = DEFAULT  # ACL user (acl.py), authenticated or not
        self.acl: User | None = None  # its rules, or None when they allow everything
        self.take_rules(server.users.get(DEFAULT))

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop transports are no subclasses
        self._transport = transport
        self.peer = _format(transport.get_extra_info("peername"))
        self.local = _format(transport.get_extra_info("sockname"))
        self.id = self.server._register(self)

    def data_received(self, data: bytes) -> None:
        if self._failure is not None or self._quitting:
            return
        try:
            commands = self._parser.feed(data)
        except RespProtocolError as error:
            commands = error.commands
            self._failure = error
            self._pause_reading()
        self.server.stats.received(len(data), len(commands))
        if (
            len(commands) == 1
            and self._lone is None
            and not self._queue
            and not self._slots
            and not self._writing_paused
            and self._run_lone(commands[0])
        ):
            return
        self._queue += commands
        self._queued_bytes += len(data)
        if self._queue and self._queued_bytes > _MAX_QUEUED_BYTES:
            self._pause_reading()
        self._schedule_advance()

    def eof_received(self) -> bool:
        if self.blocked or self.held:  # as Redis: a client gone while it waits is dropped
            return False  # the transport closes; connection_lost cancels the wait
        self._eof = True  # answer what came before the half-close, then close
        self._schedule_advance()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._finished = True
        self.server._unregister(self)
        if self._subscribed:
            self.server.subscriptions.drop(self)
        if self.tracking is not None:
            self.server.track(self, None)
        self._cancel_in_flight()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._schedule_advance()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()

    # -- running commands ------------------------------------------------------

    def _schedule_advance(self) -> None:
        """``_advance`` once, after this loop iteration's input: the commands of
        every connection that became readable are then proposed together,
        which measured faster with many pipelined writes than running each
        connection's commands inside its read callback."""
        if not self._advance_scheduled:
            self._advance_scheduled = True
            self._loop.call_soon(self._advance)

    def _advance(self) -> None:
        """Run what can run now, write what is ready; return when waiting."""
        self._advance_scheduled = False
        try:
            self._run_queued()
        except Exception:
            self._drop_after_error()

    def _drop_after_error(self) -> None:
        log.exception(
            "client %s (%s): connection dropped after an internal error", self.id, self.peer
        )
        self._close(abort=True)

    def _close(self, *, abort: bool = False) -> None:
        """End the connection now: its calls cancelled, the transport closed
        (what is buffered is still written) or, after an error, aborted."""
        self._finished = True
        self._cancel_in_flight()
        if self._transport is not None:
            if abort:
                self._transport.abort()
            else:
                self._transport.close()

    def _run_lone(self, argv: list[bytes]) -> bool:
        """Call the backend for a lone read or write now; False for any other
        command, which takes the queue."""
        spec = resolve(argv)
        if isinstance(spec, ErrorReply) or self._transaction.queued is not None:
            return False
        if self._subscribed or not self.authenticated or self.acl is not None or self.controlled:
            return False  # _execute checks what such a connection may run
        if self.server.monitors:
            return False  # _execute shows it to them
        kind = spec.kind
        if (kind is not WRITE and kind is not READ) or spec.may_block:
            return False
        if self.tracking is not None:
            self._tracked(spec, argv)
        self.last_active = time.monotonic()  # when it started: SLOWLOG times it from here
        future = _call_backend(self.server.backend, kind, [argv], self.stale, None)
        self.last_command = argv
        self._lone, self._lone_kind = future, kind
        future.add_done_callback(self._lone_ended)
        self._bound_by_timer(self._lone_timed_out)
        return True

    def _bound_by_timer(self, on_timeout: Callable[[float], None]) -> None:
        """Rule 3: ``on_timeout(command_timeout)`` once that time is up, unless
        the backend bounds its calls itself."""
        if not self.server.backend_bounds_calls:
            timeout = self.server.command_timeout
            self._timer = self._loop.call_later(timeout, on_timeout, timeout)

    def _lone_ended(self, future: asyncio.Future[Any]) -> None:
        if future is not self._lone or self._finished:
            return  # timed out, or the connection is gone
        if self._lone_kind is READ:  # a read call answers a list: here, of one reply
            self._answer_lone(_reply_of(future, READ, 1).replies[0])
        else:
            self.wrote = True
            self._answer_lone(_reply_of(future, WRITE, 0))

    def _lone_timed_out(self, timeout: float) -> None:
        self._timer = None
        if self._lone is not None:
            _discard(self._lone)
            self._answer_lone(_no_reply_within(timeout, self._lone_kind))

    def _answer_lone(self, reply: Reply) -> None:
        """Write the lone command's reply; then run whatever queued behind it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._lone = None
        seconds = time.monotonic() - self.last_active
        try:
            if seconds >= self._slowlog.threshold:
                self._slowlog.add(self.last_command, reply, seconds, self.peer, self.name)
            if self._queue or self._eof or self._failure is not None or self._reading_paused:
                self._slots.append([reply, self.resp3])
                self._run_queued()
            else:
                self._transport.write(encode_reply(reply, self.resp3))  # type: ignore[union-attr]
            held, self._after_lone = self._after_lone, []
            for message in held:
                self.push(message)
        except Exception:
            self._drop_after_error()

    def _run_queued(self) -> None:
        transport = self._transport
        if self._finished or transport is None or self._lone is not None:
            return
        queue = self._queue
        if queue:
            self.last_active = time.monotonic()
        while not self._in_flight and not self._writing_paused:
            if queue and not self._quitting and not self.held:
                self._take(queue.popleft())
            elif self._group:
                self._start_group()
            else:
                break
        if not self._write_ready(transport) or self._in_flight or self.held:
            return  # resume_writing, the calls' end or the pause's calls back
        if self._reading_paused and self._failure is None:
            self._reading_paused = False
            transport.resume_reading()
        self._queued_bytes = 0
        self._close_if_done(transport)

    def _take(self, argv: list[bytes]) -> None:
        """Run one command as far as it runs here: a reply now, or a call in a group."""
        self.last_command = argv
        result = self._execute_controlled(argv) if self.controlled else self._execute(argv)
        if result is _JOINED or result is _HELD:
            return
        if result is _HANG_UP:
            self._queue.clear()
            return
        slot = len(self._slots)
        self._slots.append([result, self.resp3])
        if not isinstance(result, _Call):
            self._open_run = None
            return
        if result.run is None:
            result.sent = argv
        if result.kind is not None:
            if self._group and (
                self._group_kind not in (None, result.kind) or result.kind is BLOCKING
            ):
                # Rule 2: the calls before it are made, and answered, first (and a
                # blocking command waits alone, as in Redis: nothing after it runs).
                self._start_group()
            self._group_kind = result.kind
        self._group.append(slot)
        self._open_run = result if result.run is not None else None

    def _run_call(self, kind: Kind, argv: list[bytes]) -> _Call | Status:
        """A read, or a write without a session, joins the run of its kind
        waiting in the last slot (nothing between them: the same staleness
        and protocol), or starts a run."""
        run = self._open_run
        if kind is READ:
            if run is not None and run.kind is READ:
                run.run.append(argv)  # type: ignore[union-attr]
                return _JOINED
            return _Call(READ, None, [argv], self.stale)
        size = sum(map(len, argv))
        if (
            run is not None
            and run.kind is WRITE
            and run.session is None
            and run.size + size <= _MAX_WRITE_RUN_BYTES
        ):
            run.run.append(argv)  # type: ignore[union-attr]
            run.size += size
            return _JOINED
        return _Call(WRITE, None, [argv], size=size)

    def _start_group(self) -> None:
        """Make the group's calls, in order, in this loop iteration (Rule 2)."""
        group, kind = self._group, self._group_kind
        self._group, self._group_kind = [], None
        self._open_run = None
        self._generation += 1
        if kind is WRITE:
            self.wrote = True
        in_flight = self._in_flight
        backend = self.server.backend
        self._group_started = time.monotonic()
        for slot in group:
            call: _Call = self._slots[slot][0]
            run = call.run
            if run is not None:
                future = _call_backend(backend, call.kind, run, call.stale, call.session)
            else:
                assert call.start is not None
                future = _start(call.start)
            in_flight.append((slot, future))
        last = len(in_flight) - 1
        self._in_flight[last][1].add_done_callback(
            partial(self._call_ended, self._generation, last)
        )
        self.blocked = kind is BLOCKING
        if not self.blocked:  # a blocking command ends at its own timeout
            self._bound_by_timer(self._group_ended)

    def _call_ended(self, generation: int, position: int, _: asyncio.Future[Reply]) -> None:
        """Wait on the last call of the group not done yet. Calls mostly end in
        order, all in one pass of the node, so a group usually takes one wake-up."""
        if self._finished or generation != self._generation:
            return  # the connection is gone, or the group timed out
        in_flight = self._in_flight
        while position >= 0 and in_flight[position][1].done():
            position -= 1
        if position >= 0:
            in_flight[position][1].add_done_callback(
                partial(self._call_ended, generation, position)
            )
        else:
            self._group_ended()

    def _group_ended(self, timeout: float | None = None) -> None:
        """Every call ended (or, with ``timeout``, the time is up): their replies."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._generation += 1
        seconds = time.monotonic() - self._group_started
        if self.blocked:  # the time it waited for something to take is not its own
            seconds -= self._blocked_for
            self.blocked = False
        slow = seconds >= self._slowlog.threshold
        slots = self._slots
        for slot, future in self._in_flight:
            call: _Call = slots[slot][0]
            outcome = _outcome(call, future, timeout)
            slots[slot][0] = _Replies([]) if call.muted else outcome
            if slow:
                self._log_slow_call(call, outcome, seconds)
        self._in_flight.clear()
        self._advance()

    def _log_slow_call(self, call: _Call, outcome: Any, seconds: float) -> None:
        """SLOWLOG: the commands a slow call answered, each with its reply -
        a run's, EXEC's (not EXEC itself, as in Redis; none if a watched key
        stopped them), or the call's command; not a blocking command that
        took nothing (timed out or unblocked: Redis logs no timeout)."""
        if call.run is not None:
            commands = [acl_command.as_sent(argv) for argv in call.run]
            replies = outcome.replies if isinstance(outcome, _Replies) else [outcome]
        elif call.transaction is not None:
            commands = call.transaction
            if outcome is NULL_ARRAY:  # a watched key stopped it
                return
            each = isinstance(outcome, list) and len(outcome) == len(commands)
            replies = outcome if each else [outcome] * len(commands)
        elif call.kind is BLOCKING and (outcome is NULL_ARRAY or outcome is UNBLOCKED):
            return
        else:
            assert call.sent is not None
            commands, replies = [call.sent], [outcome]
        for argv, reply in zip(commands, replies, strict=True):
            if isinstance(reply, ErrorReply) and reply.message.startswith(_CHANGED_AT_EXEC):
                continue  # refused at EXEC, never run: Redis logs it not
            self._slowlog.add(argv, reply, seconds, self.peer, self.name)

    def _cancel_in_flight(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lone is not None:
            _discard(self._lone)
            self._lone = None
        for _, future in self._in_flight:
            _discard(future)
        self._in_flight.clear()
        self._generation += 1

    def _write_ready(self, transport: asyncio.Transport) -> bool:
        """Write the replies that are ready, in order, in slices; False while the
        client is not reading (a pipeline of ``GET big`` cannot pile up here)."""
        slots = self._slots
        written, end = self._written, len(slots)
        pieces: list[bytes] = []
        size = 0
        while written < end and not self._writing_paused:  # else resume_writing calls back
            reply, resp3 = slots[written]
            kind = reply.__class__
            if kind is _Call:
                break
            if kind is _Replies or kind is _Encoded:
                replies, encode = reply.replies, reply.encode
                while reply.sent < len(replies) and size < _WRITE_SLICE:
                    data = encode(replies[reply.sent], resp3)
                    pieces.append(data)
                    size += len(data)
                    reply.sent += 1
                written += reply.sent == len(replies)
            else:
                data = encode_reply(reply, resp3)
                pieces.append(data)
                size += len(data)
                written += 1
            if size >= _WRITE_SLICE:
                transport.write(b"".join(pieces))
                pieces.clear()
                size = 0
        if pieces:
            transport.write(b"".join(pieces) if len(pieces) > 1 else pieces[0])
        if written == end:
            slots.clear()
            written = 0
        self._written = written
        return not self._writing_paused

    def _close_if_done(self, transport: asyncio.Transport) -> None:
        """After the last reply: a protocol error is reported, QUIT and EOF close."""
        if self._queue and not self._quitting:
            return
        if self._failure is not None and not self._quitting:
            log.info("client %s (%s) closed: %s", self.id, self.peer, self._failure)
            transport.write(encode_reply(ErrorReply(f"ERR {self._failure}")))
        if self._quitting or self._failure is not None or self._eof:
            self._finished = True
            transport.close()

    def _execute(self, argv: list[bytes], pause: Pause | None = None) -> Encodable | _Call:
        """Run one command as far as it runs here: a reply, or the backend call
        to make; ``_HELD`` if ``pause`` holds it (client_pause.py Rule 2)."""
        if not self.authenticated and argv[0].lower() not in _BEFORE_AUTH:
            return self._refuse_unauthenticated(argv)
        spec = resolve(argv)
        if self.acl is not None and not isinstance(spec, ErrorReply):
            refused = self._acl_refusal(self.acl, spec, argv)
            if refused is not None:
                spec = refused  # in MULTI, it dooms the transaction (Redis)
        if self._transaction.queued is not None and (
            isinstance(spec, ErrorReply) or spec.name not in RUN_INSIDE_MULTI
        ):
            if (
                pause is not None
                and not isinstance(spec, ErrorReply)
                and self._held(pause, spec, argv)
            ):
                return _HELD
            return self._transaction.queue(argv, spec)
        if isinstance(spec, ErrorReply):
            return self._hang_up() if argv[0].lower() in _HTTP_WORDS else spec
        if self._subscribed and not self.resp3 and spec.name not in SUBSCRIBED_MODE:
            return ErrorReply(
                f"ERR Can't execute '{spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
                "PING / QUIT / RESET are allowed in this context"
            )
        if pause is not None and self._held(pause, spec, argv):
            return _HELD
        if self.server.monitors and spec.name != "exec":  # EXEC: after what it runs
            if self.id in self.server.monitors:
                if spec.kind is not CONNECTION:
                    return ErrorReply("ERR Replica can't interact with the keyspace")  # Redis's
                # its own line after its reply, as Redis writes them
                self._loop.call_soon(self.server.feed_monitors, self, spec, argv)
            else:
                self.server.feed_monitors(self, spec, argv)
        if self.tracking is not None and spec.name != "client":
            self._tracked(spec, argv)
        if spec.kind is WRITE or spec.kind is READ:
            if spec.may_block:
                return self._read_streams(spec, argv)
            if self.acl is not None:  # a restricted user's script runs as that user
                argv = acl_command.as_user(self.acl, spec, argv)
            return self._run_call(spec.kind, argv)
        handler = _CONNECTION_COMMANDS.get(spec.name.encode())
        if handler is None:
            return ErrorReply(f"ERR '{spec.name}' is not served by ranet")
        started = time.monotonic()
        result = handler(self, argv)
        seconds = time.monotonic() - started
        if seconds >= self._slowlog.threshold:
            self._log_slow_reply(spec, argv, result, seconds)
        return result

    def _log_slow_reply(
        self, spec: CommandSpec, argv: list[bytes], result: Encodable | _Call, seconds: float
    ) -> None:
        """SLOWLOG: a connection command answered here, slowly. A call it
        made is logged when the call ends; EXEC never is (its commands are)."""
        if not isinstance(result, _Call) and result is not _JOINED and spec.name != "exec":
            self._slowlog.add(argv, result, seconds, self.peer, self.name)

    def _execute_controlled(self, argv: list[bytes]) -> Encodable | _Call:
        """``_execute`` while CLIENT REPLY drops replies or CLIENT PAUSE is in
        force: the command held (client_pause.py), or run with its replies
        dropped if they must be (client_reply.py)."""
        mode = self.reply_mode
        if mode is not None and mode.take():
            self._open_run = None  # it joins no run whose replies are wanted
        pause = self.server.pause
        result = self._execute(argv, pause)
        if result is _HELD:
            assert pause is not None
            if mode is not None:
                mode.put_back()
            self._queue.appendleft(argv)
            self.held = True
            pause.hold(self)
            return result
        mode = self.reply_mode  # the command may have set it (CLIENT REPLY OFF)
        if mode is not None:
            if mode.dropping:
                result = self._dropped(result)
            if not mode.finish():
                self.reply_mode = None
        self.recheck_control()
        return result

    def recheck_control(self) -> None:
        """``controlled``: whether CLIENT REPLY or CLIENT PAUSE is in force -
        commands then take the queue and ``_execute_controlled``. Kept as an
        attribute, set whenever either changes, because the lone path tests
        it for every command."""
        self.controlled = self.reply_mode is not None or self.server.pause is not None

    def _dropped(self, result: Encodable | _Call) -> Encodable | _Call:
        """The result of a command whose replies are dropped: only its pushes
        (client_reply.py Rule 2); a call made alone, so that no command whose
        reply is wanted joins its run, and whose reply is dropped."""
        if isinstance(result, _Call):
            if result.run is not None:
                backend, kind = self.server.backend, result.kind
                start = partial(
                    _call_backend, backend, kind, result.run, result.stale, result.session
                )
                result = _Call(kind, start)
            result.muted = True
            return result
        if result is _HANG_UP:
            return result
        if isinstance(result, _Replies):  # SUBSCRIBE's: confirmations, which are pushes
            return _Replies([reply for reply in result.replies if isinstance(reply, Push)])
        return result if isinstance(result, Push) else _Replies([])

    def _held(self, pause: Pause, spec: CommandSpec, argv: list[bytes]) -> bool:
        """Whether ``pause`` holds the command (client_pause.py Rules 1-2):
        never a MONITOR connection's, nor a subcommand Redis refuses first."""
        if self.id in self.server.monitors or subcommand_refusal(spec, argv) is not None:
            return False
        declares_writes = self.server.backend.script_declares_writes
        return pause.holds(spec, argv, declares_writes, self._transaction.queued or [])

    def release(self) -> None:
        """CLIENT PAUSE ended: take the held command again, and what follows it."""
        self.held = False
        self._schedule_advance()

    def _refuse_unauthenticated(self, argv: list[bytes]) -> Encodable:
        return self._hang_up() if argv[0].lower() in _HTTP_WORDS else ErrorReply(NO_AUTH)

    def _hang_up(self) -> Encodable:
        """As Redis: a browser's request, aimed at us by a web page, is not answered."""
        log.warning("client %s (%s) sent an HTTP request; closed", self.id, self.peer)
        self._quitting = True
        return _HANG_UP

    # -- connection commands ---------------------------------------------------

    def _auth(self, argv: list[bytes]) -> Reply:
        """AUTH [username] password: as a user of the ACL (acl.py); the
        password alone is the default user's."""
        if len(argv) > 3:
            return ErrorReply("ERR syntax error")
        if len(argv) == 2 and self.server.default_logs_in():
            return ErrorReply(
                "ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?"
            )
        refused = self._log_in(argv[1] if len(argv) == 3 else DEFAULT, argv[-1], argv)
        return OK if refused is None else refused

    def _log_in(self, name: bytes, password: bytes, command: list[bytes]) -> ErrorReply | None:
        """Authenticate the connection as ``name``, or say why not (a failed
        attempt leaves the connection as it was, as in Redis). The node's
        ``password``, if set, is the default user's too (Redis's requirepass)."""
        user = self.server.users.get(name)
        if user is None or not self._accepts(user, password):
            log.info("client %s (%s): authentication failed", self.id, self.peer)
            self.last_command = command
            self._log_refusal("auth", _text(command[0]), name)  # AUTH or HELLO, as typed
            return ErrorReply(WRONG_PASSWORD)
        self.authenticated, self.user_name = True, name
        self.take_rules(user)
        return None

    def _acl_refusal(self, user: User, spec: CommandSpec, argv: list[bytes]) -> ErrorReply | None:
        """Why this connection's user may not run ``argv`` (ACL LOG records
        it), or None. A container's unknown subcommand, or one of the wrong
        arity, is told first, as Redis looks subcommands up before the ACL."""
        unknown = subcommand_refusal(spec, argv)
        if unknown is not None:
            return unknown
        denied = acl_check.denial(user, spec, argv)
        if denied is None:
            return acl_check.sort_refusal(user, spec, argv)
        self.last_command = argv
        self._log_refusal(denied.reason, denied.name, self.user_name)
        return denied.error()

    def _log_refusal(
        self, reason: str, name: str, username: bytes, *, at_exec: bool = False
    ) -> None:
        context = "multi" if at_exec or self._transaction.open else "toplevel"
        client_info = self.describe(time.monotonic())
        self.server.acl_log.add(reason, context, name, username, client_info)

    def _accepts(self, user: User, password: bytes) -> bool:
        node_password = self.server.password if user.name == DEFAULT else None
        if node_password is None:
            return user.authenticates(password)
        return user.enabled and (  # the node's password: nopass does not waive it
            hmac.compare_digest(password, node_password)
            or password_hash(password) in user.passwords
        )

    def take_rules(self, user: User | None) -> None:
        """Check what this connection runs against ``user``'s rules from now
        on; close it if the user is gone or forbids a channel it listens to."""
        if user is None:
            log.info("client %s (%s): user deleted; closed", self.id, self.peer)
            self._close()
            return
        self.acl = None if user.unrestricted else user
        if self.acl is not None and self._subscribed and not self._may_keep_subscriptions(user):
            log.info("client %s (%s): channel no longer allowed; closed", self.id, self.peer)
            self._close()

    def _may_keep_subscriptions(self, user: User) -> bool:
        return all(
            user.may_use_channel(channel, literal=False)
            for channel in (*self.channels, *self.shard_channels)
        ) and all(user.may_use_channel(pattern, literal=True) for pattern in self.patterns)

    def _acl(self, argv: list[bytes]) -> Reply | _Call:
        """ACL ...: answered here, or by the store as a write or a read (acl_command.py)."""
        prepared = acl_command.prepare(argv, self.user_name, _served, self.server.acl_log)
        if not isinstance(prepared, tuple):
            return prepared
        kind, internal = prepared
        if kind is READ:
            return self._run_call(READ, internal)
        self.wrote = True
        return _Call(None, partial(self._acl_write, internal))

    async def _acl_write(self, argv: list[bytes]) -> Reply:
        """An ACL change, answered once this node has applied it too (a
        read's barrier), so that the next AUTH here sees it."""
        reply = await self.server.backend.write(argv, None)
        await self.server.backend.read([[acl_command.READ_COMMAND, b"USERS"]], stale=False)
        return reply

    def _monitor(self, argv: list[bytes]) -> Reply:
        """MONITOR: from now on, a line for every command this node's clients
        send (monitor.py); RESET or QUIT ends it."""
        self.server.monitors[self.id] = self
        return OK

    def _time(self, argv: list[bytes]) -> Reply:
        """TIME: this node's clock, as seconds and microseconds (inside a
        script, the log's time: scripting.py)."""
        return time_reply(time.time_ns() // 1000)

    def _ping(self, argv: list[bytes]) -> Reply:
        if len(argv) > 2:
            return arity_error("ping")
        if self._subscribed and not self.resp3:  # as Redis, in a subscribed RESP2 connection
            return [b"pong", argv[1] if len(argv) == 2 else b""]
        return argv[1] if len(argv) == 2 else Status("PONG")

    # -- pub/sub (pubsub.py) ---------------------------------------------------

    def push(self, message: Push | Status) -> None:
        """Send a published message: after the replies still waiting to be
        written, if any; a subscriber that does not read is dropped."""
        transport = self._transport
        if self._finished or transport is None:
            return
        if transport.get_write_buffer_size() > OUTPUT_LIMIT:
            log.warning("client %s (%s) dropped: it does not read its messages", self.id, self.peer)
            self._finished = True
            transport.abort()
            return
        if self._lone is not None:  # after the reply of the command in flight
            self._after_lone.append(message)
        elif self._slots:
            self._slots.append([message, self.resp3])
            self._write_ready(transport)
        else:
            transport.write(encode_reply(message, self.resp3))

    def _subscribe(self, argv: list[bytes], *, kind: str = CHANNEL) -> _Replies:
        """SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE name [name ...]: a
        confirmation for each."""
        replies = self.server.subscriptions.subscribe(self, argv[1:], kind)
        self._subscribed = True
        return _Replies(replies)

    def _unsubscribe(self, argv: list[bytes], *, kind: str = CHANNEL) -> _Replies:
        """UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE [name ...]: a
        confirmation for each."""
        replies = self.server.subscriptions.unsubscribe(self, argv[1:], kind)
        self._subscribed = bool(self.channels or self.patterns or self.shard_channels)
        return _Replies(replies)

    def _pubsub(self, argv: list[bytes]) -> Reply:
        """PUBSUB CHANNELS | SHARDCHANNELS [pattern] | NUMSUB | SHARDNUMSUB
        [channel ...] | NUMPAT: this node's."""
        subcommand, subscriptions = argv[1].upper(), self.server.subscriptions
        shard = subcommand.startswith(b"SHARD")
        if subcommand in (b"CHANNELS", b"SHARDCHANNELS") and len(argv) <= 3:
            return subscriptions.channels(argv[2] if len(argv) == 3 else None, shard)
        if subcommand in (b"NUMSUB", b"SHARDNUMSUB"):
            return subscriptions.numsub(argv[2:], shard)
        if subcommand == b"NUMPAT" and len(argv) == 2:
            return subscriptions.numpat()
        if subcommand == b"NUMPAT":
            return arity_error(b"pubsub|numpat")
        if subcommand in (b"CHANNELS", b"SHARDCHANNELS"):
            return subcommand_syntax_error(argv)
        return ErrorReply(f"ERR unknown subcommand '{text_of(argv[1][:128])}'. Try PUBSUB HELP.")

    def _echo(self, argv: list[bytes]) -> Reply:
        return argv[1]

    def _select(self, argv: list[bytes]) -> Reply:
        index = parse_int(argv[1])
        if index is None:
            return ErrorReply("ERR value is not an integer or out of range")
        return OK if index == 0 else ErrorReply("ERR DB index is out of range")

    def _quit(self, argv: list[bytes]) -> Reply:
        self._quitting = True
        return OK

    def _multi(self, argv: list[bytes]) -> Reply:
        return self._transaction.multi()

    def _discard(self, argv: list[bytes]) -> Reply:
        return self._transaction.discard()

    def _unwatch(self, argv: list[bytes]) -> Reply:
        return self._transaction.unwatch()

    def _exec(self, argv: list[bytes]) -> Reply | _Call:
        """EXEC: one call for the whole transaction. With watches it is a write
        call, so that it starts once the WATCH reads before it have ended
        (transaction.py Rule 2)."""
        run = self._transaction.exec()
        if self.server.monitors:  # as Redis shows them: what EXEC runs, then EXEC
            for command in run.commands if isinstance(run, Exec) else ():
                self.server.feed_monitors(self, _resolved(command), command)
            self.server.feed_monitors(self, _resolved(argv), argv)
        if not isinstance(run, Exec):
            return run
        if self.tracking is not None and self.tracking.tracks_next():
            for command in run.commands:
                spec = resolve(command)
                if not isinstance(spec, ErrorReply) and spec.kind is not CONNECTION:
                    self.server.tracking.remember_read(self.id, spec, command)
        kind = WRITE if run.writes or run.watches else READ
        return _Call(kind, partial(self._start_exec, run, self.stale), transaction=run.commands)

    def _start_exec(self, run: Exec, stale: bool) -> Awaitable[Reply]:
        watched = watched_versions(run.watches)
        if watched is None:  # a WATCH failed: its keys may have changed unseen
            aborted: asyncio.Future[Reply] = self._loop.create_future()
            aborted.set_result(NULL_ARRAY)
            return aborted
        if self.acl is None and not run.runs_here:
            return self.server.backend.transaction(run.commands, watched, stale=stale)
        logged, placed = self._split_at_exec(run.commands)
        call = self.server.backend.transaction(logged, watched, stale=stale)
        return self._with_placed(call, placed)

    def _split_at_exec(
        self, commands: list[list[bytes]]
    ) -> tuple[list[list[bytes]], dict[int, ErrorReply | list[bytes]]]:
        """A transaction's commands for the log (``logged``, scripts wrapped
        to run as a restricted user), and, by their places, those answered
        here (``placed``): a command Redis 7.0 refuses when it checks the
        user's rules again at EXEC (they may have changed since it was
        queued) - its error -, and a connection command the node runs itself
        (transaction.py, ``RUN_AT_EXEC``)."""
        logged: list[list[bytes]] = []
        placed: dict[int, ErrorReply | list[bytes]] = {}
        user = self.acl
        for i, command in enumerate(commands):
            spec = _resolved(command)
            if user is not None:
                denied = acl_check.denial(user, spec, command)
                if denied is not None:
                    self._log_refusal(denied.reason, denied.name, self.user_name, at_exec=True)
                    placed[i] = ErrorReply(f"{_CHANGED_AT_EXEC}{denied.changed_since_queued()}")
                    continue
                command = acl_command.as_user(user, spec, command)
            if spec.kind is CONNECTION:
                placed[i] = command
            else:
                logged.append(command)
        return logged, placed

    async def _with_placed(
        self, call: Awaitable[Reply], placed: dict[int, ErrorReply | list[bytes]]
    ) -> Reply:
        """A transaction's replies with those answered here in their places:
        the refusals' errors, and the connection commands' replies, run on
        this node once the log has run the others - none if a watched key
        stopped the transaction."""
        replies = await call
        if not isinstance(replies, list):
            return replies  # a null array (a watched key changed) or the call's error
        for i in sorted(placed):
            command = placed[i]
            if isinstance(command, ErrorReply):
                replies.insert(i, command)
                continue
            result = _CONNECTION_COMMANDS[_resolved(command).name.encode()](self, command)
            if isinstance(result, _Call):  # INFO: the node's figures, read now
                assert result.start is not None and result.run is None
                result = await result.start()
            replies.insert(i, result)
        return replies

    def _watch(self, argv: list[bytes]) -> Reply | _Call:
        watch = self._transaction.watch(argv[1:])
        if not isinstance(watch, Watch):
            return watch
        return _Call(READ, partial(self._read_versions, watch, self.stale))

    async def _read_versions(self, watch: Watch, stale: bool) -> Reply:
        watch.versions = await self.server.backend.versions(watch.keys, stale=stale)
        return OK

    def _command(self, argv: list[bytes]) -> Reply:
        return command_reply(argv)

    def _info(self, argv: list[bytes]) -> _Call:
        return _Call(None, partial(self.server.info, argv[1:]))

    def _config(self, argv: list[bytes]) -> Reply:
        """CONFIG GET pattern..., CONFIG SET parameter value ... (config_command.py)."""
        server = self.server
        host, port = server.address
        known = parameters(
            host, port, server.ssl_context, server.limits, server.keyspace_events, server.slowlog
        )
        return config_reply(argv, known, server.config_setters)

    def _latency_command(self, argv: list[bytes]) -> Reply:
        """LATENCY LATEST | HISTORY | RESET | DOCTOR | GRAPH | HELP: this
        node's latency monitor (latency.py)."""
        return self._slowlog.latency.command(argv, self._slowlog.slower_than)

    def _slowlog_command(self, argv: list[bytes]) -> Reply:
        """SLOWLOG GET [count] | LEN | RESET | HELP: this node's (slowlog.py)."""
        return self._slowlog.command(argv)

    def _raft_transfer(self, argv: list[bytes]) -> Reply | _Call:
        """RAFT.TRANSFER [node]: hand leadership to ``node`` or the most
        up-to-date follower (thesis §3.10); replies with the new leader's id."""
        if len(argv) > 2:
            return arity_error(argv[0])
        target = None
        if len(argv) == 2:
            target = parse_int(argv[1])
            if target is None or target < 0:
                return ErrorReply("ERR node id must be a non-negative integer")
        return _Call(None, partial(self.server.backend.transfer_leadership, target))

    def _raft_member(self, argv: list[bytes]) -> _Call:
        """RAFT.MEMBER LIST | ADD id host:port | PROMOTE id | REMOVE id (thesis §4.1)."""
        return _Call(None, partial(self.server.backend.membership, argv[1:]))

    def _block(self, argv: list[bytes]) -> Reply | _Call:
        """A blocking command (blocking.py): its argument errors now - its
        non-blocking form, run on an empty key space, finds them without
        data - or a call that waits until it takes something or times out."""
        spec = resolve(argv)
        assert isinstance(spec, CommandSpec) and spec.handler is not None  # _execute resolved it
        refused = spec.handler(Keyspace(), argv)  # else a null: nothing to take
        if isinstance(refused, ErrorReply):
            return refused
        form = FORMS[spec.name]
        timeout = parse_timeout(argv[form.timeout_at])
        assert isinstance(timeout, float)  # checked by the handler
        wait = partial(wait_and_take, self.server.backend, argv, form.keys(argv), timeout)
        self.wrote = True
        return _Call(BLOCKING, self._unblockable(wait))

    def _read_streams(self, spec: CommandSpec, argv: list[bytes]) -> Reply | _Call:
        """XREAD or XREADGROUP: a call that waits for entries (blocking.py)
        if it should wait, else a plain read or write."""
        options = waiting_read(spec.name, argv)
        if options is None:
            return self._run_call(spec.kind, argv)
        wait = partial(wait_for_entries, self.server.backend, argv, options)
        self.wrote = self.wrote or spec.kind is WRITE  # XREADGROUP
        return _Call(BLOCKING, self._unblockable(wait))

    def _migrate(self, argv: list[bytes]) -> Reply | _Call:
        """MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH ...]
        [KEYS ...]: this node moves the keys to the target (migrate.py)."""
        parsed = migrate.parse(argv)
        if isinstance(parsed, ErrorReply):
            return parsed
        return _Call(WRITE, partial(migrate.migrate, self.server.backend, parsed))

    def _wait(self, argv: list[bytes]) -> Reply | _Call:
        """WAIT numreplicas timeout: how many other members hold this
        connection's writes (replica_wait.py), once its earlier commands are
        answered - a blocking command, as in Redis."""
        parsed = replica_wait.parse(argv)
        if isinstance(parsed, ErrorReply):
            return parsed
        wanted, timeout = parsed
        wait = partial(replica_wait.wait, self.server.backend, lambda: self.wrote, wanted, timeout)
        return _Call(BLOCKING, self._unblockable(wait))

    def _unblockable(self, wait: Callable[..., Awaitable[Reply]]) -> Callable[[], Awaitable[Reply]]:
        """A blocking call that CLIENT UNBLOCK can end while it waits: the
        future it sets is this connection's while the call runs."""

        async def start() -> Reply:
            unblock: Unblock = asyncio.get_running_loop().create_future()
            self.unblock = unblock
            self._blocked_for = 0.0
            try:
                return await wait(unblock=unblock, blocked=self._count_blocked)
            finally:
                if self.unblock is unblock:
                    self.unblock = None

        return start

    def _count_blocked(self, seconds: float) -> None:
        """The blocking call in flight waited ``seconds`` for something to take."""
        self._blocked_for += seconds

    def _raft_backup(self, argv: list[bytes]) -> _Call:
        """RAFT.BACKUP: a snapshot of the state holding every write completed
        before it, as a backup file's bytes (ranet/node/backup.py)."""
        return _Call(None, self._backup)

    async def _backup(self) -> Reply | _Encoded:
        reply = await self.server.backend.backup()
        return _Encoded(reply) if isinstance(reply, BulkParts) else reply

    def _reset(self, argv: list[bytes]) -> Reply:
        """RESET: the connection as a new one (Redis's
        clearClientConnectionState) - out of MULTI, nothing watched, no
        subscription, RESP2, no name, READWRITE, and, with a password, not
        authenticated. The library name and version stay, as in Redis."""
        self._transaction.reset()
        self.server.monitors.pop(self.id, None)
        if self.reply_mode is not None:
            self.reply_mode.reset()
        for kind in (CHANNEL, PATTERN, SHARD):
            self.server.subscriptions.unsubscribe(self, [], kind)
        self._subscribed = False
        if self.tracking is not None:
            self.server.track(self, None)
        self.resp3 = False
        self.name = b""
        self.stale = False
        self.authenticated = self.server.default_logs_in()
        self.user_name = DEFAULT
        self.take_rules(self.server.users.get(DEFAULT))
        return Status("RESET")

    def _set_stale(self, argv: list[bytes], *, stale: bool) -> Reply:
        """READONLY (``stale``) and READWRITE."""
        if len(argv) != 1:
            return arity_error(argv[0])
        self.stale = stale
        return OK

    def _hello(self, argv: list[bytes]) -> Encodable:
        """HELLO [protover [AUTH username password] [SETNAME name]]: all checked, then applied."""
        name: bytes | None = None
        credentials: tuple[bytes, bytes] | None = None
        version: int | None = 3 if self.resp3 else 2
        if len(argv) > 1:
            version = parse_int(argv[1])
            if version is None:
                return ErrorReply("ERR Protocol version is not an integer or out of range")
            if version not in (2, 3):
                return ErrorReply("NOPROTO unsupported protocol version")
            i = 2
            while i < len(argv):
                option, left = argv[i].upper(), len(argv) - i - 1
                if option == b"AUTH" and left >= 2:
                    credentials = argv[i + 1], argv[i + 2]
                    i += 3
                elif option == b"SETNAME" and left >= 1:
                    name = argv[i + 1]
                    if not _is_printable(name):
                        return ErrorReply(_BAD_CLIENT_NAME)
                    i += 2
                else:
                    return ErrorReply(f"ERR Syntax error in HELLO option '{_text(argv[i])}'")
        if credentials is not None:
            refused = self._log_in(*credentials, argv)
            if refused is not None:
                return refused
        if not self.authenticated:
            return ErrorReply(HELLO_NO_AUTH)
        self.resp3 = version == 3
        if name is not None:
            self.name = name
        return {
            b"server": b"redis",
            b"version": REDIS_VERSION.encode(),
            b"proto": 3 if self.resp3 else 2,
            b"id": self.id,
            b"mode": b"standalone",
            b"role": b"master",  # every node takes writes (a follower forwards them)
            b"modules": [],
        }

    def _client(self, argv: list[bytes]) -> Encodable | _Replies:
        """CLIENT ID | INFO | LIST | GETNAME | SETNAME name | SETINFO attr value
        | UNBLOCK id [TIMEOUT | ERROR] | PAUSE timeout [WRITE | ALL] | UNPAUSE
        | REPLY ON | OFF | SKIP | ..."""
        subcommand = argv[1].upper()
        if subcommand == b"UNBLOCK":
            return self._client_unblock(argv)
        if subcommand == b"TRACKING":
            return self._client_tracking(argv)
        entry = _CLIENT_SUBCOMMANDS.get(subcommand)
        if entry is None:
            return ErrorReply(f"ERR unknown subcommand '{_text(argv[1])}'. Try CLIENT HELP.")
        arity, handler = entry
        if len(argv) != arity if arity > 0 else len(argv) < -arity:  # Redis's arities
            return arity_error(f"client|{subcommand.lower().decode()}")
        return handler(self, argv)

    def _client_tracking(self, argv: list[bytes]) -> Reply:
        """CLIENT TRACKING ON|OFF [options] (tracking.py)."""
        if len(argv) < 3:
            return arity_error("client|tracking")
        clients = self.server._clients
        tracking = parse_tracking(argv, self.tracking, lambda id: id in clients)
        if isinstance(tracking, ErrorReply):
            return tracking
        self.server.track(self, tracking)
        return OK

    def _client_caching(self, argv: list[bytes]) -> Reply:
        return caching(argv, self.tracking)

    def _client_getredir(self, argv: list[bytes]) -> Reply:
        return -1 if self.tracking is None else self.tracking.redirect

    def _client_trackinginfo(self, argv: list[bytes]) -> Reply:
        return tracking_info(self.tracking)

    def _tracked(self, spec: CommandSpec, argv: list[bytes]) -> None:
        """Before a command runs: a read's keys remembered, if this
        connection tracks them (its mode, CLIENT CACHING), which holds for
        this command only."""
        tracking = self.tracking
        assert tracking is not None
        if tracking.tracks_next():
            self.server.tracking.remember_read(self.id, spec, argv)
        tracking.caching = False

    def _client_unblock(self, argv: list[bytes]) -> Reply:
        """CLIENT UNBLOCK id [TIMEOUT | ERROR]: 1 if that connection was
        waiting in a blocking command, which now answers as if timed out
        (null) or with the UNBLOCKED error; else 0. Checked in Redis's
        order: the count of arguments, the reason, the id."""
        if len(argv) < 3:
            return arity_error(b"client|unblock")
        if len(argv) > 4:
            return subcommand_syntax_error(argv)
        reason = argv[3].upper() if len(argv) == 4 else b"TIMEOUT"
        if reason not in (b"TIMEOUT", b"ERROR"):
            return ErrorReply("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        client_id = parse_int(argv[2])
        if client_id is None:
            return ErrorReply("ERR value is not an integer or out of range")
        target = self.server.client(client_id)
        unblock = None if target is None or not target.blocked else target.unblock
        if unblock is None or unblock.done():
            return 0
        unblock.set_result(UNBLOCKED if reason == b"ERROR" else NULL_ARRAY)
        return 1

    def _client_id(self, argv: list[bytes]) -> Reply:
        return self.id

    def _client_info(self, argv: list[bytes]) -> Reply:
        return self.describe(time.monotonic()).encode() + b"\n"

    def _client_list(self, argv: list[bytes]) -> Reply:
        """CLIENT LIST [TYPE type | ID id ...] (client_filters.py)."""
        listed = client_filters.parse_list(argv)
        if isinstance(listed, ErrorReply):
            return listed
        now = time.monotonic()
        clients = (c for c in self.server.clients() if listed.matches(c, self))
        return "".join(client.describe(now) + "\n" for client in clients).encode()

    def _client_kill(self, argv: list[bytes]) -> Reply:
        """CLIENT KILL ip:port | CLIENT KILL option value ... (client_filters.py):
        the connections named are closed - this one after its reply."""
        if len(argv) == 3:  # the old form: one address, OK or an error
            address = _text(argv[2])
            named = [client for client in self.server.clients() if client.peer == address]
            if not named:
                return ErrorReply("ERR No such client")
            named[0].kill(self)
            return OK
        killing = client_filters.parse_kill(
            argv, lambda name: self.server.users.get(name) is not None
        )
        if isinstance(killing, ErrorReply):
            return killing
        named = [client for client in self.server.clients() if killing.matches(client, self)]
        for client in named:
            client.kill(self)
        return len(named)

    def kill(self, by: _Client) -> None:
        """CLIENT KILL: closed at once, or, killing itself, after its reply."""
        log.info("client %s (%s) killed by client %s", self.id, self.peer, by.id)
        if self is by:
            self._quitting = True
        else:
            self._close()

    @property
    def kind(self) -> str:
        """CLIENT KILL's and LIST's TYPE: pubsub while subscribed, else normal."""
        return "pubsub" if self._subscribed else "normal"

    def _client_reply(self, argv: list[bytes]) -> Reply | _Replies:
        """CLIENT REPLY ON | OFF | SKIP (client_reply.py); OFF and SKIP answer
        nothing."""
        mode = self.reply_mode or ReplyMode()
        reply = mode.change(argv[2])
        if self.reply_mode is None and (mode.off or mode.skip):
            self.reply_mode = mode
            self.recheck_control()
        return _Replies([]) if reply is None else reply

    def _client_pause(self, argv: list[bytes]) -> Reply:
        """CLIENT PAUSE timeout [WRITE | ALL] (client_pause.py)."""
        parsed = client_pause.parse(argv)
        if isinstance(parsed, ErrorReply):
            return parsed
        self.server.pause_clients(*parsed)
        return OK

    def _client_unpause(self, argv: list[bytes]) -> Reply:
        self.server.unpause_clients()
        return OK

    def _client_no_evict(self, argv: list[bytes]) -> Reply:
        """CLIENT NO-EVICT ON|OFF: accepted; ranet evicts no connection."""
        return OK if argv[2].upper() in (b"ON", b"OFF") else client_filters.SYNTAX_ERROR

    def _client_help(self, argv: list[bytes]) -> Reply:
        return list(client_filters.HELP)

    def _client_getname(self, argv: list[bytes]) -> Reply:
        return self.name or None

    def _client_setname(self, argv: list[bytes]) -> Reply:
        if not _is_printable(argv[2]):
            return ErrorReply(_BAD_CLIENT_NAME)
        self.name = argv[2]
        return OK

    def _client_setinfo(self, argv: list[bytes]) -> Reply:
        attribute, value = argv[2].upper(), argv[3]
        if attribute not in (b"LIB-NAME", b"LIB-VER"):
            return ErrorReply(f"ERR Unrecognized option '{_text(argv[2])}'")
        if not _is_printable(value):
            return ErrorReply(
                f"ERR {attribute.lower().decode()} cannot contain spaces, newlines "
                "or special characters."
            )
        if attribute == b"LIB-NAME":
            self.lib_name = value
        else:
            self.lib_version = value
        return OK

    def describe(self, now: float) -> str:
        """This connection as a line of CLIENT LIST."""
        return (
            f"id={self.id} addr={self.peer} laddr={self.local} name={_text(self.name)} "
            f"age={int(now - self.created)} idle={int(now - self.last_active)} "
            f"flags={self._flags()} db=0 "
            f"cmd={_text(self.last_command[0].lower())} user={_text(self.user_name)} "
            f"resp={3 if self.resp3 else 2} "
            f"lib-name={_text(self.lib_name)} lib-ver={_text(self.lib_version)}"
        )

    def _flags(self) -> str:
        """CLIENT LIST's flags, as Redis spells them: r (READONLY), x (in
        MULTI), b (waiting in a blocking command, or held by CLIENT PAUSE),
        P (subscribed)."""
        flags = ("r" if self.stale else "") + ("x" if self._transaction.open else "")
        flags += ("b" if self.blocked or self.held else "") + ("P" if self._subscribed else "")
        return flags or "N"

    def _ranet_exec(self, argv: list[bytes]) -> Reply | _Call:
        """RANET.EXEC client_id sequence command [arg ...]: a write in a session (thesis §6.3)."""
        if len(argv) < 4:
            return arity_error(argv[0])
        client_id, sequence = parse_int(argv[1]), parse_int(argv[2])
        if client_id is None or sequence is None or client_id < 1 or sequence < 0:
            return ErrorReply("ERR RANET.EXEC needs a client id >= 1 and a sequence number >= 0")
        command = argv[3:]
        spec = resolve(command)
        if isinstance(spec, ErrorReply):
            return spec
        if self.acl is not None:
            refused = self._acl_refusal(self.acl, spec, command)
            if refused is not None:
                return refused
            command = acl_command.as_user(self.acl, spec, command)
        if spec.kind is WRITE:
            return _Call(WRITE, None, [command], session=(client_id, sequence))
        if spec.kind is READ:
            return self._run_call(READ, command)
        return ErrorReply(f"ERR RANET.EXEC runs data commands only, not '{spec.name}'")


Handler = Callable[[_Client, list[bytes]], Encodable | _Call]

_CONNECTION_COMMANDS: dict[bytes, Handler] = {
    b"auth": _Client._auth,
    b"acl": _Client._acl,
    b"monitor": _Client._monitor,
    b"ping": _Client._ping,
    b"echo": _Client._echo,
    b"time": _Client._time,
    b"select": _Client._select,
    b"hello": _Client._hello,
    b"client": _Client._client,
    b"quit": _Client._quit,
    b"reset": _Client._reset,
    b"multi": _Client._multi,
    b"exec": _Client._exec,
    b"discard": _Client._discard,
    b"watch": _Client._watch,
    b"unwatch": _Client._unwatch,
    b"info": _Client._info,
    b"config": _Client._config,
    b"slowlog": _Client._slowlog_command,
    b"latency": _Client._latency_command,
    b"migrate": _Client._migrate,
    b"command": _Client._command,
    b"readonly": partial(_Client._set_stale, stale=True),
    b"readwrite": partial(_Client._set_stale, stale=False),
    b"ranet.exec": _Client._ranet_exec,
    b"raft.transfer": _Client._raft_transfer,
    b"raft.member": _Client._raft_member,
    b"raft.backup": _Client._raft_backup,
    **{name.encode(): _Client._block for name in FORMS},
    b"subscribe": _Client._subscribe,
    b"psubscribe": partial(_Client._subscribe, kind=PATTERN),
    b"ssubscribe": partial(_Client._subscribe, kind=SHARD),
    b"unsubscribe": _Client._unsubscribe,
    b"punsubscribe": partial(_Client._unsubscribe, kind=PATTERN),
    b"sunsubscribe": partial(_Client._unsubscribe, kind=SHARD),
    b"pubsub": _Client._pubsub,
    b"wait": _Client._wait,
}

_CLIENT_SUBCOMMANDS: dict[
    bytes, tuple[int, Callable[[_Client, list[bytes]], Encodable | _Replies]]
] = {
    b"ID": (2, _Client._client_id),
    b"INFO": (2, _Client._client_info),
    b"LIST": (-2, _Client._client_list),
    b"GETNAME": (2, _Client._client_getname),
    b"SETNAME": (3, _Client._client_setname),
    b"SETINFO": (4, _Client._client_setinfo),
    b"CACHING": (3, _Client._client_caching),
    b"GETREDIR": (2, _Client._client_getredir),
    b"TRACKINGINFO": (2, _Client._client_trackinginfo),
    b"KILL": (-3, _Client._client_kill),
    b"PAUSE": (-3, _Client._client_pause),
    b"UNPAUSE": (2, _Client._client_unpause),
    b"REPLY": (3, _Client._client_reply),
    b"NO-EVICT": (3, _Client._client_no_evict),
    b"HELP": (2, _Client._client_help),
}


def _is_printable(value: bytes) -> bool:
    """Redis's rule for client names and library info: printable ASCII, no spaces."""
    return all(33 <= byte <= 126 for byte in value)


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _format(address: Any) -> str:
    return f"{address[0]}:{address[1]}" if address else "?"


def _resolved(argv: list[bytes]) -> CommandSpec:
    """The spec of a command known to resolve (queued in MULTI, or EXEC)."""
    spec = resolve(argv)
    assert isinstance(spec, CommandSpec)
    return spec


def _served(name: str) -> bool:
    """Whether ranet serves the command ``name`` (ACL CAT lists those)."""
    return lookup(name.encode()) is not None


def _call_backend(
    backend: Backend,
    kind: Kind | None,
    run: list[list[bytes]],
    stale: bool,
    session: tuple[int, int] | None,
) -> asyncio.Future[Any]:
    """The backend call for a run of reads (one ReadIndex barrier) or of writes
    (one log command; a write alone may carry a session), as a future."""
    if kind is READ:
        return _start(partial(backend.read, run, stale=stale))
    if len(run) == 1:
        return _start(backend.write, run[0], session)
    return _start(backend.write_many, run)


def _start(start: Callable[..., Awaitable[Any]], *args: Any) -> asyncio.Future[Any]:
    """Make a call, as a future; an error raised at once becomes a failed future."""
    try:
        step = start(*args)
    except Exception as error:
        failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        failed.set_exception(error)
        return failed
    return step if isinstance(step, asyncio.Future) else asyncio.ensure_future(step)


def _outcome(call: _Call, future: asyncio.Future[Any], timeout: float | None) -> Any:
    """The reply to ``call`` once its future is done (or, with ``timeout``,
    the time is up): for a run of commands, a ``_Replies`` of one each."""
    kind = call.kind
    each = len(call.run) if call.replies_each else 0  # type: ignore[arg-type]
    if future.done():
        return _reply_of(future, kind, each)
    assert timeout is not None
    _discard(future)
    reply = _no_reply_within(timeout, kind)
    return _Replies([reply] * each) if each else reply


def _no_reply_within(timeout: float, kind: Kind | None) -> ErrorReply:
    return timeout_reply(kind, f"no reply within {timeout:g} s")


def _reply_of(future: asyncio.Future[Any], kind: Kind | None, each: int) -> Any:
    """The reply a done call carries: its result or its error's reply; with
    ``each``, a ``_Replies`` of that many (a call answering a run)."""
    try:
        reply = future.result()
    except asyncio.CancelledError:
        reply = error_reply(ShuttingDown("the call was cancelled"), kind)
    except Exception as error:
        reply = error_reply(error, kind)
    else:
        if not each:
            return reply
        if isinstance(reply, list) and len(reply) == each:
            return _Replies(reply)
        got = f"{len(reply)} replies" if isinstance(reply, list) else type(reply).__name__
        log.error("backend call for %s commands answered %s", each, got)
        reply = ErrorReply(_MISMATCH)
    return _Replies([reply] * each) if each else reply


def _discard(step: Any) -> None:
    """Drop a call whose reply is no longer wanted, without leaving warnings behind."""
    if isinstance(step, asyncio.Future):
        if not step.done():
            step.cancel()
        elif not step.cancelled():
            step.exception()  # retrieved, so asyncio does not log it
    else:
        with contextlib.suppress(RuntimeError):
            step.close()
