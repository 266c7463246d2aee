"""MIGRATE against redis-server 7.0.15: the same keys moved from ranet and
from a redis-server to a third server, a redis-server of its own - every
reply, and what the target and the source hold afterwards, alike
(migrate.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from .fake_backend import served
from .test_against_redis import (  # noqa: F401  (the skip without redis-server)
    both_answer,
    pytestmark,
    redis_server,
    reply_to,
)
from .test_monitor_against_redis import redis_on_tcp  # noqa: F401  (a fixture)


def _steps(host: str, port: int) -> list[list[str]]:
    target = [host, str(port)]
    return [
        ["SET", "a", "1"],
        ["SET", "b", "2", "PX", "100000"],
        ["RPUSH", "l", "x", "y"],
        ["HSET", "h", "f", "v"],
        ["MIGRATE", *target, "a", "0", "1000"],
        ["EXISTS", "a"],
        ["MIGRATE", *target, "nokey", "0", "1000"],
        ["MIGRATE", *target, "", "0", "1000", "KEYS", "nokey", "other"],
        ["MIGRATE", *target, "", "0", "1000", "COPY", "KEYS", "b", "l"],
        ["EXISTS", "b", "l"],
        ["MIGRATE", *target, "b", "0", "1000"],  # the target has b: BUSYKEY
        ["EXISTS", "b"],
        ["MIGRATE", *target, "", "0", "1000", "KEYS", "l", "b"],  # l's is taken, b's not
        ["EXISTS", "b", "l"],
        ["MIGRATE", *target, "b", "0", "0", "REPLACE"],
        ["EXISTS", "b"],
        # AUTH to a target without a password fails: nothing is deleted
        ["MIGRATE", *target, "h", "0", "1000", "AUTH", "nopass"],
        ["EXISTS", "h"],
        ["SET", "c", "3"],
        ["MIGRATE", *target, "c", "1", "1000"],  # the target's database 1
        ["MIGRATE", *target, "c", "99", "1000"],  # no such database there
        ["EXISTS", "c"],
        # argument errors, in Redis's order
        ["MIGRATE", *target, "c", "0"],
        ["MIGRATE", *target, "c", "x", "1000"],
        ["MIGRATE", *target, "c", "0", "x"],
        ["MIGRATE", *target, "c", "0", "1000", "FOO"],
        ["MIGRATE", *target, "c", "0", "1000", "AUTH"],
        ["MIGRATE", *target, "c", "0", "1000", "AUTH2", "user"],
        ["MIGRATE", *target, "c", "0", "x", "KEYS", "c"],
        ["MIGRATE", host, "1", "c", "0", "100"],  # nobody listens there
        ["EXISTS", "c"],
    ]


def _target_holds(target: redis.Redis) -> list[object]:
    ttl = target.pttl("b")
    return [
        target.get("a"),
        target.get("b"),
        0 < ttl <= 100_000,
        target.lrange("l", 0, -1),
        target.hgetall("h"),
        target.execute_command("SELECT", "1") and target.get("c"),
    ]


@pytest.mark.parametrize("protocol", [2, 3])
def test_migrate_moves_keys_as_redis_does(
    redis_server: Path,  # noqa: F811
    redis_on_tcp: tuple[str, int],  # noqa: F811
    protocol: int,
) -> None:
    host, port = redis_on_tcp

    def ask(connection: redis.connection.AbstractConnection) -> tuple[list[object], list[object]]:
        with redis.Redis(host=host, port=port) as target:
            target.flushall()
            target.set("b", "held")
            replies = [reply_to(connection, step) for step in _steps(host, port)]
        with redis.Redis(host=host, port=port) as target:
            return replies, _target_holds(target)

    (expected, expected_target), (got, got_target) = both_answer(redis_server, protocol, ask)
    for step, want, have in zip(_steps(host, port), expected, got, strict=True):
        assert (step, have) == (step, want)
    assert got_target == expected_target
    assert expected[4] == b"OK" and expected_target[0] == b"1"  # the test did move keys


def test_a_key_changed_during_the_migration_is_not_deleted(
    redis_on_tcp: tuple[str, int],  # noqa: F811
) -> None:
    """Rule 1: the DEL watches the versions read before the copy; a write in
    between keeps the key here, and MIGRATE says so."""
    host, port = redis_on_tcp
    with served() as server, redis.Redis(port=server.port) as source:
        source.set("k", "old")
        original_read = server.backend.read

        async def read_then_write(argvs: list[list[bytes]], *, stale: bool) -> object:
            replies = await original_read(argvs, stale=stale)
            if argvs and argvs[0][0] == b"DUMP":  # between the copy's read and the DEL
                await server.backend.write([b"SET", b"k", b"new"], None)
            return replies

        server.backend.read = read_then_write  # type: ignore[method-assign]
        with pytest.raises(redis.ResponseError, match="changed here meanwhile"):
            source.execute_command("MIGRATE", host, port, "k", 0, 1000)
        assert source.get("k") == b"new"
        with redis.Redis(host=host, port=port) as target:
            assert target.get("k") == b"old"


def test_migrate_is_refused_to_a_user_without_the_keys() -> None:
    """The keys MIGRATE names are checked as Redis's migrateGetKeys finds
    them: the key argument, or those after KEYS."""
    with served() as server, redis.Redis(port=server.port) as admin:
        admin.execute_command("ACL", "SETUSER", "u", "on", "nopass", "~app:*", "+@all")
        with redis.Redis(port=server.port, username="u", password="x") as user:
            for keys in (["secret"], ["", "KEYS", "app:1", "secret"]):
                call = ["MIGRATE", "127.0.0.1", "1", *keys[:1], "0", "10", *keys[1:]]
                with pytest.raises(redis.exceptions.NoPermissionError):
                    user.execute_command(*call)
            reply = user.execute_command("MIGRATE", "127.0.0.1", "1", "app:1", "0", "10")
            assert reply == b"NOKEY"


def test_a_key_with_under_a_millisecond_left_is_not_made_persistent(
    redis_on_tcp: tuple[str, int],  # noqa: F811
) -> None:
    """PTTL answers 0 for a key about to expire; RESTORE's 0 would mean no
    deadline at all, so MIGRATE sends 1 ms (as Redis does)."""
    host, port = redis_on_tcp
    with served() as server, redis.Redis(port=server.port) as source:
        source.set("brief", "v")
        original_read = server.backend.read

        async def about_to_expire(argvs: list[list[bytes]], *, stale: bool) -> object:
            replies = await original_read(argvs, stale=stale)
            return [0 if argv[0] == b"PTTL" else r for argv, r in zip(argvs, replies, strict=True)]

        server.backend.read = about_to_expire  # type: ignore[method-assign]
        assert source.execute_command("MIGRATE", host, port, "brief", 0, 1000) == b"OK"
    with redis.Redis(host=host, port=port) as target:
        deadline = time.monotonic() + 5
        while target.exists("brief") and time.monotonic() < deadline:
            time.sleep(0.005)
        assert target.exists("brief") == 0
