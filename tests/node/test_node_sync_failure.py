"""Rule 2 of the runtime: a failed fsync is fatal. A node cannot know what
reached the disk, so it stops instead of making promises it may not keep -
whether the sync ran on the disk thread (a leader) or on the loop (a follower)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ranet.errors import ShuttingDown
from ranet.node import AppendLog, Node, NodeConfig
from ranet.storage import MemoryStorage
from tests.node.test_node_api import (
    FAST,
    leader_and_follower,
    local_peers,
    run,
    running,
    wait_until,
)


class BreakableStorage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def sync(self) -> None:
        if self.broken:
            raise OSError(5, "Input/output error")
        super().sync()


def breakable_nodes(data: Path) -> list[Node]:
    peers = local_peers()
    return [
        Node(
            NodeConfig(node_id, peers, data / f"n{node_id}", tick_seconds=0.02, core=FAST),
            AppendLog(),
            storage=BreakableStorage(),
        )
        for node_id in peers
    ]


@pytest.mark.parametrize("who", ["follower", "leader"])
def test_a_failed_sync_stops_the_node_and_acknowledges_nothing(tmp_path: Path, who: str) -> None:
    async def scenario() -> None:
        nodes = breakable_nodes(tmp_path)
        async with running(nodes):
            leader, follower = await leader_and_follower(nodes)
            victim = follower if who == "follower" else leader
            await leader.propose(b"before")
            if who == "leader":
                await follower.stop()  # now a commit needs the leader's own write
            victim.storage.broken = True  # type: ignore[attr-defined]
            acknowledged = victim.core.log.stable_index
            outcome = asyncio.ensure_future(leader.propose(b"after"))
            await wait_until(lambda: victim.failure is not None and not victim.running)
            assert isinstance(victim.failure, OSError)
            assert victim.core.log.stable_index == acknowledged  # nothing more promised
            if who == "follower":
                assert await outcome == 2  # the other follower still makes a majority
            else:  # the stopping node fails what it had not done (it used to hang)
                with pytest.raises(ShuttingDown):
                    await asyncio.wait_for(outcome, 10)

    run(scenario())
