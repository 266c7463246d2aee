"""SORT and SORT_RO, as Redis 7.0 has them.

SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC]
[ALPHA] [STORE destination] sorts a list, a set or a sorted set: by the
elements' numeric values, or bytewise (ALPHA), or by other keys' values
(BY ``weight_*``, ``*`` standing for the element; ``hash_*->field`` for a
hash field); BY a pattern without ``*`` keeps the value's own order. GET
answers other keys' values instead of the elements (``#``: the element).
STORE replaces ``destination`` with the result as a list.

SORT is a write (through the log) because of STORE, as in Redis; SORT_RO
reads on one node. The result is the same on every replica: where Redis
sorts with quicksort and leaves the order of equal sort keys to it (ALPHA
by a pattern, or elements a pattern gives no value), ranet keeps the
order the elements were read in; and BY a constant pattern on a set, which
Redis answers in its hash table's order, answers in the set's order (the
order members were added).
"""

from __future__ import annotations

import re

from ranet.kv.arguments import NOT_AN_INTEGER, SYNTAX_ERROR, WRONG_TYPE, parse_double, parse_int
from ranet.kv.keyspace import Hash, Keyspace, List, Set, SortedSet
from ranet.kv.notifications import LIST
from ranet.kv.reply import ErrorReply, Reply

_NOT_A_NUMBER = ErrorReply("ERR One or more scores can't be converted into double")
_SPACES = b" \t\n\v\f\r"
_HEX = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")


class _Options:
    """What SORT's options asked for."""

    __slots__ = ("alpha", "by", "count", "descending", "gets", "offset", "store")

    def __init__(self) -> None:
        self.descending = self.alpha = False
        self.offset, self.count = 0, -1
        self.by: bytes | None = None
        self.store: bytes | None = None
        self.gets: list[bytes] = []


def _parse(argv: list[bytes], read_only: bool) -> _Options | ErrorReply:
    options = _Options()
    at = 2
    while at < len(argv):
        word, left = argv[at].upper(), len(argv) - at - 1
        if word in (b"ASC", b"DESC"):
            options.descending = word == b"DESC"
        elif word == b"ALPHA":
            options.alpha = True
        elif word == b"LIMIT" and left >= 2:
            offset, count = parse_int(argv[at + 1]), parse_int(argv[at + 2])
            if offset is None or count is None:
                return NOT_AN_INTEGER
            options.offset, options.count, at = offset, count, at + 2
        elif word == b"STORE" and left >= 1 and not read_only:
            options.store, at = argv[at + 1], at + 1
        elif word == b"BY" and left >= 1:
            options.by, at = argv[at + 1], at + 1
        elif word == b"GET" and left >= 1:
            options.gets.append(argv[at + 1])
            at += 1
        else:
            return SYNTAX_ERROR
        at += 1
    return options


def lookup_by_pattern(keyspace: Keyspace, pattern: bytes, element: bytes) -> bytes | None:
    """The value ``pattern`` names for ``element``: ``#`` is the element;
    ``*`` is replaced by it, and ``->field`` after the ``*`` reads that
    field of a hash; ``None`` for no ``*``, no key, or a key of another
    type (Redis's lookupKeyByPattern)."""
    if pattern == b"#":
        return element
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = pattern[arrow + 2 :] if arrow >= 0 and arrow + 2 < len(pattern) else None
    end = arrow if field is not None else len(pattern)
    value = keyspace.get(pattern[:star] + element + pattern[star + 1 : end])
    if field is not None:
        return value.get(field) if isinstance(value, Hash) else None
    return value if value.__class__ is bytes else None


def _number(text: bytes) -> float | None:
    """``text`` as Redis's SORT reads a number (``strtod`` of the whole
    text: spaces before it, none after, hexadecimal too; an empty text is
    0)."""
    text = text.lstrip(_SPACES)
    if not text:
        return 0.0
    if _HEX.fullmatch(text):
        try:
            return float.fromhex(text.decode())
        except OverflowError:  # strtod's ERANGE
            return None
    return parse_double(text)


def sort(keyspace: Keyspace, argv: list[bytes], read_only: bool = False) -> Reply:
    """SORT key [options] (and SORT_RO): the sorted elements, or what GET
    names for each; with STORE, how many values were stored."""
    options = _parse(argv, read_only)
    if isinstance(options, ErrorReply):
        return options
    value = keyspace.get(argv[1])
    if value is not None and not isinstance(value, List | Set | SortedSet):
        return WRONG_TYPE
    keep_order = options.by is not None and b"*" not in options.by
    if keep_order and isinstance(value, Set) and options.store is not None:
        keep_order, options.alpha, options.by = False, True, None  # Redis's rule, for replicas
    elements = _elements(value)
    total = len(elements)
    start = min(max(options.offset, 0), total)
    count = min(max(options.count, -1), total)
    end = min(total if count < 0 else start + count, total)
    if keep_order:
        if options.descending and not isinstance(value, Set):
            elements.reverse()
    else:
        ordered = _sorted(keyspace, elements, options)
        if ordered is None:
            return _NOT_A_NUMBER
        elements = ordered
    chosen = elements[start:end]
    if options.store is not None:
        return _store(keyspace, options, chosen)
    if not options.gets:
        return chosen  # type: ignore[return-value]
    return [lookup_by_pattern(keyspace, get, element) for element in chosen for get in options.gets]


def _elements(value: List | Set | SortedSet | None) -> list[bytes]:
    """The elements in the value's own order (a sorted set's by score)."""
    if value is None:
        return []
    if isinstance(value, SortedSet):
        return [member for _, member in value.order]
    return list(value)


def _sorted(keyspace: Keyspace, elements: list[bytes], options: _Options) -> list[bytes] | None:
    """The elements sorted as the options ask; ``None`` if one sorts by a
    value that is no number."""
    by = options.by
    if options.alpha:
        if by is None:
            return sorted(elements, reverse=options.descending)
        keyed = [(lookup_by_pattern(keyspace, by, element), element) for element in elements]
        keyed.sort(
            key=lambda pair: (pair[0] is not None, pair[0] or b""), reverse=options.descending
        )
        return [element for _, element in keyed]
    scored: list[tuple[float, bytes]] = []
    for element in elements:
        weight = element if by is None else lookup_by_pattern(keyspace, by, element)
        number = 0.0 if weight is None else _number(weight)
        if number is None:
            return None
        scored.append((number, element))
    scored.sort(reverse=options.descending)
    return [element for _, element in scored]


def _store(keyspace: Keyspace, options: _Options, chosen: list[bytes]) -> int:
    """Replace the STORE destination with the result as a list (the GETs'
    values, an empty string for none), or remove it if empty."""
    assert options.store is not None
    if options.gets:
        values = [
            lookup_by_pattern(keyspace, get, element) or b""
            for element in chosen
            for get in options.gets
        ]
    else:
        values = chosen
    if not values:
        keyspace.delete_announced(options.store)
        return 0
    keyspace.put(options.store, List(values, keyspace.generation))
    keyspace.notify(LIST, b"sortstore", options.store)
    return len(values)
