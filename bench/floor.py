"""The floor: how fast a Python RESP server that does nothing can answer.

Serves the Redis protocol on uvloop, parsing requests with hiredis and
answering every command ``+OK`` (``INFO`` gets an empty section, so that
``ranet bench`` takes it for a server without Raft): no log, no storage, no
state. Driven by ``ranet bench --endpoints``, it shows what the socket reads
and writes of a request cost a Python server on this machine, the part of
ranet's per-request cost no change inside ranet can remove.

    python bench/floor.py [--port 16379] [--seconds 30]
    ranet bench --endpoints 127.0.0.1:16379 --concurrency 64 --duration 4

It prints the CPU it used when it stops (after ``--seconds``, or on Ctrl-C),
so CPU per request is that figure over the requests the bench reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time

import hiredis
import uvloop

_INFO = b"INFO"
_EMPTY_SECTION = b"$0\r\n\r\n"
_OK = b"+OK\r\n"


class FloorProtocol(asyncio.Protocol):
    """One connection: every complete request gets its reply, in one write per read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.reader = hiredis.Reader()

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        replies = []
        while (command := reader.gets()) is not False:
            replies.append(_EMPTY_SECTION if command[0].upper() == _INFO else _OK)
        if replies:
            self.transport.write(b"".join(replies))


async def serve(port: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FloorProtocol, "127.0.0.1", port)
    print(f"floor server on 127.0.0.1:{port} for {seconds:g} s", flush=True)
    async with server:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=16379)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    started = time.process_time()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.port, args.seconds))
    print(f"CPU used: {time.process_time() - started:.2f} s")


if __name__ == "__main__":
    main()
