"""The handshake: what an acceptor accepts, and the reason it gives when it refuses."""

from __future__ import annotations

import msgpack
import pytest

from ranet.errors import HandshakeError
from ranet.transport.handshake import MAGIC, WIRE_VERSION, Handshake, peer_proof

SCHEMA = "0123456789abcdef"


def accept(handshake: Handshake) -> None:
    handshake.check("blue", node_id=1, peer_ids={2, 3}, schema=SCHEMA)


def test_round_trip_and_accept() -> None:
    handshake = Handshake("blue", 2, 1, SCHEMA)
    assert Handshake.decode(handshake.encode()) == handshake
    accept(handshake)


@pytest.mark.parametrize(
    "handshake, reason",
    [
        (Handshake("green", 2, 1, SCHEMA), "wrong cluster id 'green'"),
        (Handshake("blue", 2, 3, SCHEMA), "node 2 expected to reach node 3, this is node 1"),
        (Handshake("blue", 9, 1, SCHEMA), "node 9 is not a peer of node 1"),
        (Handshake("blue", 1, 1, SCHEMA), "node 1 is not a peer of node 1"),
        (Handshake("blue", 2, 1, "fedcba9876543210"), "message schema fedcba9876543210 differs"),
    ],
)
def test_refusals_say_why(handshake: Handshake, reason: str) -> None:
    with pytest.raises(HandshakeError, match=reason):
        accept(handshake)


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"GET / HTTP/1.1\r\n", "not a ranet handshake"),
        (msgpack.packb([b"other", WIRE_VERSION, "blue", 2, 1, SCHEMA]), "bad magic"),
        (msgpack.packb([MAGIC, WIRE_VERSION + 1, "blue", 2, 1, SCHEMA]), "wire version 2"),
        (msgpack.packb([MAGIC, WIRE_VERSION, "blue", "2", 1, SCHEMA]), "malformed"),
        (msgpack.packb([MAGIC, WIRE_VERSION, "blue", 2]), "not a ranet handshake"),
    ],
)
def test_malformed_handshakes(payload: bytes, reason: str) -> None:
    with pytest.raises(HandshakeError, match=reason):
        Handshake.decode(payload)


SECRET = b"peer secret"


def proven(dialer: int = 2, expected: int = 1, secret: bytes = SECRET) -> Handshake:
    return Handshake("blue", dialer, expected, SCHEMA, peer_proof(secret, "blue", dialer, expected))


def test_a_proof_of_the_peer_secret_is_carried_and_checked() -> None:
    handshake = proven()
    assert Handshake.decode(handshake.encode()) == handshake
    handshake.check("blue", 1, {2, 3}, SCHEMA, SECRET)
    accept(handshake)  # an acceptor without a secret ignores the proof


@pytest.mark.parametrize(
    "handshake, reason",
    [
        (Handshake("blue", 2, 1, SCHEMA), "node 2 did not prove the peer secret \\(it has none"),
        (proven(secret=b"other"), "node 2 did not prove the peer secret$"),
        # node 2's proof, replayed by a process claiming to be node 3
        (Handshake("blue", 3, 1, SCHEMA, proven().proof), "node 3 did not prove"),
    ],
)
def test_a_node_with_a_secret_refuses_a_missing_or_wrong_proof(
    handshake: Handshake, reason: str
) -> None:
    with pytest.raises(HandshakeError, match=reason):
        handshake.check("blue", 1, {2, 3}, SCHEMA, SECRET)


def test_a_handshake_without_a_proof_is_the_six_fields_of_before() -> None:
    assert msgpack.unpackb(Handshake("blue", 2, 1, SCHEMA).encode()) == [
        MAGIC, WIRE_VERSION, "blue", 2, 1, SCHEMA,
    ]  # fmt: skip
    assert len(msgpack.unpackb(proven().encode())) == 7
    for extra in ([1], [b"a", b"b"]):
        payload = msgpack.packb([MAGIC, WIRE_VERSION, "blue", 2, 1, SCHEMA, *extra])
        with pytest.raises(HandshakeError, match="malformed"):
            Handshake.decode(payload)
