"""Membership changes in running nodes (thesis §4.1): grow a cluster by a
learner, promote it, remove members (the leader too), over real TCP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ranet.core import ChangeKind
from ranet.errors import ConfigurationError
from ranet.node import AppendLog, Node, NodeConfig
from ranet.node.config import Address
from ranet.node.supervisor import free_ports
from tests.node.test_node_api import FAST, leader_and_follower, run, running, wait_until


def node(data: Path, node_id: int, peers: dict[int, tuple[str, int]], *, join: bool) -> Node:
    config = NodeConfig(
        node_id, peers, data / f"node-{node_id}", tick_seconds=0.02, core=FAST, join=join,
        snapshot_entries=30,
    )  # fmt: skip
    return Node(config, AppendLog())


def three_founders_and_a_fourth(
    data: Path,
) -> tuple[dict[int, Address], dict[int, Address], list[Node], Node]:
    """Addresses of nodes 0-3 and of the founders 0-2; the founders' nodes, and
    node 3, started to join later."""
    ports = free_ports(4)
    addresses = {i: ("127.0.0.1", ports[i]) for i in range(4)}
    founders = {i: addresses[i] for i in range(3)}
    nodes = [node(data, i, founders, join=False) for i in range(3)]
    return addresses, founders, nodes, node(data, 3, addresses, join=True)


def test_grow_from_three_to_four_then_remove_the_leader(tmp_path: Path) -> None:
    async def scenario() -> None:
        addresses, _, nodes, newcomer = three_founders_and_a_fourth(tmp_path)
        async with running([*nodes, newcomer]):
            leader, _ = await leader_and_follower(nodes)
            for i in range(40):  # enough that the newcomer catches up by snapshot
                await leader.propose(b"%d" % i)
            with pytest.raises(ConfigurationError, match="needs its address"):
                await leader.change_membership(ChangeKind.ADD_LEARNER, 3)
            await leader.change_membership(ChangeKind.ADD_LEARNER, 3, addresses[3])
            await wait_until(lambda: len(newcomer.state_machine.items) == 40)
            assert newcomer.core.learners == {3} and not newcomer.core.is_leader
            progress = leader.core.replicator.progress[3]
            await wait_until(lambda: progress.match_index >= leader.core.commit_index)
            await leader.change_membership(ChangeKind.PROMOTE, 3)
            assert all(n.core.voters == {0, 1, 2, 3} for n in [*nodes, newcomer])
            assert (3, f"127.0.0.1:{addresses[3][1]}", "voter") in leader.members()
            old = leader.config.node_id
            await leader.change_membership(ChangeKind.REMOVE, old)  # removes itself
            await wait_until(lambda: not leader.is_leader)
            rest = [n for n in [*nodes, newcomer] if n is not leader]
            await wait_until(lambda: any(n.is_leader for n in rest))
            new_leader = next(n for n in rest if n.is_leader)
            assert await new_leader.propose(b"after") == 41
            assert old not in new_leader.core.voters

    run(scenario())


def test_a_wiped_node_is_removed_re_added_and_catches_up_by_snapshot(tmp_path: Path) -> None:
    """The safe recovery of a node whose disk was lost (docs/storage.md):
    remove it, wipe it, add it back as a learner; it catches up from a
    snapshot, then is promoted."""

    async def scenario() -> None:
        ports = free_ports(3)
        peers = {i: ("127.0.0.1", ports[i]) for i in range(3)}
        nodes = [node(tmp_path, i, peers, join=False) for i in range(3)]
        async with running(nodes):
            leader, victim = await leader_and_follower(nodes)
            victim_id = victim.config.node_id
            for i in range(40):
                await leader.propose(b"%d" % i)
            await leader.change_membership(ChangeKind.REMOVE, victim_id)
            await victim.stop()
            shutil.rmtree(victim.config.data_dir)  # the lost disk
            reborn = node(tmp_path, victim_id, peers, join=True)
            async with running([reborn]):
                for i in range(40, 80):
                    await leader.propose(b"%d" % i)
                await leader.change_membership(ChangeKind.ADD_LEARNER, victim_id, peers[victim_id])
                await wait_until(lambda: len(reborn.state_machine.items) == 80)
                assert reborn.snapshots.installed >= 1  # caught up by snapshot, not replay
                progress = leader.core.replicator.progress[victim_id]
                await wait_until(lambda: progress.match_index >= leader.core.commit_index)
                await leader.change_membership(ChangeKind.PROMOTE, victim_id)
                assert reborn.core.voters == {0, 1, 2}
                assert reborn.state_machine.items == leader.state_machine.items

    run(scenario())


@pytest.mark.parametrize("writes", [5, 70], ids=["in-the-log", "compacted"])
def test_a_joined_members_address_survives_a_restart(tmp_path: Path, writes: int) -> None:
    """A founder restarted with only the founders in its peers still knows
    where node 3, added by a change, is: from the change's entry in its log,
    or - once that is compacted away - from the snapshot, whose meta carries
    the configuration's context (Raft §7)."""

    async def scenario() -> None:
        addresses, founders, nodes, newcomer = three_founders_and_a_fourth(tmp_path)
        async with running([*nodes, newcomer]):
            leader, follower = await leader_and_follower(nodes)
            await leader.propose(b"first")
            await leader.change_membership(ChangeKind.ADD_LEARNER, 3, addresses[3])
            progress = leader.core.replicator.progress[3]
            await wait_until(lambda: progress.match_index >= leader.core.commit_index)
            await leader.change_membership(ChangeKind.PROMOTE, 3)
            for i in range(writes):
                await leader.propose(b"%d" % i)
            compacted = writes > 30  # snapshot_entries
            await wait_until(lambda: follower.applied_index >= leader.core.commit_index)
            await wait_until(lambda: (follower.core.snapshot_meta.last_index > 3) == compacted)
            follower_id = follower.config.node_id
            await follower.stop()
            reborn = node(tmp_path, follower_id, founders, join=False)
            async with running([reborn]):
                assert reborn.addresses[3] == addresses[3]
                assert bool(reborn.core.snapshot_meta.context) == compacted

    run(scenario())
