"""LCS's table (lcs.py): Hyyrö's bit rows give every cell of the
dynamic-programming table, either way round; long strings answer fast or
with Redis's error. Replies against redis-server: test_lcs_against_redis.py."""

from __future__ import annotations

import random

from ranet.kv.lcs import MAX_TABLE_BYTES, LcsTable
from ranet.kv.reply import ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call


def full_table(a: bytes, b: bytes) -> list[list[int]]:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table


def test_every_cell_is_the_dynamic_programming_table_s() -> None:
    rng = random.Random(5)
    for _ in range(300):
        a, b = (bytes(rng.choice(b"abc") for _ in range(rng.randrange(20))) for _ in range(2))
        expected, table = full_table(a, b), LcsTable(a, b)
        for i in range(len(a) + 1):
            assert [table.length(i, j) for j in range(len(b) + 1)] == expected[i]


def test_a_long_string_against_a_short_one_is_answered() -> None:
    store = KVStore()
    call(store, "SET", "long", b"ab" * 500_000)
    call(store, "SET", "short", b"ba" * 50)
    assert call(store, "LCS", "long", "short", "LEN") == 100
    assert call(store, "LCS", "long", "short") == b"ba" * 50


def test_a_table_beyond_redis_s_limit_is_refused() -> None:
    store = KVStore()
    side = int((MAX_TABLE_BYTES / 4) ** 0.5) + 1
    call(store, "SET", "a", b"x" * side)
    call(store, "SET", "b", b"y" * side)
    assert call(store, "LCS", "a", "b") == ErrorReply(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    )
