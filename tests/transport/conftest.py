"""Fixtures of the transport tests: event loops of each kind, the transport's log.

Peer tests run on the standard asyncio loop and, when it is installed, on
uvloop (the loop the node runtime prefers): the transport must work on both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from .helpers import Runner

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop
}
try:
    import uvloop
except ImportError:  # optional: the asyncio loop alone is still tested
    pass
else:
    LOOP_FACTORIES["uvloop"] = uvloop.new_event_loop


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def run(request: pytest.FixtureRequest) -> Runner:
    """``run(coro, timeout=10.0)``: run on a fresh loop, failing after ``timeout`` seconds."""
    factory = LOOP_FACTORIES[request.param]

    def run(coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(asyncio.wait_for(coro, timeout))

    return run


@pytest.fixture
def transport_warnings(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """Returns a function listing the warning lines the transport logged so far."""
    caplog.set_level(logging.DEBUG, logger="ranet.transport")

    def warnings() -> list[str]:
        return [
            record.getMessage()
            for record in caplog.records
            if record.name == "ranet.transport" and record.levelno >= logging.WARNING
        ]

    return warnings
