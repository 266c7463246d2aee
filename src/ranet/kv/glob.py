"""Redis glob patterns (``KEYS pattern``), matched the way Redis matches them.

Python's ``fnmatch`` differs from Redis (``[!a]`` vs ``[^a]``, backslash
escapes, no reversed ranges), so this is our own matcher, written after the
semantics of Redis's ``stringmatchlen``:

- ``*`` matches any run of bytes, ``?`` any one byte;
- ``[abc]`` one byte of the set, ``[^abc]`` one byte not in it, ``[a-z]`` a
  range (``[z-a]`` is the same range), ``\\x`` inside a class is ``x``;
- ``\\x`` outside a class matches ``x``; a trailing lone ``\\`` matches itself;
- an unterminated class (``[abc``) ends at the end of the pattern;
- the empty string matches only the empty pattern (``KEYS *`` is handled
  before matching, as Redis does, so it still lists an empty key).

Rule: a pattern is compiled once into tokens, each either a star or the set of
bytes one position may hold. Compiling reads the pattern exactly as Redis's
loop does, and the tokens are then matched with the classic last-star
backtracking, in O(len(pattern) * len(string)) time and constant stack.

Known differences from Redis, both on pathological input only: Redis compares
class ranges as signed ``char`` (a range with a byte >= 0x80 differs), and it
gives up (no match) beyond 1000 nested stars, where we answer exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

Token = frozenset[int] | None  # None is a star; a set is one byte from the set
_ANY_BYTE = frozenset(range(256))
_STAR, _QUESTION, _OPEN, _CLOSE, _CARET, _DASH, _BACKSLASH = b"*?[]^-\\"


def compile_pattern(pattern: bytes) -> list[Token]:
    """The tokens of ``pattern``; consecutive stars collapse into one."""
    tokens: list[Token] = []
    end = len(pattern)
    i = 0
    while i < end:
        byte = pattern[i]
        if byte == _STAR:
            if not tokens or tokens[-1] is not None:
                tokens.append(None)
        elif byte == _QUESTION:
            tokens.append(_ANY_BYTE)
        elif byte == _OPEN:
            i, members = _compile_class(pattern, i + 1)
            tokens.append(members)
        else:
            if byte == _BACKSLASH and i + 1 < end:
                i += 1
            tokens.append(frozenset((pattern[i],)))
        i += 1
    return tokens


def _compile_class(pattern: bytes, i: int) -> tuple[int, frozenset[int]]:
    """The class opened just before ``i``: (index of its last byte, member bytes)."""
    end = len(pattern)
    negate = i < end and pattern[i] == _CARET
    if negate:
        i += 1
    members: set[int] = set()
    while True:
        if i == end:  # unterminated: the class ends with the pattern
            i -= 1
            break
        byte = pattern[i]
        if byte == _BACKSLASH and end - i >= 2:
            i += 1
            members.add(pattern[i])
        elif byte == _CLOSE:
            break
        elif end - i >= 3 and pattern[i + 1] == _DASH:
            low, high = sorted((byte, pattern[i + 2]))
            members.update(range(low, high + 1))
            i += 2
        else:
            members.add(byte)
        i += 1
    return i, (_ANY_BYTE - members if negate else frozenset(members))


def match_tokens(tokens: list[Token], string: bytes) -> bool:
    """Whether ``string`` matches the compiled pattern ``tokens``."""
    if not string:
        return not tokens
    count = len(tokens)
    t = j = 0
    star = -1  # index of the last star seen, to backtrack to
    star_j = 0  # where in the string that star's match currently ends
    while j < len(string):
        if t < count:
            token = tokens[t]
            if token is None:
                star, star_j = t, j
                t += 1
                continue
            if string[j] in token:
                t += 1
                j += 1
                continue
        if star < 0:
            return False
        star_j += 1  # let the last star swallow one more byte, and retry after it
        j = star_j
        t = star + 1
    while t < count and tokens[t] is None:
        t += 1
    return t == count


def match(pattern: bytes, string: bytes) -> bool:
    """Whether ``string`` matches the Redis glob ``pattern``."""
    return match_tokens(compile_pattern(pattern), string)


def matcher(pattern: bytes) -> Callable[[bytes], bool]:
    """``match`` with ``pattern`` compiled once, for patterns matched again
    and again (ACL key patterns): a literal is an equality, ``prefix*`` a
    ``startswith``, anything else the tokens."""
    tokens = compile_pattern(pattern)
    literal = _literal(tokens)
    if literal is not None:
        return literal.__eq__
    prefix = _literal(tokens[:-1]) if tokens and tokens[-1] is None else None
    if prefix:  # not empty: an empty string matches no pattern but the empty one
        return partial(_starts_with, prefix)
    return partial(match_tokens, tokens)


def _literal(tokens: list[Token]) -> bytes | None:
    """The bytes ``tokens`` spell if each is one byte, else None."""
    if any(token is None or len(token) != 1 for token in tokens):
        return None
    return bytes(next(iter(token)) for token in tokens)  # type: ignore[arg-type]


def _starts_with(prefix: bytes, string: bytes) -> bool:
    return string.startswith(prefix)
