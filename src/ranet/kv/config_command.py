"""CONFIG GET and CONFIG SET: this node's settings, under the names Redis
gives its own, for the tools and client libraries that ask at connection
time (``CONFIG GET maxmemory-policy``, ``CONFIG GET databases``, ...).

Only what is true of ranet is listed: the address it serves, the request
limits (``proto-max-bulk-len``, ``client-query-buffer-limit``), one
database, no memory limit and so no eviction, no RDB ``save`` schedule, no
cluster mode, the key-space events it emits, the HyperLogLog sparse limit.
The settings are the options of ``ranet node``; CONFIG SET changes one,
``notify-keyspace-events`` (notifications.py), on this node, until it
stops - the others, and CONFIG REWRITE and RESETSTAT, answer an error that
says so.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from ranet.kv import notifications
from ranet.kv.arguments import arity_error, text_of
from ranet.kv.glob import compile_pattern, match_tokens
from ranet.kv.hll_sparse import MAX_BYTES as HLL_SPARSE_MAX_BYTES
from ranet.kv.reply import OK, ErrorReply, Reply
from ranet.kv.resp import RequestLimits

_FIXED = "ERR CONFIG {} is not supported: ranet's settings are the options of 'ranet node'"
_EVENTS = b"notify-keyspace-events"
_AUTH_CLIENTS = {ssl.CERT_NONE: "no", ssl.CERT_OPTIONAL: "optional", ssl.CERT_REQUIRED: "yes"}


def parameters(
    host: str, port: int, tls: ssl.SSLContext | None, limits: RequestLimits, events: int
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
    }
    return {name.encode(): str(value).encode() for name, value in values.items()}


def config_reply(
    argv: list[bytes], known: dict[bytes, bytes], set_events: Callable[[int], None]
) -> Reply:
    """CONFIG GET pattern [pattern ...]: the parameters any pattern matches
    (glob, any case), name and value - a map in RESP3, a flat array in RESP2;
    CONFIG SET notify-keyspace-events value: ``set_events`` the flags."""
    if len(argv) < 2:
        return arity_error(b"config")
    subcommand = argv[1].upper()
    if subcommand == b"SET":
        return _set(argv, known, set_events)
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


def _set(argv: list[bytes], known: dict[bytes, bytes], set_events: Callable[[int], None]) -> Reply:
    """CONFIG SET parameter value [parameter value ...], Redis's checks in
    Redis's order: the arity, unknown names, a name twice, then the values."""
    if len(argv) < 4 or len(argv) % 2:
        return arity_error(b"config|set")
    names = [name.lower() for name in argv[2::2]]
    for name in names:
        if name not in known:
            return ErrorReply(
                f"ERR Unknown option or number of arguments for CONFIG SET - '{text_of(name)}'"
            )
    if len(set(names)) < len(names):
        duplicate = next(name for name in names if names.count(name) > 1)
        return _set_failed(duplicate, "duplicate parameter")
    for name in names:
        if name != _EVENTS:
            return ErrorReply(_FIXED.format(f"SET {text_of(name)}"))
    try:
        flags = notifications.parse(text_of(argv[3]))
    except notifications.UnknownClass as error:
        return _set_failed(_EVENTS, str(error))
    set_events(flags)
    return OK


def _set_failed(name: bytes, why: str) -> ErrorReply:
    return ErrorReply(
        f"ERR CONFIG SET failed (possibly related to argument '{text_of(name)}') - {why}"
    )
