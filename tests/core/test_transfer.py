"""Leadership transfer (thesis §3.10)."""

from __future__ import annotations

import pytest

from ranet.core import CoreConfig, Role, TimeoutNow
from ranet.errors import ConfigurationError, ProposalDropped
from tests.core.harness import NO_PRE_VOTE, Cluster

WITH_LEASE = CoreConfig(pre_vote=True, check_quorum=True)


@pytest.mark.parametrize("config", [NO_PRE_VOTE, WITH_LEASE])
def test_transfer_hands_leadership_to_the_chosen_follower(config: CoreConfig) -> None:
    """§3.10: the target campaigns at once on TimeoutNow and wins, even where
    check-quorum's lease would make voters ignore an ordinary candidate."""
    cluster = Cluster(3, config)
    cluster.elect(1)
    cluster[1].propose(b"x")
    cluster.deliver()
    assert cluster[1].transfer_leadership(3) == 3
    cluster.deliver()
    assert cluster[3].role == Role.LEADER and cluster[3].current_term == 2
    assert cluster[1].role == Role.FOLLOWER and cluster[1].leader_id == 3
    assert any(isinstance(m, TimeoutNow) and m.dst == 3 for m in cluster.delivered)


def test_target_is_caught_up_before_timeout_now() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    cluster.commit_without(3, [b"%d" % i for i in range(5)])
    cluster.delivered.clear()
    cluster[1].transfer_leadership(3)
    cluster.deliver()
    timeout_now = next(i for i, m in enumerate(cluster.delivered) if isinstance(m, TimeoutNow))
    appends_before = [m for m in cluster.delivered[:timeout_now] if m.dst == 3]
    assert appends_before  # the log was brought up to date first
    assert cluster[3].role == Role.LEADER
    assert cluster[3].log.entries[: len(cluster[1].log.entries) - 1] == cluster[1].log.entries[:-1]


def test_default_target_is_the_most_up_to_date_follower() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    cluster.commit_without(2, [b"x"])
    assert cluster[1].transfer_leadership() == 3


def test_proposals_are_refused_during_a_transfer_and_accepted_after_it_fails() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    cluster.isolate(3)
    cluster[1].transfer_leadership(3)
    with pytest.raises(ProposalDropped, match="transferred to node 3"):
        cluster[1].propose(b"x")
    for _ in range(cluster.config.election_ticks):
        cluster.tick(1)
        cluster.deliver()
    assert cluster[1].role == Role.LEADER
    assert cluster[1].propose(b"x") > 0  # the transfer was abandoned


def test_transfer_to_an_unknown_node_or_self_is_an_error() -> None:
    cluster = Cluster(3)
    cluster.elect(1)
    with pytest.raises(ConfigurationError):
        cluster[1].transfer_leadership(9)
    with pytest.raises(ConfigurationError):
        cluster[1].transfer_leadership(1)
