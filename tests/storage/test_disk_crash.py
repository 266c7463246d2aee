"""Crash safety with real processes: SIGKILL a writer at random moments.

base.py Rule 3 and DESIGN.md "Persistence rules": a crash loses only what was
never synced, and never leaves a hole. A child process (disk_crash_child.py)
appends, overwrites suffixes, sets hard state, syncs and snapshots, announcing
each step; the parent kills it at a random moment, recovers a copy of the
directory, and checks that what it reads back is the acknowledged state
followed by a prefix of the announced in-flight operations (the last one
possibly cut short), every byte intact. Then it restarts the child on the
crashed directory itself, so that recovery of each crash is also exercised
by the process that goes on writing.

A SIGKILL keeps the page cache, so this exercises torn writes at the tail
(half the kills are aimed just after an append starts) and interrupted
multi-step operations (rollover, suffix overwrite, compaction, snapshot
rename), not the loss of unsynced pages in a power cut; that is modelled by
MemoryStorage.crash() in the simulator. The child runs every other time with
the unsafe fsync=False, which a SIGKILL cannot tell apart and which puts more
of its time into the writes that a kill can tear.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

from disk_crash_child import entry_data, snapshot_data

from ranet.core.types import EntryKind, HardState, SnapshotMeta
from ranet.storage import PersistentState
from ranet.storage.disk import DiskStorage

CHILD = Path(__file__).with_name("disk_crash_child.py")
KILLS = 100
MAX_RUN_SECONDS = 0.03
TIMEOUT = 30.0


class Outcome(NamedTuple):
    """A state a restarted node may find: entry terms from some base index on
    (``terms[k]`` is the term of entry ``base + k``), hard state, snapshot index."""

    terms: tuple[int, ...]
    hard_state: HardState
    snapshot_index: int

    def after(self, base: int, op: list[str], count: int | None = None) -> Outcome:
        """This state after an announced operation, or after only ``count``
        entries of an append (a write the kill cut short)."""
        kind, *args = op
        if kind == "A":
            first, total, term = map(int, args)
            written = (term,) * (total if count is None else count)
            return self._replace(terms=self.terms[: first - base] + written)
        if kind == "H":
            return self._replace(hard_state=HardState(int(args[0]), 1, int(args[1])))
        return self._replace(snapshot_index=int(args[0]))

    def outcomes(self, base: int, in_flight: list[list[str]]) -> list[Outcome]:
        """Every state a crash during ``in_flight`` may leave: a prefix of the
        operations done, the next one not at all or cut short."""
        found = [self]
        state = self
        for op in in_flight:
            if op[0] == "A":
                found += [state.after(base, op, count) for count in range(int(op[2]))]
            state = state.after(base, op)
            found.append(state)
        return found


class Child:
    """One run of the child process, its announcements collected by a thread."""

    def __init__(self, directory: Path, seed: int, stderr: Path) -> None:
        self._stderr = open(stderr, "wb")  # noqa: SIM115 - closed in kill()
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), str(directory), str(seed)],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.lines: list[list[str]] = []
        self.appends = 0
        self._ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            if not raw.endswith(b"\n"):
                break  # killed mid-announcement: that operation never started
            with self._changed:
                self.lines.append(raw.decode().split())
                self.appends += self.lines[-1][0] == "A"
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for_appends(self, count: int) -> None:
        """Until the child has recovered and announced ``count`` appends."""
        with self._changed:
            reached = self._changed.wait_for(
                lambda: self._ended or (self.lines and self.appends >= count), TIMEOUT
            )
        assert reached and self.lines, "the child did not get going in time"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=TIMEOUT)
        self._reader.join(timeout=TIMEOUT)
        self._stderr.close()
        assert self.process.stdout is not None
        self.process.stdout.close()


def recovered_outcome(
    state: PersistentState,
    snapshot: tuple[SnapshotMeta, bytes] | None,
    acknowledged: Outcome,
    base: int,
    candidates: list[Outcome],
) -> Outcome:
    """The candidate the recovered state is, as a whole-log outcome.

    ``acknowledged`` holds the whole log (base 1); the candidates hold entries
    from ``base`` on, the entries before it being the same in all of them.
    Every byte read back is checked on the way.
    """
    for index, entry in enumerate(state.entries, state.snapshot.last_index + 1):
        assert entry == (entry.term, entry_data(index, entry.term), EntryKind.NORMAL), index
    if state.snapshot.last_index:
        assert snapshot == (
            state.snapshot,
            snapshot_data(state.snapshot.last_index, state.snapshot.last_term),
        )
        assert state.snapshot.voters == (1, 2, 3)
    else:
        assert snapshot is None
    terms = tuple(entry.term for entry in state.entries)
    unchanged = base - 1 - state.snapshot.last_index  # recovered entries before base
    if unchanged >= 0:
        assert terms[:unchanged] == acknowledged.terms[state.snapshot.last_index : base - 1]
    for candidate in candidates:
        same = (candidate.hard_state, candidate.snapshot_index) == (
            state.hard_state,
            state.snapshot.last_index,
        )
        if same and candidate.terms[max(0, -unchanged) :] == terms[max(0, unchanged) :]:
            return candidate._replace(terms=acknowledged.terms[: base - 1] + candidate.terms)
    raise AssertionError(
        f"recovered log up to {state.last_index} with {state.hard_state} and snapshot "
        f"{state.snapshot.last_index} is none of the {len(candidates)} states the crash "
        "could leave"
    )


def test_acknowledged_writes_survive_sigkill_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(20240601)
    directory = tmp_path / "node"
    acknowledged = Outcome((), HardState(), 0)  # the whole log: base index 1
    syncs = beyond_acknowledged = 0
    for kill in range(KILLS):
        child = Child(directory, rng.randrange(1 << 30), tmp_path / "child.stderr")
        try:
            if kill % 2:  # at any moment
                child.wait_for_appends(0)
                time.sleep(rng.uniform(0, MAX_RUN_SECONDS))
            else:  # just after an append starts, often in the middle of its write
                child.wait_for_appends(rng.randint(1, 8))
                time.sleep(rng.uniform(0, 0.0006))
        finally:
            child.kill()
        assert child.process.returncode == -9, (tmp_path / "child.stderr").read_text()
        assert child.lines[0] == ["R", str(len(acknowledged.terms))]

        in_flight: list[list[str]] = []
        for line in child.lines[1:]:
            if line == ["S"]:
                for op in in_flight:
                    acknowledged = acknowledged.after(1, op)
                in_flight = []
                syncs += 1
            else:
                in_flight.append(line)
        next_index = len(acknowledged.terms) + 1
        base = min([int(op[1]) for op in in_flight if op[0] == "A"] + [next_index])
        start = acknowledged._replace(terms=acknowledged.terms[base - 1 :])

        copy = tmp_path / f"recovered-{kill}"
        shutil.copytree(directory, copy)
        with DiskStorage(copy) as storage:
            state, snapshot = storage.load(), storage.load_snapshot()
        shutil.rmtree(copy)
        outcome = recovered_outcome(
            state, snapshot, acknowledged, base, start.outcomes(base, in_flight)
        )
        beyond_acknowledged += outcome != acknowledged
        acknowledged = outcome

    assert syncs >= KILLS, "the child should acknowledge about a sync per run or more"
    assert beyond_acknowledged > KILLS // 10, "kills should land in the middle of operations"
