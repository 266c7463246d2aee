"""Shared arrangements for the simulation scenarios: wait, commit, observe.

Every wait is bounded in ticks of the virtual clock and fails with the trace
tail, so a failing scenario names its seed and shows what the cluster did.
``ObservedSimulation`` is a ``Simulation`` that also records each message it
hands to the network, which is how the scenarios count rejections, heartbeats
and replication cost without touching the simulator itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ranet.core import AppendEntriesResponse, CoreConfig, EntryKind, Message, Role
from ranet.sim import Simulation
from ranet.sim.cluster import SimNode

DEFAULT_CONFIG = CoreConfig()
# A follower campaigns after a random timeout in [T, 2T) ticks (Raft §5.2).
ELECTION_TIMEOUT = 2 * DEFAULT_CONFIG.election_ticks
# Generous but finite: an election normally takes one or two timeouts.
ELECTION_BOUND = 10 * ELECTION_TIMEOUT


class ObservedSimulation(Simulation):
    """A Simulation that records every message sent, with the time it left."""

    def __init__(self, *args, **kwargs) -> None:
        self.sent: list[tuple[int, Message]] = []
        super().__init__(*args, **kwargs)

    def _send(self, node: SimNode, messages: list[Message]) -> None:
        self.sent.extend((self.now, message) for message in messages)
        super()._send(node, messages)

    def mark(self) -> int:
        """A bookmark into ``sent``; pass it to the counters as ``since``."""
        return len(self.sent)

    def messages_since(self, since: int = 0) -> list[Message]:
        return [message for _, message in self.sent[since:]]

    def rejections(self, since: int = 0, to: int | None = None) -> int:
        """AppendEntries refused by the consistency check of Raft §5.3, if
        ``to`` is given only those answering node ``to``. (A stale-term answer,
        which tells a deposed leader the newer term, is not counted: it names
        no ``reject_index``.)"""
        return sum(
            1
            for message in self.messages_since(since)
            if isinstance(message, AppendEntriesResponse)
            and not message.success
            and message.reject_index > 0
            and (to is None or message.dst == to)
        )

    def propose_batch(self, values: list[bytes]) -> int:
        """Hand many commands to the leader in one call, as a busy client runtime
        does between two Readies; returns the index of the last one."""
        leader = self.leader()
        assert leader is not None, "no leader to propose to"
        node = self.nodes[leader]
        index = node.core.propose_batch(values)
        self._process(node)
        return index


# -- looking at the cluster ------------------------------------------------------


def leaders(sim: Simulation) -> list[int]:
    """Every live node that believes it leads, whatever its term."""
    return [n.node_id for n in sim.nodes.values() if n.alive and n.core.role == Role.LEADER]


def max_term(sim: Simulation) -> int:
    return max(node.core.current_term for node in sim.nodes.values())


def log_values(node: SimNode) -> list[bytes]:
    """Client commands in a node's log, committed or not, in log order."""
    return [e.data for e in node.core.log.entries if e.kind == EntryKind.NORMAL]


def applied_values(node: SimNode) -> list[bytes]:
    """Client commands a node's state machine applied (this incarnation), in order."""
    return [e.data for e in node.applied if e.kind == EntryKind.NORMAL]


def values(prefix: str, count: int) -> list[bytes]:
    return [f"{prefix}{i}".encode() for i in range(count)]


# -- bounded waits -----------------------------------------------------------------


def wait_until(sim: Simulation, condition: Callable[[], bool], max_ticks: int, what: str) -> None:
    """Run until ``condition`` holds, failing after ``max_ticks`` ticks."""
    if not sim.run_until(condition, max_ticks):
        tail = "\n".join(list(sim.trace)[-40:])
        raise AssertionError(f"seed {sim.seed}: not {what} within {max_ticks} ticks\n{tail}")


def wait_for_leader(
    sim: Simulation,
    among: Iterable[int] | None = None,
    *,
    above_term: int = 0,
    max_ticks: int = ELECTION_BOUND,
) -> int:
    """The leader of a term above ``above_term`` that emerges among ``among``
    (default: anyone) within the bound. A deposed leader that has not yet
    noticed (it steps down within an election timeout, thesis §6.2) does not
    count once ``above_term`` names its term."""
    group = set(sim.nodes) if among is None else set(among)

    def elected() -> int | None:
        found = [
            n for n in leaders(sim) if n in group and sim.nodes[n].core.current_term > above_term
        ]
        return max(found, key=lambda n: sim.nodes[n].core.current_term) if found else None

    wait_until(
        sim,
        lambda: elected() is not None,
        max_ticks,
        f"a leader above term {above_term} among {sorted(group)}",
    )
    leader = elected()
    assert leader is not None
    return leader


def commit(
    sim: Simulation, *commands: bytes, at: int | None = None, max_ticks: int = ELECTION_BOUND
) -> None:
    """Wait until every one of ``commands`` is committed.

    With ``at``, they are proposed once at that node, which must be the leader
    and stay so. Without it, they are offered to whoever leads, and offered
    again to a new leader whose log lacks them - a client retrying after the
    leader it asked lost office (Raft §8) - so faults just healed may still
    change leaders while this waits.
    """
    if at is not None:
        for command in commands:
            assert sim.propose(command, at) is not None, f"node {at} did not accept {command!r}"

    def all_committed() -> bool:
        committed = set(sim.committed_values())
        missing = [command for command in commands if command not in committed]
        leader = sim.leader()
        if at is None and missing and leader is not None:
            in_log = set(log_values(sim.nodes[leader]))
            for command in missing:
                if command not in in_log:
                    sim.propose(command, leader)
        return not missing

    wait_until(sim, all_committed, max_ticks, f"committed {len(commands)} commands")


def converged(sim: Simulation) -> bool:
    """Every node is live, holds the same log, has applied all of it, and that
    log holds every committed command."""
    nodes = list(sim.nodes.values())
    if not all(node.alive for node in nodes):
        return False
    first = nodes[0].core.log
    for node in nodes:
        log = node.core.log
        if log.entries != first.entries or log.commit_index != log.last_index:
            return False
        if len(node.applied) != log.last_index:
            return False
    committed = sim.committed_values()
    return log_values(nodes[0])[: len(committed)] == committed


def wait_converged(sim: Simulation, max_ticks: int = ELECTION_BOUND) -> None:
    wait_until(sim, lambda: converged(sim), max_ticks, "converged")


def steady_leader(sim: Simulation, first: bytes, max_ticks: int = ELECTION_BOUND) -> int:
    """Commit ``first``, let every node catch up, and return the leader then in
    office: the arrangement for scenarios that need one settled leader."""
    commit(sim, first, max_ticks=max_ticks)
    wait_converged(sim, max_ticks=max_ticks)
    return wait_for_leader(sim)


def assert_everyone_has_every_committed_value(sim: Simulation) -> None:
    """Raft §5.4.3 State Machine Safety, seen from the outside: every command
    known committed sits, in the same order, in every log and state machine."""
    committed = sim.committed_values()
    for node in sim.nodes.values():
        assert log_values(node)[: len(committed)] == committed, f"node {node.node_id} log"
        assert applied_values(node)[: len(committed)] == committed, f"node {node.node_id} applied"
    sim.check_logs_match()
