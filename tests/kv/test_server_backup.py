"""RAFT.BACKUP over the wire: the backend's snapshot parts reach the client as
one bulk string, written part by part as the client reads (never joined into
one more copy, never piled up in the server's memory)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from ranet.errors import NotLeader

from .fake_backend import LOOP_FACTORIES, WAIT, Served, served
from .test_server_abuse import raw_connection

PART = 256 << 10


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def server(request: pytest.FixtureRequest) -> Iterator[Served]:
    with served(loop_factory=LOOP_FACTORIES[request.param]) as s:
        yield s


def test_the_parts_arrive_as_one_bulk_string_in_either_protocol(server: Served) -> None:
    server.backend.backup_parts = [b"head", b"", bytes(range(256)) * 1000, b"tail\r\n"]
    expected = b"".join(server.backend.backup_parts)
    for protocol in (2, 3):
        with redis.Redis(port=server.port, protocol=protocol, socket_timeout=WAIT) as client:
            assert client.execute_command("RAFT.BACKUP") == expected
            assert client.ping()  # the connection goes on after the bulk string


def test_a_slow_reader_gets_every_byte_and_the_server_buffers_little(server: Served) -> None:
    parts = [bytes([n]) * PART for n in range(64)]  # 16 MiB
    server.backend.backup_parts = parts

    def buffered() -> int:
        return max(
            (c._transport.get_write_buffer_size() for c in server.server.clients()), default=0
        )

    with raw_connection(server) as connection:
        connection.sendall(b"RAFT.BACKUP\r\nPING\r\n")
        deadline = time.monotonic() + WAIT
        while server.call(buffered) == 0:  # until the kernel's buffers are full
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert server.call(buffered) < 2 * PART  # a slice at a time, not the whole
        expected = b"$%d\r\n%s\r\n+PONG\r\n" % (len(parts) * PART, b"".join(parts))
        received = bytearray()
        while len(received) < len(expected):
            chunk = connection.recv(1 << 20)
            assert chunk, "closed early"
            received += chunk
    assert received == expected


def test_no_leader_is_a_retryable_error(server: Served) -> None:
    server.backend.failure = NotLeader(None)
    with (
        redis.Redis(port=server.port, socket_timeout=WAIT) as client,
        pytest.raises(redis.exceptions.TryAgainError),
    ):
        client.execute_command("RAFT.BACKUP")


def test_arguments_are_refused(server: Served) -> None:
    with (
        redis.Redis(port=server.port, socket_timeout=WAIT) as client,
        pytest.raises(redis.ResponseError, match="wrong number of arguments"),
    ):
        client.execute_command("RAFT.BACKUP", "now")
