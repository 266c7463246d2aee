"""The metered pattern matcher (lua_patterns.py) answers as Lua's C one:
find, match, gmatch and gsub over seeded random patterns and subjects, and
scripts that would run the C matcher for minutes are stopped by the budget."""

from __future__ import annotations

import random
from typing import Any

import pytest
from lupa import lua51

from ranet.kv import lua_patterns
from ranet.kv.lua_libraries import LibraryError
from ranet.kv.reply import ErrorReply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call

TOKENS = [
    "a", "b", ".", "%a", "%d", "%s", "%w", "%A", "[ab]", "[^a]", "[a-c]", "[%d_]", "[]]",
    "*", "+", "-", "?", "(", ")", "()", "%1", "%b()", "%f[%w]", "^", "$", "%", "[", "%z",
]  # fmt: skip
SUBJECT_BYTES = "aabb1 _(x)()ca\0"

C = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True)
C_CALL = C.eval(
    """function(name, ...)
  local results = {pcall(string[name], ...)}
  if not results[1] then return {false, (tostring(results[2]):gsub('^.-:%d+: ', ''))} end
  return results
end"""
)
C_GMATCH = C.eval(
    """function(s, p)
  local ok, iterator = pcall(string.gmatch, s, p)
  local out = {}
  local ok2, message = pcall(function()
    for a, b in iterator do out[#out + 1] = {a, b} if #out > 50 then break end end
  end)
  if not ok2 then return {false, (tostring(message):gsub('^.-:%d+: ', ''))} end
  return {true, out}
end"""
)


def as_python(value: Any) -> Any:
    if lua51.lua_type(value) == "table":
        return [as_python(value[i]) for i in range(1, len(value) + 1)]
    return value


def by_python(function: Any, *args: Any) -> list[Any]:
    try:
        result = function(lambda steps: None, *args)
    except LibraryError as error:
        return [False, str(error).lstrip("\x01").encode()]
    if result is None:
        return [True]  # a nil result: {pcall(...)} holds only true
    return [True, *(result if isinstance(result, tuple) else (result,))]


def random_case(generator: random.Random) -> tuple[bytes, bytes]:
    pattern = "".join(generator.choice(TOKENS) for _ in range(generator.randint(1, 6)))
    subject = "".join(generator.choice(SUBJECT_BYTES) for _ in range(generator.randint(0, 12)))
    return subject.encode(), pattern.encode()


@pytest.mark.parametrize("seed", range(6))
def test_find_and_match_answer_as_lua_s(seed: int) -> None:
    generator = random.Random(seed)
    for _ in range(400):
        subject, pattern = random_case(generator)
        init = generator.choice([None, 1, 2, -3, 20])
        for name, function in (("find", lua_patterns.find), ("match", lua_patterns.match)):
            expected = as_python(C_CALL(name.encode(), subject, pattern, init))
            got = by_python(function, subject, pattern, init)
            assert got == expected, (name, subject, pattern, init)


@pytest.mark.parametrize("seed", range(6))
def test_gsub_answers_as_lua_s(seed: int) -> None:
    generator = random.Random(seed)
    for _ in range(400):
        subject, pattern = random_case(generator)
        replacement = generator.choice([b"<%0>", b"%1", b"x%%", b"%", b"", b"[%2]"])
        limit = generator.choice([None, 1, 2])
        expected = as_python(C_CALL(b"gsub", subject, pattern, replacement, limit))
        got = by_python(lua_patterns.gsub, subject, pattern, replacement, limit)
        assert got == expected, (subject, pattern, replacement, limit)


@pytest.mark.parametrize("seed", range(3))
def test_gmatch_answers_as_lua_s(seed: int) -> None:
    generator = random.Random(seed)
    for _ in range(300):
        subject, pattern = random_case(generator)
        expected = as_python(C_GMATCH(subject, pattern))
        try:
            step = lua_patterns.gmatch(lambda steps: None, subject, pattern)
            out = []
            while (found := step()) is not None and len(out) <= 50:
                out.append(list(found)[:2])  # as {a, b} in Lua: no trailing nil
            got: list[Any] = [True, out]
        except LibraryError as error:
            got = [False, str(error).lstrip("\x01").encode()]
        assert got == expected, (subject, pattern)


@pytest.mark.parametrize(
    "script",
    [
        "return string.find(string.rep('a', 2000), '.-.-.-b')",
        "return ('x'):rep(3000):match('^(.-)(.-)(.-)(.-)y')",
        "return string.gsub(string.rep('a', 3000), '.-.-.-b', '')",
        "for a in string.gmatch(string.rep('a', 3000), '.-.-.-b') do end",
        "local s = string.rep('a', 5000) return s:find(s.rep('a?', 16) .. s.rep('a', 16) .. 'b')",
    ],
)
def test_a_pattern_that_would_take_minutes_is_stopped_by_the_budget(script: str) -> None:
    reply = call(KVStore(), "EVAL", script, 0)
    assert isinstance(reply, ErrorReply) and "budget" in reply.message, reply


def test_patterns_on_long_subjects_still_match() -> None:
    script = (
        "local s = string.rep('ab', 5000) .. 'key:123'"
        " return {s:match('(%w+):(%d+)$'), select(2, s:gsub('ab', 'x')), s:find('key', 1, true)}"
    )
    assert call(KVStore(), "EVAL", script, 0) == [b"ab" * 5000 + b"key", 5000, 10001, 10003]


def test_a_search_of_a_long_subject_is_not_charged_per_byte() -> None:
    """A plain search (bytes.find) and a gsub's output are counted by their
    C work, not byte by byte: a megabyte stays well inside the budget."""
    script = (
        "local s = string.rep('ab', 500000) .. 'key'"
        " return {s:find('key', 1, true), #(s:gsub('b', 'xyz')), #(s:gsub('key', '%0%0'))}"
    )
    assert call(KVStore(), "EVAL", script, 0) == [1_000_001, 2_000_003, 1_000_006]
