"""MULTI / EXEC and WATCH with redis-py against real `ranet node` processes:
transactions go through the log (forwarded by followers) and WATCH's check
is decided alike on every replica."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis

from tests.kv_cluster.test_redis_clients import connect, in_thread
from tests.process.helpers import elect, local_cluster, run

INCREMENTS = 25


def test_transactions_and_watch_across_leader_and_followers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            followers = [n for n in cluster.nodes if n != leader]

            def clients() -> None:
                nodes = {n: connect(cluster, n) for n in cluster.nodes}
                follower = nodes[followers[0]]
                with follower.pipeline() as pipe:  # MULTI ... EXEC, forwarded to the leader
                    pipe.set("a", 1).incr("a").get("a").mget("a", "missing")
                    assert pipe.execute() == [True, 2, b"2", [b"2", None]]
                assert [nodes[n].get("a") for n in cluster.nodes] == [b"2"] * 3

                with follower.pipeline() as pipe:  # a hash's map reply crosses the forwarding
                    pipe.hset("h", mapping={"x": 1, "y": 2}).hincrby("h", "x", 5).hgetall("h")
                    assert pipe.execute() == [2, 6, {b"x": b"6", b"y": b"2"}]
                resp3 = connect(cluster, followers[1], protocol=3)
                assert resp3.hgetall("h") == {b"x": b"6", b"y": b"2"}  # a RESP3 map
                assert [nodes[n].hget("h", "y") for n in cluster.nodes] == [b"2"] * 3

                with follower.pipeline() as pipe:  # scores and scored members cross it too
                    pipe.zadd("z", {"a": 1.5, "b": 3}).zincrby("z", 1, "a")
                    pipe.zrange("z", 0, -1, withscores=True).rpush("q", "x", "y").lpop("q", 2)
                    assert pipe.execute() == [2, 2.5, [(b"a", 2.5), (b"b", 3.0)], 2, [b"x", b"y"]]
                assert resp3.zrange("z", 0, -1, withscores=True) == [[b"a", 2.5], [b"b", 3.0]]
                assert follower.zpopmin("z") == [(b"a", 2.5)]  # a write forwarded alone
                assert [nodes[n].zscore("z", "b") for n in cluster.nodes] == [3.0] * 3

                with follower.pipeline() as pipe:  # WATCH read on a follower
                    pipe.watch("a")
                    assert pipe.get("a") == b"2"
                    nodes[leader].set("a", "changed")
                    pipe.multi()
                    pipe.set("a", "lost")
                    with pytest.raises(redis.WatchError):
                        pipe.execute()
                assert [nodes[n].get("a") for n in cluster.nodes] == [b"changed"] * 3

                nodes[leader].set("counter", 0)
                attempts = [0, 0]

                def increment(pipe: redis.client.Pipeline, worker: int) -> None:
                    attempts[worker] += 1
                    value = int(pipe.get("counter"))
                    pipe.multi()
                    pipe.set("counter", value + 1)

                def work(worker: int, node: int) -> None:
                    client = connect(cluster, node)
                    for _ in range(INCREMENTS):
                        client.transaction(lambda pipe: increment(pipe, worker), "counter")

                workers = [
                    threading.Thread(target=work, args=(i, node))
                    for i, node in enumerate((leader, followers[1]))
                ]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join(60)
                    assert not worker.is_alive()
                # read-modify-write under WATCH: no increment lost, whatever the retries
                assert [nodes[n].get("counter") for n in cluster.nodes] == [
                    str(2 * INCREMENTS).encode()
                ] * 3
                assert sum(attempts) >= 2 * INCREMENTS

            await in_thread(clients)

    run(scenario())
