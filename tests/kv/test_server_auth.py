"""AUTH: with a password set, a connection runs nothing but AUTH, HELLO and
QUIT until it has authenticated (as Redis's ``requirepass``), in command
order even within one packet, on the lone-command path as on the queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ranet.client.connection import encode_command
from ranet.errors import ConfigurationError
from ranet.kv.server import RespServer

from .fake_backend import LOOP_FACTORIES, WAIT, FakeBackend, Served, served
from .test_server_abuse import raw_connection, read_until_closed

PASSWORD = b"s3cret pass"


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def server(request: pytest.FixtureRequest) -> Iterator[Served]:
    with served(loop_factory=LOOP_FACTORIES[request.param], password=PASSWORD) as s:
        yield s


def auth(*user: bytes) -> bytes:
    return encode_command([b"AUTH", *user, PASSWORD])


def talk(server: Served, data: bytes) -> bytes:
    with raw_connection(server) as connection:
        connection.sendall(data + b"QUIT\r\n")
        return read_until_closed(connection)


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_with_the_password_works_and_without_it_is_refused(
    server: Served, protocol: int
) -> None:
    with redis.Redis(port=server.port, password=PASSWORD.decode(), protocol=protocol,
                     socket_timeout=WAIT) as client:  # fmt: skip
        assert client.set("a", "1") and client.get("a") == b"1"
    with redis.Redis(port=server.port, username="default", password=PASSWORD.decode(),
                     protocol=protocol, socket_timeout=WAIT) as client:  # fmt: skip
        assert client.get("a") == b"1"
    for wrong in ({}, {"password": "wrong"}, {"username": "admin", "password": PASSWORD.decode()}):
        with (
            redis.Redis(
                port=server.port,
                protocol=protocol,
                socket_timeout=WAIT,
                retry=Retry(NoBackoff(), 0),
                **wrong,
            ) as client,  # fmt: skip
            pytest.raises(redis.AuthenticationError),
        ):
            client.get("a")


def test_nothing_runs_before_auth_and_everything_after_it_in_one_packet(server: Served) -> None:
    replies = talk(
        server, b"GET a\r\nSET a 1\r\nAUTH wrong\r\nGET a\r\n" + auth() + b"SET a 1\r\nGET a\r\n"
    )
    assert replies == (
        b"-NOAUTH Authentication required.\r\n" * 2
        + b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        + b"-NOAUTH Authentication required.\r\n"
        + b"+OK\r\n+OK\r\n$1\r\n1\r\n+OK\r\n"
    )
    assert server.backend.writes == [([b"SET", b"a", b"1"], None)]


def test_a_lone_command_before_auth_is_refused_without_reaching_the_backend(
    server: Served,
) -> None:
    with raw_connection(server) as connection:
        connection.sendall(b"GET a\r\n")
        assert connection.recv(100) == b"-NOAUTH Authentication required.\r\n"
    assert server.backend.reads == []


def test_hello_authenticates_or_refuses(server: Served) -> None:
    assert talk(server, b"HELLO 3\r\n").startswith(b"-NOAUTH HELLO must be called")
    wrong = talk(server, b"HELLO 3 AUTH default nope\r\nGET a\r\n")
    assert wrong.startswith(b"-WRONGPASS") and b"-NOAUTH Authentication required." in wrong
    hello = encode_command([b"HELLO", b"3", b"AUTH", b"default", PASSWORD])
    answer = talk(server, hello + b"GET a\r\n")
    assert answer.startswith(b"%7\r\n") and answer.endswith(b"_\r\n+OK\r\n")  # RESP3 null


def test_a_browser_is_hung_up_on_before_auth(server: Served) -> None:
    assert talk(server, b"POST / HTTP/1.1\r\nHost: x\r\n\r\n") == b""


def test_without_a_password_auth_says_so_and_default_needs_none() -> None:
    with served() as open_server:
        replies = talk(open_server, b"AUTH pw\r\nAUTH default anything\r\nAUTH a b c\r\n")
    assert replies == (
        b"-ERR AUTH <password> called without any password configured for the default user. "
        b"Are you sure your configuration is correct?\r\n+OK\r\n-ERR syntax error\r\n+OK\r\n"
    )


def test_an_empty_password_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must not be empty"):
        RespServer(FakeBackend(), node_id=1, password=b"")
