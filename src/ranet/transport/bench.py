"""Throughput check of the peer transport (a measurement, not a test).

Two transports in one process talk over loopback: node 1 sends AppendEntries
(64 entries of 16 bytes by default) to node 2 for a few seconds, keeping at
most ``--window`` messages in flight, and node 2 counts what it receives.
Both ends share one event loop, hence one core, so the figure is the cost of
the whole path: encode, frame, coalesced write, read, split, decode, deliver.

    python -m ranet.transport.bench --seconds 5 [--loop uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence

from ranet.core.messages import AppendEntries
from ranet.core.types import Entry
from ranet.transport.codec import default_codec
from ranet.transport.peers import PeerTransport

LOOPBACK = "127.0.0.1"


async def measure(seconds: float, entries: int, size: int, window: int) -> tuple[int, float, int]:
    """Run the exchange; return (messages received, elapsed seconds, messages dropped)."""
    received = 0

    def count(message: object) -> None:
        nonlocal received
        received += 1

    codec = default_codec()
    sender = PeerTransport(1, "bench", (LOOPBACK, 0), {}, codec, lambda message: None)
    receiver = PeerTransport(2, "bench", (LOOPBACK, 0), {}, codec, count)
    await sender.start()
    await receiver.start()
    try:
        sender.update_peers({2: receiver.listen_address})
        receiver.update_peers({1: sender.listen_address})
        batch = tuple(Entry(1, bytes(size)) for _ in range(entries))
        sent = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            while sent - received < window:
                sender.send(AppendEntries(1, 2, 1, sent * entries, 1, batch, sent * entries))
                sent += 1
            await asyncio.sleep(0)
        elapsed = time.perf_counter() - started
        return received, elapsed, sender.peer_stats(2).dropped_messages
    finally:
        await sender.stop()
        await receiver.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ranet.transport.bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to send")
    parser.add_argument("--entries", type=int, default=64, help="entries per AppendEntries")
    parser.add_argument("--size", type=int, default=16, help="bytes of data per entry")
    parser.add_argument("--window", type=int, default=1024, help="messages in flight at most")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args(argv)
    run = asyncio.run
    if args.loop == "uvloop":
        import uvloop

        run = uvloop.run
    received, elapsed, dropped = run(measure(args.seconds, args.entries, args.size, args.window))
    rate = received / elapsed
    print(
        f"{args.loop}: AppendEntries of {args.entries} x {args.size} B entries: "
        f"{rate:,.0f} messages/s ({rate * args.entries:,.0f} entries/s) "
        f"over {elapsed:.1f} s, {dropped} dropped"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
