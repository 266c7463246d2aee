"""Lua 5.1's string patterns, in Python, metered: ``string.find``,
``string.match``, ``string.gmatch`` and ``string.gsub`` for the calls the
C library could make run for too long.

Lua's own matcher (lstrlib.c) backtracks: ``string.find(s, ".-.-.-x")`` on
a thousand bytes without an ``x`` takes minutes inside one C call, where the
count hook never fires and so the budget (lua_engine.py) never stops it - a
script that would hold every replica for good, again after each restart,
since the entry stays in the log. So the sandbox (lua_prelude.py) estimates
each call's worst case from the subject's length and the pattern's
repetitions; past ``C_STEPS`` it calls this port of lstrlib.c instead, which
counts its steps against the budget. Same results, same errors; slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ranet.kv.lua_libraries import LibraryError, guarded, lua_type_name, number_text

Spend = Callable[[int], None]

C_STEPS = 20_000_000  # worst-case steps left to the C matcher (40-130 ms measured)
STEPS_PER_SPEND = 4_096  # steps counted between two calls of ``spend``
BYTES_PER_STEP = 64  # bytes compared or searched in C for the cost of one step
MAX_CAPTURES = 32  # LUA_MAXCAPTURES
MAX_DEPTH = 200  # nested matches (pattern items), as a C stack would allow
_UNFINISHED, _POSITION = -1, -2
_SPECIALS = frozenset(b"^$*+?.([%-")
_L_ESC = ord("%")
_SPACES = frozenset(b" \t\n\v\f\r")
_PUNCTUATION = frozenset(
    c for c in range(33, 127) if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122)
)
_CLASSES: dict[int, Callable[[int], bool]] = {
    ord("a"): lambda c: 65 <= c <= 90 or 97 <= c <= 122,
    ord("c"): lambda c: c < 32 or c == 127,
    ord("d"): lambda c: 48 <= c <= 57,
    ord("l"): lambda c: 97 <= c <= 122,
    ord("p"): lambda c: c in _PUNCTUATION,
    ord("s"): lambda c: c in _SPACES,
    ord("u"): lambda c: 65 <= c <= 90,
    ord("w"): lambda c: 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122,
    ord("x"): lambda c: 48 <= c <= 57 or 65 <= c <= 70 or 97 <= c <= 102,
    ord("z"): lambda c: c == 0,
}


def _match_class(c: int, cl: int) -> bool:
    test = _CLASSES.get(cl | 0x20 if 65 <= cl <= 90 else cl)
    if test is None:
        return cl == c
    return test(c) if 97 <= cl <= 122 else not test(c)


class _Matcher:
    """lstrlib.c's MatchState and match(), over one subject and pattern."""

    def __init__(self, src: bytes, pattern: bytes, spend: Spend) -> None:
        self.src, self.p = src, pattern
        self.end = len(src)
        self.level = 0
        self.captures: list[list[int]] = []  # [start, length or _UNFINISHED / _POSITION]
        self.steps = 0
        self.depth = 0
        self.spend = spend

    def count(self, steps: int) -> None:
        self.steps += steps
        if self.steps >= STEPS_PER_SPEND:
            self.spend(self.steps)
            self.steps = 0

    def at(self, i: int) -> int:
        """The pattern's byte at ``i``; 0 past its end, as C's terminator."""
        return self.p[i] if i < len(self.p) else 0

    def class_end(self, p: int) -> int:
        c = self.at(p)
        p += 1
        if c == _L_ESC:
            if self.at(p) == 0:
                raise LibraryError("malformed pattern (ends with '%')")
            return p + 1
        if c == ord("["):
            if self.at(p) == ord("^"):
                p += 1
            while True:  # look for a ']'
                if self.at(p) == 0:
                    raise LibraryError("malformed pattern (missing ']')")
                c = self.at(p)
                p += 1
                if c == _L_ESC and self.at(p) != 0:
                    p += 1
                if self.at(p) == ord("]"):
                    return p + 1
        return p

    def bracket_class(self, c: int, p: int, ec: int) -> bool:
        sig = True
        if self.at(p + 1) == ord("^"):
            sig = False
            p += 1
        p += 1
        while p < ec:
            if self.at(p) == _L_ESC:
                p += 1
                if _match_class(c, self.at(p)):
                    return sig
            elif self.at(p + 1) == ord("-") and p + 2 < ec:
                p += 2
                if self.at(p - 2) <= c <= self.at(p):
                    return sig
            elif self.at(p) == c:
                return sig
            p += 1
        return not sig

    def single(self, s: int, p: int, ep: int) -> bool:
        if s >= self.end:
            return False
        self.count(1)
        c, pc = self.src[s], self.at(p)
        if pc == ord("."):
            return True
        if pc == _L_ESC:
            return _match_class(c, self.at(p + 1))
        if pc == ord("["):
            return self.bracket_class(c, p, ep - 1)
        return pc == c

    def match(self, s: int, p: int) -> int | None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LibraryError("pattern too complex")
        try:
            return self._match(s, p)
        finally:
            self.depth -= 1

    def _match(self, s: int, p: int) -> int | None:
        while True:
            pc = self.at(p)
            if pc == ord("("):
                if self.at(p + 1) == ord(")"):
                    return self.start_capture(s, p + 2, _POSITION)
                return self.start_capture(s, p + 1, _UNFINISHED)
            if pc == ord(")"):
                return self.end_capture(s, p + 1)
            if pc == 0:
                return s
            if pc == ord("$") and self.at(p + 1) == 0:
                return s if s == self.end else None
            if pc == _L_ESC and self.at(p + 1) == ord("b"):
                found = self.balance(s, p + 2)
                if found is None:
                    return None
                s, p = found, p + 4
                continue
            if pc == _L_ESC and self.at(p + 1) == ord("f"):
                p += 2
                if self.at(p) != ord("["):
                    raise LibraryError("missing '[' after '%f' in pattern")
                ep = self.class_end(p)
                previous = 0 if s == 0 else self.src[s - 1]
                current = self.src[s] if s < self.end else 0
                if self.bracket_class(previous, p, ep - 1) or not self.bracket_class(
                    current, p, ep - 1
                ):
                    return None
                p = ep
                continue
            if pc == _L_ESC and 48 <= self.at(p + 1) <= 57:
                found = self.match_capture(s, self.at(p + 1))
                if found is None:
                    return None
                s, p = found, p + 2
                continue
            ep = self.class_end(p)
            m = self.single(s, p, ep)
            after = self.at(ep)
            if after == ord("?"):
                if m:
                    result = self.match(s + 1, ep + 1)
                    if result is not None:
                        return result
                p = ep + 1
                continue
            if after == ord("*"):
                return self.max_expand(s, p, ep)
            if after == ord("+"):
                return self.max_expand(s + 1, p, ep) if m else None
            if after == ord("-"):
                return self.min_expand(s, p, ep)
            if not m:
                return None
            s, p = s + 1, ep

    def max_expand(self, s: int, p: int, ep: int) -> int | None:
        i = 0
        while self.single(s + i, p, ep):
            i += 1
        while i >= 0:
            result = self.match(s + i, ep + 1)
            if result is not None:
                return result
            i -= 1
        return None

    def min_expand(self, s: int, p: int, ep: int) -> int | None:
        while True:
            result = self.match(s, ep + 1)
            if result is not None:
                return result
            if self.single(s, p, ep):
                s += 1
            else:
                return None

    def start_capture(self, s: int, p: int, what: int) -> int | None:
        if self.level >= MAX_CAPTURES:
            raise LibraryError("too many captures")
        del self.captures[self.level :]
        self.captures.append([s, what])
        self.level += 1
        result = self.match(s, p)
        if result is None:
            self.level -= 1
        return result

    def end_capture(self, s: int, p: int) -> int | None:
        level = self.capture_to_close()
        capture = self.captures[level]
        capture[1] = s - capture[0]
        result = self.match(s, p)
        if result is None:
            capture[1] = _UNFINISHED
        return result

    def capture_to_close(self) -> int:
        for level in range(self.level - 1, -1, -1):
            if self.captures[level][1] == _UNFINISHED:
                return level
        raise LibraryError("invalid pattern capture")

    def match_capture(self, s: int, digit: int) -> int | None:
        level = digit - ord("1")
        if level < 0 or level >= self.level or self.captures[level][1] == _UNFINISHED:
            raise LibraryError("invalid capture index")
        start, length = self.captures[level]
        if length == _POSITION:  # C reads its length as a huge size_t: never matches
            return None
        self.count(1 + length // BYTES_PER_STEP)  # a comparison of bytes, in C
        if self.end - s >= length and self.src[start : start + length] == self.src[s : s + length]:
            return s + length
        return None

    def balance(self, s: int, p: int) -> int | None:
        if self.at(p) == 0 or self.at(p + 1) == 0:
            raise LibraryError("unbalanced pattern")
        if s >= self.end or self.src[s] != self.at(p):
            return None
        opening, closing, depth = self.at(p), self.at(p + 1), 1
        for i in range(s + 1, self.end):
            c = self.src[i]
            if c == closing:
                depth -= 1
                if depth == 0:
                    self.count(i - s)
                    return i + 1
            elif c == opening:
                depth += 1
        self.count(self.end - s)
        return None

    def capture(self, i: int, s: int, e: int) -> bytes | int:
        if i >= self.level:
            if i == 0:
                return self.src[s:e]
            raise LibraryError("invalid capture index")
        start, length = self.captures[i]
        if length == _UNFINISHED:
            raise LibraryError("unfinished capture")
        if length == _POSITION:
            return start + 1
        return self.src[start : start + length]

    def captures_of(self, s: int | None, e: int) -> tuple[bytes | int, ...]:
        levels = 1 if self.level == 0 and s is not None else self.level
        return tuple(self.capture(i, s or 0, e) for i in range(levels))

    def start(self) -> None:
        """Before a new attempt: no captures."""
        self.level = 0

    def done(self) -> None:
        """Count the steps left uncounted."""
        if self.steps:
            self.spend(self.steps)
            self.steps = 0


def _string(value: Any, position: int, name: str) -> bytes:
    if value.__class__ is bytes:
        return value  # type: ignore[no-any-return]
    if value.__class__ in (int, float) and value is not True and value is not False:
        return number_text(value).encode()
    raise LibraryError(f"bad argument #{position} to '{name}' (string expected, got no value)")


def _pattern(value: Any, name: str) -> bytes:
    return _string(value, 2, name).split(b"\0", 1)[0]  # C reads a pattern up to its NUL


def _start(init: Any, length: int) -> int:
    """posrelat(init) - 1, clamped to the subject, as str_find_aux."""
    position = 1 if init is None else int(init)
    if position < 0:
        position = length + position + 1
    return min(max(position - 1, 0), length)


def find(spend: Spend, subject: Any, pattern: Any, init: Any = None, plain: Any = None) -> Any:
    return _find(spend, subject, pattern, init, plain, find=True)


def match(spend: Spend, subject: Any, pattern: Any, init: Any = None) -> Any:
    return _find(spend, subject, pattern, init, None, find=False)


def _find(spend: Spend, subject: Any, pattern: Any, init: Any, plain: Any, *, find: bool) -> Any:
    name = "find" if find else "match"
    src, p = _string(subject, 1, name), _pattern(pattern, name)
    position = _start(init, len(src))
    if find and (plain or not _SPECIALS.intersection(p)):
        spend(1 + (len(src) - position) // BYTES_PER_STEP)  # bytes.find: C, no backtracking
        found = src.find(_string(pattern, 2, name), position)
        return None if found < 0 else (found + 1, found + len(_string(pattern, 2, name)))
    anchor = p[:1] == b"^"
    matcher = _Matcher(src, p[1:] if anchor else p, spend)
    s = position
    try:
        while True:
            matcher.start()
            end = matcher.match(s, 0)
            if end is not None:
                if find:
                    return (s + 1, end, *matcher.captures_of(None, 0))
                return matcher.captures_of(s, end)
            s += 1
            if s > matcher.end or anchor:
                return None
    finally:
        matcher.done()


def gmatch(spend: Spend, subject: Any, pattern: Any) -> Callable[[], Any]:
    src, p = _string(subject, 1, "gmatch"), _pattern(pattern, "gmatch")
    matcher = _Matcher(src, p, spend)
    position = [0]

    def step(*_: Any) -> Any:  # a generic for passes its state and control value
        try:
            for s in range(position[0], matcher.end + 1):
                matcher.start()
                end = matcher.match(s, 0)
                if end is not None:
                    position[0] = end + 1 if end == s else end
                    return matcher.captures_of(s, end)
            position[0] = matcher.end + 1
            return None
        finally:
            matcher.done()

    return guarded(step)


def gsub(
    spend: Spend,
    subject: Any,
    pattern: Any,
    replacement: Any,
    limit: Any = None,
) -> tuple[bytes, int]:
    src, p = _string(subject, 1, "gsub"), _pattern(pattern, "gsub")
    kind = lua_type_name(replacement)
    if kind not in ("number", "string", "function", "table"):
        raise LibraryError("bad argument #3 to 'gsub' (string/function/table expected)")
    most = len(src) + 1 if limit is None else int(limit)
    anchor = p[:1] == b"^"
    matcher = _Matcher(src, p[1:] if anchor else p, spend)
    out: list[bytes] = []
    s = count = 0
    try:
        while count < most:
            matcher.start()
            end = matcher.match(s, 0)
            if end is not None:
                count += 1
                out.append(_replacement(matcher, replacement, kind, s, end))
            if end is not None and end > s:
                s = end
            elif s < matcher.end:
                out.append(src[s : s + 1])
                s += 1
            else:
                break
            if anchor:
                break
    finally:
        matcher.done()
    spend(len(out))  # the pieces joined
    return b"".join(out) + src[s:], count


def _replacement(matcher: _Matcher, replacement: Any, kind: str, s: int, e: int) -> bytes:
    """lstrlib.c's add_value: the text that replaces src[s:e]."""
    if kind in ("number", "string"):
        return _expand(matcher, _string(replacement, 3, "gsub"), s, e)
    if kind == "function":
        value = replacement(*matcher.captures_of(s, e))
        if isinstance(value, tuple):  # several results: the first counts
            value = value[0] if value else None
    else:
        value = replacement[matcher.capture(0, s, e)]
    if value is None or value is False:
        return matcher.src[s:e]
    if value.__class__ is bytes:
        return value  # type: ignore[no-any-return]
    if value.__class__ in (int, float) and value is not True:
        return number_text(value).encode()
    raise LibraryError(f"invalid replacement value (a {lua_type_name(value)})")


def _expand(matcher: _Matcher, text: bytes, s: int, e: int) -> bytes:
    """lstrlib.c's add_s: ``%0``-``%9`` and ``%%`` in a replacement string."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != _L_ESC:
            out.append(c)
        else:
            i += 1
            c = text[i] if i < len(text) else 0
            if not 48 <= c <= 57:
                out.append(c)
            elif c == 48:
                out += matcher.src[s:e]
            else:
                value = matcher.capture(c - 49, s, e)
                out += value if isinstance(value, bytes) else number_text(value).encode()
        i += 1
    return bytes(out)
