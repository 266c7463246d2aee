"""redis-cli, the tool people reach for first, against RespServer.

Skipped when the ``redis-cli`` binary is not installed (Debian: redis-tools).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from .fake_backend import LOOPBACK, WAIT, Served, served

REDIS_CLI = shutil.which("redis-cli")
pytestmark = pytest.mark.skipif(
    REDIS_CLI is None, reason="redis-cli is not installed (apt-get install redis-tools)"
)


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with served() as s:
        yield s


def cli(server: Served, *args: str, stdin: str | None = None) -> str:
    """redis-cli's output for one command (or for the commands on ``stdin``)."""
    assert REDIS_CLI is not None
    done = subprocess.run(
        [REDIS_CLI, "-h", LOOPBACK, "-p", str(server.port), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    return done.stdout


def test_set_get_ping(server: Served) -> None:
    assert cli(server, "set", "a", "1") == "OK\n"
    assert cli(server, "get", "a") == "1\n"
    assert cli(server, "ping") == "PONG\n"
    assert cli(server, "get", "missing") == "\n"  # nil, printed raw when not on a terminal


def test_errors(server: Served) -> None:
    assert cli(server, "nosuch", "x").splitlines()[0] == (
        "ERR unknown command 'nosuch', with args beginning with: 'x' "
    )
    assert cli(server, "get").splitlines()[0] == "ERR wrong number of arguments for 'get' command"


def test_info_raft(server: Served) -> None:
    lines = cli(server, "info", "raft").splitlines()
    assert lines[0] == "# Raft"
    assert "role:leader" in lines
    assert "members:1,2,3" in lines


def test_commands_from_stdin(server: Served) -> None:
    assert cli(server, stdin="set b 2\nincr b\nget b\n") == "OK\n3\n3\n"


def test_resp3(server: Served) -> None:
    hello = cli(server, "-3", "hello", "3").splitlines()
    assert hello[:3] == ["server redis", "version 7.0.0", "proto 3"]  # a map, RESP3's
    assert cli(server, "-3", "set", "c", "3") == "OK\n"
    assert cli(server, "-3", "get", "c") == "3\n"
