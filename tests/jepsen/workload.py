"""Concurrent clients doing random reads, puts, appends and compare-and-sets on
a few keys, every operation recorded in a ``ranet.testing.History``.

Rule 1 - an operation is invoked just before its request leaves and
completed as soon as its outcome is known:

- ``ok``: the reply came (a get's value, a put's OK, a cas's 1);
- ``fail``: it definitely did not change state: a cas that answered 0 (it
  ran and found a mismatch), a get that no node served, a write that never
  reached a node;
- ``unknown``: a write that reached a node but whose outcome the client
  never learned (``Unavailable(maybe_applied=True)``), or an unexpected
  error reply, which is also reported as a failure of the run.

Rule 2 - a write retried by the client in its session is one operation, one
invocation and one completion: the session applies it at most once
(thesis §6.3), so the history states exactly what the cluster did.

Rule 3 - written values are unique (client and count), so the checker can
tell every write apart; a cas expects the value its client saw last. An
appended token is unique too, so an append applied twice would show in a
later read: the history checks exactly-once, not only linearizability.

Rule 4 - every ``epoch`` seconds the clients move on to fresh keys (``k0.1``
after ``k0.0``): the checker's search grows faster than linearly with the
operations on one key, and a few thousand per key keep it well under a
second, whatever the length of the run. ``keys_used`` lists every key
touched, for the final reads.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ranet.client import AsyncClient, RetryPolicy
from ranet.errors import CommandError, Unavailable
from ranet.testing import History


@dataclass(slots=True, frozen=True)
class WorkloadConfig:
    clients: int = 6
    keys: tuple[str, ...] = ("k0", "k1", "k2")
    epoch: float = 15.0  # seconds; then the clients move on to fresh keys (Rule 4)
    read_share: float = 0.35
    cas_share: float = 0.25
    append_share: float = 0.15  # the rest are puts
    timeout: float = 1.0  # one attempt: a paused node costs this much
    deadline: float = 8.0  # one operation, retries included
    think: float = 0.005  # the most a client waits between operations, seconds


class Workload:
    """Runs ``config.clients`` clients against ``endpoints`` until told to stop."""

    def __init__(
        self, endpoints: Sequence[str], history: History, rng: random.Random, config: WorkloadConfig
    ) -> None:
        self.endpoints = list(endpoints)
        self.history = history
        self.config = config
        self.command_errors: list[str] = []
        """Error replies no operation should get (each is also a failure of the run)."""
        self._seeds = [rng.getrandbits(64) for _ in range(config.clients)]
        self._values = itertools.count(1)
        self._started = 0.0
        self.keys_used: dict[str, None] = {}  # ordered set

    def client(self, endpoints: Sequence[str], seed: int) -> AsyncClient:
        """A client as the workload configures them (also used for the final reads)."""
        retry = RetryPolicy(deadline=self.config.deadline, initial_backoff=0.02, max_backoff=0.5)
        return AsyncClient(
            endpoints, timeout=self.config.timeout, retry=retry, rng=random.Random(seed)
        )

    def keys(self) -> tuple[str, ...]:
        """The keys of the current epoch (Rule 4)."""
        epoch = int((time.monotonic() - self._started) // self.config.epoch)
        keys = tuple(f"{key}.{epoch}" for key in self.config.keys)
        self.keys_used.update(dict.fromkeys(keys))
        return keys

    async def run(self, stop: asyncio.Event) -> None:
        self._started = time.monotonic()
        await asyncio.gather(
            *(self._run_client(index, stop) for index in range(self.config.clients))
        )

    async def _run_client(self, index: int, stop: asyncio.Event) -> None:
        rng = random.Random(self._seeds[index])
        start = index % len(self.endpoints)  # spread the clients over the nodes
        rotated = self.endpoints[start:] + self.endpoints[:start]
        seen: dict[str, str] = {}  # the value this client last saw for each key
        async with self.client(rotated, rng.getrandbits(64)) as client:
            while not stop.is_set():
                await self._operation(client, index, rng.choice(self.keys()), rng, seen)
                await asyncio.sleep(rng.uniform(0, self.config.think))

    async def _operation(
        self,
        client: AsyncClient,
        who: int,
        key: str,
        rng: random.Random,
        seen: dict[str, str],
    ) -> None:
        """One random operation on ``key``, recorded; ``seen`` is updated (Rule 3)."""
        config = self.config
        roll = rng.random()
        if roll < config.read_share:
            _, value = await self.get(client, who, key)
            if value is not None:
                seen[key] = value
            return
        new = f"{who}-{next(self._values)}"
        expected = seen.pop(key, None)  # known again only after a write of ours
        roll -= config.read_share
        if roll < config.cas_share and expected is not None:
            if await self._write(client, who, "cas", key, new, expected):
                seen[key] = new
        elif roll < config.cas_share + config.append_share:
            await self._write(client, who, "append", key, f"|{new}")
        elif await self._write(client, who, "put", key, new):
            seen[key] = new

    async def get(self, client: AsyncClient, who: int, key: str) -> tuple[bool, str | None]:
        """A recorded read: whether a node served it, and the value (``None``: absent)."""
        handle = self.history.invoke(who, "get", key)
        try:
            value = await client.get(key)
        except Unavailable:
            self.history.fail(handle)
            return False, None
        except CommandError as error:
            self._unexpected(handle, key, error)
            return False, None
        text = None if value is None else value.decode()
        self.history.ok(handle, text)
        return True, text

    async def _write(
        self,
        client: AsyncClient,
        who: int,
        op: str,
        key: str,
        value: str,
        expected: str | None = None,
    ) -> bool:
        """A recorded put, append or cas; whether it is known to have changed the value."""
        handle = self.history.invoke(who, op, key, value, expected)
        try:
            if op == "cas":
                assert expected is not None
                changed = await client.cas(key, expected, value)
            else:
                await client.execute("SET" if op == "put" else "APPEND", key, value)
                changed = True
        except Unavailable as error:
            self._write_unavailable(handle, error)
            return False
        except CommandError as error:
            self._unexpected(handle, key, error)
            return False
        (self.history.ok if changed else self.history.fail)(handle)
        return changed

    def _write_unavailable(self, handle: int, error: Unavailable) -> None:
        (self.history.unknown if error.maybe_applied else self.history.fail)(handle)

    def _unexpected(self, handle: int, key: str, error: CommandError) -> None:
        self.history.unknown(handle)
        self.command_errors.append(f"operation {handle} on {key!r}: {error}")
