"""CLIENT REPLY, CLIENT PAUSE / UNPAUSE and WAIT's argument errors against
redis-server 7.0.15: the same bytes, in the same order, in RESP2 and RESP3.

Every scenario runs on fresh connections of each server and records what a
connection received, as raw bytes, at marks: until a reply that ends a
pipeline (``ECHO end`` after ``CLIENT REPLY ON``), or, for a connection a
pause holds, what came before it was held - the controller, a MONITOR
connection (Redis never holds one, nor does ranet), sees the ``b`` flag in
CLIENT LIST, then ends the pause. WAIT's counts differ by design (a Redis
without replicas answers 0; ranet counts the cluster's members), so only
its errors are compared.
"""

from __future__ import annotations

import hashlib
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.kv.fake_backend import WAIT, served
from tests.kv.test_notifications_against_redis import Raw

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    pytestmark,
    redis_server,
)

Address = str | tuple[str, int]
Command = str | list[str]  # a line split at spaces, or the words
Step = tuple[str, str | list[Command]]  # paused()'s: who, and what
END = b"$3\r\nend\r\n"  # ECHO end, in either protocol
FIRST = b"$5\r\nfirst\r\n"  # ECHO first
MARKS = {
    "until": END,
    "first": FIRST,
    "ok": b"+OK\r\n",
    "queued": b"+QUEUED\r\n",
    "subcommand": b"Try OBJECT HELP.\r\n",
    "refused": b"allowed in this context\r\n",
    "pong x": b"$1\r\nx\r\n",
}
MONITOR_LINE = re.compile(rb"^\d+\.\d{6} \[")
NO_WRITES = "#!lua flags=no-writes\nreturn 2"
SHA = hashlib.sha1(NO_WRITES.encode()).hexdigest()
LIBRARY = (
    "#!lua name=lib\n"
    "redis.register_function('f', function() return 1 end)\n"
    "redis.register_function{function_name='g', callback=function() return 2 end,"
    " flags={'no-writes'}}"
)


class Wire:
    """A connection whose replies are kept as the bytes that came."""

    def __init__(self, address: Address, name: str, *, resp3: bool) -> None:
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.settimeout(WAIT)
        self.socket.connect(address)
        self.buffer = b""
        self.send(["CLIENT", "SETNAME", name])
        self.until(b"+OK\r\n")
        if resp3:
            self.send(["HELLO", "3"])
            self.until(b"$7\r\nmodules\r\n*0\r\n")  # the greeting: ids and versions differ

    def send(self, *commands: Command) -> None:
        """Send commands as one pipeline; a string is split at spaces."""
        parts = []
        for command in commands:
            words = command.split() if isinstance(command, str) else command
            parts.append(b"*%d\r\n" % len(words))
            for word in words:
                data = word.encode()
                parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.socket.sendall(b"".join(parts))

    def until(self, mark: bytes) -> bytes:
        """The bytes received up to and including ``mark`` (bounded by WAIT)."""
        deadline = time.monotonic() + WAIT
        while mark not in self.buffer:
            assert time.monotonic() < deadline, f"never received {mark!r}: {self.buffer!r}"
            data = self.socket.recv(1 << 16)
            assert data, f"closed before {mark!r}: {self.buffer!r}"
            self.buffer += data
        end = self.buffer.index(mark) + len(mark)
        received, self.buffer = self.buffer[:end], self.buffer[end:]
        return received

    def waiting(self) -> bytes:
        """What was received and not yet read, without waiting for more."""
        self.socket.setblocking(False)
        try:
            while data := self.socket.recv(1 << 16):
                self.buffer += data
        except BlockingIOError:
            pass
        finally:
            self.socket.setblocking(True)
            self.socket.settimeout(WAIT)
        received, self.buffer = self.buffer, b""
        return received

    def close(self) -> None:
        self.socket.close()


class Controller(Raw):
    """A MONITOR connection that pauses, checks who is held, and unpauses:
    a pause never holds it. Its monitor lines are skipped."""

    def __init__(self, address: Address) -> None:
        super().__init__(address)
        assert self.call("MONITOR") == b"OK"

    def ask(self, command: str) -> object:
        self.send(*command.split())
        while isinstance(reply := self.read(), bytes) and MONITOR_LINE.match(reply):
            pass
        return reply

    def wait_until_held(self, name: str) -> str:
        """Once CLIENT LIST shows the connection ``name`` waiting (flag b)."""
        deadline = time.monotonic() + WAIT
        while True:
            listed = self.ask("CLIENT LIST")
            assert isinstance(listed, bytes)
            flags = re.search(rb"name=%s .*?flags=(\S+)" % name.encode(), listed)
            if flags is not None and b"b" in flags[1]:
                return "held"
            assert time.monotonic() < deadline, f"{name} never held: {listed!r}"
            time.sleep(0.01)


Scenario = Callable[[Address, bool], list[object]]


def client_reply_pipelines(address: Address, resp3: bool) -> list[object]:
    """Each pipeline, then CLIENT REPLY ON and ECHO end: what came."""
    pipelines = [
        ["CLIENT REPLY OFF", "SET a 1", "GET a", "BOGUS", "CLIENT REPLY BAD", "CLIENT REPLY",
         "CLIENT REPLY ON", "GET a"],
        ["CLIENT REPLY SKIP", "GET a", "GET a", "CLIENT REPLY SKIP", "CLIENT REPLY ON", "PING"],
        ["CLIENT REPLY SKIP", "CLIENT REPLY SKIP", "PING", "PING"],
        ["CLIENT REPLY OFF", "CLIENT REPLY SKIP", "PING", "CLIENT REPLY ON", "PING"],
        ["client reply On", "CLIENT REPLY on extra", "client reply", "CLIENT REPLY SKIP x"],
        ["CLIENT REPLY SKIP", "RESET", "PING"],
        ["CLIENT REPLY OFF", "RESET", "PING"],
        ["SET x 1", "CLIENT REPLY SKIP", "SET y 2", "SET z 3", "MGET x y z", "INCR x",
         "CLIENT REPLY SKIP", "INCR x", "GET x"],
        ["SET a 1", "CLIENT REPLY OFF", "GET a", "MULTI", "SET a 2", "EXEC", "CLIENT REPLY ON",
         "GET a"],
        ["CLIENT REPLY SKIP", "MULTI", "SET b 1", "EXEC"],
        ["CLIENT REPLY OFF", "SUBSCRIBE ch", "PING", "PING x", "UNSUBSCRIBE", "UNSUBSCRIBE",
         "PSUBSCRIBE p*", "PUNSUBSCRIBE", "SSUBSCRIBE s", "SUNSUBSCRIBE"],
        ["CLIENT REPLY SKIP", "SUBSCRIBE ch", "UNSUBSCRIBE ch"],
        ["CLIENT REPLY OFF", "WAIT 0 x", "CLIENT PAUSE x", "CLIENT REPLY ON", "WAIT 0 x"],
    ]  # fmt: skip
    c = Wire(address, "c", resp3=resp3)
    try:
        out: list[object] = []
        for pipeline in pipelines:
            c.send(*pipeline, "CLIENT REPLY ON", "ECHO end")
            out.append(c.until(END))
        return out
    finally:
        c.close()


def messages_while_replies_are_off(address: Address, resp3: bool) -> list[object]:
    """Pub/sub messages and confirmations (and RESP3's invalidations) come
    whatever CLIENT REPLY says; the replies around them do not."""
    c, d = Wire(address, "c", resp3=resp3), Wire(address, "d", resp3=False)
    try:
        c.send("CLIENT REPLY OFF", "SUBSCRIBE ch")
        out: list[object] = [c.until(b":1\r\n")]
        d.send("PUBLISH ch hi")
        out += [d.until(b"\r\n"), c.until(b"$2\r\nhi\r\n")]
        c.send("PING", "UNSUBSCRIBE ch", "CLIENT REPLY ON", "ECHO end")
        out.append(c.until(END))
        if resp3:  # the invalidation of a key read while replies are off
            c.send("CLIENT REPLY OFF", "CLIENT TRACKING ON", "GET t", "SUBSCRIBE sync")
            out.append(c.until(b":1\r\n"))
            d.send("SET t 2")
            out += [d.until(b"+OK\r\n"), c.until(b"$1\r\nt\r\n")]
            c.send("UNSUBSCRIBE sync", "CLIENT TRACKING OFF", "CLIENT REPLY ON", "ECHO end")
            out.append(c.until(END))
        return out
    finally:
        c.close()
        d.close()


def errors(address: Address, resp3: bool) -> list[object]:
    """CLIENT PAUSE's and WAIT's argument errors; pauses that pause nothing."""
    commands = [
        "CLIENT PAUSE", "CLIENT PAUSE x", "CLIENT PAUSE -1", "CLIENT PAUSE 100 READ",
        "CLIENT PAUSE x READ", "CLIENT PAUSE 1 WRITE x", "CLIENT UNPAUSE x", "CLIENT PAUSE 1.5",
        "CLIENT PAUSE -1 ALL", "client pause 0 write", "CLIENT PAUSE 0", "SET k 1",
        "CLIENT PAUSE 9223372036854775807", "GET k", "CLIENT PAUSE 9223372036854775806 WRITE",
        "SET k 2", "CLIENT UNPAUSE", "CLIENT UNPAUSE",
        "WAIT", "WAIT 1", "WAIT 1 2 3", "WAIT x 0", "WAIT 0 x", "WAIT x x", "WAIT 0 -1",
        "WAIT 9223372036854775808 0", "WAIT 0 1.5", "WAIT -1 x",
    ]  # fmt: skip
    c = Wire(address, "c", resp3=resp3)
    try:
        c.send(*commands, "ECHO end")
        return [c.until(END)]
    finally:
        c.close()


def paused(
    address: Address,
    resp3: bool,
    steps: list[Step],
) -> list[object]:
    """Run ``steps`` with connections c, d and the controller: ("ctl",
    command), (name, commands to send), ("held", name) - once it is held -,
    ("waiting", name) - what it received and was not read -, and a mark
    (``MARKS``) with a name: what it received up to that mark."""
    controller = Controller(address)
    wires = {name: Wire(address, name, resp3=resp3) for name in ("c", "d")}
    try:
        out: list[object] = []
        for who, what in steps:
            if who == "ctl":
                assert isinstance(what, str)
                out.append(controller.ask(what))
            elif who == "held":
                assert isinstance(what, str)
                out.append(controller.wait_until_held(what))
            elif who == "waiting":
                assert isinstance(what, str)
                out.append(wires[what].waiting())
            elif who in MARKS:
                assert isinstance(what, str)
                out.append(wires[what].until(MARKS[who]))
            else:
                wires[who].send(*([what] if isinstance(what, str) else what))
        return out
    finally:
        controller.ask("CLIENT UNPAUSE")
        controller.close()
        for wire in wires.values():
            wire.close()


def _held_alone(command: Command) -> list[Step]:
    """Steps: under a WRITE pause, ``command`` is held, then answered."""
    return [
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", [command, "ECHO end"]),
        ("held", "c"),
        ("waiting", "c"),
        ("ctl", "CLIENT UNPAUSE"),
        ("until", "c"),
    ]


PASSED_BY_WRITE: list[Command] = [
    "GET k", "TTL k", "PING", "EVAL_RO return 1 0", f"EVALSHA {SHA} 0", ["EVAL", NO_WRITES, "0"],
    "FCALL g 0", "FCALL_RO g 0", f"SCRIPT EXISTS {SHA}", ["SCRIPT", "LOAD", "return 3"],
    "SCRIPT FLUSH", "WATCH k", "UNWATCH", "SORT_RO l", "GEORADIUS_RO g 0 0 1 km",
    "PUBSUB NUMPAT", "ACL WHOAMI", "CONFIG GET maxmemory", "EXISTS k",
]  # fmt: skip
PAUSES: dict[str, list[Step]] = {
    "a write pauses; reads before and after it keep their order": [
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", ["GET k", "ECHO first", "SET k 1", "GET k", "PING", "ECHO end"]),
        ("held", "c"),
        ("first", "c"),
        ("waiting", "c"),
        ("d", ["GET k", "ECHO end"]),  # another connection's read goes on
        ("until", "d"),
        ("ctl", "CLIENT UNPAUSE"),
        ("until", "c"),
    ],
    "ALL holds every command; errors found first are answered at once": [
        ("ctl", "CLIENT PAUSE 10000 ALL"),
        ("c", ["NOSUCH", "GET", "OBJECT NOSUCH", "ECHO first", "PING", "GET k", "ECHO end"]),
        ("held", "c"),
        ("subcommand", "c"),
        ("waiting", "c"),
        ("d", ["CLIENT UNPAUSE", "ECHO end"]),  # held too
        ("held", "d"),
        ("ctl", "CLIENT UNPAUSE"),
        ("until", "c"),
        ("until", "d"),
    ],
    "a later pause strengthens WRITE to ALL": [
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", ["ECHO first"]),
        ("first", "c"),
        ("ctl", "CLIENT PAUSE 0 ALL"),
        ("c", ["ECHO second", "ECHO end"]),
        ("held", "c"),
        ("waiting", "c"),
        ("ctl", "CLIENT UNPAUSE"),
        ("until", "c"),
    ],
    "in MULTI a write is held before it is queued, and EXEC if it writes": [
        ("c", "MULTI"),
        ("ok", "c"),
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", ["GET k", "SET k 2"]),
        ("held", "c"),
        ("queued", "c"),
        ("waiting", "c"),
        ("ctl", "CLIENT UNPAUSE"),
        ("queued", "c"),
        ("c", ["EXEC", "ECHO end"]),
        ("until", "c"),
        ("c", ["MULTI", "SET k 3"]),
        ("queued", "c"),
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", ["EXEC", "ECHO end"]),
        ("held", "c"),
        ("waiting", "c"),
        ("ctl", "CLIENT UNPAUSE"),
        ("until", "c"),
        ("c", ["MULTI", "GET k", "TTL k"]),
        ("queued", "c"),
        ("queued", "c"),
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", ["EXEC", "ECHO end"]),  # reads only: not held
        ("until", "c"),
    ],
    "what WRITE lets through: reads, scripts and functions declared no-writes": [
        (
            "c",
            [["FUNCTION", "LOAD", "REPLACE", LIBRARY], ["SCRIPT", "LOAD", NO_WRITES], "ECHO end"],
        ),
        ("until", "c"),
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", [*PASSED_BY_WRITE, "ECHO end"]),
        ("until", "c"),
    ],
    "a WRITE pause and CLIENT REPLY: a SKIP waits for the held command": [
        ("c", ["CLIENT REPLY SKIP"]),
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", ["SET k 9", "GET k", "ECHO end"]),
        ("held", "c"),
        ("waiting", "c"),
        ("ctl", "CLIENT UNPAUSE"),
        ("until", "c"),
        ("c", ["CLIENT REPLY OFF"]),
        ("ctl", "CLIENT PAUSE 10000 WRITE"),
        ("c", ["INCR k", "CLIENT REPLY ON", "GET k", "ECHO end"]),
        ("held", "c"),
        ("waiting", "c"),
        ("ctl", "CLIENT UNPAUSE"),
        ("until", "c"),
    ],
}
HELD_BY_WRITE: list[Command] = [
    "SET k 1", "PFCOUNT h", "PUBLISH ch m", "SPUBLISH ch m", "EVAL return 1 0",
    ["EVAL", "#!lua\nreturn 1", "0"], ["EVAL_RO", "#!lua\nreturn 1", "0"], "FCALL f 0",
    "FCALL_RO f 0", "XGROUP CREATE s g $ MKSTREAM", "BLPOP l 0.01", "EXPIRE k 100",
    "SETEX k 100 v", "FUNCTION FLUSH",
]  # fmt: skip


def pauses(address: Address, resp3: bool) -> list[object]:
    out: list[object] = []
    for name, steps in PAUSES.items():
        out += [name, *paused(address, resp3, steps)]
    for command in HELD_BY_WRITE:
        load: list[Step] = [
            ("c", [["FUNCTION", "LOAD", "REPLACE", LIBRARY], "RPUSH l x", "ECHO end"]),
            ("until", "c"),
        ]
        out += [command, *paused(address, resp3, [*load, *_held_alone(command)])]
    return out


def subscribed_under_pause(address: Address, resp3: bool) -> list[object]:
    """A subscribed RESP2 connection's refusal comes before any pause."""
    return paused(
        address,
        resp3,
        [
            ("c", "SUBSCRIBE x"),
            ("c", "PING x"),
            ("pong x", "c"),
            ("ctl", "CLIENT PAUSE 10000 ALL"),
            ("c", ["GET k", "PING", "UNSUBSCRIBE x", "ECHO end"]),
            ("held", "c"),
            ("refused", "c"),
            ("waiting", "c"),
            ("ctl", "CLIENT UNPAUSE"),
            ("until", "c"),
        ],
    )


SCENARIOS: dict[str, Scenario] = {
    "client reply pipelines": client_reply_pipelines,
    "messages while replies are off": messages_while_replies_are_off,
    "errors": errors,
    "pauses": pauses,
}


def _reset(address: Address) -> None:
    with Raw(address) as admin:
        admin.call("FLUSHALL")
        admin.call("FUNCTION", "FLUSH")


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_client_flow_answers_as_redis_does(
    redis_server: Path,  # noqa: F811
    scenario: str,
    resp3: bool,
) -> None:
    run = SCENARIOS[scenario]
    _reset(str(redis_server))
    expected = run(str(redis_server), resp3)
    with served() as server:
        actual = run(("127.0.0.1", server.port), resp3)
    assert actual == expected


def test_a_subscribed_connection_is_refused_before_any_pause(redis_server: Path) -> None:  # noqa: F811
    expected = subscribed_under_pause(str(redis_server), False)
    with served() as server:
        actual = subscribed_under_pause(("127.0.0.1", server.port), False)
    assert actual == expected
