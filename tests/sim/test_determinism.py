"""One seed, one run: the simulator is a pure function of its seed.

FoundationDB-style deterministic simulation (STYLE.md): every source of
nondeterminism - timing, loss, duplication, reordering, crashes, each core's
election jitter (Raft §5.2's randomized timeouts) - is drawn from the seed,
so a failing seed replays exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from ranet.core import Entry, Message
from ranet.sim import NetworkConfig
from ranet.sim.nemesis import run_campaign
from tests.sim.helpers import ObservedSimulation

UNRELIABLE = NetworkConfig(max_latency=8, drop_rate=0.1, duplicate_rate=0.1, delay_spike_rate=0.05)


@dataclass
class Run:
    timeline: list[str]
    trace: list[str]
    messages: list[tuple[int, Message]]
    logs: dict[int, list[Entry]]
    committed: list[bytes]


def faulty_run(seed: int) -> Run:
    """200 ticks of proposals, crashes, restarts and partitions, all seeded."""
    timeline: list[str] = []
    sim = ObservedSimulation(5, seed, network=UNRELIABLE, on_event=timeline.append)
    script = random.Random(seed)
    members = sorted(sim.nodes)
    for step in range(200):
        sim.run_for(1)
        sim.propose(f"{step}".encode())
        roll = script.random()
        if roll < 0.03:
            sim.crash(script.choice(members))
        elif roll < 0.06:
            sim.restart(script.choice(members))
        elif roll < 0.08:
            sim.partition(members[:2], members[2:])
        elif roll < 0.10:
            sim.heal()
    return Run(
        timeline,
        list(sim.trace),
        sim.sent,
        {n: list(node.core.log.entries) for n, node in sim.nodes.items()},
        sim.committed_values(),
    )


@pytest.mark.parametrize("seed", [3, 11])
def test_the_same_seed_replays_the_same_events_messages_and_logs(seed: int) -> None:
    """A failing seed must replay exactly: same timeline, same detailed trace,
    the same messages at the same virtual times, the same final logs."""
    first, second = faulty_run(seed), faulty_run(seed)

    assert first.timeline == second.timeline
    assert first.trace == second.trace
    assert first.messages == second.messages
    assert first.logs == second.logs
    assert first.committed == second.committed
    assert len(first.committed) > 0 and len(first.timeline) > 10  # it did something


def test_different_seeds_take_different_paths() -> None:
    """The seed really drives the run: two seeds differ in events and logs."""
    first, second = faulty_run(3), faulty_run(4)

    assert first.timeline != second.timeline
    assert first.messages != second.messages
    assert first.logs != second.logs


def test_a_fault_campaign_is_a_pure_function_of_its_seed() -> None:
    """The nemesis draws its faults from the simulation's seed too."""
    first_lines: list[str] = []
    second_lines: list[str] = []
    other_lines: list[str] = []

    first = run_campaign(5, steps=100, on_event=first_lines.append)
    second = run_campaign(5, steps=100, on_event=second_lines.append)
    other = run_campaign(6, steps=100, on_event=other_lines.append)

    assert first == second
    assert first_lines == second_lines
    assert other != first
    assert other_lines != first_lines
