"""``bench/compare.py``'s cluster for redis-benchmark keeps its nodes' logs
when a run against it failed, so that the failure can be looked into, and
deletes its folder otherwise. Starts real nodes (bounded by the script's
startup timeout); measures nothing."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

COMPARE = Path(__file__).resolve().parents[2] / "bench" / "compare.py"


@pytest.fixture
def compare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("bench_compare", COMPARE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_compare", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the cluster's folder goes here
    yield module


def test_a_cluster_without_failed_runs_leaves_nothing(compare: ModuleType, tmp_path: Path) -> None:
    with compare.ranet_cluster() as leader_port:
        assert leader_port() > 0
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_keeps_the_nodes_logs(compare: ModuleType, tmp_path: Path) -> None:
    def failing() -> dict[str, object]:
        raise RuntimeError("redis-benchmark failed: All clients disconnected")

    with compare.ranet_cluster() as leader_port:
        leader_port()
        assert compare.attempt(failing) == {
            "failed": "redis-benchmark failed: All clients disconnected"
        }
    [kept] = tmp_path.iterdir()
    logs = sorted(path.name for path in kept.glob("node-*.log"))
    assert logs == ["node-0.log", "node-1.log", "node-2.log"]
    assert "BECAME LEADER" in "".join((kept / name).read_text(errors="replace") for name in logs)
