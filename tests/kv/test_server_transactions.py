"""MULTI / EXEC / DISCARD / WATCH / UNWATCH through the RESP server (``transaction.py``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis

from ranet.errors import NotLeader
from ranet.kv.resp import RequestLimits

from .fake_backend import Served, served
from .test_server_abuse import raw_connection
from .test_server_clients import client, connect, server

__all__ = ["client", "server"]  # fixtures


def command(*args: str) -> bytes:
    """``args`` as one RESP request."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        parts.append(f"${len(arg.encode())}\r\n{arg}\r\n".encode())
    return b"".join(parts)


def replies(connection: socket.socket, expected_end: bytes) -> bytes:
    """What the server sends until it has sent ``expected_end``."""
    received = b""
    while not received.endswith(expected_end):
        chunk = connection.recv(65536)
        assert chunk, f"closed after {received!r}"
        received += chunk
    return received


@pytest.fixture
def connection(client: redis.Redis) -> Iterator[redis.connection.Connection]:
    """A connection like ``client``'s, without redis-py's reply conversions
    (which turn SET's ``QUEUED`` into False)."""
    connection = redis.connection.Connection(**client.connection_pool.connection_kwargs)
    try:
        yield connection
    finally:
        connection.disconnect()


def send(connection: redis.connection.Connection, *args: str) -> object:
    """One command's reply, as the server sent it; an error reply raises."""
    connection.send_command(*args)
    return connection.read_response()


@pytest.fixture
def raw(server: Served) -> Iterator[socket.socket]:
    with raw_connection(server) as connection:
        yield connection


def test_redis_py_transactional_pipeline_is_one_backend_call(
    server: Served, client: redis.Redis
) -> None:
    with client.pipeline() as pipe:  # transaction=True: MULTI ... EXEC
        pipe.set("a", 1).incr("a").get("a").get("missing")
        assert pipe.execute() == [True, 2, "2", None]
    assert [commands for commands, _ in server.backend.transactions] == [
        [[b"SET", b"a", b"1"], [b"INCRBY", b"a", b"1"], [b"GET", b"a"], [b"GET", b"missing"]]
    ]
    assert server.backend.writes == []  # nothing ran outside the transaction
    with client.pipeline() as pipe:
        pipe.get("a").mget("a", "b")
        assert pipe.execute() == ["2", ["2", None]]


def test_errors_are_worded_as_redis_words_them(connection: redis.connection.Connection) -> None:
    for args, message in [
        (("EXEC",), "EXEC without MULTI"),
        (("DISCARD",), "DISCARD without MULTI"),
    ]:
        with pytest.raises(redis.ResponseError, match=message):
            send(connection, *args)
    send(connection, "MULTI")
    with pytest.raises(redis.ResponseError, match="MULTI calls can not be nested"):
        send(connection, "MULTI")
    with pytest.raises(redis.ResponseError, match="WATCH inside MULTI is not allowed"):
        send(connection, "WATCH", "k")
    assert send(connection, "SET", "k", "v") == "QUEUED"
    assert send(connection, "EXEC") == ["OK"]  # neither error doomed it


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (("SET", "k"), "wrong number of arguments for 'set' command"),
        (("NOSUCH", "x"), "unknown command 'NOSUCH'"),
        (("SUBSCRIBE", "news"), "Command not allowed inside a transaction"),
    ],
)
def test_a_command_refused_while_queuing_aborts_the_transaction(
    server: Served,
    client: redis.Redis,
    connection: redis.connection.Connection,
    bad: tuple[str, ...],
    message: str,
) -> None:
    send(connection, "MULTI")
    assert send(connection, "SET", "k", "1") == "QUEUED"
    with pytest.raises(redis.ResponseError, match=message):
        send(connection, *bad)
    with pytest.raises(redis.ResponseError, match="Transaction discarded because of previous"):
        send(connection, "EXEC")
    assert server.backend.transactions == [] and client.get("k") is None
    assert send(connection, "MULTI") == "OK"  # the connection is usable again
    assert send(connection, "DISCARD") == "OK"


def test_client_list_flags_a_connection_inside_multi(
    client: redis.Redis, connection: redis.connection.Connection
) -> None:
    send(connection, "MULTI")
    lines = client.execute_command("CLIENT", "LIST").splitlines()
    assert sum(" flags=x " in line for line in lines) == 1
    send(connection, "DISCARD")
    lines = client.execute_command("CLIENT", "LIST").splitlines()
    assert all(" flags=N " in line for line in lines)


def test_discard_drops_the_queued_commands(
    server: Served, client: redis.Redis, connection: redis.connection.Connection
) -> None:
    send(connection, "MULTI")
    send(connection, "SET", "k", "1")
    assert send(connection, "DISCARD") == "OK"
    assert client.get("k") is None and server.backend.transactions == []


def test_a_command_sent_alone_after_multi_is_queued_not_run(
    server: Served, raw: socket.socket
) -> None:
    """Each of these arrives alone on an idle connection: the lone path must
    still see that a transaction is open."""
    for request, expected in [
        (command("MULTI"), b"+OK\r\n"),
        (command("SET", "k", "1"), b"+QUEUED\r\n"),
        (command("GET", "k"), b"+QUEUED\r\n"),
    ]:
        raw.sendall(request)
        assert replies(raw, b"\r\n") == expected
    assert server.backend.writes == [] and server.backend.reads == []
    raw.sendall(command("EXEC"))
    assert replies(raw, b"$1\r\n1\r\n") == b"*2\r\n+OK\r\n$1\r\n1\r\n"


@pytest.mark.parametrize(
    ("queued", "answer"), [(("INCR", "k"), b"*1\r\n:1\r\n"), (("GET", "k"), b"*1\r\n$1\r\n0\r\n")]
)
def test_a_watch_pipelined_with_its_transaction_is_read_before_exec(
    server: Served, raw: socket.socket, queued: tuple[str, ...], answer: bytes
) -> None:
    """transaction.py Rule 2: EXEC waits for the WATCH before it in the same
    packet, and carries the version it read - a transaction that only reads
    as well as one that writes."""
    with connect(server) as other:
        other.set("k", "0")
    [version] = server.call(lambda: server.backend.store.versions([b"k"]))
    raw.sendall(command("WATCH", "k") + command("MULTI") + command(*queued) + command("EXEC"))
    assert replies(raw, answer) == b"+OK\r\n+OK\r\n+QUEUED\r\n" + answer
    argv = [arg.encode() for arg in queued]
    assert server.backend.transactions == [([argv], [(b"k", version)])]


def test_a_change_to_a_watched_key_makes_exec_answer_null(
    server: Served, client: redis.Redis
) -> None:
    client.set("k", "1")
    with client.pipeline() as pipe:
        pipe.watch("k")
        assert pipe.get("k") == "1"
        with connect(server) as other:
            other.set("k", "2")
        pipe.multi()
        pipe.set("k", "from the transaction")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.get("k") == "2"


def test_redis_py_transaction_helper_retries_until_its_watch_holds(
    server: Served, client: redis.Redis
) -> None:
    client.set("n", "0")
    interfere = iter(range(3))  # the first three attempts see a concurrent change

    def double(pipe: redis.client.Pipeline) -> None:
        value = int(pipe.get("n"))
        if next(interfere, None) is not None:
            with connect(server) as other:
                other.incr("n")
        pipe.multi()
        pipe.set("n", value * 2)

    assert client.transaction(double, "n") == [True]
    assert client.get("n") == "6"  # 3 increments, then doubled once
    assert len(server.backend.transactions) == 4


@pytest.mark.parametrize("forget", ["UNWATCH", "EXEC", "DISCARD"])
def test_unwatch_exec_and_discard_forget_the_watched_keys(
    server: Served,
    client: redis.Redis,
    connection: redis.connection.Connection,
    forget: str,
) -> None:
    send(connection, "WATCH", "k")
    if forget == "UNWATCH":
        send(connection, "UNWATCH")
    else:
        send(connection, "MULTI")
        send(connection, forget)
    client.set("k", "changed")
    send(connection, "MULTI")
    send(connection, "SET", "k", "mine")
    assert send(connection, "EXEC") == ["OK"]
    assert server.backend.transactions[-1][1] == []


def test_a_watch_whose_read_failed_dooms_the_transaction(
    server: Served, client: redis.Redis, connection: redis.connection.Connection
) -> None:
    server.call(lambda: setattr(server.backend, "failure", NotLeader(None)))
    with pytest.raises(redis.exceptions.TryAgainError):
        send(connection, "WATCH", "k")
    server.call(lambda: setattr(server.backend, "failure", None))
    send(connection, "MULTI")
    send(connection, "SET", "k", "1")
    assert send(connection, "EXEC") is None
    assert client.get("k") is None


def test_a_transaction_is_bounded_like_one_command_and_keeps_nothing_once_over() -> None:
    """transaction.py Rule 1: the queued arguments count against
    max_command_len, as one command's do; past it EXEC runs nothing."""
    limits = RequestLimits(max_command_len=200)
    with served(limits=limits) as server, connect(server) as client:
        connection = redis.connection.Connection(**client.connection_pool.connection_kwargs)
        send(connection, "MULTI")
        assert send(connection, "SET", "k", "x" * 100) == "QUEUED"
        with pytest.raises(redis.ResponseError, match="over its limit of 200 bytes"):
            send(connection, "SET", "k", "y" * 100)
        assert send(connection, "SET", "small", "1") == "QUEUED"
        queued = server.call(lambda: [c._transaction.queued for c in server.server.clients()])
        assert [] in queued  # the doomed transaction dropped what it had queued
        with pytest.raises(redis.ResponseError, match="Transaction discarded"):
            send(connection, "EXEC")
        assert server.backend.transactions == [] and client.get("k") is None
        connection.disconnect()


def test_watched_keys_count_against_the_same_bound() -> None:
    """transaction.py Rule 1: WATCHes cannot grow without bound either, and
    what they hold leaves less room for the queued commands."""
    with served(limits=RequestLimits(max_command_len=200)) as server, connect(server) as client:
        connection = redis.connection.Connection(**client.connection_pool.connection_kwargs)
        assert send(connection, "WATCH", "k" * 100) == "OK"  # 108 of 200
        with pytest.raises(redis.ResponseError, match="watched keys are over the limit of 200"):
            send(connection, "WATCH", "j" * 100)
        send(connection, "MULTI")
        with pytest.raises(redis.ResponseError, match="over its limit of 200 bytes"):
            send(connection, "SET", "x", "y" * 70)  # 108 + 98 > 200 with the watch
        with pytest.raises(redis.ResponseError, match="Transaction discarded"):
            send(connection, "EXEC")
        assert send(connection, "WATCH", "j" * 100) == "OK"  # EXEC forgot the first
        connection.disconnect()


def test_connection_commands_queued_in_a_transaction_answer_in_their_places(
    server: Served, client: redis.Redis, connection: redis.connection.Connection
) -> None:
    """PING, ECHO, TIME, CLIENT SETNAME, INFO, ... are queued and run on the
    node at EXEC, their replies among the others' (transaction.py); only the
    data commands go to the log."""
    send(connection, "MULTI")
    for words in (
        ("PING",),
        ("SET", "k", "1"),
        ("ECHO", "between"),
        ("CLIENT", "SETNAME", "in-exec"),
        ("GET", "k"),
        ("TIME",),
        ("INFO", "server"),
        ("CLIENT", "GETNAME"),
    ):
        assert send(connection, *words) == "QUEUED"
    pong, ok, echoed, named, got, now, info, name = send(connection, "EXEC")  # type: ignore[misc]
    assert (pong, ok, echoed, named, got, name) == ("PONG", "OK", "between", "OK", "1", "in-exec")
    assert isinstance(now, list) and len(now) == 2 and int(now[0]) > 1_700_000_000
    assert isinstance(info, str) and info.startswith("# Server")
    assert server.backend.transactions == [([[b"SET", b"k", b"1"], [b"GET", b"k"]], [])]


def test_a_transaction_a_watched_key_stopped_runs_its_connection_commands_neither(
    client: redis.Redis, connection: redis.connection.Connection
) -> None:
    send(connection, "WATCH", "w")
    client.set("w", "changed")
    send(connection, "MULTI")
    send(connection, "CLIENT", "SETNAME", "never")
    send(connection, "SET", "w", "mine")
    assert send(connection, "EXEC") is None
    assert send(connection, "CLIENT", "GETNAME") is None and client.get("w") == "changed"


def test_a_command_refused_at_exec_keeps_the_others_in_their_places(
    client: redis.Redis, connection: redis.connection.Connection
) -> None:
    """Redis 7.0 checks a transaction's commands again at EXEC: the refused
    one's error and the node's own replies both keep their places."""
    client.execute_command("ACL", "SETUSER", "app", "on", "nopass", "~*", "+@all")
    send(connection, "AUTH", "app", "any")
    send(connection, "MULTI")
    for words in (("ECHO", "a"), ("SET", "k", "v"), ("PING",), ("GET", "k"), ("ECHO", "b")):
        send(connection, *words)
    client.execute_command("ACL", "SETUSER", "app", "-set")
    replies = send(connection, "EXEC")
    assert isinstance(replies, list) and len(replies) == 5
    assert replies[0] == "a" and replies[2] == "PONG" and replies[3] is None
    assert replies[4] == "b" and isinstance(replies[1], redis.exceptions.NoPermissionError)
