"""Reply values to RESP bytes: RESP2 by default, RESP3 after HELLO 3."""

from __future__ import annotations

import copy

import hiredis
import msgpack
import pytest

from ranet.kv.reply import NULL_ARRAY, OK, ErrorReply, Status, from_wire, to_wire
from ranet.kv.resp import encode_reply


@pytest.mark.parametrize(
    ("reply", "resp2", "resp3"),
    [
        (OK, b"+OK\r\n", b"+OK\r\n"),
        (Status("PONG"), b"+PONG\r\n", b"+PONG\r\n"),
        (ErrorReply("ERR syntax error"), b"-ERR syntax error\r\n", b"-ERR syntax error\r\n"),
        (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
        (b"a\r\nb", b"$4\r\na\r\nb\r\n", b"$4\r\na\r\nb\r\n"),
        (-42, b":-42\r\n", b":-42\r\n"),
        (None, b"$-1\r\n", b"_\r\n"),
        (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
        ([b"a", NULL_ARRAY], b"*2\r\n$1\r\na\r\n*-1\r\n", b"*2\r\n$1\r\na\r\n_\r\n"),
        ([], b"*0\r\n", b"*0\r\n"),
        ([b"a", None, 7], b"*3\r\n$1\r\na\r\n$-1\r\n:7\r\n", b"*3\r\n$1\r\na\r\n_\r\n:7\r\n"),
        ({b"proto": 3}, b"*2\r\n$5\r\nproto\r\n:3\r\n", b"%1\r\n$5\r\nproto\r\n:3\r\n"),
    ],
)
def test_encodings(reply: object, resp2: bytes, resp3: bytes) -> None:
    assert encode_reply(reply) == resp2
    assert encode_reply(reply, resp3=True) == resp3


def test_a_null_array_crosses_to_a_follower_and_into_a_snapshot_as_itself() -> None:
    """A forwarded reply and a session's remembered reply are msgpack'd
    (reply.to_wire): the null array must come back as the null array, not
    as the null bulk string."""
    reply = [NULL_ARRAY, None, [NULL_ARRAY]]
    carried = from_wire(msgpack.unpackb(msgpack.packb(to_wire(reply))))
    assert carried == reply and carried[0] is NULL_ARRAY and carried[1] is None
    assert copy.deepcopy(NULL_ARRAY) is NULL_ARRAY


def test_a_line_break_cannot_end_a_status_or_an_error_early() -> None:
    assert encode_reply(ErrorReply("ERR bad\r\nthing\n")) == b"-ERR bad  thing \r\n"
    assert encode_reply(Status("a\rb")) == b"+a b\r\n"


@pytest.mark.parametrize("resp3", [False, True])
def test_nested_replies_read_back_with_hiredis(resp3: bool) -> None:
    reply = [b"x" * 10_000, [1, [b"", None]], {b"k": [b"v"]}, Status("QUEUED")]
    reader = hiredis.Reader()
    reader.feed(encode_reply(reply, resp3=resp3))
    as_map = {b"k": [b"v"]} if resp3 else [b"k", [b"v"]]
    assert reader.gets() == [b"x" * 10_000, [1, [b"", None]], as_map, b"QUEUED"]
    assert reader.gets() is False


def test_values_outside_the_reply_types_are_a_bug() -> None:
    with pytest.raises(TypeError, match="no RESP encoding for complex"):
        encode_reply([1j])
