"""What replication costs on the wire, counted message by message.

Raft §5.2 (heartbeats) and §5.3 (AppendEntries), with the batching of
``replication.py``: an idle leader sends only heartbeats, and committing
entries costs a small number of messages that does not grow with the number
of entries batched together.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest

from ranet.core import AppendEntries, CoreConfig, Heartbeat, HeartbeatResponse, Message
from ranet.sim import NetworkConfig
from tests.sim.helpers import ObservedSimulation, steady_leader, values, wait_converged

SEEDS = range(5)


def settled(
    nodes: int,
    seed: int,
    config: CoreConfig | None = None,
    network: NetworkConfig | None = None,
) -> ObservedSimulation:
    """A cluster with a leader, one committed command, and every node caught up."""
    sim = ObservedSimulation(nodes, seed, config=config, network=network)
    steady_leader(sim, b"warm up")
    sim.run_for(3)
    return sim


def ticks_since(sim: ObservedSimulation, start: int) -> int:
    """Ticks begun since virtual time ``start`` (a started tick counts)."""
    return math.ceil((sim.now - start) / sim.TICK) + 1


def entries_carried_to(messages: list[Message], follower: int) -> int:
    return sum(
        len(m.entries) for m in messages if isinstance(m, AppendEntries) and m.dst == follower
    )


@pytest.mark.parametrize(("nodes", "heartbeat_ticks"), [(3, 1), (5, 1), (3, 3)])
@pytest.mark.parametrize("seed", SEEDS)
def test_an_idle_cluster_sends_one_heartbeat_and_one_response_per_follower_per_interval(
    seed: int, nodes: int, heartbeat_ticks: int
) -> None:
    """Raft §5.2: an idle leader sends heartbeats to maintain its authority,
    and nothing else travels. Every heartbeat interval carries exactly
    (n-1) heartbeats and (n-1) responses."""
    sim = settled(nodes, seed, CoreConfig(heartbeat_ticks=heartbeat_ticks))
    leader = sim.leader()
    followers = sorted(n for n in sim.nodes if n != leader)
    since = sim.mark()

    sim.run_for(60)

    window = sim.sent[since:]
    rounds = sorted({time for time, m in window if isinstance(m, Heartbeat)})
    interval = heartbeat_ticks * sim.TICK
    assert len(rounds) == 60 // heartbeat_ticks
    assert all(b - a == interval for a, b in itertools.pairwise(rounds))
    for start in rounds[:-1]:  # the last round's responses may still be in flight
        in_round = [m for time, m in window if start <= time < start + interval]
        heartbeats = sorted(m.dst for m in in_round if isinstance(m, Heartbeat))
        responses = sorted(m.src for m in in_round if isinstance(m, HeartbeatResponse))
        assert heartbeats == followers and responses == followers
        assert len(in_round) == 2 * (nodes - 1), f"extra messages: {in_round}"


# Every message takes the same time, so each link delivers in order, as TCP
# does. (The default network draws a latency per message and so reorders
# pipelined AppendEntries; a follower rejects one that overtook its
# predecessor and the leader re-sends from the last acknowledged entry.)
IN_ORDER = NetworkConfig(min_latency=2, max_latency=2)


@pytest.mark.parametrize("network", [NetworkConfig(), IN_ORDER], ids=["default", "in-order"])
@pytest.mark.parametrize("nodes", [3, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_ten_entries_proposed_together_cost_a_small_constant_number_of_messages(
    seed: int, nodes: int, network: NetworkConfig
) -> None:
    """Raft §5.3 with batching: commands handed to the leader together travel
    in one AppendEntries per follower, so the cost does not grow with their
    number."""
    sim = settled(nodes, seed, network=network)
    followers = [n for n in sim.nodes if n != sim.leader()]
    since, start = sim.mark(), sim.now

    sim.propose_batch(values("batch ", 10))
    wait_converged(sim, max_ticks=10)

    messages = sim.messages_since(since)
    # Per follower: the batch and its acknowledgement, the heartbeat that
    # tells it the new commit index and its response, and at most one empty
    # AppendEntries (+ response) that a heartbeat response crossing the batch
    # in flight triggers: 6 (n-1). On top, the idle heartbeat traffic of
    # 2 (n-1) per tick the commit takes.
    budget = 6 * (nodes - 1) + 2 * (nodes - 1) * ticks_since(sim, start)
    assert len(messages) <= budget, Counter(type(m).__name__ for m in messages)
    if network is IN_ORDER:
        appends = [m for m in messages if isinstance(m, AppendEntries) and m.entries]
        assert sorted(m.dst for m in appends) == sorted(followers)
        assert all(len(m.entries) == 10 for m in appends)


@pytest.mark.parametrize("seed", SEEDS)
def test_ten_entries_proposed_in_one_instant_each_travel_once_to_each_follower(
    seed: int,
) -> None:
    """Raft §5.3: the leader pipelines one AppendEntries per proposal without
    waiting for acknowledgements; on an in-order network none is rejected
    and no entry is sent twice to the same follower."""
    nodes = 3
    sim = settled(nodes, seed, network=IN_ORDER)
    followers = [n for n in sim.nodes if n != sim.leader()]
    since, start = sim.mark(), sim.now

    for command in values("instant ", 10):
        sim.propose(command)
    wait_converged(sim, max_ticks=10)

    messages = sim.messages_since(since)
    assert [entries_carried_to(messages, f) for f in followers] == [10] * len(followers)
    assert sim.rejections(since) == 0
    # Ten separate proposals cost what ten single ones do (see below).
    budget = 10 * PER_ENTRY_BUDGET * (nodes - 1) + 2 * (nodes - 1) * ticks_since(sim, start)
    assert len(messages) <= budget, Counter(type(m).__name__ for m in messages)


# Messages per follower to commit one entry proposed alone: the entry and its
# acknowledgement, the heartbeat that carries the new commit index and its
# response, and up to two empty AppendEntries (+ responses) - the leader sends
# one for each heartbeat response that arrives while the entry is still
# unacknowledged, and with 1-tick heartbeats and at most 3 units of latency
# each way at most two do. Idle heartbeat traffic comes on top.
PER_ENTRY_BUDGET = 8


@pytest.mark.parametrize("network", [NetworkConfig(), IN_ORDER], ids=["default", "in-order"])
@pytest.mark.parametrize("nodes", [3, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_ten_entries_proposed_one_at_a_time_cost_at_most_a_fixed_number_each(
    seed: int, nodes: int, network: NetworkConfig
) -> None:
    """Raft §5.3: committing one command costs one AppendEntries round trip to
    each follower plus the commit notification, however many came before."""
    sim = settled(nodes, seed, network=network)
    followers = [n for n in sim.nodes if n != sim.leader()]

    for command in values("single ", 10):
        since, start = sim.mark(), sim.now
        sim.propose(command)
        wait_converged(sim, max_ticks=10)

        messages = sim.messages_since(since)
        budget = PER_ENTRY_BUDGET * (nodes - 1) + 2 * (nodes - 1) * ticks_since(sim, start)
        assert len(messages) <= budget, Counter(type(m).__name__ for m in messages)
        if network is IN_ORDER:
            assert [entries_carried_to(messages, f) for f in followers] == [1] * len(followers)
