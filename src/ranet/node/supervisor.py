"""A local cluster of real node processes, for ``ranet cluster`` and for tests.

Each node is ``python -m ranet node ID --console ...`` with its own data
directory under one folder the user can see, a peer port and a client
(Redis protocol) port, its standard input a pipe we
write console commands into, and its output read line by line and handed
to ``on_line``. Nodes can be killed (SIGKILL), paused (SIGSTOP), resumed and
restarted; ``stop`` sends SIGTERM to all and waits, bounded, then kills.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_LEADER_LINE = re.compile(r"BECAME LEADER \(term (\d+)\)")
_TERM_LINE = re.compile(r"\(term (\d+)\)")


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports the OS reports free right now (for tests; another process may race us)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class NodeProcess:
    """One node's process and what it printed."""

    def __init__(self, node_id: int) -> None:
        self.node_id = node_id
        self.process: asyncio.subprocess.Process | None = None
        self.lines: deque[str] = deque(maxlen=2000)
        self.term = 0
        self.is_leader = False
        self.paused = False
        self._reader: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


class LocalCluster:
    """N node processes on 127.0.0.1 sharing one data folder."""

    def __init__(
        self,
        size: int,
        data_dir: Path,
        *,
        ports: Sequence[int] | None = None,
        client_ports: Sequence[int] | None = None,
        host: str = "127.0.0.1",
        node_args: Sequence[str] = (),
        on_line: Callable[[int, str], None] | None = None,
        link_ports: Mapping[tuple[int, int], int] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        self.size = size
        self.data_dir = Path(data_dir)
        self.host = host
        # Ask for every free port in one call: two calls could hand out the same port.
        spare = iter(free_ports(2 * size, host))
        self.ports = list(ports) if ports is not None else [next(spare) for _ in range(size)]
        self.client_ports = (
            list(client_ports) if client_ports is not None else [next(spare) for _ in range(size)]
        )
        self.node_args = list(node_args)
        self.on_line = on_line
        self.link_ports = dict(link_ports or {})
        self.nodes = {i: NodeProcess(i) for i in range(size)}
        self._changed = asyncio.Condition()

    def peers_option_for(self, node_id: int) -> str:
        """``--peers`` as node ``node_id`` is told it: its own real address, and peer
        ``j`` at ``link_ports[(node_id, j)]`` when given, else at ``j``'s real address.

        ``link_ports`` lets a test put a fault-injecting proxy on each directed
        link: nodes name each other in the handshake, so a proxy is invisible.
        """
        ports = {
            peer: self.link_ports.get((node_id, peer), port) for peer, port in enumerate(self.ports)
        }
        ports[node_id] = self.ports[node_id]
        return ",".join(f"{peer}={self.host}:{port}" for peer, port in ports.items())

    def address(self, node_id: int) -> str:
        """The node's peer (Raft) address."""
        return f"{self.host}:{self.ports[node_id]}"

    def client_address(self, node_id: int) -> str:
        """The node's client (Redis protocol) address."""
        return f"{self.host}:{self.client_ports[node_id]}"

    def command(self, node_id: int) -> list[str]:
        return [
            sys.executable, "-m", "ranet", "node", str(node_id),
            "--peers", self.peers_option_for(node_id),
            "--data-dir", str(self.data_dir / f"node-{node_id}"),
            "--client", self.client_address(node_id),
            "--console", *self.node_args,
        ]  # fmt: skip

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for node_id in self.nodes:
            await self.start_node(node_id)

    async def start_node(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.alive:
            return
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        node.process = await asyncio.create_subprocess_exec(
            *self.command(node_id),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=environment,
        )
        node.is_leader = False
        node.paused = False
        node._reader = asyncio.get_running_loop().create_task(self._read(node, node.process))

    async def _read(self, node: NodeProcess, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="backslashreplace").rstrip("\n")
            node.lines.append(line)
            self._track_role(node, line)
            if self.on_line is not None:
                self.on_line(node.node_id, line)
            async with self._changed:
                self._changed.notify_all()
        await process.wait()
        node.is_leader = False
        async with self._changed:
            self._changed.notify_all()

    @staticmethod
    def _track_role(node: NodeProcess, line: str) -> None:
        if line.startswith(("BECAME ", "FOLLOWING ")):
            term = _TERM_LINE.search(line)
            node.term = int(term.group(1)) if term else node.term
            node.is_leader = _LEADER_LINE.search(line) is not None

    def leader(self) -> int | None:
        """The live, unpaused node that most recently said it leads the highest term."""
        leaders = [n for n in self.nodes.values() if n.alive and not n.paused and n.is_leader]
        if not leaders:
            return None
        return max(leaders, key=lambda n: n.term).node_id

    async def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition()`` holds after some output; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(condition)
            return True
        except TimeoutError:
            return False

    async def send(self, node_id: int, line: str) -> None:
        """Type ``line`` into a node's console."""
        process = self.nodes[node_id].process
        if process is None or process.stdin is None or not self.nodes[node_id].alive:
            raise ProcessLookupError(f"node {node_id} is not running")
        process.stdin.write(line.encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await process.stdin.drain()

    def signal(self, node_id: int, signum: int) -> None:
        node = self.nodes[node_id]
        if not node.alive or node.process is None:
            raise ProcessLookupError(f"node {node_id} is not running")
        node.process.send_signal(signum)
        if signum == signal.SIGSTOP:
            node.paused = True
        elif signum == signal.SIGCONT:
            node.paused = False

    async def kill(self, node_id: int) -> None:
        """SIGKILL: the node stops at once, keeping only what it had synced."""
        self.signal(node_id, signal.SIGKILL)
        await self._reap(self.nodes[node_id], timeout=10)

    async def restart(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.alive:
            await self.kill(node_id)
        await self.start_node(node_id)

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every node (resuming paused ones), wait, then SIGKILL stragglers."""
        for node in self.nodes.values():
            if node.alive and node.process is not None:
                if node.paused:
                    node.process.send_signal(signal.SIGCONT)
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            await self._reap(node, timeout)

    async def _reap(self, node: NodeProcess, timeout: float) -> None:
        process = node.process
        if process is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        if node._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(node._reader, timeout)
        node.paused = False
        node.is_leader = False
