#!/usr/bin/env python3
"""Side-by-side comparison of ranet with PySyncObj and with redis-server, in one invocation.

Four sections, each measured in interleaved rounds (A B A B ...) so that a
shared, noisy machine slows every system alike, and reported as medians of
``--runs`` rounds (at least 3) with the ratios between them:

``ranet``
    ranet alone (3 local nodes), fsync on and off: sequential writes, 64 and
    1024 writes in flight, 64 reads in flight.
``pysyncobj``
    ranet (3 local nodes, writes; fsync on, and fsync off for a fair match)
    against PySyncObj 0.3.17 (3 processes on 127.0.0.1, a replicated dict,
    which never fsyncs), for each ``--concurrency``. The PySyncObj load runs
    inside its leader process, as in its own reference figures: a closed loop
    of N in-flight ``set`` calls through its callback API. Its fastest honest
    configuration for each concurrency is measured, not guessed: batching off
    for 1 in flight; for more, batching off and batching on with 1 ms periods
    are both run every round and the faster median is reported (both are in
    the JSON). Nothing is persisted.
``redis``
    ranet against ``redis-server`` with ``appendonly yes, appendfsync always``
    (one process, no replication: the reference for one fsync per write
    batch), the same ``ranet bench`` load generator driving both.
``redis-benchmark``
    ``redis-benchmark`` against that redis-server and against a ranet
    cluster's leader: SET and GET, ``-c 1`` and ``-c 50``, ``-P 1`` and ``-P 16``
    (``--benchmark-tests lpush,zadd,...`` and ``--benchmark-clients`` choose
    others: any ``redis-benchmark -t`` test, or ``name:COMMAND ARGS`` for a
    command of one's own, e.g. ``xadd:XADD s * f v``).

It installs what it needs itself: PySyncObj==0.3.17 into ``.bench-venv`` (a
separate virtual environment, made with the standard ``venv`` and ``pip``),
and Debian's ``redis-server``/``redis-tools`` with apt-get when missing.

Run from the repository (ranet installed in ``.venv``)::

    .venv/bin/python bench/compare.py                     # everything, 3 rounds
    .venv/bin/python bench/compare.py --sections pysyncobj --runs 5 --json out.json

Every process it starts is stopped when it ends, also on Ctrl-C and errors.
The same file, run with ``--pysyncobj-node``, is one PySyncObj node (run by
the bench venv's Python; it imports nothing from ranet).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_VENV = REPO / ".bench-venv"
PYSYNCOBJ = "PySyncObj==0.3.17"
SECTIONS = ("ranet", "pysyncobj", "redis", "redis-benchmark")
RANET_SCENARIOS = [  # name, ranet bench options: the figures docs/performance.md tracks
    ("sequential writes", ["--concurrency", "1"]),
    ("64 in-flight writes", ["--concurrency", "64"]),
    ("1024 in-flight writes", ["--concurrency", "1024", "--clients", "2"]),
    ("64 in-flight reads", ["--concurrency", "64", "--read-ratio", "1"]),
    # The same 64 requests in flight, 16 pipelined on each of 4 connections (as
    # clients that multiplex requests over few connections send them):
    ("64 writes, 4 conns", ["--concurrency", "64", "--connections", "4"]),
    ("64 reads, 4 conns", ["--concurrency", "64", "--connections", "4", "--read-ratio", "1"]),
]
REDIS_BENCHMARK_PIPELINES = (1, 16)
STARTUP_TIMEOUT_S = 30.0
FAILED_RUNS: list[str] = []  # why each failed run failed, in order (``attempt``)
# PySyncObj's configurations worth trying: batching off sends each command at
# once (best for 1 in flight); batching on sends a batch every
# appendEntriesPeriod (100 ms by default, far too slow for a closed loop), so
# it is tried with 1 ms periods. The faster one, measured, is reported.
PYSYNCOBJ_CONFIGS: dict[str, dict[str, Any]] = {
    "batching off": {"appendEntriesUseBatch": False},
    "batching on, 1 ms period": {
        "appendEntriesUseBatch": True,
        "appendEntriesPeriod": 0.001,
        "autoTickPeriod": 0.001,
    },
}


# ---------------------------------------------------------------- installing


def ensure_pysyncobj() -> Path:
    """The bench venv's Python, with PySyncObj 0.3.17 installed in it."""
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {BENCH_VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    check = [
        str(python),
        "-c",
        "import importlib.metadata as m, sys; sys.exit(m.version('PySyncObj') != '0.3.17')",
    ]
    if subprocess.run(check, capture_output=True).returncode != 0:
        log(f"installing {PYSYNCOBJ} into {BENCH_VENV}")
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                PYSYNCOBJ,
            ],
            check=True,
        )
    return python


def ensure_redis() -> None:
    """redis-server and redis-benchmark on PATH (Debian packages, installed if missing)."""
    if shutil.which("redis-server") and shutil.which("redis-benchmark"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(
            "compare: redis-server/redis-benchmark are missing; install Debian's "
            "redis-server and redis-tools (apt-get install redis-server redis-tools)"
        )
    log("installing redis-server and redis-tools with apt-get")
    quiet = {"stdout": subprocess.DEVNULL}
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "redis-server", "redis-tools"],
        check=True,
        env=environment,
        **quiet,
    )


def ranet_python() -> str:
    """A Python that can import ranet: the repository's .venv, else this one."""
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# ---------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(f"compare: {message}", file=sys.stderr, flush=True)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def resp_request(port: int, *parts: str, timeout: float = 2.0) -> str:
    """One Redis-protocol command to 127.0.0.1:port; the reply's text (errors raise)."""
    command = f"*{len(parts)}\r\n" + "".join(f"${len(p.encode())}\r\n{p}\r\n" for p in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(command.encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            data += chunk
            if data[:1] in (b"+", b"-", b":") and data.endswith(b"\r\n"):
                break
            if data[:1] == b"$":
                header, _, rest = data.partition(b"\r\n")
                length = int(header[1:])
                if length < 0 or len(rest) >= length + 2:
                    break
    if data[:1] == b"-":
        raise RuntimeError(data[1:].decode().strip())
    if data[:1] == b"$":
        return data.partition(b"\r\n")[2][:-2].decode(errors="replace")
    return data[1:].decode().strip()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            if condition():
                return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def stop_processes(processes: list[subprocess.Popen[Any]], timeout: float = 10.0) -> None:
    """SIGTERM each, wait, SIGKILL stragglers."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


# ---------------------------------------------------------------- ranet


def ranet_bench(options: list[str]) -> dict[str, Any]:
    """One ``ranet bench`` run; its JSON result.

    It runs in a session of its own: on an error or Ctrl-C here it gets
    SIGTERM (it then stops its nodes and load processes itself), and whatever
    of its process group is left after a grace period is killed."""
    with tempfile.NamedTemporaryFile(suffix=".json") as output:
        command = [ranet_python(), "-m", "ranet", "bench", "--no-progress", "--json", output.name]
        process = subprocess.Popen(
            [*command, *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = process.communicate(timeout=600)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.returncode != 0:
            raise RuntimeError(f"ranet bench {' '.join(options)} failed: {stderr.strip()}")
        return json.loads(Path(output.name).read_text())


@contextlib.contextmanager
def ranet_cluster(nodes: int = 3) -> Iterator[Callable[[], int]]:
    """A ranet cluster (fsync on) for redis-benchmark; yields a function that
    returns the current leader's client port (waiting for one if need be).

    Each node's output goes to ``node-N.log`` in the cluster's folder; the
    folder is kept, and named, if a run failed while the cluster was up."""
    ports = free_ports(2 * nodes)
    peers = ",".join(f"{i}=127.0.0.1:{ports[i]}" for i in range(nodes))
    data_dir = Path(tempfile.mkdtemp(prefix="ranet-compare-"))
    processes: list[subprocess.Popen[bytes]] = []
    failures_before = len(FAILED_RUNS)
    try:
        for i in range(nodes):
            command = [
                ranet_python(), "-m", "ranet", "node", str(i), "--peers", peers,
                "--data-dir", str(data_dir / f"node-{i}"),
                "--client", f"127.0.0.1:{ports[nodes + i]}", "--no-console", "--quiet",
            ]  # fmt: skip
            with open(data_dir / f"node-{i}.log", "wb") as output:
                processes.append(subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT))

        def leader_port() -> int:
            leader: list[int] = []

            def elected() -> bool:
                for port in ports[nodes:]:
                    with contextlib.suppress(OSError, RuntimeError):
                        if "role:leader" in resp_request(port, "INFO", "raft"):
                            leader.append(port)
                            return True
                return False

            wait_until(elected, STARTUP_TIMEOUT_S, "a ranet leader")
            return leader[0]

        leader_port()
        yield leader_port
    finally:
        stop_processes(processes)
        if len(FAILED_RUNS) > failures_before:
            log(f"a run failed: the nodes' logs and data are kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


# ---------------------------------------------------------------- redis-server


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """redis-server with every write fsynced (appendfsync always); yields its port."""
    port = free_ports(1)[0]
    data_dir = Path(tempfile.mkdtemp(prefix="redis-compare-"))
    process = subprocess.Popen(
        [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--daemonize", "no", "--logfile", "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: resp_request(port, "PING") == "PONG", STARTUP_TIMEOUT_S, "redis-server")
        yield port
    finally:
        stop_processes([process])
        shutil.rmtree(data_dir, ignore_errors=True)


def redis_benchmark(
    port: int, test: str, clients: int, pipeline: int, requests: int
) -> dict[str, Any]:
    """One redis-benchmark run (``--csv``): requests/s and latency percentiles.
    ``test`` is a ``-t`` test name, or ``name:COMMAND ARGS`` for a command of
    one's own (``xadd:XADD s * f v``)."""
    _, colon, command = test.partition(":")
    chosen = command.split() if colon else ["-t", test]
    completed = subprocess.run(
        [
            "redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline),
            "-n", str(requests), "-d", "16", "--csv", *chosen,
        ],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(completed.stdout)))
    if completed.returncode != 0 or not rows:
        raise RuntimeError(
            f"redis-benchmark failed: {completed.stderr.strip() or completed.stdout}"
        )
    row = rows[0]
    return {
        "ops_per_s": float(row["rps"]),
        "p50_ms": float(row["p50_latency_ms"]),
        "p99_ms": float(row["p99_latency_ms"]),
    }


# ---------------------------------------------------------------- PySyncObj


def pysyncobj_run(
    python: Path, config: str, args: argparse.Namespace, concurrency: int
) -> dict[str, Any]:
    """3 PySyncObj processes; the leader drives the load and prints the result."""
    ports = free_ports(3)
    processes: list[subprocess.Popen[str]] = []
    results: list[dict[str, Any]] = []
    try:
        for index in range(3):
            command = [
                str(python), str(Path(__file__).resolve()), "--pysyncobj-node",
                json.dumps({
                    "index": index, "ports": ports, "concurrency": concurrency,
                    "duration": args.duration, "warmup": args.warmup,
                    "value_size": args.value_size, "keys": args.keys,
                    "conf": PYSYNCOBJ_CONFIGS[config],
                }),
            ]  # fmt: skip
            processes.append(
                subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            )
        started = threading.Event()
        readers = [
            threading.Thread(target=_read_node, args=(p, results, started), daemon=True)
            for p in processes
        ]
        for reader in readers:
            reader.start()
        if not started.wait(STARTUP_TIMEOUT_S):
            raise RuntimeError("PySyncObj elected no leader")
        time.sleep(args.warmup)
        from ranet.bench.procstat import cpu_seconds  # not at the top: node mode has no ranet

        before = {p.pid: cpu_seconds(p.pid) for p in processes}
        window_start = time.monotonic()
        time.sleep(args.duration)
        elapsed = time.monotonic() - window_start
        cpu = []
        for process in processes:
            used, earlier = cpu_seconds(process.pid), before[process.pid]
            cpu.append(
                None
                if used is None or earlier is None
                else round((used - earlier) / elapsed * 100, 1)
            )
        deadline = time.monotonic() + 30
        while not results and time.monotonic() < deadline:
            if all(p.poll() is not None for p in processes):
                break
            time.sleep(0.05)
        if not results:
            errors = " | ".join(p.stderr.read()[-300:] for p in processes if p.poll() is not None)  # type: ignore[union-attr]
            raise RuntimeError(f"PySyncObj leader reported nothing {errors}")
    finally:
        stop_processes(processes)
    return {**results[0], "nodes_cpu_percent": cpu}


def _read_node(
    process: subprocess.Popen[str], results: list[dict[str, Any]], started: threading.Event
) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "started":
                started.set()
            elif event.get("event") == "result":
                results.append(event)


def pysyncobj_node(spec: dict[str, Any]) -> int:
    """One PySyncObj node; the one that leads runs the closed-loop load."""
    from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf
    from pysyncobj.batteries import ReplDict

    addresses = [f"127.0.0.1:{port}" for port in spec["ports"]]
    me = addresses[spec["index"]]
    store = ReplDict()
    conf = SyncObjConf(dynamicMembershipChange=False, **spec["conf"])
    node = SyncObj(me, [a for a in addresses if a != me], consumers=[store], conf=conf)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while node._getLeader() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let the election settle
    if node._getLeader() is None or not node._isLeader():
        signal.pause()  # a follower: serve until stopped

    value = b"x" * spec["value_size"]
    keys = [f"key:{i}" for i in range(spec["keys"])]
    rand = random.Random(1).random
    latencies: list[int] = []
    errors = [0]
    state = {"sending": True, "measuring": False, "outstanding": 0}
    done = threading.Event()

    class Slot:
        __slots__ = ("started",)

        def send(self) -> None:
            self.started = time.perf_counter_ns()
            store.set(keys[int(rand() * len(keys))], value, callback=self.on_reply)

        def on_reply(self, _result: object, error: int) -> None:
            if state["measuring"]:
                if error == FAIL_REASON.SUCCESS:
                    latencies.append(time.perf_counter_ns() - self.started)
                else:
                    errors[0] += 1
            if state["sending"]:
                self.send()
            else:
                state["outstanding"] -= 1
                if state["outstanding"] == 0:
                    done.set()

    print(json.dumps({"event": "started"}), flush=True)
    state["outstanding"] = spec["concurrency"]
    for _ in range(spec["concurrency"]):
        Slot().send()
    time.sleep(spec["warmup"])
    state["measuring"] = True
    window_start = time.perf_counter()
    time.sleep(spec["duration"])
    state["measuring"] = False
    elapsed = time.perf_counter() - window_start
    state["sending"] = False
    ops = len(latencies)
    done.wait(10)
    latencies.sort()

    def percentile(fraction: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] / 1e6, 3)

    result = {
        "event": "result",
        "ops_per_s": round(ops / elapsed, 1),
        "p50_ms": percentile(0.5),
        "p99_ms": percentile(0.99),
        "p999_ms": percentile(0.999),
        "errors": errors[0],
    }
    print(json.dumps(result), flush=True)
    signal.pause()
    return 0


# ---------------------------------------------------------------- sections


Row = dict[str, Any]


def section_ranet(args: argparse.Namespace) -> list[Row]:
    common = [
        "--duration", str(args.duration), "--warmup", str(args.warmup),
        "--value-size", str(args.value_size), "--keys", str(args.keys),
    ]  # fmt: skip
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {"fsync on": [], "fsync off": []} for name, _ in RANET_SCENARIOS
    }
    for round_number in range(1, args.runs + 1):
        for name, options in RANET_SCENARIOS:
            log(f"ranet section, {name}, round {round_number}/{args.runs}")
            off = [*common, *options, "--unsafe-no-fsync"]
            runs[name]["fsync on"].append(attempt(ranet_bench, [*common, *options]))
            runs[name]["fsync off"].append(attempt(ranet_bench, off))
    return [{"scenario": name, **summarize(runs[name])} for name, _ in RANET_SCENARIOS]


def section_pysyncobj(args: argparse.Namespace) -> list[Row]:
    python = ensure_pysyncobj()
    rows = []
    for concurrency in args.concurrency:
        configs = ["batching off"] if concurrency == 1 else list(PYSYNCOBJ_CONFIGS)
        runs: dict[str, list[dict[str, Any]]] = {"ranet": [], "ranet-nofsync": []}
        runs.update({f"pysyncobj ({config})": [] for config in configs})
        common = [
            "--concurrency", str(concurrency), "--duration", str(args.duration),
            "--warmup", str(args.warmup), "--value-size", str(args.value_size),
            "--keys", str(args.keys),
        ]  # fmt: skip
        for round_number in range(1, args.runs + 1):
            log(f"PySyncObj section, {concurrency} in flight, round {round_number}/{args.runs}")
            runs["ranet"].append(attempt(ranet_bench, common))
            for config in configs:
                runs[f"pysyncobj ({config})"].append(
                    attempt(pysyncobj_run, python, config, args, concurrency)
                )
            off = [*common, "--unsafe-no-fsync"]
            runs["ranet-nofsync"].append(attempt(ranet_bench, off))
        summary = summarize(runs)
        best = max(
            (name for name in summary if name.startswith("pysyncobj")),
            key=lambda name: summary[name]["ops_per_s"] or 0,
        )
        rows.append(
            {
                "concurrency": concurrency,
                "pysyncobj": {**summary[best], "config": best[len("pysyncobj (") : -1]},
                **summary,
            }
        )
    return rows


def section_redis(args: argparse.Namespace) -> list[Row]:
    ensure_redis()
    rows = []
    with redis_server() as port:
        for concurrency in args.concurrency:
            runs: dict[str, list[dict[str, Any]]] = {"ranet": [], "redis": []}
            common = [
                "--concurrency", str(concurrency), "--duration", str(args.duration),
                "--warmup", str(args.warmup), "--value-size", str(args.value_size),
                "--keys", str(args.keys),
            ]  # fmt: skip
            for round_number in range(1, args.runs + 1):
                log(f"redis section, {concurrency} in flight, round {round_number}/{args.runs}")
                redis = [*common, "--endpoints", f"127.0.0.1:{port}"]
                runs["ranet"].append(attempt(ranet_bench, common))
                runs["redis"].append(attempt(ranet_bench, redis))
            rows.append({"concurrency": concurrency, **summarize(runs)})
    return rows


def section_redis_benchmark(args: argparse.Namespace) -> list[Row]:
    ensure_redis()
    rows = []
    with redis_server() as redis_port, ranet_cluster() as ranet_leader:

        def measure(name: str, test: str, clients: int, pipeline: int, n: int) -> dict[str, Any]:
            port = ranet_leader() if name == "ranet" else redis_port
            return attempt(redis_benchmark, port, test, clients, pipeline, n)

        cases = [
            (test, clients, pipeline)
            for test in args.benchmark_tests
            for clients in args.benchmark_clients
            for pipeline in REDIS_BENCHMARK_PIPELINES
        ]
        for test, clients, pipeline in cases:
            runs: dict[str, list[dict[str, Any]]] = {"ranet": [], "redis": []}
            requests: dict[str, int] = {}
            for name in runs:
                # calibrate: enough requests for about --duration seconds
                probe = measure(name, test, clients, pipeline, 200 * clients * pipeline)
                requests[name] = max(1000, int((probe.get("ops_per_s") or 0) * args.duration))
            for round_number in range(1, args.runs + 1):
                case = f"{test} -c {clients} -P {pipeline}"
                log(f"redis-benchmark {case}, round {round_number}/{args.runs}")
                for name in runs:
                    runs[name].append(measure(name, test, clients, pipeline, requests[name]))
            rows.append(
                {
                    "test": test.partition(":")[0].upper(),
                    "clients": clients,
                    "pipeline": pipeline,
                    **summarize(runs),
                }
            )
    return rows


def attempt(run: Callable[..., dict[str, Any]], *arguments: Any) -> dict[str, Any]:
    """One run's result, or ``{"failed": why}``: one failed run (an election
    under load, say) is recorded and left out of the medians, not fatal."""
    try:
        return run(*arguments)
    except RuntimeError as error:
        log(f"run failed: {error}")
        FAILED_RUNS.append(str(error))
        return {"failed": str(error)}


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per system, and every run's figures for the record."""
    summary: dict[str, Any] = {}
    for system, results in runs.items():
        summary[system] = {
            field: median([result.get(field) for result in results])
            for field in ("ops_per_s", "p50_ms", "p99_ms", "p999_ms")
        }
        kept = ("ops_per_s", "p50_ms", "p99_ms", "p999_ms", "errors", "failed")
        summary[system]["runs"] = [
            {k: result[k] for k in kept if k in result} for result in results
        ]
        cpu = [result.get("nodes") for result in results if result.get("nodes")]
        if cpu:
            summary[system]["leader_cpu_percent"] = median(
                [next((n["cpu_percent"] for n in nodes if n["leader"]), None) for nodes in cpu]
            )
    return summary


# ---------------------------------------------------------------- output


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def figure(system: dict[str, Any]) -> str:
    ops, p50, p99 = system["ops_per_s"], system["p50_ms"], system["p99_ms"]
    if ops is None:
        return "-"
    return f"{ops:>9,.0f}/s p50 {p50 or 0:6.2f} p99 {p99 or 0:6.2f}"


def print_report(report: dict[str, Any]) -> None:
    runs = report["runs"]
    if "ranet" in report:
        print(f"\nranet, 3 local nodes, medians of {runs} rounds, latency in ms")
        print(f"{'scenario':22}  {'fsync on':34}  {'fsync off (unsafe)':34}  leader CPU on/off")
        for row in report["ranet"]:
            on, off = row["fsync on"], row["fsync off"]
            cpu = " / ".join(
                f"{(system.get('leader_cpu_percent') or 0):.0f}%" for system in (on, off)
            )
            print(f"{row['scenario']:22}  {figure(on):34}  {figure(off):34}  {cpu}")
    if "pysyncobj" in report:
        print(
            f"\nranet vs PySyncObj 0.3.17: writes, 3 nodes, medians of {runs} rounds, latency in ms"
        )
        header = ["in flight", "ranet fsync on", "ranet fsync off", "PySyncObj (never fsyncs)"]
        print(f"{header[0]:>9}  {header[1]:34}  {header[2]:34}  {header[3]:34}  on/PSO  off/PSO")
        for row in report["pysyncobj"]:
            pso = row["pysyncobj"]["ops_per_s"]
            on, off = row["ranet"], row["ranet-nofsync"]
            print(
                f"{row['concurrency']:>9}  {figure(on):34}  {figure(off):34}  "
                f"{figure(row['pysyncobj']):34}  {ratio(on['ops_per_s'], pso):>6}  "
                f"{ratio(off['ops_per_s'], pso):>7}   PySyncObj {row['pysyncobj']['config']}"
            )
    if "redis" in report:
        print(
            "\nranet (3 nodes, fsync on) vs redis-server (1 process, appendfsync always): "
            "writes, same load generator"
        )
        print(f"{'in flight':>9}  {'ranet':34}  {'redis-server':34}  ranet/redis")
        for row in report["redis"]:
            ranet, redis = row["ranet"], row["redis"]
            print(
                f"{row['concurrency']:>9}  {figure(ranet):34}  {figure(redis):34}  "
                f"{ratio(ranet['ops_per_s'], redis['ops_per_s']):>11}"
            )
    if "redis-benchmark" in report:
        print("\nredis-benchmark: ranet leader (3 nodes, fsync on) vs redis-server (fsync always)")
        print(f"{'test':4} {'-c':>3} {'-P':>3}  {'ranet':34}  {'redis-server':34}  ranet/redis")
        for row in report["redis-benchmark"]:
            ranet, redis = row["ranet"], row["redis"]
            print(
                f"{row['test']:4} {row['clients']:>3} {row['pipeline']:>3}  {figure(ranet):34}  "
                f"{figure(redis):34}  {ratio(ranet['ops_per_s'], redis['ops_per_s']):>11}"
            )


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/compare.py",
        description="ranet side by side with PySyncObj and redis-server "
        "(medians of interleaved rounds).",
    )
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated, from {','.join(SECTIONS)}"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="rounds per comparison, at least 3 (default 3)"
    )
    parser.add_argument(
        "--duration", type=float, default=5.0, help="measured seconds per run (default 5)"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="warm-up seconds per run (default 1)"
    )
    parser.add_argument(
        "--concurrency",
        default="1,64",
        help="in-flight requests to compare, comma-separated (default 1,64)",
    )
    parser.add_argument(
        "--benchmark-tests",
        default="set,get",
        help="redis-benchmark -t tests, comma-separated (default set,get)",
    )
    parser.add_argument(
        "--benchmark-clients",
        default="1,50",
        help="redis-benchmark -c values, comma-separated (default 1,50)",
    )
    parser.add_argument("--value-size", type=int, default=16, help="bytes per value (default 16)")
    parser.add_argument("--keys", type=int, default=100_000, help="key space (default 100000)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(
            f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}"
        )
    if args.runs < 3:
        parser.error("--runs must be at least 3 (figures are medians)")
    try:
        args.concurrency = [int(c) for c in args.concurrency.split(",")]
        args.benchmark_clients = [int(c) for c in args.benchmark_clients.split(",")]
    except ValueError:
        parser.error("--concurrency and --benchmark-clients expect integers")
    args.benchmark_tests = [t.strip() for t in args.benchmark_tests.split(",") if t.strip()]
    if not args.benchmark_tests:
        parser.error("--benchmark-tests names no test")
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--pysyncobj-node"]:
        return pysyncobj_node(json.loads(argv[1]))
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: every process is stopped
    report: dict[str, Any] = {
        "runs": args.runs,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
    }
    sections = {
        "ranet": section_ranet,
        "pysyncobj": section_pysyncobj,
        "redis": section_redis,
        "redis-benchmark": section_redis_benchmark,
    }
    try:
        for name in args.sections:
            report[name] = sections[name](args)
            print_report({"runs": args.runs, name: report[name]})  # as soon as it is known
            if args.json:
                args.json.write_text(json.dumps(report, indent=2) + "\n")
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
