"""Network transport between ranet peers: framing, codec, TCP connections.

- ``framing``: 4-byte big-endian length prefix + payload; ``FrameDecoder``
  cuts a byte stream back into payloads.
- ``codec``: msgpack encoding of the dataclass messages, tagged by position,
  with the schema read from the dataclass fields.
- ``handshake``: the first frame of every connection (cluster, ids, schema).
- ``peers``: ``PeerTransport``, one outgoing connection per peer, coalesced
  writes, bounded queues, reconnect with back-off, garbage-proof receiving.

Wire format and limits are described in docs/transport.md.
"""

from ranet.transport.codec import Codec, default_codec
from ranet.transport.framing import MAX_FRAME, FrameDecoder, encode_frame
from ranet.transport.peers import PeerStats, PeerTransport

__all__ = [
    "MAX_FRAME",
    "Codec",
    "FrameDecoder",
    "PeerStats",
    "PeerTransport",
    "default_codec",
    "encode_frame",
]
