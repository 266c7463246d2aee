"""The queue workload: producers push unique jobs, workers take them with
BLPOP (kv/blocking.py), under faults.

Jepsen's total-queue check. Producers (redis-py, each on one node, moving
on when it fails) RPUSH jobs named once each; workers wait with a short
BLPOP on their node and record what they take. When the faults are over,
every node reads what is left.

What must hold, whatever the faults:

- no job is taken twice, and none is both taken and left;
- every job taken or left was pushed (acknowledged, or with an unknown
  outcome: a push that timed out may still have been applied);
- every acknowledged push was taken or is left - except at most one job
  per take whose outcome is unknown (a BLPOP whose reply was lost may
  have taken a job that nobody saw);
- every node leaves the same jobs, in the same order.

``atomic=False`` takes jobs with LINDEX then LREM instead: the negative
control, in which two workers take the same job and the check must see it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import redis
import redis.asyncio

from tests.jepsen.clients import never_resending

QUEUE = "jobs"
TIMEOUT = 3.0  # seconds a client waits for one reply (beyond BLPOP's own wait)
WAIT = 0.3  # seconds a BLPOP waits, so that workers see the end of the run
PUSH_EVERY = 0.002  # seconds between two pushes of one producer


@dataclass
class Queue:
    addresses: list[tuple[str, int]]
    atomic: bool = True
    outcomes: Counter[str] = field(default_factory=Counter)
    acknowledged: set[bytes] = field(default_factory=set)
    maybe_pushed: set[bytes] = field(default_factory=set)
    taken: list[bytes] = field(default_factory=list)

    async def run(self, stop: asyncio.Event, producers: int = 3, workers: int = 4) -> None:
        clients = [self._produce(i, stop) for i in range(producers)]
        clients += [self._work(producers + i, stop) for i in range(workers)]
        await asyncio.gather(*clients)

    def _client(self, node: int) -> redis.asyncio.Redis:
        return never_resending(
            self.addresses, node, timeout=TIMEOUT + WAIT, connect_timeout=TIMEOUT
        )

    async def _produce(self, number: int, stop: asyncio.Event) -> None:
        node, sequence = number, 0
        while not stop.is_set():
            async with self._client(node) as client:
                while not stop.is_set():
                    job = b"p%d-%d" % (number, sequence)
                    sequence += 1
                    outcome = await _call(client.rpush(QUEUE, job))
                    self.outcomes[f"push {outcome}"] += 1
                    if outcome == "ok":
                        self.acknowledged.add(job)
                    elif outcome == "unknown":
                        self.maybe_pushed.add(job)
                    if outcome != "ok":
                        node += 1
                        await asyncio.sleep(0.05)
                        break
                    await asyncio.sleep(PUSH_EVERY)

    async def _work(self, number: int, stop: asyncio.Event) -> None:
        node = number
        while not stop.is_set():
            async with self._client(node) as client:
                while not stop.is_set():
                    result: list[object] = []
                    outcome = await _call(self._take(client, result))
                    if outcome == "ok":
                        outcome = "taken" if result[0] is not None else "empty"
                        if result[0] is not None:
                            self.taken.append(result[0])  # type: ignore[arg-type]
                    self.outcomes[f"take {outcome}"] += 1
                    if outcome in ("unknown", "refused"):
                        node += 1
                        await asyncio.sleep(0.05)
                        break

    async def _take(self, client: redis.asyncio.Redis, result: list[object]) -> None:
        if self.atomic:
            reply = await client.blpop([QUEUE], timeout=WAIT)
            result.append(None if reply is None else reply[1])
            return
        job = await client.lindex(QUEUE, 0)  # not atomic: another worker may take it too
        if job is not None:
            await asyncio.sleep(0.002)
            await client.lrem(QUEUE, 1, job)
        else:
            await asyncio.sleep(WAIT / 10)
        result.append(job)

    async def left(self, node: int) -> list[bytes] | None:
        """The jobs ``node`` reads as left, or None if it cannot."""
        async with self._client(node) as client:
            try:
                return await client.lrange(QUEUE, 0, -1)  # type: ignore[no-any-return]
            except (redis.RedisError, OSError):
                return None

    def breaches(self, left: list[bytes]) -> list[str]:
        """What the run broke, given the jobs left (module docstring)."""
        found = []
        taken = Counter(self.taken)
        twice = sorted(job for job, count in taken.items() if count > 1)
        if twice:
            found.append(f"taken more than once: {twice[:10]} ({len(twice)} jobs)")
        if len(set(left)) != len(left):
            found.append("a job is left twice")
        both = sorted(set(left) & set(taken))
        if both:
            found.append(f"taken and left: {both[:10]}")
        pushed = self.acknowledged | self.maybe_pushed
        unknown = sorted((set(taken) | set(left)) - pushed)
        if unknown:
            found.append(f"taken or left but never pushed: {unknown[:10]}")
        lost = self.acknowledged - set(taken) - set(left)
        if len(lost) > self.outcomes["take unknown"]:
            found.append(
                f"{len(lost)} acknowledged jobs neither taken nor left, more than the "
                f"{self.outcomes['take unknown']} takes of unknown outcome: {sorted(lost)[:10]}"
            )
        return found


async def _call(step: object) -> str:
    """Run a client call: ``ok``, ``unknown`` (it may have been applied) or
    ``refused`` (a node said it was not)."""
    try:
        await step  # type: ignore[misc]
        return "ok"
    except (redis.TimeoutError, redis.ConnectionError, OSError):
        return "unknown"
    except redis.ResponseError as error:  # TRYAGAIN, TIMEOUT, SHUTDOWN from a node
        return "unknown" if str(error).startswith(("TIMEOUT", "SHUTDOWN")) else "refused"
