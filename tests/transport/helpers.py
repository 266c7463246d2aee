"""Helpers for transport tests: meshes of real transports, bounded waits, forged frames.

Every wait is bounded: a test that would hang fails with ``TimeoutError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, fields
from typing import Any

import msgpack

from ranet.core.messages import Heartbeat
from ranet.transport.codec import default_codec
from ranet.transport.framing import encode_frame
from ranet.transport.handshake import MAGIC, WIRE_VERSION
from ranet.transport.peers import Address, PeerTransport

LOOPBACK = "127.0.0.1"
CLUSTER = "test-cluster"
FAST_BACKOFF = (0.01, 0.1)
CODEC = default_codec()

Runner = Callable[..., Any]
"""The ``run`` fixture: ``run(coro, timeout=10.0)`` on a fresh event loop."""


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``predicate()`` holds, polling; ``TimeoutError`` after ``timeout``."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


@dataclass
class Node:
    """A transport under test and the messages it delivered, in order."""

    node_id: int
    transport: PeerTransport
    inbox: list[object] = field(default_factory=list)

    @property
    def address(self) -> Address:
        return self.transport.listen_address


def make_node(node_id: int, *, port: int = 0, **options: Any) -> Node:
    inbox: list[object] = []
    options.setdefault("backoff", FAST_BACKOFF)
    transport = PeerTransport(
        node_id, CLUSTER, (LOOPBACK, port), {}, CODEC, inbox.append, **options
    )
    return Node(node_id, transport, inbox)


@asynccontextmanager
async def mesh(count: int, **options: Any) -> AsyncIterator[list[Node]]:
    """``count`` started transports (ids 1..count), each a peer of all others; stopped at exit."""
    nodes = [make_node(node_id, **options) for node_id in range(1, count + 1)]
    try:
        for node in nodes:
            await node.transport.start()
        addresses = {node.node_id: node.address for node in nodes}
        for node in nodes:
            node.transport.update_peers(addresses)
        yield nodes
    finally:
        for node in nodes:
            await node.transport.stop()


async def exchange(sender: Node, receiver: Node, term: int) -> None:
    """``sender`` sends one heartbeat of ``term``; wait until ``receiver`` delivered it."""
    message = Heartbeat(sender.node_id, receiver.node_id, term, 0)
    sender.transport.send(message)
    await eventually(lambda: message in receiver.inbox)


async def wait_connected(*nodes: Node) -> None:
    """Wait until every node's outgoing link to every other node is up."""
    await eventually(
        lambda: all(
            a.transport.peer_stats(b.node_id).connected for a in nodes for b in nodes if a is not b
        )
    )


def message_array(message: Any, **changes: Any) -> list[Any]:
    """The raw msgpack array ``[tag, field...]`` of ``message``, some fields replaced.

    Forged payloads built this way stay valid in every other respect even as
    message types gain fields.
    """
    array = msgpack.unpackb(CODEC.encode(message))
    names = [each.name for each in fields(message)]
    for name, value in changes.items():
        array[1 + names.index(name)] = value
    return array


def handshake_frame(
    cluster_id: str = CLUSTER,
    dialer_id: int = 2,
    expected_id: int = 1,
    schema: str = CODEC.fingerprint,
    magic: bytes = MAGIC,
    version: int = WIRE_VERSION,
) -> bytes:
    """A handshake frame as a dialer sends it, each field overridable to forge bad ones."""
    return encode_frame(msgpack.packb([magic, version, cluster_id, dialer_id, expected_id, schema]))


@asynccontextmanager
async def raw_connection(
    address: Address,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection(*address)
    try:
        yield reader, writer
    finally:
        writer.close()
        with suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 2.0)


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float = 5.0) -> None:
    """Wait until the other end closes (EOF or reset); fail if it does not."""

    async def drain() -> None:
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass

    await asyncio.wait_for(drain(), timeout)


class _CountingWrites:
    """Stands in for a link's asyncio transport and records the size of every write."""

    def __init__(self, transport: asyncio.Transport, sizes: list[int]) -> None:
        self._transport = transport
        self._sizes = sizes

    def write(self, data: bytes) -> None:
        self._sizes.append(len(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def count_socket_writes(node: Node, peer_id: int) -> list[int]:
    """Record the size of every socket write on ``node``'s connection to ``peer_id``.

    White-box: interposes on the live link's transport (uvloop's transports
    cannot be patched in place).
    """
    peer = node.transport._peers[peer_id]
    assert peer.transport is not None, "link is not connected"
    sizes: list[int] = []
    peer.transport = _CountingWrites(peer.transport, sizes)  # type: ignore[assignment]
    return sizes


async def outsider_gets_nothing_through(
    outsider: Node, node: Node, evidence: Callable[[], bool]
) -> None:
    """``outsider`` (node 1) dials ``node`` (node 2) and sends it a heartbeat;
    once ``evidence`` shows the link was refused, nothing may have arrived."""
    try:
        for transport in (outsider.transport, node.transport):
            await transport.start()
        outsider.transport.update_peers({2: node.address})
        outsider.transport.send(Heartbeat(1, 2, 1, 0))
        await eventually(evidence)
        assert node.inbox == []
    finally:
        for transport in (outsider.transport, node.transport):
            await transport.stop()
