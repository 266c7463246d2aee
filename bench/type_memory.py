"""Memory per element of each value type, in the state machine alone.

    .venv/bin/python bench/type_memory.py [--elements 1000000] [--runs 3]

For each type, a fresh ``KVStore`` applies ``--elements`` elements of 16
bytes (``m:000000000001`` ...) in one key - RPUSH to a list, SADD to a set,
HSET fields (16-byte values) to a hash, ZADD members with distinct scores
to a sorted set, XADD entries of one field (``field``, the 16-byte element its value) to a stream
(one command per entry, as XADD takes one; 1,000 of them per log entry) -
and, for comparison, as many string keys (MSET), in batches of 1,000 per
command. ``tracemalloc`` measures what the store holds
afterwards (Python objects only, not the allocator's free lists); the
figure is that divided by the element count, the median over runs. It
says what one more element costs; a node's RSS (bench/memory.py) adds the
log, the allocator and the interpreter.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tracemalloc
from collections.abc import Callable, Iterator

from ranet.kv.envelope import Envelope, RunEnvelope, encode, encode_run
from ranet.kv.store import KVStore

BATCH = 1_000


def _batches(
    count: int, make: Callable[[list[int]], list[bytes] | list[list[bytes]]]
) -> Iterator[bytes]:
    for start in range(0, count, BATCH):
        made = make(list(range(start, min(start + BATCH, count))))
        if isinstance(made[0], list):  # several commands: a run
            yield encode_run(RunEnvelope(0, made))  # type: ignore[arg-type]
        else:
            yield encode(Envelope(0, 0, 0, made))  # type: ignore[arg-type]


def _member(i: int) -> bytes:
    return b"m:%012d" % i


def _pairs(
    ids: list[int], first: Callable[[int], bytes], second: Callable[[int], bytes]
) -> list[bytes]:
    return [part for i in ids for part in (first(i), second(i))]


def _value(i: int) -> bytes:
    return b"v" * 16


def _score(i: int) -> bytes:
    return b"%d" % i


COMMANDS: dict[str, Callable[[list[int]], list[bytes] | list[list[bytes]]]] = {
    "string keys (MSET)": lambda ids: [b"MSET", *_pairs(ids, _member, _value)],
    "list (RPUSH)": lambda ids: [b"RPUSH", b"l", *map(_member, ids)],
    "set (SADD)": lambda ids: [b"SADD", b"s", *map(_member, ids)],
    "hash (HSET)": lambda ids: [b"HSET", b"h", *_pairs(ids, _member, _value)],
    "sorted set (ZADD)": lambda ids: [b"ZADD", b"z", *_pairs(ids, _score, _member)],
    "stream (XADD)": lambda ids: [
        [b"XADD", b"x", b"%d" % (i + 1), _member(i), _value(i)] for i in ids
    ],
}


def bytes_per_element(kind: str, count: int) -> float:
    entries = list(_batches(count, COMMANDS[kind]))  # built before measuring
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = KVStore()
    for entry in entries:
        store.apply(entry)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(store) in (1, count)
    return held / count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/type_memory.py", description=__doc__)
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{args.elements:,} elements of 16 bytes; bytes per element, median of {args.runs}")
    for kind in COMMANDS:
        figures = [bytes_per_element(kind, args.elements) for _ in range(args.runs)]
        shown = " / ".join(f"{f:.0f}" for f in figures)
        print(f"{kind:20} {statistics.median(figures):7.0f}   ({shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
