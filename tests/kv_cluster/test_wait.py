"""WAIT and CLIENT PAUSE on real `ranet node` processes: WAIT counts the
other members that hold a connection's write, on the leader (its
followers' match indexes) and on a follower (which asks the leader); with a
follower stopped, WAIT 2 answers 1 once its timeout passes and WAIT 1 at
once. A pause holds one node's clients, not the cluster. Every wait is
bounded (WAIT's own timeouts, the clients' socket timeouts)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run

TIMEOUT_MS = 300
HELD_S = 0.5  # how long a client waits for a write the pause holds
AT_ONCE_S = 5.0  # "at once" on a loaded machine: well under WAIT's 0 (no limit)


def test_wait_counts_the_members_that_hold_a_write(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower, stopped = (n for n in cluster.nodes if n != leader)
            on_leader, on_follower = connect(cluster, leader), connect(cluster, follower)

            def healthy() -> None:
                known_everywhere(cluster, leader)
                assert connect(cluster, follower).wait(2, 0) == 2  # wrote nothing: the members
                on_leader.set("a", "1")
                assert on_leader.wait(2, 0) == 2
                on_follower.set("b", "1")
                assert on_follower.wait(2, 0) == 2
                # A pause is the node's: the leader's clients wait, the cluster does not.
                assert on_leader.client_pause(10_000, all=False)
                address = ("127.0.0.1", cluster.client_ports[leader])
                with socket.create_connection(address, timeout=HELD_S) as impatient:
                    impatient.sendall(b"SET e 1\r\n")
                    with pytest.raises(TimeoutError):  # held; it gives up and goes away
                        impatient.recv(16)
                assert on_follower.set("c", "1")  # forwarded, and applied on the leader too
                assert on_leader.get("c") == b"1"  # a read passes a WRITE pause
                assert connect(cluster, leader).client_unpause()
                assert on_leader.get("e") is None  # a connection gone while held runs nothing

            await in_thread(healthy)
            await cluster.kill(stopped)

            def degraded() -> None:
                for client in (on_leader, on_follower):
                    client.set("d", "1")
                    started = time.monotonic()
                    assert client.wait(2, TIMEOUT_MS) == 1
                    assert TIMEOUT_MS / 1000 <= time.monotonic() - started < AT_ONCE_S + 1
                    started = time.monotonic()
                    assert client.wait(1, 0) == 1
                    assert time.monotonic() - started < AT_ONCE_S

            await in_thread(degraded)

    run(scenario())
