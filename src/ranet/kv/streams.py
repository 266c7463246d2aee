"""The stream commands without consumer groups: XADD, XRANGE, XREVRANGE,
XLEN, XDEL, XTRIM, XSETID and XREAD, as Redis 7.0 has them.

A stream is a ``Stream`` value of the key space (stream_value.py); the rules
of commands.py hold: arguments checked in Redis's order, errors worded as
Redis words them, WRONGTYPE for another type, changes through
``Keyspace.own`` (copy-on-write, versions for WATCH). Unlike other types, a
stream may be empty and stays until deleted, as in Redis.

An ID XADD makes (``*``, ``ms-*``) comes from the store's clock, which the
leader writes into the log: every replica gives the entry the same ID.

Trimming with ``~`` (approximate) trims exactly, down to the threshold and at
most LIMIT entries: Redis trims only whole nodes of its radix tree, so it
may keep more; both are what ``~`` promises. XREAD's BLOCK is the server's
(blocking.py); here, as inside MULTI in Redis, XREAD never waits.
"""

from __future__ import annotations

from dataclasses import dataclass

from ranet.kv.arguments import (
    NOT_AN_INTEGER,
    SYNTAX_ERROR,
    arity_error,
    non_negative,
    of_type,
    parse_int,
)
from ranet.kv.keyspace import Keyspace
from ranet.kv.notifications import STREAM
from ranet.kv.reply import NULL_ARRAY, OK, ErrorReply, Keyed, Reply
from ranet.kv.stream_ids import (
    INVALID_ID,
    parse_bound,
    parse_distinct_ids,
    parse_id,
    parse_strict_id,
)
from ranet.kv.stream_value import (
    MAX_ID,
    ZERO_ID,
    Stream,
    StreamID,
    format_id,
    make_id,
    ms_of,
    next_id,
    pack_fields,
    unpack_fields,
)

NO_SUCH_KEY = ErrorReply("ERR no such key")
_APPROXIMATE_LIMIT = 10_000  # Redis's default: 100 x stream-node-max-entries
_NEGATIVE_MAXLEN = ErrorReply("ERR The MAXLEN argument must be >= 0.")
_NEGATIVE_LIMIT = ErrorReply("ERR The LIMIT argument must be >= 0.")
_BOTH_STRATEGIES = ErrorReply(
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
)


def stream_at(keyspace: Keyspace, key: bytes) -> Stream | ErrorReply | None:
    return of_type(keyspace, key, Stream)


def entry_reply(stream: Stream, stream_id: StreamID) -> list[Reply]:
    """An entry as Redis answers it: its ID, then its fields and values."""
    return [format_id(stream_id), unpack_fields(stream.entries[stream_id])]


def parse_count(text: bytes) -> int | ErrorReply:
    """A COUNT of XRANGE / XREAD: an integer, a negative one read as 0."""
    count = parse_int(text)
    return NOT_AN_INTEGER if count is None else max(count, 0)


@dataclass(slots=True)
class _Trim:
    """XADD's and XTRIM's options (Redis's streamAddTrimArgs)."""

    max_length: int | None = None
    min_id: StreamID | None = None
    approximate: bool = False
    limit: int | None = None  # given
    no_make: bool = False
    id_at: int = 0  # XADD: where the ID is

    @property
    def trims(self) -> bool:
        """Whether a strategy (MAXLEN or MINID) was given."""
        return self.max_length is not None or self.min_id is not None

    def count(self, stream: Stream) -> int:
        """How many of ``stream``'s oldest entries this trim removes."""
        limit = self.limit
        if limit is None:
            limit = _APPROXIMATE_LIMIT if self.approximate else 0
        return stream.trim_count(self.max_length, self.min_id, limit)


_PLAIN_ADD = _Trim(id_at=2)  # XADD key * ...: the common form, no options to parse


def _parse_trim(argv: list[bytes], adding: bool) -> _Trim | ErrorReply:
    trim = _Trim()
    i = 2
    while i < len(argv):
        more = len(argv) - 1 - i
        option = argv[i].upper()
        if adding and argv[i] == b"*":
            break
        if option in (b"MAXLEN", b"MINID") and more:
            if trim.trims:
                return _BOTH_STRATEGIES
            trim.approximate = False
            if more >= 2 and argv[i + 1] in (b"~", b"="):
                trim.approximate = argv[i + 1] == b"~"
                i += 1
            if option == b"MAXLEN":
                max_length = non_negative(argv[i + 1], _NEGATIVE_MAXLEN)
                if isinstance(max_length, ErrorReply):
                    return max_length
                trim.max_length = max_length
            else:
                min_id = parse_strict_id(argv[i + 1])
                if isinstance(min_id, ErrorReply):
                    return min_id
                trim.min_id = min_id
            i += 2
        elif option == b"LIMIT" and more:
            limit = non_negative(argv[i + 1], _NEGATIVE_LIMIT)
            if isinstance(limit, ErrorReply):
                return limit
            trim.limit = limit
            i += 2
        elif adding and option == b"NOMKSTREAM":
            trim.no_make = True
            i += 1
        elif adding:
            break
        else:
            return SYNTAX_ERROR
    trim.id_at = i
    if trim.limit is not None and not trim.trims:
        return ErrorReply(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
        )
    if not adding and not trim.trims:
        return ErrorReply("ERR syntax error, XTRIM must be called with a trimming strategy")
    if trim.limit is not None and not trim.approximate:
        return ErrorReply("ERR syntax error, LIMIT cannot be used without the special ~ option")
    return trim


def xadd(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XADD key [NOMKSTREAM] [MAXLEN | MINID [= | ~] threshold [LIMIT n]]
    * | id field value [field value ...]: the new entry's ID."""
    trim = _PLAIN_ADD if argv[2] == b"*" else _parse_trim(argv, adding=True)
    if isinstance(trim, ErrorReply):
        return trim
    id_at = trim.id_at
    if id_at == len(argv):
        return arity_error(argv[0])
    given: StreamID | tuple[int, None] | None = None
    if argv[id_at] != b"*":
        given = parse_id(argv[id_at], strict=True, seq_star=True)
        if given is None:
            return INVALID_ID
    fields = argv[id_at + 1 :]
    if not fields or len(fields) % 2:
        return arity_error(argv[0])
    if given == ZERO_ID:
        return ErrorReply("ERR The ID specified in XADD must be greater than 0-0")
    key = argv[1]
    stream = stream_at(keyspace, key)
    if isinstance(stream, ErrorReply):
        return stream
    if stream is None:
        if trim.no_make:
            return None
        keyspace.put(key, Stream((), keyspace.generation))
        stream = keyspace.data[key]
        assert isinstance(stream, Stream)
    if stream.last_id == MAX_ID:
        return ErrorReply(
            "ERR The stream has exhausted the last possible ID, unable to add more items"
        )
    new_id = _new_id(stream.last_id, given, keyspace.now_ms)
    if new_id is None:
        return ErrorReply(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        )
    owned: Stream = keyspace.own(key)
    owned.append(new_id, pack_fields(fields))
    keyspace.notify(STREAM, b"xadd", key)
    if trim.trims and (count := trim.count(owned)):
        owned.drop_oldest(count)
        keyspace.notify(STREAM, b"xtrim", key)
    return format_id(new_id)


def _new_id(
    last: StreamID, given: StreamID | tuple[int, None] | None, now_ms: int
) -> StreamID | None:
    """The ID of a new entry after ``last``: ``given``, or made from the clock
    (``*``) or from ``ms-*`` - ``None`` if it would not come after ``last``."""
    if given is None:
        return make_id(now_ms, 0) if now_ms > ms_of(last) else next_id(last)
    if isinstance(given, tuple):  # ms-*
        ms = given[0]
        if ms != ms_of(last):
            new_id = make_id(ms, 0)
        else:
            following = next_id(last)
            if following is None or ms_of(following) != ms:
                return None
            new_id = following
    else:
        new_id = given
    return new_id if new_id > last else None


def xrange(keyspace: Keyspace, argv: list[bytes], *, reverse: bool) -> Reply:
    """XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n]."""
    start_text, end_text = (argv[3], argv[2]) if reverse else (argv[2], argv[3])
    start = parse_bound(start_text, end=False)
    if isinstance(start, ErrorReply):
        return start
    end = parse_bound(end_text, end=True)
    if isinstance(end, ErrorReply):
        return end
    count: int | None = None
    i = 4
    while i < len(argv):
        if argv[i].upper() != b"COUNT" or i + 1 == len(argv):
            return SYNTAX_ERROR
        parsed = parse_count(argv[i + 1])
        if isinstance(parsed, ErrorReply):
            return parsed
        count, i = parsed, i + 2
    stream = stream_at(keyspace, argv[1])
    if stream is None or isinstance(stream, ErrorReply):
        return [] if stream is None else stream
    if count == 0:
        return None
    return range_reply(stream, start, end, count, reverse)


def range_reply(
    stream: Stream, start: StreamID, end: StreamID, count: int | None, reverse: bool = False
) -> list[Reply]:
    """The entries from ``start`` to ``end``, at most ``count`` (None or 0: all)."""
    if start > end:
        return []
    replies: list[Reply] = []
    for stream_id in stream.ids_between(start, end, reverse):
        replies.append(entry_reply(stream, stream_id))
        if len(replies) == count:
            break
    return replies


def xdel(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XDEL key id [id ...]: how many entries were deleted (the key stays)."""
    key = argv[1]
    stream = stream_at(keyspace, key)
    if stream is None or isinstance(stream, ErrorReply):
        return 0 if stream is None else stream
    ids = parse_distinct_ids(argv[2:])
    if isinstance(ids, ErrorReply):
        return ids
    present = [stream_id for stream_id in ids if stream_id in stream.entries]
    if not present:
        return 0
    owned: Stream = keyspace.own(key)
    for stream_id in present:
        owned.delete(stream_id)
    keyspace.notify(STREAM, b"xdel", key)
    return len(present)


def xtrim(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XTRIM key MAXLEN | MINID [= | ~] threshold [LIMIT n]: how many entries went."""
    trim = _parse_trim(argv, adding=False)
    if isinstance(trim, ErrorReply):
        return trim
    key = argv[1]
    stream = stream_at(keyspace, key)
    if stream is None or isinstance(stream, ErrorReply):
        return 0 if stream is None else stream
    count = trim.count(stream)
    if count:
        keyspace.own(key).drop_oldest(count)
        keyspace.notify(STREAM, b"xtrim", key)
    return count


def xsetid(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]."""
    last_id = parse_strict_id(argv[2])
    if isinstance(last_id, ErrorReply):
        return last_id
    entries_added: int | None = None
    max_deleted = ZERO_ID
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if i + 1 == len(argv) or option not in (b"ENTRIESADDED", b"MAXDELETEDID"):
            return SYNTAX_ERROR
        if option == b"ENTRIESADDED":
            added = non_negative(argv[i + 1], ErrorReply("ERR entries_added must be positive"))
            if isinstance(added, ErrorReply):
                return added
            entries_added = added
        else:
            parsed = parse_strict_id(argv[i + 1])
            if isinstance(parsed, ErrorReply):
                return parsed
            if last_id < parsed:
                return ErrorReply(
                    "ERR The ID specified in XSETID is smaller than the provided "
                    "max_deleted_entry_id"
                )
            max_deleted = parsed
        i += 2
    key = argv[1]
    stream = stream_at(keyspace, key)
    if stream is None or isinstance(stream, ErrorReply):
        return NO_SUCH_KEY if stream is None else stream
    if last_id < stream.max_deleted:
        return ErrorReply(
            "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id"
        )
    top = stream.top_id
    if top is not None:
        if last_id < top:
            return ErrorReply(
                "ERR The ID specified in XSETID is smaller than the target stream top item"
            )
        if entries_added is not None and len(stream) > entries_added:
            return ErrorReply(
                "ERR The entries_added specified in XSETID is smaller than the target stream length"
            )
    owned: Stream = keyspace.own(key)
    owned.last_id = last_id
    if entries_added is not None:
        owned.entries_added = entries_added
    if max_deleted != ZERO_ID:
        owned.max_deleted = max_deleted
    keyspace.notify(STREAM, b"xsetid", key)
    return OK


@dataclass(slots=True)
class ReadOptions:
    """XREAD's and XREADGROUP's options, checked (Redis's xreadCommand)."""

    keys: list[bytes]
    ids: list[bytes]  # as given: an ID, ``$`` or ``>``
    count: int = 0  # 0: all
    block_ms: int | None = None
    group: bytes | None = None
    consumer: bytes = b""
    no_ack: bool = False


def _only_xreadgroup(option: str) -> ErrorReply:
    return ErrorReply(
        f"ERR The {option} option is only supported by XREADGROUP. You called XREAD instead."
    )


def parse_read(argv: list[bytes], grouped: bool) -> ReadOptions | ErrorReply:
    """XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id [id ...], and
    XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS ...:
    the options, or the error Redis answers first."""
    options = ReadOptions([], [])
    i = 1
    while i < len(argv):
        more = len(argv) - 1 - i
        option = argv[i].upper()
        if option == b"BLOCK" and more:
            block_ms = parse_int(argv[i + 1])
            if block_ms is None:
                return ErrorReply("ERR timeout is not an integer or out of range")
            if block_ms < 0:
                return ErrorReply("ERR timeout is negative")
            options.block_ms, i = block_ms, i + 2
        elif option == b"COUNT" and more:
            count = parse_count(argv[i + 1])
            if isinstance(count, ErrorReply):
                return count
            options.count, i = count, i + 2
        elif option == b"STREAMS" and more:
            named = argv[i + 1 :]
            if len(named) % 2:  # Redis 7.0 words it so for XREADGROUP too
                return ErrorReply(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' "
                    "must be specified."
                )
            half = len(named) // 2
            options.keys, options.ids = named[:half], named[half:]
            break
        elif option == b"GROUP" and more >= 2:
            if not grouped:
                return _only_xreadgroup("GROUP")
            options.group, options.consumer = argv[i + 1], argv[i + 2]
            i += 3
        elif option == b"NOACK":
            if not grouped:
                return _only_xreadgroup("NOACK")
            options.no_ack, i = True, i + 1
        else:
            return SYNTAX_ERROR
    if not options.keys:
        return SYNTAX_ERROR
    if grouped and options.group is None:
        return ErrorReply("ERR Missing GROUP option for XREADGROUP")
    return options


def waiting_read(name: str, argv: list[bytes]) -> ReadOptions | None:
    """The options of XREAD or XREADGROUP (``name``: a command whose
    ``CommandSpec.may_block``) if this call waits for entries - BLOCK given,
    and for XREADGROUP only ``>`` as IDs (a history read never waits) - else
    ``None``."""
    grouped = name == "xreadgroup"
    options = parse_read(argv, grouped)
    if (
        isinstance(options, ErrorReply)
        or options.block_ms is None
        or (grouped and any(text != b">" for text in options.ids))
    ):
        return None
    return options


def xread(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id [id ...]: the
    entries after each ID, by stream (streams with none left out), or null
    if there are none at all. ``$`` is a stream's last ID: nothing, unless
    the server waits (BLOCK)."""
    options = parse_read(argv, grouped=False)
    if isinstance(options, ErrorReply):
        return options
    after: list[tuple[bytes, Stream, StreamID]] = []
    for key, text in zip(options.keys, options.ids, strict=True):
        stream = stream_at(keyspace, key)
        if isinstance(stream, ErrorReply):
            return stream
        if text == b"$":
            stream_id: StreamID | ErrorReply = ZERO_ID if stream is None else stream.last_id
        elif text == b">":
            return ErrorReply(
                "ERR The > ID can be specified only when calling XREADGROUP using the "
                "GROUP <group> <consumer> option."
            )
        else:
            stream_id = parse_strict_id(text)
        if isinstance(stream_id, ErrorReply):
            return stream_id
        if stream is not None:
            after.append((key, stream, stream_id))
    served = Keyed()
    for key, stream, stream_id in after:
        if (top := stream.top_id) is not None and top > stream_id:
            start = next_id(stream_id)
            assert start is not None
            served.append([key, range_reply(stream, start, MAX_ID, options.count)])
    return served or NULL_ARRAY
