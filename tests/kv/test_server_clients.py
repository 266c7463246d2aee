"""RespServer with real redis-py clients, sync and asyncio, over a fake backend.

What a Redis user sees: the data commands answer as Redis does, pipelines
come back in order (and a pipeline of reads reaches the backend at once),
the connection commands (HELLO, CLIENT, SELECT, INFO, ...) work, and a
backend in trouble gives a retryable error instead of a hang.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ResponseError, TryAgainError
from redis.retry import Retry

from ranet.errors import ListenError, NotLeader, ShuttingDown, Timeout
from ranet.kv import server as server_module
from ranet.kv.commands import COMMANDS
from ranet.kv.server import RespServer

from .fake_backend import LOOP_FACTORIES, LOOPBACK, WAIT, FakeBackend, Served, served

COMMAND_TIMEOUT = 0.2


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def server(request: pytest.FixtureRequest) -> Iterator[Served]:
    with served(loop_factory=LOOP_FACTORIES[request.param], command_timeout=COMMAND_TIMEOUT) as s:
        yield s


def connect(server: Served, **options: object) -> redis.Redis:
    return redis.Redis(
        host=LOOPBACK, port=server.port, socket_timeout=WAIT, decode_responses=True, **options
    )


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(server: Served, request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    with connect(server, protocol=request.param) as client:
        yield client


def test_data_commands(client: redis.Redis) -> None:
    assert client.set("a", 1) is True
    assert client.get("a") == "1"
    assert client.incr("a") == 2
    assert client.incrby("a", 5) == 7
    assert client.mget("a", "missing") == ["7", None]
    assert client.set("a", "x", nx=True) is None
    assert client.delete("a", "missing") == 1
    assert client.exists("a") == 0


def test_a_pipeline_of_1000_commands_comes_back_in_order(client: redis.Redis) -> None:
    with client.pipeline(transaction=False) as pipe:
        for i in range(500):
            pipe.set(f"key:{i}", i)
            pipe.get(f"key:{i}")
        replies = pipe.execute()
    assert replies == [r for i in range(500) for r in (True, str(i))]


def test_a_pipeline_of_reads_reaches_the_backend_together(
    server: Served, client: redis.Redis
) -> None:
    client.mset({f"key:{i}": i for i in range(1000)})
    with client.pipeline(transaction=False) as pipe:
        for i in range(1000):
            pipe.get(f"key:{i}")
        assert pipe.execute() == [str(i) for i in range(1000)]
    assert server.backend.largest_read >= 100  # one backend call (one ReadIndex) for many


def test_a_pipeline_of_writes_reaches_the_backend_as_one_call(server: Served) -> None:
    """Sent in one piece (so read in one piece), 201 writes are one log command."""
    requests = b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$1\r\n0\r\n*2\r\n$4\r\nINCR\r\n$%d\r\n%b\r\n"
        % (len(key), key, len(key), key)
        for key in (b"key:%d" % i for i in range(100))
    )
    requests += b"*2\r\n$4\r\nINCR\r\n$5\r\nkey:0\r\n"  # sees the writes before it
    expected = b"+OK\r\n:1\r\n" * 100 + b":2\r\n"
    with socket.create_connection((LOOPBACK, server.port), timeout=WAIT) as connection:
        connection.sendall(requests)
        received = b""
        while len(received) < len(expected):
            received += connection.recv(65536)
    assert received == expected
    assert server.backend.largest_write == 201


def test_a_write_in_a_session_ends_a_run_of_writes(server: Served, client: redis.Redis) -> None:
    with client.pipeline(transaction=False) as pipe:
        pipe.set("a", 1).set("b", 2).execute_command("RANET.EXEC", 7, 1, "SET", "c", 3)
        pipe.set("d", 4).set("e", 5).set("f", 6)
        assert pipe.execute() == [True, True, "OK", True, True, True]
    assert server.backend.largest_write == 3
    assert [session for _, session in server.backend.writes] == [None, None, (7, 1)] + [None] * 3


def test_a_run_of_writes_stops_growing_at_its_byte_limit(
    server: Served, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "_MAX_WRITE_RUN_BYTES", 100)
    value = "x" * 30  # SET k <value>: 34 bytes of arguments, so two fit in 100
    with client.pipeline(transaction=False) as pipe:
        for key in "abcde":
            pipe.set(key, value)
        assert pipe.execute() == [True] * 5
    assert server.backend.largest_write == 2
    assert client.mget(*"abcde") == [value] * 5


def test_a_run_of_writes_that_times_out_answers_each_write(
    server: Served, client: redis.Redis
) -> None:
    server.call(lambda: setattr(server.backend, "hang_writes", True))
    with client.pipeline(transaction=False) as pipe:
        pipe.set("a", 1).set("b", 2).ping()
        replies = pipe.execute(raise_on_error=False)
    unknown = "TIMEOUT the command's outcome is unknown: no reply within 0.2 s"
    assert [str(r) for r in replies[:2]] == [unknown, unknown]
    assert replies[2] is True
    server.call(lambda: setattr(server.backend, "hang_writes", False))


def test_the_reads_after_a_write_in_a_pipeline_share_one_backend_call(
    server: Served, client: redis.Redis
) -> None:
    with client.pipeline(transaction=False) as pipe:
        pipe.set("a", 1).get("a").get("a").get("b")
        assert pipe.execute() == [True, "1", "1", None]
    assert server.backend.largest_read == 3


def test_a_read_waits_for_the_writes_before_it_in_a_pipeline(
    server: Served, client: redis.Redis
) -> None:
    server.call(lambda: setattr(server.backend, "write_delay", 0.02))  # a read could overtake
    with client.pipeline(transaction=False) as pipe:
        pipe.set("n", 1).get("n").incr("n").incr("n").get("n").delete("n").get("n")
        assert pipe.execute() == [True, "1", 2, 3, "3", 1, None]


def test_errors_carry_redis_wording(client: redis.Redis) -> None:
    with pytest.raises(
        ResponseError, match=r"^unknown command 'FOO', with args beginning with: 'a' $"
    ):
        client.execute_command("FOO", "a")
    with pytest.raises(ResponseError, match=r"^wrong number of arguments for 'get' command$"):
        client.execute_command("GET")
    client.set("text", "abc")
    with pytest.raises(ResponseError, match=r"^value is not an integer or out of range$"):
        client.incr("text")
    assert client.get("text") == "abc"  # the connection goes on after an error


def test_resp3_after_hello_3(server: Served) -> None:
    with connect(server, protocol=3) as client:
        client.set("a", 1)
        assert client.get("missing") is None
        assert client.mget("a", "missing") == ["1", None]
        assert client.client_info()["resp"] == "3"
        assert client.execute_command("HELLO", 3) == {
            "server": "redis",
            "version": "7.0.0",
            "proto": 3,
            "id": client.client_id(),
            "mode": "standalone",
            "role": "master",
            "modules": [],
        }


def test_hello(server: Served) -> None:
    client = connect(server, protocol=2, retry=Retry(NoBackoff(), 0))
    hello = client.execute_command("HELLO")  # RESP2: a flat array of names and values
    assert dict(zip(hello[::2], hello[1::2], strict=True))["proto"] == 2
    assert client.execute_command("HELLO", 2, "AUTH", "default", "any", "SETNAME", "me")
    assert client.client_getname() == "me"
    for argv, error in [
        (["HELLO", 4], "unsupported protocol version"),
        (["HELLO", "x"], "Protocol version is not an integer or out of range"),
        (["HELLO", 3, "SETNAME", "has space"], "Client names cannot contain spaces"),
        (["HELLO", 3, "AUTH", "default"], "Syntax error in HELLO option 'AUTH'"),
    ]:
        with pytest.raises(ResponseError, match=error):
            client.execute_command(*argv)
    assert client.client_info()["resp"] == "2"  # a refused HELLO changed nothing
    with pytest.raises(AuthenticationError, match="invalid username-password pair"):
        client.execute_command("HELLO", 3, "AUTH", "alice", "secret")  # no users but "default"
    client.close()


def test_client_subcommands(server: Served, client: redis.Redis) -> None:
    assert client.client_setname("worker-1") is True
    assert client.client_getname() == "worker-1"
    client_id = client.client_id()
    assert isinstance(client_id, int)
    assert client.client_setinfo("LIB-NAME", "tests") is True
    info = client.client_info()
    assert (info["id"], info["name"], info["lib-name"]) == (client_id, "worker-1", "tests")
    with connect(server) as other:
        other.ping()
        assert {c["name"] for c in client.client_list()} == {"worker-1", ""}
    for argv, error in [
        (["CLIENT", "SETNAME", "a b"], "Client names cannot contain spaces"),
        (["CLIENT", "SETINFO", "LIB-FOO", "x"], "Unrecognized option 'LIB-FOO'"),
        (["CLIENT", "NOPE"], r"unknown subcommand 'NOPE'\. Try CLIENT HELP\."),
        (["CLIENT", "SETNAME"], r"wrong number of arguments for 'client\|setname' command"),
    ]:
        with pytest.raises(ResponseError, match=error):
            client.execute_command(*argv)


def test_select(client: redis.Redis) -> None:
    assert client.execute_command("SELECT", 0) is True
    with pytest.raises(ResponseError, match=r"^DB index is out of range$"):
        client.execute_command("SELECT", 1)
    with pytest.raises(ResponseError, match=r"^value is not an integer or out of range$"):
        client.execute_command("SELECT", "x")


def test_ping_echo_command(client: redis.Redis) -> None:
    assert client.ping() is True
    assert client.echo("hello") == "hello"
    assert client.command_count() == len(COMMANDS)
    assert client.command()["get"]["arity"] == 2  # redis-py parses the table
    assert not client.execute_command("COMMAND", "DOCS")


def test_info_sections(server: Served, client: redis.Redis) -> None:
    client.mset({"a": 1, "b": 2})
    assert client.info("raft") == {**server.backend.raft, "members": [1, 2, 3]}
    default = client.info()
    assert default["redis_version"] == "7.0.0"
    assert default["ranet_version"]
    assert default["connected_clients"] == 1
    assert default["db0"] == {"keys": 2, "expires": 0, "avg_ttl": 0}
    assert default["role"] == "master"  # Replication's: every node takes writes
    assert "leader_id" not in default  # the Raft section: named, or with "all"
    assert client.info("all")["leader_id"] == server.backend.raft["leader_id"]
    assert set(client.info("server")) >= {"redis_version", "ranet_version", "tcp_port"}
    assert "role" not in client.info("server")
    assert client.info("nosuchsection") == {}


def test_readonly_switches_this_connection_to_stale_reads(
    server: Served, client: redis.Redis
) -> None:
    client.get("a")
    assert client.readonly() is True
    client.get("a")
    assert client.execute_command("READWRITE") is True
    client.get("a")
    assert [stale for _, stale in server.backend.reads] == [False, True, False]


def test_ranet_exec_applies_a_retried_write_once(server: Served, client: redis.Redis) -> None:
    assert client.execute_command("RANET.EXEC", 7, 1, "INCR", "n") == 1
    assert client.execute_command("RANET.EXEC", 7, 1, "INCR", "n") == 1  # a retry: not applied
    assert client.execute_command("RANET.EXEC", 7, 2, "INCR", "n") == 2
    assert client.execute_command("RANET.EXEC", 7, 3, "GET", "n") == "2"  # a read is a read
    assert [session for _, session in server.backend.writes] == [(7, 1), (7, 1), (7, 2)]
    for argv, error in [
        (["RANET.EXEC", 0, 1, "INCR", "n"], "needs a client id >= 1"),
        (["RANET.EXEC", 7, -1, "INCR", "n"], "sequence number >= 0"),
        (["RANET.EXEC", 7, 4, "PING"], "runs data commands only, not 'ping'"),
        (["RANET.EXEC", 7, 4, "NOPE"], "unknown command 'NOPE'"),
        (["RANET.EXEC", 7, 4, "GET"], "wrong number of arguments for 'get' command"),
        (["RANET.EXEC", 7, 4], "wrong number of arguments for 'ranet.exec' command"),
    ]:
        with pytest.raises(ResponseError, match=error):
            client.execute_command(*argv)


@pytest.mark.parametrize(
    ("failure", "error", "write_text", "read_text"),
    [
        (NotLeader(None), TryAgainError, "no leader is known yet; retry shortly", None),
        (
            NotLeader(2, "127.0.0.1:7002"),
            TryAgainError,
            "not the leader: the leader is node 2 at 127.0.0.1:7002",
            None,
        ),
        (
            Timeout("no commit within 5 s"),
            ResponseError,
            "TIMEOUT the command's outcome is unknown: no commit within 5 s",
            "TIMEOUT the read did not complete: no commit within 5 s",
        ),
        (
            ShuttingDown(),
            ResponseError,
            "SHUTDOWN this node is shutting down; retry on another node",
            None,
        ),
    ],
)
def test_backend_errors_become_retryable_replies(
    server: Served,
    client: redis.Redis,
    failure: Exception,
    error: type[Exception],
    write_text: str,
    read_text: str | None,
) -> None:
    server.call(lambda: setattr(server.backend, "failure", failure))
    with pytest.raises(error) as caught:
        client.set("a", 1)
    assert str(caught.value) == write_text
    with pytest.raises(error) as caught:
        client.get("a")
    assert str(caught.value) == (read_text or write_text)
    server.call(lambda: setattr(server.backend, "failure", None))
    assert client.set("a", 1) is True


def test_a_write_refused_at_once_is_an_error_reply_in_its_place(
    server: Served, client: redis.Redis
) -> None:
    client.set("a", "before")
    server.call(lambda: setattr(server.backend, "refusal", NotLeader(None)))
    pipe = client.pipeline(transaction=False)
    pipe.set("a", 1).get("a").set("b", 2)
    replies = pipe.execute(raise_on_error=False)
    assert isinstance(replies[0], TryAgainError) and isinstance(replies[2], TryAgainError)
    assert replies[1] in ("before", b"before")  # the read between them was served
    server.call(lambda: setattr(server.backend, "refusal", None))
    assert client.set("a", 1) is True  # the connection served on


def test_a_backend_that_never_answers_times_out(server: Served, client: redis.Redis) -> None:
    server.call(lambda: setattr(server.backend, "hang", True))
    with pytest.raises(ResponseError, match=r"^TIMEOUT the command's outcome is unknown: no reply"):
        client.set("a", 1)
    with client.pipeline(transaction=False) as pipe:
        pipe.get("a").get("b").ping()
        replies = pipe.execute(raise_on_error=False)
    timed_out = "TIMEOUT the read did not complete: no reply within 0.2 s"
    assert [str(r) for r in replies[:2]] == [timed_out, timed_out]
    assert replies[2] is True
    server.call(lambda: setattr(server.backend, "hang", False))
    assert client.set("a", 1) is True


def test_a_timed_out_call_ending_late_does_not_touch_the_next_group(
    server: Served, client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """The read after a timed-out write is in flight when the write's cancellation
    lands; that late ending must be ignored, not taken for the read's."""
    client.set("a", "before")
    server.call(lambda: setattr(server.backend, "hang_writes", True))
    with client.pipeline(transaction=False) as pipe:
        pipe.set("a", 1).get("a").ping()
        replies = pipe.execute(raise_on_error=False)
    assert str(replies[0]).startswith("TIMEOUT the command's outcome is unknown")
    assert replies[1:] == ["before", True]
    server.call(lambda: setattr(server.backend, "hang_writes", False))
    assert client.set("a", 1) is True
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_asyncio_clients_in_parallel(server: Served) -> None:
    async def main() -> None:
        clients = [redis.asyncio.Redis(host=LOOPBACK, port=server.port) for _ in range(10)]
        try:

            async def work(client: redis.asyncio.Redis) -> None:
                for _ in range(20):
                    await client.incr("counter")
                async with client.pipeline(transaction=False) as pipe:
                    for _ in range(30):
                        pipe.incr("counter")
                    await pipe.execute()

            await asyncio.gather(*(work(client) for client in clients))
            assert await clients[0].get("counter") == b"500"
        finally:
            for client in clients:
                await client.aclose()

    asyncio.run(asyncio.wait_for(main(), WAIT))


def test_a_request_does_not_look_up_the_running_loop(
    client: redis.Redis, loop_lookups: list[None]
) -> None:
    for i in range(50):
        assert client.set(f"key:{i}", i) is True
        assert client.get(f"key:{i}") == str(i)
    assert len(loop_lookups) <= 1  # the connection's own, once (was one per request)


def test_stop_closes_every_connection() -> None:
    with served() as server:
        clients = [socket.create_connection((LOOPBACK, server.port), WAIT) for _ in range(3)]
        for client in clients:
            client.sendall(b"PING\r\n")
            assert client.recv(100) == b"+PONG\r\n"
        assert server.call(lambda: len(server.server.clients())) == 3
    for client in clients:
        assert client.recv(100) == b""  # closed by the server
        client.close()


def test_a_port_in_use_is_named_in_the_error(server: Served) -> None:
    async def main() -> None:
        other = RespServer(FakeBackend(), LOOPBACK, server.port, node_id=2)
        with pytest.raises(
            ListenError, match=f"node 2 cannot serve .* on {LOOPBACK}:{server.port}"
        ):
            await other.start()

    asyncio.run(asyncio.wait_for(main(), WAIT))


def test_raft_transfer_reaches_the_backend(server: Served, client: redis.Redis) -> None:
    """RAFT.TRANSFER [node] hands leadership on (thesis §3.10) and names the new leader."""
    assert client.execute_command("RAFT.TRANSFER", "2") == 2
    assert client.execute_command("RAFT.TRANSFER") == 1
    assert server.backend.transfers == [2, None]
    with pytest.raises(ResponseError, match="non-negative integer"):
        client.execute_command("RAFT.TRANSFER", "x")
    with pytest.raises(ResponseError, match="wrong number of arguments"):
        client.execute_command("RAFT.TRANSFER", "1", "2")
