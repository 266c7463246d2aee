"""Bad input on the wire: the offending connection is closed with one warning saying why,
nothing reaches on_message, and the node keeps talking to its real peers."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import msgpack
import pytest

from ranet.core.messages import Heartbeat
from ranet.transport.framing import HEADER, encode_frame

from .helpers import (
    CODEC,
    Node,
    Runner,
    closed_by_peer,
    eventually,
    exchange,
    handshake_frame,
    mesh,
    message_array,
    raw_connection,
)

HELLO = handshake_frame()  # a valid handshake claiming to be node 2, reaching node 1


@dataclass(frozen=True)
class Attack:
    data: bytes
    reason: str
    """Regular expression the warning line must match."""
    hang_up: bool = False
    """The attacker closes its side after sending (otherwise the victim must close)."""


ATTACKS = {
    "random bytes": Attack(random.Random(7).randbytes(4096), "bad handshake|handshake rejected"),
    "http request": Attack(b"GET / HTTP/1.1\r\n\r\n", "bad handshake frame: frame length"),
    "oversized handshake": Attack(b"\xff\xff\xff\xff", "exceeds the limit of 1024 bytes"),
    "oversized frame": Attack(
        HELLO + HEADER.pack((64 << 20) + 1), "bad frame: frame length 67108865"
    ),
    "truncated frame then eof": Attack(
        HELLO + HEADER.pack(100) + bytes(10), r"ended inside a frame \(14 bytes", hang_up=True
    ),
    "truncated handshake then eof": Attack(HELLO[:-3], "ended inside a frame", hang_up=True),
    "wrong cluster id": Attack(handshake_frame(cluster_id="other"), "wrong cluster id 'other'"),
    "wrong node id": Attack(
        handshake_frame(expected_id=3), "expected to reach node 3, this is node 1"
    ),
    "unknown dialer": Attack(handshake_frame(dialer_id=9), "node 9 is not a peer of node 1"),
    "bad magic": Attack(handshake_frame(magic=b"raft!"), "bad magic"),
    "other wire version": Attack(handshake_frame(version=99), "wire version 99"),
    "other schema": Attack(handshake_frame(schema="0" * 16), "message schema 0000000000000000"),
    "garbage after handshake": Attack(HELLO + encode_frame(b"\xc1junk"), "undecodable message"),
    "unknown tag": Attack(
        HELLO + encode_frame(msgpack.packb([42, 2, 1])), "unknown message tag 42"
    ),
    "wrong arity": Attack(
        HELLO + encode_frame(msgpack.packb(message_array(Heartbeat(2, 1, 9, 0))[:3])),
        r"Heartbeat expects \d+ fields, got 2",
    ),
    "wrong field type": Attack(
        HELLO + encode_frame(msgpack.packb(message_array(Heartbeat(2, 1, 9, 0), term="x"))),
        "Heartbeat.term must be int, got str",
    ),
    "spoofed source": Attack(
        HELLO + encode_frame(CODEC.encode(Heartbeat(3, 1, 9, 0))), "from node 3 to node 1"
    ),
    "wrong destination": Attack(
        HELLO + encode_frame(CODEC.encode(Heartbeat(2, 5, 9, 0))), "from node 2 to node 5"
    ),
    "silence": Attack(b"", "no handshake in time"),
}


async def assert_still_serves(victim: Node, peer: Node, term: int) -> None:
    """Both directions still work, on the real peer's original connection."""
    await exchange(peer, victim, term)
    await exchange(victim, peer, term + 1)
    assert peer.transport.peer_stats(victim.node_id).connections == 1


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_bad_input_closes_only_that_connection(
    run: Runner, attack: Attack, transport_warnings: Callable[[], list[str]]
) -> None:
    async def scenario() -> None:
        async with mesh(2, handshake_timeout=0.3) as (victim, peer):
            await exchange(peer, victim, term=1)
            async with raw_connection(victim.address) as (reader, writer):
                writer.write(attack.data)
                if attack.hang_up:
                    writer.write_eof()
                await closed_by_peer(reader)
            await eventually(lambda: len(transport_warnings()) > 0)
            await assert_still_serves(victim, peer, term=2)
            assert victim.inbox == [Heartbeat(2, 1, 1, 0), Heartbeat(2, 1, 2, 0)]

    run(scenario())
    warnings = transport_warnings()
    assert len(warnings) == 1, warnings
    assert re.search(attack.reason, warnings[0]), warnings[0]
    assert warnings[0].startswith("node 1:")


def test_messages_before_the_garbage_are_delivered_in_order(
    run: Runner,
    transport_warnings: Callable[[], list[str]],
) -> None:
    async def scenario() -> None:
        async with mesh(2) as (victim, peer):
            good = [Heartbeat(2, 1, term, 0) for term in (10, 11)]
            frames = b"".join(encode_frame(CODEC.encode(message)) for message in good)
            after = encode_frame(CODEC.encode(Heartbeat(2, 1, 12, 0)))
            async with raw_connection(victim.address) as (reader, writer):
                writer.write(HELLO + frames + encode_frame(b"\x93garbage") + after)
                await closed_by_peer(reader)
            assert victim.inbox == good
            await assert_still_serves(victim, peer, term=20)

    run(scenario())
    assert len(transport_warnings()) == 1


def test_connection_storm(run: Runner, transport_warnings: Callable[[], list[str]]) -> None:
    """200 connections opened and dropped at once; half leave half a header behind."""

    async def scenario() -> None:
        async with mesh(2) as (victim, peer):
            await exchange(peer, victim, term=1)

            async def hit(index: int) -> None:
                async with raw_connection(victim.address) as (_, writer):
                    if index % 2:
                        writer.write(b"\x00\x00")
                        await writer.drain()

            await asyncio.gather(*(hit(index) for index in range(200)))
            await eventually(lambda: len(transport_warnings()) == 100)
            await eventually(lambda: len(victim.transport._inbound) == 1)
            await assert_still_serves(victim, peer, term=2)

    run(scenario(), timeout=15)
    assert all("ended inside a frame (2 bytes" in line for line in transport_warnings())
