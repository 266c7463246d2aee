"""CONFIG GET: this node's settings, under the names Redis gives its own,
for the tools and client libraries that ask at connection time
(``CONFIG GET maxmemory-policy``, ``CONFIG GET databases``, ...).

Only what is true of ranet is listed: the address it serves, the request
limits (``proto-max-bulk-len``, ``client-query-buffer-limit``), one
database, no memory limit and so no eviction, no RDB ``save`` schedule, no
cluster mode, no key-space notifications, the HyperLogLog sparse limit.
Settings are the options of ``ranet node`` and are fixed while it runs:
CONFIG SET, REWRITE and RESETSTAT answer an error that says so.
"""

from __future__ import annotations

from ranet.kv.arguments import arity_error, text_of
from ranet.kv.glob import compile_pattern, match_tokens
from ranet.kv.hll_sparse import MAX_BYTES as HLL_SPARSE_MAX_BYTES
from ranet.kv.reply import ErrorReply, Reply
from ranet.kv.resp import RequestLimits

_FIXED = "ERR CONFIG {} is not supported: ranet's settings are the options of 'ranet node'"


def parameters(host: str, port: int, tls: bool, limits: RequestLimits) -> dict[bytes, bytes]:
    """The parameters CONFIG GET knows, with their values."""
    values = {
        "bind": host,
        "port": 0 if tls else port,
        "tls-port": port if tls else 0,
        "databases": 1,
        "maxmemory": 0,
        "maxmemory-policy": "noeviction",
        "save": "",
        "cluster-enabled": "no",
        "notify-keyspace-events": "",
        "proto-max-bulk-len": limits.max_bulk_len,
        "client-query-buffer-limit": limits.max_command_len,
        "hll-sparse-max-bytes": HLL_SPARSE_MAX_BYTES,
        "timeout": 0,
    }
    return {name.encode(): str(value).encode() for name, value in values.items()}


def config_reply(argv: list[bytes], known: dict[bytes, bytes]) -> Reply:
    """CONFIG GET pattern [pattern ...]: the parameters any pattern matches
    (glob, any case), name and value - a map in RESP3, a flat array in RESP2."""
    if len(argv) < 2:
        return arity_error(b"config")
    subcommand = argv[1].upper()
    if subcommand in (b"SET", b"REWRITE", b"RESETSTAT"):
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
