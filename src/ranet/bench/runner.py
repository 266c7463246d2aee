"""Drive a closed-loop load from separate processes and merge what they measure.

``run_load`` starts ``clients`` load processes (``ranet.bench.load``), splits
the in-flight requests and the connections between them, waits until every
one is connected, starts them together, prints a progress line per second,
and merges their measured windows: operations add up, latency histograms
merge, percentiles are read from the merged histogram. Around the measured
window it samples the CPU time and memory of the servers (when their process
ids are known) and of the load processes themselves, so a reader can see
whether the generator, not the server, was the limit.

Every process it starts is stopped before it returns, whatever happens
(an error, a cancelled task, Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ranet.bench.load import LoadSpec
from ranet.bench.procstat import CpuMeter, cpu_seconds
from ranet.bench.resp import Access
from ranet.bench.stats import Histogram

READY_TIMEOUT_S = 60.0  # connecting, and filling the key space for reads
DONE_GRACE_S = 30.0  # after the window: draining and bucketing the samples
MAX_CONNECTIONS = 64
SATURATED_PERCENT = 90.0  # a load process this busy may be what limits the figure


T = TypeVar("T")


class BenchError(Exception):
    """The benchmark could not run or a load process failed."""


@dataclass(slots=True, frozen=True)
class LoadPlan:
    """The load to drive, all processes together."""

    host: str
    port: int
    concurrency: int  # requests in flight in total
    clients: int  # load processes
    connections: int  # in total; 0 means min(concurrency, 64)
    value_size: int
    read_ratio: float
    keys: int
    warmup_s: float
    duration_s: float
    seed: int = 1
    access: Access = field(default_factory=Access)  # AUTH and TLS (bench/resp.py)

    def specs(self) -> list[LoadSpec]:
        """One spec per load process: in-flight and connections split evenly."""
        clients = min(self.clients, self.concurrency)
        connections = self.connections or min(self.concurrency, MAX_CONNECTIONS)
        connections = max(clients, min(connections, self.concurrency))
        specs = []
        for index in range(clients):
            in_flight = _share(self.concurrency, clients, index)
            specs.append(
                LoadSpec(
                    host=self.host,
                    port=self.port,
                    connections=min(in_flight, _share(connections, clients, index)),
                    in_flight=in_flight,
                    value_size=self.value_size,
                    read_ratio=self.read_ratio,
                    keys=self.keys,
                    warmup_s=self.warmup_s,
                    duration_s=self.duration_s,
                    seed=self.seed * 1000 + index,
                    fill_slice=(index, clients) if self.read_ratio > 0 else None,
                    access=self.access.public(),
                )
            )
        return specs


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


@dataclass(slots=True)
class LoadResult:
    ops: int
    errors: int
    error_samples: list[str]
    elapsed_s: float
    histogram: Histogram
    servers: dict[int, CpuMeter]
    clients: list[CpuMeter]

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.elapsed_s if self.elapsed_s > 0 else 0.0


class _LoadProcess:
    """One load process: its ticks go to ``on_tick``, other events queue up."""

    def __init__(
        self,
        index: int,
        process: asyncio.subprocess.Process,
        on_tick: Callable[[int, dict[str, Any]], None],
    ) -> None:
        self.index = index
        self.process = process
        self.on_tick = on_tick
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.stderr = b""
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None and self.process.stderr is not None
        stderr = asyncio.get_running_loop().create_task(self.process.stderr.read())
        async for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event["event"] == "tick":
                self.on_tick(self.index, event)
            else:
                self.events.put_nowait(event)
        self.stderr = await stderr
        await self.process.wait()
        self.events.put_nowait({"event": "exited", "code": self.process.returncode})

    async def next(self, expected: str, timeout: float) -> dict[str, Any]:
        """The next event, which must be ``expected``; a failure raises ``BenchError``."""
        try:
            event = await asyncio.wait_for(self.events.get(), timeout)
        except TimeoutError:
            raise BenchError(
                f"load process {self.index} sent no {expected!r} within {timeout:.0f} s"
            ) from None
        if event["event"] == expected:
            return event
        if event["event"] == "failed":
            raise BenchError(f"load process {self.index}: {event['message']}")
        detail = self.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise BenchError(
            f"load process {self.index} exited with code {event.get('code')}"
            + (": " + " | ".join(detail) if detail else "")
        )

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class _Progress:
    """Merges the load processes' ticks into one line per second: throughput,
    latency percentiles of a sample of that second, errors, CPU per server."""

    def __init__(
        self, clients: int, server_pids: Mapping[int, int], show: Callable[[str], None]
    ) -> None:
        self.clients = clients
        self.server_pids = dict(server_pids)
        self.show = show
        self.pending: dict[int, list[dict[str, Any]]] = {}
        self.last_cpu = {node: cpu_seconds(pid) for node, pid in self.server_pids.items()}
        self.last_time = time.perf_counter()

    def on_tick(self, _client: int, tick: dict[str, Any]) -> None:
        ticks = self.pending.setdefault(tick["second"], [])
        ticks.append(tick)
        if len(ticks) == self.clients:
            del self.pending[tick["second"]]
            self.show(self._line(tick["second"], ticks))

    def _line(self, second: int, ticks: list[dict[str, Any]]) -> str:
        elapsed = max(tick["elapsed_s"] for tick in ticks)
        ops = sum(tick["ops"] for tick in ticks)
        errors = sum(tick["errors"] for tick in ticks)
        sample = sorted(latency for tick in ticks for latency in tick["sample_ns"])
        phase = "warm-up" if all(tick["warmup"] for tick in ticks) else "measure"
        line = f"[{second:4d}s {phase:7s}] {ops / elapsed if elapsed else 0:>10,.0f} ops/s"
        if sample:
            p50 = sample[len(sample) // 2] / 1e6
            p99 = sample[min(len(sample) - 1, len(sample) * 99 // 100)] / 1e6
            line += f"  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
        if errors:
            line += f"  errors {errors}"
        now = time.perf_counter()
        cpu = []
        for node, pid in self.server_pids.items():
            used, before = cpu_seconds(pid), self.last_cpu[node]
            self.last_cpu[node] = used
            busy = (
                "-"
                if used is None or before is None
                else f"{(used - before) / (now - self.last_time) * 100:.0f}%"
            )
            cpu.append(f"{node}:{busy}")
        self.last_time = now
        if cpu:
            line += "  cpu " + " ".join(cpu)
        return line


async def run_load(
    plan: LoadPlan,
    server_pids: Mapping[int, int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """Run the plan; ``server_pids`` (node id -> pid) are measured alongside."""
    server_pids = dict(server_pids or {})
    specs = plan.specs()
    display = _Progress(len(specs), server_pids, progress) if progress else None
    on_tick = display.on_tick if display else _ignore_tick
    processes: list[_LoadProcess] = []
    done: asyncio.Future[list[dict[str, Any]]] | None = None
    try:
        for index, spec in enumerate(specs):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ranet.bench.load", spec.to_json(),
                env=plan.access.environment(),  # the password: never on a command line
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            processes.append(_LoadProcess(index, process, on_tick))
        await _all([p.next("ready", READY_TIMEOUT_S) for p in processes])
        server_meters = {node: CpuMeter(pid) for node, pid in server_pids.items()}
        client_meters = [CpuMeter(p.process.pid) for p in processes]
        meters = [*server_meters.values(), *client_meters]
        for load in processes:
            assert load.process.stdin is not None
            load.process.stdin.write(b"start\n")
        await asyncio.sleep(plan.warmup_s)
        for meter in meters:
            meter.start()
        measure_started = time.perf_counter()
        # The load processes end their window after the duration, then drain and
        # bucket their samples: the meters stop at the window's end, not then.
        done = _all([p.next("done", plan.duration_s + DONE_GRACE_S) for p in processes])
        await asyncio.wait([done], timeout=plan.duration_s)
        for meter in meters:
            meter.stop(time.perf_counter() - measure_started)
        results = await done
    finally:
        if done is not None:
            done.cancel()
        await asyncio.gather(*(p.stop() for p in processes), return_exceptions=True)
    histogram = Histogram()
    error_samples: list[str] = []
    for event in results:
        histogram.merge(Histogram.from_wire(event["histogram"]))
        error_samples.extend(event["error_samples"])
    return LoadResult(
        ops=sum(event["ops"] for event in results),
        errors=sum(event["errors"] for event in results),
        error_samples=error_samples[:5],
        elapsed_s=max(event["elapsed_s"] for event in results),
        histogram=histogram,
        servers=server_meters,
        clients=client_meters,
    )


def _all(awaitables: list[Coroutine[Any, Any, T]]) -> asyncio.Future[list[T]]:
    """All results, or the first failure with the others cancelled."""

    async def gather() -> list[T]:
        tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
        try:
            return await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    return asyncio.ensure_future(gather())


def _ignore_tick(_client: int, _tick: dict[str, Any]) -> None:
    """Without a progress display, ticks are not needed."""
