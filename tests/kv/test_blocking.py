"""Blocking pops in the RESP server (kv/blocking.py) over the fake backend:
a waiting client writes nothing to the log until there is something to
take, wakes on the change, times out with null, waits alone on its
connection, and leaves nothing behind when it goes. Replies and errors are
compared with redis-server in test_against_redis.py; on a real cluster in
tests/kv_cluster/test_blocking.py."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from zlib import crc32

import redis

from ranet.kv.keyspace import VERSION_SLOTS

from .fake_backend import WAIT, Served, served

BLOCKING_NAMES = {b"BLPOP", b"BRPOP", b"BLMOVE", b"BZPOPMIN"}


def blocking_writes(server: Served) -> list[list[bytes]]:
    """The blocking commands that went to the backend as writes (the log)."""
    return server.call(
        lambda: [argv for argv, _ in server.backend.writes if argv[0].upper() in BLOCKING_NAMES]
    )


def eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def in_background(function: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run ``function`` on a thread; its result, or the error it raised, lands in the list."""
    result: list[object] = []

    def run() -> None:
        try:
            result.append(function())
        except redis.RedisError as error:
            result.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def client(server: Served) -> redis.Redis:
    return redis.Redis("127.0.0.1", server.port, socket_timeout=WAIT, retry=None)


def test_a_waiting_client_writes_nothing_until_a_push_wakes_it() -> None:
    with served() as server:
        waiter, result = in_background(lambda: client(server).blpop(["jobs"], timeout=0))
        eventually(lambda: bool(server.call(lambda: server.backend.watchers)))
        time.sleep(0.1)
        assert waiter.is_alive() and blocking_writes(server) == []
        client(server).rpush("jobs", "job-1")
        waiter.join(WAIT)
        assert result == [(b"jobs", b"job-1")]
        assert blocking_writes(server) == [[b"BLPOP", b"jobs", b"0"]]  # one entry: the take
        assert client(server).exists("jobs") == 0


def test_a_change_to_another_key_of_the_slot_wakes_but_takes_nothing() -> None:
    """Versions count per slot: a write to a neighbour wakes the waiter, which
    looks locally, finds nothing and waits on - without a log entry."""
    slot = crc32(b"jobs") % VERSION_SLOTS
    neighbour = next(
        key for i in range(10**6) if crc32(key := b"other-%d" % i) % VERSION_SLOTS == slot
    )
    with served() as server:
        waiter, result = in_background(lambda: client(server).brpop(["jobs"], timeout=0))
        eventually(lambda: bool(server.call(lambda: server.backend.watchers)))
        reads_before = server.call(lambda: len(server.backend.reads))
        client(server).set(neighbour, "x")
        eventually(lambda: server.call(lambda: len(server.backend.reads)) > reads_before)
        assert waiter.is_alive() and blocking_writes(server) == []
        client(server).rpush("jobs", "a")
        waiter.join(WAIT)
        assert result == [(b"jobs", b"a")]


def test_the_timeout_answers_null() -> None:
    with served() as server:
        started = time.monotonic()
        assert client(server).blpop(["nothing"], timeout=0.2) is None
        assert 0.15 <= time.monotonic() - started < WAIT
        assert client(server).bzpopmin(["nothing"], timeout=0.05) is None
        assert blocking_writes(server) == []


def test_two_waiters_share_the_pushes_without_loss_or_duplicate() -> None:
    with served() as server:
        waiters = [in_background(lambda: client(server).blpop(["q"], timeout=0)) for _ in range(2)]
        eventually(lambda: len(server.call(lambda: server.backend.watchers)) == 2)
        client(server).rpush("q", "one")
        eventually(lambda: sum(not thread.is_alive() for thread, _ in waiters) == 1)
        time.sleep(0.1)
        assert sum(thread.is_alive() for thread, _ in waiters) == 1  # the other waits on
        client(server).rpush("q", "two")
        for thread, _ in waiters:
            thread.join(WAIT)
        assert sorted(result[0] for _, result in waiters) == [(b"q", b"one"), (b"q", b"two")]


def test_nothing_pipelined_after_a_blocking_command_runs_before_it_ends() -> None:
    """As in Redis: a blocked client's later commands wait for it."""
    with served() as server:
        connection = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        with connection:
            connection.sendall(
                b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n"
            )
            eventually(lambda: bool(server.call(lambda: server.backend.watchers)))
            time.sleep(0.1)
            assert client(server).get("after") is None
            client(server).rpush("q", "x")
            received = b""
            while not received.endswith(b"+OK\r\n"):
                received += connection.recv(1024)
            assert received == b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n+OK\r\n"
        assert client(server).get("after") == b"1"


def test_a_client_that_leaves_while_waiting_takes_nothing_later() -> None:
    with served() as server:
        connection = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        connection.sendall(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
        eventually(lambda: bool(server.call(lambda: server.backend.watchers)))
        connection.close()
        eventually(  # its wait is cancelled: dropped from the list at the next apply
            lambda: server.call(lambda: all(w.cancelled() for _, _, w in server.backend.watchers))
        )
        client(server).rpush("q", "kept")
        time.sleep(0.1)
        assert client(server).lrange("q", 0, -1) == [b"kept"]
        assert blocking_writes(server) == []


def test_inside_multi_a_blocking_command_does_not_wait() -> None:
    with served() as server, client(server).pipeline(transaction=True) as pipe:
        pipe.blpop(["nothing"], timeout=0).rpush("q", "x").brpop(["q"], timeout=0)
        assert pipe.execute() == [None, 1, (b"q", b"x")]


def test_a_server_stopping_ends_its_waiting_clients() -> None:
    with served() as server:
        waiter, result = in_background(lambda: client(server).blpop(["q"], timeout=0))
        eventually(lambda: bool(server.call(lambda: server.backend.watchers)))
    waiter.join(WAIT)
    assert not waiter.is_alive()
    assert len(result) == 1 and isinstance(result[0], redis.ConnectionError)


def test_info_and_client_list_show_a_waiting_client() -> None:
    with served() as server:
        waiter, _ = in_background(lambda: client(server).blpop(["q"], timeout=0))
        eventually(lambda: bool(server.call(lambda: server.backend.watchers)))
        observer = client(server)
        assert observer.info("clients")["blocked_clients"] == 1
        flags = {entry["cmd"]: entry["flags"] for entry in observer.client_list()}
        assert "b" in flags["blpop"]
        observer.rpush("q", "x")
        waiter.join(WAIT)
        assert observer.info("clients")["blocked_clients"] == 0


def test_an_unblocked_client_takes_nothing_later_and_waits_no_more() -> None:
    """CLIENT UNBLOCK ends the wait itself: the client's take is not left
    behind to fire at the next push, and its watch is dropped."""
    with served() as server:
        waiter = client(server)
        waiter_id = waiter.client_id()
        thread, result = in_background(lambda: waiter.blpop(["q"], timeout=0))
        eventually(lambda: bool(server.call(lambda: server.backend.watchers)))
        assert client(server).client_unblock(waiter_id) is True
        thread.join(WAIT)
        assert result == [None]
        eventually(
            lambda: server.call(lambda: all(w.cancelled() for _, _, w in server.backend.watchers))
        )
        client(server).rpush("q", "kept")
        time.sleep(0.1)
        assert client(server).lrange("q", 0, -1) == [b"kept"]
        assert blocking_writes(server) == []
        assert client(server).client_unblock(waiter_id) is False  # not waiting any more
