"""A fake Redis-protocol server for the benchmark's tests: fast, in-memory, scriptable.

It answers SET with +OK, GET with the value (or nil), PING with PONG and INFO
with ``info`` (empty: "not a Raft server"). ``error_every=N`` answers every
N-th data command with an error; ``close_after=N`` closes a connection after
its N-th command. It records, per connection, the most commands that arrived
in one read: a closed-loop client never has more than its share in flight.
It runs on its own event loop in a thread, so a subprocess can be pointed at it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import hiredis


class FakeRedis:
    def __init__(self, *, info: bytes = b"", error_every: int = 0, close_after: int = 0) -> None:
        self.info = info
        self.error_every = error_every
        self.close_after = close_after
        self.values: dict[bytes, bytes] = {}
        self.commands = 0
        self.connections = 0
        self.max_batch = 0  # most commands seen in one read on one connection

    def answer(self, command: list[bytes]) -> bytes:
        name = command[0].upper()
        if name == b"INFO":
            return b"$%d\r\n%s\r\n" % (len(self.info), self.info)
        if name == b"PING":
            return b"+PONG\r\n"
        self.commands += 1
        if self.error_every and self.commands % self.error_every == 0:
            return b"-ERR fake failure\r\n"
        if name == b"SET":
            self.values[command[1]] = command[2]
            return b"+OK\r\n"
        if name == b"GET":
            value = self.values.get(command[1])
            return b"$-1\r\n" if value is None else b"$%d\r\n%s\r\n" % (len(value), value)
        return b"-ERR unknown command\r\n"


class _Connection(asyncio.Protocol):
    def __init__(self, server: FakeRedis) -> None:
        self.server = server
        self.reader = hiredis.Reader()
        self.handled = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        replies = []
        while (command := self.reader.gets()) is not False:
            replies.append(self.server.answer(command))
            self.handled += 1
            if self.server.close_after and self.handled >= self.server.close_after:
                self.transport.close()  # type: ignore[attr-defined]
                return
        self.server.max_batch = max(self.server.max_batch, len(replies))
        self.transport.write(b"".join(replies))  # type: ignore[attr-defined]


@contextmanager
def fake_redis(**options: object) -> Iterator[tuple[FakeRedis, int]]:
    """A running fake server on 127.0.0.1 and its port; stopped on exit."""
    fake = FakeRedis(**options)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []

    async def serve() -> asyncio.Server:
        server = await loop.create_server(lambda: _Connection(fake), "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        return server

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve())
        started.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, name="fake-redis", daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield fake, port[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
