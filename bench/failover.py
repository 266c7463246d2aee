"""Failover time: SIGKILL the leader of a 3-node cluster under write load and
measure how long until a write sent after the kill is acknowledged.

    python bench/failover.py [TRIALS] [--max-trials N] [--trace]

Run from the repository root: it imports the tests' writer. It measures
TRIALS valid trials (default 20), running extra ones when some are invalid,
but at most ``--max-trials`` in all (default 1.5 x TRIALS: 30 for 20).

Each trial starts a fresh local cluster (real ``ranet node`` processes,
``--quiet``, fsync on, default timing: 50 ms ticks, elections after
0.5-1 s) and, once a leader is elected, a writer with the strategy of the
tests' ``Writer`` (tests/kv_cluster/test_leadership.py): redis-py without
retries, one SET at a time, 2 s socket timeout, and on any error the next
node in turn after a 20 ms pause. After 1 s of writes the harness asks every
node for ``INFO raft``, takes the node reporting ``role:leader`` in the
highest term, requires a majority to report that term with that node as
``leader_id``, asks that node once more, and sends it SIGKILL.

The figure: time from the SIGKILL to the acknowledgment of the first write
*sent* after it (bounded: 15 s). A write in flight at the kill may still be
acknowledged just after it (the old leader committed it before dying); such
acknowledgments are shown and not counted. A trial is invalid - reported,
not counted - when no leader can be confirmed, when writes resume although
no survivor became leader in a higher term (the killed node was not
leading), or when they resume within 50 ms.

Breakdown per trial, from the times the harness reads the nodes'
``BECAME ...`` lines (through a pipe, so possibly a few ms late) and the
writer's attempts: *detect* (kill to the first survivor's ``BECAME
PRE-CANDIDATE``: what was left of its election timeout), *vote* (to
``BECAME LEADER``), *find* (to the acknowledgment), split into *client* (new
leader to the start of the write that succeeded: the writer's pending
request failing, its 20 ms pauses, tries on the dead node) and *commit*
(that write's own round trip). ``--trace`` prints the writer's attempts and
the nodes' ``BECAME`` lines after each kill. At the end: median, p99
(nearest rank: with 20 trials the maximum), max, and the breakdown's
medians and ranges.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, ".")

import redis
from tests.kv_cluster.test_leadership import Attempt, Writer

from ranet.node.supervisor import LocalCluster

GIVE_UP = 15.0  # seconds without an acknowledged write before a trial gives up
TOO_FAST = 0.050  # a resumption faster than this cannot follow an election
WRITE_LOAD = 1.0  # seconds of writes before the kill
CONFIRM_WAIT = 5.0  # seconds to find a leader a majority agrees on
ELECTION_WAIT = 3.0  # after the resumption, seconds to see the new leader's line


@dataclass
class Trial:
    number: int
    gap: float | None = None  # kill to the acknowledgment of the first write sent after it
    invalid: str = ""  # why the trial measured nothing
    killed: int | None = None
    term: int = 0
    new_leader: int | None = None
    new_term: int = 0
    detect: float | None = None
    vote: float | None = None
    client: float | None = None
    commit: float | None = None
    retries: int = 0  # failed attempts that ended after the new leader was elected
    attempts: list[Attempt] = field(default_factory=list)
    late_acks: list[float] = field(default_factory=list)  # writes sent before the kill
    printed_leader: int | None = None  # the leader by what nodes printed, for comparison
    lines: list[tuple[float, int, str]] = field(default_factory=list)  # BECAME lines after
    killed_at: float = 0.0


def raft_info(port: int) -> dict[str, object]:
    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        return client.info("raft")
    finally:
        client.close()


def confirmed_leader(cluster: LocalCluster) -> tuple[int, int] | None:
    """(node, term) of the node that reports leading the highest term, when a
    majority reports that term with it as leader and it says so once more."""
    infos = {}
    for node in cluster.nodes:
        try:
            infos[node] = raft_info(cluster.client_ports[node])
        except (redis.RedisError, OSError):
            continue
    if not infos:
        return None
    top = max(int(info["term"]) for info in infos.values())
    leaders = [n for n, info in infos.items() if info["role"] == "leader" and info["term"] == top]
    if len(leaders) != 1:
        return None
    leader = leaders[0]
    agree = [n for n, info in infos.items() if info["term"] == top and info["leader_id"] == leader]
    if len(agree) <= cluster.size // 2:
        return None
    try:
        again = raft_info(cluster.client_ports[leader])
    except (redis.RedisError, OSError):
        return None
    if again["role"] != "leader" or again["term"] != top:
        return None
    return leader, top


def first_sent_after(attempts: list[Attempt], moment: float) -> Attempt | None:
    """The first acknowledged write sent at or after ``moment``."""
    for attempt in attempts:
        if attempt.outcome == "ok" and attempt.start >= moment:
            return attempt
    return None


def first_line(
    events: list[tuple[float, int, str]], after: float, prefix: str, nodes: set[int], term: int
) -> tuple[float, int, int] | None:
    """(time, node, term) of the first ``prefix (term N)`` line with N > ``term``."""
    for at, node, line in events:
        if at >= after and node in nodes and line.startswith(prefix):
            line_term = int(line.rsplit("(term ", 1)[1].rstrip(")"))
            if line_term > term:
                return at, node, line_term
    return None


async def trial(number: int) -> Trial:
    result = Trial(number)
    events: list[tuple[float, int, str]] = []

    def on_line(node: int, line: str) -> None:
        if line.startswith("BECAME "):
            events.append((time.monotonic(), node, line))

    with tempfile.TemporaryDirectory() as data:
        cluster = LocalCluster(3, Path(data), node_args=["--quiet"], on_line=on_line)
        await cluster.start()
        try:
            if not await cluster.wait_for(lambda: cluster.leader() is not None, GIVE_UP):
                result.invalid = "no leader elected at start"
                return result
            with Writer(cluster) as writer:
                await asyncio.sleep(WRITE_LOAD)
                confirmed = None
                deadline = time.monotonic() + CONFIRM_WAIT
                while confirmed is None and time.monotonic() < deadline:
                    confirmed = await asyncio.to_thread(confirmed_leader, cluster)
                    if confirmed is None:
                        await asyncio.sleep(0.05)
                if confirmed is None:
                    result.invalid = "no leader confirmed by a majority"
                    return result
                leader, term = confirmed
                result.killed, result.term = leader, term
                result.printed_leader = cluster.leader()
                killed_at = result.killed_at = time.monotonic()
                cluster.signal(leader, signal.SIGKILL)
                seen = 0
                while True:
                    count = len(writer.attempts)  # the writer thread only appends
                    success = first_sent_after(writer.attempts[seen:count], killed_at)
                    if success is not None or time.monotonic() - killed_at > GIVE_UP:
                        break
                    seen = count
                    await asyncio.sleep(0.002)
                survivors = set(cluster.nodes) - {leader}
                await cluster.wait_for(
                    lambda: (
                        first_line(events, killed_at, "BECAME LEADER", survivors, term) is not None
                    ),
                    ELECTION_WAIT,
                )
                attempts = [a for a in writer.attempts if a.end >= killed_at]
            result.attempts = attempts
            result.lines = [(at - killed_at, n, line) for at, n, line in events if at >= killed_at]
            result.late_acks = [
                a.end - killed_at for a in attempts if a.outcome == "ok" and a.start < killed_at
            ]
            if success is not None:
                result.gap = success.end - killed_at
            elected = first_line(events, killed_at, "BECAME LEADER", survivors, term)
            campaign = first_line(events, killed_at, "BECAME PRE-CANDIDATE", survivors, term - 1)
            if elected is None and result.gap is not None:
                result.invalid = f"writes resumed with no new leader: node {leader} was not leading"
            elif result.gap is not None and result.gap < TOO_FAST:
                result.invalid = f"writes resumed within {TOO_FAST * 1000:.0f} ms"
            if elected is not None:
                elected_at, result.new_leader, result.new_term = elected
                if campaign is not None and campaign[0] <= elected_at:
                    result.detect = campaign[0] - killed_at
                    result.vote = elected_at - campaign[0]
                if success is not None:
                    before = [
                        a for a in attempts if a.start >= killed_at and a.end <= success.start
                    ]
                    result.retries = sum(a.end >= elected_at for a in before)
                    result.client = max(0.0, success.start - elected_at)
                    result.commit = success.end - max(success.start, elected_at)
            return result
        finally:
            await cluster.stop(timeout=5)


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def report(result: Trial, trace: bool) -> None:
    head = f"trial {result.number:2d}:"
    if result.killed is None:
        print(f"{head} INVALID ({result.invalid})")
        return
    kill = f"killed node {result.killed} (leader, term {result.term})"
    gap = "no write within 15 s" if result.gap is None else f"resumed {ms(result.gap)} ms"
    breakdown = (
        f"detect {ms(result.detect)} + vote {ms(result.vote)} -> node {result.new_leader} "
        f"term {result.new_term}; find {ms(sum_or_none(result.client, result.commit))} "
        f"(client {ms(result.client)} with {result.retries} failed tries, "
        f"commit {ms(result.commit)})"
    )
    if result.invalid:
        print(f"{head} INVALID ({result.invalid}): {kill}, {gap}")
    else:
        print(f"{head} {kill}, {gap}: {breakdown}")
    if result.late_acks:
        at = ", ".join(f"{ms(t)} ms" for t in result.late_acks)
        print(f"    a write sent before the kill was acknowledged after it ({at}): not counted")
    if result.printed_leader != result.killed:
        print(f"    by the nodes' printed lines the leader was node {result.printed_leader}")
    if trace:
        for a in result.attempts:
            start, end = a.start - result.killed_at, a.end - result.killed_at
            print(f"    {start * 1000:7.0f} .. {end * 1000:6.0f} ms  node {a.node}  {a.outcome}")
        for at, node, line in result.lines:
            print(f"    {at * 1000:7.0f} ms  node {node} printed {line}")


def sum_or_none(*parts: float | None) -> float | None:
    return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least ``fraction`` of values <= it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def main(wanted: int, most: int, trace: bool) -> None:
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    valid: list[Trial] = []
    invalid: list[Trial] = []
    number = 0
    while len(valid) < wanted and number < most:
        result = await trial(number)
        (invalid if result.invalid else valid).append(result)
        report(result, trace)
        number += 1
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{len(valid)} valid trials of {number}; invalid: {len(invalid)}")
    gaps = [t.gap if t.gap is not None else GIVE_UP for t in valid]
    if not gaps:
        return
    timed_out = sum(t.gap is None for t in valid)
    late = sum(bool(t.late_acks) for t in valid + invalid)
    stale = sum(t.killed is not None and t.printed_leader != t.killed for t in valid + invalid)
    print(
        f"trials where a write sent before the kill was acknowledged after it: {late}; "
        f"where the printed lines named another leader: {stale}"
    )
    print(
        f"writes resumed after: median {ms(statistics.median(gaps))} ms, "
        f"p99 {ms(percentile(gaps, 0.99))} ms, max {ms(max(gaps))} ms, "
        f"min {ms(min(gaps))} ms" + (f" ({timed_out} gave up at 15 s)" if timed_out else "")
    )
    for name in ("detect", "vote", "client", "commit"):
        values = [getattr(t, name) for t in valid if getattr(t, name) is not None]
        if values:
            print(
                f"  {name:6s} median {ms(statistics.median(values))} ms, "
                f"min {ms(min(values))}, max {ms(max(values))} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trials", nargs="?", type=int, default=20, help="valid trials wanted")
    parser.add_argument("--max-trials", type=int, help="trials in all, at most (1.5 x TRIALS)")
    parser.add_argument("--trace", action="store_true", help="print the writer's attempts")
    options = parser.parse_args()
    most = options.max_trials or math.ceil(1.5 * options.trials)
    asyncio.run(main(options.trials, most, options.trace))
