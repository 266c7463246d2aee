"""CLIENT REPLY (``ranet.kv.client_reply``) where ranet's server has more to
get right than Redis's: a lone command, the replies of commands still in
flight when OFF is taken, MONITOR's lines, QUIT. The replies themselves are
compared with redis-server in test_client_flow_against_redis.py."""

from __future__ import annotations

import time

from .fake_backend import WAIT, Served
from .test_client_flow_against_redis import END, Wire
from .test_server_abuse import server  # noqa: F401  (a fixture: asyncio's loop and uvloop's)
from .test_server_lone import hold_writes, wait_until


def connect(server: Served, name: str = "c", *, resp3: bool = False) -> Wire:  # noqa: F811
    return Wire(("127.0.0.1", server.port), name, resp3=resp3)


def client_named(server: Served, name: str) -> object:  # noqa: F811
    return next(c for c in server.server.clients() if c.name == name.encode())


def test_a_lone_command_with_replies_off_writes_no_reply(server: Served) -> None:  # noqa: F811
    c = connect(server)
    try:
        c.send("CLIENT REPLY OFF")
        wait_until(server, "replies are off", lambda: client_named(server, "c").reply_mode)
        c.send("SET a 1")  # alone on an idle connection: the lone path, were replies on
        wait_until(
            server, "the write is applied", lambda: server.backend.store.read([b"GET", b"a"])
        )
        c.send("CLIENT REPLY ON", "ECHO end")
        assert c.until(END) == b"+OK\r\n" + END
    finally:
        c.close()


def test_replies_of_commands_taken_before_off_are_sent(server: Served) -> None:  # noqa: F811
    """Rule 1: SET a, still in the log when OFF is taken, is answered; SET
    b, taken after, is not - though both end together."""
    c = connect(server)
    try:
        gate = hold_writes(server)
        c.send("SET a 1", "CLIENT REPLY OFF", "SET b 2", "CLIENT REPLY ON", "GET b", "ECHO end")
        wait_until(server, "both writes wait", lambda: len(server.backend.writes) == 2)
        server.call(gate.set)
        assert c.until(END) == b"+OK\r\n+OK\r\n$1\r\n2\r\n$3\r\nend\r\n"
    finally:
        c.close()


def test_a_skipped_write_runs_alone_between_the_writes_around_it(server: Served) -> None:  # noqa: F811
    """A pipeline's writes share a log command; the one whose reply is
    skipped is sent by itself, so that the replies of the others are kept."""
    c = connect(server)
    try:
        c.send("SET x 1", "SET y 1", "CLIENT REPLY SKIP", "SET y 2", "SET z 3", "INCR z")
        c.send("ECHO end")
        assert c.until(END) == b"+OK\r\n+OK\r\n+OK\r\n:4\r\n$3\r\nend\r\n"
        assert [argv for argv, _ in server.backend.writes] == [
            [b"SET", b"x", b"1"],
            [b"SET", b"y", b"1"],
            [b"SET", b"y", b"2"],
            [b"SET", b"z", b"3"],
            [b"INCR", b"z"],
        ]
        assert server.backend.largest_write == 2  # x and y together; z and INCR z together
    finally:
        c.close()


def test_monitor_lines_are_dropped_while_replies_are_off(server: Served) -> None:  # noqa: F811
    monitor, c = connect(server, "m"), connect(server)
    try:
        monitor.send("MONITOR", "CLIENT REPLY OFF")
        assert monitor.until(b"+OK\r\n") == b"+OK\r\n"
        wait_until(server, "replies are off", lambda: client_named(server, "m").reply_mode)
        c.send("SET hidden 1")
        c.until(b"+OK\r\n")
        monitor.send("CLIENT REPLY ON")
        assert monitor.until(b"+OK\r\n") == b"+OK\r\n"
        c.send("SET shown 1")
        c.until(b"+OK\r\n")
        lines = monitor.until(b'"shown" "1"\r\n')
        assert b"hidden" not in lines
    finally:
        monitor.close()
        c.close()


def test_quit_with_replies_off_closes_the_connection(server: Served) -> None:  # noqa: F811
    """Redis 7.0 keeps the connection open, reading nothing more (its reply
    was to trigger the close); ranet closes it, without the reply."""
    c = connect(server)
    try:
        c.send("CLIENT REPLY OFF", "QUIT", "PING")
        c.socket.settimeout(WAIT)
        started = time.monotonic()
        assert c.socket.recv(1 << 16) == b""
        assert time.monotonic() - started < WAIT
    finally:
        c.close()
