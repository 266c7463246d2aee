"""ACL users against redis-server: ACL SETUSER / GETUSER / LIST / USERS /
DELUSER / DRYRUN / CAT / GENPASS / WHOAMI and their errors, AUTH and HELLO
as a user, and what a user may run - commands, subcommands, keys,
channels, scripts' calls, transactions, SORT's patterns - the same replies
from both, step by step, on three connections: ``a`` (the default user,
administering), ``u`` and ``w`` (logging in as the users made).

Two differences are normalized, both documented (docs/kv-server.md): Redis
7.0 describes a user's command rules recomputed from its command table, in
its order, where ranet keeps the rules given, in order (as Redis 7.2): the
words after ``+@all`` / ``-@all`` are compared as sets; and ACL CAT's
lists, unordered in Redis, are compared sorted, for the commands ranet
serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ranet.kv.commands import lookup
from tests.kv.fake_backend import served
from tests.kv.test_notifications_against_redis import Raw

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    pytestmark,
    redis_server,
)

Step = tuple[str, list[str]]
READ = "<read>"  # no command: read what arrives (a subscriber's message)
# the default user as it starts ("reset" would flag sanitize-payload)
RESET_DEFAULT = ["ACL", "SETUSER", "default", "on", "nopass", "resetkeys", "allkeys"]
RESET_DEFAULT += ["resetchannels", "allchannels", "+@all", "clearselectors"]

EVAL_GET = "return redis.call('get', KEYS[1])"
SCENARIOS: dict[str, list[Step]] = {
    "rules and their errors": [
        ("a", ["ACL", "SETUSER", "bad user", "on"]),
        ("a", ["ACL", "SETUSER", "x", "bogus"]),
        ("a", ["ACL", "SETUSER", "x", "+nocommand"]),
        ("a", ["ACL", "SETUSER", "x", "+@nocategory"]),
        ("a", ["ACL", "SETUSER", "x", "+config|nosub"]),
        ("a", ["ACL", "SETUSER", "x", "+config|get|x"]),
        ("a", ["ACL", "SETUSER", "x", "#abc"]),
        ("a", ["ACL", "SETUSER", "x", "!abc"]),
        ("a", ["ACL", "SETUSER", "x", "allkeys", "~more"]),
        ("a", ["ACL", "SETUSER", "x", "allchannels", "&more"]),
        ("a", ["ACL", "SETUSER", "x", "%X~a"]),
        ("a", ["ACL", "SETUSER", "x", "%~a"]),
        ("a", ["ACL", "SETUSER", "x", "~a b"]),
        ("a", ["ACL", "GETUSER", "x"]),  # nothing was made: all or none
        ("a", ["ACL", "SETUSER", "x"]),
        ("a", ["ACL", "GETUSER", "x"]),
        ("a", ["ACL", "SETUSER", "x", "!" + "0" * 64]),
        ("a", ["ACL", "SETUSER", "x", "on", "#" + "ab" * 32, "#" + "ab" * 32, "nopass"]),
        ("a", ["ACL", "SETUSER", "x", "resetpass", "#" + "cd" * 32, "sanitize-payload"]),
        ("a", ["ACL", "SETUSER", "x", "%R~r*", "%W~w*", "%RW~rw*", "~all*", "%R~w*"]),
        ("a", ["ACL", "SETUSER", "x", "&news", "&news", "&sport*"]),
        ("a", ["ACL", "GETUSER", "x"]),
        ("a", ["ACL", "SETUSER", "x", "resetkeys", "allkeys", "resetchannels", "allchannels"]),
        ("a", ["ACL", "SETUSER", "x", "-@all", "+get", "+set", "+config|get"]),
        ("a", ["ACL", "GETUSER", "x"]),
        ("a", ["ACL", "SETUSER", "x", "+@all", "-config|set", "-client|kill", "-select|0"]),
        ("a", ["ACL", "SETUSER", "x", "+@all", "-config|set", "-client|kill"]),
        ("a", ["ACL", "GETUSER", "x"]),
        ("a", ["ACL", "DRYRUN", "x", "CLIENT", "KILL", "1.2.3.4:5"]),
        ("a", ["ACL", "DRYRUN", "x", "CONFIG", "SET", "a", "b"]),
        ("a", ["ACL", "SETUSER", "x", "reset"]),
        ("a", ["ACL", "GETUSER", "x"]),
        ("a", ["ACL", "SETUSER", "y", "on", "nopass", "allkeys", "+@all", "-flushall"]),
        ("a", ["ACL", "LIST"]),
        ("a", ["ACL", "USERS"]),
        ("a", ["ACL", "GETUSER", "nobody"]),
        ("a", ["ACL", "DELUSER", "default"]),
        ("a", ["ACL", "DELUSER", "nobody", "y", "y"]),
        ("a", ["ACL", "USERS"]),
        ("a", ["ACL", "WHOAMI"]),
        ("a", ["ACL", "WHOAMI", "x"]),
        ("a", ["ACL", "CAT"]),
        ("a", ["ACL", "CAT", "Geo"]),
        ("a", ["ACL", "CAT", "hyperloglog"]),
        ("a", ["ACL", "CAT", "nothing"]),
        ("a", ["ACL", "CAT", "a", "b"]),
        ("a", ["ACL", "GENPASS", "0"]),
        ("a", ["ACL", "GENPASS", "4097"]),
        ("a", ["ACL", "GENPASS", "x"]),
        ("a", ["ACL", "SAVE"]),
        ("a", ["ACL", "LOAD"]),
        ("a", ["ACL", "NOSUCH"]),
        ("a", ["ACL", "GETUSER"]),
        ("a", ["ACL", "SETUSER"]),
        ("a", ["ACL", "DELUSER"]),
        ("a", ["ACL", "DRYRUN", "x"]),
        ("a", ["ACL", "USERS", "x"]),
        ("a", ["ACL"]),
    ],
    "what a user may run": [
        ("a", ["MSET", "app:1", "one", "other", "two", "app:n", "3"]),
        ("a", ["RPUSH", "app:list", "b", "a"]),
        ("a", ["ZADD", "app:z", "1", "m"]),
        ("a", ["XADD", "secret:s", "1-1", "f", "v"]),
        ("a", ["ACL", "SETUSER", "app", "on", ">s3cret", "~app:*", "&news", "+@all"]),
        ("a", ["ACL", "SETUSER", "app", "-@dangerous", "-config", "+config|get", "-flushdb"]),
        ("u", ["AUTH", "app", "wrong"]),
        ("u", ["AUTH", "nobody", "s3cret"]),
        ("u", ["AUTH", "app", "s3cret"]),
        ("u", ["ACL", "WHOAMI"]),
        ("u", ["GET", "app:1"]),
        ("u", ["GET", "other"]),
        ("u", ["SET", "app:2", "x"]),
        ("u", ["MSET", "app:3", "x", "other", "y"]),
        ("u", ["INCR", "app:n"]),
        ("u", ["KEYS", "*"]),
        ("u", ["FLUSHDB"]),
        ("u", ["CONFIG", "GET", "maxmemory"]),
        ("u", ["CONFIG", "SET", "maxmemory", "1"]),
        ("u", ["ACL", "LIST"]),
        ("u", ["ZUNIONSTORE", "app:d", "2", "app:z", "other"]),
        ("u", ["ZUNIONSTORE", "app:d", "1", "app:z"]),
        ("u", ["ZUNION", "2", "app:z", "other"]),
        ("u", ["LMPOP", "2", "app:list", "other", "LEFT"]),
        ("u", ["XREAD", "STREAMS", "secret:s", "0"]),
        ("u", ["RENAME", "app:2", "other:2"]),
        ("u", ["COPY", "app:1", "app:copy"]),
        ("u", ["SORT", "app:list", "ALPHA"]),
        ("u", ["SORT", "app:list", "BY", "nosort"]),
        ("u", ["SORT", "app:list", "BY", "w_*"]),
        ("u", ["SORT", "app:list", "ALPHA", "GET", "#"]),
        ("u", ["SORT", "app:list", "ALPHA", "STORE", "app:sorted"]),
        ("u", ["SORT", "app:list", "ALPHA", "STORE", "other"]),
        ("u", ["EVAL", EVAL_GET, "1", "app:1"]),
        ("u", ["EVAL", EVAL_GET, "1", "other"]),
        ("u", ["EVAL", "return redis.call('get', 'other')", "0"]),
        ("u", ["EVAL", "return redis.pcall('get', 'other')", "0"]),
        ("u", ["EVAL", "return redis.pcall('flushdb')", "0"]),
        ("u", ["EVAL", "return redis.pcall('publish', 'sport', 'x')", "0"]),
        ("u", ["EVAL", "return redis.call('set', 'app:lua', 'x')", "0"]),
        ("u", ["EVAL_RO", "return redis.pcall('get', 'other')", "0"]),
        ("u", ["PUBLISH", "news", "x"]),
        ("u", ["PUBLISH", "sport", "x"]),
        ("u", ["MULTI"]),
        ("u", ["SET", "app:4", "x"]),
        ("u", ["GET", "other"]),
        ("u", ["EXEC"]),
        ("u", ["GET", "app:4"]),
        ("u", ["MULTI"]),
        ("u", ["SET", "app:4", "x"]),
        ("u", ["EXEC"]),
        ("u", ["MULTI"]),
        ("u", ["SET", "app:5", "x"]),
        ("u", ["GET", "app:1"]),
        ("u", ["PUBLISH", "news", "x"]),
        ("u", ["INCR", "app:n"]),
        ("a", ["ACL", "SETUSER", "app", "-set", "resetchannels", "resetkeys", "~app:n"]),
        ("u", ["EXEC"]),  # checked again: refused in their places, the others run
        ("a", ["ACL", "SETUSER", "app", "+set", "&news", "~app:*"]),
        ("a", ["ACL", "DRYRUN", "app", "GET", "other"]),
        ("a", ["ACL", "DRYRUN", "app", "GET", "app:1"]),
        ("a", ["ACL", "DRYRUN", "app", "FLUSHDB"]),
        ("a", ["ACL", "DRYRUN", "app", "CONFIG", "SET", "a", "b"]),
        ("a", ["ACL", "DRYRUN", "app", "PUBLISH", "sport", "x"]),
        ("a", ["ACL", "DRYRUN", "app", "GET"]),
        ("a", ["ACL", "DRYRUN", "app", "NOSUCH"]),
        ("a", ["ACL", "DRYRUN", "nobody", "GET", "x"]),
        ("a", ["ACL", "SETUSER", "app", "-get"]),  # a connected user's rules change at once
        ("u", ["GET", "app:1"]),
        ("a", ["ACL", "SETUSER", "app", "off"]),  # logged in: still works (Redis)
        ("u", ["MGET", "app:1"]),
        ("w", ["AUTH", "app", "s3cret"]),
        ("a", ["ACL", "SETUSER", "app", "on", "resetpass", "nopass"]),
        ("w", ["AUTH", "app", "anything"]),
        ("w", ["HELLO", "2", "AUTH", "app", "x"]),
        ("w", ["ACL", "WHOAMI"]),
        ("w", ["RESET"]),
        ("w", ["ACL", "WHOAMI"]),
        ("a", ["ACL", "DELUSER", "app"]),  # its connections are closed
        ("u", ["PING"]),
    ],
    "read and write patterns": [
        ("a", ["MSET", "r:1", "1", "w:1", "1", "rw:1", "1"]),
        ("a", ["ACL", "SETUSER", "p", "on", "nopass", "+@all", "%R~r:*", "%W~w:*", "%RW~rw:*"]),
        ("u", ["AUTH", "p", "x"]),
        *(
            ("u", command)
            for key in ("r:1", "w:1", "rw:1")
            for command in (
                ["GET", key],
                ["SET", key, "2"],
                ["SET", key, "3", "GET"],
                ["INCR", key],
                ["EXISTS", key],
                ["TYPE", key],
                ["EXPIRE", key, "100"],
                ["DEL", key],
                ["BITFIELD", key, "GET", "u8", "0"],
                ["BITFIELD", key, "SET", "u8", "0", "1"],
                ["APPEND", key, "x"],
                ["COPY", "rw:1", key],
                ["COPY", key, "rw:2"],
                ["RENAME", key, "rw:3"],
                ["SORT", key, "STORE", "rw:4"],
                ["ZUNIONSTORE", key, "1", "rw:1"],
                ["LMOVE", key, "rw:5", "LEFT", "LEFT"],
                ["XREADGROUP", "GROUP", "g", "c", "STREAMS", key, ">"],
                ["EVAL", "return 1", "1", key],
                ["MSET", key, "1"],
            )
        ),
    ],
    "selectors": [
        ("a", ["MSET", "app:1", "1", "cache:1", "2", "other", "3"]),
        ("a", ["ACL", "SETUSER", "s", "on", "nopass", "~app:*", "-@all", "+get", "+set"]),
        ("a", ["ACL", "SETUSER", "s", "(~cache:* +get)", "(", "%R~ro:*", "+@read", "&news", ")"]),
        ("a", ["ACL", "SETUSER", "s", "(~x"]),
        ("a", ["ACL", "SETUSER", "s", "(~x", "+get"]),
        ("a", ["ACL", "SETUSER", "s", "(on)"]),
        ("a", ["ACL", "SETUSER", "s", "(~x bogus)"]),
        ("a", ["ACL", "SETUSER", "s", "(>pw)"]),
        ("a", ["ACL", "GETUSER", "s"]),
        ("a", ["ACL", "LIST"]),
        ("u", ["AUTH", "s", "x"]),
        ("u", ["GET", "app:1"]),
        ("u", ["SET", "app:1", "v"]),
        ("u", ["GET", "cache:1"]),
        ("u", ["SET", "cache:1", "v"]),  # no selector allows both
        ("u", ["MGET", "app:1", "cache:1"]),  # nor both keys
        ("u", ["GET", "ro:1"]),
        ("u", ["STRLEN", "ro:1"]),
        ("u", ["STRLEN", "app:1"]),
        ("u", ["DEL", "other"]),
        ("u", ["MGET", "other", "app:1"]),
        ("u", ["MGET", "app:1", "other"]),
        ("u", ["PUBLISH", "news", "x"]),
        ("u", ["SUBSCRIBE", "news"]),
        ("a", ["ACL", "DRYRUN", "s", "MGET", "app:1", "cache:1"]),
        ("a", ["ACL", "DRYRUN", "s", "GET", "cache:1"]),
        ("a", ["ACL", "SETUSER", "s", "clearselectors"]),
        ("a", ["ACL", "GETUSER", "s"]),
        ("u", ["GET", "cache:1"]),
        ("a", ["ACL", "SETUSER", "s", "(~x +get)", "reset"]),
        ("a", ["ACL", "GETUSER", "s"]),
    ],
    "the default user": [
        ("a", ["AUTH", "secret"]),
        ("a", ["ACL", "SETUSER", "limited", "on", ">pw", "~*", "+@all", "-set"]),
        ("u", ["AUTH", "limited", "pw"]),
        ("u", ["SET", "k", "v"]),
        ("a", ["ACL", "SETUSER", "default", "-get"]),
        ("a", ["GET", "k"]),
        ("a", ["ACL", "SETUSER", "default", "+get", ">secret"]),
        ("w", ["GET", "k"]),
        ("w", ["AUTH", "wrong"]),
        ("w", ["AUTH", "secret"]),
        ("w", ["GET", "k"]),
        ("a", ["ACL", "SETUSER", "default", "nopass"]),
    ],
    "channels": [
        ("a", ["ACL", "SETUSER", "sub", "on", "nopass", "+@all", "resetchannels", "&news.*"]),
        ("u", ["AUTH", "sub", "x"]),
        ("u", ["SUBSCRIBE", "news.sport", "other"]),
        ("u", ["PSUBSCRIBE", "news.s*"]),
        ("u", ["PSUBSCRIBE", "news.*"]),
        ("u", ["SUBSCRIBE", "news.sport"]),
        ("a", ["PUBLISH", "news.sport", "goal"]),
        ("u", [READ]),
        ("u", [READ]),
        ("a", ["ACL", "SETUSER", "sub", "resetchannels", "&weather"]),  # closed (Redis 7.0)
        ("u", ["PING"]),
    ],
    "the log": [
        ("a", ["ACL", "SETUSER", "app", "on", ">pw", "~app:*", "&news", "+@all", "-keys"]),
        ("u", ["AUTH", "app", "pw"]),
        ("u", ["KEYS", "*"]),
        ("u", ["KEYS", "*"]),  # counted in the same entry
        ("u", ["GET", "other"]),
        ("u", ["PUBLISH", "sport", "x"]),
        ("w", ["AUTH", "nobody", "pw"]),
        ("w", ["AUTH", "app", "wrong"]),
        ("u", ["MULTI"]),
        ("u", ["GET", "other"]),
        ("u", ["DISCARD"]),
        ("u", ["KEYS", "*"]),
        ("u", ["MULTI"]),
        ("u", ["GET", "app:1"]),
        ("a", ["ACL", "SETUSER", "app", "-get"]),
        ("u", ["EXEC"]),
        ("a", ["ACL", "LOG"]),
        ("a", ["ACL", "LOG", "2"]),
        ("a", ["ACL", "LOG", "0"]),
        ("a", ["ACL", "LOG", "-1"]),
        ("a", ["ACL", "LOG", "x"]),
        ("a", ["ACL", "LOG", "1", "2"]),
        ("a", ["ACL", "LOG", "reset"]),
        ("a", ["ACL", "LOG"]),
    ],
}


def run(address: str | tuple[str, int], steps: list[Step]) -> list[str]:
    """Each step and its reply (and what a subscriber received since), as text."""
    connections = {"a": Raw(address), "u": Raw(address), "w": Raw(address)}
    try:
        connections["a"].call("FLUSHALL")
        connections["a"].call("ACL", "LOG", "RESET")
        for user in connections["a"].call("ACL", "USERS"):
            if user != b"default":
                connections["a"].call("ACL", "DELUSER", user)
        out = []
        for who, command in steps:
            reply = _normalized(command, reply_or_closed(connections[who], command))
            out.append(f"{who} {command} -> {reply}")
        return out
    finally:
        with Raw(address) as admin:  # the default user as it was, whatever the scenario did
            admin.call("AUTH", "secret")
            admin.call(*RESET_DEFAULT)
        for connection in connections.values():
            connection.close()


def reply_or_closed(connection: Raw, command: list[str]) -> Any:
    """The reply (or, for READ, what arrives next), or ``closed``."""
    try:
        return connection.read() if command == [READ] else connection.call(*command)
    except OSError:  # ConnectionError, or a refused send
        return "closed"


def _normalized(command: list[str], reply: Any) -> Any:
    if command[:2] == ["ACL", "CAT"] and len(command) == 3 and isinstance(reply, list):
        return sorted(name for name in reply if lookup(name.split(b"|")[0]) is not None)
    if command[:2] == ["ACL", "GETUSER"] and isinstance(reply, list):
        fields = dict(zip(reply[::2], reply[1::2], strict=True))
        fields[b"commands"] = _rules(fields[b"commands"])
        return fields
    if command[:2] == ["ACL", "LIST"] and isinstance(reply, list):
        return [_rules(line) for line in reply]
    if command[:2] == ["ACL", "GENPASS"] and isinstance(reply, bytes):
        return len(reply)
    if command[:2] == ["ACL", "LOG"] and isinstance(reply, list):
        return [_entry(entry) for entry in reply]
    if command[0] == "HELLO" and isinstance(reply, list):
        return reply[reply.index(b"proto") + 1]  # not the servers' versions and ids
    return reply


def _entry(entry: list[Any]) -> dict[bytes, Any]:
    """An ACL LOG entry without what differs between servers: its age (a
    number, checked) and, of the client's description, all but its user
    and its command."""
    fields = dict(zip(entry[::2], entry[1::2], strict=True))
    assert float(fields.pop(b"age-seconds")) >= 0
    info = dict(field.split(b"=", 1) for field in fields[b"client-info"].split())
    fields[b"client-info"] = (info[b"user"], info[b"cmd"].split(b"|")[0])
    return fields


def _rules(text: bytes) -> list[bytes]:
    """The words up to ``+@all`` / ``-@all`` in order, the command rules after sorted."""
    words = text.split()
    start = next(i for i, word in enumerate(words) if word in (b"+@all", b"-@all"))
    return words[: start + 1] + sorted(words[start + 1 :])


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_acl_answers_as_redis_does(name: str, redis_server: Path) -> None:  # noqa: F811
    expected = run(str(redis_server), SCENARIOS[name])
    with served() as server:
        actual = run(("127.0.0.1", server.port), SCENARIOS[name])
    assert actual == expected
