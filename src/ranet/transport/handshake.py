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

Peer secret. When the cluster shares a secret (``ranet node
--peer-secret-file``), the dialer appends a seventh field, ``proof``: an
HMAC-SHA256 under the secret of the cluster id and both node ids. An
acceptor with a secret accepts only a handshake whose proof matches
(compared in constant time), so a process that does not know the secret
cannot speak Raft to the node; an acceptor without one ignores the field,
and a dialer without one sends the six fields of before. The proof is a
password, not a session key: it keeps strangers out, but the traffic is
not encrypted, and someone who can read it can replay the handshake (the
same bound as Redis's ``masterauth``); with TLS on (ranet/tls.py) the
traffic, proof included, is encrypted and peers show certificates too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Container
from dataclasses import dataclass

import msgpack

from ranet.errors import HandshakeError

MAGIC = b"ranet"
WIRE_VERSION = 1
MAX_HANDSHAKE = 1024
"""Largest handshake payload an acceptor reads, in bytes."""


def peer_proof(secret: bytes, cluster_id: str, dialer_id: int, expected_id: int) -> bytes:
    """What a dialer knowing ``secret`` sends to show it."""
    message = msgpack.packb((b"ranet-peer", cluster_id, dialer_id, expected_id))
    return hmac.new(secret, message, hashlib.sha256).digest()


@dataclass(slots=True, frozen=True)
class Handshake:
    """A dialer's introduction: its cluster, its id, the id it expects, its
    schema, and - in a cluster with a peer secret - its proof of the secret."""

    cluster_id: str
    dialer_id: int
    expected_id: int
    schema: str
    proof: bytes = b""

    def encode(self) -> bytes:
        """The handshake payload (to be framed like any other)."""
        fields = (MAGIC, WIRE_VERSION, self.cluster_id, self.dialer_id, self.expected_id)
        return msgpack.packb(
            (*fields, self.schema, self.proof) if self.proof else (*fields, self.schema)
        )

    @classmethod
    def decode(cls, payload: bytes) -> Handshake:
        """Parse a handshake payload; ``HandshakeError`` if it is not one we speak."""
        try:
            fields = msgpack.unpackb(payload)
            magic, version, cluster_id, dialer_id, expected_id, schema, *rest = fields
        except Exception:  # not msgpack, not an array, too few fields: not a handshake
            raise HandshakeError("not a ranet handshake") from None
        proof = rest[0] if len(rest) == 1 else None if rest else b""
        if magic != MAGIC:
            raise HandshakeError("not a ranet handshake (bad magic)")
        if version != WIRE_VERSION:
            raise HandshakeError(f"wire version {version!r}, this node speaks {WIRE_VERSION}")
        if not (
            type(cluster_id) is str
            and type(dialer_id) is int
            and type(expected_id) is int
            and type(schema) is str
            and type(proof) is bytes
        ):
            raise HandshakeError("malformed handshake fields")
        return cls(cluster_id, dialer_id, expected_id, schema, proof)

    def check(
        self,
        cluster_id: str,
        node_id: int,
        peer_ids: Container[int],
        schema: str,
        secret: bytes | None = None,
    ) -> None:
        """Accept this handshake for node ``node_id`` (whose cluster shares
        ``secret``, if any) or raise ``HandshakeError`` saying why."""
        if secret is not None and not hmac.compare_digest(
            self.proof, peer_proof(secret, self.cluster_id, self.dialer_id, self.expected_id)
        ):
            raise HandshakeError(
                f"node {self.dialer_id} did not prove the peer secret"
                + ("" if self.proof else " (it has none set)")
            )
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
