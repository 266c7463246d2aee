"""XINFO STREAM [FULL [COUNT n]], XINFO GROUPS and XINFO CONSUMERS, in Redis
7.0's shapes (maps: a flat array in RESP2), groups and consumers in name
order as Redis lists them.

Left out of XINFO STREAM: ``radix-tree-keys`` and ``radix-tree-nodes``,
which describe Redis's memory layout; ranet keeps entries otherwise
(stream_value.py) and has no such figures to report.
"""

from __future__ import annotations

from itertools import islice

from ranet.kv.arguments import (
    NOT_AN_INTEGER,
    answered_before_running,
    parse_int,
    subcommand_syntax_error,
    text_of,
)
from ranet.kv.keyspace import Keyspace
from ranet.kv.reply import ErrorReply, Reply
from ranet.kv.stream_value import INVALID_ENTRIES_READ, Group, Stream, format_id
from ranet.kv.streams import NO_SUCH_KEY, entry_reply, stream_at

ARITIES = {b"STREAM": -3, b"GROUPS": 3, b"CONSUMERS": 4, b"HELP": 2}
_HELP = [
    b"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"CONSUMERS <key> <groupname>",
    b"    Show consumers of <groupname>.",
    b"GROUPS <key>",
    b"    Show the stream consumer groups.",
    b"STREAM <key> [FULL [COUNT <count>]",
    b"    Show information about the stream.",
    b"HELP",
    b"    Prints this help.",
]
_FULL_COUNT = 10  # entries and pending entries XINFO STREAM FULL shows by default


def xinfo(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    answered = answered_before_running(argv, ARITIES, _HELP)
    if answered is not None:
        return answered
    subcommand = argv[1].upper()
    key = argv[2]
    stream = stream_at(keyspace, key)
    if stream is None or isinstance(stream, ErrorReply):
        return NO_SUCH_KEY if stream is None else stream
    if subcommand == b"GROUPS":
        groups = sorted(stream.groups.items())
        return [_group_summary(stream, name, group) for name, group in groups]
    if subcommand == b"CONSUMERS":
        group = stream.groups.get(argv[3])
        if group is None:
            return ErrorReply(
                f"NOGROUP No such consumer group '{text_of(argv[3])}' for key name '{text_of(key)}'"
            )
        now_ms = keyspace.now_ms
        return [
            {
                b"name": name,
                b"pending": len(consumer.pending),
                b"idle": max(now_ms - consumer.seen_time, 0),
            }
            for name, consumer in sorted(group.consumers.items())
        ]
    return _stream_info(stream, argv)


def _entries_read(group: Group) -> int | None:
    return None if group.entries_read == INVALID_ENTRIES_READ else group.entries_read


def _group_summary(stream: Stream, name: bytes, group: Group) -> dict[bytes, Reply]:
    return {
        b"name": name,
        b"consumers": len(group.consumers),
        b"pending": len(group.pending),
        b"last-delivered-id": format_id(group.last_id),
        b"entries-read": _entries_read(group),
        b"lag": stream.lag(group),
    }


def _stream_info(stream: Stream, argv: list[bytes]) -> Reply:
    options = argv[3:]
    count: int | None = None  # None: not FULL
    if options:
        if options[0].upper() != b"FULL" or len(options) not in (1, 3):
            return subcommand_syntax_error(argv)
        count = _FULL_COUNT
        if len(options) == 3:
            if options[1].upper() != b"COUNT":
                return subcommand_syntax_error(argv)
            parsed = parse_int(options[2])
            if parsed is None:
                return NOT_AN_INTEGER
            count = parsed if parsed >= 0 else _FULL_COUNT
    info: dict[bytes, Reply] = {
        b"length": len(stream),
        b"last-generated-id": format_id(stream.last_id),
        b"max-deleted-entry-id": format_id(stream.max_deleted),
        b"entries-added": stream.entries_added,
        b"recorded-first-entry-id": format_id(stream.first_id),
    }
    entries = stream.entries
    if count is None:
        top = stream.top_id
        info[b"groups"] = len(stream.groups)
        info[b"first-entry"] = None if top is None else entry_reply(stream, stream.first_id)
        info[b"last-entry"] = None if top is None else entry_reply(stream, top)
        return info
    limit = count or None
    info[b"entries"] = [entry_reply(stream, stream_id) for stream_id in islice(entries, limit)]
    info[b"groups"] = [
        _group_in_full(stream, name, group, limit) for name, group in sorted(stream.groups.items())
    ]
    return info


def _group_in_full(stream: Stream, name: bytes, group: Group, limit: int | None) -> Reply:
    return {
        b"name": name,
        b"last-delivered-id": format_id(group.last_id),
        b"entries-read": _entries_read(group),
        b"lag": stream.lag(group),
        b"pel-count": len(group.pending),
        b"pending": [
            [format_id(stream_id), p.consumer, p.delivery_time, p.delivery_count]
            for stream_id, p in islice(group.pending.items(), limit)
        ],
        b"consumers": [
            {
                b"name": consumer_name,
                b"seen-time": consumer.seen_time,
                b"pel-count": len(consumer.pending),
                b"pending": [
                    [
                        format_id(stream_id),
                        group.pending[stream_id].delivery_time,
                        group.pending[stream_id].delivery_count,
                    ]
                    for stream_id in islice(consumer.pending, limit)
                ],
            }
            for consumer_name, consumer in sorted(group.consumers.items())
        ],
    }
