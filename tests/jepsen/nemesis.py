"""The nemesis: faults injected into a running cluster on a random schedule.

It alternates a quiet spell (``rest`` seconds) with one fault held for
``hold`` seconds and then repaired. A fault is one of:

- ``kill``: SIGKILL one node, or two (a minority of five), the leader with
  probability one half; restart them from their disks when the hold ends;
- ``pause``: SIGSTOP one or two nodes (the leader with probability one
  half), SIGCONT at the end: the paused nodes then act on stale beliefs;
- ``partition``: cut peer links through the proxies, both ways unless said:
  a random minority from the majority, the leader from everyone, a bridge
  (two pairs that only hear each other through a fifth node), or the
  leader made mute (it hears its followers but cannot reach them); the
  links either refuse connections or silently drop bytes (blackhole).

When several kinds are allowed (the "mixed" scenario), two different
faults are injected together with probability ``overlap``: a partition
while a node is down, a pause while another is killed, and the like.

Invariant: at most one fault of each kind is active at a time, a node is
only ever hit while it runs unpaused, and ``recover`` leaves every node
running, unpaused, and every link healed, whatever was active.
Every fault is logged with its time since the start, for the run's summary
and for the saved report of a failed run.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from tests.jepsen.network import ProxiedCluster

KINDS = ("kill", "pause", "partition")


class Nemesis:
    def __init__(
        self,
        network: ProxiedCluster,
        kinds: Sequence[str],
        rng: random.Random,
        *,
        rest: tuple[float, float] = (0.5, 1.5),
        hold: tuple[float, float] = (1.0, 3.0),
        overlap: float = 1 / 3,
    ) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"fault kinds are {KINDS}, not {sorted(unknown)}")
        self.network = network
        self.cluster = network.cluster
        self.kinds = list(kinds)
        self.rng = rng
        self.rest = rest
        self.hold = hold
        self.overlap = overlap
        self.log: list[str] = []
        self.injected: Counter[str] = Counter()
        self._started = time.monotonic()
        self._killed: set[int] = set()
        self._paused: set[int] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Inject faults until ``stop`` is set; the last one is repaired before returning."""
        while not await _wait(stop, self.rng.uniform(*self.rest)):
            together = 2 if len(self.kinds) > 1 and self.rng.random() < self.overlap else 1
            for kind in self.rng.sample(self.kinds, together):
                self.injected[kind] += 1
                await getattr(self, f"_{kind}")()
            await _wait(stop, self.rng.uniform(*self.hold))
            await self.recover()

    async def recover(self) -> None:
        """Heal every link, resume every paused node, restart every killed one."""
        if self.network.cut_links:
            self.network.heal()
            self._note("heal all links")
        for node_id in sorted(self._paused):
            self.cluster.signal(node_id, signal.SIGCONT)
            self._note(f"resume node {node_id}")
        for node_id in sorted(self._killed):
            await self.cluster.start_node(node_id)
            self._note(f"restart node {node_id}")
        self._paused.clear()
        self._killed.clear()

    # -- faults ------------------------------------------------------------------

    async def _kill(self) -> None:
        leader = self.cluster.leader()
        for node_id in self._victims(leader):
            await self.cluster.kill(node_id)
            self._killed.add(node_id)
            self._note(f"kill {_node(node_id, leader)}")

    async def _pause(self) -> None:
        leader = self.cluster.leader()
        for node_id in self._victims(leader):
            self.cluster.signal(node_id, signal.SIGSTOP)
            self._paused.add(node_id)
            self._note(f"pause {_node(node_id, leader)}")

    async def _partition(self) -> None:
        nodes = list(self.cluster.nodes)
        self.rng.shuffle(nodes)
        leader = self.cluster.leader()
        blackhole = self.rng.random() < 0.5
        how = "blackhole" if blackhole else "refuse"
        shape = self.rng.choice(["halves", "isolate-leader", "bridge", "mute-leader"])
        if shape in ("isolate-leader", "mute-leader") and leader is None:
            shape = "halves"
        if shape == "halves":
            minority, majority = sorted(nodes[: len(nodes) // 2]), sorted(nodes[len(nodes) // 2 :])
            self.network.partition(minority, majority, blackhole=blackhole)
            self._note(f"partition {minority} | {majority} ({how})")
        elif shape == "isolate-leader":
            others = sorted(set(nodes) - {leader})
            self.network.partition([leader], others, blackhole=blackhole)
            self._note(f"isolate leader {leader} from {others} ({how})")
        elif shape == "bridge":
            bridge, left, right = nodes[0], sorted(nodes[1:3]), sorted(nodes[3:])
            self.network.partition(left, right, blackhole=blackhole)
            self._note(f"bridge: {left} | {right}, node {bridge} hears both ({how})")
        else:
            assert leader is not None
            self.network.cut(
                ((leader, peer) for peer in nodes if peer != leader), blackhole=blackhole
            )
            self._note(f"mute leader {leader}: it hears its peers, cannot reach them ({how})")

    # -- helpers -------------------------------------------------------------------

    def _victims(self, leader: int | None) -> list[int]:
        """One or two running, unpaused nodes, the leader among them with probability
        one half (``leader`` is ``None`` or such a node)."""
        running = [
            node_id
            for node_id, node in self.cluster.nodes.items()
            if node.alive and node_id not in self._paused
        ]
        others = [node_id for node_id in running if node_id != leader]
        victims = self.rng.sample(others, min(len(others), self.rng.choice([1, 1, 2])))
        if leader is not None and (not victims or self.rng.random() < 0.5):
            victims[:1] = [leader]
        return sorted(victims)

    def _note(self, text: str) -> None:
        self.log.append(f"{time.monotonic() - self._started:7.2f}s  {text}")


async def under_faults(
    network: ProxiedCluster,
    work: Callable[[asyncio.Event], Awaitable[None]],
    faults: Sequence[str],
    seconds: float,
    rng: random.Random,
    log: list[str] | None = None,
) -> Counter[str]:
    """Run a workload, ``work(stop)``, for ``seconds`` while a nemesis
    injects ``faults`` (none: no nemesis); then stop both - the workload's
    clients get 60 s to end - and heal everything. The faults injected,
    counted as ``fault KIND``; a workload's error is raised. ``log``, if
    given, receives the nemesis's timed log of faults and repairs."""
    stop = asyncio.Event()
    nemesis = Nemesis(network, faults, rng) if faults else None
    tasks = [asyncio.create_task(work(stop))]
    if nemesis is not None:
        tasks.append(asyncio.create_task(nemesis.run(stop)))
    try:
        done, _ = await asyncio.wait(tasks, timeout=seconds)
        for task in done:
            task.result()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
    if nemesis is None:
        return Counter()
    await nemesis.recover()
    if log is not None:
        log.extend(nemesis.log)
    return Counter({f"fault {kind}": n for kind, n in nemesis.injected.items()})


def _node(node_id: int, leader: int | None) -> str:
    return f"node {node_id} (the leader)" if node_id == leader else f"node {node_id}"


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop`` is set; whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
