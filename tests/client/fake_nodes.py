"""Scripted RESP servers that stand in for ranet nodes in client unit tests.

A ``FakeNode`` answers the n-th request it receives (over all connections)
with the n-th entry of its script: raw RESP bytes to send, ``HANG_UP`` to
close the connection without answering, or ``SILENT`` to never answer. It
records every request, so a test can check what the client sent where.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from ranet.kv.resp import RequestParser
from ranet.node.supervisor import free_ports

HANG_UP = b"<hang up>"
SILENT = b"<silent>"
EXHAUSTED = b"-ERR the fake node's script is exhausted\r\n"


class FakeNode:
    def __init__(self, script: Sequence[bytes], *, delay: float = 0.0) -> None:
        self.script = list(script)
        self.delay = delay
        self.requests: list[list[bytes]] = []
        self.connections = 0
        self.max_unanswered = 0  # the most requests ever waiting for a reply at once
        self._unanswered = 0
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read requests as they come (counting the unanswered), answer them in order."""
        self.connections += 1
        arrived: asyncio.Queue[int] = asyncio.Queue()
        receiving = asyncio.create_task(self._receive(reader, arrived))
        try:
            while True:
                index = await arrived.get()
                if index < 0:
                    return
                action = self.script[index] if index < len(self.script) else EXHAUSTED
                if action == HANG_UP:
                    return
                if action != SILENT:
                    await asyncio.sleep(self.delay)
                    writer.write(action)
                    self._unanswered -= 1
        finally:
            receiving.cancel()
            writer.transport.abort()

    async def _receive(self, reader: asyncio.StreamReader, arrived: asyncio.Queue[int]) -> None:
        parser = RequestParser()
        try:
            while data := await reader.read(65536):
                for argv in parser.feed(data):
                    self.requests.append(argv)
                    self._unanswered += 1
                    self.max_unanswered = max(self.max_unanswered, self._unanswered)
                    arrived.put_nowait(len(self.requests) - 1)
        except OSError:
            pass
        arrived.put_nowait(-1)


@asynccontextmanager
async def fake_nodes(
    *scripts: Sequence[bytes], delay: float = 0.0
) -> AsyncIterator[list[FakeNode]]:
    """Start one ``FakeNode`` per script; stop them all at the end."""
    async with AsyncExitStack() as stack:
        nodes = []
        for script in scripts:
            node = FakeNode(script, delay=delay)
            await node.start()
            stack.push_async_callback(node.stop)
            nodes.append(node)
        yield nodes


def closed_ports(count: int) -> list[str]:
    """Addresses nobody listens on (ports the OS just handed out and took back)."""
    return [f"127.0.0.1:{port}" for port in free_ports(count)]
