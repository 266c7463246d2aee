"""The asyncio client of a ranet cluster: any node, failover, exactly-once writes.

Theory of operation.

Rule 1 - one node at a time. The client knows every node's client address
and keeps one connection, to one of them. Any node serves every command: a
follower forwards writes to the leader and serves reads after a ReadIndex
round (thesis §6.4), so reads are linearizable wherever they are served.
Concurrent calls share the connection and are pipelined.

Rule 2 - a failed attempt moves to the next node. A connection that cannot
be made or is lost, a reply that does not come within ``timeout``, and the
error replies ``TRYAGAIN`` (no leader known yet), ``TIMEOUT`` (outcome
unknown) and ``SHUTDOWN`` (node stopping) drop the connection; the next
attempt goes to the next address in the list, after a jittered exponential
back-off (``RetryPolicy``). Every other error reply is the command's
answer: it raises ``CommandError`` with the server's text, at once.

Rule 3 - sessions make retried writes apply once (thesis §6.3). A client
draws a random 63-bit client id; every write is sent as ``RANET.EXEC id seq
command...``, each new write with the next ``seq`` and every retry of it
with the same ``seq``. The state machine remembers each session's last
sequence number and reply, so a retry of a write that was applied already
is answered from that memory, not applied again. The store keeps only the
last reply of a session, so a session has at most one write in flight:
writes of one client are serialized (reads are not). Use several clients
for parallel writes.

Rule 4 - every call is bounded. Attempts start only before
``retry.deadline`` seconds have passed since the first one, and each waits
at most ``timeout`` for its reply, so a call ends within ``deadline +
timeout`` (plus ``connect_timeout``). When the budget is spent, the call
raises ``Unavailable``; for a write it says whether it may have been
applied. Without a session a write whose request left the client is never
retried: it raises ``Unavailable(maybe_applied=True)`` instead of risking a
second application.

Rule 5 - a transaction is sent whole on one connection. ``transaction``
writes MULTI, its commands and EXEC together, with nothing of another call
between them, and its attempt is the EXEC's reply. It has no session (the
server has none for transactions), so one that writes is retried only until
it has been sent, like a write with ``session=False``. MULTI, EXEC, DISCARD,
WATCH and UNWATCH are refused by ``execute``: they set state on a
connection that this client shares between calls and leaves for another
node on failure. Optimistic transactions (WATCH) need a connection of their
own: redis-py's ``Redis.transaction`` does that.

The limit of exactly-once: a session idle longer than the store's session
time-to-live (one hour by default) is forgotten, and a retry arriving after
that is applied as new (docs/kv-commands.md). Retries here end within
seconds, far inside that window.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

import hiredis

from ranet.client.connection import Connection
from ranet.client.retry import RetryPolicy
from ranet.errors import CommandError, Unavailable
from ranet.kv.commands import BLOCKING, WRITE, lookup
from ranet.kv.streams import waiting_read

Arg = bytes | str | int
"""A command argument: bytes as they are, str as UTF-8, int in decimal."""

RETRYABLE = frozenset({"TRYAGAIN", "TIMEOUT", "SHUTDOWN"})
"""Error codes that mean "not served here, now": try again elsewhere (Rule 2)."""

CONNECTION_STATE = frozenset(
    {b"MULTI", b"EXEC", b"DISCARD", b"WATCH", b"UNWATCH"}
    | {b"SUBSCRIBE", b"UNSUBSCRIBE", b"PSUBSCRIBE", b"PUNSUBSCRIBE"}
)
"""Commands ``execute`` refuses (Rule 5)."""

MAX_CLIENT_ID = 2**63 - 1


def to_bytes(arg: Arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, int) and not isinstance(arg, bool):
        return b"%d" % arg
    raise TypeError(f"a command argument must be bytes, str or int, not {type(arg).__name__}")


def is_write(argv: Sequence[bytes]) -> bool:
    """Whether the command changes state (goes through the log), by ranet's
    command table: a write, or a blocking pop (inside a transaction)."""
    spec = lookup(argv[0])
    return spec is not None and (spec.kind is WRITE or spec.kind is BLOCKING)


def is_blocking(argv: Sequence[bytes]) -> bool:
    """Whether the command waits on its connection: a blocking pop, or
    XREAD / XREADGROUP with BLOCK."""
    spec = lookup(argv[0])
    if spec is None:
        return False
    if spec.kind is BLOCKING:
        return True
    return spec.may_block and waiting_read(spec.name, list(argv)) is not None


class AsyncClient:
    """A client of a ranet cluster; see the module docstring for its rules.

    ``endpoints`` are the nodes' client addresses, ``"host:port"``, tried in
    order. ``timeout`` bounds the wait for one reply from one node,
    ``connect_timeout`` one connection attempt, ``retry`` the whole call.
    ``session=False`` sends writes as plain commands (Rule 4). ``client_id``
    fixes the session's id (default: random); ``rng`` seeds the back-off
    jitter (default: a fresh, unseeded generator).
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout: float = 5.0,
        connect_timeout: float = 1.0,
        retry: RetryPolicy | None = None,
        session: bool = True,
        client_id: int | None = None,
        rng: random.Random | None = None,
        password: bytes | str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        username: bytes | str | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("a client needs at least one endpoint")
        if client_id is not None and not 1 <= client_id <= MAX_CLIENT_ID:
            raise ValueError(f"a client id is between 1 and {MAX_CLIENT_ID}")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.endpoints = list(endpoints)
        self._password = password.encode() if isinstance(password, str) else password
        self._username = username.encode() if isinstance(username, str) else username
        self._ssl_context = ssl_context
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self.session = session
        self.client_id = client_id or random.SystemRandom().randint(1, MAX_CLIENT_ID)
        self.sequence = 0
        """The sequence number of the session's latest write (0: none yet)."""
        self._rng = rng or random.Random()
        self._index = 0  # the endpoint the connection goes to (Rule 1)
        self._connection: Connection | None = None
        self._connecting = asyncio.Lock()
        self._writing = asyncio.Lock()  # one write in flight per session (Rule 3)
        self._closed = False

    @property
    def endpoint(self) -> str:
        """The address the client connects to now, or next."""
        return self.endpoints[self._index]

    # -- commands ------------------------------------------------------------------

    async def get(self, key: Arg) -> bytes | None:
        return await self.execute("GET", key)  # type: ignore[return-value]

    async def set(
        self, key: Arg, value: Arg, *, px: int | None = None, nx: bool = False, xx: bool = False
    ) -> bool:
        """SET; ``False`` when NX or XX did not hold. ``px`` is a time-to-live in ms."""
        options: list[Arg] = ["PX", px] if px is not None else []
        options += ["NX"] if nx else []
        options += ["XX"] if xx else []
        return await self.execute("SET", key, value, *options) is not None

    async def delete(self, *keys: Arg) -> int:
        """DEL: how many of ``keys`` existed."""
        return await self.execute("DEL", *keys)  # type: ignore[return-value]

    async def incr(self, key: Arg, amount: int = 1) -> int:
        """INCRBY: the new value."""
        return await self.execute("INCRBY", key, amount)  # type: ignore[return-value]

    async def cas(self, key: Arg, expected: Arg, new: Arg) -> bool:
        """CAS: set ``key`` to ``new`` if it holds ``expected``; whether it did."""
        return await self.execute("CAS", key, expected, new) == 1

    async def mget(self, *keys: Arg) -> list[bytes | None]:
        return await self.execute("MGET", *keys)  # type: ignore[return-value]

    async def mset(self, mapping: Mapping[Arg, Arg]) -> None:
        await self.execute("MSET", *(arg for pair in mapping.items() for arg in pair))

    async def execute(self, *argv: Arg) -> object:
        """Run any command and return its reply as hiredis parses it.

        Writes (by ranet's command table) go in the session (Rule 3). Raises
        ``CommandError`` for an error reply, ``Unavailable`` when no node
        served the command in time (Rule 4).
        """
        command = self._command(argv)
        if command[0].upper() in CONNECTION_STATE:
            raise ValueError(
                f"{command[0].decode(errors='replace')} keeps state on a connection, which this "
                "client shares between calls: use transaction(), or redis-py for WATCH and "
                "for subscriptions"
            )
        if is_blocking(command):
            raise ValueError(
                f"{command[0].decode(errors='replace')} would hold the connection this client "
                "shares between calls: use redis-py, a connection of its own, for blocking commands"
            )
        if not is_write(command):
            return await self._attempt_until_served([command], write=False, retry_sent=True)
        async with self._writing:
            if not self.session:
                return await self._attempt_until_served([command], write=True, retry_sent=False)
            self.sequence += 1
            request = [b"RANET.EXEC", b"%d" % self.client_id, b"%d" % self.sequence, *command]
            return await self._attempt_until_served([request], write=True, retry_sent=True)

    async def transaction(self, *commands: Sequence[Arg]) -> list[object]:
        """MULTI, ``commands``, EXEC: the commands run in order with nothing
        between them - one log entry, applied at once on every replica - and
        the list of their replies comes back (an error reply among them is a
        ``hiredis.ReplyError`` in its place). A command refused while queuing
        (unknown, wrong arity) raises ``CommandError`` with its error.

        No session (Rule 5): a transaction that writes is not retried once
        sent; if its reply is lost it raises ``Unavailable(maybe_applied=True)``.
        """
        if not commands:
            raise ValueError("a transaction needs at least one command")
        encoded = [self._command(command) for command in commands]
        writes = any(map(is_write, encoded))
        requests = [[b"MULTI"], *encoded, [b"EXEC"]]
        reply = await self._attempt_until_served(requests, write=writes, retry_sent=not writes)
        return reply  # type: ignore[return-value]

    def _command(self, argv: Sequence[Arg]) -> list[bytes]:
        if not argv:
            raise ValueError("a command needs a name")
        if self._closed:
            raise RuntimeError("the client is closed")
        return [to_bytes(arg) for arg in argv]

    # -- lifecycle -----------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection. Idempotent; later calls raise ``RuntimeError``."""
        self._closed = True
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
            await connection.wait_closed()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- attempts (Rules 2 and 4) ----------------------------------------------------

    async def _attempt_until_served(
        self, requests: list[list[bytes]], *, write: bool, retry_sent: bool
    ) -> object:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry.deadline
        failures = 0
        sent = False
        while True:
            try:
                connection = await self._connect()
            except OSError as error:
                problem = str(error)
            else:
                problem = await self._attempt(connection, requests)
                if not isinstance(problem, str):
                    return problem.reply
                sent = True
                self._move_on(connection)
            failures += 1
            if sent and not retry_sent:
                raise Unavailable(
                    "the write was sent without a session, so it is not retried; its outcome "
                    "is unknown",
                    maybe_applied=True,
                    last_error=problem,
                )
            pause = self.retry.backoff(failures, self._rng)
            if loop.time() + pause >= deadline:
                raise Unavailable(
                    f"no node served the command in {failures} attempts "
                    f"({self.retry.deadline:g} s retry deadline)",
                    maybe_applied=write and sent,
                    last_error=problem,
                )
            await asyncio.sleep(pause)

    async def _attempt(self, connection: Connection, requests: list[list[bytes]]) -> _Served | str:
        """Send ``requests`` once, together: the last one's reply, which serves
        them, or what went wrong (Rule 2). An error reply to an earlier one (a
        transaction's command refused while queuing) is the answer."""
        address = connection.address
        try:
            replies = [connection.send(request) for request in requests]  # nothing between
            reply = await connection.receive(replies[-1], timeout=self.timeout)
        except OSError as error:  # reset, closed: ConnectionError is an OSError
            return f"{address}: {error or type(error).__name__}"
        except TimeoutError:
            return f"{address}: no reply within {self.timeout:g} s"
        for earlier in replies[:-1]:  # answered before the last one (Rule 1 of Connection)
            if isinstance(earlier.result(), hiredis.ReplyError):
                raise CommandError(str(earlier.result()))
        if not isinstance(reply, hiredis.ReplyError):
            return _Served(reply)
        message = str(reply)
        if message.split(" ", 1)[0] not in RETRYABLE:
            raise CommandError(message)
        return f"{address}: {message}"

    async def _connect(self) -> Connection:
        """The current connection, or a new one to the current endpoint (Rule 1).

        A connection the node closed between calls counts as a failed one; a
        failed connection attempt turns to the next endpoint and raises
        ``OSError`` naming the address.
        """
        async with self._connecting:
            connection = self._connection
            if connection is not None:
                if not connection.closed:
                    return connection
                self._move_on(connection)  # the node hung up between calls
            address = self.endpoint
            try:
                connection = await Connection.open(
                    address,
                    timeout=self.connect_timeout,
                    password=self._password,
                    ssl_context=self._ssl_context,
                    username=self._username,
                )
            except (OSError, TimeoutError, ValueError) as error:
                self._connection = None
                self._index = (self._index + 1) % len(self.endpoints)
                reason = str(error) or f"no connection within {self.connect_timeout:g} s"
                raise OSError(f"{address}: cannot connect: {reason}") from None
            self._connection = connection
            return connection

    def _move_on(self, failed: Connection) -> None:
        """Drop the connection an attempt failed on and turn to the next endpoint (Rule 2).

        Calls that failed on the same connection move on once, not once each.
        """
        if self._connection is not failed:
            return  # another call already moved on from it
        failed.close()
        self._connection = None
        self._index = (self._index + 1) % len(self.endpoints)


@dataclass(slots=True, frozen=True)
class _Served:
    """The reply of a successful attempt (any reply may be ``None``, so it is boxed)."""

    reply: object
