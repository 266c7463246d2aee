"""The randomized fault campaign: many seeds, mixed faults, safety checked
after every event, liveness demanded after healing (Raft Figure 3; thesis §9.6).

The default run covers 1,000 seeds of 5 nodes. More are opt-in:
``pytest --soak`` (or RANET_SOAK=1) runs RANET_SOAK_SEEDS seeds, 20,000 by default.
A failure names its seed; ``ranet sim --seed N`` replays it with a timeline.
"""

from __future__ import annotations

import os

import pytest

from ranet.sim.nemesis import CampaignResult, run_campaign

DEFAULT_SEEDS = 1000


def run_seeds(first: int, count: int) -> list[CampaignResult]:
    return [run_campaign(seed, nodes=5) for seed in range(first, first + count)]


@pytest.mark.parametrize("block", range(10))
def test_campaign_of_1000_seeds_is_safe_and_live(block: int) -> None:
    """Ten blocks of 100 seeds, so a failure points at a small range."""
    per_block = DEFAULT_SEEDS // 10
    results = run_seeds(block * per_block, per_block)
    # The campaign must really have broken things, or passing proves nothing.
    assert sum(r.faults_injected for r in results) > 5 * per_block
    assert sum(r.terms > 2 for r in results) > per_block // 4
    assert sum(r.snapshots_installed for r in results) > 0  # InstallSnapshot exercised
    assert sum(r.membership_changes for r in results) > per_block // 2  # and reconfiguration
    assert all(r.committed >= 1 for r in results)


@pytest.mark.soak
def test_soak_campaign() -> None:
    count = int(os.environ.get("RANET_SOAK_SEEDS", "20000"))
    results = run_seeds(DEFAULT_SEEDS, count)
    assert all(r.committed >= 1 for r in results)
