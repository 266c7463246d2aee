"""Single-server membership changes (thesis §4.1-§4.2; core/membership.py)."""

from __future__ import annotations

import pytest

from ranet.core import (
    AppendEntries,
    AppendEntriesResponse,
    ChangeKind,
    Configuration,
    CoreConfig,
    Entry,
    EntryKind,
    MembershipChange,
    RequestVote,
    Role,
)
from ranet.errors import ConfigurationError, ProposalDropped
from tests.core.harness import Cluster, new_core, sent, take

ADD_4 = MembershipChange(ChangeKind.ADD_LEARNER, 4, b"addresses")


def three_of_four() -> Cluster:
    """Nodes 1-3 are the cluster; node 4 runs but is not a member yet."""
    cluster = Cluster(4)
    for node_id in cluster.cores:
        cluster.cores[node_id] = new_core(node_id, (1, 2, 3), cluster.config)
    cluster.elect(1)
    return cluster


def test_a_configuration_takes_effect_when_appended_not_when_committed() -> None:
    """Thesis §4.1: servers use the latest configuration in their log."""
    cluster = three_of_four()
    leader = cluster[1]
    leader.propose_membership(ADD_4)
    assert leader.learners == {4} and leader.commit_index < leader.log.last_index
    ready = leader.ready()
    assert ready.configuration == Configuration(frozenset({1, 2, 3}), frozenset({4}), b"addresses")
    cluster.queue += sent(ready)
    leader.advance(ready)
    cluster.deliver()
    assert all(cluster[n].learners == {4} for n in (1, 2, 3, 4))


def test_a_learner_receives_the_log_but_neither_votes_nor_counts() -> None:
    cluster = three_of_four()
    cluster[1].propose_membership(ADD_4)
    cluster.deliver()
    cluster[1].propose(b"x")
    cluster.deliver()
    cluster.tick(1)  # the heartbeat carries the commit index
    cluster.deliver()
    assert cluster.applied[4] == [b"x"]  # it replicates
    cluster.down |= {2, 3}
    cluster[1].propose(b"y")
    cluster.deliver()
    assert b"y" not in cluster.applied[1]  # leader + learner are no majority of {1,2,3}
    for _ in range(30):
        cluster.tick(4)
    assert cluster[4].role == Role.FOLLOWER  # a learner never campaigns


def test_promotion_makes_the_learner_count() -> None:
    cluster = three_of_four()
    cluster[1].propose_membership(ADD_4)
    cluster.deliver()
    cluster[1].propose_membership(MembershipChange(ChangeKind.PROMOTE, 4))
    cluster.deliver()
    assert cluster[1].voters == {1, 2, 3, 4} and not cluster[1].learners
    cluster.down |= {3}
    cluster[1].propose(b"needs 3 of 4")
    cluster.deliver()
    assert b"needs 3 of 4" in cluster.applied[1]


def test_only_one_change_at_a_time() -> None:
    """Rule 2: a second change waits for the first to commit."""
    cluster = three_of_four()
    cluster[1].propose_membership(ADD_4)
    with pytest.raises(ProposalDropped, match="already in progress"):
        cluster[1].propose_membership(MembershipChange(ChangeKind.REMOVE, 3))
    cluster.deliver()
    cluster[1].propose_membership(MembershipChange(ChangeKind.REMOVE, 3))


def test_no_change_before_the_leader_commits_in_its_term() -> None:
    """Rule 3, the fix for the single-server-change bug (raft-dev, 2015)."""
    cluster = three_of_four()
    cluster.down |= {2, 3}
    cluster[1].step_down()
    cluster.down -= {2, 3}
    cluster.queue.clear()
    cluster[2].campaign()
    cluster.deliver(keep=lambda m: not isinstance(m, AppendEntriesResponse))  # no-op not acked
    assert cluster[2].is_leader and cluster[2].log.term(cluster[2].commit_index) != 2
    with pytest.raises(ProposalDropped, match="commit an entry first"):
        cluster[2].propose_membership(ADD_4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (MembershipChange(ChangeKind.ADD_LEARNER, 2), "already a member"),
        (MembershipChange(ChangeKind.PROMOTE, 4), "not a learner"),
        (MembershipChange(ChangeKind.REMOVE, 9), "not a member"),
    ],
)
def test_invalid_changes_are_refused(change: MembershipChange, message: str) -> None:
    cluster = three_of_four()
    with pytest.raises(ConfigurationError, match=message):
        cluster[1].propose_membership(change)


def test_the_last_voter_cannot_be_removed() -> None:
    with pytest.raises(ConfigurationError, match="last voter"):
        Configuration(frozenset({1})).changed(MembershipChange(ChangeKind.REMOVE, 1))


def test_a_removed_follower_cannot_disrupt_the_cluster() -> None:
    """The leader stops replicating to a removed server at once, so it may never
    learn of its removal; pre-vote and check-quorum keep its elections from
    disturbing the cluster (thesis §4.2.3)."""
    cluster = Cluster(3, CoreConfig(pre_vote=True, check_quorum=True))
    cluster.elect(1)
    cluster[1].propose_membership(MembershipChange(ChangeKind.REMOVE, 3))
    cluster.deliver()
    assert 3 not in cluster[1].replicator.progress and cluster[1].voters == {1, 2}
    for _ in range(100):
        for node_id in (1, 2, 3):
            cluster.tick(node_id)
        cluster.deliver()
    assert cluster[1].is_leader and cluster[1].current_term == 1
    assert cluster[2].leader_id == 1


def test_a_leader_removing_itself_steps_down_once_the_change_commits() -> None:
    """Thesis §4.2.2: it manages the cluster until C_new commits, not counting
    itself toward the commit, then steps down."""
    cluster = three_of_four()
    leader = cluster[1]
    index = leader.propose_membership(MembershipChange(ChangeKind.REMOVE, 1))
    assert leader.is_leader and leader.voters == {2, 3}
    take(leader)
    leader.step(AppendEntriesResponse(2, 1, 1, True, match_index=index))
    assert leader.is_leader  # 1 of {2, 3}: not yet a majority without itself
    leader.step(AppendEntriesResponse(3, 1, 1, True, match_index=index))
    assert leader.role == Role.FOLLOWER and leader.commit_index == index


def test_a_server_being_removed_still_campaigns_until_its_removal_commits() -> None:
    """Thesis §4.2.2: it "might still be needed until C_new is committed"."""
    core = new_core(2, (1, 2))
    removal = Configuration(frozenset({1})).encode()
    core.step(AppendEntries(1, 2, 1, 0, 0, (Entry(1, removal, EntryKind.CONFIG),), 0))
    take(core)
    assert 2 not in core.voters and core.commit_index == 0
    for _ in range(40):
        core.tick()
    assert core.role != Role.FOLLOWER or core.current_term > 1  # it stood for election
    requests = [m for m in take(core).persisted_messages if isinstance(m, RequestVote)]
    assert all(m.dst == 1 for m in requests)


def test_a_truncated_configuration_entry_restores_the_previous_one() -> None:
    """Rule 1: a configuration cut by a conflict is no longer in force."""
    core = new_core(2, (1, 2, 3))
    added = Configuration(frozenset({1, 2, 3}), frozenset({4})).encode()
    core.step(AppendEntries(1, 2, 1, 0, 0, (Entry(1, added, EntryKind.CONFIG),), 0))
    take(core)
    assert core.learners == {4}
    core.step(AppendEntries(3, 2, 2, 0, 0, (Entry(2, b"other"),), 0))
    assert core.learners == set() and core.voters == {1, 2, 3}
    assert take(core).configuration == Configuration(frozenset({1, 2, 3}))


def test_a_snapshot_records_the_configuration_at_its_index() -> None:
    cluster = three_of_four()
    cluster[1].propose_membership(ADD_4)
    cluster.deliver()
    meta = cluster[1].compact(cluster[1].log.applied)
    assert (meta.voters, meta.learners, meta.context) == ((1, 2, 3), (4,), b"addresses")


def test_a_learner_that_has_not_caught_up_cannot_be_promoted() -> None:
    cluster = three_of_four()
    cluster.down.add(4)
    cluster[1].propose_membership(ADD_4)
    cluster.deliver()
    with pytest.raises(ConfigurationError, match="has not caught up"):
        cluster[1].propose_membership(MembershipChange(ChangeKind.PROMOTE, 4))


def test_a_change_that_would_lose_quorum_is_refused() -> None:
    """Removing a live voter of {1, 2, 3} while 3 is unreachable would leave
    {1, 3}: no majority could be reached."""
    cluster = three_of_four()
    cluster.down.add(3)
    for _ in range(cluster.config.election_ticks + 1):
        cluster.tick(1)
        cluster.deliver()
    with pytest.raises(ConfigurationError, match="would lose quorum"):
        cluster[1].propose_membership(MembershipChange(ChangeKind.REMOVE, 2))
    cluster[1].propose_membership(MembershipChange(ChangeKind.REMOVE, 3))  # this one is fine
