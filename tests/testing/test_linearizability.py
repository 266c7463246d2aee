"""The semantics of the linearizability checker, pinned by small histories.

Each history is recorded with ``History``, so the order of the calls in a test
is the real order of the events: an operation completed before the next one
is invoked precedes it, and operations invoked before either completes are
concurrent.
"""

from __future__ import annotations

import random
from itertools import combinations, permutations

from ranet.testing import History, Op, Operation, Status, check


def _put(history: History, client: int, key: str, value: str) -> None:
    history.ok(history.invoke(client, "put", key, value))


def _get(history: History, client: int, key: str, read: str | None) -> None:
    history.ok(history.invoke(client, "get", key), read)


def test_a_stale_read_after_a_completed_write_is_rejected() -> None:
    history = History()
    _put(history, 1, "x", "1")
    _get(history, 2, "x", None)

    result = check(history.operations())

    assert result.linearizable is False
    assert result.key == "x"
    assert [op.op for op in result.unplaced] == [Op.GET]
    assert "read None, not '1'" in result.explanation


def test_a_read_concurrent_with_a_write_sees_either_value() -> None:
    for read in (None, "1"):
        history = History()
        write = history.invoke(1, "put", "x", "1")
        _get(history, 2, "x", read)
        history.ok(write)

        assert check(history.operations()).linearizable is True, read


def test_concurrent_writes_take_effect_in_either_order_but_only_one() -> None:
    def concurrent_writes_then_reads(*reads: str) -> bool | None:
        history = History()
        first = history.invoke(1, "put", "x", "1")
        second = history.invoke(2, "put", "x", "2")
        history.ok(second)
        history.ok(first)
        for read in reads:
            _get(history, 3, "x", read)
        return check(history.operations()).linearizable

    assert concurrent_writes_then_reads("1") is True
    assert concurrent_writes_then_reads("2") is True
    assert concurrent_writes_then_reads("1", "2") is False


def test_a_write_with_unknown_outcome_may_take_effect_late_or_never() -> None:
    def unknown_write_then_reads(*reads: str | None) -> bool | None:
        history = History()
        history.unknown(history.invoke(1, "put", "x", "1"))
        for read in reads:
            _get(history, 2, "x", read)
        return check(history.operations()).linearizable

    assert unknown_write_then_reads(None, None) is True
    assert unknown_write_then_reads("1", "1") is True
    assert unknown_write_then_reads(None, "1") is True
    assert unknown_write_then_reads("1", None) is False


def test_an_operation_still_in_flight_has_an_unknown_outcome() -> None:
    history = History()
    history.invoke(1, "put", "x", "1")
    _get(history, 2, "x", "1")

    assert history.operations()[0].status is Status.UNKNOWN
    assert check(history.operations()).linearizable is True


def test_an_unknown_write_cannot_take_effect_before_its_call() -> None:
    history = History()
    _get(history, 2, "x", "1")
    history.unknown(history.invoke(1, "put", "x", "1"))

    assert check(history.operations()).linearizable is False


def test_failed_puts_and_unknown_reads_are_dropped() -> None:
    history = History()
    history.fail(history.invoke(1, "put", "x", "1"))
    history.unknown(history.invoke(2, "get", "x"))
    _get(history, 3, "x", None)
    assert check(history.operations()).linearizable is True

    _get(history, 3, "x", "1")
    assert check(history.operations()).linearizable is False


def test_a_failed_cas_is_a_completed_operation_that_found_a_mismatch() -> None:
    def put_then_failed_cas(expected: str) -> bool | None:
        history = History()
        _put(history, 1, "x", "1")
        history.fail(history.invoke(2, "cas", "x", "2", expected=expected))
        _get(history, 3, "x", "1")
        return check(history.operations()).linearizable

    assert put_then_failed_cas(expected="3") is True
    assert put_then_failed_cas(expected="1") is False


def test_a_successful_cas_found_the_expected_value_and_swapped_it() -> None:
    history = History()
    _put(history, 1, "x", "1")
    history.ok(history.invoke(2, "cas", "x", "2", expected="1"))
    _get(history, 3, "x", "2")
    assert check(history.operations()).linearizable is True

    history.ok(history.invoke(2, "cas", "x", "3", expected="1"))
    assert check(history.operations()).linearizable is False


def test_a_cas_expecting_none_matches_only_an_absent_key() -> None:
    history = History()
    history.ok(history.invoke(1, "cas", "x", "1", expected=None))

    assert check(history.operations(), init=None).linearizable is True
    assert check(history.operations(), init="").linearizable is False


def test_appends_concatenate_in_the_order_they_take_effect() -> None:
    def appends_then_read(read: str, *, concurrent: bool, init: str | None) -> bool | None:
        history = History()
        first = history.invoke(1, "append", "x", "a")
        if not concurrent:
            history.ok(first)
        second = history.invoke(2, "append", "x", "b")
        history.ok(second)
        if concurrent:
            history.ok(first)
        _get(history, 3, "x", read)
        return check(history.operations(), init=init).linearizable

    for init in (None, ""):
        assert appends_then_read("ab", concurrent=False, init=init) is True
        assert appends_then_read("ba", concurrent=False, init=init) is False
        assert appends_then_read("ba", concurrent=True, init=init) is True
    assert appends_then_read("0ab", concurrent=False, init="0") is True


def test_keys_are_checked_apart_and_the_failing_key_is_named() -> None:
    history = History()
    _put(history, 1, "x", "1")
    _put(history, 1, "y", "1")
    _get(history, 2, "x", "1")
    _get(history, 2, "y", None)

    result = check(history.operations())

    assert result.linearizable is False
    assert result.key == "y"
    assert {op.key for op in result.longest_prefix} == {"y"}


def test_the_explanation_shows_the_longest_order_found() -> None:
    history = History()
    _put(history, 1, "x", "1")
    _put(history, 1, "x", "2")
    _get(history, 2, "x", "1")

    result = check(history.operations())

    assert [op.value for op in result.longest_prefix] == ["1", "2"]
    assert "places 2 of its 3 operations" in result.explanation
    assert "holds '2'" in result.explanation


def test_a_search_past_its_timeout_gives_no_verdict() -> None:
    history = History()
    writes = [history.invoke(client, "put", "x", str(client)) for client in range(16)]
    for write in writes:
        history.unknown(write)
    _get(history, 99, "x", "never written")

    result = check(history.operations(), timeout=0.05)

    assert result.linearizable is None
    assert result.key == "x"
    assert "gave up" in result.explanation


# --- Cross-check against brute force on small random histories ---------------


def _brute_force(operations: list[Operation], init: str | None) -> bool:
    """Try every order of every admissible subset of operations, against every key."""
    required = [
        op
        for op in operations
        if op.status is Status.OK or (op.status is Status.FAIL and op.op is Op.CAS)
    ]
    optional = [op for op in operations if op.status is Status.UNKNOWN and op.op is not Op.GET]
    for size in range(len(optional) + 1):
        for chosen in combinations(optional, size):
            for order in permutations(required + list(chosen)):
                if _respects_real_time(order) and _replays(order, init):
                    return True
    return False


def _respects_real_time(order: tuple[Operation, ...]) -> bool:
    return not any(
        later.return_ is not None and later.return_ < earlier.call
        for position, earlier in enumerate(order)
        for later in order[position + 1 :]
    )


def _replays(order: tuple[Operation, ...], init: str | None) -> bool:
    values: dict[str, str | None] = {}
    for op in order:
        value = values.get(op.key, init)
        if op.op is Op.GET and op.value != value:
            return False
        if op.op is Op.PUT:
            values[op.key] = op.value
        elif op.op is Op.APPEND:
            values[op.key] = (value or "") + (op.value or "")
        elif op.op is Op.CAS:
            matches = value == op.expected
            if (op.status is Status.OK and not matches) or (op.status is Status.FAIL and matches):
                return False
            if matches:
                values[op.key] = op.value
    return True


def _random_history(rng: random.Random) -> list[Operation]:
    """Three workers issue up to six operations; a worker whose operation is
    left in flight carries on as a new client, like a Jepsen process."""
    history = History()
    clients = [0, 1, 2]
    in_flight: dict[int, int] = {}
    budget = rng.randint(1, 6)
    while budget or in_flight:
        worker = rng.randrange(len(clients))
        client = clients[worker]
        if client in in_flight:
            handle = in_flight.pop(client)
            outcome = rng.choice(["ok", "ok", "ok", "fail", "unknown", "in flight"])
            if outcome == "ok":
                read = history.operations()[handle].op is Op.GET
                history.ok(handle, rng.choice([None, "a", "b", "ab"]) if read else None)
            elif outcome == "fail":
                history.fail(handle)
            elif outcome == "unknown":
                history.unknown(handle)
            else:
                clients[worker] += len(clients)
        elif budget:
            budget -= 1
            op = rng.choice(["get", "get", "put", "append", "cas", "cas"])
            key = rng.choice(["x", "x", "y"])
            value = None if op == "get" else rng.choice(["a", "b"])
            expected = rng.choice([None, "a", "b"]) if op == "cas" else None
            in_flight[client] = history.invoke(client, op, key, value, expected)
    return history.operations()


def test_agrees_with_brute_force_on_small_random_histories() -> None:
    rng = random.Random(20240601)
    verdicts = []
    for _ in range(400):
        operations = _random_history(rng)
        init = rng.choice([None, ""])
        expected = _brute_force(operations, init)
        result = check(operations, init=init)
        assert result.linearizable is expected, (operations, init, result.explanation)
        verdicts.append(expected)
    assert 0.2 < sum(verdicts) / len(verdicts) < 0.8
