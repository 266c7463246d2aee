"""Random commands against redis-server and against ranet's server: the same
replies, errors included. Where test_against_redis.py runs a script written
by hand, this one draws commands from a grammar of the hash, set, list and
sorted set commands - valid and invalid arguments, keys of every type - so
that what nobody thought to write down is compared too.

Seeded and bounded (``COMMANDS`` per seed; RANET_RANDOM_SEED picks one
seed to replay). Left out, as departures documented in docs/kv-commands.md:
SPOP, SRANDMEMBER, ZRANDMEMBER, HRANDFIELD (random, or deterministic where Redis is
not), lex ranges over members of different scores (unspecified in Redis:
they run only on a key whose scores are all 0), scores whose shortest text
differs from Redis 7.0's 17 digits (the scores drawn are dyadic, so sums
and products print alike), and time. Set replies are compared sorted."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    both_answer,
    pytestmark,
    redis_server,
)

COMMANDS = 1_500
KEYS = ["s1", "s2", "l1", "l2", "z1", "z2", "h1", "h2", "f1", "str", "none"]
OWN_TYPE = 0.85  # how often a command names a key of its own type (else any key)
MEMBERS = ["a", "b", "c", "d", "10", "-1"]
INTEGERS = ["0", "1", "-1", "2", "3", "-3", "100", "-100", "x", "9223372036854775807",
            "-9223372036854775808", "1.5"]  # fmt: skip
SCORES = ["0", "1", "-1", "2.5", "0.25", "3", "inf", "-inf", "+inf", "1e3", "x", "nan", "(1"]
UNORDERED = {"SMEMBERS", "SINTER", "SUNION", "SDIFF", "SSCAN", "KEYS"}


def _key(rng: random.Random, family: str) -> str:
    """Mostly a key the command's family writes (``h``, ``s``, ``l``, ``z``; ``n``
    for the key ``none``, where SET and RENAME write), so that commands meet
    values to work on, and now and then any key (WRONGTYPE)."""
    if rng.random() < OWN_TYPE:
        return rng.choice([key for key in KEYS if key[0] == family])
    return rng.choice(KEYS)


def _keys(rng: random.Random, family: str, low: int = 1, high: int = 3) -> list[str]:
    return [_key(rng, family) for _ in range(rng.randint(low, high))]


def _pick(rng: random.Random, pool: list[str], low: int = 1, high: int = 3) -> list[str]:
    return [rng.choice(pool) for _ in range(rng.randint(low, high))]


def _score_bound(rng: random.Random) -> str:
    return rng.choice(["-inf", "+inf", "0", "(0", "1", "(2.5", "3", "(inf", "x", "2.5"])


def _lex_bound(rng: random.Random) -> str:
    return rng.choice(["-", "+", "[a", "(a", "[c", "(d", "[10", "a", "[", "("])


def _decimal(rng: random.Random) -> str:
    """A number as INCRBYFLOAT takes it: digits of any length, a point, an
    exponent - or now and then something that is no float."""
    if rng.random() < 0.1:
        return rng.choice(["x", "nan", "inf", "-inf", "1e5000", "1e-5000", ".", "1e"])
    sign = rng.choice(["", "-", "+"])
    whole = str(rng.randrange(10 ** rng.randint(0, 12)))
    fraction = "." + str(rng.randrange(10 ** rng.randint(1, 8))) if rng.random() < 0.7 else ""
    exponent = f"e{rng.randint(-20, 20)}" if rng.random() < 0.2 else ""
    return sign + whole + fraction + exponent


def _options(rng: random.Random, choices: list[list[str]]) -> list[str]:
    """A random selection of option groups, in random order."""
    chosen = [group for group in choices if rng.random() < 0.3]
    rng.shuffle(chosen)
    return [word for group in chosen for word in group]


GRAMMAR: dict[str, Callable[[random.Random], list[str]]] = {
    "HSET": lambda r: [_key(r, "h"), *[w for _ in range(r.randint(1, 2)) for w in
                                         (r.choice(MEMBERS), r.choice(INTEGERS))]],
    "HDEL": lambda r: [_key(r, "h"), *_pick(r, MEMBERS)],
    "HGETALL": lambda r: [_key(r, "h")],
    "HINCRBY": lambda r: [_key(r, "h"), r.choice(MEMBERS), r.choice(INTEGERS)],
    "HINCRBYFLOAT": lambda r: [_key(r, "h"), r.choice(MEMBERS), _decimal(r)],
    "INCRBYFLOAT": lambda r: [_key(r, "f"), _decimal(r)],
    "GETRANGE": lambda r: [_key(r, "f"), r.choice(INTEGERS), r.choice(INTEGERS)],
    "COPY": lambda r: [r.choice(KEYS), r.choice(KEYS), *_options(r, [["REPLACE"], ["DB", "0"]])],
    "SINTERCARD": lambda r: ["2", _key(r, "s"), _key(r, "s"),
                             *_options(r, [["LIMIT", r.choice(INTEGERS)]])],
    "HMGET": lambda r: [_key(r, "h"), *_pick(r, MEMBERS)],
    "SADD": lambda r: [_key(r, "s"), *_pick(r, MEMBERS)],
    "SREM": lambda r: [_key(r, "s"), *_pick(r, MEMBERS)],
    "SMEMBERS": lambda r: [_key(r, "s")],
    "SINTER": lambda r: _keys(r, "s"),
    "SUNIONSTORE": lambda r: [_key(r, "s"), *_keys(r, "s")],
    "SMOVE": lambda r: [_key(r, "s"), _key(r, "s"), r.choice(MEMBERS)],
    "SMISMEMBER": lambda r: [_key(r, "s"), *_pick(r, MEMBERS)],
    "LPUSH": lambda r: [_key(r, "l"), *_pick(r, MEMBERS)],
    "RPUSH": lambda r: [r.choice(KEYS), *_pick(r, MEMBERS)],
    "LPUSHX": lambda r: [_key(r, "l"), *_pick(r, MEMBERS)],
    "LPOP": lambda r: [_key(r, "l"), *_pick(r, INTEGERS, 0, 1)],
    "RPOP": lambda r: [r.choice(KEYS), *_pick(r, INTEGERS, 0, 1)],
    "LRANGE": lambda r: [_key(r, "l"), r.choice(INTEGERS), r.choice(INTEGERS)],
    "LINDEX": lambda r: [_key(r, "l"), r.choice(INTEGERS)],
    "LSET": lambda r: [_key(r, "l"), r.choice(INTEGERS), r.choice(MEMBERS)],
    "LREM": lambda r: [_key(r, "l"), r.choice(INTEGERS), r.choice(MEMBERS)],
    "LTRIM": lambda r: [_key(r, "l"), r.choice(INTEGERS), r.choice(INTEGERS)],
    "LINSERT": lambda r: [_key(r, "l"), r.choice(["BEFORE", "after", "x"]),
                          r.choice(MEMBERS), r.choice(MEMBERS)],
    "LPOS": lambda r: [_key(r, "l"), r.choice(MEMBERS),
                       *_options(r, [["RANK", r.choice(INTEGERS[:-3])],
                                     ["COUNT", r.choice(INTEGERS)],
                                     ["MAXLEN", r.choice(INTEGERS)]])],
    "LMOVE": lambda r: [_key(r, "l"), _key(r, "l"), r.choice(["LEFT", "right", "up"]),
                        r.choice(["LEFT", "RIGHT"])],
    "LMPOP": lambda r: ["2", _key(r, "l"), _key(r, "l"), r.choice(["LEFT", "RIGHT", "x"]),
                        *_options(r, [["COUNT", r.choice(INTEGERS)]])],
    "BLPOP": lambda r: [*_keys(r, "l"), r.choice(["0.01", "x", "-1"])],
    "BRPOPLPUSH": lambda r: [_key(r, "l"), _key(r, "l"), r.choice(["0.01", "x"])],
    "ZADD": lambda r: [_key(r, "z"),
                       *_options(r, [["NX"], ["XX"], ["GT"], ["LT"], ["CH"], ["INCR"]]),
                       *[w for _ in range(r.randint(1, 2)) for w in
                         (r.choice(SCORES), r.choice(MEMBERS))]],
    "ZINCRBY": lambda r: [_key(r, "z"), r.choice(SCORES), r.choice(MEMBERS)],
    "ZREM": lambda r: [_key(r, "z"), *_pick(r, MEMBERS)],
    "ZSCORE": lambda r: [_key(r, "z"), r.choice(MEMBERS)],
    "ZMSCORE": lambda r: [_key(r, "z"), *_pick(r, MEMBERS)],
    "ZRANK": lambda r: [_key(r, "z"), r.choice(MEMBERS)],
    "ZREVRANK": lambda r: [_key(r, "z"), r.choice(MEMBERS)],
    "ZCOUNT": lambda r: [_key(r, "z"), _score_bound(r), _score_bound(r)],
    "ZRANGE": lambda r: [_key(r, "z"), *r.choice([
        [r.choice(INTEGERS), r.choice(INTEGERS)],
        [_score_bound(r), _score_bound(r), "BYSCORE"],
    ]), *_options(r, [["REV"], ["WITHSCORES"], ["LIMIT", r.choice(INTEGERS), r.choice(INTEGERS)]])],
    "ZRANGEBYSCORE": lambda r: [_key(r, "z"), _score_bound(r), _score_bound(r),
                                *_options(r, [["WITHSCORES"], ["LIMIT", r.choice(INTEGERS),
                                                               r.choice(INTEGERS)]])],
    "ZREVRANGE": lambda r: [_key(r, "z"), r.choice(INTEGERS), r.choice(INTEGERS),
                            *_options(r, [["WITHSCORES"]])],
    "ZRANGESTORE": lambda r: [_key(r, "z"), _key(r, "z"), r.choice(INTEGERS),
                              r.choice(INTEGERS)],
    "ZREMRANGEBYRANK": lambda r: [_key(r, "z"), r.choice(INTEGERS), r.choice(INTEGERS)],
    "ZREMRANGEBYSCORE": lambda r: [_key(r, "z"), _score_bound(r), _score_bound(r)],
    "ZPOPMIN": lambda r: [_key(r, "z"), *_pick(r, INTEGERS, 0, 1)],
    "ZPOPMAX": lambda r: [_key(r, "z"), *_pick(r, INTEGERS, 0, 1)],
    "ZMPOP": lambda r: ["2", _key(r, "z"), _key(r, "z"), r.choice(["MIN", "MAX", "x"]),
                        *_options(r, [["COUNT", r.choice(INTEGERS)]])],
    "ZSCAN": lambda r: [_key(r, "z"), "0", *_options(r, [["MATCH", r.choice(["a*", "*"])]])],
    "ZUNIONSTORE": lambda r: [_key(r, "z"), "2", _key(r, "z"), _key(r, "z"),
                              *_options(r, [["WEIGHTS", r.choice(SCORES), r.choice(SCORES)],
                                            ["AGGREGATE", r.choice(["SUM", "MIN", "MAX", "x"])]])],
    "ZINTER": lambda r: ["2", _key(r, "z"), _key(r, "z"),
                         *_options(r, [["WITHSCORES"], ["AGGREGATE", r.choice(["MIN", "MAX"])]])],
    "ZDIFF": lambda r: ["2", _key(r, "z"), _key(r, "z"), *_options(r, [["WITHSCORES"]])],
    "ZINTERCARD": lambda r: ["2", _key(r, "z"), _key(r, "z"),
                             *_options(r, [["LIMIT", r.choice(INTEGERS)]])],
    "BZPOPMIN": lambda r: [*_keys(r, "z"), r.choice(["0.01", "x"])],
    "LEX": lambda r: r.choice([
        ["ZADD", "lz", "0", r.choice(MEMBERS)],
        ["ZRANGEBYLEX", "lz", _lex_bound(r), _lex_bound(r),
         *_options(r, [["LIMIT", r.choice(INTEGERS), r.choice(INTEGERS)]])],
        ["ZREVRANGEBYLEX", "lz", _lex_bound(r), _lex_bound(r)],
        ["ZLEXCOUNT", "lz", _lex_bound(r), _lex_bound(r)],
        ["ZREMRANGEBYLEX", "lz", _lex_bound(r), _lex_bound(r)],
        ["ZRANGE", "lz", _lex_bound(r), _lex_bound(r), "BYLEX", *_options(r, [["REV"]])],
    ]),
    "TYPE": lambda r: [r.choice(KEYS)],
    "SET": lambda r: [_key(r, "n"), r.choice(INTEGERS)],
    "DEL": lambda r: _pick(r, KEYS),
    "RENAME": lambda r: [r.choice(KEYS), _key(r, "n")],
}  # fmt: skip


def random_command(rng: random.Random) -> list[str]:
    name = rng.choice(list(GRAMMAR))
    args = GRAMMAR[name](rng)
    return args if name == "LEX" else [name, *args]


def replies(
    connection: redis.connection.AbstractConnection, commands: list[list[str]]
) -> list[str]:
    out = []
    for command in commands:
        connection.send_command(*command)
        try:
            reply: object = connection.read_response()
        except redis.ResponseError as error:
            reply = f"error: {error}"
        if command[0] in UNORDERED:
            reply = _sorted(reply)
        out.append(f"{' '.join(command)} -> {reply!r}")
    return out


def _sorted(reply: object) -> object:
    """A set reply in a fixed order (Redis's order is its hash table's)."""
    if isinstance(reply, list | set) and all(isinstance(item, bytes) for item in reply):
        return sorted(reply)
    if isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], list):
        return [reply[0], sorted(reply[1])]  # SSCAN: [cursor, members]
    return reply


def seeds() -> list[int]:
    chosen = os.environ.get("RANET_RANDOM_SEED")
    return [int(chosen)] if chosen else [1, 2, 3]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("seed", seeds())
def test_random_commands_answer_as_redis_does(
    redis_server: Path,  # noqa: F811
    seed: int,
    protocol: int,
) -> None:
    rng = random.Random(seed)
    commands = [random_command(rng) for _ in range(COMMANDS)]
    expected, got = both_answer(redis_server, protocol, lambda c: replies(c, commands))
    for line, (want, have) in enumerate(zip(expected, got, strict=True)):
        assert have == want, f"seed {seed}, command {line}: ranet answered {have!r}"
