"""The broadcast workload: pub/sub under faults (kv/pubsub.py).

Publishers (redis-py, each on one node, moving on when it fails) PUBLISH
numbered messages ``publisher:sequence`` one after the other; a subscriber
on every node receives them, reconnecting and resubscribing when its node
fails. Each connection's stream of messages is a *session*.

Delivery is at most once, so a session may miss messages; what must hold
is the order. PUBLISH goes through the log and every node delivers in log
order, so:

- within a session, no message twice, and each publisher's acknowledged
  messages before every later one of its messages (it waits for each
  reply, so an acknowledged message entered the log before the next was
  sent). A message whose outcome is unknown is exempt: it may still be on
  its way - held by a paused node or a partition on its way to the leader -
  and enter the log after messages the publisher sent later elsewhere;
- across sessions, on any node, the messages two sessions both received
  come in the same order - all sessions are windows on one sequence;
- every message received was published (acknowledged or unknown).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field

import redis
import redis.asyncio

from tests.jepsen.clients import never_resending

CHANNEL = "broadcast"
TIMEOUT = 3.0
PUBLISH_EVERY = 0.002


@dataclass
class Broadcast:
    addresses: list[tuple[str, int]]
    outcomes: Counter[str] = field(default_factory=Counter)
    published: set[bytes] = field(default_factory=set)  # acknowledged or unknown
    unknown: set[bytes] = field(default_factory=set)  # a publish whose outcome is unknown
    sessions: list[list[bytes]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event, publishers: int = 3) -> None:
        clients = [self._publish(i, stop) for i in range(publishers)]
        clients += [self._subscribe(node, stop) for node in range(len(self.addresses))]
        await asyncio.gather(*clients)

    def _client(self, node: int) -> redis.asyncio.Redis:
        return never_resending(self.addresses, node, timeout=TIMEOUT, connect_timeout=TIMEOUT)

    async def _publish(self, number: int, stop: asyncio.Event) -> None:
        node, sequence = number, itertools.count()
        while not stop.is_set():
            async with self._client(node) as client:
                while not stop.is_set():
                    message = b"%d:%d" % (number, next(sequence))
                    try:
                        await client.publish(CHANNEL, message)
                    except (redis.RedisError, OSError) as error:
                        # redis-py raises TryAgainError, its text without "TRYAGAIN"
                        refused = isinstance(error, redis.exceptions.TryAgainError)
                        self.outcomes["publish refused" if refused else "publish unknown"] += 1
                        if not refused:
                            self.published.add(message)
                            self.unknown.add(message)
                        node += 1
                        await asyncio.sleep(0.05)
                        break
                    self.outcomes["publish ok"] += 1
                    self.published.add(message)
                    await asyncio.sleep(PUBLISH_EVERY)

    async def _subscribe(self, node: int, stop: asyncio.Event) -> None:
        """One subscriber on ``node``: a new session after each failure."""
        while not stop.is_set():
            session: list[bytes] = []
            self.sessions.append(session)
            try:
                async with self._client(node) as client, client.pubsub() as subscription:
                    await subscription.subscribe(CHANNEL)
                    while not stop.is_set():
                        message = await subscription.get_message(timeout=0.2)
                        if message is not None and message["type"] == "message":
                            session.append(message["data"])
            except (redis.RedisError, OSError):
                self.outcomes["subscriber reconnected"] += 1
                await asyncio.sleep(0.05)
        self.outcomes["received"] = sum(map(len, self.sessions))

    def breaches(self) -> list[str]:
        found = []
        for number, session in enumerate(self.sessions):
            if len(set(session)) != len(session):
                found.append(f"session {number} received a message twice")
            latest: dict[bytes, int] = {}
            for message in session:
                publisher, sequence = message.split(b":")
                if int(sequence) <= latest.get(publisher, -1) and message not in self.unknown:
                    found.append(
                        f"session {number}: {message!r} after a later one of its publisher"
                    )
                latest[publisher] = max(int(sequence), latest.get(publisher, -1))
            if set(session) - self.published:
                found.append(f"session {number} received messages never published")
        for a, b in itertools.combinations(range(len(self.sessions)), 2):
            common = set(self.sessions[a]) & set(self.sessions[b])
            first = [m for m in self.sessions[a] if m in common]
            second = [m for m in self.sessions[b] if m in common]
            if first != second:
                found.append(f"sessions {a} and {b} received common messages in other orders")
        return found
