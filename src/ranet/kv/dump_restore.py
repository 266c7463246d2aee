"""DUMP and RESTORE: a key's value in Redis's serialization, both ways.

DUMP writes a value as Redis 7.0's RESTORE reads it (``rdb.py``): a
string, a list, a set, a hash or a sorted set in the RDB types every Redis
since 3.2 reads, so a key moves from ranet to redis-server. RESTORE reads
what Redis 7.0 and 6 DUMP - those types, and the packed encodings Redis
uses for small values (listpack, ziplist, intset, quicklist) -, so keys
move from redis-server into ranet (migration tools that copy keys with
DUMP and RESTORE). A stream, its consumer groups included, is written as
Redis 7.0 writes one and read as 7.0 or 6 wrote it (``rdb_stream.py``).

RESTORE is a write, applied from the log on every replica; its TTL counts
from the log's time. IDLETIME and FREQ are accepted and change nothing:
ranet keeps no access times or counts (no eviction).
"""

from __future__ import annotations

from collections.abc import Callable

from ranet.kv import rdb, rdb_stream
from ranet.kv.arguments import NOT_AN_INTEGER, SYNTAX_ERROR, parse_int
from ranet.kv.keyspace import Hash, Keyspace, List, Set, SortedSet, Value
from ranet.kv.notifications import GENERIC
from ranet.kv.reply import OK, ErrorReply, Reply
from ranet.kv.stream_value import Stream

STRING, LIST, SET, ZSET, HASH, ZSET_2 = 0, 1, 2, 3, 4, 5
LIST_ZIPLIST, SET_INTSET, ZSET_ZIPLIST, HASH_ZIPLIST, LIST_QUICKLIST = 10, 11, 12, 13, 14
STREAM_LISTPACKS, HASH_LISTPACK, ZSET_LISTPACK, LIST_QUICKLIST_2 = 15, 16, 17, 18
STREAM_LISTPACKS_2 = 19
_PLAIN_NODE, _PACKED_NODE = 1, 2  # a quicklist node: one element, or a listpack of them

BAD_FORMAT = ErrorReply("ERR Bad data format")
BUSY_KEY = ErrorReply("BUSYKEY Target key name already exists.")


def dump(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """DUMP key: the value's payload, or null."""
    value = keyspace.get(argv[1])
    if value is None:
        return None
    return rdb.with_footer(serialized(value))


def serialized(value: Value) -> bytes:
    """``value`` as an RDB object: its type, then its parts."""
    string = rdb.encode_string
    if isinstance(value, bytes):
        return bytes((STRING,)) + string(value)
    if isinstance(value, Stream):
        return bytes((STREAM_LISTPACKS_2,)) + rdb_stream.encode(value)
    if isinstance(value, SortedSet):
        parts = [string(member) + rdb.encode_double(score) for score, member in value.order]
        return bytes((ZSET_2,)) + rdb.encode_length(len(parts)) + b"".join(parts)
    if isinstance(value, Hash):
        parts = [string(field) + string(text) for field, text in value.items()]
        return bytes((HASH,)) + rdb.encode_length(len(parts)) + b"".join(parts)
    assert isinstance(value, List | Set)
    kind = LIST if isinstance(value, List) else SET
    return bytes((kind,)) + rdb.encode_length(len(value)) + b"".join(map(string, value))


def restore(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ
    frequency]: OK, the key made (or replaced) with the payload's value."""
    replace = absolute = False
    idle = frequency = None
    i = 4
    while i < len(argv):
        option, more = argv[i].upper(), i + 1 < len(argv)
        if option == b"REPLACE":
            replace = True
        elif option == b"ABSTTL":
            absolute = True
        elif option in (b"IDLETIME", b"FREQ") and more and (idle, frequency) == (None, None):
            i += 1
            number = parse_int(argv[i])
            if number is None:
                return NOT_AN_INTEGER
            if option == b"IDLETIME" and number < 0:
                return ErrorReply("ERR Invalid IDLETIME value, must be >= 0")
            if option == b"FREQ" and not 0 <= number <= 255:
                return ErrorReply("ERR Invalid FREQ value, must be >= 0 and <= 255")
            idle, frequency = (number, None) if option == b"IDLETIME" else (None, number)
        else:
            return SYNTAX_ERROR
        i += 1
    key = argv[1]
    if not replace and keyspace.get(key) is not None:
        return BUSY_KEY
    ttl = parse_int(argv[2])
    if ttl is None:
        return NOT_AN_INTEGER
    if ttl < 0:
        return ErrorReply("ERR Invalid TTL value, must be >= 0")
    try:
        reader = rdb.payload_reader(argv[3])
    except rdb.PayloadError as error:
        return ErrorReply(f"ERR {error}")
    try:
        value = deserialized(reader, keyspace.generation)
    except rdb.PayloadError:
        return BAD_FORMAT
    deleted = replace and keyspace.delete(key)
    deadline = ttl if absolute or not ttl else ttl + keyspace.now_ms
    if deadline and deadline <= keyspace.now_ms:  # already expired: nothing made
        if deleted:
            keyspace.notify(GENERIC, b"del", key)  # the old value is gone all the same
        return OK
    keyspace.put(key, value)
    if deadline:
        keyspace.expire_at(key, deadline)
    keyspace.notify(GENERIC, b"restore", key)
    return OK


def deserialized(reader: rdb.Reader, generation: int) -> Value:
    """The value of the RDB object ``reader`` is at; raises
    ``rdb.PayloadError`` (malformed, empty, a member twice)."""
    kind = reader.byte()
    if kind == STRING:
        return reader.string()
    if kind in (STREAM_LISTPACKS, STREAM_LISTPACKS_2):
        return rdb_stream.decode(reader, kind == STREAM_LISTPACKS_2, generation)
    read = _READERS.get(kind)
    if read is None:
        raise rdb.PayloadError(f"an object of RDB type {kind}")
    items = read(reader)
    if not items:
        raise rdb.PayloadError("an empty collection")
    if kind in _LIST_KINDS:
        return List(items, generation)
    if kind in _SET_KINDS:
        members = Set.of(items, generation)
        _distinct(len(members), len(items))
        return members
    if len(items) % 2:
        raise rdb.PayloadError("a field without its value")
    pairs = list(zip(items[::2], items[1::2], strict=True))
    if kind in _HASH_KINDS:
        fields = Hash(pairs, generation)
        _distinct(len(fields), len(pairs))
        return fields
    scored = [(member, _score(score)) for member, score in pairs]
    sorted_set = SortedSet(scored, generation)
    _distinct(len(sorted_set), len(scored))
    return sorted_set


def _distinct(kept: int, read: int) -> None:
    if kept != read:
        raise rdb.PayloadError("a member or field twice")


def _score(score: bytes | float) -> float:
    value = score if isinstance(score, float) else rdb.number(score)
    if value != value:
        raise rdb.PayloadError("a NaN score")
    return value


def _strings(reader: rdb.Reader) -> list[bytes]:
    return [reader.string() for _ in range(reader.length())]


def _pairs(reader: rdb.Reader) -> list[bytes]:
    return [reader.string() for _ in range(2 * reader.length())]


def _scored(reader: rdb.Reader, score: Callable[[], float]) -> list[bytes | float]:
    items: list[bytes | float] = []
    for _ in range(reader.length()):
        items.append(reader.string())
        items.append(score())
    return items


def _quicklist(reader: rdb.Reader) -> list[bytes]:
    """A Redis 6 quicklist: ziplists."""
    return [item for _ in range(reader.length()) for item in rdb.ziplist_items(reader.string())]


def _quicklist_2(reader: rdb.Reader) -> list[bytes]:
    """A Redis 7 quicklist: nodes of one element, or listpacks."""
    items: list[bytes] = []
    for _ in range(reader.length()):
        container = reader.length()
        blob = reader.string()
        if container == _PLAIN_NODE:
            items.append(blob)
        elif container == _PACKED_NODE:
            items.extend(rdb.listpack_items(blob))
        else:
            raise rdb.PayloadError(f"a quicklist node of kind {container}")
    return items


_READERS: dict[int, Callable[[rdb.Reader], list]] = {  # type: ignore[type-arg]
    LIST: _strings,
    SET: _strings,
    HASH: _pairs,
    ZSET: lambda reader: _scored(reader, reader.text_double),
    ZSET_2: lambda reader: _scored(reader, reader.binary_double),
    LIST_ZIPLIST: lambda reader: rdb.ziplist_items(reader.string()),
    SET_INTSET: lambda reader: rdb.intset_items(reader.string()),
    ZSET_ZIPLIST: lambda reader: rdb.ziplist_items(reader.string()),
    HASH_ZIPLIST: lambda reader: rdb.ziplist_items(reader.string()),
    LIST_QUICKLIST: _quicklist,
    HASH_LISTPACK: lambda reader: rdb.listpack_items(reader.string()),
    ZSET_LISTPACK: lambda reader: rdb.listpack_items(reader.string()),
    LIST_QUICKLIST_2: _quicklist_2,
}
_LIST_KINDS = {LIST, LIST_ZIPLIST, LIST_QUICKLIST, LIST_QUICKLIST_2}
_SET_KINDS = {SET, SET_INTSET}
_HASH_KINDS = {HASH, HASH_ZIPLIST, HASH_LISTPACK}
