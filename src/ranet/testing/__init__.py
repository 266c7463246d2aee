"""Tools for testing ranet itself: recording histories and checking them.

``History`` records the operations of a live test, ``load_history`` reads the
reference histories, and ``check`` decides whether a history is linearizable
(see ``ranet.testing.linearizability`` and docs/linearizability.md).
"""

from ranet.testing.history import (
    History,
    HistoryError,
    Op,
    Operation,
    Status,
    load_history,
    reference_init,
)
from ranet.testing.linearizability import CheckResult, check

__all__ = [
    "CheckResult",
    "History",
    "HistoryError",
    "Op",
    "Operation",
    "Status",
    "check",
    "load_history",
    "reference_init",
]
