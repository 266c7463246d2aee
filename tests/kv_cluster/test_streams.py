"""Streams on real `ranet node` processes (kv/streams.py, kv/stream_groups.py,
kv/blocking.py): workers on every node share a consumer group - each job
delivered exactly once, all acknowledged - XREAD BLOCK on a follower wakes
for an XADD on the leader, and the IDs XADD makes with ``*`` (the leader's
clock, written in the log) are the same on every node. Each wait is bounded
(the commands' own BLOCK times, the threads' joins, polls with deadlines)."""

from __future__ import annotations

import threading
import time
from itertools import pairwise
from pathlib import Path

from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run

JOBS = 40
ENTRIES = 20
BLOCK_MS = 200  # a worker's XREADGROUP BLOCK: it looks at the stop flag this often
WAIT_S = 15.0


def _stream_id(entry_id: bytes) -> tuple[int, int]:
    ms, seq = entry_id.split(b"-")
    return int(ms), int(seq)


def _strictly_increasing(ids: list[bytes]) -> bool:
    parsed = [_stream_id(i) for i in ids]
    return all(a < b for a, b in pairwise(parsed))


def test_a_consumer_group_shared_by_workers_on_every_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            followers = [n for n in cluster.nodes if n != leader]

            def clients() -> None:
                known_everywhere(cluster, leader)
                admin = connect(cluster, followers[1])
                assert admin.xgroup_create("jobs", "g", id="0", mkstream=True) is True
                delivered: list[tuple[str, bytes, dict[bytes, bytes]]] = []
                acked: list[bytes] = []
                errors: list[BaseException] = []
                lock = threading.Lock()
                stop = threading.Event()

                def work(node: int) -> None:
                    name = f"worker-{node}"
                    worker = connect(cluster, node)
                    try:
                        while True:
                            reply = worker.xreadgroup(
                                "g", name, {"jobs": ">"}, count=1, block=BLOCK_MS
                            )
                            if not reply:
                                if stop.is_set():
                                    return
                                continue
                            [(stream, entries)] = reply
                            assert stream == b"jobs" and len(entries) == 1, reply
                            [(entry_id, fields)] = entries
                            with lock:
                                delivered.append((name, entry_id, fields))
                            assert worker.xack("jobs", "g", entry_id) == 1
                            with lock:
                                acked.append(entry_id)
                    except BaseException as error:  # reported by the test, not lost in the thread
                        errors.append(error)

                workers = [threading.Thread(target=work, args=(n,)) for n in cluster.nodes]
                for worker in workers:
                    worker.start()
                try:
                    producer = connect(cluster, followers[0])  # XADDs are forwarded
                    added = [producer.xadd("jobs", {"job": f"job-{i}"}) for i in range(JOBS)]
                    deadline = time.monotonic() + WAIT_S
                    while len(acked) < JOBS and not errors and time.monotonic() < deadline:
                        time.sleep(0.05)
                finally:
                    stop.set()
                    for worker in workers:
                        worker.join(BLOCK_MS / 1000 + WAIT_S)
                assert not any(worker.is_alive() for worker in workers)
                assert errors == []

                ids = [entry_id for _, entry_id, _ in delivered]
                assert len(ids) == len(set(ids)), f"delivered twice: {delivered}"
                assert sorted(ids, key=_stream_id) == added
                assert {entry_id: fields for _, entry_id, fields in delivered} == {
                    entry_id: {b"job": f"job-{i}".encode()} for i, entry_id in enumerate(added)
                }
                assert sorted(acked, key=_stream_id) == added
                assert _strictly_increasing(added)

                nodes = [connect(cluster, n) for n in cluster.nodes]
                deadline = time.monotonic() + WAIT_S
                while True:
                    pending = [node.xpending("jobs", "g")["pending"] for node in nodes]
                    if pending == [0] * 3 or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                assert pending == [0] * 3
                ranges = [node.xrange("jobs", "-", "+") for node in nodes]
                assert [entry_id for entry_id, _ in ranges[0]] == added
                assert ranges[1] == ranges[0] and ranges[2] == ranges[0]

            await in_thread(clients)

    run(scenario())


def test_xread_block_on_a_follower_wakes_for_an_xadd_on_the_leader(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower = next(n for n in cluster.nodes if n != leader)

            def clients() -> None:
                known_everywhere(cluster, leader)
                writer = connect(cluster, leader)
                old = writer.xadd("feed", {"n": "old"})  # before the wait: $ is after it
                waiter = connect(cluster, follower)
                watcher = connect(cluster, follower)
                result: list[object] = []
                blocked = threading.Thread(
                    target=lambda: result.append(
                        waiter.xread({"feed": "$"}, block=int(WAIT_S * 1000))
                    )
                )
                blocked.start()
                deadline = time.monotonic() + WAIT_S
                while (
                    watcher.info("clients")["blocked_clients"] < 1 and time.monotonic() < deadline
                ):
                    time.sleep(0.01)
                # The client is blocked, but its $ may not be read yet (a
                # ReadIndex round): an entry added before that is not after
                # $, so add until the waiter wakes - the first one, mostly.
                added: list[bytes] = []
                while blocked.is_alive() and time.monotonic() < deadline:
                    added.append(writer.xadd("feed", {"n": f"new-{len(added)}"}))
                    blocked.join(1)
                blocked.join(WAIT_S)
                assert not blocked.is_alive()
                [reply] = result
                assert isinstance(reply, list) and len(reply) == 1, reply
                [(stream, entries)] = reply
                assert stream == b"feed"
                ids = [entry_id for entry_id, _ in entries]
                assert ids and old not in ids and set(ids) <= set(added), (old, added, reply)
                assert entries[0] == (ids[0], {b"n": f"new-{added.index(ids[0])}".encode()})

                raw = connect(cluster, follower)  # redis-py would make null and [] both []
                raw.set_response_callback("XREAD", lambda response, **_: response)
                start = time.monotonic()
                assert raw.xread({"feed": "$"}, block=300) is None  # nothing added: null
                assert time.monotonic() - start >= 0.25

            await in_thread(clients)

    run(scenario())


def test_auto_ids_are_the_same_on_every_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)

            def clients() -> None:
                known_everywhere(cluster, leader)
                nodes = [connect(cluster, n) for n in cluster.nodes]
                added = [nodes[i % 3].xadd("log", {"i": i}) for i in range(ENTRIES)]
                assert len(set(added)) == ENTRIES and _strictly_increasing(added)
                ranges = [node.xrange("log", "-", "+") for node in nodes]  # linearizable reads
                assert ranges[0] == [
                    (entry_id, {b"i": b"%d" % i}) for i, entry_id in enumerate(added)
                ]
                assert ranges[1] == ranges[0] and ranges[2] == ranges[0]

            await in_thread(clients)

    run(scenario())
