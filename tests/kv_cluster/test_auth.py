"""A cluster of real `ranet node` processes with a client password and a peer
secret: redis-py and ranet's own tools get in with the password (file or
RANET_PASSWORD), and are refused clearly without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from ranet.node.supervisor import LocalCluster
from tests.kv_cluster.test_redis_clients import in_thread
from tests.process.helpers import elect, run

PASSWORD = "open sesame"


def ranet(*args: str | Path, password: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "RANET_PASSWORD"}
    if password is not None:
        environment["RANET_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "ranet", *map(str, args)],
        capture_output=True, text=True, timeout=60, env=environment,
    )  # fmt: skip


def test_a_cluster_with_a_password_and_a_peer_secret(tmp_path: Path) -> None:
    password_file, secret_file = tmp_path / "password", tmp_path / "peer-secret"
    password_file.write_text(PASSWORD + "\n")
    secret_file.write_text("between the nodes\n")
    options = ["--password-file", str(password_file), "--peer-secret-file", str(secret_file)]
    cluster = LocalCluster(3, tmp_path / "data", node_args=options)

    async def scenario() -> None:
        try:
            await cluster.start()
            leader = await elect(cluster)  # the nodes proved the secret to each other
            follower = (leader + 1) % 3
            endpoints = ",".join(cluster.client_address(n) for n in cluster.nodes)

            def clients() -> None:
                port = cluster.client_ports[follower]
                with redis.Redis(port=port, password=PASSWORD, socket_timeout=15) as client:
                    assert client.set("greeting", "hello")  # forwarded to the leader
                with (
                    redis.Redis(port=port, socket_timeout=15) as client,
                    pytest.raises(redis.AuthenticationError),
                ):
                    client.get("greeting")

                done = ranet("kv", "--endpoints", endpoints, "get", "greeting", password=PASSWORD)
                assert done.stdout == "hello\n", done.stderr
                refused = ranet("kv", "--endpoints", endpoints, "get", "greeting", password="no")
                assert refused.returncode == 2 and "WRONGPASS" in refused.stderr
                members = ranet("member", "list", "--endpoints", endpoints,
                                "--password-file", password_file)  # fmt: skip
                assert members.returncode == 0 and members.stdout.count("voter") == 3
                saved = ranet("backup", "save", tmp_path / "kv.backup", "--endpoints", endpoints,
                              password=PASSWORD)  # fmt: skip
                assert saved.returncode == 0, saved.stderr

            await in_thread(clients)
        finally:
            await cluster.stop(timeout=5)

    run(scenario())
    assert "1 keys" in ranet("backup", "inspect", tmp_path / "kv.backup").stdout
