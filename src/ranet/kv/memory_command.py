"""MEMORY USAGE key [SAMPLES count] and MEMORY HELP, with Redis 7.0.15's
arguments, errors and arities.

MEMORY USAGE answers an estimate of the bytes ranet's own Python objects
take for a key on the node that serves the read: the key, its share of the
key space's table (and of the deadlines', if it has one), and the value -
as ``sys.getsizeof`` counts them, which is what ``tracemalloc`` sees
allocated (bench/type_memory.py measures the same way). A value made of
parts is estimated as Redis estimates one: its containers are measured
whole, and its parts from the first ``count`` of them (SAMPLES, default 5;
0 takes them all), their average times how many there are - so the answer
costs O(count), not O(parts). What ``getsizeof`` cannot see inside the
sorted containers of sorted sets and streams (sortedcontainers' lists of
pointers and their own objects) is counted per element, with sizes
measured on CPython 3.11 (tests/kv/test_memory_command.py holds each
type's estimate to what ``tracemalloc`` measures).

Not counted: what is the node's rather than the key's - the SCAN index
(keyspace.py), a client's reply buffer - and the allocator's rounding.
The figure depends on how each container grew, so replicas, which may
have rebuilt a value from a snapshot, may answer different figures for the
same value: a script that may write cannot call MEMORY (scripting.py).

MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE are not built: they describe
Redis's allocator (jemalloc) and its figures, which a Python process has
no truthful answer for. Each answers an error that says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from sys import getsizeof
from typing import TypeVar

from ranet.kv.arguments import NOT_AN_INTEGER, SYNTAX_ERROR, answered_before_running, parse_int
from ranet.kv.keyspace import Hash, Keyspace, List, Set, SortedSet, Value
from ranet.kv.reply import ErrorReply, Reply, Status
from ranet.kv.stream_value import Group, Pending, Stream

T = TypeVar("T")

ARITIES = {
    b"USAGE": -3,
    b"HELP": 2,
    b"STATS": 2,
    b"DOCTOR": 2,
    b"MALLOC-STATS": 2,
    b"PURGE": 2,
}
DEFAULT_SAMPLES = 5  # Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES

# What getsizeof does not reach, measured with tracemalloc (CPython 3.11):
_POINTER = 8
_SORTED_LIST = 600  # an empty SortedList and its first sublist
_SORTED_POINTER = 9  # an element's pointer in a sublist, which grows as lists do
_SORTED_DICT = 1_700  # an empty SortedDict: its sorted list of keys and views
_SORTED_SET = 1_600  # an empty SortedSet: its set, sorted list and views
_SET_ENTRY = 40  # a member's share of a set's table (hash and pointer, at most 60% full)
_PAIR = getsizeof((0.0, b""))  # a sorted set's (score, member) in its order
_PENDING = getsizeof(Pending(b"", 0, 0))
_GROUP = getsizeof(Group(b"", 0))
_HEAP_ENTRY = getsizeof((0, b"")) + _POINTER  # a deadline's (deadline, key) in the heap
_DICT = getsizeof({})  # a dict without its table

_HELP = [
    Status(line)
    for line in (
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports. Not built in ranet.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator. Not built in",
        "    ranet.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator. Not built in",
        "    ranet.",
        "STATS",
        "    Return information about the memory usage of the server. Not built in ranet.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return an estimate of the bytes ranet's Python objects take for <key> and",
        "    its value. Nested values are sampled up to <count> times (default: 5, 0",
        "    means sample all).",
        "HELP",
        "    Prints this help.",
    )
]


def memory_command(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """MEMORY USAGE key [SAMPLES count] | HELP; the other subcommands'
    error (module docstring)."""
    answered = answered_before_running(argv, ARITIES, _HELP)
    if answered is not None:
        return answered
    subcommand = argv[1].upper()
    if subcommand != b"USAGE":
        return ErrorReply(
            f"ERR MEMORY {subcommand.decode()} is not supported by ranet (not built): its "
            "figures are those of Redis's memory allocator"
        )
    samples = _samples(argv)
    if isinstance(samples, ErrorReply):
        return samples
    key = argv[2]
    value = keyspace.get(key)
    if value is None:
        return None
    return usage(keyspace, key, value, samples)


def _samples(argv: list[bytes]) -> int | ErrorReply | None:
    """The count SAMPLES options give (the last one; None: every part), or
    Redis's error: checked before the key is looked up, as Redis does."""
    samples: int | None = DEFAULT_SAMPLES
    i = 3
    while i < len(argv):
        if argv[i].upper() != b"SAMPLES" or i + 1 == len(argv):
            return SYNTAX_ERROR
        count = parse_int(argv[i + 1])
        if count is None:
            return NOT_AN_INTEGER
        if count < 0:
            return SYNTAX_ERROR
        samples = count or None
        i += 2
    return samples


def usage(keyspace: Keyspace, key: bytes, value: Value, samples: int | None) -> int:
    """The estimated bytes of ``key`` holding ``value``: the key, its share
    of the key space's table, a deadline's, and the value's estimate."""
    size = getsizeof(key) + _table_share(keyspace.data) + value_size(value, samples)
    deadline = keyspace.expires.get(key)
    if deadline is not None:
        size += _table_share(keyspace.expires) + getsizeof(deadline) + _HEAP_ENTRY
    return size


def _table_share(table: dict[bytes, object]) -> int:
    """A key's share of a dict's table (of the slots a dict keeps free too)."""
    return (getsizeof(table) - _DICT) // len(table)


def value_size(value: Value, samples: int | None) -> int:
    """The estimated bytes of ``value``: its containers measured, its parts
    estimated from ``samples`` of them (None: all)."""
    if isinstance(value, bytes):
        return getsizeof(value)
    if isinstance(value, Hash):
        return getsizeof(value) + _sampled(value.items(), len(value), samples, _pair_size)
    if isinstance(value, Set | List):
        return getsizeof(value) + _sampled(value, len(value), samples, getsizeof)
    if isinstance(value, SortedSet):
        count = len(value)
        return (
            getsizeof(value)
            + getsizeof(value.scores)
            + _sorted_list(count)
            + _sampled(value.scores.items(), count, samples, _scored_size)
        )
    return _stream_size(value, samples)


def _stream_size(stream: Stream, samples: int | None) -> int:
    """A stream: its entries (IDs and packed fields) by sample, its groups
    all, as Redis counts them."""
    count = len(stream)
    size = (
        getsizeof(stream)
        + getsizeof(stream.entries)
        + _sorted_list(count)
        + _sampled(stream.entries.items(), count, samples, _pair_size)
        + getsizeof(stream.groups)
    )
    for name, group in stream.groups.items():
        size += getsizeof(name) + _group_size(group)
    return size


def _group_size(group: Group) -> int:
    """A consumer group: its pending entries (the IDs are the stream's) and
    its consumers, each with its own list of pending IDs."""
    pending = len(group.pending)
    size = (
        _GROUP
        + _SORTED_DICT
        + getsizeof(group.pending)
        + pending * (_PENDING + _SORTED_POINTER)
        + getsizeof(group.consumers)
    )
    for name, consumer in group.consumers.items():
        owed = len(consumer.pending)
        size += getsizeof(name) + getsizeof(consumer) + _SORTED_SET
        size += owed * (_SET_ENTRY + _SORTED_POINTER)
    return size


def _sorted_list(count: int) -> int:
    """A SortedList of ``count`` elements, without the elements."""
    return _SORTED_LIST + count * _SORTED_POINTER


def _pair_size(pair: tuple[bytes, bytes]) -> int:
    return getsizeof(pair[0]) + getsizeof(pair[1])


def _scored_size(item: tuple[bytes, float]) -> int:
    """A sorted set's member: itself, its score, and their pair in the order."""
    return getsizeof(item[0]) + getsizeof(item[1]) + _PAIR


def _sampled(parts: Iterable[T], count: int, samples: int | None, size: Callable[[T], int]) -> int:
    """The bytes of ``count`` parts, estimated from the first ``samples``
    (None: all) as Redis estimates them: their average, times ``count``."""
    measured = taken = 0
    for part in islice(parts, samples):
        measured += size(part)
        taken += 1
    return measured * count // taken if taken else 0
