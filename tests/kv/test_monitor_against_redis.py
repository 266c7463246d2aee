"""MONITOR against redis-server: the lines a monitoring connection gets for
the commands two others send - what is shown and what is not (unknown
commands, wrong arities, administrative commands, commands refused before
AUTH or by ACL), AUTH's and HELLO's secrets redacted, MULTI / EXEC's order,
quoting of every byte - and the monitor's own replies, the same from both.

Each line's time and the client's port differ between servers: a line is
compared as the client's name and the quoted command. After each step a
marker (``ECHO``) from a fourth client ends what the step made the monitor
receive. Clients tell apart by their ports: redis-server listens on TCP
here (the shared fixture's server has a Unix socket only).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.kv.fake_backend import WAIT, served
from tests.kv.test_notifications_against_redis import Raw

from .test_against_redis import (  # noqa: F401  (the skip without redis-server)
    pytestmark,
    running_redis,
)

LINE = re.compile(rb"^\d+\.\d{6} \[0 (?P<address>[^\]]+)\] (?P<command>.*)$", re.DOTALL)

STEPS: list[tuple[str, list[bytes | str]]] = [
    ("a", ["SET", "k", b'a b"c\\d\n\r\t\x07\x08' + bytes([1, 127, 200, 255])]),
    ("b", ["get", "k"]),
    ("a", ["NOSUCH", "x"]),
    ("a", ["GET"]),
    ("a", ["CONFIG", "GET", "maxmemory"]),
    ("a", ["CLIENT", "GETNAME"]),
    ("a", ["ACL", "WHOAMI"]),
    ("a", ["ACL", "SETUSER", "u", "on", ">pw", "~u:*", "+@all"]),
    ("a", ["ACL", "LIST"]),
    ("b", ["AUTH", "u", "wrong"]),
    ("b", ["AUTH", "u", "pw"]),
    ("b", ["HELLO", "2", "AUTH", "u", "pw", "SETNAME", "me"]),
    ("b", ["GET", "other"]),  # refused by ACL: not shown
    ("b", ["GET", "u:1"]),
    ("a", ["MULTI"]),
    ("a", ["SET", "x", "1"]),
    ("a", ["INCR", "x"]),
    ("a", ["EXEC"]),
    ("a", ["EXEC"]),
    ("a", ["MULTI"]),
    ("a", ["NOSUCH"]),
    ("a", ["EXEC"]),
    ("a", ["MSET", "", "empty", "y", "z"]),
    ("m", ["GET", "k"]),  # the monitor itself may not touch keys
    ("m", ["PING"]),
    ("b", ["ECHO", "quoted 'single' and \"double\""]),
    ("a", ["ACL", "DELUSER", "u"]),
]


def run(address: str | tuple[str, int]) -> list[str]:
    """Each step's reply and the monitor lines it made, as text."""
    names: dict[bytes, str] = {}
    connections: dict[str, Raw] = {}
    try:
        for name in ("a", "b", "m", "z"):
            connections[name] = Raw(address)
            client_info = connections[name].call("CLIENT", "INFO")
            addr = re.search(rb"addr=(\S+)", client_info).group(1)  # type: ignore[union-attr]
            names[addr] = name
        monitor = connections["m"]
        assert monitor.call("MONITOR") == b"OK"
        out = []
        for number, (who, command) in enumerate(STEPS):
            reply = connections[who].call(*command)
            marker = f"marker {number}".encode()
            connections["z"].call("ECHO", marker)
            lines = []
            while True:
                got = monitor.read()
                if who == "m" and not _is_line(got):
                    lines.append(f"reply {got!r}")  # its own reply comes among the lines
                    continue
                match = LINE.match(got)
                assert match is not None, got
                if match["command"] == b'"ECHO" "%s"' % marker:
                    break
                lines.append(f"{names.get(match['address'], '?')}: {match['command']!r}")
            out.append(f"{who} {command!r} -> {_text(reply)} {lines}")
        return out
    finally:
        with Raw(address) as admin:
            admin.call("ACL", "DELUSER", "u")
        for connection in connections.values():
            connection.close()


def _is_line(reply: Any) -> bool:
    return isinstance(reply, bytes) and LINE.match(reply) is not None


def _text(reply: Any) -> str:
    if isinstance(reply, list) and reply[:1] == [b"server"]:
        return "hello"  # the servers' versions and ids differ
    return repr(reply)


@pytest.fixture
def redis_on_tcp(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A redis-server of its own on a free 127.0.0.1 port; always stopped."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with running_redis(tmp_path, ["--port", str(port), "--bind", "127.0.0.1"], partial(_up, port)):
        yield "127.0.0.1", port


def _up(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()
    except OSError:
        return False
    return True


def test_monitor_shows_what_redis_shows(redis_on_tcp: tuple[str, int]) -> None:
    expected = run(redis_on_tcp)
    with served() as server:
        actual = run(("127.0.0.1", server.port))
    assert actual == expected
