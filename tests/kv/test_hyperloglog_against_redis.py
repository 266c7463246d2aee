"""PFADD, PFCOUNT and PFMERGE against redis-server and against ranet's
server: the same replies, errors included, and the same bytes in the HLL
strings (GET), sparse and dense, in RESP2 and RESP3.

Hand-made HLLs probe the edges: corrupt runs, a cached count marked fresh,
VALs left unmerged where Redis's merge stops after five opcodes.

One departure is kept out of the comparison: Redis's PFCOUNT writes the
count it computes into the value's header, ranet's (a read) does not
(kv/hyperloglog.py) - so no key is read with GET, or merged into, after a
PFCOUNT of it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    assert_answered_alike,
    pytestmark,
    redis_server,
    words_of,
)

EMPTY_CACHE = r"\x00\x00\x00" + r"\x00" * 8  # three unused bytes, a fresh count of 0
STALE_CACHE = r"\x00\x00\x00" + r"\x00" * 7 + r"\x80"
SCRIPT = rf"""
PFADD h a b c
GET h
PFADD h a
PFADD h
PFADD fresh
GET fresh
EXISTS fresh
PFADD h d e f g h i j
GET h
STRLEN h
SET str hello
PFADD str a
PFCOUNT str
PFMERGE str h
PFMERGE h str
RPUSH lst a
PFADD lst a
PFCOUNT lst
PFCOUNT h lst
PFMERGE h lst
PFMERGE lst h
SET magic HYLX\x01{EMPTY_CACHE}\x7f\xff
PFADD magic a
SET enc2 HYLL\x02{EMPTY_CACHE}\x7f\xff
PFCOUNT enc2
SET short HYLL\x01
PFCOUNT short
SET dense HYLL\x00{EMPTY_CACHE}\x00\x00
PFCOUNT dense
PFADD dense a
SET cut HYLL\x01{EMPTY_CACHE}\x7f\xfe
PFCOUNT cut
PFCOUNT cut h
PFMERGE cut
PFMERGE m2 cut
EXISTS m2
SET cut2 HYLL\x01{STALE_CACHE}\x7f\xfe
PFCOUNT cut2
PFADD cut2 a
PFADD cut2 b
SET trunc HYLL\x01{EMPTY_CACHE}\x7f
PFCOUNT trunc
SET trunc2 HYLL\x01{STALE_CACHE}\x7f
PFCOUNT trunc2
SET over HYLL\x01{EMPTY_CACHE}\x7f\xff\x80
PFCOUNT over
SET over2 HYLL\x01{STALE_CACHE}\x7f\xff\x80
PFCOUNT over2
SET big32 HYLL\x01{STALE_CACHE}\x7f\xfe\xfc
PFCOUNT big32
PFMERGE big32d big32
GET big32d
PFMERGE m3 over
PFMERGE tail
SETRANGE tail 20 a
PFADD tail b d
GET tail
PFCOUNT tail
SET cached HYLL\x01\x00\x00\x00\xd2\x04\x00\x00\x00\x00\x00\x00\x7f\xff
PFCOUNT cached
PFCOUNT cached cached
PFADD cached x
PFCOUNT cached
SET vals HYLL\x01{EMPTY_CACHE}\x7f\xfb\x83\x80
PFCOUNT vals
PFADD vals a b c d e
GET vals
PFMERGE vals h
GET vals
SET unmerged HYLL\x01{STALE_CACHE}\x00\x00\x00\x00\x00\x88\x88\x7f\xf8
SET one HYLL\x01{STALE_CACHE}\x80\x7f\xfe
PFMERGE unmerged one
GET unmerged
SET unmerged2 HYLL\x01{STALE_CACHE}\x00\x00\x00\x00\x88\x88\x7f\xf9
PFMERGE unmerged2 one
GET unmerged2
PFADD t1 a
EXPIRE t1 1000
PFADD t1 b c
TTL t1
PFMERGE t1 h
TTL t1
PFCOUNT nosuch
PFCOUNT nosuch nosuch2
PFMERGE empty
GET empty
PFMERGE empty2 nosuch
GET empty2
MULTI
PFADD tx a b
PFCOUNT tx
PFMERGE tx2 tx h
PFADD tx2 zz
GET tx2
EXEC
"""


def _elements(rng: random.Random, count: int) -> list[bytes]:
    return [f"e{rng.randrange(10**6)}".encode() for _ in range(count)]


def generated() -> list[list[bytes]]:
    """Seeded PFADDs that grow HLLs through the sparse encoding - every
    split and merge of its opcodes - to dense (past 3,000 bytes), a GET
    after each; a large HLL (50,000 elements); merges sparse into sparse,
    sparse into dense and dense into sparse; then the counts."""
    rng = random.Random(5)
    commands: list[list[bytes]] = []
    for key, rounds, size in ((b"s1", 40, 3), (b"s2", 25, 20), (b"s3", 90, 30), (b"s4", 4, 2)):
        for _ in range(rounds):
            commands.append([b"PFADD", key, *_elements(rng, rng.randint(1, size))])
            commands.append([b"GET", key])
    for _ in range(100):
        commands.append([b"PFADD", b"big", *_elements(rng, 500)])
    commands += [
        [b"GET", b"big"],
        [b"PFMERGE", b"ms", b"s1", b"s4"],
        [b"GET", b"ms"],
        [b"PFMERGE", b"s4", b"s2"],
        [b"GET", b"s4"],
        [b"PFMERGE", b"md", b"s1", b"big"],
        [b"GET", b"md"],
        [b"PFMERGE", b"s1", b"s3"],
        [b"GET", b"s1"],
        [b"PFMERGE", b"s3", b"s2", b"nosuch"],
        [b"GET", b"s3"],
    ]
    counted = [b"s1", b"s2", b"s3", b"s4", b"big", b"ms", b"md"]
    commands += [[b"PFCOUNT", key] for key in counted]
    commands += [[b"PFCOUNT", key] for key in counted]  # from the cache, or recomputed
    commands += [[b"PFCOUNT", b"s1", b"s2"], [b"PFCOUNT", *counted]]
    return commands


@pytest.mark.parametrize("protocol", [2, 3])
def test_ranet_answers_hyperloglog_commands_as_redis_does(
    redis_server: Path,  # noqa: F811
    protocol: int,
) -> None:
    script = [words_of(line) for line in SCRIPT.strip().splitlines()]
    assert_answered_alike(redis_server, protocol, script + generated())
