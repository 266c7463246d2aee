"""CLIENT UNBLOCK against redis-server and ranet's server: a connection
waiting in BLPOP, BZPOPMIN, BLMOVE, XREAD or XREADGROUP is ended as if
timed out, or with the UNBLOCKED error; the same replies and errors in
RESP2 and RESP3. The waiting connection's id is each server's own, read
with CLIENT ID."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from .fake_backend import WAIT, served
from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    pytestmark,
    redis_server,
)

WAITS = [
    "BLPOP q 0",
    "BZPOPMIN z 0",
    "BLMOVE q dst LEFT RIGHT 0",
    "XREAD BLOCK 0 STREAMS s $",
    "XREADGROUP GROUP g c BLOCK 0 STREAMS s >",
]


def _session(connect: Callable[[], redis.connection.AbstractConnection]) -> list[str]:
    waiter, other = connect(), connect()

    def ask(connection: redis.connection.AbstractConnection, line: str) -> object:
        connection.send_command(*line.split())
        return _read(connection)

    out = [f"setup -> {ask(other, 'XGROUP CREATE s g $ MKSTREAM')!r}"]
    waiter_id = ask(waiter, "CLIENT ID")
    out.append(f"not waiting -> {ask(other, f'CLIENT UNBLOCK {waiter_id}')!r}")
    for wait in WAITS:
        for reason in ("", " TIMEOUT", " ERROR"):
            waiter.send_command(*wait.split())
            deadline = time.monotonic() + WAIT
            while True:  # until the waiter is blocked, as CLIENT UNBLOCK sees it
                unblocked = ask(other, f"CLIENT UNBLOCK {waiter_id}{reason}")
                if unblocked == 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            out.append(f"{wait}{reason} -> {unblocked!r}, {_read(waiter)!r}")
    for line in ("CLIENT UNBLOCK", "CLIENT UNBLOCK x", "CLIENT UNBLOCK x foo",
                 "CLIENT UNBLOCK 1 foo", "CLIENT UNBLOCK 1 timeout x",
                 "CLIENT UNBLOCK 999999 error"):  # fmt: skip
        out.append(f"{line} -> {ask(other, line)!r}")
    waiter.disconnect()
    other.disconnect()
    return out


def _read(connection: redis.connection.AbstractConnection) -> object:
    try:
        return connection.read_response()
    except redis.ResponseError as error:
        return f"error: {error}"


@pytest.mark.parametrize("protocol", [2, 3])
def test_client_unblock_answers_as_redis_does(redis_server: Path, protocol: int) -> None:  # noqa: F811
    redis.Redis(unix_socket_path=str(redis_server)).flushall()
    expected = _session(
        lambda: redis.connection.UnixDomainSocketConnection(
            path=str(redis_server), protocol=protocol, socket_timeout=WAIT
        )
    )
    with served() as server:
        got = _session(
            lambda: redis.connection.Connection(
                host="127.0.0.1", port=server.port, protocol=protocol, socket_timeout=WAIT
            )
        )
    for want, have in zip(expected, got, strict=True):
        assert have == want
