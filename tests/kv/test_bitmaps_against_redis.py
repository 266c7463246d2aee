"""The bit commands and SETRANGE against redis-server and against ranet's
server: the same replies, errors included, word for word, in RESP2 and in
RESP3 - as test_against_redis.py does for the other commands, with a script
of its own. Every reply here follows from the commands alone (no clock, no
randomness), so every line is compared as it comes."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    both_answer,
    pytestmark,
    redis_server,
)

# One command a line, run in order on one key space.
SCRIPT = r"""
SETBIT b 7 1
SETBIT b 7 1
SETBIT b 7 0
GET b
SETBIT b 0 1
SETBIT b 20 1
GET b
STRLEN b
SETBIT b -1 1
SETBIT b x 1
SETBIT b 1.5 1
SETBIT b 4294967296 1
SETBIT b 0 2
SETBIT b 0 -1
SETBIT b 0 x
SETBIT b x x
SETBIT zero 3 0
GET zero
EXISTS zero
GETBIT b 0
GETBIT b 1
GETBIT b 20
GETBIT b 21
GETBIT b 1000000
GETBIT nokey 5
GETBIT b -1
GETBIT b x
GETBIT b 4294967296
RPUSH lst a
SETBIT lst 0 1
GETBIT lst 0
SETBIT lst x 1
GETBIT lst x
SET s foobar
BITCOUNT s
BITCOUNT s 0 0
BITCOUNT s 1 1
BITCOUNT s 1 -1
BITCOUNT s -2 -1
BITCOUNT s -1 -2
BITCOUNT s 5 30
BITCOUNT s 3 1
BITCOUNT s 0 -100
BITCOUNT s -100 -50
BITCOUNT s 5 30 BIT
BITCOUNT s 5 30 bit
BITCOUNT s 0 47 BIT
BITCOUNT s 1 6 BIT
BITCOUNT s 7 7 BIT
BITCOUNT s -1 -1 BIT
BITCOUNT s -9 -3 BIT
BITCOUNT s 40 100 BIT
BITCOUNT s 0 -1 BYTE
BITCOUNT s 0 -1 byte
BITCOUNT s 0 -1 WORD
BITCOUNT s 0
BITCOUNT s 0 1 BIT x
BITCOUNT s x 1
BITCOUNT s 0 x
BITCOUNT s x x BIT
BITCOUNT s 0 x WORD
BITCOUNT nokey
BITCOUNT nokey 0
BITCOUNT nokey x y
BITCOUNT lst
BITCOUNT lst x
BITCOUNT s 9223372036854775807 9223372036854775807
BITCOUNT s -9223372036854775808 9223372036854775807 BIT
BITCOUNT s 1000000000000000000 -1 BIT
SET empty ""
BITCOUNT empty
BITCOUNT empty 0 -1
BITCOUNT empty 0 -1 BIT
SET ones \xff\xf0\x00
BITPOS ones 0
BITPOS ones 1 1
BITCOUNT ones 0 9 BIT
SETBIT p 0 1
BITPOS p 1
BITPOS p 0
SET p2 abc
BITPOS p2 1
BITPOS p2 0
BITPOS p2 1 1
BITPOS p2 0 1
BITPOS p2 1 2 2
BITPOS p2 1 -1
BITPOS p2 0 5
BITPOS p2 1 5
BITPOS p2 0 -100
BITPOS p2 1 0 -1 BIT
BITPOS p2 1 2 7 BIT
BITPOS p2 1 7 7 BIT
BITPOS p2 0 0 0 BIT
BITPOS p2 0 1 2 BIT
BITPOS p2 1 9 23 bit
BITPOS p2 0 9 23 BIT
BITPOS p2 0 -3 -1 BIT
BITPOS p2 1 -3 -1 BIT
BITPOS p2 1 23 100 BIT
BITPOS p2 0 100 200 BIT
BITPOS p2 1 2 1
BITPOS p2 1 0 0 BYTE
BITPOS p2 1 0 0 WORD
BITPOS p2 1 x 0 WORD
BITPOS p2 1 0 x WORD
BITPOS p2 1 0 x
BITPOS p2 1 x
BITPOS p2 2
BITPOS p2 -1
BITPOS p2 x
BITPOS p2 1 0 1 BIT x
BITPOS nokey 1
BITPOS nokey 0
BITPOS nokey 0 x
BITPOS nokey 2
BITPOS lst 1
BITPOS lst 3
SETBIT allones 0 1
SETBIT allones 1 1
SETBIT allones 2 1
SETBIT allones 3 1
SETBIT allones 4 1
SETBIT allones 5 1
SETBIT allones 6 1
SETBIT allones 7 1
BITPOS allones 0
BITPOS allones 0 0
BITPOS allones 0 0 -1
BITPOS allones 0 0 0
BITPOS allones 0 0 7 BIT
BITPOS allones 0 3 7 BIT
BITPOS allones 1 3 7 BIT
BITPOS allones 1
BITPOS empty 0
BITPOS empty 1
BITPOS zero 1
BITPOS zero 0
BITPOS zero 0 0 -1
BITPOS zero 1 0 -1 BIT
SET a1 "\x0f\xf0"
SET a2 "\xff"
BITOP AND dst a1 a2
GET dst
BITOP OR dst a1 a2
GET dst
BITOP XOR dst a1 a2
GET dst
BITOP NOT dst a1
GET dst
BITOP and dst a1 a2 nokey
GET dst
BITOP or dst a1 nokey
GET dst
BITOP NOT dst a1 a2
BITOP NOT dst
BITOP FOO dst a1
BITOP AND dst lst
BITOP AND dst a1 lst
BITOP AND dst nokey
EXISTS dst
SET dst2 x
EXPIRE dst2 1000
BITOP OR dst2 a1
TTL dst2
BITOP OR dst2 nokey
EXISTS dst2
RPUSH dlist x
BITOP OR dlist a1
TYPE dlist
BITOP AND a1 a1 a2
GET a1
BITOP XOR same a2 a2
GET same
BITOP OR e empty
EXISTS e
BITFIELD bf SET u8 0 200
BITFIELD bf GET u8 0
BITFIELD bf GET i8 0
BITFIELD bf INCRBY u8 0 100
BITFIELD bf OVERFLOW SAT INCRBY u8 0 100
BITFIELD bf OVERFLOW FAIL INCRBY u8 0 1
BITFIELD bf OVERFLOW FAIL INCRBY u8 0 -1
BITFIELD bf OVERFLOW WRAP INCRBY u8 0 -300
BITFIELD bf OVERFLOW SAT INCRBY u8 0 -300
BITFIELD bf SET i8 0 -128
BITFIELD bf INCRBY i8 0 -1
BITFIELD bf OVERFLOW SAT INCRBY i8 0 -1000
BITFIELD bf OVERFLOW SAT INCRBY i8 0 1000
BITFIELD bf OVERFLOW FAIL INCRBY i8 0 1
BITFIELD bf OVERFLOW FAIL SET i8 0 200
BITFIELD bf OVERFLOW SAT SET i8 0 200
BITFIELD bf OVERFLOW SAT SET i8 0 -200
BITFIELD bf OVERFLOW WRAP SET i8 0 200
BITFIELD bf OVERFLOW SAT SET u8 0 -1
BITFIELD bf OVERFLOW WRAP SET u8 0 -1
BITFIELD bf OVERFLOW FAIL SET u8 0 -1
BITFIELD bf OVERFLOW WRAP SET u8 0 -2 GET u8 0
BITFIELD bf SET u4 3 15 GET u4 3 GET u8 0 GET u16 0 GET i4 3
BITFIELD bf SET i5 13 -3 GET i5 13 GET u5 13
BITFIELD bf GET u63 0 GET i64 0 GET i64 5 GET u63 100
BITFIELD bf SET i64 0 -9223372036854775808 GET i64 0 GET u63 0 GET u63 1
BITFIELD bf INCRBY i64 0 -1
BITFIELD bf OVERFLOW SAT INCRBY i64 0 -1
BITFIELD bf OVERFLOW FAIL INCRBY i64 0 -1
BITFIELD bf SET i64 0 9223372036854775807 INCRBY i64 0 1
BITFIELD bf OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1
BITFIELD bf OVERFLOW SAT SET i64 0 -9223372036854775808 INCRBY i64 0 -9223372036854775808
BITFIELD bf SET u63 0 9223372036854775807 INCRBY u63 0 1
BITFIELD bf OVERFLOW SAT INCRBY u63 0 9223372036854775807
BITFIELD bf OVERFLOW FAIL INCRBY u63 0 1
BITFIELD bf SET u1 0 1 SET u1 1 3 GET u2 0
BITFIELD bf SET u8 #1 65 SET u8 #2 66 GET u8 #1 GET u16 #1
GET bf
BITFIELD bf SET i16 #3 -2 GET i16 #3 GET u16 #3
BITFIELD bf GET u8 #0 GET i32 #1
BITFIELD bf GET u8 #-1
BITFIELD bf GET u8 #x
BITFIELD bf GET u8 #
BITFIELD bf GET u8 -1
BITFIELD bf GET u8 x
BITFIELD bf GET u8 4294967288
BITFIELD bf GET u8 4294967296
BITFIELD bf GET u8 #536870911
BITFIELD bf GET u8 #536870912
BITFIELD bf GET u64 0
BITFIELD bf GET i65 0
BITFIELD bf GET u0 0
BITFIELD bf GET i0 0
BITFIELD bf GET x8 0
BITFIELD bf GET U8 0
BITFIELD bf GET I8 0
BITFIELD bf GET u 0
BITFIELD bf GET i-1 0
BITFIELD bf GET u08 0
BITFIELD bf get u8 0 Set u8 0 1 incrBY u8 0 1 overflow sat INCRBY u8 0 1000
BITFIELD bf OVERFLOW foo GET u8 0
BITFIELD bf OVERFLOW
BITFIELD bf OVERFLOW sat
BITFIELD bf GET u8
BITFIELD bf SET u8 0
BITFIELD bf INCRBY u8 0
BITFIELD bf FOO u8 0
BITFIELD bf SET u8 0 x
BITFIELD bf SET u8 0 1.5
BITFIELD bf SET u8 0 9223372036854775808
BITFIELD bf SET u8 x 1
BITFIELD bf SET x8 0 1
BITFIELD bf GET u8 0 SET u8 0 1 GET x8 0
BITFIELD bf
BITFIELD nokey
BITFIELD nokey GET u8 0 GET i16 100
EXISTS nokey
BITFIELD nokey OVERFLOW FAIL INCRBY u2 100 10
EXISTS nokey
GET nokey
BITFIELD lst GET u8 0
BITFIELD lst SET u8 0 1
BITFIELD lst
BITFIELD lst GET x8 0
SET ttl abc
EXPIRE ttl 1000
BITFIELD ttl SET u8 0 65
TTL ttl
GET ttl
SETBIT ttl 0 1
TTL ttl
BITFIELD_RO bf GET u8 0 GET i4 2
BITFIELD_RO bf GET u8 #1
BITFIELD_RO bf SET u8 0 1
BITFIELD_RO bf INCRBY u8 0 1
BITFIELD_RO bf OVERFLOW SAT GET u8 0
BITFIELD_RO bf OVERFLOW SAT
BITFIELD_RO bf
BITFIELD_RO nokey2 GET u8 0
BITFIELD_RO lst GET u8 0
BITFIELD_RO lst SET u8 0 1
BITFIELD_RO bf GET u64 0
BITFIELD_RO bf FOO
SETRANGE r 0 hello
SETRANGE r 6 world
GET r
SETRANGE r 1 EY
GET r
SETRANGE r 0 ""
SETRANGE nor 5 ""
EXISTS nor
SETRANGE nor2 3 x
GET nor2
SETRANGE r -1 x
SETRANGE r x x
SETRANGE r 536870912 x
SETRANGE r 536870911 xy
SETRANGE nor3 536870912 x
SETRANGE nor3 536870912 ""
SETRANGE lst 0 x
SETRANGE lst 0 ""
SETRANGE lst -1 x
SET ttl2 abc
EXPIRE ttl2 1000
SETRANGE ttl2 1 Z
TTL ttl2
GET ttl2
SET num 12345
SETRANGE num 1 9
INCR num
SETBIT num 7 0
GET num
MULTI
SETBIT m 3 1
GETBIT m 3
BITCOUNT m
BITFIELD m INCRBY u4 0 3 GET u8 0
BITOP NOT m2 m
GET m2
SETRANGE m 2 zz
BITPOS m 1
SETBIT m x 1
EXEC
APPEND r abc
"""


def replies(connection: redis.connection.AbstractConnection) -> list[str]:
    """Every reply of ``SCRIPT`` on ``connection``, errors as their text;
    ``\\xNN`` in a line is that byte."""
    out = []
    for line in SCRIPT.strip().splitlines():
        words = [
            word.encode("latin-1").decode("unicode_escape").encode("latin-1")
            for word in line.split()
        ]
        words = [b"" if word == b'""' else word for word in words]
        connection.send_command(*words)
        try:
            reply: object = connection.read_response()
        except redis.ResponseError as error:
            reply = f"error: {error}"
        if isinstance(reply, list):  # EXEC's replies: an error among them is an exception
            reply = [
                f"error: {part}" if isinstance(part, redis.ResponseError) else part
                for part in reply
            ]
        out.append(f"{line} -> {reply!r}")
    return out


@pytest.mark.parametrize("protocol", [2, 3])
def test_ranet_answers_bit_commands_as_redis_does(
    redis_server: Path,  # noqa: F811
    protocol: int,
) -> None:
    expected, got = both_answer(redis_server, protocol, replies)
    assert got == expected
