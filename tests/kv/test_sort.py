"""SORT where ranet decides what Redis leaves open (kv/sort.py): every
replica must answer alike, so equal sort keys keep the order the elements
were read in, and a set read without sorting keeps the order its members
were added in. Replies are compared with redis-server in
test_sort_against_redis.py."""

from __future__ import annotations

from ranet.kv.reply import ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call


def test_equal_keys_under_alpha_by_keep_the_order_of_the_elements() -> None:
    store = KVStore()
    call(store, "RPUSH", "l", "c", "a", "d", "b")
    call(store, "MSET", "w_c", "same", "w_d", "same", "w_a", "first")
    # b has no weight: no value sorts first; c and d tie, in the list's order
    assert call(store, "SORT", "l", "BY", "w_*", "ALPHA") == [b"b", b"a", b"c", b"d"]
    assert call(store, "SORT", "l", "BY", "w_*", "ALPHA", "DESC") == [b"c", b"d", b"a", b"b"]


def test_a_set_read_without_sorting_keeps_the_order_members_were_added() -> None:
    store = KVStore()
    call(store, "SADD", "s", "z", "x", "y")
    assert call(store, "SORT", "s", "BY", "nosort") == [b"z", b"x", b"y"]
    assert call(store, "SORT", "s", "BY", "nosort", "DESC") == [b"z", b"x", b"y"]
    # stored, Redis sorts it (ALPHA), so that replicas agree - ranet too
    assert call(store, "SORT", "s", "BY", "nosort", "STORE", "d") == 3
    assert call(store, "LRANGE", "d", 0, -1) == [b"x", b"y", b"z"]


def test_numbers_read_as_strtod_reads_them() -> None:
    store = KVStore()
    call(store, "RPUSH", "l", " 2", "0x10", "", "1.5e1", "-inf")
    assert call(store, "SORT", "l") == [b"-inf", b"", b" 2", b"1.5e1", b"0x10"]
    call(store, "RPUSH", "bad", "2 ", "0x1p99999")
    assert call(store, "SORT", "bad") == ErrorReply(
        "ERR One or more scores can't be converted into double"
    )
    assert call(store, "SORT", "bad", "BY", "x_*") == [b"0x1p99999", b"2 "]  # no weights: all 0
