"""Lone commands (``ranet.kv.server``, docs/performance.md optimization 19).

A read or write that arrives alone on an idle connection - every command of
a client that does not pipeline - is called from the read callback and
answered from its call's callback, without the queue. What arrives while it
is in flight waits behind it, so the order, the protocol errors, EOF and the
timeouts behave exactly as for a pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from redis.exceptions import ResponseError

from ranet.kv import server as server_module

from .fake_backend import LOOP_FACTORIES, WAIT, Served, served
from .test_server_abuse import raw_connection, read_until_closed, talk
from .test_server_clients import COMMAND_TIMEOUT, connect


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def server(request: pytest.FixtureRequest) -> Iterator[Served]:
    with served(loop_factory=LOOP_FACTORIES[request.param], command_timeout=COMMAND_TIMEOUT) as s:
        yield s


def hold_writes(server: Served) -> asyncio.Event:
    """From now on every write waits in the backend until the returned gate is set."""
    gate: asyncio.Event = server.call(asyncio.Event)
    server.call(lambda: setattr(server.backend, "write_gate", gate))
    return gate


def wait_until(server: Served, condition: str, check: object) -> None:
    deadline = time.monotonic() + WAIT
    while not server.call(check):
        assert time.monotonic() < deadline, f"never: {condition}"
        time.sleep(0.005)


def send_held_write(server: Served, connection: socket.socket) -> asyncio.Event:
    """Send ``SET a 1`` alone and return once the backend holds it."""
    gate = hold_writes(server)
    connection.sendall(b"SET a 1\r\n")
    wait_until(server, "the backend sees the write", lambda: len(server.backend.writes) == 1)
    return gate


def queued(server: Served) -> int:
    """The commands waiting in the server's connections."""
    return sum(len(client._queue) for client in server.server.clients())


def receive(connection: socket.socket, size: int) -> bytes:
    received = b""
    while len(received) < size and (chunk := connection.recv(65536)):
        received += chunk
    return received


def test_unpipelined_reads_and_writes_skip_the_queue(
    server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[bytes] = []
    take = server_module._Client._take

    def counting_take(client: server_module._Client, argv: list[bytes]) -> None:
        queued.append(argv[0].upper())
        take(client, argv)

    monkeypatch.setattr(server_module._Client, "_take", counting_take)
    with connect(server) as client:
        for i in range(20):
            assert client.set(f"key:{i}", i) is True
            assert client.get(f"key:{i}") == str(i)
        assert client.mget("key:1", "key:2", "none") == ["1", "2", None]
        assert client.ping() is True
    assert not {b"SET", b"GET", b"MGET"} & set(queued)  # the old way: 41 of them
    assert queued[-1] == b"PING"  # a connection command still takes the queue


def test_commands_sent_while_a_lone_write_waits_run_after_it(server: Served) -> None:
    with raw_connection(server) as connection:
        gate = send_held_write(server, connection)
        connection.sendall(b"GET a\r\n")  # alone too, yet it must wait
        wait_until(server, "the read queues", lambda: queued(server) == 1)
        connection.sendall(b"PING\r\nGET a\r\n")
        wait_until(server, "all queue", lambda: queued(server) == 3)
        server.call(gate.set)
        expected = b"+OK\r\n$1\r\n1\r\n+PONG\r\n$1\r\n1\r\n"
        assert receive(connection, len(expected)) == expected


def test_a_half_close_while_a_lone_write_waits_answers_it_then_closes(server: Served) -> None:
    with raw_connection(server) as connection:
        gate = send_held_write(server, connection)
        connection.shutdown(socket.SHUT_WR)
        server.call(gate.set)
        assert read_until_closed(connection) == b"+OK\r\n"


def test_garbage_after_a_lone_write_is_reported_after_its_reply(server: Served) -> None:
    with raw_connection(server) as connection:
        gate = send_held_write(server, connection)
        connection.sendall(b"*1\r\n:5\r\n")
        server.call(gate.set)
        assert read_until_closed(connection) == (
            b"+OK\r\n-ERR Protocol error: expected '$', got ':'\r\n"
        )


def test_garbage_in_the_same_read_as_a_lone_command_is_reported_after_its_reply(
    server: Served,
) -> None:
    assert talk(server, b"SET a 1\r\n*1\r\n:5\r\n") == (
        b"+OK\r\n-ERR Protocol error: expected '$', got ':'\r\n"
    )


def test_a_client_gone_during_a_lone_write_cancels_its_call(
    server: Served, caplog: pytest.LogCaptureFixture
) -> None:
    with raw_connection(server) as connection:
        send_held_write(server, connection)
    wait_until(server, "the write is cancelled", lambda: server.backend.cancelled_writes == 1)
    wait_until(server, "the connection is gone", lambda: not server.server.clients())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_lone_commands_time_out_and_a_late_ending_answers_nothing(
    server: Served, caplog: pytest.LogCaptureFixture
) -> None:
    with connect(server) as client:
        server.call(lambda: setattr(server.backend, "hang_writes", True))
        with pytest.raises(ResponseError, match=r"^TIMEOUT the command's outcome is unknown: no"):
            client.set("a", 1)
        # the timed-out write is cancelled as the next command runs; its end is ignored
        assert client.get("a") is None
        server.call(lambda: setattr(server.backend, "hang", True))
        with pytest.raises(ResponseError, match=r"^TIMEOUT the read did not complete: no reply"):
            client.get("a")
        server.call(lambda: setattr(server.backend, "hang", False))
        server.call(lambda: setattr(server.backend, "hang_writes", False))
        assert client.set("a", 2) is True
        assert client.get("a") == "2"
    assert server.call(lambda: server.backend.cancelled_writes) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
