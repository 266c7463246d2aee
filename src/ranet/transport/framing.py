"""Length-prefixed frames: how a TCP byte stream is cut back into messages.

A frame is a 4-byte big-endian unsigned length followed by that many bytes of
payload. A zero-length frame is valid (its payload is ``b""``).

Invariants of ``FrameDecoder``:

- it accepts the stream in chunks split at any byte, and returns every
  complete payload exactly once, in stream order;
- it never buffers more than one incomplete frame, so its memory is bounded
  by ``max_frame`` plus the header plus the chunk being fed;
- a length prefix above ``max_frame`` raises ``FrameError`` as soon as the
  four header bytes are in; after that the stream is unusable and the
  connection must be closed (there is no way to find the next frame).
"""

from __future__ import annotations

import struct

from ranet.errors import FrameError

MAX_FRAME = 64 << 20
"""Default upper bound of one payload, in bytes (64 MiB)."""

HEADER = struct.Struct(">I")
"""The length prefix: 4 bytes, big-endian, unsigned."""


def encode_frame(payload: bytes) -> bytes:
    """One frame: the length prefix, then the payload."""
    return HEADER.pack(len(payload)) + payload


class FrameDecoder:
    """Incremental frame splitter fed with arbitrary byte chunks.

    ``max_frame`` may be changed between calls to ``feed`` (the transport
    allows only a small handshake frame until the peer has identified itself).
    """

    __slots__ = ("_pending", "max_frame")

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._pending = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held of a frame not yet complete (non-zero at EOF means truncation)."""
        return len(self._pending)

    def feed(self, chunk: bytes, max_frames: int | None = None) -> list[bytes]:
        """Take the next chunk of the stream; return the payloads it completes.

        With ``max_frames``, stop after that many payloads and keep the rest of
        the stream buffered (``feed(b"")`` continues). Raises ``FrameError`` if a
        length prefix exceeds ``max_frame``.
        """
        pending = self._pending
        if pending:
            pending += chunk
            data: bytes | bytearray = pending
        else:
            data = chunk
        frames: list[bytes] = []
        end = len(data)
        position = 0
        unpack_from = HEADER.unpack_from
        with memoryview(data) as view:
            while end - position >= 4:
                (size,) = unpack_from(view, position)
                if size > self.max_frame:
                    raise FrameError(
                        f"frame length {size} exceeds the limit of {self.max_frame} bytes"
                    )
                stop = position + 4 + size
                if stop > end:
                    break
                frames.append(view[position + 4 : stop].tobytes())
                position = stop
                if len(frames) == max_frames:
                    break
        if pending:
            del pending[:position]
        elif position < end:
            pending += data[position:]
        return frames
