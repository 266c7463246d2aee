"""Streams with a consumer group against five real nodes: entries added with
XADD and taken with XREADGROUP ... > and XACK under kills, pauses and
partitions are kept once, delivered at most once, and left pending exactly
when their delivery or acknowledgement was lost (tests/jepsen/streams.py
says what is checked). Short runs by default; ``--soak`` runs each scenario
for RANET_JEPSEN_SECONDS (default 300). The checker's negative controls run
on recorded histories with each kind of breach put in."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ranet.node.loop import run as run_event_loop
from tests.client.helpers import serving
from tests.jepsen.nemesis import under_faults
from tests.jepsen.network import proxied_cluster
from tests.jepsen.streams import GROUP, Ack, Add, Final, History, Read, Streams, breaches
from tests.jepsen.test_jepsen import CI_SECONDS, SCENARIOS, seed


@dataclasses.dataclass
class StreamsRun:
    name: str
    seed: int
    seconds: float
    streams: Streams
    finals: list[Final | None]
    faults: list[str]
    breaches: list[str]
    elapsed: float = 0.0
    saved: Path | None = None

    def summary(self) -> str:
        outcomes = self.streams.outcomes
        final = next((f for f in self.finals if f is not None), None)
        kept = "?" if final is None else f"{len(final.entries)} entries, {len(final.pending)}"
        by = ", ".join(f"{kind} {n}" for kind, n in sorted(outcomes.items()))
        return (
            f"streams {self.name} (seed {self.seed}): {self.seconds:g} s of load and faults, "
            f"{self.elapsed:.1f} s in all\n  {by}\n  stream: {kept} pending\n"
            f"  breaches: {len(self.breaches)}"
        )


async def streams_run(
    data_dir: Path, name: str, faults: tuple[str, ...], seconds: float, run_seed: int
) -> StreamsRun:
    """Create the group, add and take under ``faults`` for ``seconds``, heal,
    read every node, and check; a run with breaches is saved."""
    rng = random.Random(run_seed)
    async with proxied_cluster(5, data_dir, node_args=("--quiet",)) as network:
        cluster = network.cluster
        await serving(cluster)
        addresses = [("127.0.0.1", cluster.client_ports[n]) for n in cluster.nodes]
        streams = Streams(addresses, random.Random(rng.random()))
        await streams.create_group()
        log: list[str] = []
        streams.outcomes.update(
            await under_faults(network, streams.run, faults, seconds, rng, log=log)
        )
        await serving(cluster)
        finals = await streams.finals(len(cluster.nodes))
        run = StreamsRun(
            name, run_seed, seconds, streams, finals, log, breaches(streams.history, finals)
        )
        if run.breaches:
            output = "\n".join(
                f"[node {node.node_id}] {line}"
                for node in cluster.nodes.values()
                for line in node.lines
            )
            run.saved = save(run, output)
        return run


def save(run: StreamsRun, node_output: str) -> Path:
    """The history, final reads, faults, node output and breaches of a run, in a new temp dir."""
    directory = Path(tempfile.mkdtemp(prefix=f"ranet-jepsen-streams-{run.name}-"))
    history = run.streams.history
    with (directory / "history.jsonl").open("w", encoding="utf-8") as lines:
        for kind, calls in (("add", history.adds), ("read", history.reads), ("ack", history.acks)):
            for call in calls:
                lines.write(json.dumps({"call": kind, **_plain(dataclasses.asdict(call))}))
                lines.write("\n")
    (directory / "finals.txt").write_text(
        "\n".join(repr(final) for final in run.finals) + "\n", encoding="utf-8"
    )
    (directory / "faults.txt").write_text("\n".join(run.faults) + "\n", encoding="utf-8")
    (directory / "nodes.log").write_text(node_output, encoding="utf-8")
    (directory / "summary.txt").write_text(
        "\n".join([run.summary(), *run.breaches, *history.errors]) + "\n", encoding="utf-8"
    )
    return directory


def _plain(value: object) -> object:
    """``value`` with bytes as text (latin-1), for JSON."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {str(_plain(key)): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def execute(data_dir: Path, name: str, faults: tuple[str, ...], seconds: float) -> StreamsRun:
    started = time.monotonic()
    run_seed = seed()
    run = run_event_loop(
        asyncio.wait_for(streams_run(data_dir, name, faults, seconds, run_seed), seconds + 240)
    )
    run.elapsed = time.monotonic() - started
    return run


def verify(run: StreamsRun) -> None:
    print(run.summary())
    print("\n".join(run.faults))
    outcomes = run.streams.outcomes
    assert outcomes["add ok"] > 0 and outcomes["received"] > 0 and outcomes["ack ok"] > 0, outcomes
    assert not run.breaches, "\n".join(
        [run.summary(), *run.breaches[:20], f"history, final reads and node output in {run.saved}"]
    )


def test_stream_entries_are_kept_and_delivered_once_under_faults(tmp_path: Path) -> None:
    verify(execute(tmp_path, "mixed", SCENARIOS["mixed"], CI_SECONDS))


@pytest.mark.soak
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_soak_stream_entries_are_kept_and_delivered_once_under_faults(
    name: str, tmp_path: Path
) -> None:
    seconds = float(os.environ.get("RANET_JEPSEN_SECONDS", "300"))
    verify(execute(tmp_path, name, SCENARIOS[name], seconds))


# -- the checker's negative controls: recorded histories, breaches put in -----------


def _entry(ms: int, producer: int, sequence: int) -> tuple[bytes, dict[bytes, bytes]]:
    return b"%d-0" % ms, {b"producer": b"%d" % producer, b"seq": b"%d" % sequence}


def recorded() -> tuple[History, list[Final | None]]:
    """A history without a breach, with every kind of outcome in it.

    Entries 1-0 to 7-0. Producer 1's seq 1 was refused and its seq 2 is
    unknown and not applied; producer 0's seq 1 is unknown and applied (3-0).
    c0 received 1-0 and 2-0 and acknowledged them; c1's lost reply
    delivered 3-0; c2's XACK of 4-0 has an unknown outcome, not applied;
    c3's XACK of 5-0 was refused; c0's XACK of 6-0 is unknown, applied;
    7-0 came after the consumers stopped.
    """
    entries = [
        _entry(1, 0, 0),
        _entry(2, 1, 0),
        _entry(3, 0, 1),
        _entry(4, 0, 2),
        _entry(5, 0, 3),
        _entry(6, 1, 3),
        _entry(7, 0, 4),
    ]
    history = History(
        adds=[
            Add(0, 0, "ok", b"1-0"),
            Add(1, 0, "ok", b"2-0"),
            Add(0, 1, "unknown"),
            Add(1, 1, "refused"),
            Add(0, 2, "ok", b"4-0"),
            Add(1, 2, "unknown"),
            Add(0, 3, "ok", b"5-0"),
            Add(1, 3, "ok", b"6-0"),
            Add(0, 4, "ok", b"7-0"),
        ],
        reads=[
            Read(b"c0", 0, "ok", entries[0:2]),
            Read(b"c1", 1, "ok", []),
            Read(b"c1", 1, "unknown"),
            Read(b"c2", 2, "ok", entries[3:4]),
            Read(b"c3", 3, "ok", entries[4:5]),
            Read(b"c0", 0, "refused"),
            Read(b"c0", 1, "ok", entries[5:6]),
        ],
        acks=[
            Ack(b"c0", 0, [b"1-0", b"2-0"], "ok", 2),
            Ack(b"c2", 2, [b"4-0"], "unknown"),
            Ack(b"c3", 3, [b"5-0"], "refused"),
            Ack(b"c0", 1, [b"6-0"], "unknown"),
        ],
    )
    group = {
        "name": GROUP,
        "consumers": 4,
        "pending": 3,
        "last-delivered-id": b"6-0",
        "entries-read": 6,
        "lag": 1,
    }
    pending = [(b"3-0", b"c1", 1), (b"4-0", b"c2", 1), (b"5-0", b"c3", 1)]
    finals: list[Final | None] = [
        Final(node, copy.deepcopy(entries), list(pending), [dict(group)]) for node in range(5)
    ]
    return history, finals


def _everywhere(change: Callable[[Final], None]) -> Callable[[History, list[Final | None]], None]:
    def apply(_: History, finals: list[Final | None]) -> None:
        for final in finals:
            assert final is not None
            change(final)

    return apply


def _on_node_2(change: Callable[[Final], None]) -> Callable[[History, list[Final | None]], None]:
    def apply(_: History, finals: list[Final | None]) -> None:
        assert finals[2] is not None
        change(finals[2])

    return apply


def _swap_entries(final: Final) -> None:
    final.entries[4], final.entries[5] = final.entries[5], final.entries[4]


def _reorder_producer_0(history: History, finals: list[Final | None]) -> None:
    """Producer 0's acknowledged seq 2 and 3 come out the other way round:
    seq 3 under 4-0, seq 2 under 5-0, as their replies say and as received."""
    history.adds[4].id, history.adds[6].id = b"5-0", b"4-0"
    four, five = _entry(4, 0, 3), _entry(5, 0, 2)
    for final in finals:
        assert final is not None
        final.entries[3:5] = [four, five]
    history.reads[3].entries = [four]
    history.reads[4].entries = [five]


def _many_pending_unseen(history: History, finals: list[Final | None]) -> None:
    """Seven entries pending under c1 that nobody received, from its one lost
    reply of at most five: 3-0, 7-0 and five more of unknown adds."""
    history.adds += [Add(2, sequence, "unknown") for sequence in range(5)]
    for final in finals:
        assert final is not None
        final.entries += [_entry(8 + sequence, 2, sequence) for sequence in range(5)]
        final.pending += [(b"%d-0" % ms, b"c1", 1) for ms in range(7, 13)]
        final.groups[0].update(
            {"pending": 9, "last-delivered-id": b"12-0", "entries-read": 12, "lag": 0}
        )


BREACHES: dict[str, tuple[Callable[[History, list[Final | None]], None], str]] = {
    "a node misses an entry": (_on_node_2(lambda f: f.entries.pop()), "hold different entries"),
    "IDs out of order": (_everywhere(_swap_entries), "not strictly increasing"),
    "a node's group differs": (
        _on_node_2(lambda f: f.groups[0].update({"last-delivered-id": b"5-0"})),
        "show different groups",
    ),
    "a node's pending list differs": (
        _on_node_2(lambda f: f.pending.pop()),
        "different pending entries",
    ),
    "a node does not answer": (lambda h, f: f.__setitem__(4, None), "did not answer"),
    "the group is missing": (_everywhere(lambda f: f.groups.clear()), "no group"),
    "an acknowledged add lost": (
        _everywhere(lambda f: f.entries.pop()),
        "acknowledged adds not in the stream",
    ),
    "an add under another ID": (
        lambda h, f: setattr(h.adds[0], "id", b"2-0"),
        "under another ID than their reply named",
    ),
    "a payload twice": (
        _everywhere(lambda f: f.entries.append((b"8-0", {b"producer": b"0", b"seq": b"4"}))),
        "in the stream twice",
    ),
    "an entry never sent": (
        _everywhere(lambda f: f.entries.append((b"8-0", {b"producer": b"9", b"seq": b"0"}))),
        "never sent",
    ),
    "a refused add applied": (
        _everywhere(lambda f: f.entries.append((b"8-0", {b"producer": b"1", b"seq": b"1"}))),
        "never sent",
    ),
    "a producer's adds reordered": (_reorder_producer_0, "out of order"),
    "an entry received by two consumers": (
        lambda h, f: h.reads.append(Read(b"c3", 3, "ok", h.reads[0].entries[:1])),
        "received more than once",
    ),
    "an entry received twice by one consumer": (
        lambda h, f: h.reads.append(Read(b"c0", 0, "ok", h.reads[0].entries[:1])),
        "received more than once",
    ),
    "an entry received that is not in the stream": (
        lambda h, f: h.reads[6].entries.append((b"9-0", {b"producer": b"0", b"seq": b"9"})),
        "received entries not in the stream",
    ),
    "an entry received with other fields": (
        lambda h, f: h.reads.__setitem__(
            6, Read(b"c0", 1, "ok", [(b"6-0", {b"producer": b"1", b"seq": b"4"})])
        ),
        "other fields",
    ),
    "an acknowledged entry still pending": (
        _everywhere(lambda f: f.pending.insert(0, (b"1-0", b"c0", 1))),
        "was acknowledged",
    ),
    "a pending entry under another consumer": (
        _everywhere(lambda f: f.pending.__setitem__(1, (b"4-0", b"c1", 1))),
        "but received by",
    ),
    "a pending entry no lost reply explains": (
        lambda h, f: h.reads.__setitem__(2, Read(b"c1", 1, "refused")),
        "that no one received",
    ),
    "more pending entries than lost replies hold": (
        _many_pending_unseen,
        "7 entries pending under b'c1' that no one received",
    ),
    "an entry delivered twice": (
        _everywhere(lambda f: f.pending.__setitem__(0, (b"3-0", b"c1", 2))),
        "delivered 2 times",
    ),
    "an XACK that acknowledged less": (
        lambda h, f: setattr(h.acks[0], "count", 1),
        "answered 1",
    ),
    "a refused XACK applied": (
        _everywhere(lambda f: f.pending.pop()),
        "not pending under its consumer",
    ),
    "last-delivered-id below a delivery": (
        _everywhere(lambda f: f.groups[0].update({"last-delivered-id": b"5-0"})),
        "is below an entry received",
    ),
    "an entry skipped by the group": (
        _everywhere(lambda f: f.pending.pop(0)),
        "neither received nor pending",
    ),
    "an entry delivered after last-delivered-id": (
        _everywhere(lambda f: f.pending.append((b"7-0", b"c1", 1))),
        "after last-delivered-id delivered",
    ),
    "entries-read off": (
        _everywhere(lambda f: f.groups[0].update({"entries-read": 5})),
        "entries-read 5",
    ),
    "an unexpected error reply": (
        lambda h, f: h.errors.append("XREADGROUP: NOGROUP No such key"),
        "unexpected error reply",
    ),
}


def test_the_check_passes_the_recorded_history() -> None:
    assert breaches(*recorded()) == []


@pytest.mark.parametrize("name", list(BREACHES))
def test_the_check_catches(name: str) -> None:
    """The negative controls: each kind of breach, put into a history that
    passes, is caught."""
    history, finals = recorded()
    change, expected = BREACHES[name]
    change(history, finals)
    found = breaches(history, finals)
    assert any(expected in breach for breach in found), found
