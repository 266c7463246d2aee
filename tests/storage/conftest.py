"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_fixtures import StorageUnderTest


@pytest.fixture(params=["memory", "disk", "disk-tiny-segments"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageUnderTest]:
    """Each ``Storage`` implementation in turn, opened fresh in ``tmp_path``."""
    under_test = StorageUnderTest(request.param, tmp_path / "data")
    yield under_test
    under_test.close()
