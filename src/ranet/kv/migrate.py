"""MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
[AUTH password] [AUTH2 username password] [KEYS key ...]: move keys to
another Redis-protocol server (a redis-server, or another ranet cluster),
as Redis 7.0 does - its replies, errors and wire exchange.

The node that took the command does the moving, in three steps:

1. it reads each key's version (as WATCH does), then its DUMP payload and
   PTTL, as linearizable reads (thesis §6.4) - a key absent or expired is
   skipped, and with none left MIGRATE answers ``+NOKEY``;
2. it connects to the target, sends AUTH or AUTH2 if given, ``SELECT db``
   and one ``RESTORE key ttl payload [REPLACE]`` per key, and reads the
   replies, each within ``timeout`` milliseconds (1000 if not positive);
3. unless COPY, it deletes the keys the target acknowledged, as one
   transaction that watched their versions from step 1 (transaction.py):
   the DEL is one log entry, applied on every replica.

Rule 1 - nothing written meanwhile is lost. Redis runs the three steps
without letting another command in; a replicated store cannot hold its
log still for a network round trip to another server. If one of the keys
changed between step 1 and step 3, the DEL does not run: the keys stay
here (the target has the copy taken at step 1), and MIGRATE answers an
error that says so - a client can retry, as it retries a failed WATCH.

Rule 2 - errors as Redis's: a connection or a write that fails or times
out is ``IOERR error or timeout writing to target instance``, a reply that
does not come ``IOERR ... reading ...``, and the target's first error
reply ``ERR Target instance replied with error: ...`` (the keys it did
acknowledge are still deleted, as in Redis).
"""

from __future__ import annotations

from dataclasses import dataclass

import hiredis

from ranet.client.connection import Connection
from ranet.kv.arguments import NOT_AN_INTEGER, SYNTAX_ERROR, parse_int
from ranet.kv.backend import Backend
from ranet.kv.reply import NULL_ARRAY, OK, ErrorReply, Reply, Status

NO_KEY = Status("NOKEY")
_WRITING = ErrorReply("IOERR error or timeout writing to target instance")
_READING = ErrorReply("IOERR error or timeout reading to target instance")
_CHANGED = ErrorReply(
    "ERR MIGRATE copied the keys, but one of them changed here meanwhile, so none was "
    "deleted: retry"
)
_KEYS_NEED_EMPTY_KEY = ErrorReply(
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
)


@dataclass(frozen=True, slots=True)
class Migration:
    host: str
    port: int
    keys: list[bytes]
    db: int
    timeout: float  # seconds, for each step with the target
    copy: bool
    replace: bool
    auth: list[bytes]  # the AUTH command to send first, or nothing


def parse(argv: list[bytes]) -> Migration | ErrorReply:
    """The migration ``argv`` asks for, or Redis's error, in Redis's order of
    checks (the options, then the two numbers)."""
    copy = replace = False
    auth: list[bytes] = []
    keys = [argv[3]]
    i = 6
    while i < len(argv):
        option, left = argv[i].upper(), len(argv) - i - 1
        if option == b"COPY":
            copy = True
        elif option == b"REPLACE":
            replace = True
        elif option == b"AUTH" and left >= 1:
            auth, i = [b"AUTH", argv[i + 1]], i + 1
        elif option == b"AUTH2" and left >= 2:
            auth, i = [b"AUTH", argv[i + 1], argv[i + 2]], i + 2
        elif option == b"KEYS":
            if argv[3]:
                return _KEYS_NEED_EMPTY_KEY
            keys = argv[i + 1 :]
            break
        else:
            return SYNTAX_ERROR
        i += 1
    timeout, db = parse_int(argv[5]), parse_int(argv[4])
    if timeout is None or db is None:
        return NOT_AN_INTEGER
    port = parse_int(argv[2])
    return Migration(
        host=argv[1].decode("latin-1"),
        port=port if port is not None and 0 < port < 65536 else 0,
        keys=keys,
        db=db,
        timeout=(timeout if timeout > 0 else 1000) / 1000,
        copy=copy,
        replace=replace,
        auth=auth,
    )


async def migrate(backend: Backend, migration: Migration) -> Reply:
    """Run ``migration`` (the module's three steps); its reply."""
    keys = migration.keys
    versions = await backend.versions(keys, stale=False)
    reads = [[word, key] for key in keys for word in (b"DUMP", b"PTTL")]
    found = await backend.read(reads, stale=False)
    restores: list[list[bytes]] = []
    moved: list[tuple[bytes, int]] = []
    for key, version, payload, ttl in zip(keys, versions, found[::2], found[1::2], strict=True):
        if isinstance(payload, bytes) and isinstance(ttl, int) and ttl != -2:
            # PTTL: -1 is no deadline (RESTORE's 0); 0 is under a millisecond
            # left, sent as 1 so that the copy still expires (as Redis sends it)
            restore = [b"RESTORE", key, b"%d" % (1 if ttl == 0 else max(ttl, 0)), payload]
            restores.append([*restore, b"REPLACE"] if migration.replace else restore)
            moved.append((key, version))
    if not restores:
        return NO_KEY
    sent = [*([migration.auth] if migration.auth else []), [b"SELECT", b"%d" % migration.db]]
    replies = await _exchange(migration, [*sent, *restores])
    if isinstance(replies, ErrorReply):
        return replies
    errors = [r for r in replies if isinstance(r, hiredis.ReplyError)]
    first_error = next(iter(errors), None)
    setup_failed = any(isinstance(r, hiredis.ReplyError) for r in replies[: len(sent)])
    if not migration.copy and not setup_failed:
        taken = [
            pair
            for pair, reply in zip(moved, replies[len(sent) :], strict=True)
            if not isinstance(reply, hiredis.ReplyError)
        ]
        if taken:
            deleted = await backend.transaction(
                [[b"DEL", *(key for key, _ in taken)]], taken, stale=False
            )
            if deleted is NULL_ARRAY:
                return _CHANGED
            if isinstance(deleted, ErrorReply):
                return deleted
    if first_error is not None:
        return ErrorReply(f"ERR Target instance replied with error: {first_error}")
    return OK


async def _exchange(migration: Migration, commands: list[list[bytes]]) -> list[Reply] | ErrorReply:
    """Send ``commands`` to the target, pipelined; their replies, or the
    IOERR that ended the exchange (Rule 2)."""
    timeout = migration.timeout
    try:
        target = await Connection.open(f"{migration.host}:{migration.port}", timeout=timeout)
    except (TimeoutError, OSError, ValueError):
        return _WRITING
    try:
        try:
            sent = [target.send(command) for command in commands]
        except ConnectionError:
            return _WRITING
        replies: list[Reply] = []
        for reply in sent:
            try:
                replies.append(await target.receive(reply, timeout=timeout))  # type: ignore[arg-type]
            except (TimeoutError, ConnectionError):
                return _READING
        return replies
    finally:
        target.close()
        await target.wait_closed()
