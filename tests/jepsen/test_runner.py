"""The runner's verdict path without a cluster: a failed check saves what is
needed to look at it again, and says where."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from ranet.testing import CheckResult, History, check, load_history
from tests.jepsen.runner import Report, Scenario, verify


def report_of(history: History, problems: list[str], result: CheckResult | None = None) -> Report:
    operations = history.operations()
    return Report(
        scenario=Scenario("unit", ("kill",), 1.0, seed=7),
        operations=operations,
        faults=["   0.50s  kill node 1"],
        injected=Counter(kill=1),
        problems=problems,
        result=result or check(operations, init=None, timeout=5),
        node_output="[node 1] BECAME LEADER (term 2)",
        data_dir=Path("/nonexistent"),
        elapsed=1.0,
    )


def saved_in(message: str) -> Path:
    """The directory a failure message says the run was saved in."""
    match = re.search(r"saved in (\S+);", message)
    assert match is not None, message
    return Path(match.group(1))


def one_put() -> History:
    history = History()
    history.ok(history.invoke(0, "put", "k", "v"))
    return history


def stale_read_history() -> History:
    history = History()
    write = history.invoke(0, "put", "k", "new")
    history.ok(write)
    read = history.invoke(1, "get", "k")
    history.ok(read, None)  # the completed write is not seen
    return history


def test_a_linearizable_run_passes_and_prints_its_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    history = one_put()
    verify(report_of(history, []))
    out = capsys.readouterr().out
    assert "1 operations: ok 1, fail 0, unknown 0" in out
    assert "1 faults injected: kill 1" in out
    assert "check: linearizable" in out


def test_a_violation_fails_and_saves_a_history_that_checks_the_same() -> None:
    with pytest.raises(AssertionError) as raised:
        verify(report_of(stale_read_history(), []))
    message = str(raised.value)
    assert "NOT linearizable" in message
    saved = saved_in(message)
    assert sorted(path.name for path in saved.iterdir()) == [
        "faults.txt",
        "history.jsonl",
        "nodes.log",
        "summary.txt",
    ]
    assert check(load_history(saved / "history.jsonl"), init=None).linearizable is False
    assert "kill node 1" in (saved / "faults.txt").read_text()
    shutil.rmtree(saved)


def test_an_inconclusive_check_fails_the_run_and_says_why() -> None:
    history = one_put()
    gave_up = CheckResult(None, "gave up after 60.0 s on key 'k' (1 operations): no verdict")
    with pytest.raises(AssertionError) as raised:
        verify(report_of(history, [], gave_up))
    assert "INCONCLUSIVE: the checker reached no verdict" in str(raised.value)
    shutil.rmtree(saved_in(str(raised.value)))


def test_other_problems_fail_a_linearizable_run() -> None:
    history = one_put()
    problem = "the final read of 'k' through node 2 failed"
    with pytest.raises(AssertionError, match=problem) as raised:
        verify(report_of(history, [problem]))
    shutil.rmtree(saved_in(str(raised.value)))  # a failed run is saved; this test's is not kept
