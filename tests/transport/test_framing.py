"""Framing: any chunking of the stream yields the same payloads; oversized is an error."""

from __future__ import annotations

import random

import pytest

from ranet.errors import FrameError
from ranet.transport.framing import HEADER, MAX_FRAME, FrameDecoder, encode_frame

PAYLOADS = [b"first", b"", b"\x00\xff" * 300, b"x", b""]
STREAM = b"".join(encode_frame(payload) for payload in PAYLOADS)


def test_a_frame_is_a_big_endian_length_then_the_payload() -> None:
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert encode_frame(b"") == b"\x00\x00\x00\x00"
    assert MAX_FRAME == 64 << 20


def test_two_chunks_at_every_split_point() -> None:
    for split in range(len(STREAM) + 1):
        decoder = FrameDecoder()
        frames = decoder.feed(STREAM[:split]) + decoder.feed(STREAM[split:])
        assert frames == PAYLOADS, f"split at byte {split}"
        assert decoder.buffered == 0


def test_one_byte_at_a_time() -> None:
    decoder = FrameDecoder()
    frames = [frame for i in range(len(STREAM)) for frame in decoder.feed(STREAM[i : i + 1])]
    assert frames == PAYLOADS


@pytest.mark.parametrize("seed", range(20))
def test_random_chunks(seed: int) -> None:
    rng = random.Random(seed)
    decoder = FrameDecoder()
    frames, position = [], 0
    while position < len(STREAM):
        size = rng.randint(0, 40)
        frames += decoder.feed(STREAM[position : position + size])
        position += size
    assert frames == PAYLOADS


def test_zero_length_frames_alone() -> None:
    assert FrameDecoder().feed(encode_frame(b"") * 3) == [b"", b"", b""]


def test_incomplete_frame_stays_buffered() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(encode_frame(b"hello")[:-2]) == []
    assert decoder.buffered == 7
    assert decoder.feed(b"lo") == [b"hello"]
    assert decoder.buffered == 0


def test_length_at_the_limit_is_accepted_one_above_is_refused() -> None:
    decoder = FrameDecoder(max_frame=8)
    assert decoder.feed(encode_frame(b"12345678")) == [b"12345678"]
    with pytest.raises(FrameError, match="frame length 9 exceeds the limit of 8 bytes"):
        decoder.feed(HEADER.pack(9))


def test_oversized_length_is_refused_before_its_payload_arrives() -> None:
    with pytest.raises(FrameError, match="4294967295"):
        FrameDecoder().feed(b"\xff\xff\xff\xff")


def test_max_frames_stops_early_and_the_rest_follows() -> None:
    decoder = FrameDecoder(max_frame=16)
    stream = encode_frame(b"hello") + encode_frame(b"y" * 100)
    assert decoder.feed(stream, max_frames=1) == [b"hello"]
    decoder.max_frame = 1000
    assert decoder.feed(b"") == [b"y" * 100]
