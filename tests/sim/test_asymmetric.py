"""Asymmetric partitions: links that carry messages one way only.

Raft §5.2 alone lets a server that cannot hear the leader start elections
that depose it, over and over, raising terms without bound. Pre-vote
(thesis §9.6) and check-quorum (thesis §6.2, §4.2.3) bound the damage: at
most one change of leader, after which terms stay put. Safety (Figure 3) is
checked after every event throughout.
"""

from __future__ import annotations

import pytest

from ranet.core import Role
from ranet.sim import Simulation
from tests.sim.helpers import (
    ELECTION_TIMEOUT,
    assert_everyone_has_every_committed_value,
    commit,
    leaders,
    max_term,
    steady_leader,
    wait_converged,
    wait_for_leader,
)

SEEDS = range(3)
WATCH = 20 * ELECTION_TIMEOUT  # long enough for an unchecked node to campaign 20+ times


def one_way(sim: Simulation, senders: list[int], receivers: list[int]) -> None:
    """Cut every link from ``senders`` to ``receivers`` (the reverse stays up)."""
    for src in senders:
        for dst in receivers:
            if src != dst:
                sim.cut_link(src, dst)


def stable(sim: Simulation, leader: int, term: int) -> bool:
    return leaders(sim) == [leader] and max_term(sim) == term


def heal_and_check(sim: Simulation) -> None:
    sim.heal()
    commit(sim, b"after heal")
    wait_converged(sim)
    assert_everyone_has_every_committed_value(sim)


@pytest.mark.parametrize("direction", ["deaf", "mute"])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_follower_that_only_sends_or_only_receives_does_not_disturb_the_leader(
    seed: int, direction: str
) -> None:
    """A deaf follower (it sends, hears nothing) times out but cannot win a
    pre-vote against servers hearing a live leader (thesis §9.6), so terms do
    not move; a mute one (it hears, nobody hears it) keeps following. Either
    way the leader, the term and the commits carry on unchanged."""
    sim = Simulation(5, seed)
    leader = steady_leader(sim, b"before")
    term = max_term(sim)
    victim = next(n for n in sim.nodes if n != leader)
    others = [n for n in sim.nodes if n != victim]

    if direction == "deaf":
        one_way(sim, others, [victim])
    else:
        one_way(sim, [victim], others)

    disturbed = sim.run_until(lambda: not stable(sim, leader, term), WATCH)
    assert not disturbed, f"seed {seed}: leaders {leaders(sim)}, term {max_term(sim)} != {term}"
    commit(sim, b"during", at=leader)
    heal_and_check(sim)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_follower_that_cannot_hear_the_leader_alone_does_not_depose_it(seed: int) -> None:
    """The classic disruption: one link, leader -> F, is cut. F hears the
    others but not the leader, times out, and asks for (pre-)votes; the others
    still hear the leader and refuse (thesis §4.2.3, §9.6). The leader and its
    term stay."""
    sim = Simulation(3, seed)
    leader = steady_leader(sim, b"before")
    term = max_term(sim)
    victim = next(n for n in sim.nodes if n != leader)

    sim.cut_link(leader, victim)

    disturbed = sim.run_until(lambda: not stable(sim, leader, term), WATCH)
    assert not disturbed, f"seed {seed}: leaders {leaders(sim)}, term {max_term(sim)} != {term}"
    assert sim.nodes[victim].core.current_term == term
    commit(sim, b"during", at=leader)
    heal_and_check(sim)


@pytest.mark.parametrize("direction", ["deaf", "mute"])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_leader_that_only_sends_or_only_receives_is_replaced_once_and_for_all(
    seed: int, direction: str
) -> None:
    """A deaf leader (its heartbeats go out, no answer comes back) steps down
    at its next check-quorum (thesis §6.2); a mute one (it hears, nobody
    hears it) is replaced when the followers time out, and learns the new
    term from the new leader's heartbeats. Either way one new election,
    then a stable leader and term: no unbounded term growth."""
    sim = Simulation(5, seed)
    old = wait_for_leader(sim)
    old_term = max_term(sim)
    others = [n for n in sim.nodes if n != old]

    if direction == "deaf":
        one_way(sim, others, [old])
    else:
        one_way(sim, [old], others)
    new = wait_for_leader(sim, others, above_term=old_term, max_ticks=5 * ELECTION_TIMEOUT)
    new_term = sim.nodes[new].core.current_term
    sim.run_for(2 * ELECTION_TIMEOUT)  # the old leader has stepped down by now

    assert new_term <= old_term + 2
    assert sim.nodes[old].core.role != Role.LEADER
    disturbed = sim.run_until(lambda: not stable(sim, new, new_term), WATCH)
    assert not disturbed, f"seed {seed}: leaders {leaders(sim)}, term {max_term(sim)}"
    commit(sim, b"under the new leader", at=new)
    heal_and_check(sim)
