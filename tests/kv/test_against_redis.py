"""The same commands against redis-server and against ranet's server: the same
replies, errors included, word for word (the issue: "errors exactly as Redis
words them"). Runs when Debian's redis-server is installed (CI installs it);
the server listens on a Unix socket of the test's own folder, no TCP port."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

from ranet.kv.commands import COMMANDS, Kind, command_info

from .fake_backend import WAIT, served

T = TypeVar("T")
pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)

# Each line is one command; the replies must match in order. Lines depend on
# the ones before them (the key space is shared), so the list runs as a whole.
SCRIPT = """
RANDOMKEY
SET only 1
RANDOMKEY
RANDOMKEY x
DEL only
RANDOMKEY
SET a 1
SETNX a 2
SETNX b 2
GET b
SETEX c 100 v
TTL c
SETEX c 0 v
SETEX c x v
SETEX c -5 v
SETEX c 9223372036854775807 v
PSETEX d 100000 v
PSETEX d 0 v
GETSET c new
TTL c
GETSET nokey x
GETEX d
GETEX d PERSIST
TTL d
GETEX d EX 50
TTL d
GETEX d PXAT 1
GET d
GETEX d FOO
GETEX nokey EX
GETEX nokey EX 5 PX 5
GETEX missing EX 5
GETEX nokey PERSIST EX 5
MSETNX m1 1 m2 2
MSETNX m2 x m3 3
MGET m1 m2 m3
MSETNX m4
MSETNX m4 1 m5
UNLINK m1 m9
TYPE m2
TYPE m9
TOUCH m2 m9 m2
SET r v EX 100
RENAME r r2
TTL r2
GET r
RENAME r x
RENAME r2 r2
RENAMENX r2 r2
RENAMENX r2 m2
RENAMENX r2 r3
GET r3
RENAME r3 m2
GET m2
TTL m2
MULTI
SET t 1
INCR t
GET t
MGET t nothing
EXEC
MULTI
SET t
SET t 2
EXEC
GET t
EXEC
DISCARD
MULTI
MULTI
DISCARD
WATCH t
MULTI
WATCH t
GET t
EXEC
MULTI
EXEC
UNWATCH
WATCH t u
UNWATCH
MULTI
INCR a
INCR b
SET x y ZZ
APPEND a 0
EXEC
WATCH a
SET a changed
MULTI
GET a
EXEC
GET a
SCAN x
SCAN 0 COUNT 0
SCAN 0 COUNT x
SCAN 0 COUNT
SCAN 0 SIZE 3
SCAN 0 MATCH nothing-matches* COUNT 1000
HSET h f1 v1 f2 v2
HSET h f1 v1b f3 v3
HGET h f1
HGET h nofield
HGET nohash f
HMGET h f1 nofield f3
HMGET nohash a b
HSET h f4
HSET h
HSETNX h f1 x
HSETNX h f5 v5
HSETNX newhash f v
HLEN h
HLEN nohash
HEXISTS h f5
HEXISTS h nofield
HSTRLEN h f1
HSTRLEN h nofield
HKEYS h
HVALS h
HGETALL h
HGETALL nohash
HKEYS nohash
HDEL h f2 nofield f2
HDEL h nofield
HDEL nohash f
HINCRBY h n 5
HINCRBY h n -7
HINCRBY h f1 1
HINCRBY h n x
HINCRBY h n 9223372036854775807
HINCRBY h n -9223372036854775808
HINCRBY h n -9223372036854775808
HMSET h2 a 1 b 2
HMSET h2 a
HGETALL h2
TYPE h
TYPE a
GET h
SET hs v
HSET hs f v
HGET hs f
HGETALL hs
HINCRBY hs f 1
HDEL hs f
INCR h
INCRBY h 2
APPEND h x
STRLEN h
GETDEL h
GETSET h x
SET h x GET
GETEX h
MGET h a
SETNX h v
EXISTS h
HSCAN h 0
HSCAN h 0 MATCH f*
HSCAN h 0 COUNT 100 MATCH n
HSCAN h x
HSCAN h 0 COUNT 0
HSCAN h 0 COUNT x
HSCAN h 0 MATCH
HSCAN h 0 SIZE 1
HSCAN nohash 0
HSCAN hs 0
HDEL h f1 f3 f4 f5 n
EXISTS h
HGETALL h
SET h now-a-string
HGET h f
RENAME h2 h3
HGETALL h3
EXPIRE h3 100
TTL h3
SET h3 plain
TYPE h3
~ SADD s1 a b c a
SADD s1 d
~ SMEMBERS s1
SCARD s1
SCARD nosuch
SISMEMBER s1 a
SISMEMBER s1 z
SMISMEMBER s1 a z b
SREM s1 a z
SREM nosuch a
SMEMBERS nosuch
SADD s2 c d e
~ SINTER s1 s2
~ SUNION s1 s2
~ SDIFF s1 s2
~ SDIFF s2 nosuch
SINTER s1 nosuch
SINTERSTORE dst s1 s2
~ SMEMBERS dst
~ SUNIONSTORE dst s1 s2
SDIFFSTORE dst s1 s1
EXISTS dst
SMOVE s1 s2 b
SMOVE s1 s2 z
SMOVE nosuch s2 a
SMOVE s1 s1 c
SMOVE s1 h3 c
TYPE s1
SADD one only
SPOP one
SPOP one
EXISTS one
SPOP nosuch
SPOP nosuch 2
SPOP s2 -1
SPOP s2 x
SPOP s2 1 2
SADD three x y z
~ SPOP three 10
EXISTS three
SADD r only
SRANDMEMBER r
SRANDMEMBER r -3
~ SRANDMEMBER r 5
SRANDMEMBER r 0
SRANDMEMBER nosuch
SRANDMEMBER nosuch 3
SRANDMEMBER r x
SSCAN r 0
SSCAN r 0 MATCH o*
SSCAN r 0 MATCH x*
SSCAN r x
SSCAN r 0 COUNT 0
SADD h3 x
SMEMBERS h3
SISMEMBER h3 x
GET s2
INCR s2
HGET s2 f
MGET s2 h3
SINTER s2 h3
SUNIONSTORE s2 h3
SMOVE h3 s2 x
TYPE s2
RPUSH l a b c
LPUSH l z y
LRANGE l 0 -1
LLEN l
LLEN nolist
TYPE l
LRANGE l 1 2
LRANGE l -2 -1
LRANGE l -100 100
LRANGE l 3 1
LRANGE l 5 10
LRANGE l x 1
LRANGE nolist 0 -1
LINDEX l 0
LINDEX l -1
LINDEX l 5
LINDEX l x
LINDEX nolist x
LSET l 0 first
LSET l -1 last
LSET l 9 x
LSET l x y
LSET nolist 0 x
LRANGE l 0 -1
LPUSHX nolist a
RPUSHX nolist a
EXISTS nolist
RPUSHX l a a b a
LPOS l a
LPOS l a RANK 2
LPOS l a RANK -1
LPOS l a COUNT 0
LPOS l a COUNT 2
LPOS l a RANK -1 COUNT 0
LPOS l a MAXLEN 6
LPOS l a MAXLEN 6 COUNT 0
LPOS l a RANK 0
LPOS l a RANK x
LPOS l a COUNT -1
LPOS l a COUNT x
LPOS l a MAXLEN -1
LPOS l a FOO 1
LPOS l a RANK
LPOS l nothing
LPOS l nothing COUNT 1
LPOS nolist a
LPOS nolist a COUNT 1
LREM l 1 a
LRANGE l 0 -1
LREM l -1 a
LRANGE l 0 -1
LREM l 0 a
LRANGE l 0 -1
LREM l 0 nothing
LREM l x a
LREM nolist 0 a
LINSERT l BEFORE b new
LINSERT l after b newer
LINSERT l BEFORE nothing x
LINSERT l MIDDLE b x
LINSERT nolist BEFORE a x
LRANGE l 0 -1
LTRIM l 1 -2
LRANGE l 0 -1
LTRIM l 0 100
LLEN l
LTRIM l x 1
LTRIM nolist 0 1
LPOP l
RPOP l
LPOP l 2
RPOP l 0
RPOP l -1
RPOP l x
LPOP l 1 2
LPOP nolist
LPOP nolist 2
LRANGE l 0 -1
RPUSH q 1 2 3
RPOP q 10
EXISTS q
RPUSH q 1 2 3
LMOVE q q LEFT RIGHT
LRANGE q 0 -1
LMOVE q dst RIGHT LEFT
LMOVE q dst LEFT LEFT
LMOVE q dst UP LEFT
LMOVE q dst LEFT DOWN
LRANGE dst 0 -1
RPOPLPUSH q dst
EXISTS q
LRANGE dst 0 -1
RPOPLPUSH nolist dst
LMOVE nolist dst LEFT LEFT
RPUSH one x
LMOVE one one RIGHT LEFT
LRANGE one 0 -1
RPUSH m1 a b c
LMPOP 2 nolist m1 LEFT
LMPOP 2 nolist m1 RIGHT COUNT 5
EXISTS m1
LMPOP 2 nolist m1 LEFT
LMPOP 0 a LEFT
LMPOP x a LEFT
LMPOP 3 a b LEFT
LMPOP 1 a MIDDLE
LMPOP 1 a LEFT COUNT 0
LMPOP 1 a LEFT COUNT x
LMPOP 1 a LEFT COUNT 1 COUNT 2
LMPOP 1 a LEFT FOO
RPUSH s2l a
LPUSH h3 x
RPUSH h3 x
LPOP h3
LRANGE h3 0 -1
LLEN h3
LINDEX h3 0
LSET h3 0 x
LREM h3 0 x
LINSERT h3 BEFORE a b
LPOS h3 a
LTRIM h3 0 1
LMOVE h3 dst LEFT LEFT
LMOVE dst h3 LEFT LEFT
LMPOP 2 nolist h3 LEFT
GET dst
HGET dst f
SADD dst x
RENAME dst renamed
LRANGE renamed 0 -1
EXPIRE renamed 100
TTL renamed
SET renamed now-a-string
TYPE renamed
ZADD z 1 a 2 b 3 c
ZADD z 1.5 a 4 d
ZADD z CH 1.5 a 5 d 6 e
ZADD z NX 9 a 7 f
ZADD z XX 9 a 8 nosuch
ZADD z XX CH 9 a
ZADD z GT CH 1 a 10 b
ZADD z LT CH 100 c 0.5 d
ZADD z XX NX 1 a
ZADD z GT LT 1 a
ZADD z NX GT 1 a
ZADD z INCR 1 a 2 b
ZADD z 1
ZADD z x a
ZADD z nan a
ZADD z 1e400 a
ZADD z inf top -inf bottom
ZADD z INCR 2.5 a
ZADD z NX INCR 1 a
ZADD z XX INCR 1 nosuch
ZADD nozset XX 1 a
EXISTS nozset
ZADD z INCR -inf top
ZINCRBY z 1 newbie
ZINCRBY z 0.25 newbie
ZINCRBY z x a
ZINCRBY z nx a
ZCARD z
ZCARD nozset
TYPE z
ZSCORE z a
ZSCORE z top
ZSCORE z bottom
ZSCORE z nothing
ZSCORE nozset a
ZMSCORE z a nothing b
ZMSCORE nozset a
ZRANK z a
ZREVRANK z a
ZRANK z nothing
ZRANGE z 0 -1
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 1 3 REV
ZRANGE z -2 -1 WITHSCORES
ZRANGE z 5 1
ZRANGE z x 1
ZRANGE z 0 1 LIMIT 0 1
ZRANGE z 0 1 LIMIT 1 -1
ZRANGE z 1 10 BYSCORE
ZRANGE z (1.5 10 BYSCORE WITHSCORES
ZRANGE z -inf +inf BYSCORE LIMIT 1 3
ZRANGE z -inf +inf BYSCORE LIMIT -1 3
ZRANGE z -inf +inf BYSCORE LIMIT 2 -1
ZRANGE z 10 (1.5 BYSCORE REV WITHSCORES
ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2
ZRANGE z x 10 BYSCORE
ZRANGE z 1 (x BYSCORE
ZRANGE z 0 1 BYSCORE BYLEX
ZRANGE z 0 1 REV REV
ZRANGE z 0 1 FOO
ZRANGE z 0 1 LIMIT 1
ZRANGE z - + BYLEX WITHSCORES
ZRANGE nozset 0 -1
ZRANGEBYSCORE z 2 6
ZRANGEBYSCORE z (2 (6 WITHSCORES LIMIT 0 2
ZRANGEBYSCORE z 2 6 REV
ZREVRANGEBYSCORE z 6 2 WITHSCORES
ZREVRANGEBYSCORE z 2 6
ZREVRANGE z 0 2 WITHSCORES
ZREVRANGE z 0 2 LIMIT 0 1
ZREVRANGE z 0 2 BYSCORE
ZCOUNT z 2 6
ZCOUNT z (2 +inf
ZCOUNT z -inf inf
ZCOUNT z x 1
ZCOUNT nozset 0 1
ZADD lex 0 a 0 b 0 c 0 d 0 e
ZRANGEBYLEX lex - +
ZRANGEBYLEX lex [b (d
ZRANGEBYLEX lex (b [d LIMIT 1 5
ZREVRANGEBYLEX lex + -
ZREVRANGEBYLEX lex [d (a LIMIT 0 2
ZRANGE lex [c + BYLEX REV
ZRANGE lex + [c BYLEX REV
ZRANGEBYLEX lex a c
ZRANGEBYLEX lex [e [a
ZLEXCOUNT lex [b [d
ZLEXCOUNT lex - +
ZLEXCOUNT lex x +
ZRANGESTORE dstz z 0 2
ZRANGE dstz 0 -1 WITHSCORES
ZRANGESTORE dstz z 2 6 BYSCORE LIMIT 1 1
ZRANGE dstz 0 -1 WITHSCORES
ZRANGESTORE dstz z 0 1 WITHSCORES
ZRANGESTORE dstz nozset 0 -1
EXISTS dstz
ZREMRANGEBYRANK lex 0 0
ZREMRANGEBYLEX lex [b (d
ZRANGE lex 0 -1
ZREMRANGEBYSCORE z -inf (2
ZREMRANGEBYSCORE z x 1
ZREMRANGEBYRANK z x 1
ZREMRANGEBYLEX lex x +
ZRANGE z 0 -1 WITHSCORES
ZREM z b nothing c
ZREM nozset a
ZREMRANGEBYRANK lex 0 -1
EXISTS lex
ZADD p 1 a 2 b 3 c 4 d
ZPOPMIN p
ZPOPMAX p
ZPOPMIN p 0
ZPOPMIN p -1
ZPOPMIN p x
ZPOPMIN p 1 2
ZPOPMAX p 5
EXISTS p
ZPOPMIN nozset
ZPOPMIN nozset 2
ZADD p 1 a 2 b 3 c
ZMPOP 2 nozset p MIN
ZMPOP 2 nozset p MAX COUNT 5
ZMPOP 1 p MIN
ZMPOP 0 p MIN
ZMPOP 1 p MIDDLE
ZMPOP 1 p MIN COUNT 0
ZMPOP 3 p MIN
ZADD r 1 only
ZRANDMEMBER r
ZRANDMEMBER r 1 WITHSCORES
ZRANDMEMBER r -2 WITHSCORES
ZRANDMEMBER r 0
ZRANDMEMBER r 1 FOO
ZRANDMEMBER r x
ZRANDMEMBER nozset
ZRANDMEMBER nozset 2
ZADD sc 1 apple 2 banana 3 avocado
ZSCAN sc 0
ZSCAN sc 0 MATCH a*
ZSCAN sc x
ZSCAN nozset 0
ZADD u1 1 a 2 b 3 c
ZADD u2 10 b 20 c 30 d
SADD us b x
ZUNION 2 u1 u2
ZUNION 2 u1 u2 WITHSCORES
ZUNION 3 u1 u2 us WITHSCORES
ZUNION 2 u1 u2 WEIGHTS 2 0.5 WITHSCORES
ZUNION 2 u1 u2 AGGREGATE MAX WITHSCORES
ZUNION 2 u1 u2 AGGREGATE MIN WEIGHTS 1 -1 WITHSCORES
ZINTER 2 u1 u2 WITHSCORES
ZINTER 3 u1 u2 us WITHSCORES
ZDIFF 2 u1 u2 WITHSCORES
ZDIFF 2 u1 nozset
ZINTERCARD 2 u1 u2
ZINTERCARD 2 u1 u2 LIMIT 1
ZINTERCARD 2 u1 u2 LIMIT -1
ZINTERCARD 0 u1
ZUNION 0 u1
ZUNION x u1
ZUNION 3 u1 u2
ZUNION 2 u1 u2 WEIGHTS 1
ZUNION 2 u1 u2 WEIGHTS 1 x
ZUNION 2 u1 u2 AGGREGATE AVG
ZDIFF 2 u1 u2 WEIGHTS 1 1
ZUNIONSTORE dstu 2 u1 u2 WEIGHTS 1 2
ZRANGE dstu 0 -1 WITHSCORES
ZINTERSTORE dstu 2 u1 u2 AGGREGATE MAX
ZRANGE dstu 0 -1 WITHSCORES
ZDIFFSTORE dstu 2 u1 u1
EXISTS dstu
ZUNIONSTORE dstu 2 u1 u2 WITHSCORES
ZUNIONSTORE dstu 0 u1
ZADD inf 1 a
ZUNION 2 inf inf WEIGHTS inf -inf WITHSCORES
ZADD z 1 h3
ZADD h3 1 x
ZRANGE h3 0 -1
ZSCORE h3 x
ZUNION 2 u1 h3
ZINCRBY h3 1 x
GET u1
LPUSH u1 x
SADD u1 x
TYPE u1
RENAME u1 moved
ZRANGE moved 0 -1 WITHSCORES
SET moved plain
TYPE moved
RPUSH bq a b c d e
BLPOP bq 0
BRPOP nothing bq 0
BLPOP nothing 0.01
BLPOP bq x
BLPOP bq -1
BLPOP moved 0
BLMOVE bq bdst LEFT RIGHT 0
BLMOVE bq bdst UP RIGHT 0
BLMOVE bq bdst LEFT RIGHT x
BLMOVE nothing bdst LEFT RIGHT 0.01
BRPOPLPUSH bq bdst 0
BRPOPLPUSH nothing bdst 0.01
BRPOPLPUSH bq bdst -1
LRANGE bdst 0 -1
RPUSH bq f g
BLMPOP 0 2 nothing bq LEFT COUNT 2
BLMPOP 0.01 1 nothing LEFT
BLMPOP 0 0 bq LEFT
BLMPOP x 1 bq LEFT
BLMPOP 0 1 bq MIDDLE
BLMPOP 0 1 bq LEFT COUNT 0
ZADD bz 1 a 2 b 3 c 4 d
BZPOPMIN bz 0
BZPOPMAX nozset bz 0
BZPOPMIN nozset 0.01
BZPOPMIN bz x
BZPOPMIN moved 0
BZMPOP 0 1 bz MAX COUNT 5
BZMPOP 0.01 1 nozset MIN
BZMPOP 0 0 bz MIN
BZMPOP 0 1 bz SIDEWAYS
EXISTS bz
INCRBYFLOAT f 1000.1
INCRBYFLOAT f 0.2
INCRBYFLOAT f -1000.3
INCRBYFLOAT f 1e10
INCRBYFLOAT f 3.0e3
INCRBYFLOAT f .5
INCRBYFLOAT f 5.
INCRBYFLOAT f -0.000001
INCRBYFLOAT f x
INCRBYFLOAT f nan
INCRBYFLOAT f inf
INCRBYFLOAT f 1e5000
INCRBYFLOAT f 1e-5000
SET f 123456789.123
INCRBYFLOAT f 0.001
SET f abc
INCRBYFLOAT f 1
SET f inf
INCRBYFLOAT f 1
SET f 10 EX 100
INCRBYFLOAT f 0.1
TTL f
INCRBYFLOAT bz 1
HINCRBYFLOAT hf a 0.1
HINCRBYFLOAT hf a 0.2
HINCRBYFLOAT hf a 1.5e3
HINCRBYFLOAT hf a x
HINCRBYFLOAT hf a inf
HINCRBYFLOAT hf a -inf
HINCRBYFLOAT hf a nan
HSET hf b text c inf
HINCRBYFLOAT hf b 1
HINCRBYFLOAT hf c 1
HINCRBYFLOAT f a 1
HINCRBYFLOAT hf d 1e5000
HGETALL hf
SET gr HelloWorld
GETRANGE gr 0 4
GETRANGE gr -5 -1
GETRANGE gr -1 -5
GETRANGE gr 5 100
GETRANGE gr 100 200
GETRANGE gr -100 2
GETRANGE gr 3 1
GETRANGE gr x 1
GETRANGE nothing 0 -1
SUBSTR gr 1 3
GETRANGE hf 0 1
SET gs ""
GETRANGE gs 0 -1
COPY gr gr2
GET gr2
COPY gr gr2
COPY gr gr2 REPLACE
COPY gr gr
COPY nothing gr3
COPY gr gr3 DB 0
COPY gr gr4 DB x
COPY gr gr4 FOO
COPY hf hf2
HGETALL hf2
HSET hf2 a 9
HGET hf a
SET ttl v EX 100
COPY ttl ttl2
TTL ttl2
SADD si1 a b c d
SADD si2 b c d e
SINTERCARD 2 si1 si2
SINTERCARD 2 si1 si2 LIMIT 2
SINTERCARD 2 si1 si2 LIMIT 0
SINTERCARD 2 si1 nothing
SINTERCARD 0 si1
SINTERCARD 3 si1 si2
SINTERCARD 2 si1 si2 LIMIT -1
SINTERCARD 2 si1 si2 LIMIT x
SINTERCARD 2 si1 si2 FOO 1
SINTERCARD 2 si1 gr
SINTERCARD x si1
HSET hr only one
HRANDFIELD hr
HRANDFIELD hr 1 WITHVALUES
HRANDFIELD hr -2 WITHVALUES
HRANDFIELD hr 0
HRANDFIELD hr 5
HRANDFIELD hr x
HRANDFIELD hr 1 FOO
HRANDFIELD hr 1 WITHVALUES x
HRANDFIELD hr -9223372036854775808
HRANDFIELD nothing
HRANDFIELD nothing 3
HRANDFIELD gr
MULTI
BLPOP nothing 0
RPUSH bq2 x
BRPOP bq2 0
BZPOPMIN nozset 0
EXEC
MULTI
PING
ECHO queued-echo
SET txk v
CLIENT SETNAME txname
CLIENT GETNAME
GET txk
SELECT 0
PING hello
CONFIG GET maxmemory-policy
EXEC
CLIENT GETNAME
XINFO HELP
XINFO help x
XGROUP HELP
XGROUP help x
MULTI
XINFO HELP
XGROUP HELP
EXEC
"""


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("redis")
    socket = folder / "redis.sock"
    with running_redis(folder, ["--port", "0", "--unixsocket", str(socket)], socket.exists):
        yield socket


@contextmanager
def running_redis(folder: Path, listen: list[str], ready: Callable[[], bool]) -> Iterator[None]:
    """A redis-server listening as ``listen`` says, until the block ends; the
    wait for ``ready`` is bounded."""
    process = subprocess.Popen(
        ["redis-server", *listen, "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT
        while not ready():
            assert process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        yield
    finally:
        process.terminate()
        process.wait(WAIT)


def reply_to(connection: redis.connection.AbstractConnection, command: Sequence[Any]) -> Any:
    """The reply to ``command`` on ``connection``: an error as its text, in
    EXEC's replies too (redis-py hands them over as exceptions)."""
    connection.send_command(*command)
    try:
        reply = connection.read_response()
    except redis.ResponseError as error:
        return f"error: {error}"
    if isinstance(reply, list):
        return [
            f"error: {part}" if isinstance(part, redis.ResponseError) else part for part in reply
        ]
    return reply


def replies(connection: redis.connection.AbstractConnection) -> list[str]:
    """Every reply of ``SCRIPT`` on ``connection``, errors as their text."""
    out = []
    for line in SCRIPT.strip().splitlines():
        unordered = line.startswith("~ ")  # a set's members: Redis's order is its hash table's
        reply = reply_to(connection, line.removeprefix("~ ").split())
        if unordered and isinstance(reply, list | set):
            reply = sorted(reply)
        out.append(f"{line} -> {reply!r}")
    return out


def scan_all(client: redis.Redis, **options: object) -> list[bytes]:
    return sorted(client.scan_iter(**options))  # type: ignore[arg-type]


def test_scan_iterates_the_same_keys(redis_server: Path) -> None:
    with (
        redis.Redis(unix_socket_path=str(redis_server)) as reference,
        served() as server,
        redis.Redis(port=server.port) as ours,
    ):
        for client in (reference, ours):
            client.flushdb()
            client.mset({f"user:{i}": i for i in range(500)} | {f"order:{i}": i for i in range(50)})
            for i in range(30):
                client.hset(f"cart:{i}", mapping={"item": i, "count": 1})
                client.sadd(f"tags:{i}", "a", "b")
                client.rpush(f"queue:{i}", "job", "job")
                client.zadd(f"board:{i}", {"alice": i, "bob": 2.5})
        for options in (
            {},
            {"match": "order:*", "count": 7},
            {"_type": "hash"},
            {"_type": "string", "match": "*:1*"},
            {"_type": "set", "match": "tags:2*"},
            {"_type": "list"},
            {"_type": "list", "match": "queue:1*"},
            {"_type": "zset"},
        ):
            assert scan_all(ours, **options) == scan_all(reference, **options)
        assert len(scan_all(ours)) == 670


def words_of(line: str) -> list[bytes]:
    """A script line's words, ``\\xNN`` in a word being that byte and ``""``
    the empty string."""
    words = [w.encode("latin-1").decode("unicode_escape").encode("latin-1") for w in line.split()]
    return [b"" if word == b'""' else word for word in words]


def answers(
    connection: redis.connection.AbstractConnection, commands: list[list[bytes]]
) -> list[str]:
    """Each command and its reply on ``connection`` (``reply_to``)."""
    return [f"{b' '.join(command)!r} -> {reply_to(connection, command)!r}" for command in commands]


def assert_answered_alike(redis_server: Path, protocol: int, commands: list[list[bytes]]) -> None:
    """``commands`` sent to redis-server and to ranet: the same replies,
    line by line."""
    expected, got = both_answer(redis_server, protocol, lambda c: answers(c, commands))
    for want, have in zip(expected, got, strict=True):
        assert have == want


def both_answer(
    redis_server: Path, protocol: int, ask: Callable[[redis.connection.AbstractConnection], T]
) -> tuple[T, T]:
    """``ask`` a freshly flushed redis-server and a ranet server, over
    connections speaking RESP ``protocol``: Redis's answer, then ranet's."""
    redis.Redis(unix_socket_path=str(redis_server)).flushall()
    reference = redis.connection.UnixDomainSocketConnection(
        path=str(redis_server), protocol=protocol
    )
    with served() as server:
        ours = redis.connection.Connection(host="127.0.0.1", port=server.port, protocol=protocol)
        try:
            return ask(reference), ask(ours)
        finally:
            ours.disconnect()
            reference.disconnect()


@pytest.mark.parametrize("protocol", [2, 3])
def test_ranet_answers_as_redis_does(redis_server: Path, protocol: int) -> None:
    """In RESP2 and in RESP3, where maps, sets, doubles and scored members
    take their own shapes."""
    expected, got = both_answer(redis_server, protocol, replies)
    assert got == expected


# COMMAND INFO differs from Redis 7.0's, on purpose, for these: PUBLISH and
# SPUBLISH go through the log (writes, for ranet); XGROUP, XINFO, OBJECT and
# MEMORY are one command each with their key where Redis describes them by
# subcommand;
# EVAL, EVALSHA, FCALL, SCRIPT and FUNCTION go through the log (writes),
# EVAL_RO, EVALSHA_RO and FCALL_RO are served as reads (@read), and SCRIPT
# and FUNCTION are one command each.
OWN_COMMAND_INFO = {
    "publish",
    "spublish",
    "xgroup",
    "xinfo",
    "object",
    "memory",
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "script",
    "fcall",
    "fcall_ro",
    "function",
}


def test_command_info_is_redis_s_for_every_data_command(redis_server: Path) -> None:
    """Arity, flags, key positions and ACL categories, as Redis 7.0 gives
    them, for every command of the table that Redis has (the order of flags
    and categories aside)."""

    def compared(info: list[Any]) -> tuple[object, ...]:
        def words(items: list[Any]) -> list[str]:
            return sorted(str(getattr(item, "text", item)) for item in items)

        return (info[1], words(info[2]), *info[3:6], words(info[6]))

    reference = redis.connection.UnixDomainSocketConnection(
        path=str(redis_server), encoding_errors="strict", decode_responses=True
    )
    checked = 0
    for spec in COMMANDS:
        if spec.kind is Kind.CONNECTION or spec.name in OWN_COMMAND_INFO:
            continue
        reference.send_command("COMMAND", "INFO", spec.name)
        (redis_info,) = reference.read_response()
        if redis_info is None:
            continue  # ranet's own: CAS, RANET.NOTE
        assert compared(command_info(spec)) == compared(redis_info), spec.name
        checked += 1
    reference.disconnect()
    assert checked > 150
