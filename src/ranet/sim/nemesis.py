"""Randomized fault campaigns: break the cluster at random, then demand recovery.

One seed drives everything. A campaign runs ``steps`` ticks during which a
client proposes values and the nemesis injects the chosen faults at random:
symmetric partitions, one-way link cuts, message loss, duplication, delay
spikes (which reorder), and crashes with restarts from durable state. The
safety checker watches every event. Then everything heals and the campaign
demands liveness: within a bounded number of ticks a leader is elected, a new
proposal commits, and every live node holds every committed value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from ranet.sim.cluster import Simulation
from ranet.sim.invariants import SafetyViolation
from ranet.sim.network import NetworkConfig

FAULTS = ("partition", "asymmetric", "drop", "duplicate", "delay", "crash")
RECOVERY_TICKS = 300  # liveness bound after healing: 15+ election timeouts


class LivenessFailure(AssertionError):
    """After every fault healed, the cluster did not make progress in time."""


@dataclass(slots=True)
class CampaignResult:
    seed: int
    proposals: int
    committed: int
    terms: int
    recovery_ticks: int
    messages: int


def _network_for(faults: Collection[str]) -> NetworkConfig:
    return NetworkConfig(
        min_latency=1,
        max_latency=6 if "delay" in faults else 3,
        drop_rate=0.05 if "drop" in faults else 0.0,
        duplicate_rate=0.05 if "duplicate" in faults else 0.0,
        delay_spike_rate=0.02 if "delay" in faults else 0.0,
        delay_spike_latency=60,
    )


def run_campaign(
    seed: int,
    *,
    nodes: int = 5,
    faults: Collection[str] = FAULTS,
    steps: int = 200,
    on_event: Callable[[str], None] | None = None,
) -> CampaignResult:
    """Run one seeded campaign; raise SafetyViolation or LivenessFailure on failure."""
    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; choose from {', '.join(FAULTS)}")
    sim = Simulation(nodes, seed, network=_network_for(faults), on_event=on_event)
    rng = sim.rng
    members = sorted(sim.nodes)
    proposals = 0
    for step in range(steps):
        sim.run_for(1)
        if rng.random() < 0.5 and sim.propose(f"{seed}:{step}".encode()) is not None:
            proposals += 1
        if rng.random() < 0.06:
            _inject(sim, rng.choice(sorted(faults)), members)
    _heal(sim)
    recovery_ticks = _demand_liveness(sim, seed)
    sim.check_logs_match()
    return CampaignResult(
        seed=seed,
        proposals=proposals,
        committed=len(sim.committed_values()),
        terms=max(n.core.current_term for n in sim.nodes.values()),
        recovery_ticks=recovery_ticks,
        messages=sim.messages_sent,
    )


def _inject(sim: Simulation, fault: str, members: list[int]) -> None:
    rng = sim.rng
    if fault == "partition":
        if rng.random() < 0.3:
            sim.heal()
            return
        shuffled = rng.sample(members, len(members))
        cut = rng.randint(1, len(members) - 1)
        sim.partition(shuffled[:cut], shuffled[cut:])
    elif fault == "asymmetric":
        src, dst = rng.sample(members, 2)
        sim.cut_link(src, dst)
    elif fault == "crash":
        crashed = [n for n in members if not sim.nodes[n].alive]
        if crashed and rng.random() < 0.6:
            sim.restart(rng.choice(crashed))
        else:
            leader = sim.leader()
            victim = leader if leader is not None and rng.random() < 0.5 else rng.choice(members)
            sim.crash(victim)
    # drop, duplicate and delay are rates of the network, active all campaign long.


def _heal(sim: Simulation) -> None:
    sim.heal()
    config = sim.network.config
    config.drop_rate = config.duplicate_rate = config.delay_spike_rate = 0.0
    for node_id in sorted(sim.nodes):
        sim.restart(node_id)
    sim.log("ALL FAULTS HEALED")


def _demand_liveness(sim: Simulation, seed: int) -> int:
    """Within RECOVERY_TICKS: a leader, a fresh commit, every node caught up."""
    start = sim.now
    deadline_ticks = RECOVERY_TICKS
    marker = f"{seed}:after-heal".encode()

    def committed_everywhere() -> bool:
        if marker not in sim.committed_values():
            if sim.leader() is not None and marker not in _pending(sim):
                sim.propose(marker)
            return False
        last = max(n.core.commit_index for n in sim.nodes.values())
        return all(len(n.applied) + n.core.log.offset >= last for n in sim.nodes.values())

    if not sim.run_until(committed_everywhere, deadline_ticks):
        raise LivenessFailure(
            f"seed {seed}: no progress within {deadline_ticks} ticks after healing\n"
            + "\n".join(list(sim.trace)[-60:])
        )
    return (sim.now - start) // sim.TICK


def _pending(sim: Simulation) -> set[bytes]:
    """Commands in the current leader's log (proposed, maybe not yet committed)."""
    leader = sim.leader()
    if leader is None:
        return set()
    return {entry.data for entry in sim.nodes[leader].core.log.entries}


__all__ = ["FAULTS", "CampaignResult", "LivenessFailure", "SafetyViolation", "run_campaign"]
