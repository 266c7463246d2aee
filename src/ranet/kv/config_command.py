"""CONFIG GET and CONFIG SET: this node's settings, under the names Redis
gives its own, for the tools and client libraries that ask at connection
time (``CONFIG GET maxmemory-policy``, ``CONFIG GET databases``, ...).

Only what is true of ranet is listed: the address it serves, the request
limits (``proto-max-bulk-len``, ``client-query-buffer-limit``), one
database, no memory limit and so no eviction, no RDB ``save`` schedule, no
cluster mode, the key-space events it emits, the HyperLogLog sparse limit,
the slow log's and the latency monitor's settings. The settings are the options of ``ranet node``;
CONFIG SET changes, on this node until it stops, those ``setters`` makes
settable - ``notify-keyspace-events`` (notifications.py),
``slowlog-log-slower-than`` and ``slowlog-max-len`` (slowlog.py),
``latency-monitor-threshold`` (latency.py) - all of
them or, if one value is refused, none; the others, and CONFIG REWRITE and
RESETSTAT, answer an error that says so.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from functools import partial

from ranet.kv import notifications
from ranet.kv.arguments import INT64_MAX, SYNTAX_ERROR, arity_error, parse_int, text_of
from ranet.kv.glob import compile_pattern, match_tokens
from ranet.kv.hll_sparse import MAX_BYTES as HLL_SPARSE_MAX_BYTES
from ranet.kv.reply import OK, ErrorReply, Reply
from ranet.kv.resp import RequestLimits
from ranet.kv.slowlog import SlowLog

_FIXED = "ERR CONFIG {} is not supported: ranet's settings are the options of 'ranet node'"
_EVENTS = b"notify-keyspace-events"
_AUTH_CLIENTS = {ssl.CERT_NONE: "no", ssl.CERT_OPTIONAL: "optional", ssl.CERT_REQUIRED: "yes"}


Setter = Callable[[bytes], "Callable[[], None] | str"]
"""A parameter CONFIG SET changes: given a value, the change to make, or
why the value is refused (the end of Redis's error)."""


def parameters(
    host: str,
    port: int,
    tls: ssl.SSLContext | None,
    limits: RequestLimits,
    events: int,
    slowlog: SlowLog,
) -> dict[bytes, bytes]:
    """The parameters CONFIG GET knows, with their values (``tls``: the
    Redis port's context, if TLS; ``events``: the key-space events this node
    emits)."""
    values = {
        "bind": host,
        "port": 0 if tls else port,
        "tls-port": port if tls else 0,
        "tls-auth-clients": _AUTH_CLIENTS[tls.verify_mode] if tls else "no",
        "databases": 1,
        "maxmemory": 0,
        "maxmemory-policy": "noeviction",
        "save": "",
        "cluster-enabled": "no",
        "notify-keyspace-events": notifications.text_of(events),
        "proto-max-bulk-len": limits.max_bulk_len,
        "client-query-buffer-limit": limits.max_command_len,
        "hll-sparse-max-bytes": HLL_SPARSE_MAX_BYTES,
        "timeout": 0,
        "slowlog-log-slower-than": slowlog.slower_than,
        "slowlog-max-len": slowlog.max_len,
        "latency-monitor-threshold": slowlog.latency.threshold_ms,
    }
    return {name.encode(): str(value).encode() for name, value in values.items()}


def setters(set_events: Callable[[int], None], slowlog: SlowLog) -> dict[bytes, Setter]:
    """What CONFIG SET changes on this node, checked as Redis checks it:
    the key-space events it emits (``set_events`` takes their flags) and
    its slow log's settings."""
    return {
        _EVENTS: partial(_events, set_events),
        b"slowlog-log-slower-than": partial(_integer, -1, INT64_MAX, slowlog.set_slower_than),
        b"slowlog-max-len": partial(_integer, 0, INT64_MAX, slowlog.set_max_len),
        b"latency-monitor-threshold": partial(
            _integer, 0, INT64_MAX, slowlog.set_latency_threshold
        ),
    }


def config_reply(
    argv: list[bytes], known: dict[bytes, bytes], settable: dict[bytes, Setter]
) -> Reply:
    """CONFIG GET pattern [pattern ...]: the parameters any pattern matches
    (glob, any case), name and value - a map in RESP3, a flat array in RESP2;
    CONFIG SET parameter value [parameter value ...]: the ``settable`` ones."""
    if len(argv) < 2:
        return arity_error(b"config")
    subcommand = argv[1].upper()
    if subcommand == b"SET":
        return _set(argv, known, settable)
    if subcommand in (b"REWRITE", b"RESETSTAT"):
        return ErrorReply(_FIXED.format(subcommand.decode()))
    if subcommand != b"GET":
        return ErrorReply(f"ERR unknown subcommand '{text_of(argv[1][:128])}'. Try CONFIG HELP.")
    if len(argv) < 3:
        return arity_error(b"config|get")
    patterns = [compile_pattern(pattern.lower()) for pattern in argv[2:]]
    return {
        name: value
        for name, value in known.items()
        if any(match_tokens(tokens, name) for tokens in patterns)
    }


def _set(argv: list[bytes], known: dict[bytes, bytes], settable: dict[bytes, Setter]) -> Reply:
    """CONFIG SET parameter value [parameter value ...], Redis's checks in
    Redis's order: the number of arguments, unknown names, a name twice,
    then the values - every change made only once all are accepted."""
    if len(argv) < 4:
        return arity_error(b"config|set")
    if len(argv) % 2:
        return SYNTAX_ERROR
    typed = argv[2::2]
    names = [name.lower() for name in typed]
    for name, as_typed in zip(names, typed, strict=True):
        if name not in known:
            return ErrorReply(
                f"ERR Unknown option or number of arguments for CONFIG SET - '{text_of(as_typed)}'"
            )
    for i, name in enumerate(names):
        if name in names[:i]:
            return _set_failed(typed[i], "duplicate parameter")
    for name in names:
        if name not in settable:
            return ErrorReply(_FIXED.format(f"SET {text_of(name)}"))
    changes = []
    for name, value in zip(names, argv[3::2], strict=True):
        change = settable[name](value)
        if isinstance(change, str):
            return _set_failed(name, change)
        changes.append(change)
    for change in changes:
        change()
    return OK


def _events(set_events: Callable[[int], None], value: bytes) -> Callable[[], None] | str:
    """``notify-keyspace-events``: its classes (notifications.py)."""
    try:
        flags = notifications.parse(text_of(value))
    except notifications.UnknownClass as error:
        return str(error)
    return partial(set_events, flags)


def _integer(
    lowest: int, highest: int, apply: Callable[[int], None], value: bytes
) -> Callable[[], None] | str:
    """A number in ``[lowest, highest]``, as Redis reads a numeric setting."""
    number = parse_int(value)
    if number is None:
        return "argument couldn't be parsed into an integer"
    if not lowest <= number <= highest:
        return f"argument must be between {lowest} and {highest} inclusive"
    return partial(apply, number)


def _set_failed(name: bytes, why: str) -> ErrorReply:
    return ErrorReply(
        f"ERR CONFIG SET failed (possibly related to argument '{text_of(name)}') - {why}"
    )
