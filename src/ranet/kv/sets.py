"""The set commands: SADD, SREM, SMEMBERS, SPOP and the rest, as Redis 7 has them.

A set is a ``Set`` value of the key space (members in insertion order). The
rules of commands.py and hashes.py hold: arity checked before, Redis's
wording for every error, WRONGTYPE for a key of another type, no empty set
(the last member removed takes the key), changes through ``Keyspace.own``
(copy-on-write for snapshots, a version for WATCH) and none for a command
that changes nothing.

One departure, for determinism: SPOP is a write, applied on every replica,
and must remove the same members everywhere, so where Redis picks at random
it pops the oldest members (insertion order). SRANDMEMBER only reads, on one
node, and does pick at random - from ``keyspace.random``, which a script
that may write seeds from the log, so that it picks alike everywhere
(scripting.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from ranet.kv.arguments import (
    NOT_AN_INTEGER,
    NOT_POSITIVE,
    SYNTAX_ERROR,
    check_repeats,
    matching,
    of_type,
    parse_int,
    parse_key_scan,
)
from ranet.kv.keyspace import Keyspace, Set
from ranet.kv.notifications import SET
from ranet.kv.reply import ErrorReply, Members, Reply


def _set(keyspace: Keyspace, key: bytes) -> Set | ErrorReply | None:
    return of_type(keyspace, key, Set)


def _sets(keyspace: Keyspace, keys: Iterable[bytes]) -> list[Set] | ErrorReply:
    """The sets at ``keys`` (an absent key is an empty set), or WRONGTYPE."""
    found = []
    for key in keys:
        members = _set(keyspace, key)
        if isinstance(members, ErrorReply):
            return members
        found.append(Set() if members is None else members)
    return found


def sadd(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SADD key member [member ...]: how many were not members yet."""
    key = argv[1]
    members = _set(keyspace, key)
    if isinstance(members, ErrorReply):
        return members
    new = [member for member in dict.fromkeys(argv[2:]) if members is None or member not in members]
    if new:
        keyspace.changeable(key, Set).update(dict.fromkeys(new))
        keyspace.notify(SET, b"sadd", key)
    return len(new)


def sismember(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    members = _set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    return int(members is not None and argv[2] in members)


def smismember(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    members = _set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    return [int(members is not None and member in members) for member in argv[2:]]


def smembers(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    members = _set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    return Members(members or ())


def spop(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SPOP key [count]: the oldest member (null if none), or up to ``count``
    of them as a set - the same members on every replica (module docstring)."""
    if len(argv) > 3:
        return SYNTAX_ERROR
    count = None if len(argv) == 2 else parse_int(argv[2])
    if len(argv) == 3 and (count is None or count < 0):
        return NOT_POSITIVE
    key = argv[1]
    members = _set(keyspace, key)
    if isinstance(members, ErrorReply):
        return members
    if members is None:
        return None if count is None else Members()
    taken = list(islice(members, 1 if count is None else count))
    keyspace.remove_parts(key, taken)
    if taken:
        keyspace.notify_taken(SET, b"spop", key)
    if count is None:
        return taken[0]
    return Members(taken)


def srandmember(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SRANDMEMBER key [count]: a random member, or ``count`` distinct ones
        (a negative count: that many, repeats allowed). A read: random is fine
    (in a script that may write, ``keyspace.random`` is seeded)."""
    if len(argv) > 3:
        return SYNTAX_ERROR
    count = None if len(argv) == 2 else parse_int(argv[2])
    if len(argv) == 3 and count is None:
        return NOT_AN_INTEGER
    members = _set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    pool = list(members or ())
    if count is None:
        return keyspace.random.choice(pool) if pool else None
    if count < 0:
        return check_repeats(count) or (
            [keyspace.random.choice(pool) for _ in range(-count)] if pool else []
        )
    return keyspace.random.sample(pool, min(count, len(pool)))


def sintercard(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SINTERCARD numkeys key [key ...] [LIMIT limit]: the size of the
    intersection, counted up to ``limit`` (0: no limit)."""
    numkeys = parse_int(argv[1])
    if numkeys is None or numkeys < 1:
        return ErrorReply("ERR numkeys should be greater than 0")
    if numkeys > len(argv) - 2:
        return ErrorReply("ERR Number of keys can't be greater than number of args")
    limit, options = 0, argv[2 + numkeys :]
    while options:
        if options[0].upper() != b"LIMIT" or len(options) < 2:
            return SYNTAX_ERROR
        parsed = parse_int(options[1])
        if parsed is None or parsed < 0:
            return ErrorReply("ERR LIMIT can't be negative")
        limit, options = parsed, options[2:]
    result = _combine(keyspace, argv[2 : 2 + numkeys], "inter")
    if isinstance(result, ErrorReply):
        return result
    return len(result) if limit == 0 else min(len(result), limit)


def _combine(keyspace: Keyspace, keys: list[bytes], how: str) -> Members | ErrorReply:
    """The members of the sets at ``keys`` combined: ``inter``, ``union`` or ``diff``."""
    sets = _sets(keyspace, keys)
    if isinstance(sets, ErrorReply):
        return sets
    first, rest = sets[0], sets[1:]
    if how == "union":
        return Members(dict.fromkeys(member for members in sets for member in members))
    if how == "inter":
        return Members(m for m in first if all(m in members for members in rest))
    return Members(m for m in first if not any(m in members for members in rest))


def combine(keyspace: Keyspace, argv: list[bytes], how: str) -> Reply:
    """SINTER / SUNION / SDIFF key [key ...]."""
    return _combine(keyspace, argv[1:], how)


def combine_and_store(keyspace: Keyspace, argv: list[bytes], how: str) -> Reply:
    """SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the
    result replaces ``destination`` (its deadline too; empty: removed); its size."""
    result = _combine(keyspace, argv[2:], how)
    if isinstance(result, ErrorReply):
        return result
    if result:
        keyspace.put(argv[1], Set.of(result, keyspace.generation))
        keyspace.notify(SET, b"s%sstore" % how.encode(), argv[1])
    else:
        keyspace.delete_announced(argv[1])
    return len(result)


def smove(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SMOVE source destination member: 1 if moved, 0 if not a member of source."""
    source, destination, member = argv[1], argv[2], argv[3]
    if keyspace.get(source) is None:  # before any type check, as Redis
        return 0
    sets = _sets(keyspace, (source, destination))
    if isinstance(sets, ErrorReply):
        return sets
    if member not in sets[0]:
        return 0
    if source != destination:
        keyspace.remove_parts(source, [member])
        keyspace.notify_taken(SET, b"srem", source)
        sadd(keyspace, [b"SADD", destination, member])
    return 1


def sscan(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SSCAN key cursor [MATCH pattern] [COUNT n]: every matching member in
    one page, cursor 0 (as HSCAN, hashes.py)."""
    options = parse_key_scan(argv)
    if isinstance(options, ErrorReply):
        return options
    members = _set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    return [b"0", matching(options, members or (), _itself)]


def _itself(member: bytes) -> bytes:
    return member
