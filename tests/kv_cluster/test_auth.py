"""A cluster of real `ranet node` processes with a client password, a peer
secret and TLS on both ports: redis-py and ranet's own tools get in with the
password (file or RANET_PASSWORD) over TLS, and are refused clearly without."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from ranet.node.supervisor import LocalCluster
from tests.kv_cluster.test_redis_clients import in_thread
from tests.process.helpers import elect, run
from tests.tls_certs import client_files, make_tls

PASSWORD = "open sesame"


def ranet(*args: str | Path, password: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "RANET_PASSWORD"}
    if password is not None:
        environment["RANET_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "ranet", *map(str, args)],
        capture_output=True, text=True, timeout=60, env=environment,
    )  # fmt: skip


def test_a_cluster_with_a_password_a_peer_secret_and_tls(tmp_path: Path) -> None:
    password_file, secret_file = tmp_path / "password", tmp_path / "peer-secret"
    password_file.write_text(PASSWORD + "\n")
    secret_file.write_text("between the nodes\n")
    tls = make_tls(tmp_path / "tls")
    files = {"--password-file": password_file, "--peer-secret-file": secret_file,
             "--tls-cert": tls.cert, "--tls-key": tls.key, "--tls-ca": tls.ca}  # fmt: skip
    options = [str(part) for option in files.items() for part in option]
    secure = {"ssl": True, "ssl_ca_certs": str(tls.ca), "socket_timeout": 15}
    cluster = LocalCluster(3, tmp_path / "data", node_args=options)

    async def scenario() -> None:
        try:
            await cluster.start()
            leader = await elect(cluster)  # the nodes proved the secret to each other
            follower = (leader + 1) % 3
            endpoints = ",".join(cluster.client_address(n) for n in cluster.nodes)

            def clients() -> None:
                port = cluster.client_ports[follower]
                with redis.Redis(port=port, password=PASSWORD, **secure) as client:
                    assert client.set("greeting", "hello")  # forwarded to the leader
                with (
                    redis.Redis(port=port, **secure) as client,
                    pytest.raises(redis.AuthenticationError),
                ):
                    client.get("greeting")
                with (
                    redis.Redis(port=port, password=PASSWORD, socket_timeout=15) as client,
                    pytest.raises(redis.ConnectionError),
                ):
                    client.get("greeting")  # not over TLS

                tools = ["--endpoints", endpoints, "--tls-ca", tls.ca]
                done = ranet("kv", *tools, "get", "greeting", password=PASSWORD)
                assert done.stdout == "hello\n", done.stderr
                refused = ranet("kv", *tools, "get", "greeting", password="no")
                assert refused.returncode == 2 and "WRONGPASS" in refused.stderr
                members = ranet("member", "list", *tools, "--password-file", password_file)
                assert members.returncode == 0 and members.stdout.count("voter") == 3
                saved = ranet("backup", "save", tmp_path / "kv.backup", *tools, password=PASSWORD)
                assert saved.returncode == 0, saved.stderr

            await in_thread(clients)
        finally:
            await cluster.stop(timeout=5)

    run(scenario())
    assert "1 keys" in ranet("backup", "inspect", tmp_path / "kv.backup").stdout


def test_tls_needs_all_three_files(tmp_path: Path) -> None:
    done = ranet("node", "0", "--no-console", "--data-dir", tmp_path, "--tls-cert", tmp_path / "x")
    assert done.returncode == 2
    assert "TLS needs all three of --tls-cert, --tls-key and --tls-ca" in done.stderr


def test_a_node_that_requires_client_certificates(tmp_path: Path) -> None:
    """``--tls-auth-clients yes``: redis-py, redis-cli and ranet's tools get
    in with a certificate from the cluster's CA, and not without one."""
    tls = make_tls(tmp_path / "tls")
    cert, key = client_files(tls)
    options = ["--tls-cert", tls.cert, "--tls-key", tls.key, "--tls-ca", tls.ca]
    cluster = LocalCluster(
        1, tmp_path / "data", node_args=[*map(str, options), "--tls-auth-clients", "yes"]
    )

    async def scenario() -> None:
        try:
            await cluster.start()
            await elect(cluster)
            port = cluster.client_ports[0]

            def clients() -> None:
                secure = {"ssl": True, "ssl_ca_certs": str(tls.ca), "socket_timeout": 15}
                with redis.Redis(
                    port=port, ssl_certfile=str(cert), ssl_keyfile=str(key), **secure
                ) as client:
                    assert client.set("greeting", "hello")
                with (
                    redis.Redis(port=port, **secure) as anonymous,  # type: ignore[arg-type]
                    pytest.raises(redis.ConnectionError),
                ):
                    anonymous.get("greeting")
                tools = ["--endpoints", cluster.client_address(0), "--tls-ca", tls.ca]
                done = ranet("kv", *tools, "--tls-cert", cert, "--tls-key", key, "get", "greeting")
                assert done.stdout == "hello\n", done.stderr
                refused = ranet("kv", *tools, "--timeout", "1", "get", "greeting")
                assert refused.returncode == 3, refused
                half = ranet("kv", *tools, "--tls-cert", cert, "get", "greeting")
                assert half.returncode == 2 and "both --tls-cert and --tls-key" in half.stderr
                if shutil.which("redis-cli"):
                    cli = ["redis-cli", "-p", str(port), "--tls", "--cacert", str(tls.ca)]
                    mine = ["--cert", str(cert), "--key", str(key)]
                    answer = subprocess.run([*cli, *mine, "get", "greeting"], capture_output=True,
                                            text=True, timeout=30)  # fmt: skip
                    assert answer.stdout == "hello\n", answer.stderr

            await in_thread(clients)
        finally:
            await cluster.stop(timeout=5)

    run(scenario())


def test_tls_auth_clients_needs_tls(tmp_path: Path) -> None:
    done = ranet("node", "0", "--no-console", "--data-dir", tmp_path, "--tls-auth-clients", "yes")
    assert done.returncode == 2
    assert "--tls-auth-clients needs TLS" in done.stderr
