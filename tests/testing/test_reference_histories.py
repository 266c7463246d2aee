"""Every reference history gets the verdict Porcupine gave it.

The histories live outside the repository, in the shared folder beside it
(``../shared/testdata/linearizability``, see its README.md for the format).
Each check runs under the checker's own timeout, so a history that became
slow fails with "gave up" instead of hanging the suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ranet.testing import check, load_history, reference_init

REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCE = (REPOSITORY / ".." / "shared" / "testdata" / "linearizability").resolve()
VERDICTS_FILE = REFERENCE / "verdicts.json"

# The slowest history takes about 0.4 s (docs/linearizability.md); the bound
# leaves room for a slow shared machine.
TIMEOUT_SECONDS = 10.0


def _verdicts() -> dict[str, bool]:
    if not VERDICTS_FILE.is_file():
        return {}
    return json.loads(VERDICTS_FILE.read_text(encoding="utf-8"))


VERDICTS = _verdicts()


def test_the_reference_histories_are_present_and_all_have_a_verdict() -> None:
    assert VERDICTS_FILE.is_file(), (
        f"reference histories not found at {REFERENCE}: the shared folder must sit beside "
        "the repository, as ../shared/testdata/linearizability"
    )
    histories = {path.relative_to(REFERENCE).as_posix() for path in REFERENCE.glob("*/*.jsonl")}
    assert histories == set(VERDICTS)
    assert len(VERDICTS) == 109


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_reference_history_gets_its_verdict(name: str) -> None:
    path = REFERENCE / name

    result = check(load_history(path), init=reference_init(path), timeout=TIMEOUT_SECONDS)

    assert result.linearizable is VERDICTS[name], result.explanation
