"""LCS against redis-server: the common subsequence, its length and its
ranges (with MINMATCHLEN and WITHMATCHLEN), errors included, in RESP2 and
RESP3 - for Redis's documented example and seeded random strings, where
the walk back through the table meets every kind of tie."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    assert_answered_alike,
    pytestmark,
    redis_server,
)

OPTIONS = [[], ["LEN"], ["IDX"], ["IDX", "WITHMATCHLEN"], ["IDX", "MINMATCHLEN", "2"]]


def pairs() -> list[tuple[str, str]]:
    rng = random.Random(20261127)
    found = [("ohmytext", "mynewtext"), ("", "abc"), ("same", "same"), ("abc", "xyz")]
    for _ in range(40):
        alphabet = rng.choice(["ab", "abc", "abcdef"])
        found.append(
            tuple(  # type: ignore[arg-type]
                "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 40))) for _ in range(2)
            )
        )
    return found


COMMANDS: list[list[str]] = [
    ["LCS", "missing1", "missing2"],
    ["LCS", "missing1", "missing2", "IDX"],
    ["RPUSH", "list", "x"],
    ["LCS", "list", "missing1"],
    ["LCS", "missing1", "list", "LEN"],
    ["SET", "a", "abc"],
    ["LCS", "a", "a", "LEN", "IDX"],
    ["LCS", "a", "a", "MINMATCHLEN"],
    ["LCS", "a", "a", "MINMATCHLEN", "x"],
    ["LCS", "a", "a", "IDX", "MINMATCHLEN", "-5"],
    ["LCS", "a", "a", "NOSUCH"],
    ["LCS", "a"],
]
for first, second in pairs():
    COMMANDS += [["SET", "a", first], ["SET", "b", second]]
    COMMANDS += [["LCS", "a", "b", *options] for options in OPTIONS]


@pytest.mark.parametrize("protocol", [2, 3])
def test_ranet_answers_lcs_as_redis_does(redis_server: Path, protocol: int) -> None:  # noqa: F811
    assert_answered_alike(
        redis_server, protocol, [[word.encode() for word in command] for command in COMMANDS]
    )
