"""Bad clients on raw sockets: each gets Redis's protocol error and is hung up on,
while a well-behaved redis-py client on the same server keeps working.

Also what netcat and telnet users do: inline commands, a half-closed socket,
QUIT; and a client that sends commands but never reads the replies.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator

import pytest
import redis

from .fake_backend import LOOP_FACTORIES, LOOPBACK, WAIT, Served, served


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def server(request: pytest.FixtureRequest) -> Iterator[Served]:
    with served(loop_factory=LOOP_FACTORIES[request.param]) as s:
        yield s


@pytest.fixture
def bystander(server: Served) -> Iterator[redis.Redis]:
    """A well-behaved client, connected before the attack and used after it."""
    with redis.Redis(host=LOOPBACK, port=server.port, socket_timeout=WAIT) as client:
        client.set("bystander", "ok")
        yield client


def raw_connection(server: Served) -> socket.socket:
    return socket.create_connection((LOOPBACK, server.port), timeout=WAIT)


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (within ``WAIT``)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def talk(server: Served, data: bytes) -> bytes:
    """Send ``data`` on a new connection, keep it open, return all the server says."""
    with raw_connection(server) as connection:
        connection.sendall(data)
        return read_until_closed(connection)


ATTACKS = {
    "an integer where a bulk string belongs": (b"*2\r\n:1\r\n", "expected '$', got ':'"),
    "a nested array": (b"*1\r\n*1\r\n$1\r\na\r\n", "expected '$', got '*'"),
    # refused on the header: the 10 GB are never sent, and the server does not wait for them
    "an enormous bulk length": (b"*2\r\n$3\r\nSET\r\n$10737418240\r\n", "invalid bulk length"),
    "an enormous argument count": (b"*4294967296\r\n", "invalid multibulk length"),
    "a header that never ends": (b"*" + b"7" * 100, "invalid multibulk length"),
    "an endless inline line": (b"x" * (64 << 10), "too big inline request"),
    "unbalanced quotes": (b'SET "a 1\r\n', "unbalanced quotes in request"),
    "a bulk string longer than announced": (
        b"*1\r\n$1\r\nPING\r\n",
        "bulk string not followed by CRLF",
    ),
}


@pytest.mark.parametrize(("data", "error"), ATTACKS.values(), ids=ATTACKS.keys())
def test_garbage_gets_a_protocol_error_and_a_hang_up(
    server: Served, bystander: redis.Redis, data: bytes, error: str
) -> None:
    assert talk(server, data) == f"-ERR Protocol error: {error}\r\n".encode()
    assert bystander.get("bystander") == b"ok"
    assert bystander.incr("counter") == 1


def test_random_bytes(server: Served, bystander: redis.Redis) -> None:
    replies = talk(server, random.Random(1).randbytes(4096)).splitlines()
    assert replies[-1].startswith(b"-ERR Protocol error: ")
    assert bystander.get("bystander") == b"ok"


def test_the_commands_before_the_garbage_are_answered_first(server: Served) -> None:
    good = b"PING\r\n*1\r\n$4\r\nPING\r\nECHO hi\r\n"
    assert talk(server, good + b"*1\r\n:5\r\n*1\r\n$4\r\nPING\r\n") == (
        b"+PONG\r\n+PONG\r\n$2\r\nhi\r\n-ERR Protocol error: expected '$', got ':'\r\n"
    )


def test_an_http_request_is_hung_up_on_without_running_its_body(
    server: Served, bystander: redis.Redis
) -> None:
    request = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nSET bystander hacked\r\n"
    assert talk(server, request) == b""
    assert bystander.get("bystander") == b"ok"


def test_inline_commands_as_telnet_sends_them(server: Served) -> None:
    with raw_connection(server) as connection:
        connection.sendall(b'set greeting "hello world"\r\nget greeting\r\nping hi\nPING\r\n')
        expected = b"+OK\r\n$11\r\nhello world\r\n$2\r\nhi\r\n+PONG\r\n"
        received = b""
        while len(received) < len(expected):
            received += connection.recv(65536)
        assert received == expected


def test_a_half_closed_connection_gets_its_replies(server: Served) -> None:
    with raw_connection(server) as connection:
        connection.sendall(b"PING\r\nGET missing\r\n")
        connection.shutdown(socket.SHUT_WR)  # as "printf 'PING\r\n' | nc" does
        assert read_until_closed(connection) == b"+PONG\r\n$-1\r\n"


def test_quit_answers_then_closes(server: Served) -> None:
    assert talk(server, b"PING\r\nQUIT\r\nPING\r\n") == b"+PONG\r\n+OK\r\n"


def test_a_client_that_does_not_read_its_replies(server: Served, bystander: redis.Redis) -> None:
    """Back-pressure: its replies wait in the kernel, not in the server's memory."""
    bystander.set("big", b"x" * (1 << 20))

    def buffered() -> int:
        return max(c._transport.get_write_buffer_size() for c in server.server.clients())

    with raw_connection(server) as greedy:
        greedy.sendall(b"GET big\r\n" * 500)  # half a gigabyte of replies, never read
        deadline = time.monotonic() + WAIT
        while server.call(buffered) == 0:  # until the kernel's buffers are full
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert bystander.get("bystander") == b"ok"
        assert server.call(buffered) < 4 << 20
    assert bystander.incr("counter") == 1


def test_reads_around_hello_3_in_one_pipeline_answer_in_each_ones_protocol(
    server: Served,
) -> None:
    """A null reads ``$-1`` before HELLO 3 and ``_`` after it, though the reads
    around it are sent together (Rule 1: the protocol in force when each ran)."""
    with raw_connection(server) as connection:
        connection.sendall(b"GET none\r\nGET none\r\nHELLO 3\r\nGET none\r\nGET none\r\nQUIT\r\n")
        received = read_until_closed(connection)
    before, rest = received.split(b"%", 1)  # HELLO 3's reply is a RESP3 map
    assert before == b"$-1\r\n$-1\r\n"
    assert rest.endswith(b"_\r\n_\r\n+OK\r\n")


def test_a_backend_giving_too_few_read_replies_fails_those_reads_only(
    server: Served, bystander: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken backend must not shift replies onto the wrong commands."""
    backend = server.backend
    real_read = backend.read

    async def short_read(argvs: list[list[bytes]], *, stale: bool) -> list[object]:
        return (await real_read(argvs, stale=stale))[:-1]

    monkeypatch.setattr(backend, "read", short_read)
    with raw_connection(server) as connection:
        connection.sendall(b"GET bystander\r\nGET bystander\r\nPING\r\nQUIT\r\n")
        received = read_until_closed(connection)
    failure = b"-ERR internal error: the backend's replies do not match the commands\r\n"
    assert received == failure * 2 + b"+PONG\r\n+OK\r\n"
    monkeypatch.undo()
    assert bystander.get("bystander") == b"ok"
