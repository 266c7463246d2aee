"""Snapshots and log compaction in simulation (Raft §7), safety checked after
every event (the checker verifies every installed snapshot's contents)."""

from __future__ import annotations

import pytest

from ranet.sim import NetworkConfig, Simulation
from ranet.sim.nemesis import _demand_liveness, _heal

LOSSY = NetworkConfig(max_latency=6, drop_rate=0.05, duplicate_rate=0.05)


def settled(seed: int, **options: object) -> Simulation:
    sim = Simulation(5, seed, snapshot_every=10, **options)  # type: ignore[arg-type]
    assert sim.run_until(lambda: sim.leader() is not None, 200)
    return sim


def write(sim: Simulation, count: int, tag: str) -> None:
    for i in range(count):
        sim.propose(f"{tag}-{i}".encode())
        sim.run_for(1)


@pytest.mark.parametrize("seed", range(8))
def test_a_node_back_from_a_crash_catches_up_by_snapshot(seed: int) -> None:
    sim = settled(seed, network=LOSSY)
    victim = next(n for n in sim.nodes if n != sim.leader())
    sim.crash(victim)
    write(sim, 60, "while-down")
    sim.restart(victim)
    before = sim.snapshots_installed
    _heal(sim)
    _demand_liveness(sim, seed)
    assert sim.snapshots_installed > before
    node = sim.nodes[victim]
    assert node.core.log.first_index > 1  # its log restarts after a snapshot
    assert [e.data for e in node.applied if e.data] == sim.committed_values()


@pytest.mark.parametrize("seed", range(8))
def test_snapshot_install_under_partitions_and_loss(seed: int) -> None:
    sim = settled(seed, network=LOSSY)
    leader = sim.leader()
    assert leader is not None
    minority = [n for n in sim.nodes if n != leader][:2]
    sim.partition(minority, [n for n in sim.nodes if n not in minority])
    write(sim, 50, "split")
    _heal(sim)
    _demand_liveness(sim, seed)
    for node_id in minority:
        assert [e.data for e in sim.nodes[node_id].applied if e.data] == sim.committed_values()


@pytest.mark.parametrize("seed", range(4))
def test_restart_from_snapshot_plus_log(seed: int) -> None:
    sim = settled(seed)
    write(sim, 45, "x")
    for node_id in sim.nodes:
        sim.crash(node_id)
    for node_id in sim.nodes:
        sim.restart(node_id)
        assert sim.nodes[node_id].core.log.offset > 0  # restarted from a snapshot
    _demand_liveness(sim, seed)
    expected = sim.committed_values()
    for node in sim.nodes.values():
        assert [e.data for e in node.applied if e.data] == expected


def test_persisted_state_stays_bounded_under_an_endless_write_load() -> None:
    """After thousands of entries the durable log never exceeds the snapshot
    interval plus what is in flight, and only one snapshot is kept."""
    sim = settled(1, network=NetworkConfig())
    largest_log = 0
    for round_ in range(60):
        for i in range(50):
            sim.propose(f"{round_}-{i}".encode())
        sim.run_for(2)
        for node in sim.nodes.values():
            state = node.storage.load()
            largest_log = max(largest_log, len(state.entries))
    assert len(sim.committed_values()) >= 2500
    assert largest_log <= 10 + 100  # snapshot interval + at most two rounds in flight
