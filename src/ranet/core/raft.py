"""RaftCore: the pure Raft protocol state machine of one server.

Theory of operation. Everything enters through four doors, all synchronous
and deterministic: ``tick()`` (one unit of logical time), ``step(message)``
(a message from a peer), ``propose(data)`` (a client command, leader only)
and ``advance(ready)`` (the runtime's report that a batch is durable).
Everything leaves through one: ``ready()`` returns a ``Ready`` batch of state
to persist, messages to send and entries to apply (see ``ready.py``).

Rule 1 - no IO. This module imports no clock, socket, thread, file or global
random source; randomness comes from the ``rng`` the caller injects. The
same core runs under the asyncio runtime, the simulator and unit tests.

Rule 2 - terms order everything (Raft §5.1). A message from a higher term
turns us into a follower of that term before it is handled; a message from
a lower term is answered with our term (so a stale leader learns it is
stale) or ignored. Pre-vote messages are the exception: they probe a term
without entering it (thesis §9.6).

Rule 3 - promises wait for the disk. A granted vote, a RequestVote and an
append acknowledgement are released as ``persisted_messages``: the runtime
sends them only after the hard state and entries of the same Ready are
durable. The leader counts itself toward a commit only for entries the
runtime has reported durable (thesis §10.2.1).

Leader-side replication (progress, flow control, commit) lives in
``replication.py``; this module holds roles, elections and the follower side.
"""

from __future__ import annotations

from typing import Protocol

from ranet.core.config import CoreConfig
from ranet.core.log import RaftLog
from ranet.core.membership import ChangeKind, Configuration, MembershipChange
from ranet.core.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Heartbeat,
    HeartbeatResponse,
    InstallSnapshot,
    Message,
    RequestVote,
    RequestVoteResponse,
    TimeoutNow,
)
from ranet.core.quorum import VoteResult, has_quorum, vote_result
from ranet.core.read_only import ReadState
from ranet.core.ready import Ready
from ranet.core.replication import Replicator
from ranet.core.types import Entry, EntryKind, HardState, Role, SnapshotMeta, SoftState
from ranet.errors import (
    ConfigurationError,
    NotLeader,
    ProposalDropped,
    ProtocolInvariantViolated,
)

# Messages that promise nothing about this node's disk and may leave at once.
_IMMEDIATE = (AppendEntries, Heartbeat, HeartbeatResponse, TimeoutNow, InstallSnapshot)
# Messages only a leader sends: their sender is the leader of their term.
_FROM_LEADER = (AppendEntries, Heartbeat, TimeoutNow, InstallSnapshot)


class RandomSource(Protocol):
    """The one source of randomness the core uses (e.g. a seeded ``random.Random``)."""

    def randrange(self, start: int, stop: int) -> int: ...


class RaftCore:
    """One Raft server's protocol state. See the module docstring."""

    def __init__(
        self,
        node_id: int,
        voters: frozenset[int] | set[int] | list[int],
        rng: RandomSource,
        config: CoreConfig | None = None,
        *,
        hard_state: HardState | None = None,
        snapshot: SnapshotMeta | None = None,
        entries: list[Entry] | None = None,
    ) -> None:
        """Create a core, fresh or restarted from what its storage recovered.

        ``voters`` is the initial configuration; a snapshot's configuration,
        when there is one, takes precedence over it.
        """
        self.id = node_id
        self.config = config or CoreConfig()
        self._rng = rng
        snapshot = snapshot or SnapshotMeta()
        hard_state = hard_state or HardState()
        self._initial_configuration = Configuration(frozenset(voters))
        self.configuration = self._initial_configuration
        self.voters: frozenset[int] = self.configuration.voters
        self.learners: frozenset[int] = self.configuration.learners
        self._configuration_seen: tuple[int, SnapshotMeta | None] = (-1, None)
        self.snapshot_meta = snapshot
        self.log = RaftLog(snapshot.last_index, snapshot.last_term, entries or ())
        self.log.commit_to(min(hard_state.commit_index, self.log.last_index))

        self.current_term = hard_state.current_term
        self.voted_for = hard_state.voted_for
        self.role = Role.FOLLOWER
        self.leader_id: int | None = None
        self.votes: dict[int, bool] = {}
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.ticks = 0  # logical time since start, for "heard from recently"
        self.randomized_election_timeout = 0
        self._reset_election_timer()

        self.replicator: Replicator | None = None
        self._refresh_membership()
        self.configuration_changed = False  # the runtime knows its starting configuration
        self._messages: list[Message] = []
        self._persisted_messages: list[Message] = []
        self.read_states: list[ReadState] = []
        self._snapshot_to_install: tuple[SnapshotMeta, bytes] | None = None
        self._last_hard_state = self.hard_state
        self._last_soft_state = self.soft_state

    # -- observable state -----------------------------------------------------

    @property
    def hard_state(self) -> HardState:
        return HardState(self.current_term, self.voted_for, self.log.commit_index)

    @property
    def soft_state(self) -> SoftState:
        return SoftState(self.role, self.leader_id, self.current_term)

    @property
    def commit_index(self) -> int:
        return self.log.commit_index

    @property
    def is_leader(self) -> bool:
        return self.role == Role.LEADER

    def peers(self) -> list[int]:
        """Every other member this server replicates to (voters and learners)."""
        return sorted((self.voters | self.learners) - {self.id})

    # -- inputs ------------------------------------------------------------------

    def tick(self) -> None:
        """Advance logical time by one tick (Raft §5.2 timers)."""
        self.ticks += 1
        if self.replicator is not None:
            self._tick_leader()
            return
        self.election_elapsed += 1
        if self.election_elapsed >= self.randomized_election_timeout and self._may_campaign():
            self.campaign()

    def propose(self, data: bytes, kind: int = EntryKind.NORMAL) -> int:
        """Append a client command (or, with ``kind`` BATCH, several packed into
        one entry by the runtime) to the leader's log; return its index.

        Raises ``NotLeader`` (with the leader this server knows, if any) on a
        non-leader, so the caller can redirect at once rather than wait, and
        ``ProposalDropped`` while leadership is being transferred.
        """
        replicator = self.check_accepts_proposals()
        return replicator.append([Entry(self.current_term, data, kind)])

    def propose_batch(self, commands: list[bytes]) -> int:
        """Append many commands at once, one entry each; return the index of the last."""
        replicator = self.check_accepts_proposals()
        term = self.current_term
        return replicator.append([Entry(term, data) for data in commands])

    def check_accepts_proposals(self) -> Replicator:
        """The leader's replicator, if a proposal would be appended now; else raise
        ``NotLeader`` or ``ProposalDropped``."""
        replicator = self.replicator
        if replicator is None:
            raise NotLeader(self.leader_id)
        if replicator.transfer_target is not None:
            raise ProposalDropped(
                f"leadership is being transferred to node {replicator.transfer_target}"
            )
        return replicator

    def transfer_leadership(self, target: int | None = None) -> int:
        """Hand leadership to ``target``, or to the most up-to-date follower
        (thesis §3.10); return the chosen node.

        The leader stops accepting proposals, brings the target's log up to
        date, then sends it ``TimeoutNow`` so it campaigns at once. If no new
        leader emerges within an election timeout the transfer is abandoned
        and proposals are accepted again.
        """
        if self.replicator is None:
            raise NotLeader(self.leader_id)
        return self.replicator.start_transfer(target)

    def compact(self, index: int) -> SnapshotMeta:
        """The runtime saved a snapshot of the state machine at applied ``index``:
        drop the log up to it (Raft §7). Returns the snapshot's metadata, which
        the runtime stores with the snapshot's data."""
        meta = self.snapshot_meta_at(index)
        self.log.compact(index)
        self.snapshot_meta = meta
        self._refresh_membership()
        return meta

    def snapshot_meta_at(self, index: int) -> SnapshotMeta:
        """What a snapshot of the state machine at applied ``index`` covers: the
        entry's term and the configuration in force there (Raft §7), its
        context - the members' addresses - included, so that a node restarted
        from the snapshot still knows members that joined by a change."""
        term = self.log.term(index)
        if term is None:
            raise ProtocolInvariantViolated(f"no entry {index} to snapshot at")
        configuration = self._configuration_at(index)
        return SnapshotMeta(
            index,
            term,
            tuple(sorted(configuration.voters)),
            tuple(sorted(configuration.learners)),
            configuration.context,
        )

    def report_snapshot(self, peer: int, *, delivered: bool) -> None:
        """The runtime tells whether it managed to send ``peer`` the snapshot."""
        if self.replicator is not None:
            self.replicator.report_snapshot(peer, delivered=delivered)

    def read_index(self, context: bytes) -> None:
        """Ask for a linearizable read (thesis §6.4); leader only.

        When leadership is confirmed, ``ReadState(context, index)`` appears in
        a Ready: serve the read once the state machine has applied ``index``.
        Raises ``NotLeader`` elsewhere. Reads pending when the leader steps
        down are never released; the runtime fails them on the role change.
        """
        if self.replicator is None:
            raise NotLeader(self.leader_id)
        self.replicator.read_index(context)

    def notify_commit(self, peer: int) -> None:
        """Leader only (else nothing): tell ``peer`` the commit index now rather
        than at the next heartbeat, for a follower about to wait until it
        applies an index (replication.py, Rule 3)."""
        if self.replicator is not None:
            self.replicator.notify_commit(peer)

    def campaign(self, *, transfer: bool = False) -> None:
        """Start an election now: a pre-vote round first when enabled (thesis §9.6)."""
        if self.config.pre_vote and not transfer:
            self._become_pre_candidate()
        else:
            self._become_candidate(transfer=transfer)

    def step(self, message: Message) -> None:
        """Handle one message from a peer (Raft Figure 2, "Rules for Servers")."""
        if message.term > self.current_term:
            if not self._enter_higher_term(message):
                return
        elif message.term < self.current_term:
            self._answer_stale(message)
            return
        if isinstance(message, RequestVote):
            self._handle_request_vote(message)
        elif isinstance(message, RequestVoteResponse):
            self._handle_vote_response(message)
        elif isinstance(message, AppendEntries | Heartbeat | InstallSnapshot):
            self._handle_leader_message(message)
        elif isinstance(message, TimeoutNow):
            if self._may_campaign() and self.role != Role.LEADER:
                self.campaign(transfer=True)  # thesis §3.10: skip the wait and the pre-vote
        elif self.replicator is not None:
            self.replicator.handle_response(message)
        self._refresh_membership()

    # -- membership (thesis §4.1, membership.py) ------------------------------------

    def propose_membership(self, change: MembershipChange) -> int:
        """Append a single-server configuration change; return its index.

        It takes effect at once (membership.py rule 1) and is committed like
        any entry. Raises ``NotLeader``, ``ProposalDropped`` while another
        change is uncommitted (rule 2) or before the leader has committed an
        entry of its term (rule 3), and ``ConfigurationError`` for an
        invalid change (a node added twice, the last voter removed, ...).
        """
        if self.replicator is None:
            raise NotLeader(self.leader_id)
        log = self.log
        latest = log.latest_config()
        if latest is not None and latest[0] > log.commit_index:
            raise ProposalDropped(
                f"a membership change is already in progress (entry {latest[0]}); "
                "retry when it has committed"
            )
        if log.term(log.commit_index) != self.current_term:
            raise ProposalDropped("a new leader must commit an entry first; retry shortly")
        if self.replicator.transfer_target is not None:
            raise ProposalDropped("leadership is being transferred")
        configuration = self.configuration.changed(change)
        self._check_change_is_safe(change, configuration)
        index = self.replicator.append(
            [Entry(self.current_term, configuration.encode(), EntryKind.CONFIG)]
        )
        self._refresh_membership()
        return index

    def _check_change_is_safe(self, change: MembershipChange, after: Configuration) -> None:
        """Refuse changes that would stall the cluster: promoting a learner that
        has not caught up, or leaving too few reachable voters for a majority."""
        replicator = self.replicator
        assert replicator is not None
        if change.kind is ChangeKind.PROMOTE:
            match = replicator.progress[change.node_id].match_index
            if match < self.log.commit_index:
                raise ConfigurationError(
                    f"node {change.node_id} has not caught up (it holds entries up to {match}, "
                    f"the commit index is {self.log.commit_index}); promote it once it has"
                )
        if after.voters != self.voters and not has_quorum(after.voters, replicator.reachable()):
            raise ConfigurationError(
                "the change would lose quorum: too few of the voters after it answered "
                "within an election timeout"
            )

    def _refresh_membership(self) -> None:
        """Put the configuration in force (the log's latest) into effect."""
        seen_version, seen_meta = self._configuration_seen
        if self.log.config_version == seen_version and self.snapshot_meta is seen_meta:
            return  # nothing that decides the configuration changed (the common case)
        self._configuration_seen = (self.log.config_version, self.snapshot_meta)
        latest = self.log.latest_config()
        if latest is not None:
            configuration = Configuration.decode(latest[1].data)
        elif self.snapshot_meta.last_index > 0:
            meta = self.snapshot_meta
            configuration = Configuration(
                frozenset(meta.voters), frozenset(meta.learners), meta.context
            )
        else:
            configuration = self._initial_configuration
        if configuration != self.configuration:
            self.configuration = configuration
            self.voters, self.learners = configuration.voters, configuration.learners
            self.configuration_changed = True
            if self.replicator is not None:
                self.replicator.follow_membership()

    def _may_campaign(self) -> bool:
        """Voters campaign; so does a voter being removed, while its removal is
        uncommitted: thesis §4.2.2, it "might still be needed until the C_new
        entry is committed". Its own vote does not count (it is no voter of
        C_new), so it wins only with a majority of C_new."""
        if self.id in self.voters:
            return True
        latest = self.log.latest_config()
        if latest is None or latest[0] <= self.log.commit_index:
            return False
        return self.id in self._configuration_at(latest[0] - 1).voters

    def _configuration_at(self, index: int) -> Configuration:
        latest = self.log.latest_config(at_or_before=index)
        if latest is not None:
            return Configuration.decode(latest[1].data)
        meta = self.snapshot_meta
        if meta.last_index > 0:
            return Configuration(frozenset(meta.voters), frozenset(meta.learners), meta.context)
        return self._initial_configuration

    # -- term rules ----------------------------------------------------------------

    def _enter_higher_term(self, message: Message) -> bool:
        """Apply rule 2 to a message from a higher term; False to drop it."""
        if isinstance(message, RequestVote):
            lease = self.config.check_quorum or message.pre_vote
            if lease and self._heard_from_leader_recently() and not message.transfer:
                # Thesis §4.2.3 and §9.6: a server that heard from a live leader
                # within the minimum election timeout ignores vote requests, so
                # a removed or partitioned server cannot depose a working leader.
                return False
            if message.pre_vote:
                return True  # a pre-vote never changes our term
            self._become_follower(message.term, None)
            return True
        if isinstance(message, RequestVoteResponse) and message.pre_vote and message.vote_granted:
            return True  # granted pre-votes carry the term we would campaign in
        leader = (
            message.src if isinstance(message, AppendEntries | Heartbeat | TimeoutNow) else None
        )
        self._become_follower(message.term, leader)
        return True

    def _heard_from_leader_recently(self) -> bool:
        return self.leader_id is not None and self.election_elapsed < self.config.election_ticks

    def _answer_stale(self, message: Message) -> None:
        """A message from an older term: tell its sender our term (Raft §5.1)."""
        if isinstance(message, _FROM_LEADER):
            self.emit(AppendEntriesResponse(self.id, message.src, self.current_term, False))
        elif isinstance(message, RequestVote):
            self.emit(
                RequestVoteResponse(
                    self.id, message.src, self.current_term, False, pre_vote=message.pre_vote
                )
            )

    # -- role changes --------------------------------------------------------------

    def _reset_election_timer(self) -> None:
        """Raft §5.2: randomized timeouts (by default in [T, 2T)) make split votes rare."""
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = self._rng.randrange(*self.config.election_timeout_range)

    def _become_follower(self, term: int, leader_id: int | None) -> None:
        if term > self.current_term:
            self.current_term = term
            self.voted_for = None
        self.role = Role.FOLLOWER
        self.leader_id = leader_id
        self.replicator = None
        self._reset_election_timer()

    def step_down(self) -> None:
        """Leave office in the current term (e.g. removed from the configuration)."""
        self._become_follower(self.current_term, None)

    def _become_pre_candidate(self) -> None:
        """Thesis §9.6: ask whether we *could* win term + 1, without entering it."""
        self.role = Role.PRE_CANDIDATE
        self.leader_id = None
        self.replicator = None
        self._reset_election_timer()
        self._start_vote(self.current_term + 1, pre_vote=True, transfer=False)

    def _become_candidate(self, *, transfer: bool) -> None:
        """Raft §5.2: enter a new term, vote for ourselves, request votes."""
        self.current_term += 1
        self.voted_for = self.id
        self.role = Role.CANDIDATE
        self.leader_id = None
        self.replicator = None
        self._reset_election_timer()
        self._start_vote(self.current_term, pre_vote=False, transfer=transfer)

    def _start_vote(self, term: int, *, pre_vote: bool, transfer: bool) -> None:
        self.votes = {self.id: True}
        if self._tally() is not VoteResult.PENDING:
            return
        for voter in sorted(self.voters - {self.id}):
            self.emit(
                RequestVote(
                    self.id,
                    voter,
                    term,
                    self.log.last_index,
                    self.log.last_term,
                    pre_vote=pre_vote,
                    transfer=transfer,
                )
            )

    def _tally(self) -> VoteResult:
        """Act on the votes so far: win, lose, or keep waiting."""
        result = vote_result(self.voters, self.votes)
        if result is VoteResult.WON:
            if self.role == Role.PRE_CANDIDATE:
                self._become_candidate(transfer=False)
            else:
                self._become_leader()
        elif result is VoteResult.LOST:
            self._become_follower(self.current_term, None)
        return result

    def _become_leader(self) -> None:
        """Raft §5.2 and §8: take office and commit a no-op of our own term,
        which also commits every earlier entry (§5.4.2) and lets ReadIndex
        know the commit index is current (thesis §6.4)."""
        self.role = Role.LEADER
        self.leader_id = self.id
        self.replicator = Replicator(self)
        self.heartbeat_elapsed = 0
        self.election_elapsed = 0
        self.replicator.append([Entry(self.current_term, b"", EntryKind.NOOP)])

    def _tick_leader(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        replicator = self.replicator
        assert replicator is not None
        if self.election_elapsed >= self.config.election_ticks:
            self.election_elapsed = 0
            replicator.abandon_transfer()  # no new leader within a timeout
            if self.config.check_quorum and not replicator.quorum_recently_active():
                # Thesis §6.2: a leader cut off from a majority steps down.
                self._become_follower(self.current_term, None)
                return
        if self.heartbeat_elapsed >= self.config.heartbeat_ticks:
            self.heartbeat_elapsed = 0
            replicator.broadcast_heartbeat()

    # -- elections -------------------------------------------------------------------

    def _handle_request_vote(self, message: RequestVote) -> None:
        """Raft §5.2 and §5.4.1: one vote per term, only for an up-to-date log.

        A pre-vote is granted on the same log check, to a term above ours,
        when we do not follow a live leader; it records nothing.
        """
        if message.pre_vote:
            can_vote = message.term > self.current_term
        else:
            can_vote = self.voted_for == message.src or (
                self.voted_for is None and self.leader_id is None
            )
        granted = can_vote and self.log.is_up_to_date(message.last_log_index, message.last_log_term)
        if granted and not message.pre_vote:
            self.voted_for = message.src
            self._reset_election_timer()
        term = message.term if granted and message.pre_vote else self.current_term
        self.emit(RequestVoteResponse(self.id, message.src, term, granted, message.pre_vote))

    def _handle_vote_response(self, message: RequestVoteResponse) -> None:
        expected_role = Role.PRE_CANDIDATE if message.pre_vote else Role.CANDIDATE
        if self.role != expected_role:
            return  # a late answer to an election we already left
        self.votes.setdefault(message.src, message.vote_granted)
        self._tally()

    # -- follower side ------------------------------------------------------------

    def _handle_leader_message(self, message: AppendEntries | Heartbeat | InstallSnapshot) -> None:
        """A message from the leader of our term: follow it (Raft §5.2)."""
        if self.role == Role.LEADER:
            return  # two leaders in one term cannot happen (§5.2); drop forged input
        if self.role != Role.FOLLOWER or self.leader_id != message.src:
            self._become_follower(self.current_term, message.src)
        self.election_elapsed = 0
        if isinstance(message, InstallSnapshot):
            self._handle_install_snapshot(message)
        elif isinstance(message, Heartbeat):
            # The leader caps commit_index at what it knows we hold.
            self.log.commit_to(min(message.commit_index, self.log.last_index))
            self.emit(HeartbeatResponse(self.id, message.src, self.current_term, message.context))
        else:
            self._handle_append_entries(message)

    def _handle_install_snapshot(self, message: InstallSnapshot) -> None:
        """Raft §7, InstallSnapshot receiver: keep a log that already holds the
        snapshot's last entry; otherwise discard it all and adopt the snapshot."""
        log = self.log
        index = message.last_index
        if index > log.commit_index:
            if log.matches(index, message.last_term):
                log.commit_to(index)
            else:
                meta = SnapshotMeta(
                    index, message.last_term, message.voters, message.learners, message.context
                )
                log.restore(index, message.last_term)
                self.snapshot_meta = meta
                self._snapshot_to_install = (meta, message.data)
        match = max(index, log.commit_index)
        self.emit(
            AppendEntriesResponse(self.id, message.src, self.current_term, True, match_index=match)
        )

    def _handle_append_entries(self, message: AppendEntries) -> None:
        """Raft Figure 2, AppendEntries receiver rules, with a conflict hint."""
        log = self.log
        if message.prev_log_index < log.commit_index:
            # Everything up to our commit index is known to match the leader.
            self.emit(
                AppendEntriesResponse(
                    self.id, message.src, self.current_term, True, match_index=log.commit_index
                )
            )
            return
        last_new_index = log.maybe_append(
            message.prev_log_index, message.prev_log_term, message.leader_commit, message.entries
        )
        if last_new_index is not None:
            self.emit(
                AppendEntriesResponse(
                    self.id, message.src, self.current_term, True, match_index=last_new_index
                )
            )
            return
        hint_index = log.find_conflict_by_term(message.prev_log_index, message.prev_log_term)
        self.emit(
            AppendEntriesResponse(
                self.id,
                message.src,
                self.current_term,
                False,
                reject_index=message.prev_log_index,
                hint_index=hint_index,
                hint_term=log.term(hint_index) or 0,
            )
        )

    # -- output ----------------------------------------------------------------------

    def emit(self, message: Message) -> None:
        """Queue an outgoing message in the right half of the next Ready (rule 3)."""
        if isinstance(message, _IMMEDIATE) or (
            isinstance(message, RequestVote | RequestVoteResponse) and message.pre_vote
        ):
            self._messages.append(message)
        else:
            self._persisted_messages.append(message)

    def has_ready(self) -> bool:
        """Whether ``ready()`` would return any work."""
        if self.replicator is not None:
            self.replicator.flush()
        return bool(
            self._messages
            or self._persisted_messages
            or self.log.has_unpersisted()
            or self.log.has_committed_to_apply()
            or self.read_states
            or self._snapshot_to_install is not None
            or self.configuration_changed
            or self.hard_state != self._last_hard_state
            or self.soft_state != self._last_soft_state
        )

    def ready(self) -> Ready:
        """Take the pending work as one batch (see ``ready.py`` for the contract)."""
        if self.replicator is not None:
            self.replicator.flush()
        ready = Ready()
        soft_state = self.soft_state
        if soft_state != self._last_soft_state:
            ready.soft_state = self._last_soft_state = soft_state
        if self._snapshot_to_install is not None:
            ready.snapshot, self._snapshot_to_install = self._snapshot_to_install, None
            ready.must_sync = True
        hard_state = self.hard_state
        previous = self._last_hard_state
        if hard_state != previous:
            ready.hard_state = self._last_hard_state = hard_state
            ready.must_sync = ready.must_sync or (
                hard_state.current_term,
                hard_state.voted_for,
            ) != (
                previous.current_term,
                previous.voted_for,
            )
        if self.log.has_unpersisted():
            ready.entries_first_index, ready.entries = self.log.take_unpersisted()
            ready.must_sync = True
        if self.log.has_committed_to_apply():
            ready.committed_first_index, ready.committed_entries = self.log.take_committed()
        ready.read_states, self.read_states = self.read_states, []
        if self.configuration_changed:
            ready.configuration, self.configuration_changed = self.configuration, False
        ready.messages, self._messages = self._messages, []
        ready.persisted_messages, self._persisted_messages = self._persisted_messages, []
        return ready

    def advance(self, ready: Ready) -> None:
        """The runtime reports that ``ready``'s state and entries are durable."""
        if ready.entries:
            self.log.stable_to(ready.last_entry_index, ready.entries[-1].term)
            if self.replicator is not None:
                self.replicator.self_persisted()
