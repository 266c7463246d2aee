"""CLIENT PAUSE and UNPAUSE (``ranet.kv.client_pause``) where ranet's server
has more to get right than Redis's: pauses that end by their own clock (a
few hundred milliseconds, real time), a lone command, a held connection
that closes or keeps sending, RANET.EXEC. What is held and the replies'
order are compared with redis-server in test_client_flow_against_redis.py."""

from __future__ import annotations

import re
import threading
import time

import pytest

from ranet.kv import server as server_module
from ranet.kv.client_pause import may_write
from ranet.kv.command_spec import CommandSpec
from ranet.kv.commands import resolve

from .fake_backend import WAIT, Served
from .test_client_flow_against_redis import END, FIRST
from .test_client_reply import client_named, connect
from .test_server_abuse import server  # noqa: F401  (a fixture: asyncio's loop and uvloop's)
from .test_server_lone import wait_until

PAUSE_S = 0.3


def held(server: Served, name: str) -> bool:  # noqa: F811
    return server.call(lambda: client_named(server, name).held)


def pause(server: Served, *arguments: str) -> None:  # noqa: F811
    admin = connect(server, "admin")
    try:
        admin.send(["CLIENT", "PAUSE", *arguments])
        assert admin.until(b"+OK\r\n") == b"+OK\r\n"
    finally:
        admin.close()


def test_a_pause_ends_by_itself_and_the_held_commands_run_in_order(server: Served) -> None:  # noqa: F811
    c = connect(server)
    try:
        started = time.monotonic()
        pause(server, str(int(PAUSE_S * 1000)), "WRITE")
        c.send("ECHO first", "SET k 1", "GET k", "ECHO end")
        assert c.until(FIRST) == FIRST
        assert c.until(END) == b"+OK\r\n$1\r\n1\r\n" + END
        assert PAUSE_S <= time.monotonic() - started < WAIT
        assert server.call(lambda: server.server.pause) is None
    finally:
        c.close()


@pytest.mark.parametrize(("first", "then"), [("100", "600"), ("600", "100")])
def test_a_later_pause_only_extends(server: Served, first: str, then: str) -> None:  # noqa: F811
    c = connect(server)
    try:
        started = time.monotonic()
        pause(server, first, "WRITE")
        pause(server, then, "WRITE")
        c.send("SET k 1", "ECHO end")
        assert c.until(END) == b"+OK\r\n" + END
        assert 0.6 <= time.monotonic() - started < WAIT
    finally:
        c.close()


def test_a_lone_command_is_held_by_all(server: Served) -> None:  # noqa: F811
    c = connect(server)
    try:
        started = time.monotonic()
        pause(server, str(int(PAUSE_S * 1000)))
        c.send("GET k")  # alone on an idle connection: the lone path, were there no pause
        wait_until(server, "the read is held", lambda: client_named(server, "c").held)
        assert server.backend.reads == []
        assert c.until(b"$-1\r\n") == b"$-1\r\n"
        assert PAUSE_S <= time.monotonic() - started < WAIT
    finally:
        c.close()


def test_a_held_connection_that_closes_is_forgotten(server: Served) -> None:  # noqa: F811
    c = connect(server)
    pause(server, "10000", "WRITE")
    c.send("SET gone 1", "GET gone")
    wait_until(server, "the write is held", lambda: client_named(server, "c").held)
    c.close()
    wait_until(server, "the pause forgets it", lambda: not server.server.pause.held)
    pause_ended = connect(server, "admin")
    try:
        pause_ended.send("CLIENT UNPAUSE", "GET gone")
        assert pause_ended.until(b"$-1\r\n") == b"+OK\r\n$-1\r\n"
        assert server.backend.writes == []
    finally:
        pause_ended.close()


def test_a_held_connection_reads_no_more_than_its_backlog(server: Served) -> None:  # noqa: F811
    """Rule 4: behind a held command the connection's reading pauses, as a
    client that does not read its replies makes it pause, at the server's
    limit of unanswered commands."""
    c = connect(server)
    try:
        pause(server, "10000", "WRITE")
        command = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        count = 4 * server_module._MAX_QUEUED_BYTES // len(command)
        sender = threading.Thread(target=c.socket.sendall, args=(command * count,))
        sender.start()
        wait_until(server, "it stops reading", lambda: client_named(server, "c")._reading_paused)
        queued = server.call(lambda: len(client_named(server, "c")._queue))
        assert queued * len(command) <= 2 * server_module._MAX_QUEUED_BYTES
        unpause = connect(server, "admin")
        unpause.send("CLIENT UNPAUSE")
        unpause.until(b"+OK\r\n")
        unpause.close()
        replies = c.buffer
        while replies.count(b"+OK\r\n") < count:
            replies += c.socket.recv(1 << 16)
        sender.join(WAIT)
        assert not sender.is_alive()
        assert len(server.backend.writes) == count
    finally:
        c.close()


def test_a_held_connection_shows_as_blocked_but_is_not_unblocked(server: Served) -> None:  # noqa: F811
    c, admin = connect(server), connect(server, "admin")
    try:
        pause(server, "10000", "WRITE")
        c.send("CLIENT ID", "SET k 1", "ECHO end")
        c_id = int(c.until(b"\r\n")[1:])
        wait_until(server, "the write is held", lambda: client_named(server, "c").held)
        admin.send("CLIENT LIST", "INFO clients", f"CLIENT UNBLOCK {c_id}", "ECHO end")
        listed = admin.until(END)
        flags = re.search(rb"name=c .*? flags=(\S+)", listed)
        assert flags is not None and flags[1] == b"b"
        assert b"blocked_clients:1\r\n" in listed and listed.endswith(b":0\r\n" + END)
        admin.send("CLIENT UNPAUSE")
        admin.until(b"+OK\r\n")
        assert c.until(END) == b"+OK\r\n" + END
    finally:
        c.close()
        admin.close()


@pytest.mark.parametrize(
    ("command", "held_by_write"),
    [("RANET.EXEC 7 1 SET k 1", True), ("RANET.EXEC 7 2 GET k", False)],
)
def test_ranet_exec_is_held_as_the_command_it_runs(
    server: Served,  # noqa: F811
    command: str,
    held_by_write: bool,
) -> None:
    c = connect(server)
    try:
        pause(server, "10000", "WRITE")
        c.send(command, "ECHO end")
        if held_by_write:
            wait_until(server, "it is held", lambda: client_named(server, "c").held)
            assert server.backend.writes == []
            unpause = connect(server, "admin")
            unpause.send("CLIENT UNPAUSE")
            unpause.until(b"+OK\r\n")
            unpause.close()
        assert c.until(END).endswith(END)
        assert not held(server, "c")
    finally:
        c.close()


def test_pause_write_holds_migrate_as_redis_flags_it_write() -> None:
    """MIGRATE deletes what it moves: Redis flags it ``write``, so a WRITE
    pause holds it - though it is a command the node runs itself."""
    migrate = [b"MIGRATE", b"127.0.0.1", b"1", b"k", b"0", b"10"]
    assert may_write(_resolved(migrate), migrate, lambda _: None, [])
    read = [b"OBJECT", b"ENCODING", b"k"]
    assert not may_write(_resolved(read), read, lambda _: None, [])


def _resolved(argv: list[bytes]) -> CommandSpec:
    spec = resolve(argv)
    assert isinstance(spec, CommandSpec)
    return spec
