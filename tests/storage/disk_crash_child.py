"""Child process of test_disk_crash.py: writes to a DiskStorage until SIGKILLed.

Usage: ``python disk_crash_child.py DIRECTORY SEED``

It reopens the directory (recovery), then loops: a few appends (sometimes
overwriting a suffix with a newer term, Raft §5.3) and hard-state changes,
one sync, now and then a snapshot. It announces each operation on stdout
*before* doing it and reports ``S`` once a sync has returned, so the parent
knows exactly which writes were acknowledged and which were in flight:

    R <last_index>              recovered, about to start writing
    A <first> <count> <term>    append entries first..first+count-1 of term
    H <term> <commit>           set the hard state (voted_for is always 1)
    P <index> <term>            save a snapshot through index
    S                           everything announced so far is synced

Entry and snapshot contents are pure functions of their index and term, so
the parent can check every byte it reads back.
"""

from __future__ import annotations

import random
import sys

from ranet.core.types import Entry, HardState, SnapshotMeta
from ranet.storage.disk import DiskStorage

SEGMENT_SIZE = 512 * 1024
VOTERS = (1, 2, 3)


def entry_data(index: int, term: int) -> bytes:
    """Mostly up to 2 KiB, one entry in eight 64-128 KiB: big writes, so that
    some kills land in the middle of one and leave a torn record."""
    tag = f"<{index}:{term}>".encode()
    mix = (index * 2654435761 + term * 40503) % (1 << 32)
    size = 16 + mix % 2048 if mix % 8 else 65536 + mix % 65536
    return tag * (size // len(tag))


def snapshot_data(index: int, term: int) -> bytes:
    return f"state machine through {index} of term {term}".encode()


def main(directory: str, seed: int) -> None:
    rng = random.Random(seed)

    def announce(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    storage = DiskStorage(directory, segment_size=SEGMENT_SIZE, fsync=seed % 2 == 0)
    state = storage.load()
    terms = {state.snapshot.last_index: state.snapshot.last_term}
    terms.update(enumerate((entry.term for entry in state.entries), state.snapshot.last_index + 1))
    snapshot_index, last = state.snapshot.last_index, state.last_index
    term = max(state.hard_state.current_term, terms[last])
    announce(f"R {last}")
    while True:
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.15 and last > snapshot_index:
                term += 1
                first = rng.randint(max(snapshot_index + 1, last - 10), last)
                count = rng.randint(0, 20)
            else:
                first, count = last + 1, rng.randint(1, 30)
            announce(f"A {first} {count} {term}")
            storage.append(
                first, [Entry(term, entry_data(i, term)) for i in range(first, first + count)]
            )
            last = first + count - 1
            terms.update((i, term) for i in range(first, last + 1))
            commit = rng.randint(snapshot_index, last)
            announce(f"H {term} {commit}")
            storage.set_hard_state(HardState(term, 1, commit))
        storage.sync()
        announce("S")
        if rng.random() < 0.1 and last > snapshot_index:
            snapshot_index = rng.randint(snapshot_index + 1, last)
            snapshot_term = terms[snapshot_index]
            announce(f"P {snapshot_index} {snapshot_term}")
            meta = SnapshotMeta(snapshot_index, snapshot_term, VOTERS)
            storage.save_snapshot(meta, snapshot_data(snapshot_index, snapshot_term))
            announce("S")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
