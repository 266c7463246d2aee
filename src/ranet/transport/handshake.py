"""The first frame on a peer connection: who is calling, and whom it means to reach.

The dialer sends one handshake frame before any message. Its payload is the
msgpack array ``[MAGIC, WIRE_VERSION, cluster_id, dialer_id, expected_id,
schema]``, where ``schema`` is the dialer's ``Codec.fingerprint``. The
acceptor reads nothing else from the connection until it has accepted the
handshake, and allows it at most ``MAX_HANDSHAKE`` bytes, so a stranger cannot
make it buffer a large frame.

The acceptor never answers: rejecting a handshake means logging why and
closing the connection. The dialer sees the close and retries with back-off,
so a misconfigured node is reported, not hammered.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

import msgpack

from ranet.errors import HandshakeError

MAGIC = b"ranet"
WIRE_VERSION = 1
MAX_HANDSHAKE = 1024
"""Largest handshake payload an acceptor reads, in bytes."""


@dataclass(slots=True, frozen=True)
class Handshake:
    """A dialer's introduction: its cluster, its id, the id it expects, its schema."""

    cluster_id: str
    dialer_id: int
    expected_id: int
    schema: str

    def encode(self) -> bytes:
        """The handshake payload (to be framed like any other)."""
        return msgpack.packb(
            (MAGIC, WIRE_VERSION, self.cluster_id, self.dialer_id, self.expected_id, self.schema)
        )

    @classmethod
    def decode(cls, payload: bytes) -> Handshake:
        """Parse a handshake payload; ``HandshakeError`` if it is not one we speak."""
        try:
            magic, version, cluster_id, dialer_id, expected_id, schema = msgpack.unpackb(payload)
        except Exception:  # not msgpack, not an array, wrong arity: not a handshake
            raise HandshakeError("not a ranet handshake") from None
        if magic != MAGIC:
            raise HandshakeError("not a ranet handshake (bad magic)")
        if version != WIRE_VERSION:
            raise HandshakeError(f"wire version {version!r}, this node speaks {WIRE_VERSION}")
        if not (
            type(cluster_id) is str
            and type(dialer_id) is int
            and type(expected_id) is int
            and type(schema) is str
        ):
            raise HandshakeError("malformed handshake fields")
        return cls(cluster_id, dialer_id, expected_id, schema)

    def check(self, cluster_id: str, node_id: int, peer_ids: Container[int], schema: str) -> None:
        """Accept this handshake for node ``node_id`` or raise ``HandshakeError`` saying why."""
        if self.cluster_id != cluster_id:
            raise HandshakeError(
                f"wrong cluster id {self.cluster_id!r} (this node is in cluster {cluster_id!r})"
            )
        if self.expected_id != node_id:
            raise HandshakeError(
                f"node {self.dialer_id} expected to reach node {self.expected_id}, "
                f"this is node {node_id}"
            )
        if self.dialer_id not in peer_ids:
            raise HandshakeError(f"node {self.dialer_id} is not a peer of node {node_id}")
        if self.schema != schema:
            raise HandshakeError(
                f"message schema {self.schema} differs from this node's {schema} "
                "(different ranet versions?)"
            )
