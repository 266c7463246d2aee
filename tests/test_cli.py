"""The command line: help on every command, clear errors for bad options."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ranet.cli import main


def ranet(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ranet", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "command", [[], ["node"], ["cluster"], ["sim"], ["bench"], ["member"], ["leader"], ["kv"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    result = ranet(*command, "--help")
    assert result.returncode == 0
    assert "usage: ranet" in result.stdout


def test_no_command_prints_help_and_fails() -> None:
    result = ranet()
    assert result.returncode == 2 and "commands:" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["node", "x"], "invalid int value: 'x'"),
        (["node", "7"], "node 7 is not among the peers [0, 1, 2, 3, 4]"),
        (["node", "0", "--peers", "0=localhost"], "expected HOST:PORT, got 'localhost'"),
        (["node", "0", "--peers", "0=h:99999"], "port 99999 is out of range"),
        (["node", "0", "--peers", "zero=h:1"], "node id must be an integer"),
        (["node", "0", "--peers", "0=h:1,0=h:2"], "node 0 is listed twice"),
        (["node", "0", "--console", "--no-console"], "not allowed with argument"),
        (["node", "0", "--snapshot-entries", "-1"], "must be 0 (never) or positive, got -1"),
        (["node", "0", "--snapshot-entries", "x"], "expected a number, got 'x'"),
        (["node", "0", "--notify-keyspace-events", "KEq"], "Invalid event class character"),
        (["node", "0", "--notify-keyspace-events", "KEm"], "does not emit key-miss events"),
        (["cluster", "--nodes", "0"], "--nodes must be between 1 and 99"),
        (["sim", "--faults", "gremlins"], "unknown fault(s) gremlins"),
        (["sim", "--nodes", "0"], "expected a positive integer"),
    ],
)
def test_bad_options_get_clear_errors(args: list[str], message: str) -> None:
    result = ranet(*args)
    assert result.returncode == 2, result
    assert message in result.stderr


@pytest.mark.parametrize(("args", "expected"), [([], 10_000), (["--snapshot-entries", "0"], 0)])
def test_node_snapshot_entries_reaches_the_config(args: list[str], expected: int) -> None:
    import argparse

    from ranet.node import command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    config = command.config_from(parser.parse_args(["node", "0", *args]))
    assert config.snapshot_entries == expected


def test_node_refuses_a_port_in_use(tmp_path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = ranet(
            "node",
            "0",
            "--peers",
            f"0=127.0.0.1:{port}",
            "--data-dir",
            str(tmp_path),
            "--no-console",
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr


def test_sim_prints_a_timeline_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--nodes", "3", "--seed", "4", "--steps", "50"]) == 0
    out = capsys.readouterr().out
    assert "BECAME LEADER" in out
    assert out.rstrip().splitlines()[-1].startswith("OK:")


def test_sim_many_seeds_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--seeds", "5", "--steps", "50"]) == 0
    assert "5 seeds, 0 failed" in capsys.readouterr().out


def test_cluster_hands_its_nodes_their_options(tmp_path) -> None:
    import argparse

    from ranet.node import cluster_command

    parser = argparse.ArgumentParser()
    cluster_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["cluster", "--slow", "--notify-keyspace-events", "KEA", "--tls-auth-clients", "yes",
         "--password-file", str(tmp_path / "password")]
    )  # fmt: skip
    options = cluster_command._node_args(args)
    assert options[0] == "--slow"
    assert options[1:3] == ["--password-file", str((tmp_path / "password").resolve())]
    assert options[3:] == ["--notify-keyspace-events", "KEA", "--tls-auth-clients", "yes"]
