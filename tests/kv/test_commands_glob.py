"""The KEYS glob matcher, checked by hand and against a line-by-line port of Redis's."""

from __future__ import annotations

import random

import pytest

from ranet.kv.glob import match, matcher


@pytest.mark.parametrize(
    "pattern, string",
    [
        (b"*", b"anything"),
        (b"h?llo", b"hello"),
        (b"h*llo", b"hllo"),
        (b"h*llo", b"heeeello"),
        (b"h[ae]llo", b"hallo"),
        (b"h[^e]llo", b"hallo"),
        (b"h[a-b]llo", b"hbllo"),
        (b"h[b-a]llo", b"hallo"),  # a reversed range is the same range
        (b"[\\]]", b"]"),  # an escaped "]" inside a class
        (b"[a\\-z]", b"-"),  # an escaped "-" is not a range
        (b"\\*", b"*"),
        (b"\\?x", b"?x"),
        (b"a\\", b"a\\"),  # a trailing lone backslash matches itself
        (b"[abc", b"c"),  # an unterminated class ends with the pattern
        (b"[^", b"z"),  # an empty negated class matches any byte
        (b"*a*b*c*", b"xxaxxbxxcxx"),
        (b"[a-]", b"]"),  # Redis reads "a-]" as the range "]".."a"
        (b"", b""),
    ],
)
def test_matches(pattern: bytes, string: bytes) -> None:
    assert match(pattern, string)


@pytest.mark.parametrize(
    "pattern, string",
    [
        (b"h?llo", b"hllo"),
        (b"h[ae]llo", b"hillo"),
        (b"h[^e]llo", b"hello"),
        (b"h[a-b]llo", b"hcllo"),
        (b"\\*", b"x"),
        (b"[!a]", b"b"),  # "!" is not negation in Redis (it is in fnmatch)
        (b"[", b"x"),  # an empty class matches nothing
        (b"*", b""),  # the empty string matches only the empty pattern
        (b"a*", b""),
        (b"abc", b"ab"),
        (b"ab", b"abc"),
        (b"*a*b*c*d", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbccc"),
    ],
)
def test_does_not_match(pattern: bytes, string: bytes) -> None:
    assert not match(pattern, string)


def redis_stringmatch(pattern: bytes, string: bytes) -> bool:
    """A direct port of Redis 7's ``stringmatchlen`` (util.c), case-sensitive.

    Slow and recursive; the oracle our matcher must agree with. Reading past
    the end of the pattern stands for C reading its terminating NUL.
    """

    def at(i: int) -> int:
        return pattern[i] if i < len(pattern) else 0

    def run(p: int, s: int, skip_longer: list[bool]) -> bool:
        plen, slen = len(pattern) - p, len(string) - s
        while plen and slen:
            c = pattern[p]
            if c == ord("*"):
                while plen and at(p + 1) == ord("*"):
                    p += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if run(p + 1, s, skip_longer):
                        return True
                    if skip_longer[0]:
                        return False
                    s += 1
                    slen -= 1
                skip_longer[0] = True
                return False
            if c == ord("?"):
                s += 1
                slen -= 1
            elif c == ord("["):
                p += 1
                plen -= 1
                negate = at(p) == ord("^")
                if negate:
                    p += 1
                    plen -= 1
                matched = False
                while True:
                    if at(p) == ord("\\") and plen >= 2:
                        p += 1
                        plen -= 1
                        matched |= at(p) == string[s]
                    elif at(p) == ord("]"):
                        break
                    elif plen == 0:
                        p -= 1
                        plen += 1
                        break
                    elif plen >= 3 and at(p + 1) == ord("-"):
                        start, end = sorted((at(p), at(p + 2)))
                        p += 2
                        plen -= 2
                        matched |= start <= string[s] <= end
                    else:
                        matched |= at(p) == string[s]
                    p += 1
                    plen -= 1
                if negate:
                    matched = not matched
                if not matched:
                    return False
                s += 1
                slen -= 1
            else:
                if c == ord("\\") and plen >= 2:
                    p += 1
                    plen -= 1
                if at(p) != string[s]:
                    return False
                s += 1
                slen -= 1
            p += 1
            plen -= 1
            if slen == 0:
                while at(p) == ord("*"):
                    p += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return run(0, 0, [False])


def test_agrees_with_redis_on_random_patterns() -> None:
    rng = random.Random(20240607)
    pattern_alphabet = b"ab*?[]^-\\"
    for _ in range(20_000):
        pattern = bytes(rng.choices(pattern_alphabet, k=rng.randint(0, 8)))
        string = bytes(rng.choices(b"ab]-^\\*", k=rng.randint(0, 6)))
        assert match(pattern, string) == redis_stringmatch(pattern, string), (pattern, string)


def test_a_compiled_matcher_answers_as_match_does() -> None:
    """``matcher`` (ACL key patterns: literal, prefix and general forms)
    against ``match`` on random patterns and strings, the empty ones too."""
    rng = random.Random(5)
    for _ in range(50_000):
        pattern = bytes(rng.choice(b"ab*?[]^-\\:") for _ in range(rng.randrange(6)))
        string = bytes(rng.choice(b"ab:*?[]") for _ in range(rng.randrange(6)))
        assert matcher(pattern)(string) == match(pattern, string), (pattern, string)
    assert matcher(b"key:*")(b"key:1") and not matcher(b"key:*")(b"ke")
    assert matcher(b"key")(b"key") and not matcher(b"key")(b"key2")
    assert not matcher(b"*")(b"") and matcher(b"")(b"")
