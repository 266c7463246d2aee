"""Pub/sub: SUBSCRIBE, PSUBSCRIBE, PUBLISH and PUBSUB, over Raft.

PUBLISH is a write: it goes through the log, and every node, as it applies
the entry, hands the message to its own subscribers (``Subscriptions.deliver``,
called from the store through ``KVStore.deliver_published``). So a client
may subscribe on any node and receives every message published on any
node, and subscribers everywhere see the messages in one order, the log's.
PUBLISH answers how many subscribers received it on the node that applied
it for the client (the leader) - Redis Cluster answers for the node too.

Delivery is at most once, as in Redis: a message reaches the clients
subscribed when their node applies it. A node behind the leader delivers
late, in order; one that catches up by snapshot skips what the snapshot
covers. A subscriber that does not read is disconnected once
``OUTPUT_LIMIT`` bytes wait for it (Redis's client-output-buffer-limit for
pub/sub: 32 MB), rather than hold the node's memory.

A subscription belongs to its connection (``Subscriber``): a RESP2
connection with one accepts only the subscription commands, PING and QUIT,
as Redis; RESP3 connections run any command, messages arriving as pushes.
Channels and patterns are this node's only (PUBSUB CHANNELS, NUMSUB, NUMPAT).
"""

from __future__ import annotations

import logging
from typing import Protocol

from ranet.kv.glob import compile_pattern, match_tokens
from ranet.kv.reply import Push, Reply

log = logging.getLogger(__name__)
OUTPUT_LIMIT = 32 << 20
SUBSCRIBED_MODE = frozenset(
    {"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ping", "quit", "reset"}
)
"""What a RESP2 connection with a subscription may send (Redis's list)."""


class Subscriber(Protocol):
    """A connection, as subscriptions see it."""

    id: int
    channels: dict[bytes, None]
    patterns: dict[bytes, None]

    def push(self, message: Push) -> None: ...


class Subscriptions:
    """This node's subscribers, by channel and by pattern."""

    def __init__(self) -> None:
        self._channels: dict[bytes, dict[int, Subscriber]] = {}
        self._patterns: dict[bytes, dict[int, Subscriber]] = {}
        self._compiled: dict[bytes, list[object]] = {}

    def subscribe(self, client: Subscriber, names: list[bytes], *, pattern: bool) -> list[Reply]:
        """SUBSCRIBE / PSUBSCRIBE: one confirmation per name, with the
        connection's count of subscriptions after it."""
        kind, table, own = self._kind(client, pattern)
        replies: list[Reply] = []
        for name in names:
            if name not in own:
                own[name] = None
                table.setdefault(name, {})[client.id] = client
                if pattern and name not in self._compiled:
                    self._compiled[name] = compile_pattern(name)
            replies.append(Push([kind, name, _count(client)]))
        return replies

    def unsubscribe(self, client: Subscriber, names: list[bytes], *, pattern: bool) -> list[Reply]:
        """UNSUBSCRIBE / PUNSUBSCRIBE [name ...]: the names given, or every
        one the connection has; one confirmation each (one with a null name
        if there was none)."""
        _, table, own = self._kind(client, pattern)
        kind = b"punsubscribe" if pattern else b"unsubscribe"
        replies: list[Reply] = []
        for name in names or list(own):
            if name in own:
                del own[name]
                members = table[name]
                del members[client.id]
                if not members:
                    del table[name]
                    self._compiled.pop(name, None)
            replies.append(Push([kind, name, _count(client)]))
        return replies or [Push([kind, None, _count(client)])]

    def drop(self, client: Subscriber) -> None:
        """Forget a connection that closed."""
        self.unsubscribe(client, [], pattern=False)
        self.unsubscribe(client, [], pattern=True)

    def deliver(self, channel: bytes, message: bytes) -> int:
        """Hand a published message to the subscribers of ``channel`` and of
        the patterns it matches; how many received it. Called from the
        store's apply: a subscriber that fails is logged and skipped, never
        a failure of the entry."""
        sent = [
            (client, Push([b"message", channel, message]))
            for client in self._channels.get(channel, {}).values()
        ]
        for pattern, clients in self._patterns.items():
            if match_tokens(self._compiled[pattern], channel):  # type: ignore[arg-type]
                sent += [
                    (c, Push([b"pmessage", pattern, channel, message])) for c in clients.values()
                ]
        received = 0
        for client, push in sent:
            try:
                client.push(push)
            except Exception:
                log.exception("subscriber %s: a message could not be sent; skipped", client.id)
            else:
                received += 1
        return received

    def channels(self, pattern: bytes | None) -> list[bytes]:
        """PUBSUB CHANNELS [pattern]: the channels with a subscriber here."""
        if pattern is None:
            return list(self._channels)
        tokens = compile_pattern(pattern)
        return [channel for channel in self._channels if match_tokens(tokens, channel)]

    def numsub(self, channels: list[bytes]) -> list[Reply]:
        """PUBSUB NUMSUB [channel ...]: each channel and its subscribers here."""
        return [part for c in channels for part in (c, len(self._channels.get(c, {})))]

    def numpat(self) -> int:
        """PUBSUB NUMPAT: the patterns subscribed here."""
        return len(self._patterns)

    def _kind(
        self, client: Subscriber, pattern: bool
    ) -> tuple[bytes, dict[bytes, dict[int, Subscriber]], dict[bytes, None]]:
        if pattern:
            return b"psubscribe", self._patterns, client.patterns
        return b"subscribe", self._channels, client.channels


def _count(client: Subscriber) -> int:
    return len(client.channels) + len(client.patterns)
