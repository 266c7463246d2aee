"""SLOWLOG against redis-server 7.0.15, with ``slowlog-log-slower-than 0``
so that every command is logged: the same entries, in the same order, for
the same commands - plain, pipelined, in MULTI / EXEC, scripts, blocking
ones, long and many arguments, AUTH's and HELLO's and ACL SETUSER's
secrets redacted, client names, errors and wrong numbers of arguments
(logged or not), SLOWLOG's own subcommands and CONFIG SET's checks of the
two settings - and the same replies, in RESP2 and RESP3.

An entry is compared as its arguments, its client and its client's name:
times, durations and ports differ between servers, so ids are only
checked to count down. Clients are told apart by their addresses (CLIENT
INFO when they connect), on TCP. The calls a script makes, which Redis
logs as made by its Lua client (address ``?:0``), are left out of Redis's
log: ranet runs scripts in the log, on every node, and logs only the
script command (docs/kv-server.md, SLOWLOG).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.kv.fake_backend import WAIT, served
from tests.kv.test_monitor_against_redis import redis_on_tcp  # noqa: F401  (a fixture)
from tests.kv.test_notifications_against_redis import Raw

from .test_against_redis import pytestmark  # noqa: F401  (the skip without redis-server)

SCRIPT = "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])"


@dataclass(frozen=True)
class Pipeline:
    """Commands sent at once, their replies read after."""

    commands: list[list[str]]


@dataclass(frozen=True)
class Send:
    """A command sent, its reply read by a later ``Receive``: a client that blocks."""

    command: list[str]


@dataclass(frozen=True)
class Receive:
    pass


@dataclass(frozen=True)
class WaitBlocked:
    """Until the connection named waits in a blocking command (the log off
    meanwhile: the polls are not part of the comparison)."""

    name: str


Step = list[str] | Pipeline | Send | Receive | WaitBlocked

STEPS: list[tuple[str, Step]] = [
    ("a", ["SET", "k", "v"]),
    ("a", ["GET", "k"]),
    ("a", ["get", "k"]),
    ("a", ["NOSUCH", "x"]),  # unknown: not logged
    ("a", ["GET"]),  # the wrong number of arguments: not logged
    ("a", ["PING", "a", "b"]),  # PING's own check: logged
    ("a", ["CONFIG", "FOO"]),  # an unknown subcommand: not logged
    ("a", ["CONFIG", "GET"]),  # a subcommand's number of arguments: not logged
    ("a", ["CONFIG", "SET", "a", "b", "c"]),  # CONFIG SET's own check: logged
    ("a", ["CLIENT", "FOO"]),
    ("a", ["CLIENT", "GETNAME", "x"]),
    ("a", ["XINFO", "FOO"]),  # answered by the store: still not logged
    ("a", ["XINFO", "STREAM"]),
    ("a", ["XINFO", "STREAM", "nostream"]),
    ("a", ["OBJECT", "FOO"]),
    ("a", ["OBJECT", "ENCODING"]),
    ("a", ["OBJECT", "ENCODING", "k"]),
    ("a", ["MEMORY", "FOO"]),
    ("a", ["SCRIPT", "FOO"]),
    ("a", ["FUNCTION", "LOAD"]),
    ("a", ["CLIENT", "SETNAME", "alice"]),  # the name once it ran
    ("a", ["CLIENT", "SETNAME", "a b"]),
    ("a", ["CLIENT", "GETNAME"]),
    ("a", ["ECHO", "x" * 128]),
    ("a", ["ECHO", "y" * 129]),
    ("a", ["SET", "big", "z" * 1000]),
    ("a", ["ECHO", "\x00\xff binary"]),
    ("a", ["DEL", *(f"key{i}" for i in range(31))]),  # 32 arguments: all of them
    ("a", ["DEL", *(f"key{i}" for i in range(32))]),  # 33: 31 and how many more
    ("a", ["RPUSH", "list", *(str(i) * 130 for i in range(40))]),
    ("b", ["MULTI"]),
    ("b", ["SET", "x", "1"]),  # queued: logged when EXEC runs it
    ("b", ["INCR", "x"]),
    ("b", ["LPUSH", "x", "y"]),
    ("b", ["EXEC"]),  # not itself
    ("b", ["MULTI"]),
    ("b", ["GET"]),
    ("b", ["EXEC"]),  # EXECABORT: nothing ran
    ("b", ["EXEC"]),
    ("b", ["DISCARD"]),
    ("b", ["MULTI"]),
    ("b", ["WATCH", "x"]),
    ("b", ["MULTI"]),
    ("b", ["DISCARD"]),
    ("b", ["WATCH", "x"]),
    ("a", ["SET", "x", "2"]),
    ("b", ["MULTI"]),
    ("b", ["GET", "x"]),
    ("b", ["EXEC"]),  # a watched key changed: nothing ran
    (
        "a",
        Pipeline(
            [["SET", "p", "1"], ["GET", "p"], ["INCR", "p"], ["MGET", "p", "q"], ["GET", "p"]]
        ),
    ),
    ("a", Pipeline([["PING"], ["ECHO", "e"], ["CLIENT", "GETNAME"]])),
    ("a", Pipeline([["MULTI"], ["SET", "t", "1"], ["GET", "t"], ["EXEC"]])),
    ("b", ["AUTH", "pw"]),
    ("b", ["AUTH", "u", "pw"]),
    ("b", ["AUTH", "a", "b", "c"]),  # refused before it read them: not redacted
    ("a", ["ACL", "SETUSER", "u", "on", ">pw", "~u:*", "+@all"]),
    ("b", ["AUTH", "u", "pw"]),
    ("b", ["GET", "k"]),  # refused by ACL: not logged
    ("b", ["GET", "u:1"]),
    ("b", ["HELLO", "{protocol}", "AUTH", "u", "pw", "SETNAME", "bob"]),
    ("b", ["HELLO", "x", "AUTH", "u", "pw"]),  # not read: not redacted
    ("b", ["HELLO", "4", "AUTH", "u", "pw"]),
    ("b", ["HELLO", "{protocol}", "FOO", "AUTH", "u", "pw"]),  # not read: not redacted
    ("a", ["ACL", "GETUSER", "nobody"]),
    ("a", ["acl", "whoami"]),
    ("b", ["RESET"]),
    ("a", ["ACL", "DELUSER", "u"]),
    ("c", ["SUBSCRIBE", "ch"]),
    ("c", ["GET", "k"]),  # refused while subscribed in RESP2 (and not logged)
    ("c", ["PING"]),
    ("c", ["UNSUBSCRIBE"]),
    ("c", ["RPUSH", "q", "x"]),
    ("c", ["BLPOP", "q", "0"]),  # takes at once
    ("c", ["BLPOP", "q", "0.05"]),  # times out: not logged
    ("c", ["XREAD", "BLOCK", "50", "STREAMS", "s2", "$"]),
    ("c", Send(["BLPOP", "q", "0"])),
    ("a", WaitBlocked("c")),
    ("a", ["LPUSH", "q", "y"]),
    ("c", Receive()),  # logged once it took
    ("c", Send(["XREAD", "BLOCK", "0", "STREAMS", "s3", "$"])),
    ("a", WaitBlocked("c")),
    ("a", ["XADD", "s3", "1-1", "f", "v"]),
    ("c", Receive()),
    ("c", ["MULTI"]),
    ("c", ["BLPOP", "q", "0"]),
    ("c", ["EXEC"]),
    ("a", ["SLOWLOG", "LEN"]),
    ("a", ["SLOWLOG", "GET", "2"]),
    ("a", ["SLOWLOG", "GET", "0"]),
    ("a", ["slowlog", "get", "1"]),
    ("a", ["SLOWLOG", "GET", "1", "2"]),
    ("a", ["SLOWLOG", "GET", "x"]),
    ("a", ["SLOWLOG", "GET", "-2"]),
    ("a", ["SLOWLOG", "GET", "99999999999999999999"]),
    ("a", ["SLOWLOG", "FOO"]),
    ("a", ["SLOWLOG", "LEN", "x"]),
    ("a", ["SLOWLOG", "RESET", "x"]),
    ("a", ["SLOWLOG"]),
    ("a", ["SLOWLOG", "HELP"]),
    ("a", ["SLOWLOG", "GET"]),
    ("a", ["CONFIG", "GET", "slowlog-log-slower-than"]),
    ("a", ["CONFIG", "GET", "slowlog-max-len"]),
    ("a", ["CONFIG", "SET", "slowlog-log-slower-than", "x"]),
    ("a", ["CONFIG", "SET", "slowlog-log-slower-than", "-2"]),
    ("a", ["CONFIG", "SET", "slowlog-log-slower-than", "1.5"]),
    ("a", ["CONFIG", "SET", "slowlog-log-slower-than", "9223372036854775808"]),
    ("a", ["CONFIG", "SET", "slowlog-max-len", "-1"]),
    ("a", ["CONFIG", "SET", "slowlog-max-len", "1k"]),
    ("a", ["CONFIG", "SET", "SLOWLOG-MAX-LEN", "5", "slowlog-max-len", "6"]),
    ("a", ["CONFIG", "SET", "slowlog-max-len", "200", "slowlog-log-slower-than", "x"]),
    ("a", ["CONFIG", "SET", "Slowlog-Nothing", "1"]),
    ("a", ["CONFIG", "GET", "slowlog-max-len"]),  # unchanged: all or nothing
    ("a", ["EVAL", SCRIPT, "1", "s", "v"]),
    ("a", ["EVALSHA", "nosuch", "0"]),
    ("d", ["QUIT"]),
    ("a", ["SLOWLOG", "GET", "-1"]),  # the whole log
    ("a", ["CONFIG", "SET", "slowlog-max-len", "3"]),  # trims as it logs itself
    ("a", ["SLOWLOG", "LEN"]),
    ("a", ["SLOWLOG", "GET", "-1"]),
    ("a", ["CONFIG", "SET", "slowlog-log-slower-than", "-1"]),  # off: not even itself
    ("a", ["SET", "after", "1"]),
    ("a", ["SLOWLOG", "RESET"]),
    ("a", ["SLOWLOG", "LEN"]),
]


def run(address: tuple[str, int], protocol: int) -> list[str]:
    """Each step and its reply, entries as ``normalized`` shows them."""
    connections = {name: Raw(address) for name in "abcd"}
    try:
        names = {}
        for name, connection in connections.items():
            if protocol == 3:
                connection.call("HELLO", "3")
            info = connection.call("CLIENT", "INFO")
            names[re.search(rb"addr=(\S+)", info).group(1)] = name  # type: ignore[union-attr]
        admin = connections["a"]
        assert admin.call("CONFIG", "SET", "slowlog-max-len", "1000") == b"OK"
        assert admin.call("CONFIG", "SET", "slowlog-log-slower-than", "0") == b"OK"
        assert admin.call("SLOWLOG", "RESET") == b"OK"
        out = []
        for who, step in STEPS:
            reply = _take(connections, who, step, protocol)
            out.append(f"{who} {step!r} -> {normalized(reply, names)!r}")
        return out
    finally:
        for connection in connections.values():
            connection.close()


def _take(connections: dict[str, Raw], who: str, step: Step, protocol: int) -> Any:
    connection = connections[who]
    if isinstance(step, Pipeline):
        connection.send_at_once(step.commands)
        return [connection.read() for _ in step.commands]
    if isinstance(step, Send):
        connection.send(*step.command)
        return None
    if isinstance(step, Receive):
        return connection.read()
    if isinstance(step, WaitBlocked):
        _wait_blocked(connection, connections[step.name])
        return None
    return connection.call(*(word.replace("{protocol}", str(protocol)) for word in step))


def _wait_blocked(admin: Raw, blocked: Raw) -> None:
    address = blocked.socket.getsockname()
    wanted = f"addr={address[0]}:{address[1]} ".encode()
    assert admin.call("CONFIG", "SET", "slowlog-log-slower-than", "-1") == b"OK"
    deadline = time.monotonic() + WAIT
    while True:
        lines = admin.call("CLIENT", "LIST").splitlines()
        line = next(line for line in lines if wanted in line)
        if re.search(rb" flags=\w*b", line):
            break
        assert time.monotonic() < deadline, "the client never blocked"
        time.sleep(0.01)
    assert admin.call("CONFIG", "SET", "slowlog-log-slower-than", "0") == b"OK"


def normalized(reply: Any, names: dict[bytes, str]) -> Any:
    """A reply to compare: SLOWLOG GET's entries as their arguments, client
    and client name (the ids checked to count down), a script's calls left
    out; HELLO's map as ``hello``."""
    if isinstance(reply, dict) or (isinstance(reply, list) and reply[:1] == [b"server"]):
        return "hello"
    if isinstance(reply, list) and reply and all(map(_is_entry, reply)):
        ids = [entry[0] for entry in reply]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
        return [
            [entry[3], names.get(entry[4], "?"), entry[5]]
            for entry in reply
            if not entry[4].startswith(b"?:")
        ]
    if isinstance(reply, list):
        return [normalized(part, names) for part in reply]
    return reply


def _is_entry(reply: Any) -> bool:
    return (
        isinstance(reply, list)
        and len(reply) == 6
        and all(isinstance(reply[i], int) for i in range(3))
        and isinstance(reply[3], list)
    )


@pytest.mark.parametrize("protocol", [2, 3])
def test_slowlog_logs_what_redis_logs(
    redis_on_tcp: tuple[str, int],  # noqa: F811
    protocol: int,
) -> None:
    expected = run(redis_on_tcp, protocol)
    with served() as server:
        got = run(("127.0.0.1", server.port), protocol)
    for want, have in zip(expected, got, strict=True):
        assert have == want
    whole_log = next(line for line in got if "'GET', '-1'" in line)
    assert whole_log.count("[[") > 50  # the entries were compared, not only their absence
