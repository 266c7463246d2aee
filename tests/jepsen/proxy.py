"""A fault-injecting TCP proxy, run in the test process: network faults without
touching the nodes.

In a Jepsen test every directed peer link i->j has its own proxy, and node
i's peer map names that proxy as node j's address (``LocalCluster``'s
``link_ports``). A peer connection carries one direction only (transport
Rule 1: a node sends only on connections it dialed), so proxy i->j carries
exactly what i sends to j. The proxy forwards bytes unchanged, so the
handshake still names the real nodes and a healthy proxy is invisible.

Faults:

- ``cut()``: close every connection and refuse new ones (accept, then close
  at once): the sender sees the link fail and backs off redialing.
- ``cut(blackhole=True)``: keep connections open and drop every byte, both
  ways; new connections are accepted and never forwarded. The sender learns
  nothing; only its peer's silence tells.
- ``heal()``: forward again. Connections that lived through a blackhole are
  closed, so dialers reconnect on a clean stream: a stream with bytes
  missing would break framing.
- ``lose_next_reply()``: the next bytes coming back from the target are
  dropped and that connection aborted: a request arrived, its reply is lost.

Invariant: a byte is forwarded only while the link is healthy, and only on
a connection that never lost a byte.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

_CHUNK = 1 << 16
_CONNECT_TIMEOUT = 1.0


@dataclass(eq=False)
class _Pair:
    """One proxied connection: the accepted side and the dialed side."""

    inbound: asyncio.StreamWriter
    outbound: asyncio.StreamWriter | None = None
    tainted: bool = False  # it lived through a blackhole: some bytes never arrived
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.inbound, self.outbound):
            if writer is not None:
                writer.transport.abort()


class LinkProxy:
    """Forwards connections to ``target`` (host, port) until told to fail.

    ``target`` may be set after ``start``, before the first connection: a
    test can bind every proxy first and pick the nodes' ports afterwards,
    so that no node port can collide with a proxy's.
    """

    def __init__(self, target: tuple[str, int] | None = None, host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = host
        self.cut_now = False
        self.blackhole = False
        self.replies_lost = 0
        self._lose_reply = False
        self._pairs: set[_Pair] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start the proxy first"
        return self._server.sockets[0].getsockname()[1]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, 0)

    async def stop(self) -> None:
        """Close the listener and every connection, and wait for their tasks. Idempotent."""
        if self._server is not None:
            self._server.close()
        tasks = [task for pair in self._pairs for task in pair.tasks]
        for pair in list(self._pairs):
            pair.abort()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def cut(self, *, blackhole: bool = False) -> None:
        self.cut_now, self.blackhole = True, blackhole
        for pair in list(self._pairs):
            if blackhole:
                pair.tainted = True
            else:
                pair.abort()

    def heal(self) -> None:
        self.cut_now = self.blackhole = False
        for pair in [pair for pair in self._pairs if pair.tainted]:
            pair.abort()

    def lose_next_reply(self) -> None:
        self._lose_reply = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_now and not self.blackhole:
            writer.transport.abort()
            return
        handler = asyncio.current_task()
        assert handler is not None
        pair = _Pair(writer, tainted=self.cut_now, tasks=[handler])
        self._pairs.add(pair)
        try:
            if not pair.tainted:
                assert self.target is not None, "set the proxy's target before connecting"
                try:
                    async with asyncio.timeout(_CONNECT_TIMEOUT):
                        upstream, pair.outbound = await asyncio.open_connection(*self.target)
                except (OSError, TimeoutError):
                    return  # the target is down: the dialer sees its connection close
                pair.tasks.append(
                    asyncio.create_task(self._pump(upstream, writer, pair, reply=True))
                )
            await self._pump(reader, pair.outbound, pair)  # None: swallow until healed
        finally:
            pair.abort()
            self._pairs.discard(pair)

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter | None,
        pair: _Pair,
        *,
        reply: bool = False,
    ) -> None:
        """Copy ``source`` to ``sink`` while healthy; drop bytes while blackholed."""
        with contextlib.suppress(OSError):
            while data := await source.read(_CHUNK):
                if reply and self._lose_reply:
                    self._lose_reply = False
                    self.replies_lost += 1
                    break
                if sink is None or pair.tainted or self.cut_now:
                    pair.tainted = True
                    continue
                if sink.transport.is_closing():  # uvloop raises on a write to a closed handle
                    break
                sink.write(data)
                await sink.drain()
        pair.abort()
