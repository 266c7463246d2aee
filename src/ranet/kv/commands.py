"""The command table of the key-value store: what each Redis command is.

For every command we know its arity (Redis's convention: positive is exact,
negative is "at least", the name included), its kind and, for data commands,
the function implementing it:

- ``Kind.WRITE`` changes state, so it goes through the log and is applied by
  ``KVStore.apply`` on every replica;
- ``Kind.READ`` only looks, so it is served by ``KVStore.read`` on one node,
  after a linearizable barrier (ReadIndex, thesis §6.4);
- ``Kind.CONNECTION`` concerns the client's connection (PING, SELECT, ...):
  the server answers it and it has no handler here. ``command_reply`` answers
  COMMAND from this table;
- ``Kind.BLOCKING`` is a write that waits for something to take (BLPOP,
  BZPOPMIN, ...): the server waits (blocking.py) and then sends it through
  the log, where it is applied - and run inside MULTI - as its non-blocking
  form, its handler here.

Rules of the handlers: a handler is ``handler(keyspace, argv) -> Reply`` with
an ``argv`` whose arity was already checked (``resolve`` does it). It answers
every failure with an ``ErrorReply`` worded exactly as Redis 7 words it and
never raises. A write handler is deterministic: it reads time only from
``keyspace.now_ms``, which comes from the log.

A value is a string (bytes; the bit commands and SETRANGE are in
bitmaps.py), a hash (``Hash``; the hash commands are in
hashes.py), a set (``Set``; sets.py), a list (``List``; lists.py) or a
sorted set (``SortedSet``; sorted_sets.py, sorted_set_algebra.py). A string
command given another type answers Redis's WRONGTYPE error (MGET
answers null for it, as Redis does); commands on keys (DEL, EXPIRE, RENAME,
...) take any.
"""

from __future__ import annotations

from functools import partial
from itertools import islice

from ranet.kv import (
    acl_command,
    bitmaps,
    dump_restore,
    functions,
    geo,
    hashes,
    hyperloglog,
    lcs,
    lists,
    long_double,
    memory_command,
    object_command,
    scripting,
    sets,
    sort,
    sorted_set_algebra,
    sorted_sets,
    stream_groups,
    stream_info,
    streams,
)
from ranet.kv.acl_catalog import SUBCOMMANDS
from ranet.kv.acl_check import full_name
from ranet.kv.arguments import (
    INT64_MAX,
    INT64_MIN,
    INVALID_CURSOR,
    MAX_STRING_BYTES,
    NAN_OR_INFINITY,
    NOT_A_FLOAT,
    NOT_AN_INTEGER,
    OVERFLOW,
    STRING_TOO_LONG,
    SYNTAX_ERROR,
    WRONG_TYPE,
    arity_error,
    length,
    parse_cursor,
    parse_int,
    remove_parts,
    scan_options,
    string_at,
    text_of,
)
from ranet.kv.command_spec import (
    BLOCKING,
    CONNECTION,
    READ,
    WRITE,
    CommandSpec,
    Handler,
    Kind,
)
from ranet.kv.glob import compile_pattern, match_tokens
from ranet.kv.key_positions import has_keys, located_keys
from ranet.kv.keyspace import VERSION_SLOTS, Hash, Keyspace, List, Set, SortedSet
from ranet.kv.notifications import GENERIC, STRING
from ranet.kv.reply import OK, ErrorReply, Reply, Status
from ranet.kv.stream_value import Stream


def _invalid_expire_time(argv: list[bytes]) -> ErrorReply:
    return ErrorReply(f"ERR invalid expire time in '{argv[0].lower().decode()}' command")


# --- strings ---------------------------------------------------------------


def _get(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    value = keyspace.get(argv[1])
    return value if value is None or value.__class__ is bytes else WRONG_TYPE


# option -> (milliseconds per unit, relative to now?)
_SET_EXPIRY_UNITS = {
    b"EX": (1000, True),
    b"PX": (1, True),
    b"EXAT": (1000, False),
    b"PXAT": (1, False),
}


def _set(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SET key value [NX | XX] [GET] [EX s | PX ms | EXAT unix-s | PXAT unix-ms | KEEPTTL]."""
    key, value = argv[1], argv[2]
    if len(argv) == 3:  # the common case, first
        keyspace.put(key, value)
        if keyspace.notify_flags:  # (the call costs the hottest path 4%)
            keyspace.notify(STRING, b"set", key)
        return OK
    nx = xx = get = keep_ttl = False
    expiry: bytes | None = None  # the option's name: EX, PX, EXAT or PXAT
    amount = b""
    i = 3
    while i < len(argv):  # accepts what Redis's parseExtendedStringArgumentsOrReply accepts
        option = argv[i].upper()
        if option == b"NX" and not xx:
            nx = True
        elif option == b"XX" and not nx:
            xx = True
        elif option == b"GET":
            get = True
        elif option == b"KEEPTTL" and expiry is None:
            keep_ttl = True
        elif (
            option in _SET_EXPIRY_UNITS
            and not keep_ttl
            and expiry in (None, option)
            and i + 1 < len(argv)
        ):
            expiry = option
            i += 1
            amount = argv[i]
        else:
            return SYNTAX_ERROR
        i += 1
    deadline = None
    if expiry is not None:
        deadline = _set_deadline(keyspace, argv, expiry, amount)
        if isinstance(deadline, ErrorReply):
            return deadline
    old = string_at(keyspace, key) if get else keyspace.get(key)
    if isinstance(old, ErrorReply):
        return old
    if (nx and old is not None) or (xx and old is None):
        return old if get else None
    if keep_ttl:
        keyspace.replace(key, value)
    else:
        keyspace.put(key, value)
    keyspace.notify(STRING, b"set", key)
    if deadline is not None:
        keyspace.expire_at(key, deadline)
        keyspace.notify(GENERIC, b"expire", key)
    return old if get else OK


def _set_deadline(
    keyspace: Keyspace, argv: list[bytes], expiry: bytes, amount: bytes
) -> int | ErrorReply:
    """The deadline (unix ms) a SET expiry option names, validated as Redis does."""
    unit_ms, relative = _SET_EXPIRY_UNITS[expiry]
    number = parse_int(amount)
    if number is None:
        return NOT_AN_INTEGER
    if number <= 0 or number > INT64_MAX // unit_ms:
        return _invalid_expire_time(argv)
    deadline = number * unit_ms + (keyspace.now_ms if relative else 0)
    return deadline if deadline <= INT64_MAX else _invalid_expire_time(argv)


def _setnx(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SETNX key value: 1 if the key was absent and is now set, else 0."""
    if keyspace.get(argv[1]) is not None:
        return 0
    keyspace.put(argv[1], argv[2])
    keyspace.notify(STRING, b"set", argv[1])
    return 1


def _setex(keyspace: Keyspace, argv: list[bytes], unit: bytes) -> Reply:
    """SETEX key seconds value / PSETEX key milliseconds value."""
    deadline = _set_deadline(keyspace, argv, unit, argv[2])
    if isinstance(deadline, ErrorReply):
        return deadline
    keyspace.put(argv[1], argv[3])
    keyspace.notify(STRING, b"set", argv[1])
    keyspace.expire_at(argv[1], deadline)
    keyspace.notify(GENERIC, b"expire", argv[1])
    return OK


def _getset(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GETSET key value: SET key value GET (the deadline goes, as with SET)."""
    old = string_at(keyspace, argv[1])
    if not isinstance(old, ErrorReply):
        keyspace.put(argv[1], argv[2])
        keyspace.notify(STRING, b"set", argv[1])
    return old


def _getex(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GETEX key [EX s | PX ms | EXAT unix-s | PXAT unix-ms | PERSIST]."""
    option = argv[2].upper() if len(argv) > 2 else None
    if not (
        option is None
        or (option == b"PERSIST" and len(argv) == 3)
        or (option in _SET_EXPIRY_UNITS and len(argv) == 4)
    ):
        return SYNTAX_ERROR
    deadline = None
    if option in _SET_EXPIRY_UNITS:
        deadline = _set_deadline(keyspace, argv, option, argv[3])  # type: ignore[arg-type]
        if isinstance(deadline, ErrorReply):
            return deadline
    key = argv[1]
    value = string_at(keyspace, key)
    if value is None or isinstance(value, ErrorReply):
        return value
    if deadline is not None:
        keyspace.expire_at(key, deadline)  # one already passed removes the key
        keyspace.notify(GENERIC, b"expire" if key in keyspace.data else b"del", key)
    elif option == b"PERSIST" and keyspace.persist(key):
        keyspace.notify(GENERIC, b"persist", key)
    return value


def _getdel(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    value = string_at(keyspace, argv[1])
    if isinstance(value, bytes):
        keyspace.delete_announced(argv[1])
    return value


def _msetnx(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """MSETNX key value [key value ...]: all set (1) if none exists, else none (0)."""
    if len(argv) % 2 == 0:
        return arity_error(argv[0])
    if any(keyspace.get(argv[i]) is not None for i in range(1, len(argv), 2)):
        return 0
    _mset(keyspace, argv)
    return 1


def _mget(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """MGET key [key ...]: a key that holds no string reads as null, as in Redis."""
    get = keyspace.get
    return [value if (value := get(key)).__class__ is bytes else None for key in argv[1:]]


def _mset(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    if len(argv) % 2 == 0:
        return arity_error(argv[0])
    for i in range(1, len(argv), 2):
        keyspace.put(argv[i], argv[i + 1])
        keyspace.notify(STRING, b"set", argv[i])
    return OK


def _incr_by(keyspace: Keyspace, argv: list[bytes], sign: int) -> Reply:
    """INCR/DECR key (no argument: by 1) and INCRBY/DECRBY key amount; keeps the TTL."""
    if len(argv) == 2:
        amount = 1
    else:
        parsed = parse_int(argv[2])
        if parsed is None:
            return NOT_AN_INTEGER
        if sign < 0 and parsed == INT64_MIN:  # negating it does not fit in 64 bits
            return ErrorReply("ERR decrement would overflow")
        amount = parsed
    key = argv[1]
    old = string_at(keyspace, key)
    if isinstance(old, ErrorReply):
        return old
    current = 0 if old is None else parse_int(old)
    if current is None:
        return NOT_AN_INTEGER
    result = current + sign * amount
    if not INT64_MIN <= result <= INT64_MAX:
        return OVERFLOW
    keyspace.replace(key, b"%d" % result)
    if keyspace.notify_flags:
        keyspace.notify(STRING, b"incrby", key)
    return result


def _incr_by_float(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """INCRBYFLOAT key increment: the new value, as Redis writes it - in
    long double precision, to 17 decimals (long_double.py). Keeps the
    key's deadline, as INCR does."""
    key = argv[1]
    current = string_at(keyspace, key)
    if isinstance(current, ErrorReply):
        return current
    value = long_double.parse(b"0" if current is None else current)
    increment = long_double.parse(argv[2])
    if value is None or increment is None:
        return NOT_A_FLOAT
    total = long_double.add(value, increment)
    if total is None:
        return NAN_OR_INFINITY
    text = long_double.format_human(total)
    keyspace.replace(key, text)
    keyspace.notify(STRING, b"incrbyfloat", key)
    return text


def _append(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    key, suffix = argv[1], argv[2]
    old = string_at(keyspace, key)
    if isinstance(old, ErrorReply):
        return old
    if old is None:
        keyspace.put(key, suffix)
    elif len(old) + len(suffix) > MAX_STRING_BYTES:
        return STRING_TOO_LONG
    else:
        keyspace.replace(key, old + suffix)  # keeps the TTL
    keyspace.notify(STRING, b"append", key)
    return len(old or b"") + len(suffix)


def _getrange(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GETRANGE key start end (and SUBSTR): the bytes from ``start`` to
    ``end`` inclusive, negative from the end; empty if none."""
    start, end = parse_int(argv[2]), parse_int(argv[3])
    if start is None or end is None:
        return NOT_AN_INTEGER
    value = string_at(keyspace, argv[1])
    if value is None or isinstance(value, ErrorReply):
        return b"" if value is None else value
    length = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    start = max(start + length if start < 0 else start, 0)
    end = min(max(end + length if end < 0 else end, 0), length - 1)
    return value[start : end + 1] if start <= end else b""


def _strlen(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    value = string_at(keyspace, argv[1])
    return value if isinstance(value, ErrorReply) else 0 if value is None else len(value)


def _cas(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """CAS key expected new: 1 if the value was ``expected`` and is now ``new``, else 0.

    A missing key never matches. Like INCR, CAS keeps the key's TTL: a lease
    taken with ``SET key owner NX PX ms`` still ends when handed over by CAS.
    """
    key = argv[1]
    current = string_at(keyspace, key)
    if isinstance(current, ErrorReply):
        return current
    if current != argv[2]:  # a missing key is None, never equal
        return 0
    keyspace.replace(key, argv[3])
    keyspace.notify(STRING, b"set", key)  # a value set, as SET's
    return 1


# --- keyspace --------------------------------------------------------------


def _del(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    return sum(keyspace.delete_announced(key) for key in argv[1:])


_RANDOM_KEY_TRIES = 16
_TYPE_NAMES = {Hash: "hash", Set: "set", List: "list", SortedSet: "zset", Stream: "stream"}


def _type(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """TYPE key: string, hash, set, list, zset, stream or none."""
    return Status(_type_name(keyspace.get(argv[1])))


def _type_name(value: object) -> str:
    if value is None:
        return "none"
    return _TYPE_NAMES.get(type(value), "string")


def _rename(keyspace: Keyspace, argv: list[bytes], if_absent: bool) -> Reply:
    """RENAME key newkey (OK) / RENAMENX key newkey (1, or 0 if newkey exists).

    The value keeps its deadline, as in Redis; RENAME replaces newkey."""
    key, new = argv[1], argv[2]
    value = keyspace.get(key)
    if value is None:
        return ErrorReply("ERR no such key")
    if if_absent and keyspace.get(new) is not None:  # key == new included
        return 0
    if key != new:
        deadline = keyspace.deadline(key)
        keyspace.delete(key)
        keyspace.delete(new)  # replaced: the key is new again ("new" event), as in Redis
        keyspace.put(new, value)
        if deadline is not None:
            keyspace.expire_at(new, deadline)
        keyspace.notify(GENERIC, b"rename_from", key)
        keyspace.notify(GENERIC, b"rename_to", new)
    return 1 if if_absent else OK


def _copy(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """COPY source destination [DB 0] [REPLACE]: 1 if copied (value and
    deadline), 0 if there is no source or, without REPLACE, the destination
    exists. There is one database: DB takes 0 only."""
    replace = False
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if option == b"REPLACE":
            replace = True
        elif option == b"DB" and i + 1 < len(argv):
            database = parse_int(argv[i + 1])
            if database is None:
                return NOT_AN_INTEGER
            if database != 0:
                return ErrorReply("ERR DB index is out of range")
            i += 1
        else:
            return SYNTAX_ERROR
        i += 1
    source, destination = argv[1], argv[2]
    if source == destination:
        return ErrorReply("ERR source and destination objects are the same")
    value = keyspace.get(source)
    if value is None or (keyspace.get(destination) is not None and not replace):
        return 0
    keyspace.delete(destination)  # replaced: the key is new again ("new" event), as in Redis
    keyspace.put(destination, keyspace.copy_of(value))
    deadline = keyspace.deadline(source)
    if deadline is not None:
        keyspace.expire_at(destination, deadline)
    keyspace.notify(GENERIC, b"copy_to", destination)
    return 1


def _randomkey(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """RANDOMKEY: a live key picked at random (from ``keyspace.random``: in a
    script that may write, seeded by the log, so alike on every replica,
    whose keys are in the same order), or null. A pick walks the keys up to
    it, in C: a few milliseconds for a million keys."""
    data = keyspace.data
    for _ in range(_RANDOM_KEY_TRIES):  # a key past its deadline may still be there
        if not data:
            return None
        key = next(islice(data, keyspace.random.randrange(len(data)), None))
        if keyspace.get(key) is not None:
            return key
    return next((key for key in data if keyspace.get(key) is not None), None)


def _exists(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    found = 0
    for key in argv[1:]:  # a key named twice counts twice, as in Redis
        found += keyspace.get(key) is not None
    return found


def _dbsize(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    return len(keyspace)


def _keys(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    pattern = argv[1]
    if pattern == b"*":
        return list(keyspace)
    tokens = compile_pattern(pattern)
    return [key for key in keyspace if match_tokens(tokens, key)]


_SCAN_COUNT = 10  # keys a page aims at when SCAN names no COUNT, as in Redis


def _scan(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]: a page of keys and
    the cursor of the next (``Keyspace.scan``: a cursor is a slot, and 0
    ends the iteration). TYPE keeps the keys holding that type."""
    cursor = parse_cursor(argv[1])
    if cursor is None:
        return INVALID_CURSOR
    options = scan_options(argv, 2, (b"COUNT", b"MATCH", b"TYPE"))
    if isinstance(options, ErrorReply):
        return options
    count = int(options.get(b"COUNT", _SCAN_COUNT))
    pattern, of_type = options.get(b"MATCH", b"*"), options.get(b"TYPE")
    next_cursor, keys = keyspace.scan(min(cursor, VERSION_SLOTS + 1), count)
    if pattern != b"*":
        tokens = compile_pattern(pattern)
        keys = [key for key in keys if match_tokens(tokens, key)]
    if of_type is not None:
        wanted = of_type.lower().decode("ascii", "replace")
        keys = [key for key in keys if _type_name(keyspace.get(key)) == wanted]
    return [b"%d" % next_cursor, keys]


def _flush(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """FLUSHDB / FLUSHALL [ASYNC | SYNC]: there is one database, both empty it."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC")):
        return SYNTAX_ERROR
    keyspace.clear()
    return OK


_EXPIRE_CONDITIONS = (b"NX", b"XX", b"GT", b"LT")
_SECONDS_MIN = -(-INT64_MIN // 1000)  # C's LLONG_MIN / 1000 (truncated toward zero)


def _expire(keyspace: Keyspace, argv: list[bytes], unit_ms: int, relative: bool) -> Reply:
    """EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT]."""
    conditions = set()
    for option in argv[3:]:
        condition = option.upper()
        if condition not in _EXPIRE_CONDITIONS:
            return ErrorReply(f"ERR Unsupported option {text_of(option)}")
        conditions.add(condition)
    if b"NX" in conditions and len(conditions) > 1:
        return ErrorReply("ERR NX and XX, GT or LT options at the same time are not compatible")
    if {b"GT", b"LT"} <= conditions:
        return ErrorReply("ERR GT and LT options at the same time are not compatible")
    when = parse_int(argv[2])
    if when is None:
        return NOT_AN_INTEGER
    if unit_ms != 1 and not _SECONDS_MIN <= when <= INT64_MAX // unit_ms:
        return _invalid_expire_time(argv)
    base = keyspace.now_ms if relative else 0
    when *= unit_ms
    if when > INT64_MAX - base:
        return _invalid_expire_time(argv)
    when += base
    key = argv[1]
    if keyspace.get(key) is None:
        return 0
    if conditions:
        current = keyspace.deadline(key)  # None: no deadline, an infinite TTL
        if (
            (b"NX" in conditions and current is not None)
            or (b"XX" in conditions and current is None)
            or (b"GT" in conditions and (current is None or when <= current))
            or (b"LT" in conditions and current is not None and when >= current)
        ):
            return 0
    keyspace.expire_at(key, when)  # one already passed removes the key
    keyspace.notify(GENERIC, b"expire" if key in keyspace.data else b"del", key)
    return 1


def _ttl(keyspace: Keyspace, argv: list[bytes], unit_ms: int, absolute: bool) -> Reply:
    """TTL / PTTL / EXPIRETIME / PEXPIRETIME key: -2 if no key, -1 if no deadline."""
    key = argv[1]
    if keyspace.get(key) is None:
        return -2
    deadline = keyspace.deadline(key)
    if deadline is None:
        return -1
    remaining = deadline if absolute else max(deadline - keyspace.now_ms, 0)
    return (remaining + unit_ms // 2) // unit_ms  # seconds are rounded, as Redis does


def _persist(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    key = argv[1]
    if keyspace.get(key) is None or not keyspace.persist(key):
        return 0
    keyspace.notify(GENERIC, b"persist", key)
    return 1


# --- the table -------------------------------------------------------------


def _publish(keyspace: Keyspace, argv: list[bytes], shard: bool = False) -> Reply:
    """PUBLISH channel message (SPUBLISH, ``shard``, to shard channels):
    through the log, so that every node hands it to its own subscribers as
    it applies the entry, all in the log's order (kv/pubsub.py); how many
    subscribers of the node that applied it for the client received it.
    Changes no state."""
    publisher = keyspace.publisher
    return 0 if publisher is None else publisher(argv[1], argv[2], shard)


def _note(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """RANET.NOTE text: record ``text`` in the replicated log and change nothing
    else (the console's ``append``, the seed's ``client-append-entry``); and
    RANET.TICK: an entry whose only effect is its time - applied, it expires
    the keys due by then (the nodes' tick for key-space events, node_backend.py)."""
    return OK


_KIND_FLAG = {WRITE: "write", READ: "readonly", CONNECTION: None, BLOCKING: "write"}
_KIND_CATEGORY = {WRITE: "@write", READ: "@read", CONNECTION: None, BLOCKING: "@write"}


def _command(
    name: str,
    arity: int,
    kind: Kind,
    handler: Handler | None = None,
    *,
    flags: str = "fast",
    keys: tuple[int, int, int] = (1, 1, 1),
    group: str = "string",
    dangerous: bool = False,
    subcommands: dict[bytes, int] | None = None,
) -> CommandSpec:
    """A table row; the kind's flag, the ACL categories and whether a read or
    write may wait (the flag ``blocking`` on a command not of the blocking
    kind) follow from the rest; ``dangerous`` adds Redis's @dangerous
    category (KEYS, FLUSHALL); ``subcommands``: a container's, with their
    arities."""
    extra = flags.split()
    all_flags = tuple(f for f in (_KIND_FLAG[kind], *extra) if f)
    speed = "@fast" if "fast" in extra else "@slow"
    blocking = "blocking" in extra
    categories = tuple(
        c
        for c in (
            _KIND_CATEGORY[kind],
            *(f"@{name}" for name in group.split()),
            speed,
            "@blocking" if blocking else "",
            "@dangerous" if dangerous else "",
        )
        if c
    )
    may_block = blocking and kind is not BLOCKING
    return CommandSpec(
        name,
        arity,
        kind,
        handler,
        all_flags,
        *keys,
        categories,
        may_block,
        tuple((subcommands or {}).items()),
    )


def _resolve(argv: list[bytes]) -> CommandSpec | ErrorReply:
    """``resolve``, for scripts' ``redis.call`` (the table is built below)."""
    return resolve(argv)


_ANY_KEYS = (1, -1, 1)
_NO_KEYS = (0, 0, 0)
_keyspace_command = partial(_command, group="keyspace")
_bitmap_command = partial(_command, group="bitmap")
_geo_command = partial(_command, group="geo")
_hash_command = partial(_command, group="hash")
_hll_command = partial(_command, group="hyperloglog")
_set_command = partial(_command, group="set")
_list_command = partial(_command, group="list")
_zset_command = partial(_command, group="sortedset")
_stream_command = partial(_command, group="stream")
_zrange = sorted_sets.zrange
_connection_command = partial(_command, keys=_NO_KEYS, group="connection")

COMMANDS: tuple[CommandSpec, ...] = (
    _command("get", 2, READ, _get),
    _command("set", -3, WRITE, _set, flags="denyoom"),
    _command("getdel", 2, WRITE, _getdel),
    _command("setnx", 3, WRITE, _setnx, flags="denyoom fast"),
    _command("setex", 4, WRITE, partial(_setex, unit=b"EX"), flags="denyoom"),
    _command("psetex", 4, WRITE, partial(_setex, unit=b"PX"), flags="denyoom"),
    _command("getset", 3, WRITE, _getset, flags="denyoom fast"),
    _command("getex", -2, WRITE, _getex),
    _command("msetnx", -3, WRITE, _msetnx, flags="denyoom", keys=(1, -1, 2)),
    _command("mget", -2, READ, _mget, keys=_ANY_KEYS),
    _command("mset", -3, WRITE, _mset, flags="denyoom", keys=(1, -1, 2)),
    _command("incr", 2, WRITE, partial(_incr_by, sign=1), flags="denyoom fast"),
    _command("decr", 2, WRITE, partial(_incr_by, sign=-1), flags="denyoom fast"),
    _command("incrby", 3, WRITE, partial(_incr_by, sign=1), flags="denyoom fast"),
    _command("decrby", 3, WRITE, partial(_incr_by, sign=-1), flags="denyoom fast"),
    _command("incrbyfloat", 3, WRITE, _incr_by_float, flags="denyoom fast"),
    _command("append", 3, WRITE, _append, flags="denyoom fast"),
    _command("strlen", 2, READ, _strlen),
    _command("getrange", 4, READ, _getrange, flags=""),
    _command("substr", 4, READ, _getrange, flags=""),
    _command("lcs", -3, READ, lcs.lcs, flags="", keys=(1, 2, 1)),
    _command("setrange", 4, WRITE, bitmaps.setrange, flags="denyoom"),
    _bitmap_command("setbit", 4, WRITE, bitmaps.setbit, flags="denyoom"),
    _bitmap_command("getbit", 3, READ, bitmaps.getbit),
    _bitmap_command("bitcount", -2, READ, bitmaps.bitcount, flags=""),
    _bitmap_command("bitpos", -3, READ, bitmaps.bitpos, flags=""),
    _bitmap_command("bitop", -4, WRITE, bitmaps.bitop, flags="denyoom", keys=(2, -1, 1)),
    _bitmap_command("bitfield", -2, WRITE, bitmaps.bitfield, flags="denyoom"),
    _bitmap_command("bitfield_ro", -2, READ, partial(bitmaps.bitfield, read_only=True)),
    _hll_command("pfadd", -2, WRITE, hyperloglog.pfadd, flags="denyoom fast"),
    _hll_command("pfcount", -2, READ, hyperloglog.pfcount, flags="", keys=_ANY_KEYS),
    _hll_command("pfmerge", -2, WRITE, hyperloglog.pfmerge, flags="denyoom", keys=_ANY_KEYS),
    _geo_command("geoadd", -5, WRITE, geo.geoadd, flags="denyoom"),
    _geo_command("geopos", -2, READ, geo.geopos, flags=""),
    _geo_command("geodist", -4, READ, geo.geodist, flags=""),
    _geo_command("geohash", -2, READ, geo.geohash_strings, flags=""),
    _geo_command("geosearch", -7, READ, geo.geosearch, flags=""),
    _geo_command("geosearchstore", -8, WRITE, geo.geosearchstore, flags="denyoom", keys=(1, 2, 1)),
    _geo_command("georadius", -6, WRITE, geo.georadius, flags="denyoom movablekeys"),
    _geo_command("georadius_ro", -6, READ, partial(geo.georadius, read_only=True), flags=""),
    _geo_command(
        "georadiusbymember", -5, WRITE, geo.georadiusbymember, flags="denyoom movablekeys"
    ),
    _geo_command(
        "georadiusbymember_ro",
        -5,
        READ,
        partial(geo.georadiusbymember, read_only=True),
        flags="",
    ),
    *(
        _command(
            name,
            -3,
            kind,
            partial(scripting.evaluate, resolve=_resolve, by_sha=by_sha, read_only=kind is READ),
            flags="noscript stale skip_monitor no_mandatory_keys movablekeys",
            keys=_NO_KEYS,
            group="scripting",
        )
        for name, kind, by_sha in (
            ("eval", WRITE, False),
            ("evalsha", WRITE, True),
            ("eval_ro", READ, False),
            ("evalsha_ro", READ, True),
        )
    ),
    _command(
        "script", -2, WRITE, scripting.script, flags="noscript", keys=_NO_KEYS, group="scripting"
    ),
    *(
        _command(
            name,
            -3,
            kind,
            partial(functions.fcall, resolve=_resolve, read_only=kind is READ),
            flags="noscript stale skip_monitor no_mandatory_keys movablekeys",
            keys=_NO_KEYS,
            group="scripting",
        )
        for name, kind in (("fcall", WRITE), ("fcall_ro", READ))
    ),
    _command(
        "function",
        -2,
        WRITE,
        functions.function,
        flags="noscript",
        keys=_NO_KEYS,
        group="scripting",
    ),
    _command("cas", 4, WRITE, _cas, flags="denyoom fast"),
    _command("ranet.note", 2, WRITE, _note, keys=(0, 0, 0), group="ranet"),
    _command("ranet.tick", 1, WRITE, _note, keys=(0, 0, 0), group="ranet"),
    _command(
        "publish",
        3,
        WRITE,
        _publish,
        flags="pubsub loading stale fast",
        keys=_NO_KEYS,
        group="pubsub",
    ),
    _command(
        "spublish",
        3,
        WRITE,
        partial(_publish, shard=True),
        flags="pubsub loading stale fast",
        group="pubsub",
    ),
    _hash_command("hset", -4, WRITE, hashes.hset, flags="denyoom fast"),
    _hash_command("hsetnx", 4, WRITE, hashes.hsetnx, flags="denyoom fast"),
    _hash_command("hmset", -4, WRITE, partial(hashes.hset, count_new=False), flags="denyoom fast"),
    _hash_command("hget", 3, READ, hashes.hget),
    _hash_command("hmget", -3, READ, hashes.hmget),
    _hash_command("hdel", -3, WRITE, partial(remove_parts, kind=Hash)),
    _hash_command("hexists", 3, READ, hashes.hexists),
    _hash_command("hlen", 2, READ, partial(length, kind=Hash)),
    _hash_command("hstrlen", 3, READ, hashes.hstrlen),
    _hash_command("hkeys", 2, READ, hashes.hkeys, flags=""),
    _hash_command("hvals", 2, READ, hashes.hvals, flags=""),
    _hash_command("hgetall", 2, READ, hashes.hgetall, flags=""),
    _hash_command("hincrby", 4, WRITE, hashes.hincrby, flags="denyoom fast"),
    _hash_command("hincrbyfloat", 4, WRITE, hashes.hincrbyfloat, flags="denyoom fast"),
    _hash_command("hscan", -3, READ, hashes.hscan, flags=""),
    _hash_command("hrandfield", -2, READ, hashes.hrandfield, flags=""),
    _set_command("sadd", -3, WRITE, sets.sadd, flags="denyoom fast"),
    _set_command("srem", -3, WRITE, partial(remove_parts, kind=Set)),
    _set_command("sismember", 3, READ, sets.sismember),
    _set_command("smismember", -3, READ, sets.smismember),
    _set_command("smembers", 2, READ, sets.smembers, flags=""),
    _set_command("scard", 2, READ, partial(length, kind=Set)),
    _set_command("spop", -2, WRITE, sets.spop),
    _set_command("srandmember", -2, READ, sets.srandmember, flags=""),
    _set_command("smove", 4, WRITE, sets.smove, keys=(1, 2, 1)),
    _set_command("sscan", -3, READ, sets.sscan, flags=""),
    _set_command("sintercard", -3, READ, sets.sintercard, flags="movablekeys", keys=_NO_KEYS),
    *(
        _set_command(f"s{how}", -2, READ, partial(sets.combine, how=how), flags="", keys=_ANY_KEYS)
        for how in ("inter", "union", "diff")
    ),
    *(
        _set_command(
            f"s{how}store",
            -3,
            WRITE,
            partial(sets.combine_and_store, how=how),
            flags="denyoom",
            keys=_ANY_KEYS,
        )
        for how in ("inter", "union", "diff")
    ),
    _list_command("lpush", -3, WRITE, partial(lists.push, head=True), flags="denyoom fast"),
    _list_command("rpush", -3, WRITE, partial(lists.push, head=False), flags="denyoom fast"),
    _list_command(
        "lpushx", -3, WRITE, partial(lists.push, head=True, existing=True), flags="denyoom fast"
    ),
    _list_command(
        "rpushx", -3, WRITE, partial(lists.push, head=False, existing=True), flags="denyoom fast"
    ),
    _list_command("lpop", -2, WRITE, partial(lists.pop, head=True)),
    _list_command("rpop", -2, WRITE, partial(lists.pop, head=False)),
    _list_command("llen", 2, READ, partial(length, kind=List)),
    _list_command("lrange", 4, READ, lists.lrange, flags=""),
    _list_command("ltrim", 4, WRITE, lists.ltrim, flags=""),
    _list_command("lindex", 3, READ, lists.lindex, flags=""),
    _list_command("lset", 4, WRITE, lists.lset, flags="denyoom"),
    _list_command("lrem", 4, WRITE, lists.lrem, flags=""),
    _list_command("linsert", 5, WRITE, lists.linsert, flags="denyoom"),
    _list_command("lpos", -3, READ, lists.lpos, flags=""),
    _list_command("lmove", 5, WRITE, lists.lmove, flags="denyoom", keys=(1, 2, 1)),
    _list_command("rpoplpush", 3, WRITE, lists.rpoplpush, flags="denyoom", keys=(1, 2, 1)),
    _list_command("lmpop", -4, WRITE, lists.lmpop, flags="movablekeys", keys=_NO_KEYS),
    _list_command(
        "blpop",
        -3,
        BLOCKING,
        partial(lists.blocking_pop, head=True),
        flags="blocking noscript",
        keys=(1, -2, 1),
    ),
    _list_command(
        "brpop",
        -3,
        BLOCKING,
        partial(lists.blocking_pop, head=False),
        flags="blocking noscript",
        keys=(1, -2, 1),
    ),
    _list_command(
        "blmove", 6, BLOCKING, lists.blmove, flags="denyoom blocking noscript", keys=(1, 2, 1)
    ),
    _list_command(
        "brpoplpush",
        4,
        BLOCKING,
        lists.brpoplpush,
        flags="denyoom blocking noscript",
        keys=(1, 2, 1),
    ),
    _list_command(
        "blmpop", -5, BLOCKING, lists.blmpop, flags="blocking movablekeys", keys=_NO_KEYS
    ),
    _zset_command("zadd", -4, WRITE, sorted_sets.zadd, flags="denyoom fast"),
    _zset_command("zincrby", 4, WRITE, sorted_sets.zincrby, flags="denyoom fast"),
    _zset_command("zrem", -3, WRITE, partial(remove_parts, kind=SortedSet)),
    _zset_command("zcard", 2, READ, partial(length, kind=SortedSet)),
    _zset_command("zscore", 3, READ, sorted_sets.zscore),
    _zset_command("zmscore", -3, READ, sorted_sets.zmscore),
    _zset_command("zrank", 3, READ, partial(sorted_sets.zrank, reverse=False)),
    _zset_command("zrevrank", 3, READ, partial(sorted_sets.zrank, reverse=True)),
    _zset_command("zcount", 4, READ, partial(sorted_sets.zcount, by="score")),
    _zset_command("zlexcount", 4, READ, partial(sorted_sets.zcount, by="lex")),
    _zset_command("zrange", -4, READ, _zrange, flags=""),
    _zset_command(
        "zrangestore", -5, WRITE, partial(_zrange, store=True), flags="denyoom", keys=(1, 2, 1)
    ),
    _zset_command("zrevrange", -4, READ, partial(_zrange, by="rank", reverse=True), flags=""),
    _zset_command("zrangebyscore", -4, READ, partial(_zrange, by="score", reverse=False), flags=""),
    _zset_command(
        "zrevrangebyscore", -4, READ, partial(_zrange, by="score", reverse=True), flags=""
    ),
    _zset_command("zrangebylex", -4, READ, partial(_zrange, by="lex", reverse=False), flags=""),
    _zset_command("zrevrangebylex", -4, READ, partial(_zrange, by="lex", reverse=True), flags=""),
    *(
        _zset_command(f"zremrangeby{by}", 4, WRITE, partial(sorted_sets.zremrange, by=by), flags="")
        for by in ("rank", "score", "lex")
    ),
    _zset_command("zpopmin", -2, WRITE, partial(sorted_sets.zpop, highest=False)),
    _zset_command("zpopmax", -2, WRITE, partial(sorted_sets.zpop, highest=True)),
    _zset_command("zmpop", -4, WRITE, sorted_sets.zmpop, flags="movablekeys", keys=_NO_KEYS),
    *(
        _zset_command(
            f"bzpop{end}",
            -3,
            BLOCKING,
            partial(sorted_sets.blocking_zpop, highest=end == "max"),
            flags="blocking fast noscript",
            keys=(1, -2, 1),
        )
        for end in ("min", "max")
    ),
    _zset_command(
        "bzmpop", -5, BLOCKING, sorted_sets.bzmpop, flags="blocking movablekeys", keys=_NO_KEYS
    ),
    _zset_command("zrandmember", -2, READ, sorted_sets.zrandmember, flags=""),
    _zset_command("zscan", -3, READ, sorted_sets.zscan, flags=""),
    *(
        _zset_command(
            f"z{how}",
            -3,
            READ,
            partial(sorted_set_algebra.combine, how=how),
            flags="movablekeys",
            keys=_NO_KEYS,
        )
        for how in ("union", "inter", "diff")
    ),
    *(
        _zset_command(
            f"z{how}store",
            -4,
            WRITE,
            partial(sorted_set_algebra.combine, how=how, store=True),
            flags="denyoom movablekeys",
            keys=(1, 1, 1),
        )
        for how in ("union", "inter", "diff")
    ),
    _zset_command(
        "zintercard",
        -3,
        READ,
        partial(sorted_set_algebra.combine, how="inter", count=True),
        flags="movablekeys",
        keys=_NO_KEYS,
    ),
    _stream_command("xadd", -5, WRITE, streams.xadd, flags="denyoom fast"),
    _stream_command("xlen", 2, READ, partial(length, kind=Stream)),
    _stream_command("xrange", -4, READ, partial(streams.xrange, reverse=False), flags=""),
    _stream_command("xrevrange", -4, READ, partial(streams.xrange, reverse=True), flags=""),
    _stream_command("xdel", -3, WRITE, streams.xdel),
    _stream_command("xtrim", -4, WRITE, streams.xtrim, flags=""),
    _stream_command("xsetid", -3, WRITE, streams.xsetid, flags="denyoom fast"),
    _stream_command("xread", -4, READ, streams.xread, flags="blocking movablekeys", keys=_NO_KEYS),
    _stream_command(
        "xreadgroup",
        -7,
        WRITE,
        stream_groups.xreadgroup,
        flags="blocking movablekeys",
        keys=_NO_KEYS,
    ),
    _stream_command(
        "xgroup",
        -2,
        WRITE,
        stream_groups.xgroup,
        flags="",
        keys=(2, 2, 1),
        subcommands=stream_groups.XGROUP_ARITIES,
    ),
    _stream_command("xack", -4, WRITE, stream_groups.xack),
    _stream_command("xpending", -3, READ, stream_groups.xpending, flags=""),
    _stream_command("xclaim", -6, WRITE, stream_groups.xclaim),
    _stream_command("xautoclaim", -6, WRITE, stream_groups.xautoclaim),
    _stream_command(
        "xinfo",
        -2,
        READ,
        stream_info.xinfo,
        flags="",
        keys=(2, 2, 1),
        subcommands=stream_info.ARITIES,
    ),
    _keyspace_command("del", -2, WRITE, _del, flags="", keys=_ANY_KEYS),
    _keyspace_command("unlink", -2, WRITE, _del, keys=_ANY_KEYS),
    _keyspace_command(
        "rename", 3, WRITE, partial(_rename, if_absent=False), flags="", keys=(1, 2, 1)
    ),
    _keyspace_command("renamenx", 3, WRITE, partial(_rename, if_absent=True), keys=(1, 2, 1)),
    _keyspace_command("copy", -3, WRITE, _copy, flags="denyoom", keys=(1, 2, 1)),
    _keyspace_command("dump", 2, READ, dump_restore.dump, flags=""),
    _keyspace_command("randomkey", 1, READ, _randomkey, flags="", keys=_NO_KEYS),
    _keyspace_command("restore", -4, WRITE, dump_restore.restore, flags="denyoom", dangerous=True),
    *(
        _command(
            name,
            -2,
            kind,
            partial(sort.sort, read_only=kind is READ),
            flags=flags,
            group="set sortedset list",
            dangerous=True,
        )
        for name, kind, flags in (
            ("sort", WRITE, "denyoom movablekeys"),
            ("sort_ro", READ, "movablekeys"),
        )
    ),
    _keyspace_command("type", 2, READ, _type),
    _keyspace_command(
        "object",
        -2,
        READ,
        object_command.object_command,
        flags="",
        keys=(2, 2, 1),
        subcommands=object_command.ARITIES,
    ),
    _command(
        "memory",
        -2,
        READ,
        memory_command.memory_command,
        flags="",
        keys=(2, 2, 1),
        group="",
        subcommands=memory_command.ARITIES,
    ),
    _keyspace_command("touch", -2, READ, _exists, keys=_ANY_KEYS),
    _keyspace_command("exists", -2, READ, _exists, keys=_ANY_KEYS),
    _keyspace_command("dbsize", 1, READ, _dbsize, keys=_NO_KEYS),
    _keyspace_command("keys", 2, READ, _keys, flags="", keys=_NO_KEYS, dangerous=True),
    _keyspace_command("scan", -2, READ, _scan, flags="", keys=_NO_KEYS),
    _keyspace_command("flushdb", -1, WRITE, _flush, flags="", keys=_NO_KEYS, dangerous=True),
    _keyspace_command("flushall", -1, WRITE, _flush, flags="", keys=_NO_KEYS, dangerous=True),
    _keyspace_command("expire", -3, WRITE, partial(_expire, unit_ms=1000, relative=True)),
    _keyspace_command("pexpire", -3, WRITE, partial(_expire, unit_ms=1, relative=True)),
    _keyspace_command("expireat", -3, WRITE, partial(_expire, unit_ms=1000, relative=False)),
    _keyspace_command("pexpireat", -3, WRITE, partial(_expire, unit_ms=1, relative=False)),
    _keyspace_command("persist", 2, WRITE, _persist),
    _keyspace_command("ttl", 2, READ, partial(_ttl, unit_ms=1000, absolute=False)),
    _keyspace_command("pttl", 2, READ, partial(_ttl, unit_ms=1, absolute=False)),
    _keyspace_command("expiretime", 2, READ, partial(_ttl, unit_ms=1000, absolute=True)),
    _keyspace_command("pexpiretime", 2, READ, partial(_ttl, unit_ms=1, absolute=True)),
    _connection_command("ping", -1, CONNECTION),
    _connection_command("echo", 2, CONNECTION),
    _connection_command("time", 1, CONNECTION, flags="loading stale fast", group="server"),
    _connection_command("select", 2, CONNECTION),
    _connection_command("hello", -1, CONNECTION),
    _connection_command("auth", -2, CONNECTION, flags="noscript loading stale fast no-auth"),
    _connection_command("client", -2, CONNECTION, flags=""),
    _connection_command("quit", -1, CONNECTION),
    _connection_command("reset", 1, CONNECTION, flags="noscript loading stale fast no-auth"),
    _connection_command("info", -1, CONNECTION, flags="", group="server"),
    _connection_command("config", -2, CONNECTION, flags="", group="server"),
    _connection_command("command", -1, CONNECTION, flags=""),
    _connection_command("multi", 1, CONNECTION, group="transaction"),
    _connection_command("exec", 1, CONNECTION, flags="", group="transaction"),
    _connection_command("discard", 1, CONNECTION, group="transaction"),
    _connection_command("watch", -2, CONNECTION, keys=_ANY_KEYS, group="transaction"),
    _connection_command("unwatch", 1, CONNECTION, group="transaction"),
    _connection_command("readonly", 1, CONNECTION, group="ranet"),
    _connection_command("readwrite", 1, CONNECTION, group="ranet"),
    _connection_command("ranet.exec", -4, CONNECTION, flags="", group="ranet"),
    _connection_command("raft.transfer", -1, CONNECTION, flags="", group="ranet"),
    _connection_command("raft.member", -2, CONNECTION, flags="", group="ranet"),
    _connection_command("raft.backup", 1, CONNECTION, flags="", group="ranet"),
    _connection_command("acl", -2, CONNECTION, flags="", group="server"),
    _connection_command("monitor", 1, CONNECTION, flags="", group="server", dangerous=True),
    _connection_command("slowlog", -2, CONNECTION, flags="", group="server"),
    _connection_command("latency", -2, CONNECTION, flags="", group="server"),
    _connection_command("wait", 3, CONNECTION, flags="noscript"),
    _connection_command(
        "migrate",
        -6,
        CONNECTION,
        flags="write movablekeys",
        keys=(3, 3, 1),
        group="keyspace write",
        dangerous=True,
    ),
    *(
        _connection_command(
            name, arity, CONNECTION, flags="pubsub noscript loading stale", group="pubsub"
        )
        for name, arity in (
            ("subscribe", -2),
            ("unsubscribe", -1),
            ("psubscribe", -2),
            ("punsubscribe", -1),
            ("pubsub", -2),
        )
    ),
    *(
        _connection_command(
            name,
            arity,
            CONNECTION,
            flags="pubsub noscript loading stale",
            keys=_ANY_KEYS,
            group="pubsub",
        )
        for name, arity in (("ssubscribe", -2), ("sunsubscribe", -1))
    ),
)

# Both spellings clients commonly send (redis-py: "SET", redis-cli: as typed),
# so that the usual lookup is a single dict probe.
_TABLE: dict[bytes, CommandSpec] = {
    spelling: spec
    for spec in COMMANDS
    for spelling in (spec.name.encode(), spec.name.upper().encode())
}

# What ACL commands become in the log and in reads (acl_command.py): run by
# the store only - ``resolve`` does not know them, so neither does a client.
_INTERNAL: dict[bytes, CommandSpec] = {
    spec.name.upper().encode(): spec
    for spec in (
        _command("ranet.acl", -3, WRITE, acl_command.write, flags="", keys=_NO_KEYS),
        _command(
            "ranet.acl_ro",
            -2,
            READ,
            partial(acl_command.read, resolve=_resolve),
            flags="",
            keys=_NO_KEYS,
        ),
        *(
            _command(
                name,
                -4,
                kind,
                partial(acl_command.run_as, resolve=_resolve, kind=kind),
                flags="",
                keys=_NO_KEYS,
            )
            for name, kind in (("ranet.as", WRITE), ("ranet.as_ro", READ))
        ),
    )
}


def resolve_internal(argv: list[bytes]) -> CommandSpec | ErrorReply | None:
    """One of the internal commands, or its arity error; None for any other."""
    spec = _INTERNAL.get(argv[0].upper())
    if spec is None:
        return None
    arity = spec.arity
    return arity_error(spec.name) if len(argv) < -arity else spec


# --- the server's API ------------------------------------------------------


def lookup(name: bytes) -> CommandSpec | None:
    """The command named ``name`` (any case), or ``None`` if there is none."""
    return _TABLE.get(name) or _TABLE.get(name.upper())


_QUOTE_BUDGET = 128  # Redis quotes the arguments of an unknown command up to 128 bytes


def unknown_command(argv: list[bytes]) -> ErrorReply:
    """Redis 7's reply to an unknown command, e.g.
    ``ERR unknown command 'FOO', with args beginning with: 'a' 'b' ``.

    The name is quoted as sent, cut at 128 bytes; then each argument, quoted
    and followed by a space, while the quoted text is under 128 bytes (the
    last argument quoted is cut to fit). Line breaks become spaces.
    """
    quoted = b""
    for arg in argv[1:]:
        if len(quoted) >= _QUOTE_BUDGET:
            break
        quoted += b"'" + arg[: _QUOTE_BUDGET - len(quoted)] + b"' "
    text = text_of(b"unknown command '" + argv[0][:128] + b"', with args beginning with: " + quoted)
    return ErrorReply("ERR " + text.replace("\r", " ").replace("\n", " "))


def resolve(argv: list[bytes]) -> CommandSpec | ErrorReply:
    """The command ``argv`` calls, or the error Redis answers: unknown command or arity."""
    spec = _TABLE.get(argv[0]) or _TABLE.get(argv[0].upper())  # lookup(), inlined: hot path
    if spec is None:
        return unknown_command(argv)
    arity = spec.arity
    if len(argv) != arity if arity > 0 else len(argv) < -arity:
        return arity_error(spec.name)
    return spec


def is_write(argv: list[bytes]) -> bool:
    """Whether ``argv`` calls a command that must go through the log."""
    spec = lookup(argv[0])
    return spec is not None and spec.kind is WRITE


def is_read(argv: list[bytes]) -> bool:
    """Whether ``argv`` calls a command that only reads."""
    spec = lookup(argv[0])
    return spec is not None and spec.kind is READ


def command_info(spec: CommandSpec) -> list[Reply]:
    """The ``COMMAND INFO`` entry of ``spec``, in Redis 7's ten-field shape:
    name, arity, flags, first key, last key, step, ACL categories, tips,
    key specifications, subcommands (the last three empty here).
    """
    return [
        spec.name.encode(),
        spec.arity,
        [Status(flag) for flag in spec.flags],
        spec.first_key,
        spec.last_key,
        spec.step,
        [Status(category) for category in spec.categories],
        [],
        [],
        [],
    ]


def _command_keys(argv: list[bytes], *, with_flags: bool) -> Reply:
    """COMMAND GETKEYS | GETKEYSANDFLAGS command [arg ...]: the keys Redis
    7's key specifications find in the call (key_positions.py). A
    container's call is its subcommand's, as Redis looks it up."""
    if len(argv) < 4:
        return arity_error(f"command|{text_of(argv[1]).lower()}")
    call = argv[2:]
    spec = lookup(call[0])
    if spec is None or (spec.name in SUBCOMMANDS and full_name(spec, call) == spec.name):
        return ErrorReply("ERR Invalid command specified")
    if not has_keys(spec, call):
        return ErrorReply("ERR The command has no key arguments")
    arity = dict(spec.subcommands).get(call[1].upper(), spec.arity)
    if len(call) != arity if arity > 0 else len(call) < -arity:
        return ErrorReply("ERR Invalid number of arguments specified for command")
    keys = located_keys(spec, call)
    if not keys and "no_mandatory_keys" not in spec.flags:
        return ErrorReply("ERR Invalid arguments specified for command")
    if with_flags:
        return [[call[key.position], [Status(flag) for flag in key.flags]] for key in keys]
    return [call[key.position] for key in keys]


def command_reply(argv: list[bytes]) -> Reply:
    """The reply to ``COMMAND [COUNT | INFO name... | LIST | DOCS name... |
    GETKEYS command arg... | GETKEYSANDFLAGS command arg...]``.

    DOCS answers an empty array (no documentation), which redis-cli accepts;
    LIST takes no FILTERBY.
    """
    if len(argv) == 1:
        return [command_info(spec) for spec in COMMANDS]
    subcommand = argv[1].upper()
    if subcommand == b"INFO":
        specs = [lookup(name) for name in argv[2:]] if len(argv) > 2 else COMMANDS
        return [None if spec is None else command_info(spec) for spec in specs]
    if subcommand == b"DOCS":
        return []
    if subcommand in (b"GETKEYS", b"GETKEYSANDFLAGS"):
        return _command_keys(argv, with_flags=subcommand == b"GETKEYSANDFLAGS")
    if subcommand in (b"COUNT", b"LIST"):
        if len(argv) > 2:
            return SYNTAX_ERROR if subcommand == b"LIST" else arity_error("command|count")
        if subcommand == b"COUNT":
            return len(COMMANDS)
        return [spec.name.encode() for spec in COMMANDS]
    return ErrorReply(f"ERR unknown subcommand '{text_of(argv[1][:128])}'. Try COMMAND HELP.")
