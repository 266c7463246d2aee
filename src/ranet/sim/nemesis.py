"""Randomized fault campaigns: break the cluster at random, then demand recovery.

One seed drives everything. A campaign runs ``steps`` ticks during which a
client proposes values and the nemesis injects the chosen faults at random
moments, not only on tick boundaries: symmetric partitions, one-way link
cuts, message loss, duplication, delay spikes (which reorder), crashes of
random nodes with restarts from durable state, and leader churn (crashing
each new leader soon after it takes office, while keeping a majority up,
the schedule that exposes the Figure 8 bug of Raft §5.4.2). Each seed also
draws its own protocol settings - batch size, in-flight window, pre-vote and
check-quorum on or off, and whether and how often nodes snapshot and
compact their logs (so lagging nodes are repaired by InstallSnapshot) -
since safety must not depend on any of them, and small batches expose bugs
that large ones mask. The safety checker watches
every event. Then everything heals and the campaign
demands liveness: within a bounded number of ticks a leader is elected, a new
proposal commits, and every live node holds every committed value.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass

from ranet.core import ChangeKind, CoreConfig, MembershipChange
from ranet.sim.cluster import Simulation
from ranet.sim.invariants import SafetyViolation
from ranet.sim.network import NetworkConfig

FAULTS = (
    "partition",
    "asymmetric",
    "drop",
    "duplicate",
    "delay",
    "crash",
    "leader-churn",
    "membership",
)
# Faults injected one at a time at random moments; the rest are network rates,
# or (leader-churn) a storm that runs a whole campaign.
_EVENT_FAULTS = ("partition", "asymmetric", "crash", "membership")
RECOVERY_TICKS = 300  # liveness bound after healing: 15+ election timeouts
FAULT_RATE = 0.03  # chance of a fault at each step (a step is 0.1-1 tick)
MEMBERSHIP_RATE = 0.05  # in membership campaigns, chance of a change at each step


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
    faults_injected: int
    snapshots_installed: int
    membership_changes: int


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
    config_rng = random.Random(seed)
    # Membership campaigns start with three voters, the others waiting to join.
    voters = range(3) if "membership" in faults and config_rng.random() < 0.4 else None
    sim = Simulation(
        nodes,
        seed,
        config=_config_for(config_rng),
        network=_network_for(faults),
        max_disk_delay=config_rng.choice((0, 2, 8)),
        snapshot_every=config_rng.choice((None, None, 3, 16)),
        voters=voters,
        on_event=on_event,
    )
    rng = sim.rng
    members = sorted(sim.nodes)
    storm = "leader-churn" in faults and config_rng.random() < 0.4
    event_faults = sorted(set(faults) & set(_EVENT_FAULTS))
    proposals = 0
    end = sim.now + steps * sim.TICK
    step = 0
    while sim.now < end:
        step += 1
        sim.run_for(rng.randint(1, 10) / 10)  # act between ticks, not just on them
        if rng.random() < (0.8 if storm else 0.2) and sim.propose(f"{seed}:{step}".encode()):
            proposals += 1
        if voters is not None and rng.random() < MEMBERSHIP_RATE:
            _change_membership(sim, members)
        if storm:
            _churn_leader(sim, members)
        elif event_faults and rng.random() < FAULT_RATE:
            _inject(sim, rng.choice(event_faults), members)
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
        faults_injected=sim.faults_injected,
        snapshots_installed=sim.snapshots_installed,
        membership_changes=sim.membership_changes,
    )


def _config_for(rng: random.Random) -> CoreConfig:
    return CoreConfig(
        pre_vote=rng.random() < 0.8,
        check_quorum=rng.random() < 0.8,
        max_entries_per_message=rng.choice((1, 3, 64, 4096)),
        max_inflight=rng.choice((1, 4, 256)),
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
    elif fault == "membership":
        _change_membership(sim, members)


def _change_membership(sim: Simulation, members: list[int]) -> None:
    """One random single-server change: add a learner, promote one, or remove
    a member (the leader too); the leader refuses it while another is pending."""
    rng = sim.rng
    leader = sim.leader()
    if leader is None:
        return
    configuration = sim.nodes[leader].core.configuration
    outsiders = [n for n in members if n not in configuration.members]
    choices = [(ChangeKind.ADD_LEARNER, n) for n in outsiders]
    choices += [(ChangeKind.PROMOTE, n) for n in sorted(configuration.learners)]
    if len(configuration.voters) > 1:
        choices += [(ChangeKind.REMOVE, n) for n in sorted(configuration.members)]
    if choices:
        kind, node_id = rng.choice(choices)
        sim.change_membership(MembershipChange(kind, node_id))


def _churn_leader(sim: Simulation, members: list[int]) -> None:
    """Crash leaders soon after they take office, keeping a majority up (Figure 8)."""
    rng = sim.rng
    leader = sim.leader()
    if leader is not None and rng.random() < 0.3:
        sim.crash(leader)
    down = [n for n in members if not sim.nodes[n].alive]
    if len(down) > (len(members) - 1) // 2:
        sim.restart(rng.choice(down))


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
        leader = sim.leader()
        if leader is None:
            return False
        members = sim.nodes[leader].core.configuration.members  # removed nodes get nothing
        return all(sim.nodes[n].core.log.applied >= last for n in members)

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
