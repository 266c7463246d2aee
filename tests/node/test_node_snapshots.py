"""Snapshots in running nodes (Raft §7): taken periodically, streamed in
chunks to a lagging follower, installed, and recovered from on restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ranet.node import AppendLog, Node, NodeConfig
from ranet.node.snapshots import SnapshotChunk, SnapshotChunkAck
from tests.node.test_node_api import (
    FAST,
    leader_and_follower,
    local_peers,
    run,
    running,
    wait_until,
)


def snapshotting_nodes(data: Path, peers: dict[int, tuple[str, int]]) -> list[Node]:
    def config(node_id: int) -> NodeConfig:
        return NodeConfig(
            node_id, peers, data / f"node-{node_id}", tick_seconds=0.02, core=FAST,
            snapshot_entries=20, snapshot_chunk_bytes=64,
        )  # fmt: skip

    return [Node(config(node_id), AppendLog()) for node_id in peers]


async def write(leader: Node, count: int, tag: str) -> None:
    """``count`` commands, one at a time: one log entry each (concurrent proposals
    would share entries, and these tests count entries)."""
    for i in range(count):
        await leader.propose(f"{tag}-{i}".encode())


def test_snapshots_bound_the_log_of_every_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(snapshotting_nodes(tmp_path, local_peers())) as nodes:
            leader, _ = await leader_and_follower(nodes)
            for round_ in range(10):
                await write(leader, 20, f"r{round_}")
            await wait_until(lambda: all(n.snapshots.taken >= 2 for n in nodes))
            for node in nodes:
                stored = node.storage.load_snapshot()
                assert stored is not None and stored[0].last_index >= 100
                assert node.core.log.first_index > 100  # the in-memory log was compacted
                assert len(node.storage.load().entries) < 100  # and so was the disk's

    run(scenario())


def test_a_lagging_follower_catches_up_by_a_chunked_snapshot(tmp_path: Path) -> None:
    async def scenario() -> None:
        peers = local_peers()
        nodes = snapshotting_nodes(tmp_path, peers)
        async with running(nodes):
            leader, follower = await leader_and_follower(nodes)
            await follower.stop()
            # More entries than the leader keeps sending to a silent follower
            # (max_inflight): the appends queued for it while it was down
            # cannot bring it up to date, only a snapshot can.
            rounds = leader.config.core.max_inflight // 20 + 4
            for round_ in range(rounds):
                await write(leader, 20, f"r{round_}")
            reborn = snapshotting_nodes(tmp_path, peers)[follower.config.node_id]
            async with running([reborn]):
                await wait_until(lambda: reborn.snapshots.installed >= 1)
                await reborn.read_barrier()
                assert reborn.state_machine.items == leader.state_machine.items
                assert len(reborn.state_machine.items) == 20 * rounds

    run(scenario())


def test_restart_from_snapshot_plus_log(tmp_path: Path) -> None:
    async def scenario() -> None:
        peers = local_peers()
        async with running(snapshotting_nodes(tmp_path, peers)) as nodes:
            leader, _ = await leader_and_follower(nodes)
            await write(leader, 50, "x")
            await wait_until(lambda: all(n.snapshots.taken >= 1 for n in nodes))
            expected = list(leader.state_machine.items)
        async with running(snapshotting_nodes(tmp_path, peers)) as nodes:
            leader, follower = await leader_and_follower(nodes)
            assert follower.core.log.offset > 0  # restarted from a snapshot
            await follower.read_barrier()
            assert follower.state_machine.items == expected

    run(scenario())


def test_out_of_order_or_oversized_chunks_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(snapshotting_nodes(tmp_path, local_peers())) as nodes:
            leader, follower = await leader_and_follower(nodes)
            sent: list[object] = []
            follower.send = sent.append  # type: ignore[method-assign]
            base = dict(src=leader.config.node_id, dst=follower.config.node_id, term=1,
                        transfer_id=7, last_index=99, last_term=1, voters=(0, 1, 2),
                        learners=(), context=b"", done=False)  # fmt: skip
            follower.snapshots.on_chunk(SnapshotChunk(**base, offset=64, total=200, data=b"x"))
            too_big = follower.config.max_snapshot_bytes + 1
            follower.snapshots.on_chunk(SnapshotChunk(**base, offset=0, total=too_big, data=b"x"))
            assert [a.ok for a in sent if isinstance(a, SnapshotChunkAck)] == [False, False]
            assert follower.core.log.offset == 0  # nothing was installed
            assert await leader.propose(b"still fine") == 1

    run(scenario())


def test_a_snapshot_is_also_taken_after_enough_bytes_of_commands(tmp_path: Path) -> None:
    """Batched entries can be large: a byte budget bounds the log between snapshots."""
    peers = local_peers()
    nodes = [
        Node(
            NodeConfig(
                node_id, peers, tmp_path / f"node-{node_id}", tick_seconds=0.02, core=FAST,
                snapshot_entries=10_000, snapshot_bytes=4_000,
            ),
            AppendLog(),
        )
        for node_id in peers
    ]  # fmt: skip

    async def scenario() -> None:
        async with running(nodes):
            leader, _ = await leader_and_follower(nodes)
            await asyncio.gather(*(leader.propose(b"x" * 100) for _ in range(50)))  # 5,000 bytes
            await wait_until(lambda: all(n.snapshots.taken >= 1 for n in nodes))
            assert leader.core.log.last_index < 100  # far fewer entries than snapshot_entries

    run(scenario())
