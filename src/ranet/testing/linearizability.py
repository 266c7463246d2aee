"""Linearizability checking of key-value histories.

A history is linearizable (Herlihy and Wing, 1990) if every operation can be
given one instant, between its call and its return, at which it takes effect,
such that replaying the operations in the order of those instants against a
sequential key-value store gives every client the output it saw.

Theory of operation
-------------------
The search is the one of Wing and Gong (1993), with the memoization of Lowe
(2017), in the shape the Porcupine checker gave it:

1. P-compositionality (Horn and Kroening, 2015). Keys are independent
   objects, and a history is linearizable exactly when the subhistory of each
   key is. Each key is checked alone, which keeps the search small.
2. Events. Each operation contributes a call event and, if its outcome is
   known, a return event. The events of one key are sorted by time (calls
   before returns at equal times: touching intervals are concurrent) and
   threaded on a doubly linked list between a head and a tail sentinel.
3. Just-in-time linearization. A depth-first search walks the list from the
   head. At a call event it tries to let that operation take effect now: if
   the model accepts it, the call and return events are unlinked ("lifted"),
   the operation is pushed on a stack, and the walk restarts at the head. At
   a return event the operation it belongs to had to take effect already but
   could not: the search pops the last operation, relinks its events, restores
   the state and tries the next call after it. The search succeeds when no
   return event remains (operations with an unknown outcome still listed then
   take effect at the end, or never), and fails when it must pop an empty
   stack.
4. Memoization. What remains to be searched depends only on which operations
   have taken effect and on the current value, so the search keeps every
   (taken-effect bitset, value) configuration it has entered and never enters
   one twice.

Invariants of the search, for one key:

Rule 1: the stack holds the operations that have taken effect, in order; their
events are exactly the ones missing from the list, and ``bits`` has their bits.

Rule 2: an operation with an unknown outcome has no return event. It may take
effect at any point after its call, or never (its return is at infinity), and
any output is accepted. It is only tried where it changes the value: taking
effect without changing the value can only remove options, since it stays free
to take effect at any later point.

Model
-----
The state of a key is its value, ``None`` while absent, and starts at the
``init`` given to ``check``. A get must read the value; a put sets it; an
append concatenates its argument to it (absent counts as ``""``); a cas that
succeeded must find ``expected`` and sets its new value; a cas that failed
must find something other than ``expected``. A put, append or get that failed
did not happen and is dropped, and so is a get with an unknown outcome. An
unknown put or append takes effect; an unknown cas takes effect if the value
matches. The values are hashable, which is what makes the memo cheap.

Checking linearizability is NP-complete (Gibbons and Korach, 1997), so
``check`` takes a timeout and answers ``None`` rather than a verdict it did
not reach.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from ranet.testing.history import Op, Operation, Status

__all__ = ["CheckResult", "check"]

_DEADLINE_CHECK_INTERVAL = 1024


@dataclass(slots=True, frozen=True)
class CheckResult:
    """The verdict of ``check``.

    ``linearizable`` is ``True`` or ``False`` once the search has decided, and
    ``None`` when it gave up at the timeout. ``key`` names the key that failed
    or that the search gave up on. For a failure, ``longest_prefix`` is the
    longest order of that key's operations the search could linearize, and
    ``unplaced`` the operations it could not place next; ``explanation`` says
    the same in prose.
    """

    linearizable: bool | None
    explanation: str
    key: str | None = None
    longest_prefix: tuple[Operation, ...] = ()
    unplaced: tuple[Operation, ...] = ()
    elapsed: float = 0.0


class _Step(IntEnum):
    """What an operation does to the value, after its outcome is taken into account."""

    READ = 0  # known get: must read the value
    MISMATCH = 1  # failed cas: must not find ``expected``
    SWAP = 2  # successful cas: must find ``expected``, sets the new value
    WRITE = 3  # put, known or unknown
    APPEND = 4  # append, known or unknown
    MAYBE_SWAP = 5  # cas with unknown outcome: swaps if it finds ``expected``


class _Illegal:
    """The model rejects the operation in this state."""


_ILLEGAL = _Illegal()


def _constrains(operation: Operation) -> bool:
    """Whether an operation can tell anything: failed gets, puts and appends did
    not happen, and a get with an unknown outcome read nothing we know of."""
    if operation.op is Op.CAS:
        return True
    if operation.status is Status.FAIL:
        return False
    return operation.op is not Op.GET or operation.status is Status.OK


def _step_of(operation: Operation) -> _Step:
    """The step an operation that ``_constrains`` takes."""
    if operation.op is Op.CAS:
        return {Status.OK: _Step.SWAP, Status.FAIL: _Step.MISMATCH}.get(
            operation.status, _Step.MAYBE_SWAP
        )
    if operation.op is Op.GET:
        return _Step.READ
    return _Step.WRITE if operation.op is Op.PUT else _Step.APPEND


def _apply(
    step: _Step, value: str | None, expected: str | None, state: str | None
) -> str | _Illegal | None:
    """The state after ``step``, or ``_ILLEGAL`` if the output contradicts ``state``."""
    if step is _Step.READ:
        return state if state == value else _ILLEGAL
    if step is _Step.MISMATCH:
        return state if state != expected else _ILLEGAL
    if step is _Step.SWAP:
        return value if state == expected else _ILLEGAL
    if step is _Step.WRITE:
        return value
    if step is _Step.APPEND:
        return value if state is None else state + value
    return value if state == expected else state


class _Timeout(Exception):
    """The deadline passed before the search of a key finished."""


def _search(
    operations: list[Operation], init: str | None, deadline: float | None
) -> tuple[bool, list[int]]:
    """Search one key's operations: whether they linearize, and the longest order found.

    The order is a list of indexes into ``operations``: a linearization if
    there is one, else the longest linearizable prefix the search reached.
    Raises ``_Timeout`` once ``deadline`` has passed.
    """
    steps = [_step_of(operation) for operation in operations]
    unknown = [operation.status is Status.UNKNOWN for operation in operations]
    events = [(operation.call, 0, index) for index, operation in enumerate(operations)]
    events += [
        (operation.return_, 1, index)
        for index, operation in enumerate(operations)
        if operation.return_ is not None
    ]
    events.sort()

    # Node 0 is the head, node len(events) + 1 the tail; event k is node k + 1.
    head, tail = 0, len(events) + 1
    next_node = [*range(1, tail + 1), tail]
    prev_node = [head, *range(tail)]
    operation_of = [-1] * (tail + 1)
    is_call = [False] * (tail + 1)
    return_node = [-1] * len(operations)
    for node, (_, kind, index) in enumerate(events, start=1):
        operation_of[node] = index
        if kind == 0:
            is_call[node] = True
        else:
            return_node[index] = node

    state = init
    bits = 0
    stack: list[tuple[int, str | None, int]] = []
    longest: list[int] = []
    seen: set[tuple[int, str | None]] = set()
    countdown = _DEADLINE_CHECK_INTERVAL
    entry = next_node[head]
    while entry != tail:
        countdown -= 1
        if countdown == 0:
            countdown = _DEADLINE_CHECK_INTERVAL
            if deadline is not None and time.monotonic() > deadline:
                raise _Timeout
        if not is_call[entry]:
            # This return's operation has not taken effect, and now cannot: backtrack.
            if not stack:
                return False, longest
            entry, state, bits = stack.pop()
            index = operation_of[entry]
            returned = return_node[index]
            if returned >= 0:
                next_node[prev_node[returned]] = returned
                prev_node[next_node[returned]] = returned
            next_node[prev_node[entry]] = entry
            prev_node[next_node[entry]] = entry
            entry = next_node[entry]
            continue
        index = operation_of[entry]
        operation = operations[index]
        after = _apply(steps[index], operation.value, operation.expected, state)
        if isinstance(after, _Illegal) or (unknown[index] and after == state):
            entry = next_node[entry]
            continue
        configuration = (bits | (1 << index), after)
        if configuration in seen:
            entry = next_node[entry]
            continue
        seen.add(configuration)
        stack.append((entry, state, bits))
        bits, state = configuration
        next_node[prev_node[entry]] = next_node[entry]
        prev_node[next_node[entry]] = prev_node[entry]
        returned = return_node[index]
        if returned >= 0:
            next_node[prev_node[returned]] = next_node[returned]
            prev_node[next_node[returned]] = prev_node[returned]
        if len(stack) > len(longest):
            longest = [operation_of[node] for node, _, _ in stack]
        entry = next_node[head]
    return True, [operation_of[node] for node, _, _ in stack]


def check(
    history: Iterable[Operation], *, init: str | None = None, timeout: float | None = None
) -> CheckResult:
    """Decide whether a key-value history is linearizable.

    ``init`` is the value every key holds before the history starts: ``None``
    (absent, reads as ``None``) or, for example, ``""``. ``timeout`` bounds
    the whole check in seconds; past it the result is ``None``, not a guess.
    """
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    by_key: dict[str, list[Operation]] = {}
    for operation in history:
        if _constrains(operation):
            by_key.setdefault(operation.key, []).append(operation)
    for key, operations in by_key.items():
        try:
            linearizable, order = _search(operations, init, deadline)
        except _Timeout:
            return CheckResult(
                None,
                f"gave up after {timeout} s on key {key!r} ({len(operations)} operations): "
                "no verdict",
                key=key,
                elapsed=time.monotonic() - started,
            )
        if not linearizable:
            return _failure(key, operations, order, init, time.monotonic() - started)
    count = sum(len(operations) for operations in by_key.values())
    return CheckResult(
        True,
        f"{count} operations on {len(by_key)} keys are linearizable",
        elapsed=time.monotonic() - started,
    )


_SHOWN_PREFIX = 5
_SHOWN_UNPLACED = 8


def _failure(
    key: str, operations: list[Operation], order: list[int], init: str | None, elapsed: float
) -> CheckResult:
    """Explain a failed key from the longest order the search could linearize.

    After that order, the known operation that returns first had to take
    effect before its return, and no operation called by then could.
    """
    state = init
    for index in order:
        operation = operations[index]
        after = _apply(_step_of(operation), operation.value, operation.expected, state)
        assert not isinstance(after, _Illegal), "the search only orders legal steps"
        state = after
    placed = set(order)
    waiting = [i for i, op in enumerate(operations) if i not in placed]
    due = min(operations[i].return_ for i in waiting if operations[i].return_ is not None)
    unplaced = [operations[i] for i in waiting if operations[i].call <= due]
    prefix = [operations[i] for i in order]

    lines = [
        f"key {key!r} is not linearizable. The longest linearizable order found places "
        f"{len(prefix)} of its {len(operations)} operations" + (", ending with:" if prefix else ".")
    ]
    lines += [f"  {_describe(op)}" for op in prefix[-_SHOWN_PREFIX:]]
    lines.append(
        f"After it {key!r} holds {state!r}. An operation returns at {due}, so one of those "
        "called by then must take effect next, but none can:"
    )
    lines += [f"  {_describe(op)}: {_why_not(op, state)}" for op in unplaced[:_SHOWN_UNPLACED]]
    if len(unplaced) > _SHOWN_UNPLACED:
        lines.append(f"  ... and {len(unplaced) - _SHOWN_UNPLACED} more")
    return CheckResult(
        False,
        "\n".join(lines),
        key=key,
        longest_prefix=tuple(prefix),
        unplaced=tuple(unplaced),
        elapsed=elapsed,
    )


def _describe(operation: Operation) -> str:
    if operation.op is Op.GET:
        what = f"get -> {operation.value!r}"
    elif operation.op is Op.CAS:
        what = f"cas {operation.expected!r} -> {operation.value!r}"
    else:
        what = f"{operation.op} {operation.value!r}"
    end = "?" if operation.return_ is None else operation.return_
    return f"client {operation.client} {what} {operation.status} [{operation.call}, {end}]"


def _why_not(operation: Operation, state: str | None) -> str:
    step = _step_of(operation)
    after = _apply(step, operation.value, operation.expected, state)
    if step is _Step.READ and isinstance(after, _Illegal):
        return f"read {operation.value!r}, not {state!r}"
    if step is _Step.SWAP and isinstance(after, _Illegal):
        return f"expects {operation.expected!r}, not {state!r}"
    if step is _Step.MISMATCH and isinstance(after, _Illegal):
        return f"failed, yet the value is the expected {state!r}"
    if operation.status is Status.UNKNOWN and after == state:
        return "would change nothing here"
    return "could take effect here, but no order after it works"
