"""The servers a benchmark measures: a local cluster started for the run, or given endpoints.

``local_cluster`` starts N ``ranet node`` processes on 127.0.0.1 with their
data in a fresh temporary folder (durable storage, fsync on unless asked
otherwise; ``--quiet`` so that printing applied entries costs nothing), waits
until one of them leads, and on the way out stops every process and deletes
the folder, whatever happened meanwhile.

``find_leader`` asks each endpoint ``INFO raft`` and picks the one whose
``role`` is ``leader``: load goes there, since a follower would forward every
request to it. A server that knows no Raft (``redis-server``, for a
reference figure) answers with no ``role``; then the first endpoint is it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ranet.bench.resp import Access, RespError, parse_info, request
from ranet.bench.runner import BenchError
from ranet.node.supervisor import LocalCluster, free_ports

Endpoint = tuple[str, int]
LEADER_TIMEOUT_S = 30.0  # a loaded 2-core machine can take a while to elect
POLL_INTERVAL_S = 0.1


@dataclass(slots=True)
class Target:
    """Where the load goes, and what is known about the servers."""

    endpoints: list[Endpoint]
    leader: int  # index in endpoints of the server the load is sent to
    raft: bool  # whether the servers answered INFO raft with a role
    pids: dict[int, int] = field(default_factory=dict)  # node id -> pid, local cluster only
    data_dir: Path | None = None

    @property
    def load_endpoint(self) -> Endpoint:
        return self.endpoints[self.leader]


def parse_endpoints(text: str) -> list[Endpoint]:
    """``host:port,host:port`` -> [(host, port), ...]; ValueError with a clear message."""
    endpoints = []
    for item in text.split(","):
        host, separator, port = item.strip().rpartition(":")
        if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT, got {item.strip()!r}")
        endpoints.append((host, int(port)))
    return endpoints


async def find_leader(
    endpoints: list[Endpoint], timeout: float = LEADER_TIMEOUT_S, access: Access | None = None
) -> Target:
    """The endpoint that leads (polling until one does), or the first one if
    the servers are not Raft servers. ``BenchError`` when none answers."""
    deadline = asyncio.get_running_loop().time() + timeout
    last_problem = "no answer"
    while True:
        answered = 0
        raft = False
        for index, (host, port) in enumerate(endpoints):
            try:
                reply = await request(host, port, "INFO", "raft", access=access)
            except RespError as error:  # it answered: waiting will not change its mind
                hint = " (the leader is found with INFO: allow the user +info)"
                hint = hint if "NOPERM" in str(error) else ""
                raise BenchError(f"{host}:{port}: {error}{hint}") from None
            except (OSError, TimeoutError) as error:
                last_problem = f"{host}:{port}: {error or type(error).__name__}"
                continue
            answered += 1
            info = parse_info(reply) if isinstance(reply, bytes | str) else {}
            if "role" in info:
                raft = True
                if info["role"] == "leader":
                    return Target(endpoints, index, raft=True)
        if answered == len(endpoints) and not raft:
            return Target(endpoints, 0, raft=False)
        if asyncio.get_running_loop().time() >= deadline:
            what = "no leader elected" if raft else f"servers not reachable ({last_problem})"
            raise BenchError(f"{what} within {timeout:.0f} s")
        await asyncio.sleep(POLL_INTERVAL_S)


@asynccontextmanager
async def local_cluster(
    nodes: int,
    *,
    fsync: bool = True,
    parent_dir: Path | None = None,
    on_line: Callable[[int, str], None] | None = None,
) -> AsyncIterator[Target]:
    """N node processes in a temporary folder, leader elected; all gone afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="ranet-bench-", dir=parent_dir))
    ports = free_ports(2 * nodes)  # one call, so peer and client ports never collide
    cluster = LocalCluster(
        nodes,
        data_dir,
        ports=ports[:nodes],
        client_ports=ports[nodes:],
        node_args=["--quiet", *([] if fsync else ["--unsafe-no-fsync"])],
        on_line=on_line,
    )
    try:
        await cluster.start()
        endpoints = [(cluster.host, port) for port in cluster.client_ports]
        target = await _elected(cluster, endpoints)
        target.pids = {
            node_id: node.process.pid
            for node_id, node in cluster.nodes.items()
            if node.process is not None
        }
        target.data_dir = data_dir
        yield target
        _check_alive(cluster)
    finally:
        await cluster.stop(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


async def _elected(cluster: LocalCluster, endpoints: list[Endpoint]) -> Target:
    """Wait for a leader, failing early (with the node's last words) if a node dies."""
    finding = asyncio.ensure_future(find_leader(endpoints))
    try:
        while not finding.done():
            _check_alive(cluster)
            await asyncio.wait([finding], timeout=POLL_INTERVAL_S)
        return finding.result()
    finally:
        finding.cancel()


def _check_alive(cluster: LocalCluster) -> None:
    for node in cluster.nodes.values():
        if not node.alive:
            last = " | ".join(list(node.lines)[-3:]) or "no output"
            raise BenchError(f"node {node.node_id} exited: {last}")
