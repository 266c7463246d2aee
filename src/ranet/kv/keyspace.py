"""The keys and values of the store, with deterministic expiry.

Keys are bytes in a plain dict (``data``); a value is bytes (a string), a
``Hash`` (fields to values, bytes both), a ``Set`` (of bytes), a ``List``
(a deque of bytes), a ``SortedSet`` (members with scores) or a ``Stream``
(stream_value.py). A key may carry a
deadline, in unix milliseconds, in ``expires``. Time is never read from a
clock here: ``now_ms`` is set by the store, from the timestamps the leader
wrote into the log, so every replica expires the same keys at the same entry.

Invariants:

- every key of ``expires`` is a key of ``data``;
- after ``advance(now_ms)`` no key of ``data`` has a deadline <= ``now_ms``:
  expired keys are removed, in the same way on every replica, so the write
  path can treat ``data`` as exactly the live keys;
- ``_deadlines`` is a min-heap of ``(deadline, key)`` that includes every
  entry of ``expires`` and possibly stale ones (a key deleted, persisted or
  given another deadline since); a stale entry is skipped when popped.

A read served later than the last applied entry may set ``now_ms`` ahead of
the log without calling ``advance`` (nothing is removed on a read, which must
not change state). The reading methods (``get``, ``deadline``, ``iter``,
``len``) therefore still check deadlines against ``now_ms``.

Versions, for WATCH (docs/kv-commands.md, "Transactions"). Every change of a
key - a value set, a key removed (deleted, expired or flushed), a deadline
set or removed - goes through a method here, which counts it in the key's
slot of ``versions``: one of ``VERSION_SLOTS`` counters, chosen by the
CRC-32 of the key, so that they take a fixed space whatever the number of
keys. A transaction runs only if the slots of its watched keys still hold
the counts read at WATCH: a change to any key of a slot aborts it (never a
missed change; rarely a needless abort). The counts are part of the
replicated state - derived from applied entries alone and carried in
snapshots - so every replica decides the same. Counting costs a write about
0.1-0.3 us on each node (a CRC-32 and a list item; docs/performance.md).

Hashes, sets, lists, sorted sets and streams are changed in place, but a snapshot serializes its
copy of ``data`` on another thread later (store.py), and that copy holds the
same objects. So a snapshot's capture bumps ``generation``, and such a
value about to change is first copied if it was made in an older generation
(``own``): copy-on-write, one copy per changed value per snapshot, nothing
for strings.

SCAN walks the same slots (``scan``): the cursor is the next slot, so a key
present from the first call to the last is returned, once while the index
stays as it is. The keys
of each slot are indexed only from the first SCAN on (``_by_slot``: about
40 bytes a key, not replicated, rebuilt after a flush or a restore), so a
store that is never scanned pays nothing for it. Indexing a large store
would stall the node's loop (about 0.4 s a million keys), so each SCAN call
indexes at most ``INDEX_CHUNK`` keys and, until the index is complete,
answers an empty page and a cursor that starts over (Redis lets a page be
empty before the end). Keys written meanwhile are indexed as they are
written; a key removed before its turn is skipped.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from zlib import crc32

from sortedcontainers import SortedList

from ranet.kv import notifications
from ranet.kv.acl import User, Users
from ranet.kv.function_libraries import FunctionLibraries
from ranet.kv.stream_value import Stream

Publisher = Callable[[bytes, bytes, bool], int]
"""Where PUBLISH and SPUBLISH (the flag) hand channel and message as they
are applied: this node's subscribers (pubsub.py), answering how many got it."""

_COMPACT_SLACK = 1024  # stale heap entries tolerated beyond twice the live deadlines
VERSION_SLOTS = 1 << 14
_SLOT_MASK = VERSION_SLOTS - 1
INDEX_CHUNK = 50_000  # keys one SCAN call indexes while the index is built (about 20 ms)
SCAN_START = VERSION_SLOTS
"""The cursor of a SCAN that starts at slot 0 but is not the first call (0 ends a scan)."""


class Container(dict[bytes, Any]):
    """A value made of parts, changed in place, in insertion order (the same
    on every replica: each applies the same changes, and snapshots keep the
    order). ``generation`` is the keyspace's generation it was made or
    copied in (copy-on-write, above)."""

    __slots__ = ("generation",)

    def __init__(self, items: Iterable[Any] = (), generation: int = 0) -> None:
        super().__init__(items)
        self.generation = generation


class Hash(Container):
    """A hash: fields to values, bytes both."""


class Set(Container):
    """A set: its members are the keys (bytes), their values ``None``."""

    @classmethod
    def of(cls, members: Iterable[bytes], generation: int = 0) -> Set:
        return cls(((member, None) for member in members), generation)


class List(deque[bytes]):
    """A list: elements (bytes) in order, with O(1) pushes and pops at both
    ends. ``generation`` as for ``Container``."""

    __slots__ = ("generation",)

    def __init__(self, items: Iterable[bytes] = (), generation: int = 0) -> None:
        super().__init__(items)
        self.generation = generation


class SortedSet:
    """A sorted set: members (bytes) with scores (floats, never NaN), in
    Redis's order - by score, then by member, bytewise. ``scores`` maps each
    member to its score; ``order`` holds the ``(score, member)`` pairs sorted,
    so that a rank or a score is found in O(log n). ``generation`` as for
    ``Container``."""

    __slots__ = ("generation", "order", "scores")

    def __init__(
        self, items: Iterable[tuple[bytes, float]] | SortedSet = (), generation: int = 0
    ) -> None:
        if isinstance(items, SortedSet):
            self.scores = items.scores.copy()
            self.order = items.order.copy()
        else:
            self.scores = {member: score + 0.0 for member, score in items}
            self.order = SortedList((score, member) for member, score in self.scores.items())
        self.generation = generation

    def __len__(self) -> int:
        return len(self.scores)

    def __contains__(self, member: object) -> bool:
        return member in self.scores

    def add(self, member: bytes, score: float) -> None:
        """Give ``member`` the ``score`` (a new member, or moved to its new
        place). A zero is kept without its sign (``+ 0.0``), as Redis keeps
        the scores of small sorted sets: -0 reads back as 0."""
        old = self.scores.get(member)
        if old is not None:
            self.order.remove((old, member))
        score += 0.0
        self.scores[member] = score
        self.order.add((score, member))

    def __delitem__(self, member: bytes) -> None:
        """Remove ``member``, which is present (``Keyspace.remove_parts``)."""
        self.order.remove((self.scores.pop(member), member))

    def rank(self, member: bytes) -> int:
        """The 0-based position of the present ``member``, lowest score first."""
        return self.order.bisect_left((self.scores[member], member))  # type: ignore[no-any-return]


Value = bytes | Hash | Set | List | SortedSet | Stream
Parts = Container | List | SortedSet | Stream  # the values changed in place (copy-on-write)
P = TypeVar("P", Hash, Set, List, SortedSet)


EVALUATED_KEPT = 500  # scripts kept that only EVAL or EVALSHA ran (scripting.py)


def script_sha(body: bytes) -> str:
    """A script's name in the cache, as Redis's: its SHA1, lower-case hex."""
    return hashlib.sha1(body).hexdigest()


class ScriptCache:
    """The Lua scripts EVALSHA can run, by SHA1 (lower-case hex): replicated
    state, changed only by applied writes and carried in snapshots.

    ``loaded`` (SCRIPT LOAD) are kept until SCRIPT FLUSH; ``evaluated``
    (EVAL, EVALSHA of one of them) in the order last run, the oldest
    dropped past ``EVALUATED_KEPT``.
    """

    __slots__ = ("evaluated", "loaded")

    def __init__(self) -> None:
        self.loaded: dict[str, bytes] = {}
        self.evaluated: dict[str, bytes] = {}

    def get(self, sha: str) -> bytes | None:
        body = self.loaded.get(sha)
        return self.evaluated.get(sha) if body is None else body

    def load(self, sha: str, body: bytes) -> None:
        self.evaluated.pop(sha, None)
        self.loaded[sha] = body

    def remember(self, sha: str, body: bytes) -> None:
        """A script EVAL or EVALSHA ran: kept, as the latest run."""
        if sha in self.loaded:
            return
        evaluated = self.evaluated
        evaluated.pop(sha, None)
        evaluated[sha] = body
        if len(evaluated) > EVALUATED_KEPT:
            del evaluated[next(iter(evaluated))]

    def flush(self) -> None:
        self.loaded.clear()
        self.evaluated.clear()


class Keyspace:
    __slots__ = (
        "_by_slot",
        "_deadlines",
        "_to_index",
        "acting_user",
        "data",
        "expired_count",
        "expires",
        "generation",
        "libraries",
        "notify_flags",
        "now_ms",
        "publisher",
        "random",
        "scripts",
        "tracker",
        "users",
        "users_listener",
        "versions",
    )

    def __init__(
        self,
        data: dict[bytes, Value] | None = None,
        expires: dict[bytes, int] | None = None,
        now_ms: int = 0,
        versions: list[int] | None = None,
        scripts: ScriptCache | None = None,
        libraries: FunctionLibraries | None = None,
        users: Users | None = None,
    ) -> None:
        self.data: dict[bytes, Value] = {} if data is None else data
        self.users = Users() if users is None else users  # ACL users (acl.py)
        self.acting_user: User | None = None  # while RANET.AS runs a script as one
        # told of every change of the users (the server checks against them): not state
        self.users_listener: Callable[[Users], None] | None = None
        self.scripts = ScriptCache() if scripts is None else scripts
        self.libraries = FunctionLibraries() if libraries is None else libraries
        self.expires: dict[bytes, int] = {} if expires is None else expires
        self.now_ms = now_ms
        self.versions = [0] * VERSION_SLOTS if versions is None else versions
        self._deadlines = [(deadline, key) for key, deadline in self.expires.items()]
        heapq.heapify(self._deadlines)
        self._by_slot: list[set[bytes]] | None = None  # each slot's keys, from the first SCAN
        self._to_index: list[bytes] = []  # keys the index still has to take in
        self.generation = 0  # bumped by each snapshot's capture (copy-on-write of hashes)
        # PUBLISH's delivery to this node's subscribers (kv/pubsub.py): not state
        self.publisher: Publisher | None = None
        # which key-space events this node emits (notifications.py): not state
        self.notify_flags = 0
        self.expired_count = 0  # keys expired here (INFO's expired_keys): not state
        # told of every change of a key (None: of them all), for client-side
        # caching (tracking.py), while a connection tracks: not state
        self.tracker: Callable[[bytes | None], None] | None = None
        # where SRANDMEMBER, HRANDFIELD and ZRANDMEMBER pick: seeded from the
        # log while a script that may write runs (scripting.py), else not state
        self.random = random.Random()

    def advance(self, now_ms: int) -> None:
        """Move time forward to ``now_ms`` and remove the keys that expired by then."""
        self.now_ms = now_ms
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now_ms:
            deadline, key = heapq.heappop(deadlines)
            if self.expires.get(key) == deadline:
                del self.expires[key]
                del self.data[key]
                self._removed(key)
                self.expired_count += 1
                if self.notify_flags:
                    self.notify(notifications.EXPIRED, b"expired", key)

    def first_deadline(self) -> int | None:
        """The earliest deadline a key may have (perhaps one since removed), or None."""
        return self._deadlines[0][0] if self._deadlines else None

    def notify(self, kind: int, event: bytes, key: bytes) -> None:
        """Emit a key-space event of class ``kind`` to this node's
        subscribers, if its setting asks for that class (notifications.py)."""
        flags, publisher = self.notify_flags, self.publisher
        if not flags & kind or publisher is None:
            return
        if flags & notifications.KEYSPACE:
            publisher(b"__keyspace@0__:" + key, event, False)
        if flags & notifications.KEYEVENT:
            publisher(b"__keyevent@0__:" + event, key, False)

    def notify_taken(self, kind: int, event: bytes, key: bytes) -> None:
        """A command took parts of ``key`` (a pop, a removal): its event,
        then "del" if it took the last, as Redis announces them."""
        self.notify(kind, event, key)
        if self.notify_flags and key not in self.data:
            self.notify(notifications.GENERIC, b"del", key)

    def delete_announced(self, key: bytes) -> bool:
        """``delete``, and its "del" event if there was a key."""
        deleted = self.delete(key)
        if deleted:
            self.notify(notifications.GENERIC, b"del", key)
        return deleted

    def take_node_settings(self, old: Keyspace) -> None:
        """What is this node's rather than state - the publisher, the
        events it emits and its count of expired keys, the tracker - from
        the keyspace this one replaces (a snapshot's restore)."""
        self.publisher, self.notify_flags = old.publisher, old.notify_flags
        self.expired_count, self.tracker = old.expired_count, old.tracker
        self.users_listener = old.users_listener

    def users_changed(self) -> None:
        """After ACL SETUSER or DELUSER, or a restore: the listener is told."""
        if self.users_listener is not None:
            self.users_listener(self.users)

    def _changed(self, key: bytes) -> None:
        """Count a change of ``key`` in its slot."""
        self.versions[crc32(key) & _SLOT_MASK] += 1
        if self.tracker is not None:
            self.tracker(key)

    def _removed(self, key: bytes) -> None:
        """Count the removal of ``key`` in its slot, and take it out of the index."""
        slot = crc32(key) & _SLOT_MASK
        self.versions[slot] += 1
        if self.tracker is not None:
            self.tracker(key)
        if self._by_slot is not None:
            self._by_slot[slot].discard(key)

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """The live keys of the slots from ``cursor`` on, until at least
        ``count`` keys are taken or the slots end, and the next cursor (0 at
        the end; ``SCAN_START`` for slot 0). While the index is still being
        built: no keys, and a cursor that starts over."""
        if self._by_slot is None:
            self._by_slot = [set() for _ in range(VERSION_SLOTS)]
            self._to_index = list(self.data)
        if self._to_index:
            self._index_some()
            if self._to_index:
                return SCAN_START, []
        if cursor > VERSION_SLOTS:
            return 0, []
        by_slot = self._by_slot
        keys: list[bytes] = []
        slot = cursor % VERSION_SLOTS  # SCAN_START is slot 0
        while slot < VERSION_SLOTS and len(keys) < count:
            keys += by_slot[slot]
            slot += 1
        live = [key for key in keys if self.get(key) is not None]  # a read may be ahead of the log
        return (slot if slot < VERSION_SLOTS else 0), live

    def _index_some(self) -> None:
        """Take ``INDEX_CHUNK`` more keys into the index, skipping removed ones."""
        assert self._by_slot is not None
        chunk = self._to_index[-INDEX_CHUNK:]
        del self._to_index[-INDEX_CHUNK:]
        data, by_slot = self.data, self._by_slot
        for key in chunk:
            if key in data:
                by_slot[crc32(key) & _SLOT_MASK].add(key)

    def versions_of(self, keys: Sequence[bytes]) -> list[int]:
        """The counts of the slots of ``keys``: what WATCH remembers."""
        versions = self.versions
        return [versions[crc32(key) & _SLOT_MASK] for key in keys]

    def unchanged(self, watched: Sequence[tuple[bytes, int]]) -> bool:
        """Whether the slot of each ``(key, version)`` still holds that version."""
        versions = self.versions
        return all(versions[crc32(key) & _SLOT_MASK] == version for key, version in watched)

    def _expired(self, key: bytes) -> bool:
        deadline = self.expires.get(key)
        return deadline is not None and deadline <= self.now_ms

    def capture(self) -> dict[bytes, Value]:
        """A copy of ``data`` that later changes leave alone (for a snapshot)."""
        self.generation += 1
        return self.data.copy()

    def own(self, key: bytes) -> Any:
        """The hash, set, list, sorted set or stream of ``key``, about to change: a copy if a
        snapshot may still be reading it, and the change counted (a version,
        for WATCH)."""
        value = self.data[key]
        assert isinstance(value, Parts)
        if value.generation != self.generation:
            value = self.data[key] = self.copy_of(value)
        self._changed(key)
        return value

    def copy_of(self, value: Value) -> Value:
        """A value of its own, of this generation (a string is never changed: itself)."""
        return value if isinstance(value, bytes) else type(value)(value, self.generation)

    def changeable(self, key: bytes, kind: type[P]) -> P:
        """``own(key)``, made an empty ``kind`` first if absent (the caller
        checked that a present value is a ``kind``)."""
        if key not in self.data:
            self.put(key, kind((), self.generation))
        return self.own(key)  # type: ignore[no-any-return]

    def remove_parts(self, key: bytes, parts: Collection[bytes]) -> None:
        """Remove ``parts`` - fields or members, all present - from the hash,
        set or sorted set of ``key``; the key goes with the last, as in Redis.
        Nothing to remove changes nothing (no version counted)."""
        if not parts:
            return
        if len(parts) == len(self.data[key]):  # type: ignore[arg-type]
            self.delete(key)
            return
        owned = self.own(key)
        for part in parts:
            del owned[part]

    def get(self, key: bytes) -> Value | None:
        """The value of ``key``, or ``None`` if it is absent or expired."""
        value = self.data.get(key)
        if value is not None and self.expires and self._expired(key):
            return None
        return value

    def put(self, key: bytes, value: Value) -> None:
        """Set ``key`` to ``value`` with no deadline (as SET does)."""
        slot = crc32(key) & _SLOT_MASK  # replace(), inlined: this is every SET
        if self._by_slot is not None and key not in self.data:
            self._by_slot[slot].add(key)
        if self.notify_flags and key not in self.data:
            self.notify(notifications.NEW, b"new", key)
        self.data[key] = value
        if self.expires:
            self.expires.pop(key, None)
        self.versions[slot] += 1
        if self.tracker is not None:
            self.tracker(key)

    def replace(self, key: bytes, value: Value) -> None:
        """Set ``key`` to ``value``, keeping any deadline it has (as INCR,
        APPEND, CAS and SET KEEPTTL do; the key may be new)."""
        slot = crc32(key) & _SLOT_MASK
        if self._by_slot is not None and key not in self.data:
            self._by_slot[slot].add(key)
        if self.notify_flags and key not in self.data:
            self.notify(notifications.NEW, b"new", key)
        self.data[key] = value
        self.versions[slot] += 1
        if self.tracker is not None:
            self.tracker(key)

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; whether it was there."""
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        self._removed(key)
        return True

    def deadline(self, key: bytes) -> int | None:
        """The deadline of a live ``key``, or ``None`` if it has none."""
        deadline = self.expires.get(key)
        return None if deadline is None or deadline <= self.now_ms else deadline

    def expire_at(self, key: bytes, deadline_ms: int) -> None:
        """Give the existing ``key`` a deadline; one already passed removes it now."""
        if deadline_ms <= self.now_ms:
            self.delete(key)
            return
        self.expires[key] = deadline_ms
        self._changed(key)
        deadlines = self._deadlines
        heapq.heappush(deadlines, (deadline_ms, key))
        if len(deadlines) > 2 * len(self.expires) + _COMPACT_SLACK:
            self._deadlines = [(deadline, key) for key, deadline in self.expires.items()]
            heapq.heapify(self._deadlines)

    def persist(self, key: bytes) -> bool:
        """Remove the deadline of ``key``; whether it had one."""
        if self.expires.pop(key, None) is None:
            return False
        self._changed(key)
        return True

    def clear(self) -> None:
        """Remove every key: a change counted in every slot."""
        self.data.clear()
        self.expires.clear()
        self._deadlines.clear()
        self._by_slot, self._to_index = None, []
        self.versions = [version + 1 for version in self.versions]
        if self.tracker is not None:
            self.tracker(None)

    def _pending(self) -> bool:
        """Whether some key may have expired at ``now_ms`` without being removed yet."""
        return bool(self._deadlines) and self._deadlines[0][0] <= self.now_ms

    def __iter__(self) -> Iterator[bytes]:
        """The live keys, in insertion order."""
        if not self._pending():
            return iter(self.data)
        return (key for key in self.data if not self._expired(key))

    def __len__(self) -> int:
        if not self._pending():
            return len(self.data)
        now_ms = self.now_ms
        return len(self.data) - sum(1 for deadline in self.expires.values() if deadline <= now_ms)
