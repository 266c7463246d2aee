"""Histories of key-value operations: what a linearizability check reads.

An operation is one client request against one key, stamped with the time it
was invoked (``call``) and the time its response arrived (``return_``). Times
are integers and only their order matters. Two rules hold for every
``Operation`` once built:

Rule 1: a completed operation (status ``ok`` or ``fail``) has a return time,
and it is not before its call.

Rule 2: an operation whose outcome is unknown (the client timed out, or
crashed, before learning it) has no return time: it may have taken effect at
any moment after its call, or never. Its recorded output, if any, means
nothing.

What ``fail`` means depends on the operation. A failed get, put or append
definitely did not happen. A failed cas did happen: it compared, found a
mismatch and changed nothing.

Histories come from two places: ``History`` records them live, stamping every
event from one counter; ``load_history`` reads the JSON-lines reference files
(one object a line, fields ``client op key value expected call_ns return_ns
status``) and normalizes their spellings: ``read``/``write`` become
``get``/``put``, ``info``/``timeout`` become ``unknown``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass
from enum import StrEnum
from os import PathLike
from pathlib import Path

from ranet.errors import HistoryError


class Op(StrEnum):
    """The operations of the key-value model."""

    GET = "get"
    PUT = "put"
    APPEND = "append"
    CAS = "cas"


class Status(StrEnum):
    """How an operation ended, as far as its client knows."""

    OK = "ok"
    FAIL = "fail"
    UNKNOWN = "unknown"


_OP_NAMES: dict[str, Op] = {
    "get": Op.GET,
    "read": Op.GET,
    "put": Op.PUT,
    "write": Op.PUT,
    "append": Op.APPEND,
    "cas": Op.CAS,
}

_STATUS_NAMES: dict[str, Status] = {
    "ok": Status.OK,
    "fail": Status.FAIL,
    "unknown": Status.UNKNOWN,
    "info": Status.UNKNOWN,
    "timeout": Status.UNKNOWN,
}


@dataclass(slots=True, frozen=True, kw_only=True)
class Operation:
    """One request of one client against one key.

    ``value`` is the value read for a get (``None``: the key was absent), the
    argument of a put or append, and the new value of a cas. ``expected`` is
    the value a cas compares against (``None``: it expects the key absent).
    ``op`` and ``status`` accept the aliases of the reference data (``read``,
    ``write``, ``info``, ``timeout``) and are stored normalized.
    """

    client: int
    op: Op
    key: str
    value: str | None = None
    expected: str | None = None
    call: int
    return_: int | None = None
    status: Status = Status.OK

    def __post_init__(self) -> None:
        op = _OP_NAMES.get(self.op)
        if op is None:
            raise HistoryError(f"unknown operation {self.op!r}")
        status = _STATUS_NAMES.get(self.status)
        if status is None:
            raise HistoryError(f"unknown status {self.status!r}")
        if status is Status.UNKNOWN:
            object.__setattr__(self, "return_", None)
        elif self.return_ is None:
            raise HistoryError(f"a {status} operation needs a return time (Rule 1)")
        elif self.return_ < self.call:
            raise HistoryError(f"returns at {self.return_}, before its call at {self.call}")
        if op in (Op.PUT, Op.APPEND) and self.value is None:
            raise HistoryError(f"{op} needs a value")
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "status", status)


class History:
    """Records a live history for ``check``.

    Call ``invoke`` just before a request is sent and ``ok``, ``fail`` or
    ``unknown`` just after its outcome is known; each event takes the next
    tick of one counter, so the recorded order is the real order. A client has
    at most one operation in flight; after ``unknown`` it may issue another.
    Operations still in flight when ``operations`` is called have an unknown
    outcome. Safe to drive from several threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clock = 0
        self._operations: list[Operation] = []
        self._in_flight: dict[int, int] = {}

    def invoke(
        self,
        client: int,
        op: Op | str,
        key: str,
        value: str | None = None,
        expected: str | None = None,
    ) -> int:
        """Record a call; returns the handle to complete it with."""
        with self._lock:
            if client in self._in_flight:
                raise HistoryError(f"client {client} already has an operation in flight")
            handle = len(self._operations)
            self._operations.append(
                Operation(
                    client=client,
                    op=op,
                    key=key,
                    value=value,
                    expected=expected,
                    call=self._tick(),
                    status=Status.UNKNOWN,
                )
            )
            self._in_flight[client] = handle
            return handle

    def ok(self, handle: int, value: str | None = None) -> None:
        """Record a success; for a get, ``value`` is what it read (``None``: absent)."""
        self._complete(handle, Status.OK, value)

    def fail(self, handle: int) -> None:
        """Record a definite failure; for a cas, that it found a mismatch."""
        self._complete(handle, Status.FAIL, None)

    def unknown(self, handle: int) -> None:
        """Record that the client gave up without learning the outcome."""
        with self._lock:
            del self._in_flight[self._pending(handle).client]

    def operations(self) -> list[Operation]:
        """The history so far, in call order."""
        with self._lock:
            return list(self._operations)

    def _complete(self, handle: int, status: Status, value: str | None) -> None:
        with self._lock:
            invoked = self._pending(handle)
            if invoked.op is not Op.GET:
                if value is not None:
                    raise HistoryError(f"only a get returns a value, not a {invoked.op}")
                value = invoked.value
            del self._in_flight[invoked.client]
            self._operations[handle] = dataclasses.replace(
                invoked, value=value, return_=self._tick(), status=status
            )

    def _pending(self, handle: int) -> Operation:
        if not 0 <= handle < len(self._operations):
            raise HistoryError(f"no operation {handle} was invoked")
        invoked = self._operations[handle]
        if self._in_flight.get(invoked.client) != handle:
            raise HistoryError(f"operation {handle} is not in flight")
        return invoked

    def _tick(self) -> int:
        self._clock += 1
        return self._clock


def load_history(path: str | PathLike[str]) -> list[Operation]:
    """Read a JSON-lines history file (the format of the reference data)."""
    operations = []
    with open(path, encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                operations.append(
                    Operation(
                        client=record["client"],
                        op=record["op"],
                        key=record["key"],
                        value=record.get("value"),
                        expected=record.get("expected"),
                        call=record["call_ns"],
                        return_=record.get("return_ns"),
                        status=record["status"],
                    )
                )
            except (KeyError, TypeError, ValueError) as error:
                raise HistoryError(f"{path}:{line_number}: {error}") from error
    return operations


_REFERENCE_INIT: dict[str, str | None] = {"kv": "", "jepsen-etcd": None}


def reference_init(path: str | PathLike[str]) -> str | None:
    """The initial value of every key for a reference history, by its directory.

    Porcupine's ``kv`` histories read a missing key as ``""``; Jepsen's etcd
    runs (``jepsen-etcd``) read it as ``null``, which is ``None`` here.
    """
    directory = Path(path).parent.name
    if directory not in _REFERENCE_INIT:
        raise HistoryError(f"no known initial value for histories in {directory!r}")
    return _REFERENCE_INIT[directory]
