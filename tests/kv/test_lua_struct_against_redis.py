"""The ``struct`` library of scripts (kv/lua_struct.py) against
redis-server: every script below - formats, endianness, alignment, sizes,
the C code's quirks, every error - answers alike, error texts included;
and random formats pack random values to the same bytes and unpack them to
the same values."""

from __future__ import annotations

import random
from pathlib import Path

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    assert_answered_alike,
    pytestmark,
    redis_server,
)

SCRIPTS = [
    "return struct.pack('>I2', 258)",
    "return struct.pack('<i', -2)",
    "return {struct.unpack('>I2', 'ab')}",
    "return struct.size('!4 b i')",
    "return struct.pack('!4 b i', 1, 2)",
    "return struct.pack('s', 'ab')",
    "return {struct.unpack('s', 'ab\\0cd')}",
    "return struct.pack('c3', 'abcdef')",
    "return struct.pack('c0', 'abcdef')",
    "return {struct.unpack('b c0', '\\3abcd')}",
    "return struct.pack('d', 1.5)",
    "return {struct.unpack('d', struct.pack('d', 1.5))}",
    "return struct.pack('q', 1)",
    "return struct.pack('i40', 1)",
    "return struct.pack('c3', 'ab')",
    "return {struct.unpack('i', 'ab')}",
    "return struct.size('s')",
    "return struct.size('c0')",
    "return struct.pack('!3 i', 1)",
    "return {struct.unpack('>i', struct.pack('>i', 2147483647))}",
    "return {struct.unpack('I', 'abcd', 2)}",
    "return struct.pack('>l', -1)",
    "return {struct.unpack('>i16', struct.pack('>i16', -5))}",
    "return struct.pack('>i16', -5)",
    "return struct.pack('B', 300)",
    "return struct.pack('b', 'x')",
    "return struct.pack('b', '12')",
    "return struct.pack('b', ' 0x10 ')",
    "return struct.pack('x x B', 7)",
    "return {struct.unpack('s', 'abc')}",
    "return struct.pack('f', 0.1)",
    "return {struct.unpack('<h', '\\255\\255')}",
    "return struct.pack()",
    "return {struct.unpack('i', 'abcd', 10)}",
    "return {struct.unpack('i', 'abcd', 0)}",
    "return struct.pack('i', 2.7)",
    "return struct.pack('i', -2.7)",
    "return struct.pack('i')",
    "return struct.pack('s', 12)",
    "return struct.pack('s', {})",
    "return struct.pack(12)",
    "return struct.size('q')",
    "return struct.size('i3 !2 h')",
    "return struct.pack('!2 b h b i', 1, 2, 3, 4)",
    "return {struct.unpack('!2 b h b i', struct.pack('!2 b h b i', 1, 2, 3, 4))}",
    "return struct.pack('! b d', 1, 2)",
    "return struct.size('! b d')",
    "return {struct.unpack('<I3 >I3', 'abcdef')}",
    "return {struct.unpack('i9', string.rep('\\255', 9))}",
    "return {struct.unpack('i12', string.rep('\\1', 12))}",
    "return {struct.unpack('c0', 'abc')}",
    "return {struct.unpack('c', 'abc')}",
    "return {struct.unpack('c2 c', 'abc')}",
    "return {struct.unpack('x b', 'ab')}",
    "return {struct.unpack('f', struct.pack('f', 1e39))}",
    "return {struct.unpack('T L', struct.pack('T L', 5, 6))}",
    "return struct.pack('h', 70000)",
    "return struct.pack('i99999999999', 1)",
    "return struct.pack('!16 d', 1)",
    "return struct.pack('!0 i', 1)",
    "return {struct.unpack('>d', struct.pack('>d', -0.25))}",
    "return type(struct.pack)",
    "return struct.pack('c', '')",
    "return {struct.unpack('z', 'abc')}",
    "return {struct.unpack('b', 'a', -1)}",
    "return struct.pack('i i', 1)",
    "return struct.pack('i s', 1)",
    "return struct.pack('s', nil)",
    "return struct.pack('c')",
    "return {struct.unpack('b', nil)}",
    "return {struct.unpack('b')}",
    "return struct.size()",
    "return struct.size(nil)",
    "return {struct.unpack('b', 'a', 2)}",
    "return {struct.unpack('b', 'a', 'x')}",
    "return {struct.unpack('b', 'ab', '2')}",
    "return {struct.unpack(string.rep('b', 8000), string.rep('a', 8000))}",
]


def test_struct_answers_as_redis_does(redis_server: Path) -> None:  # noqa: F811
    commands = [[b"EVAL", script.encode(), b"0"] for script in SCRIPTS]
    assert_answered_alike(redis_server, 2, commands)


def test_random_formats_pack_and_unpack_alike(redis_server: Path) -> None:  # noqa: F811
    rng = random.Random(11)
    commands = []
    for _ in range(300):
        items, values = [], []
        for _ in range(rng.randrange(1, 6)):
            option = rng.choice(
                ["b", "B", "h", "H", "l", "L", "i", "I", "i3", "I5", "i8", "d", "c2", "s", "x"]
            )
            items.append(option)
            if option in ("c2", "s"):
                values.append(
                    repr(bytes(rng.randrange(1, 256) for _ in range(2)).decode("latin-1"))
                )
            elif option == "d":
                values.append(repr(rng.uniform(-1e6, 1e6)))
            elif option != "x":
                values.append(str(rng.randrange(-(2**31), 2**31)))
        fmt = rng.choice(["", "<", ">", "!", "!2", ">!4"]) + " ".join(items)
        args = ", ".join(values)
        packed = f"struct.pack('{fmt}'{', ' if args else ''}{args})"
        script = f"local s = {packed} return {{s, struct.unpack('{fmt}', s)}}"
        commands.append([b"EVAL", script.encode("latin-1"), b"0"])
    assert_answered_alike(redis_server, 2, commands)
