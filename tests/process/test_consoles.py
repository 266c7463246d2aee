"""The consoles, driven through pipes as a user would type into them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from pathlib import Path

from tests.process.helpers import append, dump, elect, local_cluster, run, wait_applied


async def answer_to(cluster, node_id: int, line: str, prefix: str, timeout: float = 10) -> str:
    """Type ``line`` at a node and return the first new output line starting with ``prefix``."""
    before = len(cluster.nodes[node_id].lines)
    await cluster.send(node_id, line)

    def new_lines() -> list[str]:
        return list(cluster.nodes[node_id].lines)[before:]

    assert await cluster.wait_for(
        lambda: any(x.startswith(prefix) for x in new_lines()), timeout
    ), dump(cluster)
    return next(x for x in new_lines() if x.startswith(prefix))


def test_node_console_status_unknown_command_and_no_leader(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            await append(cluster, leader, "hello")
            await wait_applied(cluster, [0, 1, 2], ["hello"])
            # status: the seed's raftdebug, as JSON lines beginning with "{"
            await cluster.send(leader, "status")
            assert await cluster.wait_for(
                lambda: any('"role": "LEADER"' in x for x in cluster.nodes[leader].lines), 10
            ), dump(cluster)
            reply = await answer_to(cluster, leader, "frobnicate", "unknown command")
            assert "'frobnicate'" in reply and "help" in reply
            reply = await answer_to(cluster, leader, "append", "usage:")
            assert reply == "usage: append TEXT"
            # With two of three nodes gone there is no leader: a clear answer, no hang.
            others = [n for n in cluster.nodes if n != leader]
            for node_id in others:
                await cluster.kill(node_id)
            assert await cluster.wait_for(lambda: not cluster.nodes[leader].is_leader, 15), dump(
                cluster
            )  # check-quorum: the isolated leader steps down
            reply = await answer_to(cluster, leader, "append late", "no leader")
            assert "election" in reply

    run(scenario())


def test_status_reports_raft_state_as_json(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            await cluster.send(leader, "status")
            assert await cluster.wait_for(
                lambda: any(x == "}" for x in cluster.nodes[leader].lines), 10
            )
            lines = list(cluster.nodes[leader].lines)
            start = max(i for i, x in enumerate(lines) if x == "{")
            end = lines.index("}", start)
            status = json.loads("\n".join(lines[start : end + 1]))
            assert status["role"] == "LEADER" and status["leader_id"] == leader
            assert status["members"] == [0, 1, 2]
            assert set(status["followers"]) == {str(n) for n in cluster.nodes if n != leader}

    run(scenario())


def consecutive_free_ports(count: int) -> int:
    """A base port with ``count`` free ports after it (checked, then released)."""
    for base in range(21000, 60000, 97):
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free port range")


def test_cluster_command_session(tmp_path: Path) -> None:
    """`ranet cluster`: start, append, kill, restart, pause, resume, Ctrl-C."""

    async def scenario() -> None:
        base = consecutive_free_ports(3)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ranet", "cluster", "--nodes", "3",
            "--base-port", str(base), "--data-dir", str(tmp_path / "data"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
        )  # fmt: skip
        output: list[str] = []

        async def read_until(predicate, timeout: float = 20) -> str:
            async with asyncio.timeout(timeout):
                while True:
                    for line in output:
                        if predicate(line):
                            output.remove(line)
                            return line
                    raw = await process.stdout.readline()
                    if not raw:
                        raise AssertionError("cluster exited:\n" + "\n".join(output))
                    output.append(raw.decode().rstrip("\n"))

        async def type_line(line: str) -> None:
            process.stdin.write(line.encode() + b"\n")
            await process.stdin.drain()

        try:
            await read_until(lambda x: "BECAME LEADER" in x)
            await type_line("append hello")
            for _ in range(3):
                await read_until(lambda x: "Applying:" in x and "'hello'" in x)
            await type_line("kill 1")
            await read_until(lambda x: x == "node 1 killed")
            await type_line("nodes")
            await read_until(lambda x: x.startswith("node 1 ") and "stopped" in x)
            await type_line("restart 1")
            await read_until(lambda x: x == "node 1 restarted")
            await read_until(lambda x: x.startswith("[node 1]") and "'hello'" in x)  # caught up
            await type_line("pause 2")
            await read_until(lambda x: x == "node 2 paused")
            await type_line("resume 2")
            await read_until(lambda x: x == "node 2 resumed")
            await type_line("kill 9")
            await read_until(lambda x: x.startswith("error: there is no node 9"))
            await type_line("dance")
            await read_until(lambda x: x.startswith("unknown command 'dance'"))
            process.send_signal(signal.SIGINT)
            await read_until(lambda x: x == "all nodes stopped")
            assert await asyncio.wait_for(process.wait(), 20) == 0
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the supervisor and every node
            await process.wait()

    run(scenario())
