"""The sorted set commands: ZADD, ZRANGE (by rank, score or member), ZPOPMIN,
ZINCRBY and the rest, as Redis 7 has them (the algebra - ZUNIONSTORE and
friends - is in sorted_set_algebra.py).

A sorted set is a ``SortedSet`` value of the key space: scores are doubles,
never NaN, and members are ordered by score, then bytewise (keyspace.py).
The rules of commands.py, hashes.py and lists.py hold: arity checked before,
arguments checked in the order Redis checks them and errors worded as Redis
words them, WRONGTYPE for a key of another type, no empty sorted set (the
last member removed takes the key), changes through ``Keyspace.own``
(copy-on-write for snapshots, a version for WATCH) and none for a command
that changes nothing.

Scores are answered as doubles (RESP3) or their text (RESP2) in the
shortest form that reads back as the same double, as Redis 7.2 writes them
(``reply.format_score``); with WITHSCORES, as ``[member, score]`` pairs in
RESP3 and one flat array in RESP2 (``reply.Scored``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple

from ranet.kv.arguments import (
    NOT_A_FLOAT,
    NOT_AN_INTEGER,
    NOT_POSITIVE,
    SYNTAX_ERROR,
    check_repeats,
    first_present,
    matching,
    of_type,
    parse_double,
    parse_int,
    parse_key_scan,
    parse_multi_pop,
    parse_timeout,
)
from ranet.kv.keyspace import Keyspace, SortedSet
from ranet.kv.notifications import ZSET
from ranet.kv.reply import NULL_ARRAY, ErrorReply, Reply, Scored, format_score

_NAN_RESULT = ErrorReply("ERR resulting score is not a number (NaN)")
_SCORE_RANGE = ErrorReply("ERR min or max is not a float")
_LEX_RANGE = ErrorReply("ERR min or max not valid string range item")
_ENDS = {b"MIN": False, b"MAX": True}  # True: the highest scores


def sorted_set(keyspace: Keyspace, key: bytes) -> SortedSet | ErrorReply | None:
    return of_type(keyspace, key, SortedSet)


def store_result(
    keyspace: Keyspace, key: bytes, pairs: Iterable[tuple[bytes, float]], event: bytes
) -> int:
    """Replace ``key`` (any type, its deadline too) with a sorted set of
    ``(member, score)`` pairs, or remove it if there are none; its size.
    ``event``: the key-space event of a stored result ("zunionstore")."""
    result = SortedSet(pairs, keyspace.generation)
    if result:
        keyspace.put(key, result)
        keyspace.notify(ZSET, event, key)
    else:
        keyspace.delete_announced(key)
    return len(result)


def _scored(pairs: Iterable[tuple[float, bytes]], with_scores: bool) -> list[bytes] | Scored:
    """``(score, member)`` pairs as a reply: the members, or with scores."""
    if with_scores:
        return Scored([member, score] for score, member in pairs)
    return [member for _, member in pairs]


# --- adding and scoring ----------------------------------------------------

_ZADD_FLAGS = (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR")


def zadd(keyspace: Keyspace, argv: list[bytes], *, increment: bool = False) -> Reply:
    """ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]:
    how many members are new (with CH: new or changed); with INCR the new
    score, or null if a condition kept it from changing. ZINCRBY is ZADD
    with INCR (``increment``), parsed the same way, as Redis does."""
    if len(argv) == 4 and not increment:  # ZADD key score member: the common form, first
        score = parse_double(argv[2])
        if score is not None:
            return _add(keyspace, argv[1], argv[3], score)
    flags = {b"INCR"} if increment else set()
    first = 2
    while first < len(argv) and argv[first].upper() in _ZADD_FLAGS:
        flags.add(argv[first].upper())
        first += 1
    pairs = argv[first:]
    if not pairs or len(pairs) % 2:
        return SYNTAX_ERROR
    if {b"NX", b"XX"} <= flags:
        return ErrorReply("ERR XX and NX options at the same time are not compatible")
    if (b"NX" in flags and flags & {b"GT", b"LT"}) or {b"GT", b"LT"} <= flags:
        return ErrorReply("ERR GT, LT, and/or NX options at the same time are not compatible")
    if b"INCR" in flags and len(pairs) > 2:
        return ErrorReply("ERR INCR option supports a single increment-element pair")
    scores = [parse_double(text) for text in pairs[::2]]
    if None in scores:
        return NOT_A_FLOAT
    key = argv[1]
    members = sorted_set(keyspace, key)
    if isinstance(members, ErrorReply):
        return members
    if members is None and b"XX" in flags:
        return None if b"INCR" in flags else 0
    added = changed = 0
    score = None
    owned = False  # whether ``members`` is the key's own copy, made once for all changes
    for given, member in zip(scores, pairs[1::2], strict=True):
        assert given is not None  # checked above
        current = None if members is None else members.scores.get(member)
        new = _new_score(current, given, flags)
        if isinstance(new, ErrorReply):
            return new
        score = new
        if new is None or new == current:
            continue
        if not owned:
            members, owned = keyspace.changeable(key, SortedSet), True
        members.add(member, new)  # type: ignore[union-attr]
        added += current is None
        changed += current is not None
    if added or changed:
        keyspace.notify(ZSET, b"zincr" if b"INCR" in flags else b"zadd", key)
    if b"INCR" in flags:
        return score
    return added + changed if b"CH" in flags else added


def _add(keyspace: Keyspace, key: bytes, member: bytes, score: float) -> Reply:
    """ZADD key score member, without options: 1 if ``member`` is new."""
    members = sorted_set(keyspace, key)
    if isinstance(members, ErrorReply):
        return members
    current = None if members is None else members.scores.get(member)
    if current != score:
        keyspace.changeable(key, SortedSet).add(member, score)
        keyspace.notify(ZSET, b"zadd", key)
    return int(current is None)


def _new_score(current: float | None, given: float, flags: set[bytes]) -> float | ErrorReply | None:
    """The score ZADD gives a member now at ``current`` (None: absent), or
    None if a condition (NX, XX, GT, LT) keeps it as it is."""
    if current is None:
        return None if b"XX" in flags else given
    if b"NX" in flags:
        return None
    new = current + given if b"INCR" in flags else given
    if math.isnan(new):
        return _NAN_RESULT
    if (b"LT" in flags and new >= current) or (b"GT" in flags and new <= current):
        return None
    return new


def zincrby(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """ZINCRBY key increment member: the member's new score (from 0)."""
    return zadd(keyspace, argv, increment=True)


def zscore(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    members = sorted_set(keyspace, argv[1])
    if members is None or isinstance(members, ErrorReply):
        return members
    return members.scores.get(argv[2])


def zmscore(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    members = sorted_set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    scores = {} if members is None else members.scores
    return [scores.get(member) for member in argv[2:]]


def zrank(keyspace: Keyspace, argv: list[bytes], *, reverse: bool) -> Reply:
    """ZRANK / ZREVRANK key member: its position from the lowest (the
    highest) score, or null."""
    members = sorted_set(keyspace, argv[1])
    if members is None or isinstance(members, ErrorReply):
        return members
    if argv[2] not in members:
        return None
    rank = members.rank(argv[2])
    return len(members) - 1 - rank if reverse else rank


# --- ranges ------------------------------------------------------------------


class _Above:
    """Sorts after every member: ``(score, ABOVE)`` follows every pair of that score."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


_ABOVE = _Above()


def _score_bound(text: bytes) -> tuple[float, bool] | None:
    """A ZRANGEBYSCORE bound: ``(value, exclusive)``; ``(1.5`` excludes 1.5."""
    exclusive = text.startswith(b"(")
    value = parse_double(text[1:] if exclusive else text)
    return None if value is None else (value, exclusive)


def _lex_bound(text: bytes) -> tuple[bytes, bool] | bool | None:
    """A ZRANGEBYLEX bound: ``(member, exclusive)`` for ``[m`` / ``(m``;
    ``False`` for ``-`` (below all), ``True`` for ``+`` (above all)."""
    if text in (b"-", b"+"):
        return text == b"+"
    if text[:1] in (b"[", b"("):
        return text[1:], text[:1] == b"("
    return None


class Range(NamedTuple):
    """What ZRANGE selects: ``by`` ``rank``, ``score`` or ``lex`` between
    ``low`` and ``high`` (parsed bounds), highest first if ``reverse``,
    skipping ``offset`` and taking ``limit`` (negative: all) of the rest."""

    by: str
    low: object
    high: object
    reverse: bool
    offset: int = 0
    limit: int = -1


def parse_range(
    by: str, low: bytes, high: bytes, reverse: bool, offset: int = 0, limit: int = -1
) -> Range | ErrorReply:
    """The bounds of a range by rank (integers), score or member; for a
    reverse range by score or member, ``low`` and ``high`` are given high first."""
    if by == "rank":
        start, stop = parse_int(low), parse_int(high)
        if start is None or stop is None:
            return NOT_AN_INTEGER
        return Range(by, start, stop, reverse, offset, limit)
    if reverse:
        low, high = high, low
    parse, error = (_score_bound, _SCORE_RANGE) if by == "score" else (_lex_bound, _LEX_RANGE)
    bounds = parse(low), parse(high)
    if None in bounds:
        return error
    return Range(by, *bounds, reverse, offset, limit)


def select(members: SortedSet, chosen: Range) -> list[tuple[float, bytes]]:
    """The ``(score, member)`` pairs of ``members`` that ``chosen`` covers, in order."""
    order = members.order
    first, end = _indexes(members, chosen)
    if chosen.by != "rank":
        if chosen.offset < 0:
            return []
        if chosen.reverse:
            end -= chosen.offset
        else:
            first += chosen.offset
        if chosen.limit >= 0:
            if chosen.reverse:
                first = max(first, end - chosen.limit)
            else:
                end = min(end, first + chosen.limit)
    if first >= end:
        return []
    return list(order.islice(first, end, reverse=chosen.reverse))


def _indexes(members: SortedSet, chosen: Range) -> tuple[int, int]:
    """The positions ``[first, end)``, lowest score first, that ``chosen``'s
    bounds cover (before its offset and limit)."""
    order, length = members.order, len(members)
    if chosen.by == "rank":
        start, stop = chosen.low, chosen.high
        assert isinstance(start, int) and isinstance(stop, int)
        start = max(start + length if start < 0 else start, 0)
        stop = min(stop + length if stop < 0 else stop, length - 1)
        if start > stop:
            return 0, 0
        return (length - 1 - stop, length - start) if chosen.reverse else (start, stop + 1)
    if chosen.by == "score":
        (low, low_open), (high, high_open) = chosen.low, chosen.high  # type: ignore[misc]
        first = order.bisect_left((low, _ABOVE) if low_open else (low,))
        end = order.bisect_left((high,) if high_open else (high, _ABOVE))
        return first, max(first, end)
    if not length:
        return 0, 0
    score = order[0][0]  # Redis defines lex ranges for members of one score
    return _lex_index(order, score, chosen.low, 0), _lex_index(order, score, chosen.high, 1)


def _lex_index(order: Any, score: float, bound: object, upper: int) -> int:
    """Where a lex ``bound`` falls: the first position past it (``upper``)
    or at it (the lower bound)."""
    if bound is False or bound is True:
        return len(order) if bound else 0
    member, exclusive = bound  # type: ignore[misc]
    after = exclusive != bool(upper)  # lower and open, or upper and closed: skip equals
    if after:
        return order.bisect_right((score, member))  # type: ignore[no-any-return]
    return order.bisect_left((score, member))  # type: ignore[no-any-return]


_RANGE_OPTIONS = {b"BYSCORE": "score", b"BYLEX": "lex"}


def zrange(
    keyspace: Keyspace,
    argv: list[bytes],
    *,
    by: str | None = None,
    reverse: bool | None = None,
    store: bool = False,
) -> Reply:
    """ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count]
    [WITHSCORES], and the older forms that fix ``by`` and ``reverse``:
    ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX.
    ZRANGESTORE (``store``): ``destination`` first, no WITHSCORES, the
    result stored and its size answered."""
    at = 2 if store else 1
    offset, limit, with_scores = 0, -1, False
    i = at + 3
    while i < len(argv):
        option = argv[i].upper()
        if option == b"WITHSCORES" and not store:
            with_scores = True
        elif option == b"LIMIT" and i + 2 < len(argv):
            offset_given, limit_given = parse_int(argv[i + 1]), parse_int(argv[i + 2])
            if offset_given is None or limit_given is None:
                return NOT_AN_INTEGER
            offset, limit, i = offset_given, limit_given, i + 2
        elif option == b"REV" and reverse is None:
            reverse = True
        elif option in _RANGE_OPTIONS and by is None:
            by = _RANGE_OPTIONS[option]
        else:
            return SYNTAX_ERROR
        i += 1
    by, reverse = by or "rank", bool(reverse)
    if limit != -1 and by == "rank":  # as Redis: an offset alone is ignored
        return ErrorReply(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    if with_scores and by == "lex":
        return ErrorReply("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    chosen = parse_range(by, argv[at + 1], argv[at + 2], reverse, offset, limit)
    if isinstance(chosen, ErrorReply):
        return chosen
    members = sorted_set(keyspace, argv[at])
    if isinstance(members, ErrorReply):
        return members
    pairs = [] if members is None else select(members, chosen)
    if store:
        pairs_stored = ((member, score) for score, member in pairs)
        return store_result(keyspace, argv[1], pairs_stored, b"zrangestore")
    return _scored(pairs, with_scores)


def zcount(keyspace: Keyspace, argv: list[bytes], *, by: str) -> Reply:
    """ZCOUNT key min max (``by`` score) / ZLEXCOUNT key min max (``by`` lex):
    how many members fall in the range."""
    chosen = parse_range(by, argv[2], argv[3], False)
    if isinstance(chosen, ErrorReply):
        return chosen
    members = sorted_set(keyspace, argv[1])
    if members is None or isinstance(members, ErrorReply):
        return 0 if members is None else members
    first, end = _indexes(members, chosen)
    return max(end - first, 0)


def zremrange(keyspace: Keyspace, argv: list[bytes], *, by: str) -> Reply:
    """ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max:
    remove the members in the range; how many."""
    chosen = parse_range(by, argv[2], argv[3], False)
    if isinstance(chosen, ErrorReply):
        return chosen
    key = argv[1]
    members = sorted_set(keyspace, key)
    if members is None or isinstance(members, ErrorReply):
        return 0 if members is None else members
    doomed = [member for _, member in select(members, chosen)]
    keyspace.remove_parts(key, doomed)
    if doomed:
        keyspace.notify_taken(ZSET, b"zremrangeby" + by.encode(), key)
    return len(doomed)


# --- popping -------------------------------------------------------------


def _pop(keyspace: Keyspace, key: bytes, members: SortedSet, count: int, highest: bool) -> Scored:
    """Take up to ``count`` members with the lowest (``highest``: the
    highest) scores from the non-empty sorted set at ``key``."""
    pairs = list(islice(members.order.islice(reverse=highest), count))
    keyspace.remove_parts(key, [member for _, member in pairs])
    keyspace.notify_taken(ZSET, b"zpopmax" if highest else b"zpopmin", key)
    return Scored([member, score] for score, member in pairs)


def zpop(keyspace: Keyspace, argv: list[bytes], *, highest: bool) -> Reply:
    """ZPOPMIN / ZPOPMAX key [count]: the member with the lowest (highest)
    score and its score, or up to ``count`` such pairs; empty if none."""
    if len(argv) > 3:
        return SYNTAX_ERROR
    count = 1 if len(argv) == 2 else parse_int(argv[2])
    if count is None or count < 0:
        return NOT_POSITIVE
    key = argv[1]
    members = sorted_set(keyspace, key)
    if isinstance(members, ErrorReply):
        return members
    if members is None or count == 0:
        return []
    popped = _pop(keyspace, key, members, count, highest)
    return popped if len(argv) == 3 else popped[0]  # without a count: one flat pair


def zmpop(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]: ``[key, [[member,
    score], ...]]`` from the first non-empty sorted set, or null."""
    parsed = parse_multi_pop(argv, _ENDS)
    if isinstance(parsed, ErrorReply):
        return parsed
    keys, highest, count = parsed
    found = first_present(keyspace, keys, SortedSet)
    if found is None:
        return NULL_ARRAY
    if isinstance(found, ErrorReply):
        return found
    key, members = found
    return [key, list(_pop(keyspace, key, members, count, highest))]


def blocking_zpop(keyspace: Keyspace, argv: list[bytes], *, highest: bool) -> Reply:
    """BZPOPMIN / BZPOPMAX key [key ...] timeout, applied (blocking.py):
    ``[key, member, score]`` from the first non-empty sorted set, or null."""
    timeout = parse_timeout(argv[-1])
    if isinstance(timeout, ErrorReply):
        return timeout
    found = first_present(keyspace, argv[1:-1], SortedSet)
    if found is None:
        return NULL_ARRAY
    if isinstance(found, ErrorReply):
        return found
    key, members = found
    return [key, *_pop(keyspace, key, members, 1, highest)[0]]


def bzmpop(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count], applied: ZMPOP."""
    timeout = parse_timeout(argv[1])
    return timeout if isinstance(timeout, ErrorReply) else zmpop(keyspace, [b"ZMPOP", *argv[2:]])


# --- reading at random and scanning ------------------------------------------


def zrandmember(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """ZRANDMEMBER key [count [WITHSCORES]]: a random member; ``count``
    distinct ones, or with a negative count that many with repeats. A read:
    random is fine."""
    if len(argv) > 4 or (len(argv) == 4 and argv[3].upper() != b"WITHSCORES"):
        return SYNTAX_ERROR
    count = None if len(argv) == 2 else parse_int(argv[2])
    if len(argv) > 2 and count is None:
        return NOT_AN_INTEGER
    members = sorted_set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    pool = [] if members is None else list(members.order)
    if count is None:
        return keyspace.random.choice(pool)[1] if pool else None
    if count < 0:
        too_many = check_repeats(count)
        if too_many:
            return too_many
        chosen = [keyspace.random.choice(pool) for _ in range(-count)] if pool else []
    else:
        chosen = keyspace.random.sample(pool, min(count, len(pool)))
    return _scored(chosen, len(argv) == 4)


def zscan(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """ZSCAN key cursor [MATCH pattern] [COUNT n]: every matching member and
    its score (as text) in one page, cursor 0 (as HSCAN, hashes.py)."""
    options = parse_key_scan(argv)
    if isinstance(options, ErrorReply):
        return options
    members = sorted_set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    pairs = matching(options, [] if members is None else members.order, itemgetter(1))
    return [b"0", [part for score, member in pairs for part in (member, format_score(score))]]
