"""Jepsen-style tests: five real node processes, concurrent clients over real
TCP, a nemesis killing, pausing and partitioning nodes, and every recorded
history checked for linearizability (tests/jepsen/runner.py has the steps).

The default runs are short, for CI: one scenario per fault kind and a mixed
one. ``@pytest.mark.soak`` runs the same scenarios for RANET_JEPSEN_SECONDS
each (default 300); enable with --soak or RANET_SOAK=1. RANET_JEPSEN_SEED
fixes the random choices of clients and nemesis (the timing of real
processes still varies from run to run).
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest

from ranet.client import AsyncClient
from ranet.testing import History, check
from tests.client.helpers import serving
from tests.jepsen.network import proxied_cluster
from tests.jepsen.runner import Scenario, run, verify
from tests.process.helpers import run as run_bounded

SCENARIOS = {
    "kill": ("kill",),
    "pause": ("pause",),
    "partition": ("partition",),
    "mixed": ("kill", "pause", "partition"),
}
CI_SECONDS = 12.0  # every workload's CI run (docs/jepsen.md); soaks: RANET_JEPSEN_SECONDS


def seed() -> int:
    return int(os.environ.get("RANET_JEPSEN_SEED") or random.randrange(2**32))


@pytest.mark.parametrize("name", ["kill", "pause", "partition"])
def test_history_is_linearizable_under_faults(name: str, tmp_path: Path) -> None:
    verify(run(Scenario(name, SCENARIOS[name], CI_SECONDS, seed()), tmp_path))


@pytest.mark.soak
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_soak_history_is_linearizable_under_faults(name: str, tmp_path: Path) -> None:
    seconds = float(os.environ.get("RANET_JEPSEN_SECONDS", "300"))
    verify(run(Scenario(name, SCENARIOS[name], seconds, seed()), tmp_path))


def test_a_stale_read_from_a_cut_off_follower_fails_the_check(tmp_path: Path) -> None:
    """The negative control: the harness must be able to fail.

    READONLY reads skip ReadIndex, so a follower cut off from the leader by
    the proxies serves what it had; a write completed meanwhile makes that
    read stale, and the recorded history must not be linearizable."""

    async def scenario() -> None:
        async with proxied_cluster(5, tmp_path) as network:
            cluster = network.cluster
            await serving(cluster)
            leader = cluster.leader()
            follower = next(node for node in cluster.nodes if node != leader)
            others = [node for node in cluster.nodes if node != follower]
            history = History()
            async with (
                AsyncClient([cluster.client_address(n) for n in others]) as writer,
                AsyncClient([cluster.client_address(follower)]) as reader,
            ):
                await recorded_put(history, writer, "old")
                await reader.execute("READONLY")
                await wait_for_value(reader, b"old")
                network.partition([follower], others, blackhole=False)
                await recorded_put(history, writer, "new")
                read = history.invoke(1, "get", "k")
                value = await reader.get("k")
                history.ok(read, value.decode() if value else None)
            assert value == b"old"
            assert check(history.operations(), timeout=10).linearizable is False

    run_bounded(scenario())


async def recorded_put(history: History, client: AsyncClient, value: str) -> None:
    handle = history.invoke(0, "put", "k", value)
    await client.set("k", value)
    history.ok(handle)


async def wait_for_value(client: AsyncClient, value: bytes, timeout: float = 10.0) -> None:
    """Poll until ``client`` reads ``value`` at "k" (its node has applied it)."""
    async with asyncio.timeout(timeout):
        while await client.get("k") != value:
            await asyncio.sleep(0.02)
