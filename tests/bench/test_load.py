"""The load generator against a fake server: a closed loop that keeps its share
in flight, counts what completes in the window, and reports errors and breakage."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from ranet.bench.load import LoadFailed, LoadSpec, run
from ranet.bench.runner import LoadPlan
from ranet.bench.stats import Histogram
from tests.bench.fake_server import fake_redis


def spec(port: int, **changes: Any) -> LoadSpec:
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "connections": 4,
        "in_flight": 16,
        "value_size": 8,
        "read_ratio": 0.0,
        "keys": 100,
        "warmup_s": 0.2,
        "duration_s": 0.5,
        "seed": 1,
    }
    return LoadSpec(**{**fields, **changes})


def drive(load_spec: LoadSpec) -> list[dict[str, Any]]:
    """Run one load process's logic in this process; its events in order."""
    events: list[dict[str, Any]] = []

    async def main() -> None:
        start = asyncio.get_running_loop().create_future()
        start.set_result(None)
        await run(load_spec, events.append, start)

    asyncio.run(asyncio.wait_for(main(), 30))
    return events


def test_a_closed_loop_keeps_its_share_in_flight_and_reports_the_window() -> None:
    with fake_redis() as (server, port):
        events = drive(spec(port))
    kinds = [event["event"] for event in events]
    assert kinds[0] == "ready" and kinds[-1] == "done" and "tick" in kinds
    done = events[-1]
    assert done["ops"] > 0 and done["errors"] == 0
    assert Histogram.from_wire(done["histogram"]).total == done["ops"]
    assert 0.45 <= done["elapsed_s"] <= 0.7
    assert server.connections == 4
    assert server.max_batch <= 4  # 16 in flight over 4 connections
    # the window excludes the warm-up: fewer ops measured than the server saw
    assert done["ops"] < server.commands


def test_reads_find_the_key_space_filled() -> None:
    with fake_redis() as (server, port):
        events = drive(spec(port, read_ratio=1.0, fill_slice=(0, 1)))
    assert events[-1]["ops"] > 0
    assert len(server.values) == 100  # filled before "ready"
    assert set(server.values.values()) == {b"x" * 8}


def test_error_replies_are_counted_apart_and_sampled() -> None:
    with fake_redis(error_every=10) as (_, port):
        done = drive(spec(port))[-1]
    assert done["errors"] > 0
    assert done["ops"] > 5 * done["errors"]
    assert done["error_samples"][0] == "ERR fake failure"


def test_a_connection_closed_by_the_server_fails_the_run() -> None:
    with fake_redis(close_after=50) as (_, port), pytest.raises(LoadFailed, match="lost"):
        drive(spec(port))


def test_an_unreachable_server_fails_clearly() -> None:
    with fake_redis() as (_, port):
        pass  # stopped: nothing listens on the port any more
    with pytest.raises(LoadFailed, match="cannot connect"):
        drive(spec(port))


def test_the_plan_splits_in_flight_and_connections_between_processes() -> None:
    plan = LoadPlan(
        host="h", port=1, concurrency=10, clients=3, connections=0, value_size=1,
        read_ratio=0.5, keys=10, warmup_s=0, duration_s=1,
    )  # fmt: skip
    specs = plan.specs()
    assert [s.in_flight for s in specs] == [4, 3, 3]
    assert [s.connections for s in specs] == [4, 3, 3]
    assert [s.fill_slice for s in specs] == [(0, 3), (1, 3), (2, 3)]
    assert len({s.seed for s in specs}) == 3
    many = replace(plan, concurrency=1024, clients=2, read_ratio=0.0).specs()
    assert [(s.in_flight, s.connections, s.fill_slice) for s in many] == [
        (512, 32, None),
        (512, 32, None),
    ]
