"""Elections, one rule of the paper per test (Raft §5.1, §5.2, §5.4.1; thesis §9.6, §6.2)."""

from __future__ import annotations

import random

import pytest

from ranet.core import (
    AppendEntries,
    CoreConfig,
    Entry,
    HardState,
    Heartbeat,
    RaftCore,
    RequestVote,
    RequestVoteResponse,
    Role,
)
from ranet.errors import NotLeader
from tests.core.harness import NO_PRE_VOTE, Cluster, new_core, sent, take


def ticks_until_campaign(core: RaftCore) -> int:
    ticks = 0
    while core.role == Role.FOLLOWER:
        core.tick()
        ticks += 1
        assert ticks < 1000
    return ticks


def test_follower_campaigns_after_randomized_election_timeout() -> None:
    """§5.2: a follower that hears nothing for an election timeout becomes a
    candidate, increments its term, votes for itself and asks every peer."""
    core = new_core(1, (1, 2, 3))
    ticks = ticks_until_campaign(core)
    assert NO_PRE_VOTE.election_ticks <= ticks < 2 * NO_PRE_VOTE.election_ticks
    assert (core.role, core.current_term, core.voted_for) == (Role.CANDIDATE, 1, 1)
    ready = take(core)
    requests = [m for m in sent(ready) if isinstance(m, RequestVote)]
    assert sorted(m.dst for m in requests) == [2, 3]
    assert all(m.term == 1 and not m.pre_vote for m in requests)


def test_election_timeouts_are_randomized_per_server() -> None:
    """§5.2: randomized timeouts spread elections out so split votes are rare."""
    timeouts = {ticks_until_campaign(new_core(i, (i, 100, 101))) for i in range(1, 30)}
    assert len(timeouts) > 3
    assert all(10 <= t < 20 for t in timeouts)


def test_requestvote_waits_for_the_term_and_self_vote_to_be_durable() -> None:
    """Persistence rule: term and vote are on disk before a RequestVote leaves."""
    core = new_core(1, (1, 2, 3))
    core.campaign()
    ready = core.ready()
    assert ready.hard_state == HardState(current_term=1, voted_for=1, commit_index=0)
    assert all(isinstance(m, RequestVote) for m in ready.persisted_messages)
    assert len(ready.persisted_messages) == 2
    assert not ready.messages


def test_candidate_with_majority_becomes_leader_and_appends_noop() -> None:
    """§5.2 a majority wins; §8 the new leader commits a no-op of its term,
    which the followers learn is committed from its next heartbeat."""
    cluster = Cluster(3)
    cluster.elect(1)
    leader = cluster[1]
    assert leader.role == Role.LEADER and leader.leader_id == 1
    assert leader.log.entries[-1].term == leader.current_term
    assert leader.log.entries[-1].data == b""
    assert leader.commit_index == 1
    cluster.tick(1)
    cluster.deliver()
    assert all(core.commit_index == 1 for core in cluster.cores.values())
    assert all(core.leader_id == 1 for core in cluster.cores.values())


def test_one_vote_per_term() -> None:
    """§5.2: each server votes for at most one candidate in a term, first come."""
    voter = new_core(3, (1, 2, 3))
    voter.step(RequestVote(1, 3, 5, 0, 0))
    voter.step(RequestVote(2, 3, 5, 0, 0))
    responses = [m for m in sent(take(voter)) if isinstance(m, RequestVoteResponse)]
    assert [(m.dst, m.vote_granted) for m in responses] == [(1, True), (2, False)]
    # The same candidate asking again (a retry) gets the same answer.
    voter.step(RequestVote(1, 3, 5, 0, 0))
    assert [m.vote_granted for m in sent(take(voter))] == [True]


def test_vote_is_durable_before_it_is_granted_and_survives_restart() -> None:
    """Figure 2: votedFor is persistent; a restarted server cannot vote twice."""
    cluster = Cluster(3)
    voter = cluster[3]
    voter.step(RequestVote(1, 3, 5, 0, 0))
    ready = voter.ready()
    assert ready.hard_state is not None and ready.hard_state.voted_for == 1
    assert [m.vote_granted for m in ready.persisted_messages] == [True]
    assert not ready.messages
    cluster.storage[3].set_hard_state(ready.hard_state)
    cluster.storage[3].sync()
    cluster.restart(3)
    cluster[3].step(RequestVote(2, 3, 5, 0, 0))
    assert [m.vote_granted for m in sent(take(cluster[3]))] == [False]


@pytest.mark.parametrize(
    ("candidate_last_index", "candidate_last_term", "granted"),
    [
        (2, 1, False),  # same last term, shorter log
        (3, 1, True),  # same last term, same length
        (4, 1, True),  # same last term, longer log
        (9, 0, False),  # lower last term, however long
        (1, 2, True),  # higher last term, however short
    ],
)
def test_vote_only_for_an_up_to_date_log(
    candidate_last_index: int, candidate_last_term: int, granted: bool
) -> None:
    """§5.4.1: grant a vote only if the candidate's log is at least as up-to-date."""
    voter = RaftCore(
        3,
        frozenset({1, 2, 3}),
        random.Random(3),
        NO_PRE_VOTE,
        hard_state=HardState(current_term=1),
        entries=[Entry(1, b"a"), Entry(1, b"b"), Entry(1, b"c")],
    )
    voter.step(RequestVote(1, 3, 2, candidate_last_index, candidate_last_term))
    (response,) = sent(take(voter))
    assert response.vote_granted is granted


def test_higher_term_turns_a_leader_into_follower() -> None:
    """§5.1: a server that sees a higher term adopts it and becomes follower."""
    cluster = Cluster(3)
    cluster.elect(1)
    cluster[1].step(Heartbeat(2, 1, 7, 0))
    assert (cluster[1].role, cluster[1].current_term, cluster[1].leader_id) == (
        Role.FOLLOWER,
        7,
        2,
    )


def test_stale_term_message_is_answered_with_current_term() -> None:
    """§5.1: a request with a stale term is rejected, and the reply carries the
    current term so the stale sender steps down."""
    follower = new_core(2, (1, 2, 3))
    follower.step(Heartbeat(1, 2, 4, 0))
    take(follower)
    follower.step(AppendEntries(3, 2, 2, 0, 0, (Entry(2, b"x"),), 0))
    (reply,) = sent(take(follower))
    assert reply.term == 4 and not reply.success
    assert follower.log.last_index == 0


def test_candidate_steps_down_for_a_leader_of_its_term() -> None:
    """§5.2: a candidate that hears from a leader of its own term becomes follower."""
    candidate = new_core(2, (1, 2, 3))
    candidate.campaign()
    take(candidate)
    candidate.step(Heartbeat(1, 2, 1, 0))
    assert candidate.role == Role.FOLLOWER and candidate.leader_id == 1


def test_split_vote_leads_to_a_new_election_in_a_higher_term() -> None:
    """§5.2: with no winner, candidates time out and start a new election."""
    candidate = new_core(1, (1, 2, 3))
    candidate.campaign()
    candidate.step(RequestVoteResponse(2, 1, 1, False))
    assert candidate.role == Role.CANDIDATE  # one refusal of two: still possible
    ticks_until = 0
    while candidate.current_term == 1:
        candidate.tick()
        ticks_until += 1
        assert ticks_until < 20
    assert candidate.role == Role.CANDIDATE and candidate.current_term == 2


def test_candidate_that_cannot_win_returns_to_follower() -> None:
    """A majority of refusals ends the candidacy early (it can never win)."""
    candidate = new_core(1, (1, 2, 3))
    candidate.campaign()
    candidate.step(RequestVoteResponse(2, 1, 1, False))
    candidate.step(RequestVoteResponse(3, 1, 1, False))
    assert candidate.role == Role.FOLLOWER and candidate.current_term == 1


def test_single_node_cluster_elects_itself() -> None:
    core = new_core(1, (1,))
    core.campaign()
    assert core.role == Role.LEADER


def test_proposal_on_follower_fails_fast_with_leader_hint() -> None:
    """A proposal on a non-leader raises NotLeader naming the leader it knows."""
    cluster = Cluster(3)
    cluster.elect(2)
    with pytest.raises(NotLeader) as known:
        cluster[1].propose(b"x")
    assert known.value.leader_hint == 2
    candidate = new_core(1, (1, 2, 3))
    candidate.campaign()
    with pytest.raises(NotLeader) as unknown:
        candidate.propose(b"x")
    assert unknown.value.leader_hint is None


# -- pre-vote (thesis §9.6) ----------------------------------------------------------

PRE_VOTE = CoreConfig(pre_vote=True, check_quorum=False)


def test_pre_vote_probes_without_changing_term() -> None:
    """Thesis §9.6: a pre-candidate asks for term + 1 but keeps its term and vote."""
    core = new_core(1, (1, 2, 3), PRE_VOTE)
    ticks_until_campaign(core)
    assert (core.role, core.current_term, core.voted_for) == (Role.PRE_CANDIDATE, 0, None)
    ready = take(core)
    assert ready.hard_state is None
    requests = ready.messages
    assert all(isinstance(m, RequestVote) and m.pre_vote and m.term == 1 for m in requests)


def test_pre_vote_grant_records_nothing() -> None:
    voter = new_core(2, (1, 2, 3), PRE_VOTE)
    voter.step(RequestVote(1, 2, 1, 0, 0, pre_vote=True))
    ready = take(voter)
    assert voter.current_term == 0 and voter.voted_for is None
    assert ready.hard_state is None
    (response,) = ready.messages
    assert response.vote_granted and response.pre_vote and response.term == 1


def test_pre_vote_majority_starts_a_real_election() -> None:
    cluster = Cluster(3, PRE_VOTE)
    cluster[1].campaign()
    cluster.deliver()
    assert cluster[1].role == Role.LEADER and cluster[1].current_term == 1


def test_partitioned_node_does_not_inflate_its_term_with_pre_vote() -> None:
    """Thesis §9.6: an isolated server's pre-votes fail, so its term stays put
    and its return does not depose the leader."""
    cluster = Cluster(3, PRE_VOTE)
    cluster.elect(1)
    cluster.isolate(3)
    for _ in range(100):
        cluster.tick(3)
        cluster.deliver()
    assert cluster[3].current_term == 1
    cluster.heal()
    cluster.tick(1)
    cluster.deliver()
    assert cluster[1].role == Role.LEADER and cluster[1].current_term == 1
    assert cluster[3].leader_id == 1


def test_pre_vote_refused_while_a_leader_is_heard() -> None:
    """Thesis §9.6: a server that heard from a leader within the election
    timeout refuses pre-votes, so one flaky node cannot start elections."""
    voter = new_core(2, (1, 2, 3), PRE_VOTE)
    voter.step(Heartbeat(1, 2, 1, 0))
    take(voter)
    voter.step(RequestVote(3, 2, 2, 5, 1, pre_vote=True))
    assert not sent(take(voter))  # ignored entirely
    assert voter.current_term == 1


# -- check-quorum (thesis §6.2, §4.2.3) ------------------------------------------------

CHECK_QUORUM = CoreConfig(pre_vote=True, check_quorum=True)


def test_leader_without_a_majority_steps_down() -> None:
    """Thesis §6.2: a leader that hears from no majority for an election
    timeout steps down, so clients stop waiting on it."""
    cluster = Cluster(3, CHECK_QUORUM)
    cluster.elect(1)
    cluster.isolate(1)
    for _ in range(2 * CHECK_QUORUM.election_ticks):
        cluster.tick(1)
        cluster.deliver()
    assert cluster[1].role == Role.FOLLOWER


def test_leader_with_a_majority_keeps_office() -> None:
    cluster = Cluster(3, CHECK_QUORUM)
    cluster.elect(1)
    for _ in range(5 * CHECK_QUORUM.election_ticks):
        cluster.tick(1)
        cluster.deliver()
    assert cluster[1].role == Role.LEADER and cluster[1].current_term == 1


def test_vote_requests_ignored_within_leader_lease() -> None:
    """Thesis §4.2.3: a server that hears from a live leader ignores
    RequestVote from a higher term, so a disruptive server cannot depose it."""
    voter = new_core(2, (1, 2, 3), CHECK_QUORUM)
    voter.step(Heartbeat(1, 2, 1, 0))
    take(voter)
    voter.step(RequestVote(3, 2, 9, 5, 1))
    assert not sent(take(voter))
    assert voter.current_term == 1 and voter.leader_id == 1
