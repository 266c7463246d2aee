"""``ranet kv``: replies printed as redis-cli prints them, exit statuses, and
the command end to end against a real 3-node cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path

import hiredis
import pytest

from ranet.cli import main
from ranet.kv import command_line
from ranet.kv.command_line import format_raw, format_tty
from ranet.kv.split_args import quote
from tests.client.fake_nodes import closed_ports
from tests.client.helpers import endpoints, serving
from tests.process.helpers import local_cluster, run


def kv(*argv: str) -> int:
    """Run ``ranet kv ARGV...`` in this process, through the ``ranet`` command line."""
    return main(["kv", *argv])


def test_terminal_format_is_redis_clis() -> None:
    assert format_tty(b"v") == '"v"\n'
    assert format_tty(7) == "(integer) 7\n"
    assert format_tty(None) == "(nil)\n"
    assert format_tty([]) == "(empty array)\n"
    assert format_tty(hiredis.ReplyError("ERR syntax error")) == "(error) ERR syntax error\n"
    assert format_tty([b"a", None, [b"b", 2]]) == (
        '1) "a"\n2) (nil)\n3) 1) "b"\n   2) (integer) 2\n'
    )
    eleven = format_tty([b"x"] * 9 + [[b"y", b"z"], b"w"])
    assert eleven.splitlines()[0] == ' 1) "x"'
    assert eleven.splitlines()[9:] == ['10) 1) "y"', '    2) "z"', '11) "w"']


def test_strings_are_quoted_with_redis_clis_escapes() -> None:
    assert quote(b'a "b"\\\n\r\t\x07\x08\x00\xff') == r'"a \"b\"\\\n\r\t\a\b\x00\xff"'


def test_raw_format_prints_values_bare_one_a_line() -> None:
    assert format_raw([b"a", None, 3]) == b"a\n\n3"
    assert format_raw(hiredis.ReplyError("ERR x")) == b"ERR x\n"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert kv("--timeout", "0", "GET", "k") == 2
    assert kv("--endpoints", " , ", "GET", "k") == 2
    assert kv("multi") == 2  # a transaction needs one connection for several commands
    assert kv("BLPOP", "q", "0") == 2  # a blocking pop: no traceback, a clear refusal
    err = capsys.readouterr().err
    assert err.count("ranet kv: error:") == 4 and err.count("use redis-cli") == 2


def test_no_reachable_node_exits_3_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    status = kv("--endpoints", ",".join(closed_ports(2)), "--timeout", "0.3", "SET", "k", "v")
    assert status == command_line.EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "ranet kv: error: no node served the command" in err
    assert "cannot connect" in err
    assert "may or may not have been applied" not in err  # nothing ever reached a node
    assert "is a cluster serving clients at 127.0.0.1:" in err


def test_commands_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> list[tuple[int, str]]:
        async with local_cluster(3, tmp_path) as cluster:
            await serving(cluster)
            where = ",".join(endpoints(cluster))
            results = []
            for argv in (
                ["SET", "k", "hello world"],
                ["GET", "k"],
                ["--no-raw", "GET", "k"],
                ["--no-raw", "INCR", "n"],
                ["--no-raw", "CAS", "k", "hello world", "-1"],
                ["--no-raw", "MGET", "k", "n", "missing"],
                ["--no-raw", "INCR", "k", "x"],
                ["--no-raw", "INCR", "k"],
                ["--raw", "INCR", "nope", "extra"],
            ):
                status = await asyncio.to_thread(kv, "--endpoints", where, *argv)
                results.append((status, capsys.readouterr().out))
            return results

    assert run(scenario()) == [
        (0, "OK\n"),
        (0, "hello world\n"),
        (0, '"hello world"\n'),
        (0, "(integer) 1\n"),
        (0, "(integer) 1\n"),
        (0, '1) "-1"\n2) "1"\n3) (nil)\n'),
        (1, "(error) ERR wrong number of arguments for 'incr' command\n"),
        (0, "(integer) 0\n"),
        (1, "ERR wrong number of arguments for 'incr' command\n\n"),
    ]
