"""Jepsen's total-queue test against five real nodes: jobs pushed with RPUSH
and taken with BLPOP under kills, pauses and partitions are taken at most
once and never lost (tests/jepsen/queue.py says what is checked). Short runs
by default; ``--soak`` runs each scenario for RANET_JEPSEN_SECONDS (default
300)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from ranet.node.loop import run as run_event_loop
from tests.client.helpers import serving
from tests.jepsen.nemesis import under_faults
from tests.jepsen.network import proxied_cluster
from tests.jepsen.queue import Queue
from tests.jepsen.test_jepsen import CI_SECONDS, SCENARIOS, seed


async def queue_run(
    data_dir: Path, faults: tuple[str, ...], seconds: float, rng: random.Random, *, atomic: bool
) -> tuple[Queue, list[str]]:
    """Push and take under ``faults`` for ``seconds``, heal, and check what
    every node leaves: the workload, and the breaches found."""
    async with proxied_cluster(5, data_dir, node_args=("--quiet",)) as network:
        cluster = network.cluster
        await serving(cluster)
        addresses = [("127.0.0.1", cluster.client_ports[n]) for n in cluster.nodes]
        queue = Queue(addresses, atomic=atomic)
        queue.outcomes.update(await under_faults(network, queue.run, faults, seconds, rng))
        await serving(cluster)
        left = [await queue.left(node) for node in cluster.nodes]
        assert None not in left, f"a node did not answer the final read: {left}"
        breaches = queue.breaches(left[0])  # type: ignore[arg-type]
        if any(other != left[0] for other in left):
            breaches.append("the nodes leave different jobs")
        return queue, breaches


def verify(queue: Queue, breaches: list[str]) -> None:
    print(dict(queue.outcomes))
    assert queue.outcomes["take taken"] > 0 and queue.outcomes["push ok"] > 0, queue.outcomes
    assert not breaches, "\n".join([str(dict(queue.outcomes)), *breaches])


def test_jobs_are_taken_once_and_never_lost_under_faults(tmp_path: Path) -> None:
    rng = random.Random(seed())
    verify(*run_event_loop(queue_run(tmp_path, SCENARIOS["mixed"], CI_SECONDS, rng, atomic=True)))


def test_taking_in_two_steps_takes_jobs_twice(tmp_path: Path) -> None:
    """The negative control: workers that read a job and then remove it
    race, and the check must see a job taken twice."""
    queue, breaches = run_event_loop(
        queue_run(tmp_path, (), 5.0, random.Random(seed()), atomic=False)
    )
    assert any("more than once" in breach for breach in breaches), dict(queue.outcomes)


@pytest.mark.soak
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_soak_jobs_are_taken_once_and_never_lost_under_faults(name: str, tmp_path: Path) -> None:
    seconds = float(os.environ.get("RANET_JEPSEN_SECONDS", "300"))
    verify(
        *run_event_loop(
            queue_run(tmp_path, SCENARIOS[name], seconds, random.Random(seed()), atomic=True)
        )
    )
