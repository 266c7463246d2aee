"""Sorted sets in the state machine (kv/sorted_sets.py, sorted_set_algebra.py)
and on the wire: ranges against a plain model, scores as text and as
doubles, WRONGTYPE, WATCH versions, snapshots (copy-on-write, format 4) and
redis-py. Reply wording and shapes are checked against redis-server, in
RESP2 and RESP3, in test_against_redis.py; sorted sets in randomized
snapshots in test_hashes.py."""

from __future__ import annotations

import math
import random

import msgpack
import pytest
import redis

from ranet.errors import SnapshotFormatError
from ranet.kv.arguments import MAX_REPEATS, WRONG_TYPE, parse_double
from ranet.kv.keyspace import SortedSet
from ranet.kv.reply import Scored, Status, format_score, from_wire, to_wire
from ranet.kv.resp import encode_reply
from ranet.kv.sorted_sets import parse_range, select
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call, moves_version

from .fake_backend import WAIT, served

WRONG_TYPES = [
    ("ZADD", "str", 1, "x"), ("ZRANGE", "list", 0, -1), ("ZSCORE", "hash", "f"),
    ("ZINCRBY", "str", 1, "x"), ("ZUNION", 2, "zset", "str"), ("GET", "zset"),
    ("SADD", "zset", "m"), ("ZMPOP", 2, "nozset", "list", "MIN"),
]  # fmt: skip


@pytest.mark.parametrize(
    "text, score",
    [(b"1", 1.0), (b"-2.5", -2.5), (b".5", 0.5), (b"1e3", 1000.0), (b"+inf", math.inf),
     (b"-Infinity", -math.inf), (b"inf", math.inf), (b"1e-310", 1e-310), (b"0", 0.0)],
)  # fmt: skip
def test_a_score_reads_as_redis_reads_a_double(text: bytes, score: float) -> None:
    assert parse_double(text) == score


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"nan",
        b"NaN",
        b" 1",
        b"1 ",
        b"1_000",
        b"0x10",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"1.2.3",
    ],
)
def test_what_is_no_double_is_refused(text: bytes) -> None:
    assert parse_double(text) is None


@pytest.mark.parametrize(
    "score, text",
    [(1.0, b"1"), (-0.0, b"-0"), (1.5, b"1.5"), (0.1, b"0.1"), (1.1, b"1.1"), (1e20, b"1e+20"),
     (math.inf, b"inf"), (-math.inf, b"-inf"), (123456789.125, b"123456789.125"),
     (13510798882111488.0, b"13510798882111488"), (-1.5e16, b"-15000000000000000"),
     (1e17, b"1e+17")],
)  # fmt: skip
def test_a_score_is_written_in_the_shortest_text_that_reads_back(score: float, text: bytes) -> None:
    assert format_score(score) == text
    assert float(text) == score


def test_a_leaderboard() -> None:
    store = KVStore()
    assert call(store, "ZADD", "board", 10, "alice", 30, "bob", 20, "carol") == 3
    assert call(store, "ZINCRBY", "board", 15, "alice") == 25.0
    assert call(store, "ZREVRANGE", "board", 0, 1, "WITHSCORES") == Scored(
        [[b"bob", 30.0], [b"alice", 25.0]]
    )
    assert call(store, "ZREVRANK", "board", "carol") == 2
    assert call(store, "ZRANGEBYSCORE", "board", "(20", "+inf") == [b"alice", b"bob"]
    assert call(store, "ZPOPMIN", "board") == [b"carol", 20.0]
    assert call(store, "TYPE", "board") == Status("zset")
    assert call(store, "ZREM", "board", "alice", "bob") == 2
    assert call(store, "EXISTS", "board") == 0  # the last member took the key with it


def _model_range(pairs: list[tuple[float, bytes]], by: str, low: object, high: object) -> list:
    """What a range covers, by brute force over the sorted pairs."""
    if by == "rank":
        length = len(pairs)
        start = max(low + length if low < 0 else low, 0)  # type: ignore[operator]
        stop = min(high + length if high < 0 else high, length - 1)  # type: ignore[operator]
        return pairs[start : stop + 1] if start <= stop else []
    if by == "score":
        (lo, lo_open), (hi, hi_open) = low, high  # type: ignore[misc]
        return [
            (s, m) for s, m in pairs
            if (s > lo if lo_open else s >= lo) and (s < hi if hi_open else s <= hi)
        ]  # fmt: skip

    def above_low(member: bytes) -> bool:
        if low is False or low is True:
            return low is False
        value, is_open = low  # type: ignore[misc]
        return member > value if is_open else member >= value

    def below_high(member: bytes) -> bool:
        if high is False or high is True:
            return high is True
        value, is_open = high  # type: ignore[misc]
        return member < value if is_open else member <= value

    return [(s, m) for s, m in pairs if above_low(m) and below_high(m)]


@pytest.mark.parametrize("seed", range(20))
def test_ranges_select_what_a_plain_model_selects(seed: int) -> None:
    """Every kind of range, forward and reversed, with offsets and limits,
    against a brute-force filter of the sorted pairs (lex ranges over
    members of one score, where Redis defines them)."""
    rng = random.Random(seed)
    same_score = seed % 2 == 0
    members = SortedSet(
        (bytes([rng.randrange(97, 107)]) * rng.randint(1, 2),
         0.0 if same_score else rng.choice([-math.inf, -1.0, 0.0, 0.5, 1.0, 2.0, math.inf]))
        for _ in range(rng.randint(0, 15))
    )  # fmt: skip
    pairs = list(members.order)
    scores = [b"-inf", b"+inf", b"-1", b"(0", b"0.5", b"(1", b"2", b"(2", b"(inf", b"(-inf"]
    lexes = [b"-", b"+", b"[a", b"(a", b"[cc", b"(d", b"[j", b"(jj", b"[e"]
    for _ in range(200):
        by = rng.choice(["rank", "score"] + (["lex"] if same_score else []))
        bounds = {"rank": [b"0", b"1", b"-1", b"-3", b"5", b"-20", b"20"], "score": scores,
                  "lex": lexes}[by]  # fmt: skip
        low, high = rng.choice(bounds), rng.choice(bounds)
        reverse = rng.random() < 0.5
        offset, limit = rng.choice([(0, -1), (0, 2), (1, -1), (2, 3), (-1, 2), (30, 1)])
        if by == "rank":
            offset, limit = 0, -1
        chosen = parse_range(by, high if reverse else low, low if reverse else high, reverse,
                             offset, limit)  # fmt: skip
        assert not isinstance(chosen, Exception)
        if by == "rank" and reverse:  # ranks count from the highest score
            expected = _model_range(pairs[::-1], by, chosen.low, chosen.high)
        else:
            expected = _model_range(pairs, by, chosen.low, chosen.high)
            expected = expected[::-1] if reverse else expected
        if by != "rank":
            expected = [] if offset < 0 else expected[offset:]
            expected = expected if limit < 0 else expected[:limit]
        got = select(members, chosen)  # type: ignore[arg-type]
        assert got == expected, (by, low, high, reverse, offset, limit, pairs)


def test_sorted_set_commands_answer_wrongtype_for_other_types_and_change_nothing() -> None:
    store = KVStore()
    call(store, "SET", "str", "v")
    call(store, "HSET", "hash", "f", "v")
    call(store, "RPUSH", "list", "a")
    call(store, "ZADD", "zset", 1, "m")
    for command in WRONG_TYPES:
        assert call(store, *command) == WRONG_TYPE, command
    assert call(store, "ZRANGE", "zset", 0, -1, "WITHSCORES") == [[b"m", 1.0]]


def test_changes_move_the_version_and_no_ops_and_reads_do_not() -> None:
    store = KVStore()
    call(store, "ZADD", "z", 1, "a", 2, "b")

    def moved(*command: object) -> bool:
        return moves_version(store, b"z", *command)  # type: ignore[arg-type]

    assert moved("ZADD", "z", 5, "a")
    assert moved("ZINCRBY", "z", 1, "a")
    assert moved("ZPOPMAX", "z")  # a goes; b stays at 2
    assert not moved("ZADD", "z", 2, "b")  # the same score: nothing changes
    assert not moved("ZADD", "z", "NX", 9, "b")
    assert not moved("ZADD", "z", "GT", 1, "b")
    assert not moved("ZREM", "z", "absent")
    assert not moved("ZREMRANGEBYSCORE", "z", 100, 200)
    reads = [("ZRANGE", "z", 0, -1), ("ZSCORE", "z", "b"), ("ZRANK", "z", "b"),
             ("ZCOUNT", "z", "-inf", "inf"), ("ZSCAN", "z", 0), ("ZUNION", 1, "z")]  # fmt: skip
    for read in reads:
        assert not moved(*read)


def test_a_snapshot_holds_the_sorted_sets_as_they_were_at_its_capture() -> None:
    """The capture copies the key space's dict, not each sorted set: without
    the copy-on-write of sorted sets, the changes below would leak into it."""
    store = KVStore()
    call(store, "ZADD", "z", 1, "a", 2, "b", "inf", "c")
    expected = store.snapshot()
    serialize = store.snapshot_later()
    call(store, "ZINCRBY", "z", 5, "a")
    call(store, "ZPOPMAX", "z")
    call(store, "ZADD", "z", 0, "new")
    assert b"".join(serialize()) == expected
    restored = KVStore()
    restored.restore(expected)
    assert call(restored, "ZRANGE", "z", 0, -1, "WITHSCORES") == [
        [b"a", 1.0], [b"b", 2.0], [b"c", math.inf]
    ]  # fmt: skip
    assert call(store, "ZRANGE", "z", 0, -1) == [b"new", b"b", b"a"]


@pytest.mark.parametrize(
    "value",
    [{b"a": math.nan}, {b"a": 1.0, b"b": b"x"}, {b"a": 1.0, b"b": None}, {b"a": 1}],
    ids=["NaN", "score and value mixed", "score and nil mixed", "integer score"],
)
def test_a_snapshot_with_a_malformed_sorted_set_is_refused(value: object) -> None:
    store = KVStore()
    call(store, "ZADD", "z", 1, "a")
    fields = msgpack.unpackb(store.snapshot())
    fields["data"] = [[[b"z", value]]]
    with pytest.raises(SnapshotFormatError, match="sorted sets or streams"):
        KVStore().restore(msgpack.packb(fields))


def test_a_negative_random_count_asking_too_much_is_refused_not_built() -> None:
    """A read the node would answer by building a reply of 2^63 members on
    its loop: refused, for sets and sorted sets alike."""
    store = KVStore()
    call(store, "ZADD", "z", 1, "a")
    call(store, "SADD", "s", "a")
    for command in ("ZRANDMEMBER z", "SRANDMEMBER s"):
        reply = call(store, *command.split(), -(MAX_REPEATS + 1))
        assert "out of range" in reply.message  # type: ignore[union-attr]
        assert call(store, *command.split(), -3) == [b"a"] * 3


def test_scored_replies_take_their_shape_per_protocol_and_survive_forwarding() -> None:
    reply = Scored([[b"a", 1.5], [b"b", math.inf]])
    assert encode_reply(reply) == b"*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$3\r\ninf\r\n"
    assert encode_reply(reply, resp3=True) == (
        b"*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,inf\r\n"
    )
    forwarded = from_wire(msgpack.unpackb(msgpack.packb(to_wire(reply))))
    assert forwarded == reply and type(forwarded) is Scored


def pairs(reply: object) -> list[tuple[object, ...]]:
    """redis-py's scored members as tuples (RESP2 gives tuples, RESP3 lists,
    against Redis as here)."""
    assert isinstance(reply, list)
    return [tuple(pair) for pair in reply]


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_uses_sorted_sets_over_the_wire(protocol: int) -> None:
    with served() as server:
        client = redis.Redis(port=server.port, protocol=protocol, socket_timeout=WAIT)
        try:
            assert client.zadd("board", {"alice": 10, "bob": 2.5}) == 2
            assert client.zscore("board", "bob") == 2.5
            assert client.zincrby("board", 0.5, "bob") == 3.0
            assert pairs(client.zrange("board", 0, -1, withscores=True)) == [
                (b"bob", 3.0), (b"alice", 10.0)
            ]  # fmt: skip
            assert pairs(client.zrevrangebyscore("board", "+inf", 5, withscores=True)) == [
                (b"alice", 10.0)
            ]
            assert client.zmscore("board", ["alice", "nobody"]) == [10.0, None]
            assert client.zunionstore("sum", {"board": 2, "nothing": 1}) == 2
            assert client.zscore("sum", "alice") == 20.0
            popped = client.zpopmax("board")  # RESP3, without a count: one flat pair
            assert popped == ([(b"alice", 10.0)] if protocol == 2 else [b"alice", 10.0])
            with client.pipeline(transaction=True) as pipe:
                pipe.zadd("tx", {"a": 1}).zrange("tx", 0, -1, withscores=True)
                added, scored = pipe.execute()
                assert (added, pairs(scored)) == (1, [(b"a", 1.0)])
        finally:
            client.close()


def test_a_zero_score_is_kept_without_its_sign() -> None:
    """Redis answers ZINCRBY's -0 as computed but keeps a small sorted set's
    scores as text, where -0 is 0 (found by test_against_redis_random.py)."""
    store = KVStore()
    reply = call(store, "ZINCRBY", "z", "-0", "m")
    assert reply == 0.0 and math.copysign(1.0, reply) == -1.0  # type: ignore[arg-type]
    for stored in (
        call(store, "ZSCORE", "z", "m"),
        call(store, "ZRANGE", "z", 0, -1, "WITHSCORES")[0][1],
    ):  # type: ignore[index]
        assert math.copysign(1.0, stored) == 1.0  # type: ignore[arg-type]
    call(store, "ZUNIONSTORE", "negated", 1, "z", "WEIGHTS", -1)
    assert format_score(call(store, "ZSCORE", "negated", "m")) == b"0"  # type: ignore[arg-type]
