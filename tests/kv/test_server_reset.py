"""RESET: a connection back to a new one's state, as Redis 7.0 does it -
compared with redis-server command by command, and, with a password, back
to not authenticated."""

from __future__ import annotations

import socket
from pathlib import Path

import hiredis
import redis

from ranet.client.connection import encode_command

from .fake_backend import WAIT, served
from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    pytestmark,
    redis_server,
)

# One connection, RESP2 at first; every command reads one reply.
SCRIPT = """
SET a 1
MULTI
SET b 2
RESET
EXEC
EXISTS b
WATCH a
RESET
MULTI
SET a 3
EXEC
CLIENT SETNAME worker
RESET
CLIENT GETNAME
HELLO 3
RESET
HSET h f v
HGETALL h
RESET
SUBSCRIBE news
RESET
GET a
PSUBSCRIBE n*
SSUBSCRIBE s
RESET
PING
RESET extra
"""


def _replies(connection: redis.connection.AbstractConnection) -> list[str]:
    out = []
    for line in SCRIPT.strip().splitlines():
        connection.send_command(*line.split())
        try:
            reply = connection.read_response(push_request=True)
        except redis.ResponseError as error:
            reply = f"error: {error}"
        if line.startswith("HELLO"):
            reply = "hello"  # the servers name themselves differently
        out.append(f"{line} -> {reply!r}")
    return out


def test_reset_answers_as_redis_does(redis_server: Path) -> None:  # noqa: F811
    redis.Redis(unix_socket_path=str(redis_server)).flushall()
    reference = redis.connection.UnixDomainSocketConnection(path=str(redis_server))
    expected = _replies(reference)
    reference.disconnect()
    with served() as server:
        ours = redis.connection.Connection(host="127.0.0.1", port=server.port)
        got = _replies(ours)
        ours.disconnect()
    for want, have in zip(expected, got, strict=True):
        assert have == want


def test_reset_takes_the_authentication_back() -> None:
    """With a password, RESET leaves the connection unauthenticated (a raw
    socket: redis-py would send HELLO or CLIENT SETINFO first)."""
    with served(password=b"secret") as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        reader = hiredis.Reader()

        def ask(*argv: str) -> object:
            sock.sendall(encode_command([arg.encode() for arg in argv]))
            while (reply := reader.gets()) is False:
                reader.feed(sock.recv(65536))
            return reply

        assert ask("RESET") == b"RESET"  # allowed before AUTH, as in Redis
        assert ask("AUTH", "secret") == b"OK"
        assert ask("SET", "k", "v") == b"OK"
        assert ask("RESET") == b"RESET"
        refused = ask("GET", "k")
        assert isinstance(refused, hiredis.ReplyError) and str(refused).startswith("NOAUTH")
        assert ask("AUTH", "secret") == b"OK" and ask("GET", "k") == b"v"
        sock.close()
