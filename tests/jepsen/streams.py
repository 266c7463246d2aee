"""The streams workload: producers XADD unique entries, consumers in one group
take them with XREADGROUP ... > and XACK them, under faults
(kv/streams.py, kv/stream_groups.py; the waits in kv/blocking.py).

Jepsen's total-queue test, for a stream and a consumer group. The group is
created (``XGROUP CREATE jobs workers $ MKSTREAM``) before any load.
Producers (redis-py) send ``XADD jobs * producer P seq N`` through a node
picked at random for each call, and record the ID each acknowledged XADD
answered. Consumers, each on one node and moving on when it fails, loop
``XREADGROUP GROUP workers cN COUNT 5 BLOCK 200 STREAMS jobs >`` and XACK
what they receive. No client ever resends a command (``never_resending``):
a call that failed has an unknown outcome and is recorded so - a TRYAGAIN
reply alone says that nothing was done (docs/kv-server.md). When the faults
are over every node reads XRANGE, XPENDING and XINFO GROUPS.

What must hold, whatever the faults - one function each, over the recorded
``History`` and the nodes' ``Final`` reads, returning the breaches found:

1. ``replicas``: every node holds the same entries in the same order, IDs
   strictly increasing, and the same group state (the pending entries with
   their consumers and delivery counts, XINFO GROUPS' fields);
2. ``adds``: every acknowledged XADD is in the stream exactly once, under
   the ID its reply named; no payload appears twice; nothing appears that
   was never sent (a refused XADD counts as never sent); each producer's
   acknowledged adds appear in the order it made them;
3. ``deliveries``: no entry was received twice - by two consumers or by
   one (deliveries via ``>`` are at most once); every received entry is in
   the stream with the same fields;
4. ``pending``: every pending entry was delivered once, to a consumer that
   either received it and whose XACK of it failed or has an unknown outcome,
   or - not received by anyone - made an XREADGROUP whose reply was lost
   (at most COUNT such entries per lost reply); every entry whose XACK
   was acknowledged is not pending, and an acknowledged XACK acknowledged
   every ID it named (each was pending, and acknowledged once only);
   every received entry not acknowledged (XACK refused or never sent) is
   still pending under its consumer;
5. ``position``: the group's last-delivered-id is at least the largest ID
   received; every entry up to it was delivered (received, or pending from
   a lost reply), none after it; entries-read counts the entries up to it,
   and XINFO's pending count is XPENDING's.

Any error reply other than TRYAGAIN, TIMEOUT or SHUTDOWN is a breach too
(``History.errors``); such a call is recorded as unknown.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio

from tests.jepsen.clients import never_resending

STREAM = b"jobs"
GROUP = b"workers"
COUNT = 5  # entries one XREADGROUP asks for
BLOCK_MS = 200  # how long one XREADGROUP waits, so that consumers see the end of the run
TIMEOUT = 3.0  # seconds a client waits for one reply (beyond XREADGROUP's own wait)
ADD_EVERY = 0.002  # seconds between two adds of one producer
PENDING_MAX = 10**9  # XPENDING's count: all of them

Entry = tuple[bytes, dict[bytes, bytes]]  # an ID and its fields, as XRANGE gives them
StreamID = tuple[int, int]


@dataclass
class Add:
    """One XADD; ``id`` is what an acknowledged one answered."""

    producer: int
    sequence: int
    outcome: str = "unknown"  # ok, unknown (it may have been applied), refused (it was not)
    id: bytes | None = None
    start: float = 0.0
    end: float = 0.0

    @property
    def fields(self) -> dict[bytes, bytes]:
        return {b"producer": b"%d" % self.producer, b"seq": b"%d" % self.sequence}


@dataclass
class Read:
    """One XREADGROUP ... >; ``entries`` is what an ``ok`` one received."""

    consumer: bytes
    node: int
    outcome: str = "unknown"
    entries: list[Entry] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0


@dataclass
class Ack:
    """One XACK of ``ids``; ``count`` is what an acknowledged one answered."""

    consumer: bytes
    node: int
    ids: list[bytes]
    outcome: str = "unknown"
    count: int | None = None
    start: float = 0.0
    end: float = 0.0


@dataclass
class History:
    """Every call the clients made, as invoked and completed."""

    adds: list[Add] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # unexpected error replies


@dataclass
class Final:
    """What one node reads once the faults are over."""

    node: int
    entries: list[Entry]  # XRANGE jobs - +
    pending: list[tuple[bytes, bytes, int]]  # XPENDING: ID, consumer, times delivered
    groups: list[dict[str, Any]]  # XINFO GROUPS jobs

    def group(self) -> dict[str, Any] | None:
        return next((group for group in self.groups if group["name"] == GROUP), None)

    def state(self) -> tuple[object, ...]:
        """What every node must agree on (XPENDING's idle times are each node's own)."""
        groups = [tuple(sorted(group.items())) for group in self.groups]
        return (self.entries, self.pending, groups)


# -- the clients ------------------------------------------------------------------


@dataclass
class Streams:
    addresses: list[tuple[str, int]]
    rng: random.Random = field(default_factory=random.Random)
    history: History = field(default_factory=History)
    outcomes: Counter[str] = field(default_factory=Counter)

    async def run(self, stop: asyncio.Event, producers: int = 3, consumers: int = 4) -> None:
        clients = [
            self._produce(i, random.Random(self.rng.random()), stop) for i in range(producers)
        ]
        clients += [self._consume(i, stop) for i in range(consumers)]
        await asyncio.gather(*clients)

    def _client(self, node: int) -> redis.asyncio.Redis:
        return never_resending(
            self.addresses, node, timeout=TIMEOUT + BLOCK_MS / 1000, connect_timeout=TIMEOUT
        )

    async def create_group(self, attempts: int = 20) -> None:
        """XGROUP CREATE jobs workers $ MKSTREAM, before any load; a retry
        that finds the group (the first attempt was applied) is done too."""
        for attempt in range(attempts):
            async with self._client(attempt) as client:
                try:
                    await client.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
                    return
                except redis.ResponseError as error:
                    if str(error).startswith("BUSYGROUP"):
                        return
                except (redis.RedisError, OSError):
                    pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"the group was not created in {attempts} attempts")

    async def _produce(self, number: int, rng: random.Random, stop: asyncio.Event) -> None:
        clients = [self._client(node) for node in range(len(self.addresses))]
        try:
            sequence = 0
            while not stop.is_set():
                add = Add(number, sequence)
                sequence += 1
                self.history.adds.append(add)
                client = clients[rng.randrange(len(clients))]
                add.start = time.monotonic()
                try:
                    add.id = await client.xadd(STREAM, add.fields)  # type: ignore[arg-type]
                    add.outcome = "ok"
                except (redis.RedisError, OSError) as error:
                    add.outcome = self._failed("XADD", error)
                add.end = time.monotonic()
                self.outcomes[f"add {add.outcome}"] += 1
                await asyncio.sleep(ADD_EVERY if add.outcome == "ok" else 0.05)
        finally:
            for client in clients:
                await client.aclose()

    async def _consume(self, number: int, stop: asyncio.Event) -> None:
        node, consumer = number, b"c%d" % number
        while not stop.is_set():
            async with self._client(node) as client:
                while not stop.is_set():
                    read = await self._read(client, consumer, node % len(self.addresses))
                    if read.outcome == "ok" and read.entries:
                        ack = await self._ack(client, read)
                        if ack.outcome != "ok":
                            break
                    elif read.outcome != "ok":
                        break
            node += 1
            await asyncio.sleep(0.05)

    async def _read(self, client: redis.asyncio.Redis, consumer: bytes, node: int) -> Read:
        read = Read(consumer, node)
        self.history.reads.append(read)
        read.start = time.monotonic()
        try:
            reply = await client.xreadgroup(
                GROUP, consumer, {STREAM: ">"}, count=COUNT, block=BLOCK_MS
            )
            read.outcome = "ok"
            for _, entries in reply or []:
                read.entries.extend((entry_id, dict(fields)) for entry_id, fields in entries)
        except (redis.RedisError, OSError) as error:
            read.outcome = self._failed("XREADGROUP", error)
        read.end = time.monotonic()
        outcome = read.outcome if read.outcome != "ok" else "delivered" if read.entries else "empty"
        self.outcomes[f"read {outcome}"] += 1
        self.outcomes["received"] += len(read.entries)
        return read

    async def _ack(self, client: redis.asyncio.Redis, read: Read) -> Ack:
        ack = Ack(read.consumer, read.node, [entry_id for entry_id, _ in read.entries])
        self.history.acks.append(ack)
        ack.start = time.monotonic()
        try:
            ack.count = await client.xack(STREAM, GROUP, *ack.ids)
            ack.outcome = "ok"
        except (redis.RedisError, OSError) as error:
            ack.outcome = self._failed("XACK", error)
        ack.end = time.monotonic()
        self.outcomes[f"ack {ack.outcome}"] += 1
        return ack

    def _failed(self, command: str, error: Exception) -> str:
        """The outcome of a call that raised ``error``: ``refused`` for a
        TRYAGAIN (nothing was done), else ``unknown``; an error reply other
        than TRYAGAIN, TIMEOUT and SHUTDOWN is recorded as a breach."""
        if isinstance(error, redis.exceptions.TryAgainError):  # redis-py drops "TRYAGAIN "
            return "refused"
        if isinstance(error, redis.ResponseError):
            text = str(error)
            if not text.startswith(("TIMEOUT", "SHUTDOWN")):
                self.history.errors.append(f"{command}: {text}")
        return "unknown"

    async def final(self, node: int) -> Final | None:
        """XRANGE, XPENDING and XINFO GROUPS through ``node``, or None if it cannot."""
        async with self._client(node) as client:
            try:
                entries = await client.xrange(STREAM, "-", "+")
                pending = await client.xpending_range(STREAM, GROUP, "-", "+", PENDING_MAX)
                groups = await client.xinfo_groups(STREAM)
            except (redis.RedisError, OSError):
                return None
        return Final(
            node,
            [(entry_id, dict(fields)) for entry_id, fields in entries],
            [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pending],
            [dict(group) for group in groups],
        )

    async def finals(self, nodes: int, seconds: float = 30.0) -> list[Final | None]:
        """Every node's final reads, read again until they all agree or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while True:
            finals = [await self.final(node) for node in range(nodes)]
            agree = None not in finals and len({repr(f.state()) for f in finals if f}) == 1
            if agree or time.monotonic() >= deadline:
                return finals
            await asyncio.sleep(0.5)


# -- the checks: pure functions of the recorded history -------------------------


def _some(items: list[object]) -> str:
    """A breach's examples: the first ten, and how many in all."""
    return f"{items[:10]} ({len(items)} in all)"


def parse_id(text: bytes) -> StreamID:
    ms, _, seq = text.partition(b"-")
    return int(ms), int(seq)


def breaches(history: History, finals: list[Final | None]) -> list[str]:
    """Every check, on what the nodes read (module docstring)."""
    found = [f"unexpected error reply: {error}" for error in history.errors[:10]]
    if len(history.errors) > 10:
        found.append(f"... {len(history.errors)} unexpected error replies in all")
    found += replicas(finals)
    final = next((f for f in finals if f is not None), None)
    if final is None:
        return found
    found += adds(history, final.entries)
    found += deliveries(history, final.entries)
    found += pending(history, final)
    found += position(history, final)
    return found


def replicas(finals: list[Final | None]) -> list[str]:
    """Check 1: the same entries in the same order, IDs strictly increasing,
    and the same group state on every node."""
    found = []
    for number, final in enumerate(finals):
        if final is None:
            found.append(f"node {number} did not answer the final reads")
            continue
        ids = [parse_id(entry_id) for entry_id, _ in final.entries]
        wrong = [(a, b) for a, b in itertools.pairwise(ids) if a >= b]
        if wrong:
            found.append(f"node {final.node}: IDs not strictly increasing at {wrong[:5]}")
        if final.group() is None:
            found.append(f"node {final.node}: no group {GROUP!r} in XINFO GROUPS {final.groups}")
    read = [final for final in finals if final is not None]
    for final in read[1:]:
        first = read[0]
        if final.entries != first.entries:
            found.append(
                f"nodes {first.node} and {final.node} hold different entries: "
                f"{_difference(first.entries, final.entries)}"
            )
        if final.pending != first.pending:
            found.append(
                f"nodes {first.node} and {final.node} have different pending entries: "
                f"{_difference(first.pending, final.pending)}"
            )
        if final.state()[2] != first.state()[2]:
            found.append(
                f"nodes {first.node} and {final.node} show different groups: "
                f"{first.groups} / {final.groups}"
            )
    return found


def adds(history: History, entries: list[Entry]) -> list[str]:
    """Check 2: acknowledged adds kept, once, under their IDs, in each
    producer's order; nothing twice, nothing never sent."""
    found = []
    sent = {(add.producer, add.sequence): add for add in history.adds if add.outcome != "refused"}
    where: dict[tuple[int, int], list[bytes]] = defaultdict(list)  # payload -> IDs holding it
    strange = []
    for entry_id, fields in entries:
        payload = _payload(fields)
        if payload is None or payload not in sent:
            strange.append((entry_id, fields))
        else:
            where[payload].append(entry_id)
    if strange:
        found.append(f"entries never sent (or refused): {_some(strange)}")
    twice = {payload: ids for payload, ids in where.items() if len(ids) > 1}
    if twice:
        found.append(f"payloads in the stream twice: {_first(twice)} ({len(twice)} in all)")
    lost, moved = [], []
    for add in history.adds:
        if add.outcome != "ok":
            continue
        ids = where.get((add.producer, add.sequence), [])
        if not ids:
            lost.append(add)
        elif add.id not in ids:
            moved.append((add, ids))
    if lost:
        found.append(f"acknowledged adds not in the stream: {_some(lost)}")
    if moved:
        found.append(f"acknowledged adds under another ID than their reply named: {_some(moved)}")
    position = {entry_id: number for number, (entry_id, _) in enumerate(entries)}
    by_producer: dict[int, list[Add]] = defaultdict(list)
    for add in history.adds:
        if add.outcome == "ok" and add.id in position:
            by_producer[add.producer].append(add)
    for producer, made in sorted(by_producer.items()):
        made.sort(key=lambda add: add.sequence)
        order = [position[add.id] for add in made]  # type: ignore[index]
        wrong = [
            (a.sequence, b.sequence)
            for a, b, i, j in zip(made, made[1:], order, order[1:], strict=False)
            if i >= j
        ]
        if wrong:
            found.append(
                f"producer {producer}'s acknowledged adds out of order (sequences): {wrong[:10]}"
            )
    return found


def deliveries(history: History, entries: list[Entry]) -> list[str]:
    """Check 3: no entry received twice, and every one received is in the
    stream with the fields it was received with."""
    found = []
    stream = dict(entries)
    receivers = _receivers(history)
    twice = {entry_id: who for entry_id, who in receivers.items() if len(who) > 1}
    if twice:
        found.append(f"entries received more than once: {_first(twice)} ({len(twice)} in all)")
    missing, changed = [], []
    for read in history.reads:
        for entry_id, fields in read.entries if read.outcome == "ok" else []:
            if entry_id not in stream:
                missing.append((read.consumer, entry_id, fields))
            elif stream[entry_id] != fields:
                changed.append((read.consumer, entry_id, fields, stream[entry_id]))
    if missing:
        found.append(f"received entries not in the stream: {_some(missing)}")
    if changed:
        found.append(f"received entries with other fields than the stream's: {_some(changed)}")
    return found


def pending(history: History, final: Final) -> list[str]:
    """Check 4: what is pending is exactly what was delivered and not
    acknowledged, under the consumer it went to (module docstring)."""
    found = []
    receivers = _receivers(history)
    acked: dict[bytes, list[Ack]] = defaultdict(list)  # ID -> the XACKs naming it
    for ack in history.acks:
        for entry_id in ack.ids:
            acked[entry_id].append(ack)
    lost_reads = Counter(read.consumer for read in history.reads if read.outcome == "unknown")
    unseen: Counter[bytes] = Counter()  # consumer -> pending entries nobody received
    pending_ids = {}
    for entry_id, consumer, delivered in final.pending:
        pending_ids[entry_id] = consumer
        if delivered != 1:
            found.append(f"pending {entry_id!r} was delivered {delivered} times")
        who = receivers.get(entry_id, [])
        if not who:
            unseen[consumer] += 1
            continue
        if consumer not in who:
            found.append(f"pending {entry_id!r} under {consumer!r}, but received by {who}")
        if any(ack.outcome == "ok" for ack in acked.get(entry_id, [])):
            found.append(f"pending {entry_id!r} was acknowledged (XACK answered)")
    for consumer, count in sorted(unseen.items()):
        if count > COUNT * lost_reads[consumer]:
            found.append(
                f"{count} entries pending under {consumer!r} that no one received, more than "
                f"{COUNT} per XREADGROUP of {consumer!r} whose reply was lost "
                f"({lost_reads[consumer]})"
            )
    for ack in history.acks:
        if ack.outcome == "ok" and ack.count != len(ack.ids):
            found.append(
                f"XACK by {ack.consumer!r} of {len(ack.ids)} entries answered {ack.count}: "
                f"{ack.ids}"
            )
    forgotten = []
    for entry_id, who in receivers.items():
        if any(ack.outcome in ("ok", "unknown") for ack in acked.get(entry_id, [])):
            continue
        if pending_ids.get(entry_id) not in who:
            forgotten.append((entry_id, who, pending_ids.get(entry_id)))
    if forgotten:
        found.append(
            f"received, never acknowledged, but not pending under its consumer: {_some(forgotten)}"
        )
    return found


def position(history: History, final: Final) -> list[str]:
    """Check 5: the group's last-delivered-id covers every delivery, and
    its counters agree with the entries and the pending list."""
    group = final.group()
    if group is None:
        return []  # replicas() says so
    found = []
    last = parse_id(group["last-delivered-id"])
    received = set(_receivers(history))
    if received and max(map(parse_id, received)) > last:
        found.append(
            f"last-delivered-id {group['last-delivered-id']!r} is below an entry received, "
            f"{max(received, key=parse_id)!r}"
        )
    delivered = received | {entry_id for entry_id, _, _ in final.pending}
    upto = [entry_id for entry_id, _ in final.entries if parse_id(entry_id) <= last]
    skipped = [entry_id for entry_id in upto if entry_id not in delivered]
    if skipped:
        found.append(
            f"entries up to last-delivered-id neither received nor pending: {_some(skipped)}"
        )
    beyond = sorted(entry_id for entry_id in delivered if parse_id(entry_id) > last)
    if beyond:
        found.append(f"entries after last-delivered-id delivered: {beyond[:10]}")
    if group["entries-read"] is not None and group["entries-read"] != len(upto):
        found.append(
            f"entries-read {group['entries-read']}, but {len(upto)} entries up to last-delivered-id"
        )
    if group["pending"] != len(final.pending):
        found.append(f"XINFO GROUPS pending {group['pending']}, XPENDING {len(final.pending)}")
    return found


def _receivers(history: History) -> dict[bytes, list[bytes]]:
    """Entry ID -> the consumers whose acknowledged XREADGROUP received it, once per receipt."""
    receivers: dict[bytes, list[bytes]] = defaultdict(list)
    for read in history.reads:
        if read.outcome == "ok":
            for entry_id, _ in read.entries:
                receivers[entry_id].append(read.consumer)
    return receivers


def _payload(fields: dict[bytes, bytes]) -> tuple[int, int] | None:
    if set(fields) != {b"producer", b"seq"}:
        return None
    try:
        return int(fields[b"producer"]), int(fields[b"seq"])
    except ValueError:
        return None


def _difference(one: list[Any], other: list[Any]) -> str:
    """Where two lists first differ, for a breach's message."""
    at = next(
        (i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b),
        min(len(one), len(other)),
    )
    return (
        f"{len(one)} vs {len(other)} items, first difference at {at}: "
        f"{one[at : at + 2]} / {other[at : at + 2]}"
    )


def _first(items: dict[Any, Any], count: int = 10) -> dict[Any, Any]:
    return dict(list(items.items())[:count])
