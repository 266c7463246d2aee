"""Key-space notifications against redis-server: every script of the
comparison tests (keys and values, streams, bitmaps, geo, HyperLogLog,
SORT), sent with ``notify-keyspace-events`` on, gives the same events in
the same order on both, command by command.

A subscriber takes every event (``PSUBSCRIBE __key*__:*``); after each
command a third connection publishes a marker, so the events between two
markers are that command's. Left out: key expiry by the passing of time -
Redis expires keys when it meets them or samples them, ranet at the first
entry applied after their deadline (and the leader writes one when keys are
due: test_notifications.py); the scripts expire keys only by giving
deadlines already past, which both handle at once.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hiredis
import pytest

from tests.kv.fake_backend import WAIT, served
from tests.kv.notification_corpus import corpus

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    pytestmark,
    redis_server,
)

CORPUS = corpus()


class Raw:
    """A RESP2 connection with nothing between the test and the wire."""

    def __init__(self, address: str | tuple[str, int]) -> None:
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.settimeout(WAIT)
        self.socket.connect(address)
        self.reader = hiredis.Reader()

    def call(self, *words: bytes | str) -> Any:
        self.send(*words)
        return self.read()

    def send(self, *words: bytes | str) -> None:
        self.send_at_once([words])

    def send_at_once(self, commands: Sequence[Sequence[bytes | str]]) -> None:
        """Commands in one write: the server reads them together, as a pipeline."""
        parts = []
        for words in commands:
            parts.append(b"*%d\r\n" % len(words))
            for word in words:
                data = word.encode() if isinstance(word, str) else word
                parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.socket.sendall(b"".join(parts))

    def read(self) -> Any:
        while (reply := self.reader.gets()) is False:
            data = self.socket.recv(1 << 16)
            if not data:
                raise ConnectionError("the server closed the connection")
            self.reader.feed(data)
        return reply

    def close(self) -> None:
        self.socket.close()

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def events_of(
    address: str | tuple[str, int], commands: list[list[bytes]], classes: str
) -> list[str]:
    """Each command, and the events it made, as text."""
    admin, client, subscriber, marker = (Raw(address) for _ in range(4))
    try:
        admin.call("FLUSHALL")
        assert admin.call("CONFIG", "SET", "notify-keyspace-events", classes) == b"OK"
        subscriber.call("PSUBSCRIBE", "__key*__:*")
        subscriber.call("SUBSCRIBE", "marker")
        out = []
        for number, command in enumerate(commands):
            client.call(*command)
            marker.call("PUBLISH", "marker", str(number))
            seen = []
            while (message := subscriber.read())[0] != b"message":
                seen.append(f"{message[2].decode()} {message[3].decode()}")
            out.append(f"{b' '.join(command)[:80]!r} -> {seen}")
        return out
    finally:
        for connection in (admin, client, subscriber, marker):
            connection.close()


@pytest.mark.parametrize(
    ("script", "classes"),
    [
        *((script, "KEA") for script in sorted(CORPUS)),
        ("keys and values", "KEAn"),  # and every key made
        ("keys and values", "Kgx"),  # some classes, one channel
        ("keys and values", "E$lsh"),
        ("extras", "KEAn"),
    ],
)
def test_ranet_notifies_as_redis_does(
    redis_server: Path,  # noqa: F811
    script: str,
    classes: str,
) -> None:
    commands = CORPUS[script]
    expected = events_of(str(redis_server), commands, classes)
    with served() as server:
        got = events_of(("127.0.0.1", server.port), commands, classes)
    assert got == expected
    assert sum(line.endswith("-> []") for line in got) < len(got)  # events were compared


CONFIG_COMMANDS = [
    ["CONFIG", "SET", "notify-keyspace-events", "KEA"],
    ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", "xgK"],
    ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", "dtez$E"],
    ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", "q"],
    ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", ""],
    ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", "KEA", "notify-keyspace-events", "KE"],
    ["CONFIG", "SET", "nosuch", "1"],
    ["CONFIG", "SET", "maxmemory", "0", "nosuch", "1"],
    ["CONFIG", "SET", "NOTIFY-KEYSPACE-EVENTS", "Kl"],
    ["CONFIG", "GET", "notify-*"],
    ["CONFIG", "SET", "notify-keyspace-events", ""],
]


def test_config_set_answers_as_redis_does(redis_server: Path) -> None:  # noqa: F811
    """The value, CONFIG GET's spelling of it, and the errors (what ranet
    adds to Redis's - no 'm' - is tested in test_notifications.py)."""
    commands = [[word.encode() for word in command] for command in CONFIG_COMMANDS]
    answers = []
    for address in (str(redis_server), None):
        if address is None:
            with served() as server:
                answers.append(replies(("127.0.0.1", server.port), commands))
        else:
            answers.append(replies(address, commands))
    assert answers[1] == answers[0]


def replies(address: str | tuple[str, int], commands: list[list[bytes]]) -> list[object]:
    connection = Raw(address)
    try:
        answered = [connection.call(*command) for command in commands]
    finally:
        connection.close()
    return [f"error: {a}" if isinstance(a, hiredis.ReplyError) else a for a in answered]
