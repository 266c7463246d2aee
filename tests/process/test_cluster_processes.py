"""Real processes, real TCP on 127.0.0.1, real disks: the seed's demo, tested.

Each test starts its own cluster on ephemeral ports in a temp dir and stops
every process at the end (helpers.local_cluster). Waits are bounded.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.process.helpers import (
    ELECTION_WAIT,
    append,
    dump,
    elect,
    local_cluster,
    run,
    wait_applied,
)


@pytest.mark.parametrize("size", [3, 5])
def test_cluster_elects_exactly_one_leader(size: int, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(size, tmp_path) as cluster:
            leader = await elect(cluster)
            leaders = [n for n in cluster.nodes.values() if n.is_leader]
            assert [n.node_id for n in leaders] == [leader]

    run(scenario())


def test_entries_from_leader_and_follower_apply_everywhere_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower = next(n for n in cluster.nodes if n != leader)
            await append(cluster, leader, "from-leader")
            await append(cluster, follower, "from-follower")  # forwarded to the leader
            await wait_applied(cluster, [0, 1, 2], ["from-leader", "from-follower"])

    run(scenario())


def test_killed_leader_is_replaced_and_rejoins_from_its_own_disk(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            old_leader = await elect(cluster)
            await append(cluster, old_leader, "before")
            await wait_applied(cluster, [0, 1, 2], ["before"])
            await cluster.kill(old_leader)
            assert await cluster.wait_for(
                lambda: cluster.leader() not in (None, old_leader), ELECTION_WAIT
            ), dump(cluster)
            new_leader = cluster.leader()
            assert new_leader is not None
            await append(cluster, new_leader, "after")
            survivors = [n for n in cluster.nodes if n != old_leader]
            await wait_applied(cluster, survivors, ["before", "after"])
            await cluster.restart(old_leader)
            await wait_applied(cluster, [old_leader], ["before", "after"])

    run(scenario())


def test_restarted_node_replays_its_log_from_disk_with_peers_down(tmp_path: Path) -> None:
    """The log survived on disk: a node restarted alone re-applies what it had
    committed, with no peer to send it anything."""

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            for text in ("one", "two", "three"):
                await append(cluster, leader, text)
            await wait_applied(cluster, [0, 1, 2], ["one", "two", "three"])
            witness = next(n for n in cluster.nodes if n != leader)
            # The witness acknowledges "four" only after a sync that covers the
            # commit index it learned with it (that of "three").
            await append(cluster, leader, "four")
            await wait_applied(cluster, [witness], ["one", "two", "three", "four"])
            for node_id in cluster.nodes:
                await cluster.kill(node_id)
            cluster.nodes[witness].lines.clear()
            await cluster.start_node(witness)
            await wait_applied(cluster, [witness], ["one", "two", "three"])
            assert cluster.leader() is None  # alone, it cannot have been told anything

    run(scenario())


def test_whole_cluster_restart_keeps_every_committed_entry(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            for text in ("a", "b"):
                await append(cluster, leader, text)
            await wait_applied(cluster, [0, 1, 2], ["a", "b"])
            await cluster.stop()
            for node in cluster.nodes.values():
                node.lines.clear()
            await cluster.start()
            leader = await elect(cluster)
            await append(cluster, leader, "c")
            await wait_applied(cluster, [0, 1, 2], ["a", "b", "c"])

    run(scenario())


def test_paused_leader_is_replaced_then_follows_after_resume(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            old_leader = await elect(cluster)
            old_term = cluster.nodes[old_leader].term
            cluster.signal(old_leader, signal.SIGSTOP)
            assert await cluster.wait_for(
                lambda: cluster.leader() not in (None, old_leader), ELECTION_WAIT
            ), dump(cluster)
            new_leader = cluster.leader()
            assert new_leader is not None and cluster.nodes[new_leader].term > old_term
            await append(cluster, new_leader, "while-paused")
            cluster.signal(old_leader, signal.SIGCONT)
            await wait_applied(cluster, [0, 1, 2], ["while-paused"])
            assert await cluster.wait_for(
                lambda: not cluster.nodes[old_leader].is_leader, ELECTION_WAIT
            ), dump(cluster)

    run(scenario())
