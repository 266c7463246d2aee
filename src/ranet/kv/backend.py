"""What the RESP server needs from the replicated store behind it.

The server knows the Redis protocol and connections; the backend knows Raft.
``NodeBackend`` (the real one, in ``node_backend.py``) runs writes through
the log and reads through ReadIndex; tests may use an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from ranet.kv.acl import Users
from ranet.kv.keyspace import Publisher
from ranet.kv.reply import BulkParts, Reply


class Backend(Protocol):
    """``bounds_every_call``, when a backend sets it true, promises that every
    call ends within a bounded time on its own, so the server sets no timer."""

    def write(self, argv: list[bytes], session: tuple[int, int] | None) -> Awaitable[Reply]:
        """Replicate a write command; an awaitable of its reply (a coroutine, or
        a future when the backend starts the write at once).

        ``session`` is ``(client_id, sequence)`` for exactly-once retries.
        Raises - at once or when awaited - ``NotLeader`` (no leader known),
        ``Timeout`` (outcome unknown) or ``ShuttingDown``; a follower forwards
        to the leader itself.
        """
        ...

    def write_many(self, argvs: list[list[bytes]]) -> Awaitable[list[Reply]]:
        """Replicate write commands without a session as one unit: applied in
        order with nothing between them, all or none (one log command); an
        awaitable of their replies, raising as ``write``. The server sends a
        pipeline's run of writes here."""
        ...

    def read(self, argvs: Sequence[list[bytes]], *, stale: bool) -> Awaitable[list[Reply]]:
        """Run read-only commands, in order: linearizable (one ReadIndex barrier
        for all of them) unless ``stale``; an awaitable of their replies, as
        for ``write``."""
        ...

    def transaction(
        self, argvs: list[list[bytes]], watched: list[tuple[bytes, int]], *, stale: bool
    ) -> Awaitable[Reply]:
        """MULTI ... EXEC: run the commands, reads and writes, in order with
        nothing between them - unless a key of ``watched`` no longer has the
        version ``versions`` read, in which case nothing runs and the reply is
        null. An awaitable of the list of their replies (or null), raising as
        ``write``; ``stale`` as for ``read``, for transactions that only read."""
        ...

    def versions(self, keys: list[bytes], *, stale: bool) -> Awaitable[list[int]]:
        """WATCH: the versions of ``keys`` (``keyspace.py``), read as a read is."""
        ...

    def changed(self, keys: list[bytes], versions: list[int]) -> Awaitable[None]:
        """Done once the local replica's versions of ``keys`` are no longer
        ``versions`` (read with ``versions(keys, stale=True)``): a blocking
        command's wake-up (blocking.py). Cancelled by the caller when it
        stops waiting."""
        ...

    async def transfer_leadership(self, target: int | None) -> Reply:
        """Hand leadership on (thesis §3.10); the new leader's id, or an error
        reply (not the leader, unknown node, no handoff within the timeout)."""
        ...

    async def membership(self, argv: list[bytes]) -> Reply:
        """RAFT.MEMBER's arguments: LIST, or a change that returns once committed."""
        ...

    async def backup(self) -> Reply | BulkParts:
        """RAFT.BACKUP: a backup file's bytes (ranet/node/backup.py), holding
        every write completed before the call."""
        ...

    def deliver_published(self, publisher: Publisher) -> None:
        """Where PUBLISH and SPUBLISH, applied on this node, hand channel and message
        (kv/pubsub.py); the server calls it once, as it starts."""
        ...

    def track_changes(self, tracker: Callable[[bytes | None], None] | None) -> None:
        """Tell ``tracker`` of every change the local store applies to a key
        (None: to every key); None stops it (kv/tracking.py)."""
        ...

    def watch_users(self, listener: Callable[[Users], None]) -> None:
        """Tell ``listener`` of the local store's ACL users now and after
        every change (acl.py); the server calls it once, as it starts."""
        ...

    def keyspace_stats(self) -> dict[str, int]:
        """The local store's counters (``KVStore.stats``), for INFO."""
        ...

    def notify_keyspace_events(self, flags: int) -> None:
        """Which key-space events this node's store emits through its
        publisher (kv/notifications.py): CONFIG SET notify-keyspace-events."""
        ...

    def raft_info(self) -> dict[str, Any]:
        """Fields for the ``# Raft`` section of INFO (role, term, leader, ...)."""
        ...

    def replicas_holding(self, wanted: int, timeout: float | None) -> Awaitable[int]:
        """WAIT (replica_wait.py): how many of the cluster's members other
        than this node hold, durably in their logs, every write answered
        before the call - once ``wanted`` of them do, or when ``timeout``
        seconds pass (None: no limit; 0: the count now). A follower asks
        the leader, which knows."""
        ...

    def other_members(self) -> int:
        """How many members (voters and learners) the cluster has besides
        this node: WAIT's answer to a connection that wrote nothing."""
        ...

    def script_declares_writes(self, argv: list[bytes]) -> bool | None:
        """EVAL, EVALSHA, FCALL or their _RO forms: whether the script or
        function the call names, as the local replica holds it, declares that
        it writes (True) or ``no-writes`` (False); None if it declares
        nothing or is not known here. CLIENT PAUSE WRITE holds by these
        flags, as Redis 7.0 does (client_pause.py)."""
        ...
