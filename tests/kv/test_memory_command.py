"""MEMORY USAGE's estimate (kv/memory_command.py): what ranet's own Python
objects take for a key - held, for each type, to what ``tracemalloc``
measures for building such a value - growing with the value, estimated
from as many parts as SAMPLES asks; the subcommands not built; and MEMORY
refused to a script that may write. Its arguments and errors are compared
with redis-server in test_object_against_redis.py."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from ranet.kv.reply import ErrorReply, Status
from ranet.kv.store import KVStore

from .store_fixtures import Arg, call

Commands = list[tuple[Arg, ...]]
KEY = "key:under:test"


def _member(i: int) -> bytes:
    return b"member:%08d" % i


def string(count: int) -> Commands:
    return [("SET", KEY, b"v" * count)]


def list_of(count: int) -> Commands:
    return [("RPUSH", KEY, *map(_member, range(count)))]


def set_of(count: int) -> Commands:
    return [("SADD", KEY, *map(_member, range(count)))]


def hash_of(count: int) -> Commands:
    return [("HSET", KEY, *(part for i in range(count) for part in (_member(i), b"v" * 16)))]


def sorted_set_of(count: int) -> Commands:
    return [("ZADD", KEY, *(part for i in range(count) for part in (i, _member(i))))]


def stream_of(count: int) -> Commands:
    """Entries, and two groups of two consumers that read a third of them."""
    entries: Commands = [("XADD", KEY, f"{i + 1}-1", _member(i), b"v" * 16) for i in range(count)]
    groups: Commands = [("XGROUP", "CREATE", KEY, group, "0") for group in ("g1", "g2")]
    reads: Commands = [
        ("XREADGROUP", "GROUP", group, consumer, "COUNT", max(count // 6, 1), "STREAMS", KEY, ">")
        for group in ("g1", "g2")
        for consumer in ("c1", "c2")
    ]
    return entries + groups + reads


TYPES = {
    "string": string,
    "list": list_of,
    "set": set_of,
    "hash": hash_of,
    "zset": sorted_set_of,
    "stream": stream_of,
}


def built(commands: Commands, store: KVStore | None = None) -> KVStore:
    store = KVStore() if store is None else store
    for command in commands:
        call(store, *command)
    return store


def usage(store: KVStore, *options: Arg) -> int:
    reply = call(store, "MEMORY", "USAGE", KEY, *options)
    assert isinstance(reply, int), reply
    return reply


def traced_bytes(commands: Commands) -> tuple[int, KVStore]:
    """What building the key in an empty store leaves allocated, by tracemalloc."""
    built(commands)  # once before: the first run fills caches of its own
    store = KVStore()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        built(commands, store)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, store
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("count", [100, 3_000])
def test_the_estimate_is_near_what_tracemalloc_measures(kind: str, count: int) -> None:
    """The key, its table entry and its value, every part sampled: within
    20% of what the store holds more (which is little else)."""
    measured, store = traced_bytes(TYPES[kind](count))
    assert 0.8 < usage(store, "SAMPLES", 0) / measured < 1.2


@pytest.mark.parametrize("kind", TYPES)
def test_the_estimate_grows_with_the_value(kind: str) -> None:
    sizes = [usage(built(TYPES[kind](count))) for count in (10, 100, 1_000)]
    assert sizes[0] < sizes[1] < sizes[2]
    assert 7 < (sizes[2] - sizes[1]) / (sizes[1] - sizes[0]) < 13  # 900 parts more, not 90


def test_samples_are_the_first_parts_and_zero_takes_them_all() -> None:
    """Five short fields first, then long ones: sampling five misses the
    long ones, as Redis's estimate would (its average times the count)."""
    store = KVStore()
    call(store, "HSET", KEY, *(part for i in range(5) for part in (f"f{i}", "v")))
    call(store, "HSET", KEY, *(part for i in range(5, 100) for part in (f"f{i}", "v" * 1000)))
    default, five, all_parts = usage(store), usage(store, "SAMPLES", 5), usage(store, "SAMPLES", 0)
    assert default == five < all_parts / 5
    assert usage(store, "samples", 100) == usage(store, "SAMPLES", 10**9) == all_parts
    assert five < usage(store, "SAMPLES", 6) < all_parts  # one long field: 1/6 of them long
    assert usage(store, "SAMPLES", 1, "SAMPLES", 0) == all_parts  # the last one counts


def test_a_deadline_adds_its_entries_and_an_expired_key_is_null() -> None:
    store = built(string(10))
    without = usage(store)
    call(store, "PEXPIRE", KEY, 1_000)
    assert usage(store) > without
    assert call(store, "MEMORY", "USAGE", KEY, at=store.clock_ms + 1_000) is None
    assert call(store, "MEMORY", "USAGE", "nokey") is None


@pytest.mark.parametrize("subcommand", ["STATS", "DOCTOR", "MALLOC-STATS", "purge"])
def test_the_allocator_s_subcommands_are_not_built(subcommand: str) -> None:
    assert call(KVStore(), "MEMORY", subcommand) == ErrorReply(
        f"ERR MEMORY {subcommand.upper()} is not supported by ranet (not built): its "
        "figures are those of Redis's memory allocator"
    )


def test_help_says_what_is_built() -> None:
    help_lines = call(KVStore(), "MEMORY", "HELP")
    assert isinstance(help_lines, list) and all(isinstance(line, Status) for line in help_lines)
    texts = [line.text for line in help_lines]
    assert texts[0] == "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "    Return memory problems reports. Not built in ranet." in texts
    assert "USAGE <key> [SAMPLES <count>]" in texts


def test_a_script_that_may_write_cannot_ask_for_memory() -> None:
    """Its figures hang on how a node's containers grew (a replica restored
    from a snapshot has them rebuilt): they may differ between replicas."""
    store = built(string(10))
    script = "return redis.pcall('MEMORY', 'USAGE', KEYS[1])"
    assert call(store, "EVAL", script, 1, KEY) == ErrorReply(
        "ERR MEMORY is not allowed in a script that may write: its figures differ "
        "between replicas (use EVAL_RO)"
    )
    assert call(store, "EVAL_RO", script, 1, KEY) == usage(store)
