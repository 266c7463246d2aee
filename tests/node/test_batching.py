"""Proposal batching (batching.py): how commands are cut into entries, the
entry format, and a running cluster applying batched commands one by one."""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

import msgpack
import pytest

from ranet.core import EntryKind
from ranet.node import AppendLog, Applied, Node, NodeConfig, RoleChanged, batching
from tests.node.test_node_api import cluster, leader_and_follower, local_peers, run


def commands(*sizes: int) -> list[tuple[bytes, int]]:
    return [(b"x" * size, number) for number, size in enumerate(sizes)]


def test_split_keeps_order_and_cuts_at_the_command_cap() -> None:
    runs = list(batching.split(commands(*[1] * 7), max_commands=3))
    assert [[n for _, n in run] for run in runs] == [[0, 1, 2], [3, 4, 5], [6]]


def test_split_cuts_before_the_command_that_would_pass_the_byte_cap() -> None:
    runs = list(batching.split(commands(4, 4, 4, 9, 1), max_bytes=10))
    assert [[n for _, n in run] for run in runs] == [[0, 1], [2], [3, 4]]


def test_a_command_larger_than_the_byte_cap_is_an_entry_alone() -> None:
    runs = list(batching.split(commands(1, 50, 1), max_bytes=10))
    assert [[n for _, n in run] for run in runs] == [[0], [1], [2]]


def test_split_of_nothing_is_no_run() -> None:
    assert list(batching.split([])) == []


def test_pack_then_unpack_gives_the_commands_back() -> None:
    data = [b"SET a 1", b"", b"\x00\xff" * 100]
    assert batching.unpack(batching.pack(data)) == data


@pytest.mark.parametrize(
    "data",
    [b"\xc1", msgpack.packb({"a": 1}), msgpack.packb([b"ok", 3]), msgpack.packb([b"ok", "text"])],
    ids=["undecodable", "not-an-array", "an-integer", "a-string"],
)
def test_unpack_rejects_what_is_not_an_array_of_byte_strings(data: bytes) -> None:
    with pytest.raises(batching.BatchError):
        batching.unpack(data)


def test_commands_proposed_together_share_one_entry_and_keep_their_own_results(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, follower = await leader_and_follower(nodes)
            before = leader.core.log.last_index
            proposals = [leader.propose(b"c%d" % i) for i in range(5)]
            proposals.insert(2, leader.propose(b"boom"))  # refused by the state machine
            outcomes = await asyncio.gather(*proposals, return_exceptions=True)
            assert outcomes[:2] == [1, 2] and outcomes[3:] == [3, 4, 5]
            assert isinstance(outcomes[2], ValueError)
            assert leader.core.log.last_index == before + 1  # one entry carried all six
            (entry,) = leader.core.log.slice(before + 1, before + 2)
            assert entry.kind == EntryKind.BATCH
            await follower.read_barrier()
            assert follower.state_machine.items == [b"c0", b"c1", b"c2", b"c3", b"c4"]

    run(scenario())


def test_a_batched_entry_is_applied_again_after_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        peers = local_peers()
        async with cluster(tmp_path, peers=peers) as nodes:
            leader, _ = await leader_and_follower(nodes)
            await asyncio.gather(*(leader.propose(b"w%d" % i) for i in range(10)))
        async with cluster(tmp_path, peers=peers) as reborn:
            leader, follower = await leader_and_follower(reborn)
            await follower.read_barrier()
            assert follower.state_machine.items == [b"w%d" % i for i in range(10)]

    run(scenario())


def test_reads_issued_together_share_one_read_index_request(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, _ = await leader_and_follower(nodes)
            await leader.propose(b"first")
            written = leader.core.log.last_index
            queue = leader.core.replicator.read_only
            before = queue.last_sequence
            indexes = await asyncio.gather(*(leader.read_barrier() for _ in range(8)))
            assert queue.last_sequence == before + 1  # one request for all eight
            assert indexes == [written] * 8  # each sees the write before it
            await leader.read_barrier()
            assert queue.last_sequence == before + 2  # a later pass asks again

    run(scenario())


@pytest.mark.parametrize("applied_events", [True, False])
def test_applied_events_are_one_per_command_and_can_be_turned_off(
    tmp_path: Path, applied_events: bool
) -> None:
    events: list[object] = []
    config = NodeConfig(0, {0: ("127.0.0.1", local_peers(1)[0][1])}, tmp_path / "solo")
    node = Node(config, AppendLog(), on_event=events.append, applied_events=applied_events)

    async def scenario() -> None:
        async with node:
            await node.wait_for_leader(10)
            await asyncio.gather(*(node.propose(b"c%d" % i) for i in range(3)))

    run(scenario())
    applied = [e for e in events if isinstance(e, Applied)]
    assert any(isinstance(e, RoleChanged) for e in events)
    if applied_events:
        assert [e.command for e in applied] == [b"c0", b"c1", b"c2"]
        assert len({e.index for e in applied}) == 1  # one entry carried the three
    else:
        assert applied == []


def test_a_finished_write_is_not_kept_alive_until_its_deadline(tmp_path: Path) -> None:
    """Deadlines name log entries, not futures: a finished request's future is
    freed at once instead of living on for the whole proposal timeout (which
    filled the leader's heap under load and made full GCs stall it)."""

    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, _ = await leader_and_follower(nodes)
            futures = [leader.propose_nowait(b"w%d" % i) for i in range(50)]
            await asyncio.gather(*futures)
            await leader.read_barrier()
            finished = [weakref.ref(future) for future in futures]
            del futures
            gc.collect()
            assert [ref for ref in finished if ref() is not None] == []

    run(scenario())


def test_a_read_barrier_runs_then_when_it_lifts_on_leader_and_follower(tmp_path: Path) -> None:
    """``then`` runs once the read index is applied, on the node asked: it sees
    every write acknowledged before the call, and its result or error is the
    future's."""

    async def scenario() -> None:
        async with cluster(tmp_path) as nodes:
            leader, follower = await leader_and_follower(nodes)
            await leader.propose(b"before")
            for node in (leader, follower):
                items = node.state_machine.items
                seen = node.read_barrier_nowait(then=lambda _, items=items: list(items))
                assert await seen == [b"before"]
                index = node.read_barrier_nowait(then=lambda index: index)
                assert await index == leader.core.log.last_index

                def broken(index: int) -> None:
                    raise KeyError("no such thing")

                with pytest.raises(KeyError, match="no such thing"):
                    await node.read_barrier_nowait(then=broken)

    run(scenario())
