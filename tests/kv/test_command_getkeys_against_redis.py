"""COMMAND GETKEYS and GETKEYSANDFLAGS against redis-server: the keys
Redis 7's key specifications find in a call (kv/key_positions.py, the same
ones ACL checks and client-side caching use) and what the command does
with each (a container's, OBJECT's or XINFO's, as its subcommand's),
errors included - in RESP2 and RESP3."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    assert_answered_alike,
    pytestmark,
    redis_server,
)

CALLS = [
    "command getkeys",
    "command getkeys nosuch a",
    "command getkeys get",
    "command getkeys get a",
    "command getkeysandflags get a",
    "command getkeysandflags set a b",
    "command getkeysandflags set a b get",
    "command getkeysandflags set a b GeT",
    "command getkeysandflags set a b ex 10",
    "command getkeys ping",
    "command getkeys zunionstore d 2 a b",
    "command getkeysandflags zunionstore d 2 a b",
    "command getkeys zunionstore d x a b",
    "command getkeys zunionstore d 5 a b",
    "command getkeys eval s 2 a",
    "command getkeys eval s 1 a",
    "command getkeys eval s 0",
    "command getkeysandflags sort k by x store d",
    "command getkeysandflags sort k store d store e",
    "command getkeysandflags sort_ro k by x",
    "command getkeysandflags bitfield k get u8 0",
    "command getkeysandflags bitfield k get u8 0 incrby u8 0 1",
    "command getkeysandflags bitfield k overflow wrap",
    "command getkeysandflags bitfield k nonsense",
    "command getkeysandflags spublish c m",
    "command getkeys ssubscribe c",
    "command getkeys xread streams a b 0 0",
    "command getkeys xread count 2 streams a 0",
    "command getkeys xreadgroup group g c streams a b 0 0",
    "command getkeysandflags lmove a b left right",
    "command getkeys mset a 1 b",
    "command getkeys mset a 1 b 2",
    "command getkeysandflags exists a b",
    "command getkeys georadius k 1 2 3 m store d storedist e",
    "command getkeysandflags geosearchstore d s frommember m byradius 1 m",
    "command getkeys blmpop 0 2 a b left",
    "command getkeys lmpop 2 a b left",
    "command getkeys zinterstore d 2 a b weights 1 2",
    "command getkeysandflags copy a b",
    "command getkeysandflags rename a b",
    "command getkeysandflags del a b c",
    "command getkeysandflags xadd s * f v",
    "command getkeysandflags pfmerge d a b",
    "command getkeysandflags bitop and d a b",
    "command getkeys fcall f 2 a b c",
    "command getkeys fcall_ro f 0",
    "command getkeysandflags restore k 0 payload",
    "command getkeysandflags lcs a b",
    "command getkeysandflags smove a b m",
    "command getkeysandflags sintercard 2 a b limit 1",
    "command getkeys publish c m",
    "command getkeys keys *",
    "command getkeysandflags incr k",
    "command getkeysandflags watch a b",
    "command getkeysandflags getex k persist",
    "command getkeysandflags getdel k",
    "command getkeys zunionstore d 0",
    "command getkeys zunionstore d -1 a",
    "command getkeys eval s -1",
    "command getkeys lmpop 3 a b left",
    "command getkeys zinter 2 a b",
    "command getkeysandflags object encoding k",
    "command getkeys object Refcount k",
    "command getkeys object help",
    "command getkeys object nosuch k",
    "command getkeys object encoding",
    "command getkeys object encoding a b",
    "command getkeysandflags memory usage k samples 5",
    "command getkeys memory usage",
    "command getkeys memory stats",
    "command getkeysandflags xinfo stream k full",
    "command getkeys xinfo groups k x",
    "command getkeysandflags xgroup create k g $",
    "command getkeys xgroup help",
    "command getkeys config nosuch",
    "command getkeys config get maxmemory",
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_getkeys_answers_as_redis_does(redis_server: Path, protocol: int) -> None:  # noqa: F811
    commands = [[word.encode() for word in call.split()] for call in CALLS]
    assert_answered_alike(redis_server, protocol, commands)
