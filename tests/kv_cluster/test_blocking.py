"""Blocking pops on real `ranet node` processes (kv/blocking.py): workers
waiting with BRPOP on the leader and on followers share a queue fed through
another node - every job taken exactly once - and a BZPOPMIN waiting on a
follower wakes for a ZADD on the leader. Each wait is bounded (the
commands' own timeouts, the threads' joins)."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run

JOBS = 40
WAIT_S = 10  # a worker's BRPOP timeout: with nothing left, it ends


def test_workers_on_every_node_share_a_queue_exactly_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            followers = [n for n in cluster.nodes if n != leader]

            def clients() -> None:
                known_everywhere(cluster, leader)
                taken: list[bytes] = []
                lock = threading.Lock()

                def work(node: int) -> None:
                    worker = connect(cluster, node, socket_timeout=WAIT_S + 15)
                    while (job := worker.brpop(["jobs"], timeout=WAIT_S)) is not None:
                        if job[1] == b"stop":  # queued after every job: the work is done
                            return
                        with lock:
                            taken.append(job[1])

                workers = [threading.Thread(target=work, args=(n,)) for n in cluster.nodes]
                for worker in workers:
                    worker.start()
                producer = connect(cluster, followers[0])  # pushes are forwarded too
                for i in range(JOBS):
                    producer.lpush("jobs", f"job-{i}")
                producer.lpush("jobs", *["stop"] * len(workers))
                for worker in workers:
                    worker.join(WAIT_S + 30)
                    assert not worker.is_alive()
                assert sorted(taken) == sorted(f"job-{i}".encode() for i in range(JOBS))
                assert [connect(cluster, n).exists("jobs") for n in cluster.nodes] == [0] * 3

                waiter = connect(cluster, followers[1])
                result: list[object] = []
                blocked = threading.Thread(
                    target=lambda: result.append(waiter.bzpopmin(["board"], timeout=WAIT_S))
                )
                blocked.start()
                connect(cluster, leader).zadd("board", {"low": 1, "high": 2})
                blocked.join(WAIT_S + 15)
                assert result == [(b"board", b"low", 1.0)]
                assert connect(cluster, leader).zrange("board", 0, -1) == [b"high"]

            await in_thread(clients)

    run(scenario())
