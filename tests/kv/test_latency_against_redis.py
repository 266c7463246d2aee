"""LATENCY and latency-monitor-threshold against redis-server 7.0.15: the
same steps on both, a slow script making a ``command`` event - the replies
alike where Redis's are for tools (LATEST, HISTORY, RESET, the errors,
CONFIG), their shapes where they hold times; DOCTOR and GRAPH in ranet's
words (latency.py Rule 2)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import hiredis
import pytest

from ranet.kv.latency import LatencyMonitor
from ranet.kv.slowlog import SlowLog

from .fake_backend import served
from .test_against_redis import pytestmark, redis_server  # noqa: F401  (skip; a fixture)
from .test_notifications_against_redis import Raw

SLOW_SCRIPT = "local i = 0 while i < 3000000 do i = i + 1 end return i"  # 20-200 ms

STEPS: list[tuple[str, ...]] = [
    ("CONFIG", "GET", "latency-monitor-threshold"),
    ("LATENCY", "LATEST"),
    ("LATENCY", "HISTORY", "command"),
    ("LATENCY", "RESET"),
    ("LATENCY", "GRAPH", "command"),
    ("CONFIG", "SET", "latency-monitor-threshold", "x"),
    ("CONFIG", "SET", "latency-monitor-threshold", "-1"),
    ("CONFIG", "SET", "latency-monitor-threshold", "5"),
    ("CONFIG", "GET", "latency-monitor-threshold"),
    ("GET", "k"),  # fast, and faster than 5 ms: no event
    ("EVAL", SLOW_SCRIPT, "0"),
    ("LATENCY", "LATEST"),
    ("LATENCY", "HISTORY", "command"),
    ("LATENCY", "HISTORY", "nothing"),
    ("LATENCY", "RESET", "nothing", "COMMAND"),
    ("LATENCY", "LATEST"),
    ("LATENCY",),
    ("LATENCY", "foo"),
    ("LATENCY", "history"),
    ("LATENCY", "latest", "x"),
    ("LATENCY", "graph"),
    ("LATENCY", "doctor", "x"),
    ("MULTI",),
    ("LATENCY", "RESET"),
    ("EXEC",),
    ("CONFIG", "SET", "latency-monitor-threshold", "0"),
]


def _shape(reply: Any) -> Any:
    """A reply with its times and latencies (numbers past 100) as ``int``."""
    if isinstance(reply, list):
        return [_shape(item) for item in reply]
    if isinstance(reply, int) and reply > 0:
        return int
    if isinstance(reply, hiredis.ReplyError):
        return f"error: {reply}"
    return reply


def _answers(address: str | tuple[str, int]) -> list[Any]:
    with Raw(address) as connection:
        connection.call("FLUSHALL")
        return [_shape(connection.call(*step)) for step in STEPS]


def test_latency_answers_as_redis_does(redis_server: Path) -> None:  # noqa: F811
    expected = _answers(str(redis_server))
    with served() as server:
        got = _answers(("127.0.0.1", server.port))
    for step, want, have in zip(STEPS, expected, got, strict=True):
        assert (step, have) == (step, want)
    assert expected[11] == [[b"command", int, int, int]]  # the script made its event


def test_latency_help_is_redis_s_without_histogram(redis_server: Path) -> None:  # noqa: F811
    with Raw(str(redis_server)) as reference:
        expected = reference.call("LATENCY", "HELP")
    with served() as server, Raw(("127.0.0.1", server.port)) as ours:
        got = ours.call("LATENCY", "HELP")
        histogram = ours.call("LATENCY", "HISTOGRAM")
    at = expected.index(b"HISTOGRAM [COMMAND ...]")
    assert got == expected[:at] + expected[at + 3 :]
    assert isinstance(histogram, hiredis.ReplyError) and "not built" in str(histogram)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_an_event_keeps_the_slowest_sample_of_each_second_and_its_160_newest() -> None:
    clock = _Clock()
    monitor = LatencyMonitor(clock)
    monitor.set_threshold(10)
    monitor.add("command", 12)
    monitor.add("command", 30)  # the same second: the larger stays
    monitor.add("command", 20)
    assert monitor.command([b"LATENCY", b"HISTORY", b"command"], 10_000) == [[1_000_000, 30]]
    for second in range(1, 200):
        clock.now += 1
        monitor.add("command", 10 + second)
    history = monitor.command([b"LATENCY", b"HISTORY", b"command"], 10_000)
    assert isinstance(history, list) and len(history) == 160
    assert history[0] == [1_000_040, 50] and history[-1] == [1_000_199, 209]
    assert monitor.command([b"LATENCY", b"LATEST"], 10_000) == [[b"command", 1_000_199, 209, 209]]


def test_fast_commands_and_others_are_told_apart_at_the_threshold() -> None:
    monitor = LatencyMonitor(_Clock())
    monitor.command_took([b"GET", b"k"], 0.050)  # the monitor is off
    monitor.set_threshold(10)
    monitor.command_took([b"GET", b"k"], 0.0099)  # under the threshold
    monitor.command_took([b"GET", b"k"], 0.012)
    monitor.command_took([b"SORT", b"k"], 0.5)
    latest = monitor.command([b"LATENCY", b"LATEST"], 10_000)
    assert latest == [[b"fast-command", 1_000_000, 12, 12], [b"command", 1_000_000, 500, 500]]


def test_doctor_and_graph_speak_of_the_events() -> None:
    clock = _Clock()
    monitor = LatencyMonitor(clock)
    assert b"monitor is off" in _text(monitor.command([b"LATENCY", b"DOCTOR"], 10_000))
    monitor.set_threshold(5)
    assert b"No command" in _text(monitor.command([b"LATENCY", b"DOCTOR"], 10_000))
    for latency in (10, 40, 25):
        clock.now += 1
        monitor.add("command", latency)
    report = _text(monitor.command([b"LATENCY", b"DOCTOR"], 10_000))
    assert b"1. command: 3 latency spikes (average 25ms, mean deviation 10ms" in report
    assert b"slowlog-log-slower-than 5000" in report  # the slow log misses these spikes
    graph = _text(monitor.command([b"LATENCY", b"GRAPH", b"command"], 10_000))
    lines = graph.splitlines()
    assert lines[0] == b"command - high 40 ms, low 10 ms (all time high 40 ms)"
    assert lines[2:6] == [b" #", b" #", b" ##", b"###"]
    assert lines[6] == b"from 2s ago (left) to 0s ago (right)"


def _text(reply: object) -> bytes:
    assert isinstance(reply, bytes)
    return reply


@pytest.mark.parametrize("words", [("LATENCY", "RESET"), ("LATENCY", "LATEST")])
def test_latency_runs_at_exec_inside_a_transaction(words: tuple[str, ...]) -> None:
    with served() as server, Raw(("127.0.0.1", server.port)) as connection:
        assert connection.call("MULTI") == b"OK"
        assert connection.call(*words) == b"QUEUED"
        assert connection.call("EXEC") in ([0], [[]])


def test_the_server_compares_once_against_the_lower_of_the_two_settings() -> None:
    """SLOWLOG and the latency monitor time commands alike (latency.py): the
    server's one comparison is against the lower threshold, and each keeps
    what passes its own."""
    log = SlowLog(clock=_Clock())
    assert log.threshold == 0.010  # the slow log's 10 ms; the monitor is off
    log.set_latency_threshold(5)
    assert log.threshold == 0.005
    log.add([b"SORT", b"k"], [], 0.007, "127.0.0.1:5000", b"")  # past 5 ms, not 10
    assert log.command([b"SLOWLOG", b"LEN"]) == 0
    latest = log.latency.command([b"LATENCY", b"LATEST"], log.slower_than)
    assert latest == [[b"command", 1_000_000, 7, 7]]
    log.set_slower_than(-1)
    assert log.threshold == 0.005
    log.set_latency_threshold(0)
    assert log.threshold == math.inf
