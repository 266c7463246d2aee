"""Majority quorums: who has won an election, what index a majority holds.

Pure functions over a set of voters. Kept apart so that joint consensus
(thesis §4.3: a decision needs a majority of *both* configurations) can be
added by combining two of these, without touching the protocol code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import Enum


class VoteResult(Enum):
    PENDING = "pending"
    WON = "won"
    LOST = "lost"


def majority(voters: Collection[int]) -> int:
    """Size of a majority of ``voters`` (Raft §5.2)."""
    return len(voters) // 2 + 1


def vote_result(voters: Collection[int], votes: Mapping[int, bool]) -> VoteResult:
    """Tally ``votes`` (granted or refused, by voter) against ``voters``.

    WON once a majority granted, LOST once a majority can no longer be
    reached, PENDING otherwise. Votes from non-voters are ignored.
    """
    granted = refused = 0
    for voter in voters:
        vote = votes.get(voter)
        if vote is True:
            granted += 1
        elif vote is False:
            refused += 1
    needed = majority(voters)
    if granted >= needed:
        return VoteResult.WON
    if len(voters) - refused < needed:
        return VoteResult.LOST
    return VoteResult.PENDING


def committed_index(voters: Collection[int], match_index: Mapping[int, int]) -> int:
    """The largest index that a majority of ``voters`` holds (Raft §5.3, §5.4.2).

    Voters missing from ``match_index`` count as holding nothing. The caller
    still checks that the entry at this index is of the current term.
    """
    matched = sorted((match_index.get(voter, 0) for voter in voters), reverse=True)
    if not matched:
        return 0
    return matched[majority(voters) - 1]


def has_quorum(voters: Collection[int], active: Collection[int]) -> bool:
    """Whether the ``active`` servers include a majority of ``voters``."""
    return sum(1 for voter in voters if voter in active) >= majority(voters)
