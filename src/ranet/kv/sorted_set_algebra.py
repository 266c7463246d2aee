"""Sorted set algebra: ZUNION, ZINTER, ZDIFF, their STORE forms and
ZINTERCARD, as Redis 7 has them.

Inputs may be sorted sets or plain sets (every member of a set scores 1);
an absent key is empty. A member's score in a union or intersection is the
SUM (or MIN, or MAX: AGGREGATE) of its weighted scores - each input's scores
multiplied by its WEIGHT, default 1 - where, as in Redis, a NaN from
``inf * 0`` or ``inf + -inf`` counts as 0. A difference keeps the first
input's scores. Results are ordered as any sorted set: by score, then member.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ranet.kv.arguments import SYNTAX_ERROR, WRONG_TYPE, parse_double, parse_int
from ranet.kv.keyspace import Keyspace, Set, SortedSet
from ranet.kv.reply import ErrorReply, Reply, Scored
from ranet.kv.sorted_sets import store_result

_AGGREGATES: dict[bytes, Callable[[float, float], float]] = {
    b"SUM": lambda total, score: total + score,
    b"MIN": min,
    b"MAX": max,
}
_Scores = dict[bytes, float]


def _scores_of(keyspace: Keyspace, key: bytes) -> _Scores | ErrorReply:
    """The members and scores at ``key``: a sorted set's, a set's (all 1),
    none if absent; WRONGTYPE for another type."""
    value = keyspace.get(key)
    if value is None:
        return {}
    if isinstance(value, SortedSet):
        return value.scores
    if isinstance(value, Set):
        return dict.fromkeys(value, 1.0)
    return WRONG_TYPE


def _not_nan(score: float) -> float:
    return 0.0 if math.isnan(score) else score


def combine(
    keyspace: Keyspace, argv: list[bytes], *, how: str, store: bool = False, count: bool = False
) -> Reply:
    """ZUNION / ZINTER / ZDIFF numkeys key [key ...] [WEIGHTS weight ...]
    [AGGREGATE SUM | MIN | MAX] [WITHSCORES] (no WEIGHTS nor AGGREGATE for
    ZDIFF); with ``store``, the STORE forms: ``destination`` first, no
    WITHSCORES, the result replacing it and its size answered; with
    ``count``, ZINTERCARD numkeys key [key ...] [LIMIT limit]."""
    at = 2 if store else 1
    numkeys = parse_int(argv[at])
    if numkeys is None:
        return ErrorReply("ERR value is not an integer or out of range")
    if numkeys < 1:
        name = argv[0].lower().decode("utf-8", "replace")
        return ErrorReply(f"ERR at least 1 input key is needed for '{name}' command")
    keys = argv[at + 1 : at + 1 + numkeys]
    if len(keys) < numkeys:
        return SYNTAX_ERROR
    inputs = [_scores_of(keyspace, key) for key in keys]
    for scores in inputs:
        if isinstance(scores, ErrorReply):
            return scores
    options = _options(argv[at + 1 + numkeys :], numkeys, how, store, count)
    if isinstance(options, ErrorReply):
        return options
    weights, aggregate, with_scores, limit = options
    result = _result(inputs, weights, _AGGREGATES[aggregate], how)  # type: ignore[arg-type]
    if count:
        return len(result) if limit == 0 else min(len(result), limit)
    if store:
        return store_result(keyspace, argv[1], result.items(), b"z%sstore" % how.encode())
    ordered = SortedSet(result.items()).order
    if with_scores:
        return Scored([member, score] for score, member in ordered)
    return [member for _, member in ordered]


def _options(
    args: list[bytes], numkeys: int, how: str, store: bool, count: bool
) -> tuple[list[float], bytes, bool, int] | ErrorReply:
    """WEIGHTS, AGGREGATE, WITHSCORES and LIMIT, where the command takes them."""
    weights, aggregate, with_scores, limit = [1.0] * numkeys, b"SUM", False, 0
    algebra = how != "diff" and not count
    i = 0
    while i < len(args):
        option, left = args[i].upper(), len(args) - i - 1
        if algebra and option == b"WEIGHTS" and left >= numkeys:
            given = [parse_double(text) for text in args[i + 1 : i + 1 + numkeys]]
            if None in given:
                return ErrorReply("ERR weight value is not a float")
            weights, i = given, i + 1 + numkeys  # type: ignore[assignment]
        elif algebra and option == b"AGGREGATE" and left >= 1:
            aggregate = args[i + 1].upper()
            if aggregate not in _AGGREGATES:
                return SYNTAX_ERROR
            i += 2
        elif option == b"WITHSCORES" and not store and not count:
            with_scores, i = True, i + 1
        elif option == b"LIMIT" and count and left >= 1:
            parsed = parse_int(args[i + 1])
            if parsed is None or parsed < 0:
                return ErrorReply("ERR LIMIT can't be negative")
            limit, i = parsed, i + 2
        else:
            return SYNTAX_ERROR
    return weights, aggregate, with_scores, limit


def _result(
    inputs: list[_Scores],
    weights: list[float],
    aggregate: Callable[[float, float], float],
    how: str,
) -> _Scores:
    """The members and scores of the union, intersection or difference."""
    first, rest = inputs[0], inputs[1:]
    if how == "diff":
        return {m: s for m, s in first.items() if not any(m in other for other in rest)}
    if how == "inter":
        members = [m for m in first if all(m in other for other in rest)]
    else:
        members = list(dict.fromkeys(m for scores in inputs for m in scores))
    result: _Scores = {}
    for member in members:
        total = None
        for scores, weight in zip(inputs, weights, strict=True):
            if member in scores:
                score = _not_nan(weight * scores[member])
                total = score if total is None else _not_nan(aggregate(total, score))
        assert total is not None  # every member is in some input
        result[member] = total
    return result
