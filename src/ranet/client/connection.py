"""One Redis-protocol (RESP2) connection to one node, pipelined.

Requests are written as RESP arrays of bulk strings the moment they are
sent; replies are parsed by hiredis' C reader on a single reader task.

Rule 1 - replies match requests by order alone: the server answers a
connection's commands in the order they arrived (``ranet.kv.server``,
Rule 1), so the n-th reply read resolves the n-th request sent. Any number
of requests may be in flight (pipelining); a caller that stops waiting for
its reply does not disturb the others, since its slot stays in the queue.

Rule 2 - a broken connection is never reused. When the stream ends or
fails, every request still in flight fails with ``ConnectionError`` and so
does every later ``send``: whether those requests ran is unknown, and the
caller decides what a retry means (``AsyncClient`` retries writes only
inside a session).

Error replies are values, not exceptions, at this level: hiredis returns
them as ``hiredis.ReplyError`` instances, and the caller classifies them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Sequence

import hiredis

from ranet.errors import AuthenticationError

_READ_SIZE = 1 << 16


def encode_command(argv: Sequence[bytes]) -> bytes:
    """``argv`` as a RESP array of bulk strings, what every Redis client sends."""
    chunks = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        chunks.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(chunks)


class Connection:
    """A pipelined RESP2 connection; open it with ``Connection.open``."""

    def __init__(
        self, address: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.address = address
        self._writer = writer
        self._parser = hiredis.Reader()
        self._waiting: deque[asyncio.Future[object]] = deque()
        self._failure: ConnectionError | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read_replies(reader))

    @classmethod
    async def open(
        cls,
        address: str,
        *,
        timeout: float,
        password: bytes | None = None,
        ssl_context: ssl.SSLContext | None = None,
        username: bytes | None = None,
    ) -> Connection:
        """Connect to ``host:port`` - over TLS with ``ssl_context``, the node's
        certificate checked for that host - and AUTH with ``password``, if
        given, as ``username`` (an ACL user) if given, else as the default
        user; ``OSError`` or ``TimeoutError`` if it cannot (``ssl.SSLError``,
        an ``OSError``, if the certificate does not check out),
        ``AuthenticationError`` if the node refuses the password."""
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        tls = {} if ssl_context is None else {"ssl": ssl_context, "server_hostname": host}
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, int(port), **tls)
        connection = cls(address, reader, writer)
        if password is not None:
            auth = [b"AUTH", password] if username is None else [b"AUTH", username, password]
            try:
                reply = await connection.receive(connection.send(auth), timeout=timeout)
            except BaseException:
                connection.close()
                raise
            if isinstance(reply, hiredis.ReplyError):
                connection.close()
                raise AuthenticationError(f"{address}: {reply}")
        return connection

    @property
    def closed(self) -> bool:
        return self._failure is not None

    def send(self, argv: Sequence[bytes]) -> asyncio.Future[object]:
        """Write one request now; the future resolves to its reply (Rule 1).

        Raises ``ConnectionError`` at once, before writing anything, if the
        connection is already broken (Rule 2).
        """
        if self._failure is None and self._writer.transport.is_closing():
            self._fail(ConnectionError(f"{self.address} closed the connection"))  # not read yet
        if self._failure is not None:
            raise self._failure
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)  # a reply nobody waits for any more is no error
        self._waiting.append(future)
        self._writer.write(encode_command(argv))
        return future

    async def receive(self, future: asyncio.Future[object], *, timeout: float) -> object:
        """The reply ``send`` promised, waiting at most ``timeout`` seconds for it.

        ``TimeoutError`` leaves the request's slot in place (Rule 1): a late
        reply is read and dropped, and the connection stays usable.
        """
        async with asyncio.timeout(timeout):
            try:
                await self._writer.drain()  # back-pressure from a peer that does not read
            except OSError as error:
                self._fail(ConnectionError(error))
            return await asyncio.shield(future)

    def close(self) -> None:
        """Close the socket; requests in flight fail with ``ConnectionError``."""
        self._fail(ConnectionError(f"connection to {self.address} closed by the client"))
        self._reader.cancel()

    async def wait_closed(self) -> None:
        """Wait until the reader task and the socket are gone (after ``close``)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        parser, waiting = self._parser, self._waiting
        try:
            while True:
                data = await reader.read(_READ_SIZE)
                if not data:
                    raise ConnectionError(f"{self.address} closed the connection")
                parser.feed(data)
                while (reply := parser.gets()) is not False:
                    if not waiting:
                        raise ConnectionError(f"{self.address} sent a reply nobody asked for")
                    future = waiting.popleft()
                    if not future.done():
                        future.set_result(reply)
        except Exception as error:  # OSError, hiredis.ProtocolError: the stream is beyond repair
            reason = error if isinstance(error, ConnectionError) else ConnectionError(error)
            self._fail(reason)

    def _fail(self, error: ConnectionError) -> None:
        if self._failure is None:
            self._failure = error
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():  # a caller may have cancelled its own request
                future.set_exception(self._failure)
        self._writer.close()


def _retrieve(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()
