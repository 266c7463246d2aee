"""The list commands: LPUSH, RPOP, LRANGE, LMOVE and the rest, as Redis 7 has them.

A list is a ``List`` value of the key space (a deque of bytes: pushes and
pops at either end cost O(1), an index O(n) from the nearer end). The rules
of commands.py and hashes.py hold: arity checked before, arguments checked
in the order Redis checks them and errors worded as Redis words them,
WRONGTYPE for a key of another type, no empty list (the last element taken
takes the key), changes through ``Keyspace.own`` (copy-on-write for
snapshots, a version for WATCH) and none for a command that changes nothing.

The blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) wait in
the server (blocking.py); the handlers here are what they do once applied,
or inside MULTI: their non-blocking form, null if there is nothing to take.
"""

from __future__ import annotations

from itertools import islice

from ranet.kv.arguments import (
    INT64_MAX,
    NOT_AN_INTEGER,
    NOT_POSITIVE,
    OUT_OF_LONG_RANGE,
    SYNTAX_ERROR,
    arity_error,
    first_present,
    of_type,
    parse_int,
    parse_multi_pop,
    parse_timeout,
)
from ranet.kv.keyspace import Keyspace, List
from ranet.kv.notifications import LIST
from ranet.kv.reply import NULL_ARRAY, OK, ErrorReply, Reply

_NO_SUCH_KEY = ErrorReply("ERR no such key")
_OUT_OF_RANGE = ErrorReply("ERR index out of range")
_RANK_ZERO = ErrorReply(
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
    "second ... or use negative to start from the end of the list"
)
_ENDS = {b"LEFT": True, b"RIGHT": False}  # True: the head
_PUSHED = {True: b"lpush", False: b"rpush"}  # the event, by end (True: the head)
_POPPED = {True: b"lpop", False: b"rpop"}


def _list(keyspace: Keyspace, key: bytes) -> List | ErrorReply | None:
    return of_type(keyspace, key, List)


def _count(text: bytes, error: ErrorReply = NOT_POSITIVE) -> int | ErrorReply:
    """A count argument: a non-negative integer, else ``error`` - which Redis
    answers for text that is no integer at all too."""
    number = parse_int(text)
    return number if number is not None and number >= 0 else error


def _end(text: bytes) -> bool | ErrorReply:
    """LEFT (the head: True) or RIGHT (False), any case."""
    head = _ENDS.get(text.upper())
    return SYNTAX_ERROR if head is None else head


def push(keyspace: Keyspace, argv: list[bytes], *, head: bool, existing: bool = False) -> Reply:
    """LPUSH / RPUSH key element [element ...] (LPUSHX / RPUSHX with
    ``existing``: only onto a list that exists): the list's new length."""
    key = argv[1]
    elements = _list(keyspace, key)
    if isinstance(elements, ErrorReply):
        return elements
    if elements is None and existing:
        return 0
    length = _push(keyspace, key, argv[2:], head)
    keyspace.notify(LIST, _PUSHED[head], key)
    return length


def _push(keyspace: Keyspace, key: bytes, elements: list[bytes], head: bool) -> int:
    """Push ``elements`` one after the other onto the list at ``key`` (made if
    absent; the caller checked its type); its new length."""
    changing = keyspace.changeable(key, List)
    if head:
        changing.extendleft(elements)
    else:
        changing.extend(elements)
    return len(changing)


def pop(keyspace: Keyspace, argv: list[bytes], *, head: bool) -> Reply:
    """LPOP / RPOP key [count]: the element taken (null if none), or up to
    ``count`` of them (null if the key is absent)."""
    if len(argv) > 3:
        return arity_error(argv[0])
    count = None if len(argv) == 2 else _count(argv[2])
    if isinstance(count, ErrorReply):
        return count
    key = argv[1]
    elements = _list(keyspace, key)
    if elements is None:
        return None if count is None else NULL_ARRAY  # Redis's nulls: $-1, *-1 with a count
    if isinstance(elements, ErrorReply):
        return elements
    if count == 0:
        return []
    taken = _take(keyspace, key, elements, 1 if count is None else count, head)
    keyspace.notify_taken(LIST, _POPPED[head], key)
    return taken[0] if count is None else taken


def _take(keyspace: Keyspace, key: bytes, elements: List, count: int, head: bool) -> list[bytes]:
    """Take up to ``count`` elements from one end of the non-empty list at
    ``key``; the key goes with the last."""
    if count >= len(elements):
        keyspace.delete(key)
        return list(elements if head else reversed(elements))
    changing = keyspace.own(key)
    take = changing.popleft if head else changing.pop
    return [take() for _ in range(count)]


def _span(length: int, start: int, stop: int) -> tuple[int, int]:
    """The indexes ``[first, last)`` that ``start``..``stop`` (inclusive, negative
    from the end) cover in a list of ``length``, as LRANGE and LTRIM read them."""
    start = max(start + length if start < 0 else start, 0)
    stop = min(stop + length if stop < 0 else stop, length - 1)
    return (start, stop + 1) if start <= stop else (0, 0)


def lrange(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LRANGE key start stop: the elements from ``start`` to ``stop``, inclusive."""
    start, stop = parse_int(argv[2]), parse_int(argv[3])
    if start is None or stop is None:
        return NOT_AN_INTEGER
    elements = _list(keyspace, argv[1])
    if elements is None or isinstance(elements, ErrorReply):
        return [] if elements is None else elements
    length = len(elements)
    first, end = _span(length, start, stop)
    if first <= length - end:
        return list(islice(elements, first, end))
    from_tail = list(islice(reversed(elements), length - end, length - first))  # nearer the tail
    from_tail.reverse()
    return from_tail


def ltrim(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LTRIM key start stop: keep only ``start``..``stop``; OK."""
    start, stop = parse_int(argv[2]), parse_int(argv[3])
    if start is None or stop is None:
        return NOT_AN_INTEGER
    key = argv[1]
    elements = _list(keyspace, key)
    if elements is None or isinstance(elements, ErrorReply):
        return OK if elements is None else elements
    first, end = _span(len(elements), start, stop)
    if first == end:
        keyspace.delete(key)
    elif (first, end) != (0, len(elements)):
        changing = keyspace.own(key)
        for _ in range(first):
            changing.popleft()
        for _ in range(len(changing) - (end - first)):
            changing.pop()
    keyspace.notify_taken(LIST, b"ltrim", key)
    return OK


def _index(elements: List, index: int) -> int | None:
    """``index`` (negative: from the end) as a position in ``elements``, or ``None``."""
    position = index + len(elements) if index < 0 else index
    return position if 0 <= position < len(elements) else None


def lindex(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LINDEX key index: the element there, or null."""
    elements = _list(keyspace, argv[1])
    if elements is None or isinstance(elements, ErrorReply):
        return elements
    index = parse_int(argv[2])
    if index is None:
        return NOT_AN_INTEGER
    position = _index(elements, index)
    return None if position is None else elements[position]


def lset(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LSET key index element: OK, or an error if no such key or index."""
    key = argv[1]
    elements = _list(keyspace, key)
    if elements is None or isinstance(elements, ErrorReply):
        return _NO_SUCH_KEY if elements is None else elements
    index = parse_int(argv[2])
    if index is None:
        return NOT_AN_INTEGER
    position = _index(elements, index)
    if position is None:
        return _OUT_OF_RANGE
    keyspace.own(key)[position] = argv[3]
    keyspace.notify(LIST, b"lset", key)
    return OK


def lrem(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LREM key count element: remove the first ``count`` elements equal to
    ``element`` (negative: the last ones; 0: all); how many were removed."""
    count = parse_int(argv[2])
    if count is None:
        return NOT_AN_INTEGER
    key, element = argv[1], argv[3]
    elements = _list(keyspace, key)
    if elements is None or isinstance(elements, ErrorReply):
        return 0 if elements is None else elements
    limit = abs(count) or len(elements)
    order = elements if count >= 0 else reversed(elements)
    kept, removed = [], 0
    for item in order:
        if removed < limit and item == element:
            removed += 1
        else:
            kept.append(item)
    if removed == len(elements):
        keyspace.delete(key)
    elif removed:
        changing = keyspace.own(key)
        changing.clear()
        changing.extend(kept if count >= 0 else reversed(kept))
    if removed:
        keyspace.notify_taken(LIST, b"lrem", key)
    return removed


def linsert(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LINSERT key BEFORE|AFTER pivot element: the new length, -1 if there is
    no ``pivot``, 0 if there is no list."""
    where = argv[2].upper()
    if where not in (b"BEFORE", b"AFTER"):
        return SYNTAX_ERROR
    key, pivot = argv[1], argv[3]
    elements = _list(keyspace, key)
    if elements is None or isinstance(elements, ErrorReply):
        return 0 if elements is None else elements
    try:
        position = elements.index(pivot)
    except ValueError:
        return -1
    changing = keyspace.own(key)
    changing.insert(position + (where == b"AFTER"), argv[4])
    keyspace.notify(LIST, b"linsert", key)
    return len(changing)


def lpos(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: the
    index of the ``rank``-th match (negative: counting from the tail), or
    with COUNT the indexes of up to that many matches (0: all); MAXLEN
    compares at most that many elements."""
    rank, count, maxlen = 1, None, 0
    i = 3
    while i < len(argv):
        option = argv[i].upper()
        if i + 1 == len(argv) or option not in (b"RANK", b"COUNT", b"MAXLEN"):
            return SYNTAX_ERROR
        value, i = argv[i + 1], i + 2
        if option == b"RANK":
            number = parse_int(value)
            if number is None:
                return NOT_AN_INTEGER
            if number == -INT64_MAX - 1:
                return OUT_OF_LONG_RANGE
            if number == 0:
                return _RANK_ZERO
            rank = number
        else:
            parsed = _count(value, ErrorReply(f"ERR {option.decode()} can't be negative"))
            if isinstance(parsed, ErrorReply):
                return parsed
            if option == b"COUNT":
                count = parsed
            else:
                maxlen = parsed
    elements = _list(keyspace, argv[1])
    if elements is None or isinstance(elements, ErrorReply):
        return ([] if count is not None else None) if elements is None else elements
    matches = _matches(elements, argv[2], rank, count or len(elements), maxlen or len(elements))
    if count is None:
        return matches[0] if matches else None
    return matches


def _matches(elements: List, element: bytes, rank: int, most: int, maxlen: int) -> list[int]:
    """The indexes (from the head) of up to ``most`` elements equal to
    ``element``, skipping the first ``abs(rank) - 1`` matches, looking at
    ``maxlen`` elements from the head (``rank`` > 0) or the tail."""
    length = len(elements)
    order = (
        enumerate(elements)
        if rank > 0
        else zip(range(length - 1, -1, -1), reversed(elements), strict=True)
    )
    skip, found = abs(rank) - 1, []
    for index, item in islice(order, maxlen):
        if item == element:
            if skip:
                skip -= 1
                continue
            found.append(index)
            if len(found) == most:
                break
    return found


def lmove(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LMOVE source destination LEFT|RIGHT LEFT|RIGHT: the element taken from
    one end of ``source`` and pushed onto one end of ``destination`` (the
    same list rotates), or null if ``source`` is empty."""
    from_head, to_head = _end(argv[3]), _end(argv[4])
    if isinstance(from_head, ErrorReply):
        return from_head
    if isinstance(to_head, ErrorReply):
        return to_head
    return _move(keyspace, argv[1], argv[2], from_head, to_head)


def rpoplpush(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT."""
    return _move(keyspace, argv[1], argv[2], False, True)


def _move(
    keyspace: Keyspace, source: bytes, destination: bytes, from_head: bool, to_head: bool
) -> Reply:
    elements = _list(keyspace, source)
    if elements is None or isinstance(elements, ErrorReply):
        return elements
    target = _list(keyspace, destination)  # Redis checks it only once source has an element
    if isinstance(target, ErrorReply):
        return target
    if source == destination:
        changing = keyspace.own(source)
        element = changing.popleft() if from_head else changing.pop()
    else:
        element = _take(keyspace, source, elements, 1, from_head)[0]
    _push(keyspace, destination, [element], to_head)
    keyspace.notify(LIST, _PUSHED[to_head], destination)  # Redis's order: the push first
    keyspace.notify_taken(LIST, _POPPED[from_head], source)
    return element


def lmpop(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: ``[key, elements]``
    for the first non-empty list of ``keys``, up to ``count`` elements taken
    from its chosen end; null if every list is empty."""
    parsed = parse_multi_pop(argv, _ENDS)
    if isinstance(parsed, ErrorReply):
        return parsed
    keys, head, count = parsed
    found = first_present(keyspace, keys, List)
    if found is None:
        return NULL_ARRAY
    if isinstance(found, ErrorReply):
        return found
    key, elements = found
    taken = _take(keyspace, key, elements, count, head)
    keyspace.notify_taken(LIST, _POPPED[head], key)
    return [key, taken]


# --- blocking commands, applied ------------------------------------------------


def blocking_pop(keyspace: Keyspace, argv: list[bytes], *, head: bool) -> Reply:
    """BLPOP / BRPOP key [key ...] timeout, applied: ``[key, element]`` from
    the first non-empty list, or null."""
    timeout = parse_timeout(argv[-1])
    if isinstance(timeout, ErrorReply):
        return timeout
    found = first_present(keyspace, argv[1:-1], List)
    if found is None:
        return NULL_ARRAY
    if isinstance(found, ErrorReply):
        return found
    key, elements = found
    taken = _take(keyspace, key, elements, 1, head)
    keyspace.notify_taken(LIST, _POPPED[head], key)
    return [key, taken[0]]


def blmove(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, applied: LMOVE."""
    from_head, to_head = _end(argv[3]), _end(argv[4])
    if isinstance(from_head, ErrorReply):
        return from_head
    if isinstance(to_head, ErrorReply):
        return to_head
    timeout = parse_timeout(argv[5])
    if isinstance(timeout, ErrorReply):
        return timeout
    return _move(keyspace, argv[1], argv[2], from_head, to_head)


def brpoplpush(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """BRPOPLPUSH source destination timeout, applied: RPOPLPUSH."""
    timeout = parse_timeout(argv[3])
    return timeout if isinstance(timeout, ErrorReply) else rpoplpush(keyspace, argv[:3])


def blmpop(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count], applied: LMPOP."""
    timeout = parse_timeout(argv[1])
    return timeout if isinstance(timeout, ErrorReply) else lmpop(keyspace, [b"LMPOP", *argv[2:]])
