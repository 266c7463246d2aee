"""Helpers for tests with real node processes: a cluster in a temp dir on
ephemeral ports, always stopped at the end, and readers of what nodes print."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from ranet.node.supervisor import LocalCluster

T = TypeVar("T")
APPLYING = re.compile(r"^Applying: entry (\d+) \(term \d+\): '(.*)'$")
ELECTION_WAIT = 15.0  # seconds: generous for a loaded 2-core machine


def run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, 120))  # type: ignore[arg-type]


@asynccontextmanager
async def local_cluster(size: int, data_dir: Path) -> AsyncIterator[LocalCluster]:
    cluster = LocalCluster(size, data_dir)
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.stop(timeout=5)


def applied(cluster: LocalCluster, node_id: int) -> list[str]:
    """The commands node ``node_id`` printed as applied, in log order.

    A restarted node replays its log, printing indexes again; a replay that
    shows a different command at an index it applied before is a safety bug.
    """
    by_index: dict[int, str] = {}
    for line in cluster.nodes[node_id].lines:
        match = APPLYING.match(line)
        if match:
            index, text = int(match.group(1)), match.group(2)
            assert by_index.setdefault(index, text) == text, (
                f"node {node_id} applied {text!r} at {index}, earlier {by_index[index]!r}"
            )
    return [by_index[index] for index in sorted(by_index)]


async def elect(cluster: LocalCluster) -> int:
    assert await cluster.wait_for(lambda: cluster.leader() is not None, ELECTION_WAIT), (
        "no leader elected\n" + dump(cluster)
    )
    leader = cluster.leader()
    assert leader is not None
    return leader


async def wait_applied(
    cluster: LocalCluster, nodes: list[int], expected: list[str], timeout: float = 15.0
) -> None:
    def done() -> bool:
        return all(applied(cluster, n)[: len(expected)] == expected for n in nodes)

    assert await cluster.wait_for(done, timeout), (
        f"not applied everywhere: expected {expected}\n" + dump(cluster)
    )


async def append(cluster: LocalCluster, node_id: int, text: str, timeout: float = 10.0) -> None:
    """Type ``append text`` at a node and wait for its console's answer."""
    before = len(cluster.nodes[node_id].lines)
    await cluster.send(node_id, f"append {text}")

    def answered() -> bool:
        return any(
            line.startswith(("appended", "append failed", "no leader", "could not"))
            for line in list(cluster.nodes[node_id].lines)[before:]
        )

    assert await cluster.wait_for(answered, timeout), f"no answer to append\n{dump(cluster)}"
    answer = next(
        line
        for line in list(cluster.nodes[node_id].lines)[before:]
        if line.startswith(("appended", "append failed", "no leader", "could not"))
    )
    assert answer.startswith("appended"), answer


def dump(cluster: LocalCluster) -> str:
    return "\n".join(
        f"[node {n.node_id}] {line}" for n in cluster.nodes.values() for line in list(n.lines)[-15:]
    )
