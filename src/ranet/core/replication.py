"""The leader's side of log replication (Raft §5.3, §5.4.2).

Theory of operation. The leader keeps a ``Progress`` per follower and sends
AppendEntries lazily: proposals only mark the log as grown, and ``flush()``
(called when the runtime takes a Ready) sends each follower one batch of
everything new. Many proposals between two Readies therefore cost one
AppendEntries per follower, not one per proposal (DESIGN.md, "batch at every
layer"). A follower in REPLICATE state is sent further batches without
waiting for acknowledgements, up to ``max_inflight`` messages.

Rule 1 - commit by counting only in the current term (§5.4.2). An index is
committed when a majority of voters hold it *and* its entry is of the
leader's term; earlier entries commit with it.

Rule 2 - the leader counts itself only for entries on its own disk
(thesis §10.2.1): its own match index is the log's ``stable_index``.

Rule 3 - a new commit index is not a message of its own. Raft §5.3: the
leader "includes that index in future AppendEntries RPCs (including
heartbeats)": the next append carries it, and a follower with nothing new
learns it from the next heartbeat (every tick). Only a follower that must
apply up to an index it waits on (a read it forwarded) is told at once
(``notify_commit``). A notice per commit would cost, with one write in
flight, a message to and from every follower ahead of the client's reply
(docs/performance.md, optimization 17).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ranet.core.messages import (
    AppendEntries,
    AppendEntriesResponse,
    Heartbeat,
    HeartbeatResponse,
    InstallSnapshot,
    Message,
    TimeoutNow,
)
from ranet.core.progress import Progress, ReplicationState
from ranet.core.quorum import committed_index, has_quorum
from ranet.core.read_only import ReadOnlyQueue
from ranet.core.types import Entry
from ranet.errors import ConfigurationError

if TYPE_CHECKING:
    from ranet.core.raft import RaftCore


class Replicator:
    """Leader-only state: follower progress, batching, the commit rule."""

    def __init__(self, core: RaftCore) -> None:
        self.core = core
        next_index = core.log.last_index + 1
        self.progress: dict[int, Progress] = {
            peer: Progress(next_index, core.config.max_inflight) for peer in core.peers()
        }
        self._log_grew = False
        self.read_only = ReadOnlyQueue()
        self._reads_before_first_commit: list[bytes] = []
        self._read_round_due = False
        self._read_round_sent = 0  # the sequence number the last heartbeat round carried
        self.transfer_target: int | None = None

    def append(self, entries: list[Entry]) -> int:
        """Append the leader's own entries; they are sent at the next flush."""
        last_index = self.core.log.append(entries)
        self._log_grew = True
        return last_index

    # -- sending -----------------------------------------------------------------

    def flush(self) -> None:
        """Send what accumulated since the last flush: new entries (with the
        commit index, Rule 3), one heartbeat round for the reads that arrived."""
        if self._read_round_due and not self.read_only.waiting_since(self._read_round_sent):
            self._read_round_due = False  # no round in flight: one for the reads queued
            self._send_read_round()
        if self._log_grew:
            self._log_grew = False
            for peer in self.progress:
                self._send_entries(peer)

    def notify_commit(self, peer: int) -> None:
        """Tell ``peer`` now, by a heartbeat, a commit index it has not heard
        and can use (capped at what it holds), instead of at the next tick."""
        progress = self.progress.get(peer)
        if progress is None:
            return
        if min(progress.match_index, self.core.log.commit_index) > progress.sent_commit:
            self._send_heartbeat(peer, progress)

    def _send_entries(self, peer: int, *, allow_empty: bool = False) -> None:
        """Send ``peer`` batches from its ``next_index`` until the window is full.

        With ``allow_empty`` one message is sent even when there is nothing
        new, to probe where the follower's log ends.
        """
        core = self.core
        log = core.log
        progress = self.progress[peer]
        while not progress.is_paused():
            next_index = progress.next_index
            if next_index > log.last_index and not allow_empty:
                return
            allow_empty = False
            prev_log_index = next_index - 1
            prev_log_term = log.term(prev_log_index)
            if prev_log_term is None:  # compacted away: only a snapshot will do
                self._send_snapshot(peer, progress)
                return
            entries = self._batch(next_index)
            core.emit(
                AppendEntries(
                    core.id,
                    peer,
                    core.current_term,
                    prev_log_index,
                    prev_log_term,
                    tuple(entries),
                    log.commit_index,
                )
            )
            progress.sent_entries(prev_log_index + len(entries))
            progress.sent_commit = max(
                progress.sent_commit, min(log.commit_index, prev_log_index + len(entries))
            )
            if progress.state == ReplicationState.PROBE:
                return

    def _send_snapshot(self, peer: int, progress: Progress) -> None:
        """Raft §7: the follower lags behind the log's start; send the snapshot."""
        core = self.core
        log = core.log
        progress.become_snapshot(log.offset)
        meta = core.snapshot_meta
        core.emit(
            InstallSnapshot(
                core.id,
                peer,
                core.current_term,
                meta.last_index,
                meta.last_term,
                meta.voters,
                meta.learners,
                meta.context,
                b"",
            )
        )

    def reachable(self) -> set[int]:
        """This leader and the followers that answered within an election timeout."""
        core = self.core
        since = core.ticks - core.config.election_ticks
        heard = {peer for peer, progress in self.progress.items() if progress.heard_at >= since}
        return heard | {core.id}

    def follow_membership(self) -> None:
        """Track exactly the members of the configuration in force (thesis §4.1)."""
        core = self.core
        members = set(core.peers())
        for peer in sorted(members - self.progress.keys()):
            self.progress[peer] = Progress(core.log.last_index + 1, core.config.max_inflight)
            self._send_entries(peer, allow_empty=True)  # probe where the newcomer's log ends
        for peer in self.progress.keys() - members:
            del self.progress[peer]
            if peer == self.transfer_target:
                self.transfer_target = None
        if self.read_only:
            self._confirm_reads()  # fewer voters may make a majority already

    def report_snapshot(self, peer: int, *, delivered: bool) -> None:
        """The runtime could not deliver a snapshot: probe (and resend) at once."""
        progress = self.progress.get(peer)
        if progress is not None and progress.state == ReplicationState.SNAPSHOT and not delivered:
            progress.become_probe()

    def _batch(self, next_index: int) -> list[Entry]:
        """Entries from ``next_index`` within the per-message count and size limits."""
        config = self.core.config
        log = self.core.log
        entries = log.slice(next_index, next_index + config.max_entries_per_message)
        budget = config.max_bytes_per_message
        for count, entry in enumerate(entries):
            budget -= len(entry.data)
            if budget < 0 and count > 0:
                return entries[:count]
        return entries

    def _send_heartbeat(self, peer: int, progress: Progress) -> None:
        core = self.core
        commit = min(progress.match_index, core.log.commit_index)
        progress.sent_commit = max(progress.sent_commit, commit)
        context = self.read_only.last_sequence
        core.emit(Heartbeat(core.id, peer, core.current_term, commit, context))

    def _send_read_round(self) -> None:
        """A heartbeat round for the queued reads, sent only to as many voters as
        make a majority with this leader: those that answered rounds most
        recently. The others would only add messages; a chosen voter that
        stops answering is covered by the periodic heartbeat, which goes to all
        and carries the same sequence number (read_only.py)."""
        core = self.core
        voters = core.voters
        needed = len(voters) // 2 + 1 - (core.id in voters)
        followers = [peer for peer in self.progress if peer in voters]
        if len(followers) > needed:
            progress = self.progress
            followers.sort(key=lambda peer: progress[peer].read_acked, reverse=True)
            del followers[needed:]
        self._read_round_sent = self.read_only.last_sequence
        for peer in followers:
            self._send_heartbeat(peer, self.progress[peer])

    def broadcast_heartbeat(self) -> None:
        """Raft §5.2: an idle leader's proof of life (it carries the read round too)."""
        self._read_round_sent = self.read_only.last_sequence
        for peer, progress in self.progress.items():
            self._send_heartbeat(peer, progress)

    # -- receiving ----------------------------------------------------------------

    def handle_response(self, message: Message) -> None:
        progress = self.progress.get(message.src)
        if progress is None:
            return  # not a member we replicate to
        progress.recent_active = True
        progress.heard_at = self.core.ticks
        if isinstance(message, HeartbeatResponse):
            if message.context > progress.read_acked:
                progress.read_acked = message.context
                self._confirm_reads()
            self._handle_heartbeat_response(message.src, progress)
        elif isinstance(message, AppendEntriesResponse):
            if message.success:
                self._handle_append_success(message, progress)
            else:
                self._handle_append_rejection(message, progress)

    def _handle_heartbeat_response(self, peer: int, progress: Progress) -> None:
        """A follower is alive: unpause it and probe again if it lags.

        In REPLICATE state, a follower that acknowledged nothing for a whole
        heartbeat round while entries were in flight may have lost them: one
        window slot is freed and an append probes where its log ends (its
        rejection, if any, moves it back to PROBE). While acknowledgements
        flow, nothing is sent: the entries are merely still in flight.
        """
        if progress.state == ReplicationState.SNAPSHOT:
            progress.snapshot_wait += 1
            if progress.snapshot_wait < self.core.config.election_ticks:
                return  # give the snapshot time to arrive
            progress.become_probe()  # presumed lost: probe, which sends it again
        if progress.state == ReplicationState.REPLICATE and len(progress.inflights):
            if progress.acked_recently:
                progress.acked_recently = False
                return  # acknowledgements are flowing: entries are in flight, not lost
            if progress.inflights.full():
                progress.inflights.free_first()
        progress.probe_sent = False
        if progress.match_index < self.core.log.last_index:
            self._send_entries(peer, allow_empty=True)

    def _handle_append_success(self, message: AppendEntriesResponse, progress: Progress) -> None:
        updated = progress.maybe_update(message.match_index)
        state = progress.state
        if state == ReplicationState.SNAPSHOT:
            if progress.match_index < progress.snapshot_index:
                return  # not yet the snapshot's acknowledgement
            progress.become_replicate()
        elif state == ReplicationState.PROBE:
            if not (updated or progress.match_index == message.match_index):
                return  # a stale answer to an older probe
            progress.become_replicate()
        elif updated:
            progress.inflights.free_to(message.match_index)
        else:
            return  # a duplicate or reordered acknowledgement
        self.maybe_commit()
        self._send_entries(message.src)
        if message.src == self.transfer_target:
            self._maybe_send_timeout_now()

    def _handle_append_rejection(self, message: AppendEntriesResponse, progress: Progress) -> None:
        """Back off using the follower's conflict hint (Raft §5.3)."""
        log = self.core.log
        probe_index = message.hint_index
        if message.hint_term > 0:
            probe_index = log.find_conflict_by_term(message.hint_index, message.hint_term)
        if progress.maybe_back_off(message.reject_index, probe_index + 1):
            if progress.state == ReplicationState.REPLICATE:
                progress.become_probe()
            self._send_entries(message.src, allow_empty=True)

    # -- leadership transfer (thesis §3.10) ---------------------------------------------

    def start_transfer(self, target: int | None) -> int:
        core = self.core
        candidates = sorted(core.voters - {core.id})
        if target is None:
            if not candidates:
                raise ConfigurationError("a single-voter cluster has no one to transfer to")
            target = max(candidates, key=lambda peer: (self.progress[peer].match_index, -peer))
        elif target == core.id:
            raise ConfigurationError(f"node {target} already leads")
        elif target not in candidates:
            raise ConfigurationError(f"node {target} is not a voting member")
        self.transfer_target = target
        core.election_elapsed = 0  # the transfer has one election timeout to succeed
        self._send_entries(target, allow_empty=True)
        self._maybe_send_timeout_now()
        return target

    def _maybe_send_timeout_now(self) -> None:
        core = self.core
        target = self.transfer_target
        if target is not None and self.progress[target].match_index == core.log.last_index:
            core.emit(TimeoutNow(core.id, target, core.current_term))

    def abandon_transfer(self) -> None:
        self.transfer_target = None

    # -- ReadIndex (thesis §6.4, see read_only.py) -------------------------------------

    def read_index(self, context: bytes) -> None:
        """Queue a linearizable read; it appears in a Ready's ``read_states``."""
        if not self._committed_in_current_term():
            self._reads_before_first_commit.append(context)
            return
        self.read_only.add(context, self.core.log.commit_index)
        self._read_round_due = True
        if len(self.core.voters) == 1:
            self._confirm_reads()  # a single voter needs no round

    def _committed_in_current_term(self) -> bool:
        return self.core.log.term(self.core.log.commit_index) == self.core.current_term

    def _confirm_reads(self) -> None:
        acked = {peer: progress.read_acked for peer, progress in self.progress.items()}
        acked[self.core.id] = self.read_only.last_sequence
        confirmed = committed_index(self.core.voters, acked)
        self.core.read_states.extend(self.read_only.confirm_through(confirmed))

    # -- commit ----------------------------------------------------------------------

    def self_persisted(self) -> None:
        """The leader's own write finished: it may now count itself (rule 2)."""
        self.maybe_commit()

    def maybe_commit(self) -> bool:
        """Rule 1: advance the commit index to what a majority holds, if of our term."""
        core = self.core
        match_index = {peer: progress.match_index for peer, progress in self.progress.items()}
        match_index[core.id] = core.log.stable_index
        index = committed_index(core.voters, match_index)
        if index <= core.log.commit_index or core.log.term(index) != core.current_term:
            return False
        core.log.commit_to(index)
        if core.id not in core.voters:
            latest = core.log.latest_config()
            if latest is None or latest[0] <= index:
                # Thesis §4.2.2: a leader removed from the configuration steps
                # down once that configuration is committed.
                core.step_down()
                return True
        waiting, self._reads_before_first_commit = self._reads_before_first_commit, []
        for context in waiting:
            self.read_index(context)
        return True

    def quorum_recently_active(self) -> bool:
        """Thesis §6.2 check-quorum: did a majority answer since the last check?"""
        active = {peer for peer, progress in self.progress.items() if progress.recent_active}
        active.add(self.core.id)
        for progress in self.progress.values():
            progress.recent_active = False
        return has_quorum(self.core.voters, active)
