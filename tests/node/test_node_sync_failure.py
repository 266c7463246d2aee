"""Rule 2 of the runtime: a failed fsync is fatal. A node cannot know what
reached the disk, so it stops instead of making promises it may not keep -
whether the sync ran on the loop (a follower, or a leader with one entry
waiting) or on the disk thread (a leader with more)."""

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


@pytest.mark.parametrize("who", ["follower", "leader", "busy leader"])
def test_a_failed_sync_stops_the_node_and_acknowledges_nothing(tmp_path: Path, who: str) -> None:
    # Two commands too big to share an entry: two entries wait, the disk thread syncs.
    commands = [b"x" * 200_000, b"y" * 200_000] if who == "busy leader" else [b"after"]

    async def scenario() -> None:
        nodes = breakable_nodes(tmp_path)
        async with running(nodes):
            leader, follower = await leader_and_follower(nodes)
            victim = follower if who == "follower" else leader
            await leader.propose(b"before")
            if victim is leader:
                await follower.stop()  # now a commit needs the leader's own write
            victim.storage.broken = True  # type: ignore[attr-defined]
            acknowledged = victim.core.log.stable_index
            outcomes = [asyncio.ensure_future(leader.propose(c)) for c in commands]
            await wait_until(lambda: victim.failure is not None and not victim.running)
            assert isinstance(victim.failure, OSError)
            assert victim.core.log.stable_index == acknowledged  # nothing more promised
            if who == "follower":
                assert await outcomes[0] == 2  # the other follower still makes a majority
            else:  # the stopping node fails what it had not done (it used to hang)
                for outcome in outcomes:
                    with pytest.raises(ShuttingDown):
                        await asyncio.wait_for(outcome, 10)

    run(scenario())
