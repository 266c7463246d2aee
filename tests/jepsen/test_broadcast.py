"""Pub/sub under kills, pauses and partitions on five real nodes: every
subscriber, on every node and through every reconnection, sees messages in
one order - the log's - each at most once (tests/jepsen/broadcast.py says
what is checked). Short runs by default; ``--soak`` runs each scenario for
RANET_JEPSEN_SECONDS (default 300)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from ranet.node.loop import run as run_event_loop
from tests.client.helpers import serving
from tests.jepsen.broadcast import Broadcast
from tests.jepsen.nemesis import under_faults
from tests.jepsen.network import proxied_cluster
from tests.jepsen.test_jepsen import CI_SECONDS, SCENARIOS, seed


async def broadcast_run(
    data_dir: Path, faults: tuple[str, ...], seconds: float, rng: random.Random
) -> Broadcast:
    async with proxied_cluster(5, data_dir, node_args=("--quiet",)) as network:
        cluster = network.cluster
        await serving(cluster)
        addresses = [("127.0.0.1", cluster.client_ports[n]) for n in cluster.nodes]
        broadcast = Broadcast(addresses)
        broadcast.outcomes.update(await under_faults(network, broadcast.run, faults, seconds, rng))
        return broadcast


def verify(broadcast: Broadcast) -> None:
    print(dict(broadcast.outcomes), len(broadcast.sessions), "sessions")
    assert broadcast.outcomes["publish ok"] > 0 and broadcast.outcomes["received"] > 0
    breaches = broadcast.breaches()
    assert not breaches, "\n".join([str(dict(broadcast.outcomes)), *breaches[:20]])


def test_every_subscriber_sees_one_order_under_faults(tmp_path: Path) -> None:
    rng = random.Random(seed())
    verify(run_event_loop(broadcast_run(tmp_path, SCENARIOS["mixed"], CI_SECONDS, rng)))


def test_the_check_sees_messages_out_of_order() -> None:
    """The negative control, on a recorded run: two sessions that received
    two messages in other orders, a publisher's messages reversed, and a
    message twice must each be caught."""
    broadcast = Broadcast([])
    broadcast.published = {b"0:0", b"0:1", b"1:0"}
    broadcast.sessions = [[b"0:0", b"1:0"], [b"1:0", b"0:0"], [b"0:1", b"0:0"], [b"1:0", b"1:0"]]
    breaches = "\n".join(broadcast.breaches())
    assert "in other orders" in breaches
    assert "session 2: b'0:0' after a later one of its publisher" in breaches
    assert "a message twice" in breaches


def test_a_message_of_unknown_outcome_may_arrive_after_later_ones() -> None:
    """A publish that timed out may enter the log after its publisher's later
    messages (it was held on its way to the leader), so it is no breach; an
    acknowledged one arriving late still is - also after a late unknown one
    has raised the publisher's high mark."""
    broadcast = Broadcast([])
    broadcast.published = {b"0:0", b"0:1", b"0:2", b"0:3"}
    broadcast.unknown = {b"0:1"}
    broadcast.sessions = [[b"0:0", b"0:2", b"0:1", b"0:3"]]
    assert broadcast.breaches() == []
    broadcast.sessions = [[b"0:0", b"0:3", b"0:1", b"0:2"]]
    assert broadcast.breaches() == ["session 0: b'0:2' after a later one of its publisher"]


@pytest.mark.soak
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_soak_every_subscriber_sees_one_order_under_faults(name: str, tmp_path: Path) -> None:
    seconds = float(os.environ.get("RANET_JEPSEN_SECONDS", "300"))
    verify(run_event_loop(broadcast_run(tmp_path, SCENARIOS[name], seconds, random.Random(seed()))))
