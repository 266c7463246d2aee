"""The closed-loop load generator: one process, many connections, many requests in flight.

Run as ``python -m ranet.bench.load SPEC`` (SPEC is a ``LoadSpec`` in JSON);
``ranet bench`` starts one or more of these and reads what they print, one
JSON object per line on standard output:

1. ``{"event": "ready"}`` once every connection is open (and, when reads are
   measured, after writing this process's share of the key space);
2. then it waits for a line on standard input, the common start signal;
3. ``{"event": "tick", ...}`` every second: requests completed, errors, an
   evenly strided sample of that second's latencies (for the progress
   display only) and whether it was warm-up;
4. ``{"event": "done", ...}``: the totals of the measured window (after the
   warm-up, for the duration), with its latency histogram.
   Or ``{"event": "failed", "message": ...}`` if a connection broke.

Closed loop: each connection keeps ``in_flight`` requests outstanding; every
reply frees a slot, which sends the next request at once. Replies come back
in order (RESP), so the send times wait in a FIFO and a reply's latency is
now minus the oldest send time. All the replies in one read take one clock
reading, and the requests they free go out in one write, which is what a
pipelining client does anyway. The measured window counts the requests that
completed inside it.

Speed matters here more than anywhere (the generator must never be what
limits the figure): a bare asyncio Protocol (uvloop when installed), hiredis
to parse replies, commands assembled from bytes encoded once, latencies
appended to a C array during the run and bucketed only after it (bucketing
in the loop would stall it and show up as false tail latency).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import time
from array import array
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import cast

import hiredis

from ranet.bench.resp import Access, RespError, open_connection
from ranet.bench.stats import Histogram
from ranet.node.loop import run as run_event_loop

FILL_BATCH = 512  # SETs pipelined per round trip while filling the key space
DRAIN_TIMEOUT_S = 10.0  # after the window, how long to wait for the last replies
MAX_ERROR_SAMPLES = 5
PROGRESS_SAMPLES = 1000  # latencies per second sent for the progress display


@dataclass(slots=True, frozen=True)
class LoadSpec:
    """What one load process does."""

    host: str
    port: int
    connections: int
    in_flight: int  # requests outstanding over all of this process's connections
    value_size: int
    read_ratio: float  # fraction of requests that are GET
    keys: int  # key space: key:0 .. key:{keys-1}
    warmup_s: float
    duration_s: float
    seed: int
    fill_slice: tuple[int, int] | None = None  # (start, step): keys to SET before "ready"
    access: dict[str, str | None] | None = None  # Access.public(); the password: environment

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        fields = json.loads(text)
        if fields.get("fill_slice") is not None:
            fields["fill_slice"] = tuple(fields["fill_slice"])
        return cls(**fields)


class LoadFailed(Exception):
    """A connection broke or could not be opened; the run is void."""


class Workload:
    """The requests to send and what came back, shared by all connections."""

    def __init__(self, spec: LoadSpec) -> None:
        self.random = random.Random(spec.seed).random
        self.read_ratio = spec.read_ratio
        self.key_bulks = [_bulk(b"key:%d" % i) for i in range(spec.keys)]
        self.set_prefix = b"*3\r\n$3\r\nSET\r\n"
        self.value_bulk = _bulk(b"x" * spec.value_size)
        self.get_prefix = b"*2\r\n$3\r\nGET\r\n"
        self.sending = False
        self.latencies = array("q")  # ns, of successful replies since the last swap
        self.errors = 0
        self.error_samples: list[str] = []

    def requests(self, count: int) -> list[bytes]:
        """``count`` commands, as the pieces of one write."""
        rand = self.random
        key_bulks = self.key_bulks
        keys = len(key_bulks)
        read_ratio = self.read_ratio
        pieces: list[bytes] = []
        for _ in range(count):
            key = key_bulks[int(rand() * keys)]
            if read_ratio and rand() < read_ratio:
                pieces += (self.get_prefix, key)
            else:
                pieces += (self.set_prefix, key, self.value_bulk)
        return pieces

    def record_error(self, reply: hiredis.ReplyError) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(str(reply))

    def swap(self) -> tuple[array[int], int]:
        """Take the latencies and error count recorded since the last swap."""
        latencies, errors = self.latencies, self.errors
        self.latencies, self.errors = array("q"), 0
        return latencies, errors


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


class LoadConnection(asyncio.Protocol):
    """One connection's closed loop: ``in_flight`` requests outstanding while sending."""

    def __init__(self, workload: Workload, in_flight: int, auth: bytes | None) -> None:
        self.workload = workload
        self.in_flight = in_flight
        self.parser = hiredis.Reader()
        self.sent_at: deque[int] = deque()
        self.transport: asyncio.Transport | None = None
        self.drained = asyncio.get_running_loop().create_future()
        self.lost: BaseException | None = None
        self.auth = auth
        self.authenticating = auth is not None  # a plain flag: data_received is the hot path
        self.authenticated = asyncio.get_running_loop().create_future()  # AUTH's reply
        if auth is None:
            self.authenticated.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if self.auth is not None:
            self.transport.write(self.auth)

    def begin(self) -> None:
        self._send(self.in_flight)

    def _send(self, count: int) -> None:
        assert self.transport is not None
        now = time.perf_counter_ns()
        self.sent_at.extend([now] * count)
        self.transport.write(b"".join(self.workload.requests(count)))

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        parser.feed(data)
        if self.authenticating:
            self._authenticated(parser.gets())
        now = time.perf_counter_ns()
        sent_at = self.sent_at
        workload = self.workload
        append = workload.latencies.append
        replies = 0
        while (reply := parser.gets()) is not False:
            started = sent_at.popleft()
            if type(reply) is hiredis.ReplyError:
                workload.record_error(reply)
            else:
                append(now - started)
            replies += 1
        if not replies:
            return
        if workload.sending:
            self._send(replies)
        elif not sent_at and not self.drained.done():
            self.drained.set_result(None)

    def _authenticated(self, reply: object) -> None:
        """AUTH's reply, before any request was sent."""
        if reply is False:
            return
        self.authenticating = False
        if type(reply) is hiredis.ReplyError:
            self.authenticated.set_exception(LoadFailed(f"AUTH refused: {reply}"))
        else:
            self.authenticated.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.authenticated.done():
            self.authenticated.set_exception(LoadFailed("the server closed the connection"))
        if self.sent_at or self.workload.sending:
            self.lost = exc or ConnectionResetError("the server closed the connection")
        if not self.drained.done():
            self.drained.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def run(
    spec: LoadSpec, emit: Callable[[dict[str, object]], None], start: Awaitable[object]
) -> None:
    """Connect, (fill,) say ready, wait for ``start``, run the closed loop, report."""
    loop = asyncio.get_running_loop()
    workload = Workload(spec)
    access = Access.for_load(spec.access or {})
    if spec.fill_slice is not None:
        await fill(spec, workload, access)
    shares = [spec.in_flight // spec.connections] * spec.connections
    for i in range(spec.in_flight % spec.connections):
        shares[i] += 1
    connections: list[LoadConnection] = []
    try:
        auth, tls = access.auth(), access.tls(spec.host)
        for share in shares:
            try:
                _, protocol = await loop.create_connection(
                    lambda share=share: LoadConnection(workload, share, auth),
                    spec.host,
                    spec.port,
                    **tls,
                )
            except OSError as error:
                raise LoadFailed(f"cannot connect to {spec.host}:{spec.port}: {error}") from None
            connections.append(protocol)
        for connection in connections:
            await connection.authenticated
        emit({"event": "ready"})
        await start
        await _closed_loop(spec, workload, connections, emit)
    finally:
        for connection in connections:
            connection.close()


async def _closed_loop(
    spec: LoadSpec,
    workload: Workload,
    connections: list[LoadConnection],
    emit: Callable[[dict[str, object]], None],
) -> None:
    started = time.perf_counter()
    warmup_end = started + spec.warmup_s
    end = warmup_end + spec.duration_s
    workload.sending = True
    for connection in connections:
        connection.begin()
    measured = array("q")
    measured_errors = 0
    measured_since = started if spec.warmup_s == 0 else None
    interval_ops = interval_errors = 0
    interval_sample = array("q")
    last_tick = started
    second = 1
    while True:
        now = time.perf_counter()
        next_boundary = min(started + second, end)
        if measured_since is None:
            next_boundary = min(next_boundary, warmup_end)
        if now < next_boundary:
            await asyncio.sleep(next_boundary - now)
            now = time.perf_counter()
        _check_lost(connections)
        if now >= end:
            workload.sending = False
        latencies, errors = workload.swap()
        interval_ops += len(latencies)
        interval_errors += errors
        interval_sample.extend(_subsample(latencies))
        if measured_since is not None:
            measured.extend(latencies)
            measured_errors += errors
        elif now >= warmup_end:
            measured_since = now
        if now >= started + second or not workload.sending:
            emit(
                {
                    "event": "tick",
                    "second": second,
                    "elapsed_s": round(now - last_tick, 6),
                    "warmup": (last_tick + now) / 2 < warmup_end,  # mostly warm-up
                    "ops": interval_ops,
                    "errors": interval_errors,
                    "sample_ns": _subsample(interval_sample).tolist(),
                }
            )
            interval_ops = interval_errors = 0
            interval_sample = array("q")
            last_tick = now
            second += 1
        if not workload.sending:
            break
    assert measured_since is not None
    window = now - measured_since
    await _drain(connections)
    histogram = Histogram()
    histogram.record(measured)  # after the window: bucketing costs ~0.3 µs a sample
    emit(
        {
            "event": "done",
            "elapsed_s": round(window, 6),
            "ops": len(measured),
            "errors": measured_errors,
            "error_samples": workload.error_samples,
            "histogram": histogram.to_wire(),
        }
    )


def _subsample(latencies: array[int]) -> array[int]:
    """At most about PROGRESS_SAMPLES latencies, evenly strided (a C-speed slice)."""
    return latencies[:: max(1, len(latencies) // PROGRESS_SAMPLES)]


def _check_lost(connections: list[LoadConnection]) -> None:
    for connection in connections:
        if connection.lost is not None:
            raise LoadFailed(f"connection lost during the run: {connection.lost}")


async def _drain(connections: list[LoadConnection]) -> None:
    """Wait (bounded) for the replies still in flight, so the server is not
    left writing to closed sockets while the next run starts."""
    for connection in connections:
        if not connection.sent_at and not connection.drained.done():
            connection.drained.set_result(None)
    waiting = [connection.drained for connection in connections]
    await asyncio.wait(waiting, timeout=DRAIN_TIMEOUT_S)


async def fill(spec: LoadSpec, workload: Workload, access: Access) -> None:
    """SET this process's slice of the key space, so that GETs find values."""
    assert spec.fill_slice is not None
    first, step = spec.fill_slice
    try:
        reader, writer, parser = await open_connection(spec.host, spec.port, access)
    except (OSError, RespError) as error:
        raise LoadFailed(f"cannot connect to {spec.host}:{spec.port}: {error}") from None
    try:
        keys = list(range(first, spec.keys, step))
        for batch_start in range(0, len(keys), FILL_BATCH):
            batch = keys[batch_start : batch_start + FILL_BATCH]
            writer.write(
                b"".join(
                    workload.set_prefix + workload.key_bulks[key] + workload.value_bulk
                    for key in batch
                )
            )
            pending = len(batch)
            while pending:
                reply = parser.gets()
                if reply is False:
                    data = await reader.read(1 << 16)
                    if not data:
                        raise LoadFailed("the server closed the connection while filling")
                    parser.feed(data)
                    continue
                if type(reply) is hiredis.ReplyError:
                    raise LoadFailed(f"filling the key space failed: {reply}")
                pending -= 1
    finally:
        writer.close()


async def _main(spec: LoadSpec) -> int:
    def emit(event: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    async def start_signal() -> None:
        if not await stdin.readline():
            raise LoadFailed("standard input closed before the start signal")

    start = asyncio.ensure_future(start_signal())
    try:
        await run(spec, emit, start)
    except LoadFailed as failure:
        emit({"event": "failed", "message": str(failure)})
        return 1
    finally:
        start.cancel()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ranet.bench.load SPEC_JSON", file=sys.stderr)
        return 2
    # Ctrl-C reaches the whole process group: ``ranet bench`` stops this process
    # itself, so that it can tell an interruption from a failure.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return run_event_loop(_main(LoadSpec.from_json(argv[0])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
