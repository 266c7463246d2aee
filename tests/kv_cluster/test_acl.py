"""ACL users on real nodes: a user made through one node logs in on every
node and is held to its rules there, its scripts too; no password in clear
is written anywhere in the nodes' data; a restarted node has the users
again (its log); ``ranet kv --user`` logs in as the user; deleting a user
closes its connections on every node."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.kv_cluster.test_auth import ranet
from tests.kv_cluster.test_redis_clients import connect, in_thread, known_everywhere
from tests.process.helpers import elect, local_cluster, run

PASSWORD = "clear-text-password-7f3a"
WAIT = 15.0


def logged_in(cluster_port: int) -> redis.Redis:
    """A connection as ``app`` - once the node has applied the user (bounded)."""
    deadline = time.monotonic() + WAIT
    while True:
        client = redis.Redis(
            port=cluster_port,
            username="app",
            password=PASSWORD,
            socket_timeout=WAIT,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            client.ping()
            return client
        except redis.AuthenticationError:
            client.close()
            assert time.monotonic() < deadline, "the user never reached the node"
            time.sleep(0.02)


def test_a_user_made_through_one_node_is_held_to_its_rules_on_every_node(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with local_cluster(3, tmp_path) as cluster:
            leader = await elect(cluster)
            follower = next(n for n in cluster.nodes if n != leader)

            def make_and_use() -> None:
                known_everywhere(cluster, leader)
                admin = connect(cluster, follower)  # a follower: the change is forwarded
                rules = ["on", f">{PASSWORD}", "~app:*", "+@all", "-@dangerous"]
                assert admin.execute_command("ACL", "SETUSER", "app", *rules) == b"OK"
                assert connect(cluster, follower).execute_command("ACL", "WHOAMI") == b"default"
                for node in cluster.nodes:
                    app = logged_in(cluster.client_ports[node])
                    assert app.execute_command("ACL", "WHOAMI") == b"app"
                    assert app.set(f"app:{node}", "v")
                    with pytest.raises(redis.exceptions.NoPermissionError):
                        app.set("other", "v")
                    with pytest.raises(redis.exceptions.NoPermissionError):
                        app.keys("*")
                    with pytest.raises(redis.ResponseError, match="can't access"):
                        app.eval("return redis.call('set', 'other', 'v')", 0)
                    assert app.eval("return redis.call('incr', 'app:n')", 0) == node + 1
                users = [connect(cluster, n).execute_command("ACL", "LIST") for n in cluster.nodes]
                assert users[0] == users[1] == users[2] and len(users[0]) == 2
                endpoint = ["--endpoints", cluster.client_address(follower)]
                tool = ranet("kv", *endpoint, "--user", "app", "get", "app:0", password=PASSWORD)
                assert (tool.returncode, tool.stdout) == (0, "v\n"), tool.stderr
                tool = ranet("kv", *endpoint, "--user", "app", "get", "other", password=PASSWORD)
                assert tool.returncode != 0 and "NOPERM" in tool.stdout + tool.stderr

            await in_thread(make_and_use)
            await cluster.restart(follower)

            def after_restart() -> None:
                known_everywhere(cluster, leader)
                app = logged_in(cluster.client_ports[follower])
                assert app.get("app:n") == b"3"
                with pytest.raises(redis.exceptions.NoPermissionError):
                    app.get("other")
                others = [logged_in(cluster.client_ports[n]) for n in cluster.nodes]
                assert connect(cluster, leader).execute_command("ACL", "DELUSER", "app") == 1
                deadline = time.monotonic() + WAIT
                for client in others:  # every node closes the user's connections
                    while True:
                        try:
                            client.ping()
                        except (redis.ConnectionError, redis.AuthenticationError):
                            break
                        assert time.monotonic() < deadline, "a connection outlived its user"
                        time.sleep(0.02)

            await in_thread(after_restart)

        written = [path for path in tmp_path.rglob("*") if path.is_file()]
        assert written, "the nodes wrote nothing?"
        for path in written:
            assert PASSWORD.encode() not in path.read_bytes(), path

    run(scenario())
