"""Recording live histories and reading the reference files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ranet.testing import History, HistoryError, Op, Operation, Status, load_history, reference_init


def test_the_recorder_stamps_events_from_one_counter() -> None:
    history = History()
    write = history.invoke(1, "put", "x", "1")
    read = history.invoke(2, "get", "x")
    history.ok(read, "1")
    history.ok(write)

    put, get = history.operations()

    assert (put.call, put.return_, put.value) == (1, 4, "1")
    assert (get.call, get.return_, get.value) == (2, 3, "1")


def test_a_client_has_one_operation_in_flight_until_it_gives_up() -> None:
    history = History()
    timed_out = history.invoke(1, "put", "x", "1")
    with pytest.raises(HistoryError, match="in flight"):
        history.invoke(1, "get", "x")

    history.unknown(timed_out)
    history.invoke(1, "get", "x")

    assert history.operations()[0].status is Status.UNKNOWN


def test_the_recorder_refuses_inconsistent_completions() -> None:
    history = History()
    write = history.invoke(1, "put", "x", "1")
    with pytest.raises(HistoryError, match="only a get"):
        history.ok(write, "1")
    history.ok(write)
    with pytest.raises(HistoryError, match="not in flight"):
        history.fail(write)
    with pytest.raises(HistoryError, match="no operation"):
        history.ok(7)


def test_operations_normalize_aliases_and_forget_unknown_return_times() -> None:
    timed_out = Operation(
        client=1, op="write", key="r", value="3", call=1, return_=9, status="info"
    )

    assert timed_out.op is Op.PUT
    assert timed_out.status is Status.UNKNOWN
    assert timed_out.return_ is None
    assert Operation(client=1, op="read", key="r", call=1, return_=2).op is Op.GET
    with pytest.raises(HistoryError, match="needs a return time"):
        Operation(client=1, op="get", key="r", call=1)
    with pytest.raises(HistoryError, match="before its call"):
        Operation(client=1, op="get", key="r", call=5, return_=2)


def test_load_history_reads_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text(
        '{"client": 0, "op": "write", "key": "r", "value": "1", "call_ns": 0, "return_ns": 1,'
        ' "status": "ok"}\n'
        '{"client": 1, "op": "cas", "key": "r", "value": "2", "expected": "1", "call_ns": 2,'
        ' "return_ns": null, "status": "timeout"}\n'
        "\n"
    )

    write, cas = load_history(path)

    assert write == Operation(client=0, op=Op.PUT, key="r", value="1", call=0, return_=1)
    assert (cas.op, cas.expected, cas.status) == (Op.CAS, "1", Status.UNKNOWN)


def test_load_history_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"client": 0, "op": "get", "key": "r", "call_ns": 0, "return_ns": 1}\n')

    with pytest.raises(HistoryError, match=r"history.jsonl:1: 'status'"):
        load_history(path)


def test_reference_init_follows_the_directory() -> None:
    assert reference_init("testdata/kv/c01-ok.jsonl") == ""
    assert reference_init("testdata/jepsen-etcd/etcd_000.jsonl") is None
    with pytest.raises(HistoryError, match="no known initial value"):
        reference_init("elsewhere/history.jsonl")
