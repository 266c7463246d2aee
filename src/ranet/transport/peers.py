"""TCP links between peers: one outgoing connection per peer, one write per loop turn.

Theory of operation.

Rule 1: this node dials every peer and sends only on connections it dialed;
it receives only on connections peers dialed to it. Each direction between
two nodes is one TCP stream, so messages to one peer arrive in send order.

Rule 2: ``send`` never blocks and never raises for an unreachable peer. It
encodes the message into the peer's queue; the first message queued while the
peer is writable schedules a flush with ``loop.call_soon``, so everything sent
to a peer during one event-loop iteration leaves in one ``transport.write``.
``flush`` writes every peer's queue at once instead: the node calls it at the
end of a Ready pass, so that pass's messages leave together and without
waiting a loop iteration behind other callbacks.

Rule 3: memory is bounded. While a peer is disconnected, or its socket is not
draining (asyncio paused our writing), its queue grows to at most
``max_queue_bytes``; later messages are dropped and counted. Raft tolerates
loss: the leader retries. While the peer is writable the queue is flushed
every iteration, whatever its size.

Rule 4: a dial loop per peer connects, sends the handshake, and after a
failure or a lost connection retries with exponential back-off (50 ms
doubling to 2 s, jittered). The back-off starts over only after a connection
lived as long as the longest back-off, so a peer that accepts and then drops
us (e.g. it rejects our handshake) is retried slowly and reported once. A
peer whose own connection to us presents an accepted handshake is up: the
wait for it ends at once (after a cluster's start a node that came up late
would otherwise hear from an earlier one only when that one's back-off,
grown to a second or two, ran out - a follower not knowing its leader).

Rule 5: an inbound connection must present an acceptable handshake (see
``handshake``) within ``handshake_timeout``; after that every frame must
decode to a message from that peer to this node. Any violation closes that
one connection with one warning saying why: ``on_message`` never sees bad
input, and no other connection notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
import ssl
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from ranet.errors import DecodeError, FrameError, HandshakeError, ListenError
from ranet.transport.codec import Codec
from ranet.transport.framing import HEADER, MAX_FRAME, FrameDecoder, encode_frame
from ranet.transport.handshake import MAX_HANDSHAKE, Handshake, peer_proof

Address = tuple[str, int]


@dataclasses.dataclass(slots=True, frozen=True)
class PeerStats:
    """Counters of one outgoing link, for tests and metrics."""

    connected: bool
    queued_messages: int
    queued_bytes: int
    sent_messages: int
    writes: int
    """Socket writes: with coalescing, at most one per event-loop iteration."""
    dropped_messages: int
    """Messages not sent: the queue of an unwritable link was full, or above ``max_frame``."""
    connections: int
    """Connections established so far."""


def _set_nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _os_reason(exc: OSError) -> str:
    """The plain reason of a socket error ("Address already in use"), without asyncio's wrapping."""
    if exc.errno and exc.errno > 0:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc)


def _format_address(address: tuple[str, int] | None) -> str:
    return "?" if not address else f"{address[0]}:{address[1]}"


class _Peer:
    """One outgoing link: where the peer is, what waits for it, its live connection."""

    __slots__ = (
        "address",
        "connections",
        "dropped",
        "flush_scheduled",
        "handshake",
        "link",
        "loop",
        "max_queue_bytes",
        "node_id",
        "paused",
        "queue",
        "queued_bytes",
        "reported",
        "retry_now",
        "sent",
        "task",
        "transport",
        "writes",
    )

    def __init__(self, node_id: int, address: Address, handshake: bytes, max_queue: int) -> None:
        self.node_id = node_id
        self.address = address
        self.handshake = handshake
        self.max_queue_bytes = max_queue
        self.queue: list[bytes] = []  # alternating length prefixes and payloads
        self.queued_bytes = 0
        self.transport: asyncio.Transport | None = None
        self.link: _Link | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # the link's, once attached
        self.paused = False
        self.flush_scheduled = False
        self.task: asyncio.Task[None] | None = None
        self.reported = False  # the current outage has been logged
        self.retry_now = asyncio.Event()  # set when the peer dialed us: it is up, dial it now
        self.sent = self.writes = self.dropped = self.connections = 0

    def enqueue(self, payload: bytes) -> None:
        """Queue one encoded message (Rule 3: bounded while the link cannot take it)."""
        writable = self.transport is not None and not self.paused
        if not writable and self.queued_bytes >= self.max_queue_bytes:
            self.dropped += 1
            return
        self.queue += (HEADER.pack(len(payload)), payload)
        self.queued_bytes += 4 + len(payload)
        if writable:
            self.schedule_flush()

    def schedule_flush(self) -> None:
        """Flush in the next loop iteration, once however many messages are queued meanwhile.

        Only while attached, so through the loop kept then: on Python 3.11
        ``asyncio.get_running_loop()`` is a ``getpid()`` system call, too
        dear once per message (docs/performance.md, optimization 18).
        """
        if self.queue and not self.flush_scheduled:
            assert self.loop is not None
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write everything queued in one ``transport.write`` (Rule 2)."""
        self.flush_scheduled = False
        transport = self.transport
        if transport is None or self.paused or transport.is_closing() or not self.queue:
            return  # kept for the next connection (or dropped by the bound)
        data = b"".join(self.queue)
        self.sent += len(self.queue) // 2
        self.writes += 1
        self.queue.clear()
        self.queued_bytes = 0
        transport.write(data)

    def attach(self, link: _Link, transport: asyncio.Transport) -> None:
        self.link, self.transport, self.paused = link, transport, False
        self.loop = asyncio.get_running_loop()
        self.connections += 1
        transport.write(self.handshake)
        self.schedule_flush()

    def detach(self, link: _Link) -> None:
        if self.link is link:
            self.link, self.transport, self.paused = None, None, False

    def stats(self) -> PeerStats:
        return PeerStats(
            connected=self.transport is not None,
            queued_messages=len(self.queue) // 2,
            queued_bytes=self.queued_bytes,
            sent_messages=self.sent,
            writes=self.writes,
            dropped_messages=self.dropped,
            connections=self.connections,
        )


class _Link(asyncio.Protocol):
    """One outgoing connection to a peer; lives until it is lost."""

    def __init__(self, peer: _Peer) -> None:
        self.peer = peer
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        _set_nodelay(transport)
        self.peer.attach(self, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.peer.detach(self)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        if self.peer.link is self:
            self.peer.paused = True

    def resume_writing(self) -> None:
        if self.peer.link is self:
            self.peer.paused = False
            self.peer.schedule_flush()

    async def shutdown(self) -> None:
        """Abort the connection (if it was made) and wait until it is gone."""
        if self.transport is not None:
            self.transport.abort()
            await self.closed


class _Inbound(asyncio.Protocol):
    """One connection a peer dialed to us: handshake first, then messages (Rule 5)."""

    def __init__(self, owner: PeerTransport) -> None:
        self.owner = owner
        self.peer_id: int | None = None
        self.transport: asyncio.Transport | None = None
        self.decoder = FrameDecoder(MAX_HANDSHAKE)
        self.name = "?"
        self.closing = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.handshake_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)
        _set_nodelay(transport)
        self.name = _format_address(transport.get_extra_info("peername"))
        self.handshake_timer = asyncio.get_running_loop().call_later(
            self.owner.handshake_timeout, self.close, "no handshake in time"
        )
        self.owner._inbound.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            if self.peer_id is None:
                frames = self.decoder.feed(data, max_frames=1)
                if not frames:
                    return
                self._accept(frames[0])
                frames = self.decoder.feed(b"")
            else:
                frames = self.decoder.feed(data)
        except FrameError as exc:
            self.close(f"bad frame: {exc}" if self.peer_id else f"bad handshake frame: {exc}")
            return
        except HandshakeError as exc:
            self.close(f"handshake rejected: {exc}")
            return
        owner = self.owner
        decode, on_message = owner.codec.decode, owner.on_message
        peer_id, node_id = self.peer_id, owner.node_id
        for payload in frames:
            if self.closing:  # on_message may have removed this peer
                return
            try:
                message = decode(payload)
            except DecodeError as exc:
                self.close(f"undecodable message: {exc}")
                return
            if message.src != peer_id or message.dst != node_id:
                self.close(
                    f"{type(message).__name__} claims to be from node {message.src} "
                    f"to node {message.dst}"
                )
                return
            try:
                on_message(message)
            except Exception:
                owner.log.exception("node %s: on_message failed for %r", node_id, message)

    def _accept(self, payload: bytes) -> None:
        """Check the handshake; from now on this connection speaks for that peer."""
        owner = self.owner
        handshake = Handshake.decode(payload)
        handshake.check(
            owner.cluster_id, owner.node_id, owner._peers, owner.codec.fingerprint, owner.secret
        )
        self.peer_id = handshake.dialer_id
        self.name = f"peer {self.peer_id} ({self.name})"
        dialer = owner._peers.get(self.peer_id)
        if dialer is not None and dialer.transport is None:
            dialer.retry_now.set()  # it is up: our link to it need not wait out its back-off
        self.decoder.max_frame = owner.max_frame
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
        owner.log.debug("node %s: accepted connection from %s", owner.node_id, self.name)

    def close(self, reason: str, level: int = logging.WARNING) -> None:
        """Drop this connection, logging ``reason`` once."""
        if self.closing or self.transport is None:
            return
        self.closing = True
        self.owner.log.log(
            level, "node %s: closing connection from %s: %s", self.owner.node_id, self.name, reason
        )
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        owner = self.owner
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
        owner._inbound.discard(self)
        if not self.closing:
            self.closing = True
            if self.decoder.buffered:
                owner.log.warning(
                    "node %s: connection from %s ended inside a frame (%d bytes unfinished)",
                    owner.node_id,
                    self.name,
                    self.decoder.buffered,
                )
            else:
                owner.log.debug("node %s: connection from %s closed", owner.node_id, self.name)
        self.closed.set_result(None)


class PeerTransport:
    """Sends messages to peers and delivers theirs to ``on_message`` (see module rules).

    ``peers`` maps node ids to addresses; an entry for this node itself is
    ignored, so a full membership map may be passed. With ``secret`` every
    handshake proves it and every accepted one must (handshake.py). With
    ``tls`` - the contexts for accepting and for dialing (ranet/tls.py) -
    every link is mutual TLS, its TLS handshake bounded like the connect. Every message type of
    ``codec`` must have ``src`` and ``dst`` fields.
    """

    def __init__(
        self,
        node_id: int,
        cluster_id: str,
        listen: Address,
        peers: dict[int, Address],
        codec: Codec,
        on_message: Callable[[object], None],
        *,
        max_frame: int = MAX_FRAME,
        logger: logging.Logger | None = None,
        max_queue_bytes: int = 8 << 20,
        backoff: tuple[float, float] = (0.05, 2.0),
        connect_timeout: float = 2.0,
        handshake_timeout: float = 5.0,
        secret: bytes | None = None,
        tls: tuple[ssl.SSLContext, ssl.SSLContext] | None = None,
    ) -> None:
        for cls in codec.types:
            names = {field.name for field in dataclasses.fields(cls)}
            if not {"src", "dst"} <= names:
                raise TypeError(f"{cls.__name__} needs src and dst fields to travel between peers")
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.secret = secret
        self.tls = tls  # (accepting, dialing) contexts: mutual TLS on every link
        self.codec = codec
        self.on_message = on_message
        self.max_frame = max_frame
        self.log = logger or logging.getLogger("ranet.transport")
        self.max_queue_bytes = max_queue_bytes
        self.backoff = backoff
        self.connect_timeout = connect_timeout
        self.handshake_timeout = handshake_timeout
        self._listen = listen
        self._peers: dict[int, _Peer] = {}
        self._inbound: set[_Inbound] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # dial loops, incl. cancelled ones ending
        self._stopped = False
        self.update_peers(peers)

    @property
    def listen_address(self) -> Address:
        """The bound address once started (the real port when asked for port 0)."""
        if self._server is not None and self._server.sockets:
            host, port = self._server.sockets[0].getsockname()[:2]
            return host, port
        return self._listen

    async def start(self) -> None:
        """Listen for peers and start dialing them; ``ListenError`` if the address is taken."""
        if self._server is not None or self._stopped:
            raise RuntimeError("a PeerTransport starts once")
        host, port = self._listen
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _Inbound(self), host, port, **self._tls_options(accepting=True)
            )
        except OSError as exc:
            raise ListenError(
                exc.errno,
                f"node {self.node_id} cannot listen on {host}:{port}: {_os_reason(exc)}",
            ) from exc
        for peer in self._peers.values():
            self._dial(peer)
        self.log.info(
            "node %s: listening on %s", self.node_id, _format_address(self.listen_address)
        )

    async def stop(self) -> None:
        """Close the listener and every connection, end the dial loops. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        inbound = list(self._inbound)
        for connection in inbound:
            connection.close("transport stopping", logging.DEBUG)
        await asyncio.gather(*tasks, return_exceptions=True)
        if inbound:
            await asyncio.wait([connection.closed for connection in inbound], timeout=1.0)
        if self._server is not None:
            await self._server.wait_closed()

    def send(self, message: object) -> None:
        """Queue ``message`` for the peer ``message.dst``; never blocks (Rules 2 and 3).

        Unknown destinations and sends after ``stop`` are dropped. A message
        larger than ``max_frame`` is dropped with a warning, since the peer
        would refuse it. A message type the codec does not know raises
        ``EncodeError``: that is a programming error, not a network condition.
        """
        peer = self._peers.get(message.dst)
        if peer is None or self._stopped:
            self.log.debug(
                "node %s: dropped %s to unknown or stopped peer %s",
                self.node_id,
                type(message).__name__,
                message.dst,
            )
            return
        payload = self.codec.encode(message)
        if len(payload) > self.max_frame:
            peer.dropped += 1
            self.log.warning(
                "node %s: dropped %s to peer %s: %d bytes exceed max_frame (%d)",
                self.node_id,
                type(message).__name__,
                peer.node_id,
                len(payload),
                self.max_frame,
            )
            return
        peer.enqueue(payload)

    def flush(self) -> None:
        """Write what is queued for every writable peer now, not in the next
        loop iteration (Rule 2); the flush already scheduled then finds nothing."""
        for peer in self._peers.values():
            if peer.flush_scheduled:
                peer.flush()

    def update_peers(self, peers: dict[int, Address]) -> None:
        """Adopt a new peer map: dial new peers, redial moved ones, forget removed ones."""
        wanted = {node_id: address for node_id, address in peers.items() if node_id != self.node_id}
        for node_id in [node_id for node_id in self._peers if node_id not in wanted]:
            peer = self._peers.pop(node_id)
            if peer.task is not None:
                peer.task.cancel()
            for connection in [c for c in self._inbound if c.peer_id == node_id]:
                connection.close("peer removed from the configuration", logging.INFO)
        for node_id, address in wanted.items():
            address = (address[0], int(address[1]))
            peer = self._peers.get(node_id)
            if peer is None:
                proof = b""
                if self.secret is not None:
                    proof = peer_proof(self.secret, self.cluster_id, self.node_id, node_id)
                handshake = Handshake(
                    self.cluster_id, self.node_id, node_id, self.codec.fingerprint, proof
                )
                peer = _Peer(
                    node_id, address, encode_frame(handshake.encode()), self.max_queue_bytes
                )
                self._peers[node_id] = peer
            elif peer.address != address:
                peer.address = address
                if peer.task is not None:
                    peer.task.cancel()
            else:
                continue
            if self._server is not None and not self._stopped:
                self._dial(peer)

    def peer_stats(self, node_id: int) -> PeerStats:
        """Counters of the outgoing link to ``node_id`` (``KeyError`` if not a peer)."""
        return self._peers[node_id].stats()

    def _dial(self, peer: _Peer) -> None:
        peer.task = asyncio.get_running_loop().create_task(
            self._keep_connected(peer), name=f"ranet-dial-{self.node_id}-{peer.node_id}"
        )
        self._tasks.add(peer.task)
        peer.task.add_done_callback(self._tasks.discard)

    async def _keep_connected(self, peer: _Peer) -> None:
        """Rule 4: connect, wait for the loss, back off, repeat until cancelled."""
        loop = asyncio.get_running_loop()
        shortest, longest = self.backoff
        delay = shortest
        link: _Link | None = None
        try:
            while True:
                host, port = where = peer.address
                peer.retry_now.clear()
                try:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a
                    # cancel that arrives as the connect completes, and stop() hangs.
                    async with asyncio.timeout(self.connect_timeout):
                        _, link = await loop.create_connection(
                            partial(_Link, peer), host, port, **self._tls_options(host=host)
                        )
                except (OSError, TimeoutError) as exc:
                    reason = str(exc) or type(exc).__name__
                    self._report(peer, f"cannot reach it at {_format_address(where)} ({reason})")
                else:
                    connected_at = loop.time()
                    self.log.debug("node %s: connected to peer %s", self.node_id, peer.node_id)
                    await link.closed
                    lived = loop.time() - connected_at
                    if lived >= longest:
                        delay = shortest
                        peer.reported = False
                    self._report(
                        peer,
                        f"connection to {_format_address(where)} closed after {lived:.2f} s "
                        "(if this repeats, that peer's log says why it rejects us)",
                    )
                with contextlib.suppress(TimeoutError):  # the back-off, cut short by retry_now
                    async with asyncio.timeout(delay * random.uniform(0.5, 1.0)):
                        await peer.retry_now.wait()
                delay = min(2 * delay, longest)
        finally:
            if link is not None:
                await link.shutdown()

    def _tls_options(self, *, accepting: bool = False, host: str = "") -> dict[str, Any]:
        """The TLS arguments of ``create_server`` or ``create_connection``, if any."""
        if self.tls is None:
            return {}
        if accepting:
            return {"ssl": self.tls[0], "ssl_handshake_timeout": self.handshake_timeout}
        return {
            "ssl": self.tls[1],
            "server_hostname": host,
            "ssl_handshake_timeout": self.connect_timeout,
        }

    def _report(self, peer: _Peer, problem: str) -> None:
        """Log a link problem at info once per outage; repeats go to debug."""
        level = logging.DEBUG if peer.reported else logging.INFO
        peer.reported = True
        self.log.log(
            level,
            "node %s: peer %s: %s; retrying with back-off",
            self.node_id,
            peer.node_id,
            problem,
        )
