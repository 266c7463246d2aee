"""Client sessions: each client's last request and its reply (thesis §6.3).

A client that times out retries its write, and the first attempt may already
be committed. To apply each write exactly once, a client numbers its
requests; the state machine remembers, per client, the last sequence number
it applied and the reply it gave, and answers a retry from that memory
instead of applying the write again.

Rule 1: sessions live in the replicated state, so every replica must make the
same decisions. Time comes only from the log (``now_ms`` is the largest
timestamp applied so far), never from a local clock.

Rule 2: ``_sessions`` is ordered by last activity, oldest first. Time never
goes backwards, so moving a touched session to the end keeps the order;
expiry and eviction then only ever look at the front, in O(1) per session
dropped.

A dropped session is forgotten: a request from that client starts a new one
and is applied as new. A retry that arrives after its session expired could
therefore apply twice; the time-to-live is long (an hour by default) so that
no client retries that late.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ranet.kv.reply import Reply


@dataclass(slots=True)
class Session:
    last_sequence: int  # -1 until the session's first request has been applied
    last_reply: Reply
    last_active_ms: int


class SessionTable:
    """The sessions of all clients, ordered by last activity (Rule 2)."""

    __slots__ = ("_sessions", "max_sessions", "ttl_ms")

    def __init__(self, ttl_ms: int, max_sessions: int) -> None:
        self.ttl_ms = ttl_ms
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[int, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def expire(self, now_ms: int) -> None:
        """Drop the sessions idle for longer than the time-to-live at ``now_ms``."""
        sessions = self._sessions
        oldest_kept = now_ms - self.ttl_ms
        while sessions:
            client_id, session = next(iter(sessions.items()))
            if session.last_active_ms >= oldest_kept:
                return
            del sessions[client_id]

    def touch(self, client_id: int, now_ms: int) -> Session:
        """The session of ``client_id``, marked active at ``now_ms``.

        A client without a session gets a new one, which may evict the least
        recently active session to stay within ``max_sessions``.
        """
        sessions = self._sessions
        session = sessions.get(client_id)
        if session is None:
            session = sessions[client_id] = Session(-1, None, now_ms)
            while len(sessions) > self.max_sessions:
                sessions.popitem(last=False)
        else:
            session.last_active_ms = now_ms
            sessions.move_to_end(client_id)
        return session

    def items(self) -> list[tuple[int, Session]]:
        """(client id, session) pairs, least recently active first."""
        return list(self._sessions.items())

    def replace(self, sessions: list[tuple[int, Session]]) -> None:
        """Take ``sessions`` (least recently active first) as the whole table."""
        self._sessions = OrderedDict(sessions)
