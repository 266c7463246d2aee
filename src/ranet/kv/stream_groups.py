"""Consumer groups: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM and
XAUTOCLAIM, as Redis 7.0 has them (the group itself is in stream_value.py).

Every change here is a replicated write - a delivery, an acknowledgement, a
claim - so every replica hands the same entries to the same consumers and
keeps the same pending entries lists. Delivery and idle times use the store's
clock (``Keyspace.now_ms``): from the log when applied; XPENDING, a read,
measures idle time against the reading node's clock.

A command that finds nothing to change changes nothing (no version counted
for WATCH, no copy): an XREADGROUP with nothing new to deliver wakes no other
waiting client, so that waiting consumers cannot wake each other in turn.
"""

from __future__ import annotations

from itertools import islice

from sortedcontainers import SortedSet

from ranet.kv.arguments import (
    NOT_AN_INTEGER,
    SYNTAX_ERROR,
    answered_before_running,
    parse_int,
    subcommand_syntax_error,
    text_of,
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
    INVALID_ENTRIES_READ,
    MAX_ID,
    ZERO_ID,
    Consumer,
    Group,
    Pending,
    Stream,
    StreamID,
    format_id,
    int64,
    next_id,
)
from ranet.kv.streams import ReadOptions, entry_reply, parse_read, stream_at

_ATTEMPTS_FACTOR = 10  # XAUTOCLAIM looks at up to 10 x COUNT pending entries
_MAX_AUTOCLAIM_COUNT = (2**63 - 1) // 16  # Redis's bound: LONG_MAX / sizeof(streamID)
_NEW = b">"


def _no_group(key: bytes, group: bytes, where: str = "") -> ErrorReply:
    return ErrorReply(
        f"NOGROUP No such key '{text_of(key)}' or consumer group '{text_of(group)}'{where}"
    )


def _group_of(
    keyspace: Keyspace, key: bytes, name: bytes, where: str = ""
) -> tuple[Stream, Group] | ErrorReply:
    """The stream at ``key`` and its group ``name``, or WRONGTYPE / NOGROUP."""
    stream = stream_at(keyspace, key)
    if isinstance(stream, ErrorReply):
        return stream
    group = None if stream is None else stream.groups.get(name)
    if stream is None or group is None:
        return _no_group(key, name, where)
    return stream, group


def _owned_group(keyspace: Keyspace, key: bytes, name: bytes) -> tuple[Stream, Group]:
    """The stream at ``key`` and its group ``name``, both present, about to change."""
    stream: Stream = keyspace.own(key)
    return stream, stream.groups[name]


# --- XGROUP ------------------------------------------------------------------

XGROUP_ARITIES = {
    b"CREATE": -5,
    b"SETID": -5,
    b"DESTROY": 4,
    b"CREATECONSUMER": 5,
    b"DELCONSUMER": 5,
    b"HELP": 2,
}
_XGROUP_HELP = [
    b"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CREATE <key> <groupname> <id|$> [option]",
    b"    Create a new consumer group. Options are:",
    b"    * MKSTREAM",
    b"      Create the empty stream if it does not exist.",
    b"    * ENTRIESREAD entries_read",
    b"      Set the group's entries_read counter (internal use).",
    b"CREATECONSUMER <key> <groupname> <consumer>",
    b"    Create a new consumer in the specified group.",
    b"DELCONSUMER <key> <groupname> <consumer>",
    b"    Remove the specified consumer.",
    b"DESTROY <key> <groupname>",
    b"    Remove the specified group.",
    b"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    b"    Set the current group ID and entries_read counter.",
    b"HELP",
    b"    Prints this help.",
]
_NEEDS_GROUP = (b"SETID", b"CREATECONSUMER", b"DELCONSUMER")
_BAD_ENTRIES_READ = ErrorReply("ERR value for ENTRIESREAD must be positive or -1")


def _entries_read(text: bytes) -> int | ErrorReply:
    entries_read = parse_int(text)
    if entries_read is None:
        return NOT_AN_INTEGER
    return _BAD_ENTRIES_READ if entries_read < INVALID_ENTRIES_READ else entries_read


def xgroup(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XGROUP CREATE | SETID | DESTROY | CREATECONSUMER | DELCONSUMER ..."""
    answered = answered_before_running(argv, XGROUP_ARITIES, _XGROUP_HELP)
    if answered is not None:
        return answered
    subcommand = argv[1].upper()
    options = _xgroup_options(argv, subcommand)
    if isinstance(options, ErrorReply):
        return options
    make, entries_read = options
    key, name = argv[2], argv[3]
    stream = stream_at(keyspace, key)
    if isinstance(stream, ErrorReply):
        return stream
    if stream is None and not make:
        return ErrorReply(
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you "
            "may want to use the MKSTREAM option to create an empty stream automatically."
        )
    if stream is not None and name not in stream.groups and subcommand in _NEEDS_GROUP:
        return ErrorReply(
            f"NOGROUP No such consumer group '{text_of(name)}' for key name '{text_of(key)}'"
        )
    if subcommand == b"CREATE":
        return _create(keyspace, argv, stream, entries_read)
    assert stream is not None
    if subcommand == b"SETID":
        return _set_id(keyspace, argv, stream, entries_read)
    if subcommand == b"DESTROY":
        if name not in stream.groups:
            return 0
        del keyspace.own(key).groups[name]
        keyspace.notify(STREAM, b"xgroup-destroy", key)
        return 1
    group = stream.groups[name]
    consumer = argv[4]
    if subcommand == b"CREATECONSUMER":
        if consumer in group.consumers:
            return 0
        _consumer(keyspace, key, _owned_group(keyspace, key, name)[1], consumer)
        return 1
    if consumer not in group.consumers:  # DELCONSUMER
        return 0
    group = _owned_group(keyspace, key, name)[1]
    pending = group.consumers[consumer].pending
    for stream_id in pending:
        del group.pending[stream_id]
    del group.consumers[consumer]
    keyspace.notify(STREAM, b"xgroup-delconsumer", key)
    return len(pending)


def _consumer(keyspace: Keyspace, key: bytes, group: Group, name: bytes) -> Consumer:
    """The consumer ``name`` of ``group`` (of the stream at ``key``), seen
    now; made if absent, with Redis's event."""
    made = name not in group.consumers
    consumer = group.consumer(name, keyspace.now_ms)
    if made:
        keyspace.notify(STREAM, b"xgroup-createconsumer", key)
    return consumer


def _xgroup_options(argv: list[bytes], subcommand: bytes) -> tuple[bool, int] | ErrorReply:
    """CREATE's MKSTREAM and ENTRIESREAD, SETID's ENTRIESREAD: (make the
    stream?, entries read), checked before the key, as Redis checks them."""
    make = False
    entries_read = INVALID_ENTRIES_READ
    if subcommand == b"CREATE":
        i = 5
        while i < len(argv):
            option = argv[i].upper()
            if option == b"MKSTREAM":
                make, i = True, i + 1
            elif option == b"ENTRIESREAD" and i + 1 < len(argv):
                parsed = _entries_read(argv[i + 1])
                if isinstance(parsed, ErrorReply):
                    return parsed
                entries_read, i = parsed, i + 2
            else:
                return subcommand_syntax_error(argv)
    elif subcommand == b"SETID" and len(argv) != 5:
        if len(argv) != 7 or argv[5].upper() != b"ENTRIESREAD":
            return subcommand_syntax_error(argv)
        parsed = _entries_read(argv[6])
        if isinstance(parsed, ErrorReply):
            return parsed
        entries_read = parsed
    return make, entries_read


def _create(
    keyspace: Keyspace, argv: list[bytes], stream: Stream | None, entries_read: int
) -> Reply:
    key, name = argv[2], argv[3]
    if len(argv) > 8:
        return subcommand_syntax_error(argv)
    if argv[4] == b"$":
        last_id = ZERO_ID if stream is None else stream.last_id
    else:
        parsed = parse_strict_id(argv[4])
        if isinstance(parsed, ErrorReply):
            return parsed
        last_id = parsed
    if stream is None:
        keyspace.put(key, Stream((), keyspace.generation))
    elif name in stream.groups:
        return ErrorReply("BUSYGROUP Consumer Group name already exists")
    owned: Stream = keyspace.own(key)
    owned.groups[name] = Group(last_id, entries_read)
    keyspace.notify(STREAM, b"xgroup-create", key)
    return OK


def _set_id(keyspace: Keyspace, argv: list[bytes], stream: Stream, entries_read: int) -> Reply:
    """XGROUP SETID key group id | $ [ENTRIESREAD n]."""
    if argv[4] == b"$":
        last_id = stream.last_id
    else:
        parsed = parse_id(argv[4])
        if parsed is None:
            return INVALID_ID
        last_id = parsed  # type: ignore[assignment]
    group = _owned_group(keyspace, argv[2], argv[3])[1]
    group.last_id, group.entries_read = last_id, entries_read
    keyspace.notify(STREAM, b"xgroup-setid", argv[2])
    return OK


# --- XREADGROUP ----------------------------------------------------------------


def xreadgroup(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS
    key [key ...] id [id ...]: with ``>``, entries never delivered to the
    group, now pending for the consumer (unless NOACK); with an ID, the
    consumer's own pending entries after it. Null if ``>`` finds nothing
    anywhere. BLOCK is the server's (blocking.py); here it never waits."""
    options = parse_read(argv, grouped=True)
    if isinstance(options, ErrorReply):
        return options
    assert options.group is not None
    name = options.group
    reads: list[tuple[bytes, StreamID | None]] = []
    for key, text in zip(options.keys, options.ids, strict=True):
        found = _group_of(keyspace, key, name, " in XREADGROUP with GROUP option")
        if isinstance(found, ErrorReply):
            return found
        if text == b"$":
            return ErrorReply(
                "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read "
                "the history of this consumer by specifying a proper ID, or use the > ID to "
                "get new messages. The $ ID would just return an empty result set."
            )
        after = None if text == _NEW else parse_strict_id(text)  # None: ">"
        if isinstance(after, ErrorReply):
            return after
        reads.append((key, after))
    served = Keyed()
    now_ms = keyspace.now_ms
    for key, after in reads:  # a key named twice sees what the first read changed
        stream = keyspace.data[key]
        group = stream.groups[name]  # type: ignore[union-attr]
        if after is not None:
            stream, group = _owned_group(keyspace, key, name)
            consumer = _consumer(keyspace, key, group, options.consumer)
            history = _history(stream, group, consumer.pending, after, options.count, now_ms)
            served.append([key, history])
        elif (top := stream.top_id) is not None and top > group.last_id:
            stream, group = _owned_group(keyspace, key, name)
            _consumer(keyspace, key, group, options.consumer)
            served.append([key, _deliver(stream, group, options.consumer, options, now_ms)])
    return served or NULL_ARRAY


def _deliver(
    stream: Stream, group: Group, consumer: bytes, options: ReadOptions, now_ms: int
) -> list[Reply]:
    """Hand ``consumer`` the entries after the group's last delivered one."""
    start = next_id(group.last_id)
    assert start is not None
    count, no_ack = options.count, options.no_ack
    replies: list[Reply] = []
    for stream_id in stream.ids_between(start, MAX_ID):
        replies.append(entry_reply(stream, stream_id))
        stream.delivered(group, stream_id)
        if not no_ack:
            pending = group.pending.get(stream_id)
            if pending is None:
                group.pending[stream_id] = pending = Pending(consumer, now_ms, 1)
            else:  # pending for someone since XGROUP SETID moved the group back
                pending.delivery_time, pending.delivery_count = now_ms, 1
            group.assign(stream_id, pending, consumer)
        if len(replies) == count:
            break
    return replies


def _history(
    stream: Stream, group: Group, own: SortedSet, after: StreamID, count: int, now_ms: int
) -> list[Reply]:
    """The consumer's pending entries after ``after``, each delivered once
    more; a deleted entry as its ID and null."""
    start = next_id(after)
    replies: list[Reply] = []
    if start is None:
        return replies
    for stream_id in islice(own.irange(start), count or None):  # only ``pending`` changes
        if stream_id in stream.entries:
            replies.append(entry_reply(stream, stream_id))
            pending = group.pending[stream_id]
            pending.delivery_time = now_ms
            pending.delivery_count = int64(pending.delivery_count + 1)
        else:
            replies.append([format_id(stream_id), None])
    return replies


# --- XACK, XPENDING --------------------------------------------------------------


def xack(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XACK key group id [id ...]: how many of the IDs were pending."""
    key, name = argv[1], argv[2]
    stream = stream_at(keyspace, key)
    if isinstance(stream, ErrorReply):
        return stream
    group = None if stream is None else stream.groups.get(name)
    if group is None:  # no stream or no group: nothing to acknowledge, IDs unread
        return 0
    ids = parse_distinct_ids(argv[3:])
    if isinstance(ids, ErrorReply):
        return ids
    pending = [stream_id for stream_id in ids if stream_id in group.pending]
    if not pending:
        return 0
    owned = _owned_group(keyspace, key, name)[1]
    for stream_id in pending:
        owned.acknowledge(stream_id)
    return len(pending)


def xpending(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XPENDING key group [[IDLE ms] start end count [consumer]]: a summary
    of the group's pending entries, or the entries themselves."""
    if len(argv) != 3 and not 6 <= len(argv) <= 9:
        return SYNTAX_ERROR
    min_idle = 0
    count = 0
    start, end = ZERO_ID, MAX_ID
    consumer_name: bytes | None = None
    if len(argv) >= 6:
        at = 3
        if argv[3].upper() == b"IDLE":
            parsed_idle = parse_int(argv[4])
            if parsed_idle is None:
                return NOT_AN_INTEGER
            if len(argv) < 8:
                return SYNTAX_ERROR
            min_idle, at = parsed_idle, 5
        parsed_count = parse_int(argv[at + 2])
        if parsed_count is None:
            return NOT_AN_INTEGER
        count = max(parsed_count, 0)
        bound = parse_bound(argv[at], end=False)
        if isinstance(bound, ErrorReply):
            return bound
        start = bound
        bound = parse_bound(argv[at + 1], end=True)
        if isinstance(bound, ErrorReply):
            return bound
        end = bound
        if at + 3 < len(argv):
            consumer_name = argv[at + 3]
    found = _group_of(keyspace, argv[1], argv[2])
    if isinstance(found, ErrorReply):
        return found
    group = found[1]
    if len(argv) == 3:
        return _summary(group)
    ids = group.pending
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        ids = consumer.pending
    now_ms = keyspace.now_ms
    rows: list[Reply] = []
    if start > end or count == 0:
        return rows
    for stream_id in ids.irange(start, end):
        pending = group.pending[stream_id]
        idle = now_ms - pending.delivery_time
        if min_idle and idle < min_idle:
            continue
        rows.append([format_id(stream_id), pending.consumer, max(idle, 0), pending.delivery_count])
        if len(rows) == count:
            break
    return rows


def _summary(group: Group) -> list[Reply]:
    pending = group.pending
    if not pending:
        return [0, None, None, None]
    by_consumer: list[Reply] = [
        [name, b"%d" % len(consumer.pending)]
        for name, consumer in sorted(group.consumers.items())
        if consumer.pending
    ]
    return [
        len(pending),
        format_id(pending.peekitem(0)[0]),
        format_id(pending.peekitem(-1)[0]),
        by_consumer,
    ]


# --- XCLAIM, XAUTOCLAIM -----------------------------------------------------------


def xclaim(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME
    unix-ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]: the pending entries
    idle for at least min-idle-time, now the consumer's."""
    key, name, consumer = argv[1], argv[2], argv[3]
    found = _group_of(keyspace, key, name)
    if isinstance(found, ErrorReply):
        return found
    stream, group = found
    min_idle = parse_int(argv[4])
    if min_idle is None:
        return ErrorReply("ERR Invalid min-idle-time argument for XCLAIM")
    min_idle = max(min_idle, 0)
    ids: list[StreamID] = []
    i = 5
    while i < len(argv):
        stream_id = parse_id(argv[i], strict=True)
        if stream_id is None:
            break
        ids.append(stream_id)  # type: ignore[arg-type]
        i += 1
    now_ms = keyspace.now_ms
    force = just_id = False
    retry_count = -1  # not given
    delivery_time: int | None = None
    last_id = ZERO_ID
    while i < len(argv):
        more = len(argv) - 1 - i
        option = argv[i].upper()
        if option == b"FORCE":
            force = True
        elif option == b"JUSTID":
            just_id = True
        elif option in (b"IDLE", b"TIME", b"RETRYCOUNT") and more:
            i += 1
            number = parse_int(argv[i])
            if number is None:
                return ErrorReply(f"ERR Invalid {option.decode()} option argument for XCLAIM")
            if option == b"RETRYCOUNT":
                retry_count = number
            else:
                delivery_time = now_ms - number if option == b"IDLE" else number
        elif option == b"LASTID" and more:
            i += 1
            parsed = parse_strict_id(argv[i])
            if isinstance(parsed, ErrorReply):
                return parsed
            last_id = parsed
        else:
            return ErrorReply(f"ERR Unrecognized XCLAIM option '{text_of(argv[i])}'")
        i += 1
    if delivery_time is None or not 0 <= delivery_time <= now_ms:
        delivery_time = now_ms
    stream, group = _owned_group(keyspace, key, name)  # Redis counts every XCLAIM a change
    if last_id > group.last_id:
        group.last_id = last_id
    claimed: list[Reply] = []
    for stream_id in ids:
        pending = group.pending.get(stream_id)
        if stream_id not in stream.entries:
            if pending is not None:
                group.acknowledge(stream_id)
            continue
        if pending is None:
            if not force:
                continue
            pending = group.pending[stream_id] = Pending(b"", now_ms, 1)  # as a new delivery
        elif min_idle and now_ms - pending.delivery_time < min_idle:
            continue
        _consumer(keyspace, key, group, consumer)
        pending.delivery_time = delivery_time
        if retry_count >= 0:
            pending.delivery_count = retry_count
        elif not just_id:
            pending.delivery_count = int64(pending.delivery_count + 1)
        group.assign(stream_id, pending, consumer)
        claimed.append(format_id(stream_id) if just_id else entry_reply(stream, stream_id))
    return claimed


def xautoclaim(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]:
    the next cursor, the entries claimed, and the IDs found deleted (taken
    out of the pending lists)."""
    key, name, consumer = argv[1], argv[2], argv[3]
    min_idle = parse_int(argv[4])
    if min_idle is None:
        return ErrorReply("ERR Invalid min-idle-time argument for XAUTOCLAIM")
    min_idle = max(min_idle, 0)
    start = parse_bound(argv[5], end=False)
    if isinstance(start, ErrorReply):
        return start
    count = 100
    just_id = False
    i = 6
    while i < len(argv):
        option = argv[i].upper()
        if option == b"COUNT" and i + 1 < len(argv):
            parsed = parse_int(argv[i + 1])
            if parsed is None or not 1 <= parsed <= _MAX_AUTOCLAIM_COUNT:
                return ErrorReply("ERR COUNT must be > 0")
            count, i = parsed, i + 2
        elif option == b"JUSTID":
            just_id, i = True, i + 1
        else:
            return SYNTAX_ERROR
    found = _group_of(keyspace, key, name)
    if isinstance(found, ErrorReply):
        return found
    stream, group = _owned_group(keyspace, key, name)
    now_ms = keyspace.now_ms
    attempts = count * _ATTEMPTS_FACTOR
    claimed: list[Reply] = []
    deleted: list[Reply] = []
    candidates = list(islice(group.pending.irange(start), attempts + 1))
    cursor = ZERO_ID
    for stream_id in candidates:
        if not attempts or not count:
            cursor = stream_id
            break
        attempts -= 1
        if stream_id not in stream.entries:
            group.acknowledge(stream_id)
            deleted.append(format_id(stream_id))
            count -= 1
            continue
        pending = group.pending[stream_id]
        if min_idle and now_ms - pending.delivery_time < min_idle:
            continue
        _consumer(keyspace, key, group, consumer)
        pending.delivery_time = now_ms
        if not just_id:
            pending.delivery_count = int64(pending.delivery_count + 1)
        group.assign(stream_id, pending, consumer)
        claimed.append(format_id(stream_id) if just_id else entry_reply(stream, stream_id))
        count -= 1
    return [format_id(cursor), claimed, deleted]
