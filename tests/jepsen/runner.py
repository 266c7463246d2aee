"""One Jepsen-style run: a 5-node cluster, recorded clients, a nemesis, a verdict.

The run, in order:

1. start five nodes behind link proxies and wait until every node serves;
2. run the workload and the nemesis together for ``seconds``;
3. stop both (a client still waiting after its deadline is cancelled: its
   operation stays unknown), repair every fault and wait until every node
   serves again;
4. read every key through every node, recorded like any operation: a final
   read that misses an acknowledged write is not linearizable, so the
   checker also proves that no acknowledged write was lost;
5. check the history (per key, Wing-Gong-Lowe search) under a time limit.

An inconclusive check fails the run like a violation does. A failed run
saves its history (JSON lines in the format ``ranet.testing.load_history``
reads), the fault log and the nodes' output to a fresh temporary directory
named in the failure message, with the line that checks it again.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ranet.node.loop import run as run_event_loop
from ranet.node.supervisor import LocalCluster
from ranet.testing import CheckResult, History, Operation, check
from tests.client.helpers import endpoints, serving
from tests.jepsen.nemesis import Nemesis
from tests.jepsen.network import ProxiedCluster, proxied_cluster
from tests.jepsen.workload import Workload, WorkloadConfig

NODES = 5
CHECK_TIMEOUT = 60.0  # seconds for the linearizability search
FINAL_READER = 1000  # client ids of the final reads: 1000 + node id
UNCHECKED = CheckResult(None, "not checked yet")


@dataclass(slots=True, frozen=True)
class Scenario:
    name: str
    faults: tuple[str, ...]
    seconds: float
    seed: int
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)


@dataclass(slots=True)
class Report:
    """What a run did and what the checker said about it."""

    scenario: Scenario
    operations: list[Operation]
    faults: list[str]
    injected: Counter[str]
    problems: list[str]
    """Failures other than the verdict: unexpected error replies, final reads not served."""
    result: CheckResult
    node_output: str
    data_dir: Path
    elapsed: float

    def summary(self) -> str:
        by_status = Counter(str(operation.status) for operation in self.operations)
        by_kind = Counter(f"{op.op} {op.status}" for op in self.operations)
        verdict = {True: "linearizable", False: "NOT linearizable", None: "INCONCLUSIVE"}
        return "\n".join(
            [
                f"jepsen {self.scenario.name} (seed {self.scenario.seed}): "
                f"{self.scenario.seconds:g} s of load and faults, {self.elapsed:.1f} s in all",
                f"  {len(self.operations)} operations: ok {by_status['ok']}, "
                f"fail {by_status['fail']}, unknown {by_status['unknown']}",
                "  by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())),
                f"  {self.injected.total()} faults injected: "
                + (", ".join(f"{k} {n}" for k, n in sorted(self.injected.items())) or "none"),
                f"  check: {verdict[self.result.linearizable]} in {self.result.elapsed:.2f} s",
            ]
        )

    def save(self) -> Path:
        """Write the history, fault log and node output to a new temp directory."""
        directory = Path(tempfile.mkdtemp(prefix=f"ranet-jepsen-{self.scenario.name}-"))
        with (directory / "history.jsonl").open("w", encoding="utf-8") as lines:
            for operation in self.operations:
                lines.write(json.dumps(_record(operation)) + "\n")
        (directory / "faults.txt").write_text("\n".join(self.faults) + "\n", encoding="utf-8")
        (directory / "nodes.log").write_text(self.node_output, encoding="utf-8")
        (directory / "summary.txt").write_text(
            f"{self.summary()}\n\n{self.result.explanation}\n", encoding="utf-8"
        )
        return directory


def run(scenario: Scenario, data_dir: Path) -> Report:
    """Run ``scenario`` with its nodes' data under ``data_dir``, then check it; bounded."""
    started = time.monotonic()
    limit = scenario.seconds + scenario.workload.deadline + 120
    report = run_event_loop(asyncio.wait_for(_run(scenario, data_dir), limit))
    report.result = check(report.operations, init=None, timeout=CHECK_TIMEOUT)
    report.elapsed = time.monotonic() - started
    return report


def verify(report: Report) -> None:
    """Fail with the summary, the checker's explanation and the saved files' place."""
    print(report.summary())
    problems = list(report.problems)
    if report.result.linearizable is None:
        problems.insert(
            0,
            f"INCONCLUSIVE: the checker reached no verdict within {CHECK_TIMEOUT:g} s, and no "
            f"verdict is not a pass ({report.result.explanation})",
        )
    elif not report.result.linearizable:
        problems.insert(0, report.result.explanation)
    if problems:
        saved = report.save()
        raise AssertionError(
            "\n\n".join(
                [
                    report.summary(),
                    *problems,
                    f"history, faults and node output saved in {saved}; check again with:\n"
                    f"  from ranet.testing import check, load_history\n"
                    f"  check(load_history('{saved / 'history.jsonl'}'), init=None)",
                    f"node data directories: {report.data_dir}",
                ]
            )
        )


async def _run(scenario: Scenario, data_dir: Path) -> Report:
    """Steps 1 to 4; the report's ``result`` is still to be checked."""
    rng = random.Random(scenario.seed)
    history = History()
    async with proxied_cluster(NODES, data_dir) as network:
        cluster = network.cluster
        try:
            await serving(cluster)
            workload = Workload(endpoints(cluster), history, rng, scenario.workload)
            nemesis = Nemesis(network, scenario.faults, rng)
            await _load_under_faults(workload, nemesis, scenario)
            await nemesis.recover()
            await serving(cluster)
            unserved = await _final_reads(network, workload)
        except BaseException as error:
            error.add_note(_output(cluster, last=30))
            raise
        node_output = _output(cluster)
    return Report(
        scenario=scenario,
        operations=history.operations(),
        faults=nemesis.log,
        injected=nemesis.injected,
        problems=workload.command_errors + unserved,
        result=UNCHECKED,
        node_output=node_output,
        data_dir=data_dir,
        elapsed=0.0,
    )


async def _load_under_faults(workload: Workload, nemesis: Nemesis, scenario: Scenario) -> None:
    """Clients and nemesis together for ``scenario.seconds``; then both stopped, bounded."""
    stop = asyncio.Event()
    clients = asyncio.create_task(workload.run(stop))
    faults = asyncio.create_task(nemesis.run(stop))
    try:
        done, _ = await asyncio.wait([clients, faults], timeout=scenario.seconds)
        for task in done:
            task.result()  # a crashed client or nemesis fails the run now
        stop.set()
        await asyncio.wait_for(asyncio.shield(faults), 30)
        grace = scenario.workload.deadline + scenario.workload.timeout + 2
        await asyncio.wait([clients], timeout=grace)  # then cancelled: those stay unknown
    finally:
        stop.set()
        for task in (clients, faults):
            task.cancel()
        await asyncio.gather(clients, faults, return_exceptions=True)
    if not clients.cancelled() and clients.exception() is not None:
        raise clients.exception()  # type: ignore[misc]


async def _final_reads(network: ProxiedCluster, workload: Workload) -> list[str]:
    """Read every key through every node, one recorded client per node (step 4).

    Returns the reads that no node served: each leaves a hole in the check.
    """
    unserved = []
    for node_id, address in enumerate(endpoints(network.cluster)):
        async with workload.client([address], seed=node_id) as client:
            for key in workload.keys_used:
                served, _ = await workload.get(client, FINAL_READER + node_id, key)
                if not served:
                    unserved.append(f"the final read of {key!r} through node {node_id} failed")
    return unserved


def _output(cluster: LocalCluster, last: int | None = None) -> str:
    """What the nodes printed (the ``last`` lines of each), one line per line."""
    return "\n".join(
        f"[node {node.node_id}] {line}"
        for node in cluster.nodes.values()
        for line in list(node.lines)[-last if last else 0 :]
    )


def _record(operation: Operation) -> dict[str, object]:
    """An operation in the reference JSON-lines format (``load_history``)."""
    return {
        "client": operation.client,
        "op": str(operation.op),
        "key": operation.key,
        "value": operation.value,
        "expected": operation.expected,
        "call_ns": operation.call,
        "return_ns": operation.return_,
        "status": str(operation.status),
    }
