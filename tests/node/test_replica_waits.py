"""WAIT's count on the leader (``ranet.node.replica_waits``), over cores
driven by hand: who holds the log up to an index, and the requests that
wait for more members - answered when enough hold it, at their timeout, or
when the node stops leading."""

from __future__ import annotations

import asyncio

from ranet.errors import ShuttingDown
from ranet.node.replica_waits import ReplicaWaits, holding
from tests.core.harness import Cluster


def cluster_with_a_write() -> tuple[Cluster, int]:
    """Node 1 leads three; node 3 is cut off when it writes."""
    cluster = Cluster(3)
    cluster.elect(1)
    cluster.isolate(3)
    index = cluster[1].propose(b"w")
    cluster.deliver()
    return cluster, index


def test_the_leader_counts_the_members_besides_the_one_asking() -> None:
    cluster, index = cluster_with_a_write()
    leader = cluster[1]
    assert holding(leader, index, asker=1) == 1  # follower 2; the leader is the asker
    assert holding(leader, index, asker=2) == 1  # the leader, on its disk; not 3
    assert holding(leader, index, asker=3) == 2
    assert holding(leader, index - 1, asker=1) == 2  # the entry before it: 3 has it


def test_a_request_ends_once_enough_members_hold_its_index() -> None:
    async def scenario() -> None:
        cluster, _ = cluster_with_a_write()
        leader, waits = cluster[1], ReplicaWaits()
        loop = asyncio.get_running_loop()
        at_once = waits.wait(loop, leader, wanted=1, asker=1, timeout=None)
        assert at_once.result() == 1 and not waits.pending
        waiting = waits.wait(loop, leader, wanted=2, asker=1, timeout=None)
        waits.check(leader)
        assert not waiting.done()
        cluster.heal()
        for _ in range(cluster.config.election_ticks):  # heartbeats find 3 behind; it catches up
            cluster.tick(1)
            cluster.deliver()
            waits.check(leader)
        assert waiting.result() == 2 and not waits.pending

    asyncio.run(scenario())


def test_a_request_answers_its_count_at_its_timeout_or_when_leadership_ends() -> None:
    async def scenario() -> None:
        cluster, _ = cluster_with_a_write()
        leader, waits = cluster[1], ReplicaWaits()
        loop = asyncio.get_running_loop()
        timed = waits.wait(loop, leader, wanted=2, asker=1, timeout=0.05)
        assert await asyncio.wait_for(timed, 5) == 1
        now = waits.wait(loop, leader, wanted=2, asker=2, timeout=0)
        assert now.result() == 1
        deposed = waits.wait(loop, leader, wanted=2, asker=1, timeout=None)
        leader.step_down()
        waits.check(leader)
        assert deposed.result() == 1 and not waits.pending

    asyncio.run(scenario())


def test_stopping_fails_the_requests_still_waiting() -> None:
    async def scenario() -> None:
        cluster, _ = cluster_with_a_write()
        waits = ReplicaWaits()
        waiting = waits.wait(asyncio.get_running_loop(), cluster[1], 2, 1, None)
        waits.stop(ShuttingDown("node 1 is shutting down"))
        assert isinstance(waiting.exception(), ShuttingDown) and not waits.pending

    asyncio.run(scenario())
