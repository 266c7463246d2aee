"""The hash commands: HSET, HGET, HDEL, HINCRBY and the rest, as Redis 7 has them.

A hash is a ``Hash`` value of the key space (fields to values, bytes both,
in insertion order). Handlers follow the rules of commands.py: arity already
checked, every failure an ``ErrorReply`` worded as Redis words it, never an
exception, time never read. A key holding a string answers ``WRONGTYPE``
(and a string command on a hash does too, commands.py). A hash never exists
empty: the last field deleted removes the key, as in Redis. A change goes
through ``Keyspace.own``, which copies a hash a snapshot may still be reading
and counts the change for WATCH; a command that would change nothing (HDEL
of absent fields, HSETNX of a present one) does not touch the hash at all.
"""

from __future__ import annotations

from operator import itemgetter

from ranet.kv import long_double
from ranet.kv.arguments import (
    INT64_MAX,
    INT64_MIN,
    NAN_OR_INFINITY,
    NOT_A_FLOAT,
    NOT_AN_INTEGER,
    OUT_OF_LONG_RANGE,
    OVERFLOW,
    SYNTAX_ERROR,
    arity_error,
    check_repeats,
    matching,
    of_type,
    parse_int,
    parse_key_scan,
)
from ranet.kv.keyspace import Hash, Keyspace
from ranet.kv.notifications import HASH
from ranet.kv.reply import OK, ErrorReply, Reply, Scored

NOT_AN_INTEGER_FIELD = ErrorReply("ERR hash value is not an integer")


def _hash(keyspace: Keyspace, key: bytes) -> Hash | ErrorReply | None:
    return of_type(keyspace, key, Hash)


def _hash_to_change(keyspace: Keyspace, key: bytes) -> Hash | ErrorReply:
    """The hash at ``key``, made if absent, ready to change; or WRONGTYPE."""
    fields = _hash(keyspace, key)
    return fields if isinstance(fields, ErrorReply) else keyspace.changeable(key, Hash)


def hset(keyspace: Keyspace, argv: list[bytes], *, count_new: bool = True) -> Reply:
    """HSET key field value [field value ...]: how many fields are new.
    HMSET (``count_new`` false): the same, answering OK."""
    if len(argv) % 2 != 0:
        return arity_error(argv[0])
    fields = _hash_to_change(keyspace, argv[1])
    if isinstance(fields, ErrorReply):
        return fields
    before = len(fields)
    for i in range(2, len(argv), 2):
        fields[argv[i]] = argv[i + 1]
    keyspace.notify(HASH, b"hset", argv[1])
    return len(fields) - before if count_new else OK


def hsetnx(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """HSETNX key field value: 1 if the field was absent and is now set, else 0."""
    fields = _hash(keyspace, argv[1])
    if isinstance(fields, ErrorReply):
        return fields
    if fields is not None and argv[2] in fields:
        return 0
    hset(keyspace, argv)
    return 1


def hget(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    fields = _hash(keyspace, argv[1])
    if fields is None or isinstance(fields, ErrorReply):
        return fields
    return fields.get(argv[2])


def hmget(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    fields = _hash(keyspace, argv[1])
    if isinstance(fields, ErrorReply):
        return fields
    if fields is None:
        return [None] * (len(argv) - 2)
    return [fields.get(field) for field in argv[2:]]


def hexists(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    fields = _hash(keyspace, argv[1])
    if isinstance(fields, ErrorReply):
        return fields
    return int(fields is not None and argv[2] in fields)


def hstrlen(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    fields = _hash(keyspace, argv[1])
    if fields is None or isinstance(fields, ErrorReply):
        return 0 if fields is None else fields
    return len(fields.get(argv[2], b""))


def hkeys(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    fields = _hash(keyspace, argv[1])
    if fields is None or isinstance(fields, ErrorReply):
        return [] if fields is None else fields
    return list(fields)


def hvals(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    fields = _hash(keyspace, argv[1])
    if fields is None or isinstance(fields, ErrorReply):
        return [] if fields is None else fields
    return list(fields.values())


def hgetall(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """HGETALL key: a map (RESP3), a flat field-value array (RESP2)."""
    fields = _hash(keyspace, argv[1])
    if fields is None or isinstance(fields, ErrorReply):
        return {} if fields is None else fields
    return dict(fields)


def hincrby(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """HINCRBY key field increment: the new value; the field starts at 0."""
    amount = parse_int(argv[3])
    if amount is None:
        return NOT_AN_INTEGER
    key, field = argv[1], argv[2]
    fields = _hash(keyspace, key)
    if isinstance(fields, ErrorReply):
        return fields
    old = None if fields is None else fields.get(field)
    current = 0 if old is None else parse_int(old)
    if current is None:
        return NOT_AN_INTEGER_FIELD
    result = current + amount
    if not INT64_MIN <= result <= INT64_MAX:
        return OVERFLOW
    changing = _hash_to_change(keyspace, key)
    assert isinstance(changing, Hash)  # the type was checked above
    changing[field] = b"%d" % result
    keyspace.notify(HASH, b"hincrby", key)
    return result


def hincrbyfloat(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """HINCRBYFLOAT key field increment: the new value, computed as
    INCRBYFLOAT computes it (long_double.py); the field starts at 0."""
    increment = long_double.parse(argv[3])
    if increment is None:
        return NOT_A_FLOAT
    if isinstance(increment, float):  # an infinity
        return ErrorReply("ERR value is NaN or Infinity")
    key, field = argv[1], argv[2]
    fields = _hash(keyspace, key)
    if isinstance(fields, ErrorReply):
        return fields
    old = None if fields is None else fields.get(field)
    value = long_double.parse(b"0" if old is None else old)
    if value is None:
        return ErrorReply("ERR hash value is not a float")
    total = long_double.add(value, increment)
    if total is None:
        return NAN_OR_INFINITY
    text = long_double.format_human(total)
    keyspace.changeable(key, Hash)[field] = text
    keyspace.notify(HASH, b"hincrbyfloat", key)
    return text


def hrandfield(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """HRANDFIELD key [count [WITHVALUES]]: a random field; ``count``
    distinct ones, or with a negative count that many with repeats; with
    their values (RESP3: pairs). A read: random is fine."""
    count = None if len(argv) == 2 else parse_int(argv[2])
    if len(argv) > 2 and count is None:
        return NOT_AN_INTEGER
    if count == INT64_MIN:
        return OUT_OF_LONG_RANGE
    if len(argv) > 4 or (len(argv) == 4 and argv[3].upper() != b"WITHVALUES"):
        return SYNTAX_ERROR
    fields = _hash(keyspace, argv[1])
    if isinstance(fields, ErrorReply):
        return fields
    pool = [] if fields is None else list(fields.items())
    if count is None:
        return keyspace.random.choice(pool)[0] if pool else None
    if count < 0 and pool and (too_many := check_repeats(count)):
        return too_many
    if count < 0:
        chosen = [keyspace.random.choice(pool) for _ in range(-count)] if pool else []
    else:
        chosen = keyspace.random.sample(pool, min(count, len(pool)))
    if len(argv) == 4:
        return Scored([field, value] for field, value in chosen)
    return [field for field, _ in chosen]


def hscan(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """HSCAN key cursor [MATCH pattern] [COUNT n] [NOVALUES]: every matching
    field (and value) in one page, cursor 0 - COUNT is a hint Redis too may
    exceed, and one page cannot miss a field nor return one twice."""
    options = parse_key_scan(argv, (b"NOVALUES",))
    if isinstance(options, ErrorReply):
        return options
    fields = _hash(keyspace, argv[1])
    if isinstance(fields, ErrorReply):
        return fields
    items = matching(options, (fields or {}).items(), itemgetter(0))
    values = b"NOVALUES" not in options
    return [b"0", [part for item in items for part in (item if values else item[:1])]]
