"""OBJECT ENCODING | REFCOUNT | FREQ | IDLETIME | HELP: what Redis 7.0.15
says of a key's value.

ranet keeps each type one way (keyspace.py), so the encoding answered is
the one Redis 7.0.15 would give the value as it is now, by Redis's own
rules and default thresholds:

- a string is ``int`` if Redis reads it as a signed 64-bit integer
  (``string2l``: no sign but ``-``, no leading zero, no spaces), else
  ``embstr`` up to 44 bytes and ``raw`` beyond;
- a list is a ``quicklist`` (7.0 has no small-list encoding);
- a hash is a ``listpack`` while it has at most 512 fields and every field
  and value is at most 64 bytes (``hash-max-listpack-entries`` and
  ``-value``), else a ``hashtable``;
- a set is an ``intset`` while it has at most 512 members, all integers
  (``set-max-intset-entries``), else a ``hashtable``;
- a sorted set is a ``listpack`` while it has at most 128 members of at
  most 64 bytes each (``zset-max-listpack-entries`` and ``-value``), else
  a ``skiplist``;
- a stream is a ``stream``.

Where Redis's answer depends on the value's history rather than its
content, ranet answers from the content - what Redis itself answers after
loading the value from an RDB file: a short string made by APPEND,
SETRANGE, SETBIT, PFADD or INCRBYFLOAT is ``raw`` or ``embstr`` in Redis
until then, and a hash, set or sorted set that once grew past a limit
stays a ``hashtable`` or ``skiplist`` after it shrinks. Being exact would
take a mark on every value, set on the write path and carried through
snapshots. Answered from the content, the encoding is the same on every
replica.

REFCOUNT follows: Redis shares the integers 0 to 9999 (its
``OBJ_SHARED_INTEGERS``, with no ``maxmemory``, as in ranet), whose count
is ``INT_MAX``; every other value is referenced once. FREQ answers Redis's
error for a server without an LFU ``maxmemory-policy`` (ranet's is
``noeviction``). IDLETIME answers an error: ranet does not record when
each key was last read, which would cost every read and memory per key.
A missing key is a null for every subcommand, as in Redis.
"""

from __future__ import annotations

from ranet.kv.arguments import answered_before_running, parse_int
from ranet.kv.keyspace import Hash, Keyspace, List, Set, SortedSet, Value
from ranet.kv.reply import ErrorReply, Reply, Status
from ranet.kv.stream_value import Stream

ARITIES = {b"ENCODING": 3, b"REFCOUNT": 3, b"FREQ": 3, b"IDLETIME": 3, b"HELP": 2}

EMBSTR_SIZE_LIMIT = 44  # Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT
HASH_MAX_LISTPACK_ENTRIES = 512
HASH_MAX_LISTPACK_VALUE = 64
SET_MAX_INTSET_ENTRIES = 512
ZSET_MAX_LISTPACK_ENTRIES = 128
ZSET_MAX_LISTPACK_VALUE = 64
SHARED_INTEGERS = 10_000  # Redis's OBJ_SHARED_INTEGERS: 0 to 9999
SHARED_REFCOUNT = 2**31 - 1  # Redis's OBJ_SHARED_REFCOUNT (INT_MAX)

NOT_LFU = ErrorReply(
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
    "Please note that when switching between policies at runtime LRU and LFU data "
    "will take some time to adjust."
)
IDLE_TIME_NOT_TRACKED = ErrorReply(
    "ERR OBJECT IDLETIME is not supported by ranet: it does not track when each key "
    "was last accessed"
)

_HELP = [
    Status(line)
    for line in (
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "    Not tracked by ranet, which has no LFU maxmemory policy.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "    Not tracked by ranet: an error for a key that exists.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    )
]


def object_command(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """OBJECT subcommand [key]: Redis's reply to each (module docstring)."""
    answered = answered_before_running(argv, ARITIES, _HELP)
    if answered is not None:
        return answered
    subcommand = argv[1].upper()
    value = keyspace.get(argv[2])
    if value is None:
        return None
    if subcommand == b"ENCODING":
        return encoding(value)
    if subcommand == b"REFCOUNT":
        return refcount(value)
    return NOT_LFU if subcommand == b"FREQ" else IDLE_TIME_NOT_TRACKED


def encoding(value: Value) -> bytes:
    """The encoding Redis 7.0.15 gives ``value``, by its content."""
    if isinstance(value, bytes):
        if parse_int(value) is not None:
            return b"int"
        return b"embstr" if len(value) <= EMBSTR_SIZE_LIMIT else b"raw"
    if isinstance(value, Hash):
        small = len(value) <= HASH_MAX_LISTPACK_ENTRIES and all(
            len(field) <= HASH_MAX_LISTPACK_VALUE and len(part) <= HASH_MAX_LISTPACK_VALUE
            for field, part in value.items()
        )
        return b"listpack" if small else b"hashtable"
    if isinstance(value, Set):
        integers = len(value) <= SET_MAX_INTSET_ENTRIES and all(
            parse_int(member) is not None for member in value
        )
        return b"intset" if integers else b"hashtable"
    if isinstance(value, SortedSet):
        small = len(value) <= ZSET_MAX_LISTPACK_ENTRIES and all(
            len(member) <= ZSET_MAX_LISTPACK_VALUE for member in value.scores
        )
        return b"listpack" if small else b"skiplist"
    if isinstance(value, List):
        return b"quicklist"
    assert isinstance(value, Stream)
    return b"stream"


def refcount(value: Value) -> int:
    """Redis's reference count of ``value``: ``INT_MAX`` for a shared integer, else 1."""
    if isinstance(value, bytes):
        number = parse_int(value)
        if number is not None and 0 <= number < SHARED_INTEGERS:
            return SHARED_REFCOUNT
    return 1
