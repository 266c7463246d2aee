"""The embedding API: Node.propose / submit / read_barrier and their typed errors,
with real TCP and real disks in one process (each test its own ports and dirs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from ranet.core import CoreConfig
from ranet.errors import ApplyError, NotLeader, ShuttingDown, Timeout
from ranet.node import AppendLog, Node, NodeConfig, NodeEvent
from ranet.node.supervisor import free_ports

T = TypeVar("T")
FAST = CoreConfig(election_ticks=10, heartbeat_ticks=1)


def run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, 60))  # type: ignore[arg-type]


class Exploding(AppendLog):
    def apply(self, command: bytes) -> int:
        if command == b"boom":
            raise ValueError("the application refused this command")
        return super().apply(command)


def local_peers(size: int = 3) -> dict[int, tuple[str, int]]:
    return {i: ("127.0.0.1", port) for i, port in enumerate(free_ports(size))}


def make_nodes(
    data: Path,
    peers: dict[int, tuple[str, int]],
    timeout: float,
    *,
    core: CoreConfig = FAST,
    tick_seconds: float = 0.02,
    machines: list[AppendLog] | None = None,
    on_event: Callable[[NodeEvent], None] | None = None,
) -> list[Node]:
    """One node per peer, each with its own state machine (``Exploding`` by default)."""
    machines = machines or [Exploding() for _ in peers]

    def config(node_id: int) -> NodeConfig:
        return NodeConfig(
            node_id, peers, data / f"node-{node_id}",
            tick_seconds=tick_seconds, core=core, proposal_timeout=timeout,
        )  # fmt: skip

    return [
        Node(config(n), machine, on_event=on_event)
        for n, machine in zip(peers, machines, strict=True)
    ]


@asynccontextmanager
async def running(nodes: list[Node]) -> AsyncIterator[list[Node]]:
    for node in nodes:
        await node.start()
    try:
        yield nodes
    finally:
        for node in nodes:
            await node.stop()


def cluster(
    data: Path, timeout: float = 2.0, peers: dict[int, tuple[str, int]] | None = None
) -> AbstractAsyncContextManager[list[Node]]:
    return running(make_nodes(data, peers or local_peers(), timeout))


async def wait_until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition`` on the loop until it holds, bounded by ``timeout``."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def leader_and_follower(nodes: list[Node]) -> tuple[Node, Node]:
    leader = nodes[await nodes[0].wait_for_leader(10)]
    for node in nodes:  # every node must know the leader, so forwarding works
        await node.wait_for_leader(10)
    return leader, next(n for n in nodes if n is not leader)


def test_propose_returns_the_state_machines_result(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, _ = await leader_and_follower(nodes)
            assert await leader.propose(b"a") == 1
            assert await leader.propose(b"b") == 2

    run(scenario())


def test_propose_on_a_follower_raises_not_leader_with_address(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, follower = await leader_and_follower(nodes)
            with pytest.raises(NotLeader) as error:
                await follower.propose(b"x")
            host, port = leader.config.peers[leader.config.node_id]
            assert error.value.leader_hint == leader.config.node_id
            assert error.value.address == f"{host}:{port}"

    run(scenario())


def test_submit_from_a_follower_is_forwarded(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, follower = await leader_and_follower(nodes)
            assert await follower.submit(b"via-follower") == 1
            assert leader.state_machine.items == [b"via-follower"]

    run(scenario())


def test_replicating_does_not_look_up_the_running_loop_per_message(
    tmp_path: Path, loop_lookups: list[None]
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, _ = await leader_and_follower(nodes)
            await wait_until(  # a link made later would look the loop up, rightly
                lambda: all(
                    a.transport is not None and a.transport.peer_stats(b.config.node_id).connected
                    for a in nodes
                    for b in nodes
                    if a is not b
                )
            )
            loop_lookups.clear()  # starting the nodes and connecting them looked it up
            for i in range(50):
                assert await leader.propose(b"entry %d" % i) == i + 1
            assert loop_lookups == []  # was one per flush of a peer's messages

    run(scenario())


def test_application_errors_reach_the_proposer_and_the_node_keeps_running(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, follower = await leader_and_follower(nodes)
            with pytest.raises(ValueError, match="refused"):
                await leader.propose(b"boom")
            with pytest.raises(ApplyError, match="ValueError: the application refused"):
                await follower.submit(b"boom")  # forwarded: the error's text comes back
            assert await follower.submit(b"fine") == 1

    run(scenario())


def test_an_on_event_callback_that_raises_is_logged_and_the_node_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The callback is the embedder's code: its bug must not wedge the node
    halfway through applying an entry."""
    seen: list[NodeEvent] = []

    def broken(event: NodeEvent) -> None:
        seen.append(event)
        raise RuntimeError("a bug in the embedder's callback")

    async def scenario() -> None:
        nodes = make_nodes(tmp_path, local_peers(), 2.0, on_event=broken)
        async with running(nodes):
            leader, follower = await leader_and_follower(nodes)
            assert await leader.propose(b"a") == 1
            assert await follower.submit(b"b") == 2
            await wait_until(lambda: all(n.applied_index >= leader.applied_index for n in nodes))

    run(scenario())
    assert {type(event).__name__ for event in seen} >= {"RoleChanged", "Applied"}
    assert "on_event failed on Applied; ignored" in caplog.text


def test_read_barrier_on_a_follower_sees_completed_writes(tmp_path: Path) -> None:
    """Thesis §6.4: after the barrier, local state reflects every write that
    completed before the read began, on any node."""

    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, follower = await leader_and_follower(nodes)
            for i in range(20):
                await leader.propose(b"%d" % i)
                await follower.read_barrier()
                assert follower.state_machine.items[-1] == b"%d" % i

    run(scenario())


def slow_heartbeat_nodes(data: Path, machines: list[AppendLog]) -> list[Node]:
    """Nodes that send a heartbeat every 0.5 s (elections after 1-2 s), one per
    state machine: a follower that learned a commit index only from heartbeats
    would show it in seconds, not milliseconds."""
    slow_heartbeats = CoreConfig(election_ticks=20, heartbeat_ticks=10)
    return make_nodes(
        data, local_peers(len(machines)), timeout=5.0,  # NodeConfig's default
        core=slow_heartbeats, tick_seconds=0.05, machines=machines,
    )  # fmt: skip


def test_a_follower_read_does_not_wait_for_the_next_heartbeat(tmp_path: Path) -> None:
    """A follower learns a new commit index from the next append or heartbeat
    (replication.py, Rule 3), but one whose read waits on an index is told at
    once: twenty reads on followers, each after a write, would otherwise wait
    for heartbeats 0.5 s apart."""

    async def scenario() -> None:
        machines = [AppendLog() for _ in range(3)]
        async with running(slow_heartbeat_nodes(tmp_path, machines)) as nodes:
            leader, _ = await leader_and_follower(nodes)
            followers = [node for node in nodes if node is not leader]
            loop = asyncio.get_running_loop()
            waited = 0.0
            for i in range(10):
                await leader.propose(b"%d" % i)
                for follower in followers:
                    started = loop.time()
                    await follower.read_barrier()
                    waited += loop.time() - started
                    assert follower.state_machine.items[-1] == b"%d" % i
            assert waited < 1.0, f"20 follower reads took {waited:.2f} s"

    run(scenario())


class WatchesItsNode(AppendLog):
    """Records, as it applies each command, what its node had made durable and
    still had queued for the leader."""

    def __init__(self) -> None:
        super().__init__()
        self.node: Node | None = None
        self.leader_id = -1
        self.seen: dict[bytes, tuple[int, int, int, int]] = {}  # (applied, stable, last, queued)

    def apply(self, command: bytes) -> int:
        if self.node is not None and self.node.core is not None and self.node.transport:
            log = self.node.core.log
            queued = self.node.transport.peer_stats(self.leader_id).queued_messages
            self.seen[command] = (self.node.applied_index, log.stable_index, log.last_index, queued)
        return super().apply(command)


def test_a_followers_acknowledgement_does_not_wait_for_its_apply(tmp_path: Path) -> None:
    """The append of write B also tells a follower that write A committed. The
    follower syncs B and writes its acknowledgement before it applies A
    (docs/runtime.md, step 4): a slow state machine does not delay commits."""

    async def scenario() -> None:
        machines = [WatchesItsNode() for _ in range(3)]
        async with running(slow_heartbeat_nodes(tmp_path, machines)) as nodes:
            leader, follower = await leader_and_follower(nodes)
            watcher = follower.state_machine
            assert isinstance(watcher, WatchesItsNode)
            watcher.node, watcher.leader_id = follower, leader.config.node_id
            checked = 0
            for pair in range(3):
                a = b"A%d" % pair
                await leader.propose(a)
                await leader.propose(b"B%d" % pair)
                await wait_until(lambda a=a: a in watcher.seen)
                applied, stable, last, queued = watcher.seen[a]
                if last == applied + 1:
                    continue  # a heartbeat told it A committed before B arrived
                assert last == applied + 2 and stable == last  # B durable before A applied
                assert queued == 0  # and its acknowledgement had left
                checked += 1
            assert checked

    run(scenario())


def test_without_a_majority_writes_time_out_and_reads_fail(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, timeout=0.5) as nodes:
            leader, _ = await leader_and_follower(nodes)
            for node in nodes:
                if node is not leader:
                    await node.stop()
            started = asyncio.get_running_loop().time()
            with pytest.raises(Timeout, match=r"not applied within 0\.5 s"):
                await leader.propose(b"lost?")  # bounded with its log entry
            assert 0.45 <= asyncio.get_running_loop().time() - started < 2.0
            with pytest.raises((Timeout, NotLeader)):  # NotLeader once check-quorum steps down
                await leader.read_barrier()

    run(scenario())


def test_stopping_fails_pending_work_with_shutting_down(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, timeout=5) as nodes:
            leader, _ = await leader_and_follower(nodes)
            for node in nodes:
                if node is not leader:
                    await node.stop()
            pending = asyncio.ensure_future(leader.propose(b"never"))
            await asyncio.sleep(0)  # let the proposal reach the core
            await leader.stop()
            with pytest.raises(ShuttingDown):
                await pending
            with pytest.raises(ShuttingDown):
                await leader.propose(b"after")

    run(scenario())


def test_a_restarted_node_rebuilds_its_state_from_disk(tmp_path: Path) -> None:
    async def scenario() -> None:
        peers = local_peers()
        async with cluster(tmp_path, peers=peers) as nodes:
            leader, _ = await leader_and_follower(nodes)
            for item in (b"x", b"y"):
                await leader.propose(item)
        async with cluster(tmp_path, peers=peers) as reborn:
            leader, follower = await leader_and_follower(reborn)
            await follower.read_barrier()
            assert follower.state_machine.items == [b"x", b"y"]

    run(scenario())


def test_a_stopping_leader_hands_leadership_on_without_an_election_timeout(
    tmp_path: Path,
) -> None:
    """Thesis §3.10: graceful shutdown transfers leadership first, so writes
    resume on the new leader at once rather than after an election timeout."""

    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, _ = await leader_and_follower(nodes)
            old_term = leader.core.current_term
            await leader.stop()
            assert not leader.is_leader  # it stepped down before closing
            survivor = next(n for n in nodes if n is not leader)
            new_leader = nodes[await survivor.wait_for_leader(5)]
            # One term later: the transfer's election, with no failed election between.
            assert new_leader.core.current_term == old_term + 1
            assert await new_leader.propose(b"after") == 1

    run(scenario())


def test_a_write_forwarded_to_a_leader_that_falls_fails_fast_as_unknown(
    tmp_path: Path,
) -> None:
    """When the leader a follower forwarded to is replaced, the follower answers
    at once - Timeout, since the write may have been applied - instead of
    waiting out the proposal timeout."""

    async def scenario() -> None:
        async with cluster(tmp_path, timeout=10.0) as nodes:
            leader, follower = await leader_and_follower(nodes)
            leader.transport.send = lambda message: None  # a leader that hears but never answers
            started = asyncio.get_running_loop().time()
            pending = asyncio.ensure_future(follower.submit(b"lost in flight"))
            await asyncio.sleep(0)
            await leader.stop(transfer=False)
            with pytest.raises(Timeout, match="replaced; outcome unknown"):
                await pending
            assert asyncio.get_running_loop().time() - started < 5  # not the 10 s timeout

    run(scenario())


def test_transfer_returns_once_the_chosen_node_leads(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, target = await leader_and_follower(nodes)
            chosen = target.config.node_id
            assert await leader.transfer_leadership(chosen) == chosen
            # not merely "the old leader stepped down": the new one has already led
            assert target.is_leader and leader.leader_id == chosen
            with pytest.raises(NotLeader):
                await leader.transfer_leadership()

    run(scenario())


def test_applied_beyond_waits_for_the_next_entry_and_fails_when_the_node_stops(
    tmp_path: Path,
) -> None:
    """What a blocking command's wake-up waits on (kv/blocking.py): done at
    once for an index already passed, else on the next applied entry, on a
    follower too; failed, not left hanging, when the node stops."""

    async def scenario() -> None:
        nodes = make_nodes(tmp_path, local_peers(), 2.0)
        async with running(nodes):
            leader, follower = await leader_and_follower(nodes)
            await leader.propose(b"first")
            await follower.read_barrier()
            applied = follower.applied_index
            assert follower.applied_beyond(applied - 1).result() == applied
            waiting = follower.applied_beyond(applied)
            await asyncio.sleep(0.2)  # heartbeats alone apply nothing
            assert not waiting.done()
            await leader.propose(b"second")
            assert await asyncio.wait_for(waiting, 10) == applied + 1
            left_waiting = follower.applied_beyond(follower.applied_index)
            await follower.stop()
            with pytest.raises(ShuttingDown):
                left_waiting.result()

    run(scenario())
