"""The simulated network: latency, loss, duplication, partitions.

A message is judged twice: when it is sent (is the link cut? is it lost?)
and when it arrives (was the link cut meanwhile? is the receiver down?).
Latencies are drawn per message, so messages reorder naturally whenever
the latency range is wider than the gap between sends.

Links are directed, so asymmetric partitions ("A hears B, B does not hear
A") are a set of cut ``(src, dst)`` pairs like any other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(slots=True)
class NetworkConfig:
    """Fault rates of the virtual network; times are in virtual time units.

    One tick lasts ``Simulation.TICK`` units (10), so the default latency of
    1-3 units is well below the heartbeat interval, as Raft §5.6 assumes.
    """

    min_latency: int = 1
    max_latency: int = 3
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_spike_rate: float = 0.0
    delay_spike_latency: int = 40


class SimNetwork:
    """Decides the fate of each message: when it arrives, if ever."""

    def __init__(self, config: NetworkConfig, rng: random.Random) -> None:
        self.config = config
        self._rng = rng
        self.cut: set[tuple[int, int]] = set()

    def connected(self, src: int, dst: int) -> bool:
        return (src, dst) not in self.cut

    def arrival_delays(self, src: int, dst: int) -> list[int]:
        """Delays after which copies of a message from ``src`` reach ``dst``.

        Empty when the message is lost; two entries when it is duplicated.
        """
        config = self.config
        rng = self._rng
        if not self.connected(src, dst) or rng.random() < config.drop_rate:
            return []
        copies = 2 if rng.random() < config.duplicate_rate else 1
        delays = []
        for _ in range(copies):
            if rng.random() < config.delay_spike_rate:
                delays.append(rng.randint(config.max_latency, config.delay_spike_latency))
            else:
                delays.append(rng.randint(config.min_latency, config.max_latency))
        return delays

    def partition(self, *groups: set[int] | frozenset[int]) -> None:
        """Cut every link between different groups (both directions)."""
        self.cut.clear()
        for group in groups:
            for other in groups:
                if other is not group:
                    self.cut.update((src, dst) for src in group for dst in other)

    def cut_link(self, src: int, dst: int) -> None:
        """Cut one direction only: ``dst`` stops hearing ``src``."""
        self.cut.add((src, dst))

    def heal(self) -> None:
        self.cut.clear()
