"""Scripts and functions on a real cluster: redis-py's Lock, registered
scripts (EVALSHA, SCRIPT LOAD) and libraries of functions (FUNCTION LOAD,
FCALL) through followers, the script cache and the libraries replicated to
every node and kept across a leader's death and a node's restart."""

from __future__ import annotations

import hashlib
from pathlib import Path

import redis

from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run

INCREMENT_BY = "return redis.call('incrby', KEYS[1], ARGV[1])"


def test_redis_py_locks_and_scripts_across_nodes_and_failover(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            followers = [n for n in cluster.nodes if n != leader]

            def before_failover() -> None:
                known_everywhere(cluster, leader)
                first, second, third = (connect(cluster, n) for n in (*followers, leader))
                # redis-py's Lock: acquire, release and extend are Lua scripts
                # (EVALSHA, loaded on NOSCRIPT), run here through a follower
                lock = first.lock("resource", timeout=30, blocking=False)
                rival = second.lock("resource", timeout=30, blocking=False)
                assert lock.acquire() is True
                assert rival.acquire() is False
                assert lock.extend(10) is True
                assert lock.locked() and second.pttl("resource") > 30_000
                lock.release()
                assert rival.acquire() is True
                with_wrong_token = first.lock("resource")
                with_wrong_token.local.token = b"not-the-owner"
                try:
                    with_wrong_token.release()
                    raise AssertionError("a lock released by a client that does not own it")
                except redis.exceptions.LockNotOwnedError:
                    pass
                rival.release()
                # a registered script loaded through one node runs on every node
                increment = first.register_script(INCREMENT_BY)
                assert increment(keys=["n"], args=[5]) == 5
                assert third.evalsha(increment.sha, 1, "n", 2) == 7
                assert second.script_exists(increment.sha) == [True]
                assert third.eval_ro("return redis.call('get', KEYS[1])", 1, "n") == b"7"
                # in a pipeline (MULTI ... EXEC): redis-py loads it first, then EVALSHA
                doubling = second.register_script("return redis.call('incrby', KEYS[1], 2)")
                pipe = second.pipeline()
                doubling(keys=["n"], client=pipe)
                increment(keys=["n"], args=[10], client=pipe)
                assert pipe.execute() == [9, 19]
                assert first.get("n") == b"19"

            await in_thread(before_failover)
            await cluster.kill(leader)
            new_leader = await elect(cluster)
            sha = hashlib.sha1(INCREMENT_BY.encode()).hexdigest()

            def after_failover() -> None:
                running = [n for n in cluster.nodes if n != leader]
                known_everywhere(cluster, new_leader, among=running)
                node = connect(cluster, new_leader)
                assert node.evalsha(sha, 1, "n", 1) == 20

            await in_thread(after_failover)
            await cluster.restart(leader)

            def after_restart() -> None:
                known_everywhere(cluster, new_leader)
                restarted = connect(cluster, leader)
                assert restarted.evalsha(sha, 1, "n", 1) == 21
                assert restarted.get("n") == b"21"

            await in_thread(after_restart)

    run(scenario())


def test_a_runaway_script_is_stopped_alike_on_every_node(tmp_path: Path) -> None:
    """An endless loop, and a pattern that would backtrack for minutes, end
    with the budget's error; the writes made before it are on every node
    alike, and the cluster goes on serving."""

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)

            def clients() -> None:
                known_everywhere(cluster, leader)
                nodes = [connect(cluster, n) for n in cluster.nodes]
                for script in (
                    "redis.call('set', 'before', 1) while true do redis.call('incr', 'n') end",
                    "redis.call('set', 'before', 2) return string.find(('a'):rep(3000), '.-.-.-b')",
                ):
                    try:
                        nodes[1].eval(script, 0)
                        raise AssertionError("a runaway script ended on its own")
                    except redis.ResponseError as error:
                        assert "used up its budget" in str(error), error
                assert nodes[2].incr("after") == 1
                counts = {node.get("n") for node in nodes}
                assert len(counts) == 1 and int(counts.pop()) > 1_000
                assert [node.get("before") for node in nodes] == [b"2"] * 3

            await in_thread(clients)

    run(scenario())


RATE_LIMITER = """#!lua name=limits
local function allowed(keys, args)
  local count = redis.call('incr', keys[1])
  if count == 1 then redis.call('pexpire', keys[1], args[1]) end
  return count <= tonumber(args[2]) and 1 or 0
end
redis.register_function('allow', allowed)
redis.register_function{function_name='used', flags={'no-writes'},
  callback=function(keys) return tonumber(redis.call('get', keys[1]) or 0) end}
"""


def test_redis_py_functions_across_nodes_and_failover(tmp_path: Path) -> None:
    """A library loaded through a follower is called on every node (FCALL_RO
    served where it is asked), kept by the new leader after the old one's
    death, and by that node after its restart."""

    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            followers = [n for n in cluster.nodes if n != leader]

            def before_failover() -> None:
                known_everywhere(cluster, leader)
                first, second, third = (connect(cluster, n) for n in (*followers, leader))
                assert first.function_load(RATE_LIMITER) == b"limits"
                assert [second.fcall("allow", 1, "api", 60_000, 2) for _ in range(3)] == [1, 1, 0]
                assert third.fcall_ro("used", 1, "api") == 3
                assert first.fcall_ro("used", 1, "api") == 3
                try:
                    second.fcall_ro("allow", 1, "api", 60_000, 2)
                    raise AssertionError("FCALL_RO ran a function that may write")
                except redis.ResponseError as error:
                    assert "write flag" in str(error)
                pipe = third.pipeline()
                pipe.fcall("allow", 1, "other", 60_000, 5)
                pipe.fcall("used", 1, "other")
                assert pipe.execute() == [1, 1]

            await in_thread(before_failover)
            await cluster.kill(leader)
            new_leader = await elect(cluster)

            def after_failover() -> None:
                running = [n for n in cluster.nodes if n != leader]
                known_everywhere(cluster, new_leader, among=running)
                assert connect(cluster, new_leader).fcall("used", 1, "api") == 3

            await in_thread(after_failover)
            await cluster.restart(leader)

            def after_restart() -> None:
                known_everywhere(cluster, new_leader)
                restarted = connect(cluster, leader)
                assert restarted.fcall_ro("used", 1, "other") == 1
                listed = restarted.function_list()
                assert [entry[entry.index(b"library_name") + 1] for entry in listed] == [b"limits"]

            await in_thread(after_restart)

    run(scenario())
