"""Pub/sub: SUBSCRIBE, PSUBSCRIBE, PUBLISH and PUBSUB, over Raft; and
sharded pub/sub, SSUBSCRIBE and SPUBLISH, as a Redis that is not a cluster
has it - shard channels, a namespace of their own.

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
Kind = str
CHANNEL, PATTERN, SHARD = "channel", "pattern", "shard"
_CONFIRMATIONS = {
    CHANNEL: (b"subscribe", b"unsubscribe"),
    PATTERN: (b"psubscribe", b"punsubscribe"),
    SHARD: (b"ssubscribe", b"sunsubscribe"),
}
OUTPUT_LIMIT = 32 << 20
SUBSCRIBED_MODE = frozenset(
    {"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe",
     "ping", "quit", "reset"}
)  # fmt: skip
"""What a RESP2 connection with a subscription may send (Redis's list)."""


class Subscriber(Protocol):
    """A connection, as subscriptions see it."""

    id: int
    channels: dict[bytes, None]
    patterns: dict[bytes, None]
    shard_channels: dict[bytes, None]

    def push(self, message: Push) -> None: ...


class Subscriptions:
    """This node's subscribers, by channel and by pattern."""

    def __init__(self) -> None:
        self._channels: dict[bytes, dict[int, Subscriber]] = {}
        self._patterns: dict[bytes, dict[int, Subscriber]] = {}
        self._shard_channels: dict[bytes, dict[int, Subscriber]] = {}
        self._compiled: dict[bytes, list[object]] = {}

    def subscribe(self, client: Subscriber, names: list[bytes], kind: Kind) -> list[Reply]:
        """SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name,
        with the connection's count of subscriptions after it (of shard
        channels, for SSUBSCRIBE, as Redis counts)."""
        table, own = self._tables(client, kind)
        replies: list[Reply] = []
        for name in names:
            if name not in own:
                own[name] = None
                table.setdefault(name, {})[client.id] = client
                if kind == PATTERN and name not in self._compiled:
                    self._compiled[name] = compile_pattern(name)
            replies.append(Push([_CONFIRMATIONS[kind][0], name, _count(client, kind)]))
        return replies

    def unsubscribe(self, client: Subscriber, names: list[bytes], kind: Kind) -> list[Reply]:
        """UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE [name ...]: the names
        given, or every one of that kind the connection has; one
        confirmation each (one with a null name if there was none)."""
        table, own = self._tables(client, kind)
        confirmation = _CONFIRMATIONS[kind][1]
        replies: list[Reply] = []
        for name in names or list(own):
            if name in own:
                del own[name]
                members = table[name]
                del members[client.id]
                if not members:
                    del table[name]
                    self._compiled.pop(name, None)
            replies.append(Push([confirmation, name, _count(client, kind)]))
        return replies or [Push([confirmation, None, _count(client, kind)])]

    def drop(self, client: Subscriber) -> None:
        """Forget a connection that closed."""
        for kind in (CHANNEL, PATTERN, SHARD):
            self.unsubscribe(client, [], kind)

    def deliver(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        """Hand a published message to the subscribers of ``channel`` and of
        the patterns it matches - or, for SPUBLISH (``shard``), of the shard
        channel; how many received it. Called from the store's apply: a
        subscriber that fails is logged and skipped, never a failure of the
        entry."""
        if shard:
            sent = [
                (client, Push([b"smessage", channel, message]))
                for client in self._shard_channels.get(channel, {}).values()
            ]
            return _send(sent)
        sent = [
            (client, Push([b"message", channel, message]))
            for client in self._channels.get(channel, {}).values()
        ]
        for pattern, clients in self._patterns.items():
            if match_tokens(self._compiled[pattern], channel):  # type: ignore[arg-type]
                sent += [
                    (c, Push([b"pmessage", pattern, channel, message])) for c in clients.values()
                ]
        return _send(sent)

    def channels(self, pattern: bytes | None, shard: bool = False) -> list[bytes]:
        """PUBSUB CHANNELS / SHARDCHANNELS [pattern]: the channels (shard
        channels) with a subscriber here."""
        table = self._shard_channels if shard else self._channels
        if pattern is None:
            return list(table)
        tokens = compile_pattern(pattern)
        return [channel for channel in table if match_tokens(tokens, channel)]

    def numsub(self, channels: list[bytes], shard: bool = False) -> list[Reply]:
        """PUBSUB NUMSUB / SHARDNUMSUB [channel ...]: each channel and its
        subscribers here."""
        table = self._shard_channels if shard else self._channels
        return [part for c in channels for part in (c, len(table.get(c, {})))]

    def numpat(self) -> int:
        """PUBSUB NUMPAT: the patterns subscribed here."""
        return len(self._patterns)

    def _tables(
        self, client: Subscriber, kind: Kind
    ) -> tuple[dict[bytes, dict[int, Subscriber]], dict[bytes, None]]:
        """This node's table of subscribers of that kind, and the client's names."""
        if kind == PATTERN:
            return self._patterns, client.patterns
        if kind == SHARD:
            return self._shard_channels, client.shard_channels
        return self._channels, client.channels


def _count(client: Subscriber, kind: Kind) -> int:
    """The count a confirmation carries: Redis 7.0 counts channels and
    patterns together, shard channels apart."""
    if kind == SHARD:
        return len(client.shard_channels)
    return len(client.channels) + len(client.patterns)


def _send(sent: list[tuple[Subscriber, Push]]) -> int:
    """Push each message to its subscriber; how many went out."""
    received = 0
    for client, push in sent:
        try:
            client.push(push)
        except Exception:
            log.exception("subscriber %s: a message could not be sent; skipped", client.id)
        else:
            received += 1
    return received
