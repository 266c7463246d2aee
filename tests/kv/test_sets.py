"""Sets in the state machine (kv/sets.py) and on the wire: the commands,
SPOP's deterministic choice, WATCH versions, and the RESP3 set reply. Reply
wording is checked against redis-server in test_against_redis.py, and
snapshots with sets in test_hashes.py's randomized test."""

from __future__ import annotations

import pytest
import redis

from ranet.kv.arguments import WRONG_TYPE
from ranet.kv.reply import Members, from_wire, to_wire
from ranet.kv.resp import encode_reply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call, entry, moves_version

from .fake_backend import WAIT, served

WRONG_TYPES = [
    ("SADD", "str", "x"), ("SMEMBERS", "hash"), ("SINTER", "set", "str"),
    ("GET", "set"), ("HGET", "set", "f"), ("SMOVE", "set", "hash", "m"),
]  # fmt: skip


def test_spop_takes_the_oldest_members_the_same_on_every_replica() -> None:
    replicas = [KVStore(), KVStore()]
    for data in (
        entry("SADD", "s", "c", "a", "b", "d"),
        entry("SPOP", "s"),
        entry("SPOP", "s", "2"),
    ):
        replies = [replica.apply(data) for replica in replicas]
        assert replies[0] == replies[1]
    assert replies[0] == Members([b"a", b"b"])
    assert call(replicas[0], "SMEMBERS", "s") == [b"d"]


def test_set_commands_answer_wrongtype_for_other_types() -> None:
    store = KVStore()
    call(store, "SET", "str", "v")
    call(store, "HSET", "hash", "f", "v")
    call(store, "SADD", "set", "m")
    for command in WRONG_TYPES:
        assert call(store, *command) == WRONG_TYPE, command
    assert call(store, "SMEMBERS", "set") == [b"m"]  # nothing moved


def test_changes_move_the_version_and_no_ops_do_not() -> None:
    store = KVStore()
    call(store, "SADD", "s", "a", "b")

    def moved(*command: str) -> bool:
        return moves_version(store, b"s", *command)

    assert moved("SADD", "s", "c")
    assert moved("SREM", "s", "c")
    assert moved("SPOP", "s")
    assert not moved("SADD", "s", "b")
    assert not moved("SREM", "s", "absent")
    assert not moved("SMOVE", "s", "other", "absent")
    assert not moved("SMEMBERS", "s")


def test_a_set_reply_is_a_set_in_resp3_and_an_array_in_resp2() -> None:
    members = Members([b"a", b"b"])
    assert encode_reply(members, resp3=True) == b"~2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert encode_reply(members) == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    carried = from_wire(to_wire(members))  # as a forwarded reply crosses to the follower
    assert type(carried) is Members and carried == members


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_gets_python_sets(protocol: int) -> None:
    with (
        served() as server,
        redis.Redis(port=server.port, protocol=protocol, socket_timeout=WAIT) as client,
    ):
        assert client.sadd("s", "a", "b", "a") == 2
        assert client.smembers("s") == {b"a", b"b"}
        assert client.sinter("s", "nothing") == set()
        assert client.spop("s", 5) in ([b"a", b"b"], {b"a", b"b"})


def test_smove_from_an_absent_set_answers_0_before_checking_the_destination() -> None:
    """As Redis: no source, nothing to move - even onto a key of another type
    (found by test_against_redis_random.py)."""
    store = KVStore()
    call(store, "SET", "str", "v")
    assert call(store, "SMOVE", "absent", "str", "m") == 0
    call(store, "SADD", "set", "m")
    assert call(store, "SMOVE", "set", "str", "m") == WRONG_TYPE
