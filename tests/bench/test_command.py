"""``ranet bench``: clear errors for bad arguments, and a real (brief) run that
writes the JSON scripts rely on. Never asserts a speed: only that it works."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from ranet.bench.command import add_parser
from ranet.bench.resp import Access
from ranet.bench.runner import LoadPlan
from tests.bench.fake_server import fake_redis
from tests.kv.fake_backend import WAIT, served
from tests.tls_certs import make_tls

CONTRACT_FIELDS = ("ops_per_s", "p50_ms", "p99_ms", "p999_ms", "errors", "nodes", "client")


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ranet")
    add_parser(parser.add_subparsers())
    return parser.parse_args(["bench", *args])


def ranet_bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ranet", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0"], "expected a positive integer, got 0"),
        (["--concurrency", "many"], "expected an integer, got 'many'"),
        (["--read-ratio", "1.5"], "expected a fraction between 0 and 1, got 1.5"),
        (["--duration", "0"], "expected a positive number of seconds, got 0"),
        (["--warmup", "-1"], "expected 0 or more seconds, got -1"),
        (["--value-size", "-3"], "expected 0 or more, got -3"),
        (["--nodes", "12"], "expected 1 to 9 nodes, got 12"),
        (["--endpoints", "localhost"], "expected HOST:PORT, got 'localhost'"),
        (["--endpoints", "a:1,b:99999"], "expected HOST:PORT, got 'b:99999'"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoints", "127.0.0.1:1", "--unsafe-no-fsync"], "applies to a local cluster"),
        (["--concurrency", "4", "--connections", "8"], "--connections cannot exceed"),
        (["--concurrency", "2", "--clients", "3"], "--clients cannot exceed"),
        (["--data-dir", "/no/such/folder"], "is not a folder"),
    ],
)
def test_contradictory_arguments_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parsed = parse(*args)
    assert parsed.handler(parsed) == 2
    assert message in capsys.readouterr().err


def read_result(path: Path) -> dict[str, Any]:
    result = json.loads(path.read_text())
    for field in CONTRACT_FIELDS:
        assert field in result, field
    return result


def test_bench_against_endpoints_merges_its_load_processes(tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    with fake_redis() as (server, port):
        completed = ranet_bench(
            "--endpoints", f"127.0.0.1:{port}", "--duration", "1", "--warmup", "0.3",
            "--concurrency", "12", "--clients", "2", "--read-ratio", "0.5", "--keys", "50",
            "--json", str(output),
        )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    result = read_result(output)
    assert result["ops_per_s"] > 0 and result["errors"] == 0
    assert result["p50_ms"] <= result["p99_ms"] <= result["p999_ms"]
    assert result["parameters"]["raft"] is False and result["nodes"] == []
    assert result["client"]["processes"] == 2
    assert server.connections >= 12 + 2  # the load, and each process's fill connection
    assert "ops/s" in completed.stdout and "measure]" in completed.stderr


def test_a_server_that_breaks_the_connection_fails_the_bench() -> None:
    with fake_redis(close_after=100) as (_, port):
        completed = ranet_bench("--endpoints", f"127.0.0.1:{port}", "--duration", "2")
    assert completed.returncode == 1
    assert "connection lost" in completed.stderr


def test_bench_of_a_local_three_node_cluster(tmp_path: Path) -> None:
    """The contract scripts rely on, run briefly (a few seconds, not a speed test)."""
    output = tmp_path / "result.json"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    completed = ranet_bench(
        "--nodes", "3", "--concurrency", "8", "--duration", "2", "--warmup", "0.5",
        "--data-dir", str(data_dir), "--json", str(output), timeout=60,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    result = read_result(output)
    assert result["ops_per_s"] > 0
    assert result["parameters"]["fsync"] is True and result["parameters"]["raft"] is True
    assert len(result["nodes"]) == 3 and sum(node["leader"] for node in result["nodes"]) == 1
    assert all(node["cpu_percent"] is not None for node in result["nodes"])
    assert not list(data_dir.iterdir())  # the cluster's folder is gone


def test_bench_reaches_servers_with_a_password_an_acl_user_and_tls(tmp_path: Path) -> None:
    """--password-file, --user and --tls-ca: every load connection (and the
    fill and the leader lookup) over TLS, authenticated; the password never
    on a load process's command line. Without the password: a clear error."""
    files = make_tls(tmp_path / "tls")
    password_file = tmp_path / "password"
    password_file.write_text("bench secret\n")
    output = tmp_path / "result.json"
    context = files.server_context(peers=False)
    with served(password=b"node password", ssl_context=context) as server:
        with redis.Redis(port=server.port, password="node password", ssl=True,
                         ssl_ca_certs=str(files.ca), socket_timeout=WAIT) as admin:  # fmt: skip
            admin.execute_command("ACL", "SETUSER", "bench", "on", ">bench secret", "~key:*",
                                  "+@all", "-@dangerous", "+info")  # fmt: skip
        endpoint = ["--endpoints", f"127.0.0.1:{server.port}", "--tls-ca", str(files.ca)]
        completed = ranet_bench(
            *endpoint, "--user", "bench", "--password-file", str(password_file),
            "--duration", "1", "--warmup", "0.2", "--concurrency", "8", "--clients", "2",
            "--read-ratio", "0.5", "--keys", "20", "--json", str(output),
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr
        result = read_result(output)
        assert result["ops_per_s"] > 0 and result["errors"] == 0
        refused = ranet_bench(*endpoint, "--duration", "1")
        assert refused.returncode == 1 and "NOAUTH" in refused.stderr
        admin_less = ranet_bench(
            *endpoint, "--user", "nobody", "--password-file", str(password_file)
        )
        assert admin_less.returncode == 1 and "WRONGPASS" in admin_less.stderr
        wrong = ranet_bench(*endpoint, "--user", "bench", "--password-file", str(tmp_path / "no"))
        assert wrong.returncode == 2 and "no" in wrong.stderr
    local = ranet_bench("--user", "bench", "--duration", "1")
    assert local.returncode == 2 and "apply to --endpoints" in local.stderr


def test_the_password_goes_to_load_processes_in_their_environment_only() -> None:
    access = Access(b"bench secret", "bench", "/ca.pem")
    plan = LoadPlan("127.0.0.1", 1, 8, 2, 0, 16, 0.0, 10, 0.1, 1.0, access=access)
    for spec in plan.specs():
        assert "bench secret" not in spec.to_json() and '"tls_ca": "/ca.pem"' in spec.to_json()
    assert access.environment()["RANET_PASSWORD"] == "bench secret"
