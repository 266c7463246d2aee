"""WAIT (``ranet.kv.replica_wait``) over the fake backend, whose ``holding``
of its ``members`` stand for the members that hold every write: when the
server asks the backend and when it does not, the order in a pipeline,
timeouts (real time, a few hundred milliseconds), CLIENT UNBLOCK, SLOWLOG. Real
nodes: tests/kv_cluster/test_wait.py; the errors against redis-server:
test_client_flow_against_redis.py."""

from __future__ import annotations

import time

import pytest

from .fake_backend import WAIT, Served
from .test_client_flow_against_redis import END
from .test_client_reply import client_named, connect
from .test_server_abuse import server  # noqa: F401  (a fixture: asyncio's loop and uvloop's)
from .test_server_lone import hold_writes, wait_until


def test_a_connection_that_wrote_nothing_answers_the_members_at_once(server: Served) -> None:  # noqa: F811
    server.backend.members, server.backend.holding = 4, 0
    c = connect(server)
    try:
        c.send("GET k", "WAIT 9 0", "ECHO end")
        assert c.until(END) == b"$-1\r\n:4\r\n" + END
        assert server.backend.replica_waits == []
    finally:
        c.close()


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_wait_answers_once_enough_members_hold_the_writes(
    server: Served,  # noqa: F811
    resp3: bool,
) -> None:
    server.backend.holding = 0
    c = connect(server, resp3=resp3)
    try:
        c.send("SET k 1")  # alone: the lone path marks the connection as one that wrote
        assert c.until(b"+OK\r\n") == b"+OK\r\n"
        c.send("WAIT 2 0", "ECHO end")
        wait_until(server, "WAIT asks the backend", lambda: server.backend.replica_waits)
        assert server.call(lambda: client_named(server, "c").blocked)
        server.call(lambda: server.backend.hold_writes_on(2))
        assert c.until(END) == b":2\r\n" + END
        assert server.backend.replica_waits == [(2, None)]
    finally:
        c.close()


def test_wait_answers_the_count_at_its_timeout(server: Served) -> None:  # noqa: F811
    server.backend.holding = 1
    c = connect(server)
    try:
        started = time.monotonic()
        c.send("SET k 1", "WAIT 2 300", "ECHO end")
        assert c.until(END) == b"+OK\r\n:1\r\n" + END
        assert 0.3 <= time.monotonic() - started < WAIT
        assert server.backend.replica_waits == [(2, 0.3)]
    finally:
        c.close()


def test_wait_is_asked_once_the_writes_before_it_are_answered(server: Served) -> None:  # noqa: F811
    c = connect(server)
    try:
        gate = hold_writes(server)
        c.send("SET k 1", "WAIT 1 0", "ECHO end")
        wait_until(server, "the write waits", lambda: server.backend.writes)
        assert server.backend.replica_waits == []
        server.call(gate.set)
        assert c.until(END) == b"+OK\r\n:2\r\n" + END
        assert server.backend.replica_waits == [(1, None)]
    finally:
        c.close()


@pytest.mark.parametrize(
    ("reason", "reply"),
    [("TIMEOUT", b":1\r\n"), ("ERROR", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")],
)
def test_client_unblock_ends_a_wait(server: Served, reason: str, reply: bytes) -> None:  # noqa: F811
    """As Redis: TIMEOUT answers the count at that moment, ERROR the error."""
    server.backend.holding = 1
    c, other = connect(server), connect(server, "other")
    try:
        c.send("CLIENT ID", "SET k 1", "WAIT 2 0", "ECHO end")
        c_id = int(c.until(b"\r\n")[1:])
        wait_until(server, "WAIT asks the backend", lambda: server.backend.replica_waits)
        other.send(f"CLIENT UNBLOCK {c_id} {reason}")
        assert other.until(b":1\r\n") == b":1\r\n"
        assert c.until(END) == b"+OK\r\n" + reply + END
    finally:
        c.close()
        other.close()


def test_the_slow_log_leaves_a_wait_out(server: Served) -> None:  # noqa: F811
    """As a blocking command's: the time WAIT waits for members is not its own."""
    server.backend.holding = 1
    c = connect(server)
    try:
        c.send("CONFIG SET slowlog-log-slower-than 100000", "SET k 1", "WAIT 2 300")
        assert c.until(b":1\r\n") == b"+OK\r\n+OK\r\n:1\r\n"
        c.send("SLOWLOG LEN")
        assert c.until(b"\r\n") == b":0\r\n"
    finally:
        c.close()
