"""CLIENT KILL, CLIENT LIST's filters, NO-EVICT and HELP against
redis-server: the same replies, errors included, and the same connections
closed or listed. Connections are named (CLIENT SETNAME) and CLIENT LIST's
lines compared as the names they list; ``{x}`` in a step is the id of
connection ``x``, ``{x.addr}`` its address, ``{x.laddr}`` the server's.
Each step is followed by a PING from every connection still open, so that
a connection a step closed shows as ``closed``.
"""

from __future__ import annotations

import re
from typing import Any

from tests.kv.fake_backend import served
from tests.kv.test_acl_against_redis import reply_or_closed
from tests.kv.test_monitor_against_redis import redis_on_tcp  # noqa: F401  (a fixture)
from tests.kv.test_notifications_against_redis import Raw

from .test_against_redis import pytestmark  # noqa: F401  (the skip without redis-server)

NAMES = ("a", "b", "c", "d", "e")
STEPS: list[tuple[str, list[str]]] = [
    ("a", ["ACL", "SETUSER", "app", "on", ">pw", "~*", "+@all"]),
    ("c", ["AUTH", "app", "pw"]),
    ("b", ["SUBSCRIBE", "news"]),
    ("a", ["CLIENT", "LIST", "TYPE", "pubsub"]),
    ("a", ["CLIENT", "LIST", "TYPE", "normal"]),
    ("a", ["CLIENT", "LIST", "TYPE", "replica"]),
    ("a", ["CLIENT", "LIST", "TYPE", "master"]),
    ("a", ["CLIENT", "LIST", "TYPE", "nothing"]),
    ("a", ["CLIENT", "LIST", "ID", "{c}", "{a}", "999999"]),
    ("a", ["CLIENT", "LIST", "ID", "x"]),
    ("a", ["CLIENT", "LIST", "ID"]),
    ("a", ["CLIENT", "LIST", "nothing"]),
    ("a", ["CLIENT", "KILL"]),
    ("a", ["CLIENT", "KILL", "1.2.3.4:5"]),
    ("a", ["CLIENT", "KILL", "ID", "0"]),
    ("a", ["CLIENT", "KILL", "ID", "x"]),
    ("a", ["CLIENT", "KILL", "ID", "999999"]),
    ("a", ["CLIENT", "KILL", "TYPE", "nothing"]),
    ("a", ["CLIENT", "KILL", "USER", "nobody"]),
    ("a", ["CLIENT", "KILL", "SKIPME", "maybe"]),
    ("a", ["CLIENT", "KILL", "MAXAGE", "5"]),
    ("a", ["CLIENT", "KILL", "ID", "{c}", "TYPE"]),
    ("a", ["CLIENT", "KILL", "USER", "app", "TYPE", "pubsub"]),
    ("a", ["CLIENT", "KILL", "TYPE", "pubsub"]),  # b
    ("a", ["CLIENT", "KILL", "USER", "app"]),  # c
    ("a", ["CLIENT", "KILL", "ADDR", "{d.addr}", "ID", "{e}"]),  # no one: both must hold
    ("a", ["CLIENT", "KILL", "{d.addr}"]),  # d, the old form
    ("a", ["CLIENT", "KILL", "LADDR", "{a.laddr}"]),  # e: SKIPME yes spares a
    ("a", ["CLIENT", "NO-EVICT", "ON"]),
    ("a", ["CLIENT", "NO-EVICT", "maybe"]),
    ("a", ["CLIENT", "NO-EVICT"]),
    ("a", ["CLIENT", "KILL", "ID", "{a}", "SKIPME", "no"]),  # itself: after the reply
]


def run(address: tuple[str, int]) -> list[str]:
    connections = {name: Raw(address) for name in NAMES}
    try:
        words: dict[str, str] = {}
        for name, connection in connections.items():
            assert connection.call("CLIENT", "SETNAME", name) == b"OK"
            info = connection.call("CLIENT", "INFO")
            fields = dict(field.split(b"=", 1) for field in info.split())
            words[name] = fields[b"id"].decode()
            words[f"{name}.addr"] = fields[b"addr"].decode()
            words[f"{name}.laddr"] = fields[b"laddr"].decode()
        out = []
        open_ = set(NAMES)
        for who, command in STEPS:
            args = [re.sub(r"\{([a-z.]+)\}", lambda m: words[m[1]], word) for word in command]
            reply = _listed(command, reply_or_closed(connections[who], args))
            pings = {}
            for name in sorted(open_):
                pong = reply_or_closed(connections[name], ["PING"])
                pings[name] = pong
                if pong == "closed":
                    open_.discard(name)
            out.append(f"{who} {command} -> {reply} {pings}")
        return out
    finally:
        with Raw(address) as admin:
            admin.call("ACL", "DELUSER", "app")
        for connection in connections.values():
            connection.close()


def _listed(command: list[str], reply: Any) -> Any:
    """CLIENT LIST's lines as the names they list."""
    if command[:2] == ["CLIENT", "LIST"] and isinstance(reply, bytes):
        return sorted(re.findall(rb"(?:^| )name=(\S*)", reply, re.MULTILINE))
    return reply


def test_client_kill_and_list_answer_as_redis_does(redis_on_tcp: tuple[str, int]) -> None:  # noqa: F811
    expected = run(redis_on_tcp)
    with served() as server:
        actual = run(("127.0.0.1", server.port))
    assert actual == expected
