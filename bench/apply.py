"""What applying a write costs the key-value state machine, per command.

Times ``KVStore.apply`` on prepared log entries, in one process, with no
Raft, sockets or disk: a lone ``SET`` per entry (the envelope of a write
that came alone), and ``SET``s in runs of 28 per entry (a pipeline's run,
about the batch of 64 writes in flight). Every node pays this for every
write; it is how a change to the store shows in isolation. Compare two
versions of the code by running it with each on ``PYTHONPATH``, in turns:

    PYTHONPATH=OLD/src python bench/apply.py
    python bench/apply.py

It prints the median of ``--rounds`` rounds, in nanoseconds per command.
"""

from __future__ import annotations

import argparse
import statistics
import time

from ranet.kv.envelope import Envelope, RunEnvelope, encode, encode_run
from ranet.kv.store import KVStore

KEYS = 100_000
RUN = 28


def _per_command(entries: list[bytes], commands: int) -> float:
    store = KVStore()
    start = time.perf_counter()
    for entry in entries:
        store.apply(entry)
    return (time.perf_counter() - start) / commands * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--entries", type=int, default=200_000)
    args = parser.parse_args()
    value = b"x" * 16
    lone = [
        encode(Envelope(0, 0, 1_000, [b"SET", b"key:%d" % (i % KEYS), value]))
        for i in range(args.entries)
    ]
    run_count = args.entries // RUN
    runs = [
        encode_run(
            RunEnvelope(
                1_000, [[b"SET", b"key:%d" % ((i * RUN + j) % KEYS), value] for j in range(RUN)]
            )
        )
        for i in range(run_count)
    ]
    lone_ns = [_per_command(lone, len(lone)) for _ in range(args.rounds)]
    run_ns = [_per_command(runs, run_count * RUN) for _ in range(args.rounds)]
    print(
        f"lone SET: {statistics.median(lone_ns):,.0f} ns per apply; "
        f"SET in runs of {RUN}: {statistics.median(run_ns):,.0f} ns per command "
        f"(medians of {args.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
