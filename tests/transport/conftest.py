"""Fixtures of the transport tests: the transport's log, read back by level."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest


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
