"""ACL LOG: the commands, keys, channels and logins this node refused.

As Redis 7.0 keeps it: the newest entry first, at most 128 (Redis's
``acllog-max-len``); a refusal like one of the ten newest - same reason,
context, object and user, within 60 s of it - counts there instead of
making an entry (Redis's ``ACLLogMatchEntry``). The log is the node's own,
not replicated: it records what this node's connections were refused - at
the top level or inside MULTI. A script's ``redis.call`` refused (context
``lua`` in Redis) is not recorded: scripts run in the log, on every node,
where no connection is at hand.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ranet.kv.reply import Double, Reply

MAX_ENTRIES = 128
_GROUPING_SECONDS = 60.0
_SCANNED = 10  # entries a new refusal is matched against


@dataclass(slots=True)
class Entry:
    reason: str  # command, key, channel, auth
    context: str  # toplevel, multi
    object: str
    username: bytes
    created: float
    client_info: str
    count: int = 1

    def same_as(self, other: Entry) -> bool:
        return (self.reason, self.context, self.object, self.username) == (
            other.reason,
            other.context,
            other.object,
            other.username,
        ) and abs(self.created - other.created) <= _GROUPING_SECONDS


class AclLog:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._entries: deque[Entry] = deque()
        self._clock = clock

    def add(self, reason: str, context: str, name: str, username: bytes, client_info: str) -> None:
        entry = Entry(reason, context, name, username, self._clock(), client_info)
        for i, old in zip(range(_SCANNED), self._entries, strict=False):
            if old.same_as(entry):
                del self._entries[i]
                old.count, old.created, old.client_info = old.count + 1, entry.created, client_info
                entry = old
                break
        self._entries.appendleft(entry)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.pop()

    def reset(self) -> None:
        self._entries.clear()

    def reply(self, count: int) -> Reply:
        now = self._clock()
        return [
            [
                b"count",
                entry.count,
                b"reason",
                entry.reason.encode(),
                b"context",
                entry.context.encode(),
                b"object",
                entry.object.encode(),
                b"username",
                entry.username,
                b"age-seconds",
                Double(b"%.17g" % (now - entry.created)),
                b"client-info",
                entry.client_info.encode(),
            ]
            for entry in list(self._entries)[:count]
        ]
