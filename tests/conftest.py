"""Project-wide pytest options: long fault campaigns are opt-in with --soak."""

from __future__ import annotations

import asyncio
import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="run long soak/fuzz campaigns (also enabled by RANET_SOAK=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long-running campaign, enabled with --soak")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak") or os.environ.get("RANET_SOAK") == "1":
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak or RANET_SOAK=1")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def loop_lookups(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Counts ranet's calls of ``asyncio.get_running_loop()`` from now on (one
    item per call). On Python 3.11 each call is a ``getpid()`` system call, so
    the hot paths keep their loop instead (docs/performance.md, optimization 18)."""
    calls: list[None] = []
    real = asyncio.get_running_loop

    def counting() -> asyncio.AbstractEventLoop:
        calls.append(None)
        return real()

    monkeypatch.setattr(asyncio, "get_running_loop", counting)
    return calls
