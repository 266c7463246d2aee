"""The append rule, applied identically by every ``Storage``.

``append(first_index, entries)`` may overwrite a conflicting suffix (Raft
§5.3) but never leave a hole: ``first_index`` is at most one past the last
stored entry. Entries a snapshot already covers are dropped, because the
snapshot holds them (Raft §7). The rule is checked when ``append`` is called,
so a bad call fails at its caller, not in a later ``sync``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ranet.core.types import Entry


def entries_to_store(
    first_index: int, entries: Sequence[Entry], snapshot_last_index: int, last_index: int
) -> tuple[int, Sequence[Entry]]:
    """Validate an append; return where to write and what, less what the snapshot covers.

    Raises ``ValueError`` for an index below 1 or past ``last_index + 1``.
    """
    if first_index < 1:
        raise ValueError(f"log indexes start at 1; cannot append at {first_index}")
    if first_index > last_index + 1:
        raise ValueError(
            f"append at {first_index} would leave a hole: the last stored entry is {last_index}"
        )
    covered = snapshot_last_index + 1 - first_index
    if covered > 0:
        return snapshot_last_index + 1, entries[covered:]
    return first_index, entries
