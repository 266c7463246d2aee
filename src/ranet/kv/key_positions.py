"""Which arguments of a command are keys: what client-side caching
(tracking.py) remembers and what ACL key rules (acl_check.py) are checked
against.

Most commands name their keys at fixed places (``first_key``, ``last_key``,
``step`` of their ``CommandSpec``, Redis's legacy triple). The others - Redis's
``movablekeys`` commands - say how many keys follow (EVAL, ZUNION, LMPOP),
name them after a word (XREAD's STREAMS, SORT's and GEORADIUS's STORE), or
both; they are read here as Redis's key specifications read them.
"""

from __future__ import annotations

from ranet.kv.arguments import parse_int
from ranet.kv.command_spec import CommandSpec

_COUNT_AT = {  # commands whose keys are counted: where the count is
    "eval": 2,
    "evalsha": 2,
    "eval_ro": 2,
    "evalsha_ro": 2,
    "fcall": 2,
    "fcall_ro": 2,
    "sintercard": 1,
    "zunion": 1,
    "zinter": 1,
    "zdiff": 1,
    "zintercard": 1,
    "lmpop": 1,
    "zmpop": 1,
    "blmpop": 2,
    "bzmpop": 2,
    "zunionstore": 2,  # after the destination
    "zinterstore": 2,
    "zdiffstore": 2,
}
_STORE_AFTER = {  # commands with a key after a word, besides their first
    "sort": (b"STORE",),
    "georadius": (b"STORE", b"STOREDIST"),
    "georadiusbymember": (b"STORE", b"STOREDIST"),
}


def keys_of(spec: CommandSpec, argv: list[bytes]) -> list[bytes]:
    """The keys ``argv`` (a call of ``spec``, its arity checked) names."""
    name = spec.name
    at = _COUNT_AT.get(name)
    if at is not None:
        count = parse_int(argv[at]) if len(argv) > at else None
        counted = argv[at + 1 : at + 1 + count] if count is not None and count > 0 else []
        return [argv[1], *counted] if at == 2 and spec.first_key == 1 else counted
    if name in ("xread", "xreadgroup"):
        upper = [arg.upper() for arg in argv]
        if b"STREAMS" not in upper:
            return []
        rest = argv[upper.index(b"STREAMS") + 1 :]
        return rest[: len(rest) // 2]
    if spec.first_key <= 0:
        return []
    last = spec.last_key if spec.last_key >= 0 else len(argv) + spec.last_key
    keys = argv[spec.first_key : last + 1 : spec.step]
    words = _STORE_AFTER.get(name)
    if words is not None:
        keys += [argv[i + 1] for i in range(2, len(argv) - 1) if argv[i].upper() in words]
    return keys
