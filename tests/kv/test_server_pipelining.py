"""A stream of commands answers the same whether it is sent one command at a
time or pipelined in random chunks (the server's Rules 1 and 2): random
streams of reads, writes, connection commands and transactions (MULTI,
EXEC, DISCARD, WATCH, UNWATCH, with errors in between), seeded."""

from __future__ import annotations

import random
import socket

import pytest
import redis

from .fake_backend import LOOP_FACTORIES, LOOPBACK, WAIT, served

KEYS = ["a", "b", "c"]


def random_stream(rng: random.Random, length: int) -> list[list[str]]:
    """Commands a client could send, transactions and mistakes included: loose
    commands, and blocks shaped like transactions (WATCH, MULTI, a few
    commands, EXEC or DISCARD), so that WATCH-then-EXEC lands in one packet."""
    stream: list[list[str]] = []
    while len(stream) < length:
        if rng.random() < 0.3:
            stream += random_commands(rng, rng.randint(0, 2), watch=True)
            stream.append(["MULTI"])
            stream += random_commands(rng, rng.randint(0, 3), watch=False)
            stream.append([rng.choice(["EXEC", "EXEC", "DISCARD"])])
        else:
            stream += random_commands(rng, 1, watch=False)
    return stream


def random_commands(rng: random.Random, length: int, *, watch: bool) -> list[list[str]]:
    """Loose commands; with ``watch``, WATCHes and reads only (a transaction's run-up)."""

    def key() -> str:
        return rng.choice(KEYS)

    reads = [lambda: ["GET", key()], lambda: ["MGET", key(), key()]]
    watches = [lambda: ["WATCH", key(), key()]]
    others = [
        lambda: ["SET", key(), str(rng.randint(0, 9))],
        lambda: ["INCR", key()],
        lambda: ["DEL", key()],
        lambda: ["APPEND", key(), "x"],
        lambda: ["PING"],
        lambda: ["ECHO", "hi"],
        lambda: ["MULTI"],
        lambda: ["EXEC"],
        lambda: ["DISCARD"],
        lambda: ["UNWATCH"],
        lambda: ["SET", key()],  # wrong arity
        lambda: ["NOSUCH"],
    ]
    choices = reads + watches if watch else reads + watches + others
    return [rng.choice(choices)() for _ in range(length)]


def encode(command: list[str]) -> bytes:
    parts = [f"*{len(command)}\r\n".encode()]
    for arg in command:
        parts.append(f"${len(arg)}\r\n{arg}\r\n".encode())
    return b"".join(parts)


def comparable(reply: object) -> object:
    """Errors inside an EXEC's array as their text (exceptions compare by identity)."""
    if isinstance(reply, list):
        return [comparable(item) for item in reply]
    return f"error: {reply}" if isinstance(reply, redis.ResponseError) else reply


def replies_sent_one_by_one(port: int, stream: list[list[str]]) -> list[object]:
    connection = redis.connection.Connection(host=LOOPBACK, port=port, socket_timeout=WAIT)
    out: list[object] = []
    try:
        for command in stream:
            connection.send_command(*command)
            try:
                out.append(comparable(connection.read_response()))
            except redis.ResponseError as error:
                out.append(f"error: {error}")
    finally:
        connection.disconnect()
    return out


def replies_pipelined(port: int, stream: list[list[str]], rng: random.Random) -> list[object]:
    """Send the whole stream in random chunks (cut anywhere), then read every reply."""
    data = b"".join(map(encode, stream))
    with socket.create_connection((LOOPBACK, port), timeout=WAIT) as raw:
        position = 0
        while position < len(data):
            step = rng.randint(1, 200)
            raw.sendall(data[position : position + step])
            position += step
        reader = redis.connection.Connection(host=LOOPBACK, port=port, socket_timeout=WAIT)
        reader._sock = raw  # read the replies with redis-py's parser, from our socket
        reader._parser.on_connect(reader)
        out: list[object] = []
        for _ in stream:
            try:
                out.append(comparable(reader.read_response()))
            except redis.ResponseError as error:
                out.append(f"error: {error}")
        reader._parser.on_disconnect()
    return out


@pytest.mark.parametrize("loop", sorted(LOOP_FACTORIES))
@pytest.mark.parametrize("seed", range(8))
def test_a_pipelined_stream_answers_as_the_same_stream_one_by_one(loop: str, seed: int) -> None:
    rng = random.Random(seed)
    stream = random_stream(rng, 300)
    with served(loop_factory=LOOP_FACTORIES[loop]) as one_by_one:
        expected = replies_sent_one_by_one(one_by_one.port, stream)
    with served(loop_factory=LOOP_FACTORIES[loop]) as pipelined:
        assert replies_pipelined(pipelined.port, stream, rng) == expected
    assert any(reply == b"QUEUED" for reply in expected)  # transactions were opened
