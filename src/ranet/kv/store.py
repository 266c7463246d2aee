"""The key-value state machine: Redis string commands, replicated by Raft.

``KVStore`` implements the ``StateMachine`` protocol (``node/state_machine.py``).
Every committed log entry is an envelope (``envelope.py``):
``[client_id, sequence, timestamp_ms, argv]``, a run of writes without a
session ``[0, 0, timestamp_ms, [argv, ...]]``, or a transaction (MULTI ...
EXEC) with its watched keys. ``apply`` decodes it, moves the store's clock,
answers retries from the session table (thesis §6.3, ``sessions.py``) and
otherwise runs the write command (``commands.py``) - each command of a run
or transaction in order, answering the list of their replies.

Invariants:

- ``apply`` is deterministic: the same entries in the same order give the
  same replies and the same state on every replica. Time is the largest
  ``timestamp_ms`` applied so far (``clock_ms``), so it never goes backwards
  even if a new leader's clock is behind the old one's; key expiry and session
  expiry both read this clock and nothing else;
- ``apply`` never raises on a bad entry: a malformed envelope is answered
  with an ``ErrorReply`` and changes nothing, not even the clock;
- only WRITE commands are applied (and BLOCKING ones, as their non-blocking
  form), only READ commands are read: a command of the wrong kind is
  answered with an ``ErrorReply``. A transaction is the
  exception: its reads run inside ``apply``, on the state its earlier
  commands left and at the log's time, so they are as deterministic as its
  writes;
- ``restore`` replaces everything (keys, deadlines, sessions, clock) or, on
  a malformed snapshot, raises ``SnapshotFormatError`` and changes nothing.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Callable, Sequence
from functools import partial
from itertools import islice

import msgpack

from ranet.errors import ConfigurationError, SnapshotFormatError
from ranet.kv import functions, scripting, stream_codec
from ranet.kv.acl import RuleError, Users
from ranet.kv.arguments import text_of
from ranet.kv.commands import BLOCKING, READ, WRITE, Kind, resolve, resolve_internal
from ranet.kv.envelope import EnvelopeError, RunEnvelope, TransactionEnvelope, decode
from ranet.kv.function_libraries import FunctionLibraries
from ranet.kv.keyspace import (
    VERSION_SLOTS,
    Hash,
    Keyspace,
    List,
    Publisher,
    ScriptCache,
    Set,
    SortedSet,
    Value,
    script_sha,
)
from ranet.kv.reply import NULL_ARRAY, ErrorReply, Reply, Status, from_wire, to_wire
from ranet.kv.sessions import Session, SessionTable
from ranet.kv.stream_value import Stream

SNAPSHOT_FORMAT = "ranet.kv/8"
_V7_FORMAT = "ranet.kv/7"  # before ACL users
_V6_FORMAT = "ranet.kv/6"  # before functions
_V5_FORMAT = "ranet.kv/5"  # before scripts
_V4_FORMAT = "ranet.kv/4"  # before streams
_V3_FORMAT = "ranet.kv/3"  # before lists and sorted sets
_V2_FORMAT = "ranet.kv/2"  # before hashes and sets: every value a string
SNAPSHOT_CHUNK = 10_000  # key-value pairs serialized per msgpack call
_V1_FIELDS = {"format", "clock_ms", "data", "expires", "sessions"}
_V5_FIELDS = {*_V1_FIELDS, "versions"}
_V6_FIELDS = {*_V5_FIELDS, "scripts"}
_V7_FIELDS = {*_V6_FIELDS, "functions"}
_SNAPSHOT_FIELDS = {*_V7_FIELDS, "users"}
_V1_FORMAT = "ranet.kv/1"  # before WATCH: no versions; restored with all at zero


class KVStore:
    """A replicated dictionary of byte strings, driven by the Raft log.

    Not thread-safe: call ``apply``, ``read``, ``snapshot`` and ``restore``
    from one thread (the node's event loop).
    """

    def __init__(self, session_ttl_ms: int = 3_600_000, max_sessions: int = 100_000) -> None:
        if session_ttl_ms <= 0 or max_sessions <= 0:
            raise ConfigurationError("session_ttl_ms and max_sessions must be positive")
        self._keyspace = Keyspace()
        self._sessions = SessionTable(session_ttl_ms, max_sessions)
        self._clock_ms = 0

    @property
    def clock_ms(self) -> int:
        """The store's time: the largest ``timestamp_ms`` applied so far."""
        return self._clock_ms

    def __len__(self) -> int:
        """The number of keys."""
        return len(self._keyspace)

    def stats(self) -> dict[str, int]:
        """Counters for INFO: keys, keys with a deadline, keys expired here
        since the node started, sessions, clock."""
        return {
            "keys": len(self._keyspace),
            "expires": len(self._keyspace.expires),
            "expired_keys": self._keyspace.expired_count,
            "sessions": len(self._sessions),
            "clock_ms": self._clock_ms,
        }

    def deliver_published(self, publisher: Publisher | None) -> None:
        """Where PUBLISH and SPUBLISH, applied, hand channel and message: this node's
        subscribers (kv/pubsub.py), which answer how many received it.
        Nothing in the state depends on it."""
        self._keyspace.publisher = publisher

    def notify_keyspace_events(self, flags: int) -> None:
        """Which key-space events this node emits (notifications.py): this
        node's setting, not state."""
        self._keyspace.notify_flags = flags

    def track_changes(self, tracker: Callable[[bytes | None], None] | None) -> None:
        """Tell ``tracker`` of every change of a key (None: of them all) -
        client-side caching's invalidations (tracking.py); this node's, not state."""
        self._keyspace.tracker = tracker

    def expiry_due(self, now_ms: int) -> bool:
        """Whether a key's deadline has passed by ``now_ms`` with no entry
        applied since: an entry stamped now would expire it."""
        first = self._keyspace.first_deadline()
        return first is not None and self._clock_ms < first <= now_ms

    def apply(self, command: bytes) -> Reply:
        """Apply one committed log entry and return the reply for its client
        (for a run of commands, ``RunEnvelope``, the list of their replies).

        Thesis §6.3: a request whose sequence number equals its client's last
        one is a retry, answered with the cached reply and not applied again;
        a lower one is stale and answered with an error.
        """
        try:
            envelope = decode(command)
        except EnvelopeError as error:
            return ErrorReply(f"ERR malformed log entry: {error}")
        now_ms = envelope.timestamp_ms
        if now_ms > self._clock_ms:
            self._clock_ms = now_ms
            self._keyspace.advance(now_ms)
            if self._sessions:
                self._sessions.expire(now_ms)
        kind = envelope.__class__
        if kind is RunEnvelope:
            keyspace = self._keyspace
            return [_run(keyspace, argv, WRITE, _NOT_APPLIED) for argv in envelope.argvs]
        if kind is TransactionEnvelope:
            return _transact(self._keyspace, envelope)
        if envelope.client_id == 0:
            return _run(self._keyspace, envelope.argv, WRITE, _NOT_APPLIED)
        session = self._sessions.touch(envelope.client_id, self._clock_ms)
        sequence = envelope.sequence
        if sequence <= session.last_sequence:
            if sequence == session.last_sequence:
                return session.last_reply
            return ErrorReply(
                f"ERR stale request: sequence {sequence} already superseded "
                f"(client {envelope.client_id} is at sequence {session.last_sequence})"
            )
        reply = _run(self._keyspace, envelope.argv, WRITE, _NOT_APPLIED)
        session.last_sequence = sequence
        session.last_reply = reply
        return reply

    def read(self, argv: list[bytes], now_ms: int | None = None) -> Reply:
        """Run a READ command on the current state; change nothing.

        Call it after a linearizable barrier (ReadIndex, thesis §6.4). Keys
        expire on the store's clock, which moves only with applied entries;
        pass the node's wall clock as ``now_ms`` so that a key whose deadline
        passed reads as absent even if nothing was written since (a ``now_ms``
        behind the store's clock is ignored).
        """
        return self.read_many([argv], now_ms)[0]

    def read_many(self, argvs: Sequence[list[bytes]], now_ms: int | None = None) -> list[Reply]:
        """``read`` for each command, in order, on the same state and clock."""
        keyspace = self._keyspace
        if now_ms is None or now_ms <= self._clock_ms:
            return [_run(keyspace, argv, READ, _NOT_READ) for argv in argvs]
        keyspace.now_ms = now_ms
        try:
            return [_run(keyspace, argv, READ, _NOT_READ) for argv in argvs]
        finally:
            keyspace.now_ms = self._clock_ms

    def script_declares_writes(self, argv: list[bytes]) -> bool | None:
        """EVAL, EVALSHA, FCALL or their _RO forms: whether the script or
        function the call names, as this replica holds it, declares that it
        writes (True) or ``no-writes`` (False); None if it declares nothing
        or is unknown (Redis 7.0's script flags, which CLIENT PAUSE WRITE
        goes by: kv/client_pause.py). A function always declares."""
        name = argv[0].lower()
        if name.startswith(b"fcall"):
            found = self._keyspace.libraries.find(argv[1])
            return None if found is None else not found[1].read_only
        body = argv[1]
        if name.startswith(b"evalsha"):
            known = self._keyspace.scripts.get(text_of(body).lower()) if len(body) == 40 else None
            if known is None:
                return None
            body = known
        return scripting.declares_writes(body)

    def versions(self, keys: Sequence[bytes]) -> list[int]:
        """The versions of ``keys`` (``keyspace.py``): what WATCH reads, after a
        linearizable barrier like any read."""
        return self._keyspace.versions_of(keys)

    def snapshot(self) -> bytes:
        """The whole state, msgpack-encoded: keys, deadlines, sessions and clock."""
        return b"".join(self.snapshot_later()())

    def snapshot_later(self) -> Callable[[], list[bytes]]:
        """Copy the state now, serialize it later, as parts to be stored in order.

        The copy is a few C-level dict copies on the caller's thread (about
        80 ms for a million keys). The returned function serializes the keys
        in chunks of ``SNAPSHOT_CHUNK`` pairs: each chunk is one short call
        into msgpack, so a thread running it gives the event loop the GIL
        between chunks instead of stalling it for the whole store.
        """
        keyspace = self._keyspace
        data = keyspace.capture()
        header = {
            "format": SNAPSHOT_FORMAT,
            "clock_ms": self._clock_ms,
            "versions": _little_endian(array("q", keyspace.versions)).tobytes(),
            "expires": keyspace.expires.copy(),
            "scripts": [
                *([body, True] for body in keyspace.scripts.loaded.values()),
                *([body, False] for body in keyspace.scripts.evaluated.values()),
            ],
            "functions": [library.code for library in keyspace.libraries.libraries.values()],
            "users": keyspace.users.snapshot(),
            "sessions": [
                [
                    client_id,
                    session.last_sequence,
                    session.last_active_ms,
                    to_wire(session.last_reply),
                ]
                for client_id, session in self._sessions.items()
            ],
        }
        return partial(_serialize, header, data)

    def restore(self, data: bytes) -> None:
        """Replace the whole state with one taken by ``snapshot``.

        Raises ``SnapshotFormatError`` if ``data`` is not such a snapshot; the
        new state is built and checked first, so a failure changes nothing.
        """
        clock_ms, keyspace, sessions = _parse_snapshot(data)
        keyspace.take_node_settings(self._keyspace)
        if keyspace.tracker is not None:
            keyspace.tracker(None)  # every key may have changed
        self._clock_ms = clock_ms
        self._keyspace = keyspace
        self._sessions.replace(sessions)
        keyspace.users_changed()

    def watch_users(self, listener: Callable[[Users], None] | None) -> None:
        """Tell ``listener`` of the ACL users now and after every change
        (the server's checks); this node's, not state."""
        self._keyspace.users_listener = listener
        self._keyspace.users_changed()


_NOT_APPLIED = "not applied from the log"
_NOT_READ = "not served by a read"


def _run(keyspace: Keyspace, argv: list[bytes], kind: Kind, refusal: str) -> Reply:
    """Run ``argv`` on ``keyspace`` if it is a command of ``kind``; else the
    error Redis would answer (unknown, arity) or ``refusal``."""
    spec = resolve(argv)
    if isinstance(spec, ErrorReply):
        spec = resolve_internal(argv) or spec
        if isinstance(spec, ErrorReply):
            return spec
    handler = spec.handler
    if spec.kind is not kind or handler is None:
        if not (spec.kind is BLOCKING and kind is WRITE):  # applied: its non-blocking form
            return ErrorReply(f"ERR '{spec.name}' is a {spec.kind.value} command, {refusal}")
        assert handler is not None
    return handler(keyspace, argv)


def _transact(keyspace: Keyspace, transaction: TransactionEnvelope) -> Reply:
    """MULTI ... EXEC: a null array if a watched key changed since WATCH; else every
    command, read or write, in order, answered as if alone."""
    if not keyspace.unchanged(transaction.watched):
        return NULL_ARRAY
    replies: list[Reply] = []
    for argv in transaction.argvs:
        spec = resolve(argv)
        if isinstance(spec, ErrorReply):
            spec = resolve_internal(argv) or spec
        if isinstance(spec, ErrorReply):
            replies.append(spec)
        elif spec.handler is None:
            replies.append(ErrorReply(f"ERR '{spec.name}' is not allowed in a transaction"))
        else:
            replies.append(spec.handler(keyspace, argv))
    return replies


def _little_endian(versions: array[int]) -> array[int]:
    """``versions`` in the byte order of snapshots, whatever this machine's
    (swapped in place: swapping is its own inverse)."""
    if sys.byteorder != "little":
        versions.byteswap()
    return versions


def _serialize(header: dict[str, object], data: dict[bytes, Value]) -> list[bytes]:
    """The snapshot as one msgpack map, its key space packed chunk by chunk:
    the parts, which concatenated are the snapshot (never joined here)."""
    packer = msgpack.Packer(default=_packable)
    parts = [packer.pack_map_header(len(header) + 1)]
    for name, value in header.items():
        parts += (packer.pack(name), packer.pack(value))
    chunk_count = -(-len(data) // SNAPSHOT_CHUNK)
    parts += (packer.pack("data"), packer.pack_array_header(chunk_count))
    items = iter(data.items())
    while chunk := list(islice(items, SNAPSHOT_CHUNK)):
        parts.append(packer.pack(chunk))
    return parts


def _packable(value: object) -> object:
    """What msgpack packs for a value it does not know: a list (a deque) as
    an array, a sorted set as its map of members to scores, a stream as an
    extension value (stream_codec.py)."""
    if isinstance(value, Stream):
        return stream_codec.pack(value)
    if isinstance(value, SortedSet):
        return value.scores
    if isinstance(value, List):
        return list(value)
    raise TypeError(f"a key-value snapshot cannot hold {type(value).__name__}")


def _parse_snapshot(data: bytes) -> tuple[int, Keyspace, list[tuple[int, Session]]]:
    try:
        fields = msgpack.unpackb(data)
    except Exception as error:  # msgpack raises several types
        raise SnapshotFormatError(f"undecodable key-value snapshot: {error}") from None
    _require(isinstance(fields, dict), "not a map")
    _require(fields.get("format") in _FIELDS, f"format is not {SNAPSHOT_FORMAT!r}")
    _require(set(fields) == _FIELDS[fields["format"]], "unexpected fields")
    v1 = fields["format"] == _V1_FORMAT
    kinds = _VALUE_KINDS.get(fields["format"], (bytes,))
    clock_ms = fields["clock_ms"]
    _require(type(clock_ms) is int and clock_ms >= 0, "clock_ms is not a non-negative integer")
    versions = None if v1 else _parse_versions(fields["versions"])
    chunks, expires = fields["data"], fields["expires"]
    _require(
        isinstance(chunks, list) and all(isinstance(chunk, list) for chunk in chunks),
        "data is not a list of chunks",
    )
    values: dict[bytes, Value] = {}
    for chunk in chunks:
        _require(
            all(
                isinstance(pair, list) and len(pair) == 2 and type(pair[0]) is bytes
                and type(pair[1]) in kinds and _is_value(pair[1])
                for pair in chunk
            ),
            "data holds something other than [key, value] pairs of strings, hashes, sets, "
            "lists, sorted sets or streams",
        )  # fmt: skip
        values.update(chunk)
    for key in [key for key, value in values.items() if type(value) is not bytes]:
        parts = values[key]
        values[key] = _value_of(parts)
    _require(
        isinstance(expires, dict)
        and all(k in values and type(d) is int and d > clock_ms for k, d in expires.items()),
        "expires is not a map of existing keys to deadlines after clock_ms",
    )
    sessions = _parse_sessions(fields["sessions"], clock_ms)
    scripts = _parse_scripts(fields.get("scripts", []))
    libraries = _parse_libraries(fields.get("functions", []))
    users = _parse_users(fields.get("users"))
    keyspace = Keyspace(values, expires, clock_ms, versions, scripts, libraries, users)
    return clock_ms, keyspace, sessions


def _parse_users(lines: object) -> Users:
    """The ACL users, each made again from its rules (before format 8: the
    default user alone)."""
    if lines is None:
        return Users()
    _require(
        isinstance(lines, list) and all(type(line) is bytes for line in lines),
        "users is not a list of users' rules",
    )
    try:
        return Users.restored(lines)  # type: ignore[arg-type]
    except (RuleError, ValueError) as error:
        raise SnapshotFormatError(f"malformed key-value snapshot: users: {error}") from None


def _parse_libraries(codes: object) -> FunctionLibraries:
    """The libraries, each loaded again from its code (what it registers
    is the same on every node: loading is deterministic)."""
    _require(
        isinstance(codes, list) and all(type(code) is bytes for code in codes),
        "functions is not a list of libraries' code",
    )
    libraries = FunctionLibraries()
    for code in codes:  # type: ignore[union-attr]
        library = functions.library_from_code(code)
        _require(not isinstance(library, ErrorReply), f"a library does not load: {library}")
        error = libraries.join([library], replace=False, quoted=True)  # type: ignore[list-item]
        _require(error is None, f"the libraries collide: {error}")
    return libraries


def _parse_scripts(rows: object) -> ScriptCache:
    _require(
        isinstance(rows, list)
        and all(
            isinstance(row, list) and len(row) == 2 and type(row[0]) is bytes
            and type(row[1]) is bool
            for row in rows
        ),
        "scripts is not a list of [body, loaded] pairs",
    )  # fmt: skip
    scripts = ScriptCache()
    for body, loaded in rows:  # type: ignore[union-attr]
        sha = script_sha(body)
        if loaded:
            scripts.load(sha, body)
        else:
            scripts.remember(sha, body)
    return scripts


_FIELDS = {  # a snapshot's fields, by format
    SNAPSHOT_FORMAT: _SNAPSHOT_FIELDS,
    _V7_FORMAT: _V7_FIELDS,
    _V6_FORMAT: _V6_FIELDS,
    **dict.fromkeys((_V5_FORMAT, _V4_FORMAT, _V3_FORMAT, _V2_FORMAT), _V5_FIELDS),
    _V1_FORMAT: _V1_FIELDS,
}
_VALUE_KINDS = {  # the msgpack types a value may have, by snapshot format
    SNAPSHOT_FORMAT: (bytes, dict, list, msgpack.ExtType),
    _V7_FORMAT: (bytes, dict, list, msgpack.ExtType),
    _V6_FORMAT: (bytes, dict, list, msgpack.ExtType),
    _V5_FORMAT: (bytes, dict, list, msgpack.ExtType),  # streams came with format 5
    _V4_FORMAT: (bytes, dict, list),
    _V3_FORMAT: (bytes, dict),  # hashes and sets came with format 3, lists and sorted sets with 4
}
_MAP_KINDS = {  # a map value's kind, by the type of its values
    bytes: Hash,
    type(None): Set.of,
    float: lambda scores: SortedSet(scores.items()),
}


def _is_value(value: bytes | dict[object, object] | list[object]) -> bool:
    """A value as a snapshot holds it: a string; a hash, a non-empty map of
    byte strings to byte strings; a set, a non-empty map of byte strings (its
    members) to nil; a sorted set, a non-empty map of byte strings (its
    members) to scores, floats never NaN; or a list, a non-empty array of
    byte strings; a stream, an extension value, checked as it is read."""
    if type(value) is bytes or type(value) is msgpack.ExtType:
        return True
    if not value or not all(type(part) is bytes for part in value):
        return False
    if type(value) is list:
        return True
    kinds = {type(item) for item in value.values()}  # type: ignore[union-attr]
    if kinds == {float}:
        return not any(math.isnan(score) for score in value.values())  # type: ignore[union-attr]
    return kinds == {bytes} or kinds == {type(None)}


def _value_of(parts: dict[bytes, object] | list[bytes] | msgpack.ExtType) -> Value:
    """The value a checked snapshot's array, map or extension stands for."""
    if type(parts) is msgpack.ExtType:
        try:
            return stream_codec.unpack(parts)
        except ValueError as error:
            raise SnapshotFormatError(f"malformed key-value snapshot: {error}") from None
    if type(parts) is list:
        return List(parts)
    assert isinstance(parts, dict)
    return _MAP_KINDS[type(next(iter(parts.values())))](parts)  # type: ignore[no-any-return]


def _parse_versions(stored: object) -> list[int]:
    _require(
        type(stored) is bytes and len(stored) == 8 * VERSION_SLOTS,
        f"versions is not {VERSION_SLOTS} 64-bit integers",
    )
    versions = array("q")
    versions.frombytes(stored)  # type: ignore[arg-type]
    _require(min(_little_endian(versions)) >= 0, "a version is negative")
    return versions.tolist()


def _parse_sessions(rows: object, clock_ms: int) -> list[tuple[int, Session]]:
    _require(isinstance(rows, list), "sessions is not a list")
    sessions: list[tuple[int, Session]] = []
    last_active_ms = 0
    for row in rows:
        _require(isinstance(row, list) and len(row) == 4, "a session is not a 4-item list")
        client_id, sequence, active_ms, wire_reply = row
        _require(
            all(type(v) is int for v in (client_id, sequence, active_ms))
            and client_id > 0
            and sequence >= 0
            and last_active_ms <= active_ms <= clock_ms,
            "a session has bad numbers or is out of activity order",
        )
        last_active_ms = active_ms
        sessions.append((client_id, Session(sequence, _parse_reply(wire_reply), active_ms)))
    _require(len({client_id for client_id, _ in sessions}) == len(sessions), "duplicate client")
    return sessions


def _parse_reply(wire: object) -> Reply:
    try:
        reply = from_wire(wire)
    except (TypeError, ValueError, RecursionError):
        raise SnapshotFormatError("malformed key-value snapshot: bad cached reply") from None
    _require(_is_reply(reply), "a session's cached reply is malformed")
    return reply


def _is_reply(value: object) -> bool:
    if isinstance(value, list):
        return all(_is_reply(item) for item in value)
    if isinstance(value, Status):
        return isinstance(value.text, str)
    if isinstance(value, ErrorReply):
        return isinstance(value.message, str)
    return value is None or type(value) in (int, float, bytes)


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise SnapshotFormatError(f"malformed key-value snapshot: {reason}")
