"""The stream commands against redis-server and against ranet's server: the
same replies, errors included, word for word, in RESP2 and in RESP3 - as
test_against_redis.py does for the other types, with a script of its own.

Stream IDs are explicit wherever a reply is compared, since an ID that ``*``
makes is the clock's. (``XADD fut * f v`` is compared: the top of ``fut`` is
far in the future, so the next ID is its sequence plus one.) A line marked
``? `` is sent as it is, and its reply only has to be an ID (``ms-seq``) on
both sides. An error in EXEC's replies is compared by its text.

Two things are taken out of the replies before they are compared:
- the clock's times: the idle column of the extended XPENDING, ``idle`` in
  XINFO CONSUMERS, and in XINFO STREAM FULL a pending entry's delivery time
  and a consumer's ``seen-time`` (all set to 0). Where an idle time decides
  a reply (XCLAIM's min-idle-time, XPENDING's IDLE), the entries are fresh
  or made hours old (``XCLAIM ... IDLE 7200000``, ``TIME 0``), and the
  threshold is an hour, far from both;
- ``radix-tree-keys`` and ``radix-tree-nodes`` in XINFO STREAM, which count
  the nodes of Redis's radix tree, a structure ranet does not have (dropped,
  from the flat list of RESP2 as from the map of RESP3).
Everything else XINFO says follows from the IDs given.

``MAXLEN ~`` and ``MINID ~`` are only sent where they fail: how much they
trim depends on the size of Redis's listpack nodes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from .fake_backend import WAIT
from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    both_answer,
    pytestmark,
    redis_server,
    reply_to,
)

# Each line is one command; the replies must match in order. Lines depend on
# the ones before them (the key space is shared), so the list runs as a whole.
SCRIPT = """
XADD s 5-1 f v
XADD s 5-1 f v
XADD s 4-9 f v
XADD s 5 f v
XADD s 5-* g w
XADD s 6 a 1
XADD s 6-* a 2
XADD s 7-* a 3 b 4
XADD s 7-0 x y
XADD s 7-* x y
xadd s 8-0 Field Value
XADD s 9-0 f v f w
XADD s 10-0 a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10 k 11 l 12 m 13 n 14 o 15 p 16
XADD s 0-0 f v
XADD s 0-* f v
XADD s 0-1 f v
XADD e 0-0 f v
XADD e 0 f v
EXISTS e
XADD e 0-* f v
XADD e 0-* f v
XADD s abc f v
XADD s - f v
XADD s + f v
XADD s 1-x f v
XADD s -1 f v
XADD s 1- f v
XADD s *-1 f v
XADD s 18446744073709551616 f v
XADD s 18446744073709551615-18446744073709551616 f v
XADD s 11-0 f
XADD s 11-0
XADD s
XADD s 11-0 f v g
XADD s 11-0 NOMKSTREAM f v
XADD s NOMKSTREAM 11-0 f v
XADD nos NOMKSTREAM 1-1 f v
XADD nos NOMKSTREAM MAXLEN 5 1-1 f v
EXISTS nos
XADD big 18446744073709551615-18446744073709551614 f v
XADD big 18446744073709551615-* f v
XADD big 18446744073709551615-* f v
XADD big 1-1 f v
XADD big * f v
XLEN big
XADD fut 99999999999999-5 f v
XADD fut * f v
XADD fut 99999999999999-* f v
XADD fut 99999999999998-* f v
XLEN s
TYPE s
XADD t MAXLEN 2 1-0 f v
XADD t MAXLEN 2 2-0 f v
XADD t MAXLEN = 2 3-0 f v
XRANGE t - +
XADD t MINID 3 4-0 f v
XRANGE t - +
XADD t MINID = 5 5-0 f v
XRANGE t - +
XADD t maxlen 0 6-0 f v
XLEN t
EXISTS t
XADD t MINID 100 7-0 f v
XLEN t
XINFO STREAM t
XADD t MAXLEN -1 8-0 f v
XADD t MAXLEN x 8-0 f v
XADD t MAXLEN 8-0 f v
XADD t MAXLEN 18446744073709551616 8-0 f v
XADD t MAXLEN 1 MINID 1 8-0 f v
XADD t MAXLEN 1 MAXLEN 2 8-0 f v
XADD t MAXLEN = 1 LIMIT 10 8-0 f v
XADD t MAXLEN 1 LIMIT 10 8-0 f v
XADD t MINID 1 LIMIT 10 8-0 f v
XADD t LIMIT 10 8-0 f v
XADD t MAXLEN ~ 1 LIMIT -1 8-0 f v
XADD t MAXLEN ~ 1 LIMIT x 8-0 f v
XADD t MINID x 8-0 f v
XADD t MINID -1 8-0 f v
XADD t MAXLEN == 1 8-0 f v
XADD t MAXLEN = 1 = 8-0 f v
XADD t MAXLEN 9223372036854775807 8-0 f v
XADD t NOMKSTREAM NOMKSTREAM MINID 8 9-0 f v
XRANGE t - +
XRANGE s - +
XRANGE s 5 5
XRANGE s 6 6-0
XRANGE s (5-1 +
XRANGE s - (7-0
XRANGE s (5 (7
XRANGE s 6-1 6-1
XRANGE s (6-0 (6-1
XRANGE s (6-0 (6-2
XRANGE s 9 5
XRANGE s 0-0 0-0
XRANGE s - (0
XRANGE s 18446744073709551615-18446744073709551615 +
XRANGE s (18446744073709551615 +
XRANGE s (18446744073709551615-18446744073709551615 +
XRANGE s - (0-0
XRANGE s (- +
XRANGE s - (+
XRANGE s ( +
XRANGE s abc +
XRANGE s - abc
XRANGE s - + COUNT 2
XRANGE s 7 + COUNT 1
XRANGE s - + COUNT 0
XRANGE s - + COUNT -1
XRANGE s - + COUNT x
XRANGE s - + COUNT
XRANGE s - + FOO
XRANGE s - + COUNT 1 COUNT 3
xrange s - + count 1
XRANGE s -
XRANGE missing - +
XRANGE missing - + COUNT 0
XRANGE missing abc +
XREVRANGE s + -
XREVRANGE s + - COUNT 2
XREVRANGE s 5 -
XREVRANGE s 7 6
XREVRANGE s (6-1 (5-1
XREVRANGE s - +
XREVRANGE s + (-
XREVRANGE s (+ -
XREVRANGE s (0-0 -
XREVRANGE s + (18446744073709551615-18446744073709551615
XREVRANGE s + - COUNT 0
XREVRANGE s + - COUNT -5
XREVRANGE s + - COUNT 2 FOO
XREVRANGE s +
XREVRANGE missing + -
XLEN missing
XLEN s x
SET str x
RPUSH l x
XLEN str
XRANGE str - +
XREVRANGE l + -
XRANGE str abc +
XRANGE str - + COUNT x
XADD str 1-1 f v
XADD l 1-1 f v
XADD str NOMKSTREAM 1-1 f v
XDEL s 5-2
XDEL s 5-2 6-0 6-0
XDEL s 100-0
XDEL s 6
XDEL s abc
XDEL s 6-1 abc
XDEL s 6-1 -
XDEL missing 1-1
XDEL missing abc
XDEL str 1-1
XDEL s
XLEN s
XRANGE s - (8
XINFO STREAM s
XADD s 9-5 f v
XADD tr 1-0 a 1
XADD tr 2-0 a 2
XADD tr 3-0 a 3
XADD tr 4-0 a 4
XADD tr 5-0 a 5
XADD tr 6-0 a 6
XTRIM tr MAXLEN 5
XTRIM tr MAXLEN = 5
XTRIM tr MAXLEN = 4
XTRIM tr MINID 4
XTRIM tr MINID = 4-0
XTRIM tr minid 4-1
XRANGE tr - +
XTRIM tr MINID 0
XTRIM tr MINID = 0-0
XTRIM tr
XTRIM tr MAXLEN
XTRIM tr FOO 1
XTRIM tr NOMKSTREAM MAXLEN 1
XTRIM tr LIMIT 1
XTRIM tr LIMIT 1 MAXLEN 1
XTRIM tr MAXLEN = 1 LIMIT 1
XTRIM tr MAXLEN 1 LIMIT 1
XTRIM tr MINID 1 LIMIT 1
XTRIM tr MAXLEN ~ 1 LIMIT -1
XTRIM tr MAXLEN ~ 1 LIMIT 1 FOO
XTRIM tr MAXLEN 1 LIMIT
XTRIM tr MAXLEN ~
XTRIM tr ~ 1
XTRIM tr MAXLEN -1
XTRIM tr MAXLEN x
XTRIM tr MAXLEN 1 MINID 1
XTRIM tr MAXLEN 1 MAXLEN 0
XTRIM tr MINID abc
XTRIM missing MAXLEN 0
XTRIM missing MINID abc
XTRIM str MAXLEN 0
XTRIM tr MINID 100
XLEN tr
EXISTS tr
XINFO STREAM tr
XADD tr 20-0 f v
XSETID tr 100-0
XSETID tr 1-0
XSETID tr 19-0
XINFO STREAM tr
XSETID tr 20-0
XADD tr 21-0 f v
XSETID tr 200-0 ENTRIESADDED 100 MAXDELETEDID 150-0
XINFO STREAM tr
XSETID tr 200-0 ENTRIESADDED 2
XSETID tr 200-0 ENTRIESADDED 1
XSETID tr 200-0 ENTRIESADDED 0
XSETID tr 200-0 MAXDELETEDID 300-0
XSETID tr 200-0 ENTRIESADDED -1
XSETID tr 200-0 ENTRIESADDED x
XSETID tr 200-0 MAXDELETEDID abc
XSETID tr 200-0 ENTRIESADDED
XSETID tr 200-0 FOO
XSETID tr 200-0 FOO 1
XSETID tr abc
XSETID tr 200
XSETID tr 200-0 ENTRIESADDED 1000 MAXDELETEDID 0-0
XINFO STREAM tr
XSETID tr
XSETID missing 1-1
XSETID missing abc
XSETID str 1-1
XADD e2 MAXLEN 0 1-1 f v
XSETID e2 0-0
XINFO STREAM e2
XSETID e2 0-5
XADD e2 0-5 f v
XADD e2 0-* f v
XADD r 5-1 f v
XADD r 5-2 g w
XADD r 6-0 a 1
XADD r2 1-1 x y
XREAD STREAMS r 0
XREAD COUNT 1 STREAMS r 0
XREAD COUNT 2 STREAMS r r2 0 0
XREAD STREAMS r missing 0 0
XREAD STREAMS missing r 0 5-1
XREAD STREAMS missing 0
XREAD STREAMS r $
XREAD STREAMS r 5
XREAD STREAMS r 5-2
XREAD STREAMS r 6
XREAD STREAMS r 18446744073709551615-18446744073709551615
XREAD COUNT 0 STREAMS r 0
XREAD COUNT -1 STREAMS r 0
XREAD COUNT 1 COUNT 2 STREAMS r 0
xread count 1 streams r 5-1
XREAD BLOCK 10 STREAMS r 0
XREAD COUNT 1 BLOCK 10 STREAMS r r2 $ 0
XREAD BLOCK 50 STREAMS missing 0
XREAD STREAMS r +
XREAD STREAMS r -
XREAD STREAMS r abc
XREAD STREAMS r (5-1
XREAD STREAMS r 0 COUNT 1
XREAD STREAMS r r 0
XREAD STREAMS r r2 0
XREAD STREAMS r
XREAD STREAMS
XREAD r
XREAD COUNT 1 r 0
XREAD FOO STREAMS r 0
XREAD GROUP g c STREAMS r 0
XREAD NOACK STREAMS r 0
XREAD STREAMS r >
XREAD COUNT x STREAMS r 0
XREAD BLOCK -1 STREAMS r 0
XREAD BLOCK x STREAMS r 0
XREAD STREAMS str 0
XREAD STREAMS r str 0 0
XREAD STREAMS str abc
XREAD STREAMS missing abc
XADD q 1-1 f v
XADD q 1-2 f v
XADD q 2-0 f v
XADD q 3-0 f v
XADD q 4-0 f v
XGROUP CREATE q reports $
XGROUP CREATE q mail 0
XGROUP CREATE q audit 2-0
XGROUP CREATE q late 3 ENTRIESREAD 3
XGROUP CREATE q ahead 10-0 ENTRIESREAD 100
XGROUP CREATE q unknown 0 ENTRIESREAD -1
XINFO GROUPS q
XINFO STREAM q
XGROUP CREATE q mail $
XGROUP CREATE q mail 0 MKSTREAM MKSTREAM
XGROUP CREATE missing g 0
XGROUP CREATE ms g $ MKSTREAM
XGROUP CREATE ms g $ MKSTREAM
XGROUP CREATE ms2 g 5-5 MKSTREAM
XINFO STREAM ms2
XINFO GROUPS ms2
XGROUP CREATE q x 0 ENTRIESREAD -5
XGROUP CREATE q x 0 ENTRIESREAD x
XGROUP CREATE q x 0 ENTRIESREAD
XGROUP CREATE q x abc
XGROUP CREATE q x +
XGROUP CREATE q x >
XGROUP CREATE q x 0 FOO
xgroup create q x 0 foo
XGROUP CREATE q x
XGROUP CREATE str g 0
XGROUP CREATE str g 0 MKSTREAM
XGROUP FOO q g
XGROUP
XGROUP SETID q reports 0
XGROUP SETID q reports 2-0 ENTRIESREAD 2
XGROUP SETID q late $ ENTRIESREAD 4
XINFO GROUPS q
XGROUP SETID q nog 0
XGROUP SETID missing g 0
XGROUP SETID q reports abc
XGROUP SETID q reports 0 FOO
XGROUP SETID q reports 0 ENTRIESREAD -2
XGROUP SETID q reports 0 MKSTREAM
XGROUP SETID q reports
XGROUP DESTROY q ahead
XGROUP DESTROY q ahead
XGROUP DESTROY q unknown
XGROUP DESTROY missing g
XGROUP DESTROY str g
XGROUP DESTROY q
XINFO GROUPS q
XGROUP CREATECONSUMER q mail zed
XGROUP CREATECONSUMER q mail zed
XGROUP CREATECONSUMER q nog x
XGROUP CREATECONSUMER missing g x
XGROUP CREATECONSUMER q mail
XINFO CONSUMERS q mail
XREADGROUP GROUP mail alice COUNT 2 STREAMS q >
XREADGROUP GROUP mail bob COUNT 1 STREAMS q >
XREADGROUP GROUP mail alice STREAMS q 0
XREADGROUP GROUP mail alice COUNT 1 STREAMS q 0
XREADGROUP GROUP mail alice STREAMS q 1-1
XREADGROUP GROUP mail alice STREAMS q 1
XREADGROUP GROUP mail nobody STREAMS q 0
XREADGROUP GROUP mail carol NOACK COUNT 1 STREAMS q >
XINFO CONSUMERS q mail
XINFO GROUPS q
XPENDING q mail
XPENDING q mail - + 10
XPENDING q mail - + 10 alice
XPENDING q mail - + 10 alice extra
XPENDING q mail - + 10 nobody
XPENDING q mail IDLE 0 - + 10
XPENDING q mail IDLE -5 - + 1
XPENDING q mail IDLE 3600000 - + 10
XPENDING q mail (1-1 + 10
XPENDING q mail - (2-0 10
XPENDING q mail 1 1 10
XPENDING q mail (1-1 (1-2 10
XPENDING q mail - + 0
XPENDING q mail - + -1
XPENDING q mail - + x
XPENDING q mail - +
XPENDING q mail -
XPENDING q mail IDLE 0
XPENDING q mail IDLE x - + 10
XPENDING q mail FOO 0 - + 10
XPENDING q mail abc + 10
XPENDING q mail (- + 10
XPENDING q nog
XPENDING q nog - + 10
XPENDING missing g
XPENDING str g
XPENDING q
XPENDING q reports
XPENDING q reports - + 10
XADD q2 1-1 x y
XGROUP CREATE q2 mail 0
XREADGROUP GROUP mail alice STREAMS q q2 > >
XREADGROUP GROUP mail alice STREAMS q q2 > 0
XREADGROUP GROUP mail alice STREAMS q >
XREADGROUP GROUP mail alice STREAMS q q2 0 0
XREADGROUP GROUP mail alice BLOCK 10 STREAMS q 0
XREADGROUP GROUP mail dave BLOCK 50 STREAMS q >
XREADGROUP GROUP nog alice STREAMS q >
XREADGROUP GROUP mail alice STREAMS missing >
XREADGROUP GROUP mail alice STREAMS missing 0
XREADGROUP GROUP mail alice STREAMS q $
XREADGROUP GROUP mail alice STREAMS q abc
XREADGROUP GROUP mail alice STREAMS q +
XREADGROUP GROUP mail alice STREAMS q -
XREADGROUP GROUP mail alice STREAMS q q >
XREADGROUP GROUP mail alice COUNT x STREAMS q >
XREADGROUP GROUP mail alice BLOCK x STREAMS q >
XREADGROUP GROUP mail alice FOO STREAMS q >
XREADGROUP GROUP mail STREAMS q >
XREADGROUP STREAMS q >
XREADGROUP GROUP mail alice STREAMS str >
XINFO CONSUMERS q mail
XPENDING q mail - + 10
XACK q mail 1-1 1-2 1-2
XACK q mail 1-1
XACK q nog 1-1
XACK missing g 1-1
XACK q mail abc
XACK q mail 2-0 abc
XACK q mail
XACK str g 1-1
XPENDING q mail
XREADGROUP GROUP audit erin STREAMS q >
XPENDING q audit
XGROUP DELCONSUMER q audit erin
XGROUP DELCONSUMER q audit erin
XGROUP DELCONSUMER q nog erin
XGROUP DELCONSUMER missing g erin
XPENDING q audit
XINFO GROUPS q
XGROUP SETID q mail 0
XREADGROUP GROUP mail frank COUNT 0 STREAMS q >
XPENDING q mail - + 10
XCLAIM q mail bob 0 3-0
XCLAIM q mail bob 0 4-0 JUSTID
XCLAIM q mail bob 3600000 2-0
XCLAIM q mail bob 0 99-0
XCLAIM q mail bob 0 99-0 FORCE
XPENDING q mail - + 10
XCLAIM q mail bob 0 2-0 RETRYCOUNT 7
XCLAIM q mail bob 0 2-0 IDLE 7200000 JUSTID
XCLAIM q mail carol 3600000 2-0 JUSTID
XCLAIM q mail carol 0 3-0 TIME 0
XCLAIM q mail dave 3600000 1-1 2-0 3-0 4-0
XCLAIM q mail bob 0 4-0 LASTID 100-0 JUSTID
XCLAIM q mail bob 0 4-0 LASTID 1-0 JUSTID
XCLAIM q mail bob 0 4-0 4-0 JUSTID
XCLAIM q mail bob -1 4-0 RETRYCOUNT -1 IDLE -5
XPENDING q mail - + 10
XINFO GROUPS q
XCLAIM q mail bob x 4-0
XCLAIM q mail bob 0 abc
XCLAIM q mail bob 0 4-0 abc
XCLAIM q mail bob 0 4-0 JUSTID 1-1
XCLAIM q mail bob 0 4-0 FOO
XCLAIM q mail bob 0 4-0 IDLE
XCLAIM q mail bob 0 4-0 IDLE x
XCLAIM q mail bob 0 4-0 TIME x
XCLAIM q mail bob 0 4-0 RETRYCOUNT x
XCLAIM q mail bob 0 4-0 LASTID abc
XCLAIM q nog bob 0 4-0
XCLAIM missing g bob 0 1-1
XCLAIM str g bob 0 1-1
XCLAIM q mail bob 0
XGROUP CREATE q w 0
XREADGROUP GROUP w zoe GROUP w alice COUNT -1 STREAMS q >
XDEL q 1-2 3-0
XREADGROUP GROUP w alice STREAMS q 0
XCLAIM q w bob 0 1-1 1-2 JUSTID
XPENDING q w
XCLAIM q reports zed 0 2-0 FORCE JUSTID
XCLAIM q reports zed 0 4-0 FORCE
XCLAIM q reports zed 0 3-0 FORCE
XPENDING q reports
XCLAIM q reports yan 0 2-0 4-0 FORCE JUSTID
XPENDING q reports
XAUTOCLAIM q w carol 0 0 COUNT 1
XAUTOCLAIM q w carol 0 0
XPENDING q w - + 10
XAUTOCLAIM q w carol 0 0 JUSTID
XAUTOCLAIM q w dave 0 2 COUNT 1 JUSTID
XAUTOCLAIM q w dave 0 (1-1 COUNT 1
XAUTOCLAIM q w dave 0 - JUSTID
XAUTOCLAIM q w dave 0 + JUSTID
XAUTOCLAIM q w dave 0 100-0
XAUTOCLAIM q w dave 3600000 0
XAUTOCLAIM q w dave -1 0 JUSTID JUSTID
XAUTOCLAIM q w dave 0 0 COUNT 1000000 JUSTID
XAUTOCLAIM q w dave 0 0 COUNT 576460752303423488
XAUTOCLAIM q w dave 0 0 COUNT 0
XAUTOCLAIM q w dave 0 0 COUNT -1
XAUTOCLAIM q w dave 0 0 COUNT x
XAUTOCLAIM q w dave 0 0 COUNT
XAUTOCLAIM q w dave 0 0 FOO
XAUTOCLAIM q w dave 0 abc
XAUTOCLAIM q w dave x 0
XAUTOCLAIM q nog dave 0 0
XAUTOCLAIM missing g dave 0 0
XAUTOCLAIM str g dave 0 0
XAUTOCLAIM q w dave 0
XPENDING q w - + 10 dave
XINFO CONSUMERS q w
XINFO GROUPS q
XINFO STREAM q
XINFO STREAM q FULL
XINFO STREAM q FULL COUNT 1
XINFO STREAM q FULL COUNT 0
XINFO STREAM q FULL COUNT -1
XINFO STREAM r FULL
XINFO STREAM ms FULL
XINFO STREAM q FULL COUNT x
XINFO STREAM q FULL FOO
XINFO STREAM q FOO
XINFO CONSUMERS q nog
XINFO CONSUMERS missing g
XINFO GROUPS missing
XINFO STREAM missing
XINFO STREAM str
XINFO GROUPS str
XINFO CONSUMERS str g
XINFO STREAM
XINFO FOO
XINFO
XTRIM q MAXLEN 1
XINFO GROUPS q
XADD q 5-0 f v
XINFO GROUPS q
LPUSH q x
GET q
HGET q f
TYPE q
EXISTS q missing q
COPY q qcopy
XLEN qcopy
XINFO GROUPS qcopy
XPENDING qcopy mail
XADD qcopy 6-0 f v
XLEN q
RENAME qcopy qmoved
XINFO GROUPS qmoved
EXPIRE qmoved 100
TTL qmoved
DEL qmoved q
EXISTS q qmoved
XLEN q
XINFO GROUPS q
XADD q 1-1 f v
XINFO STREAM q
MULTI
XADD m 1-1 f v
XADD m 1-0 f v
XADD m 1-* g w
XRANGE m - +
XREAD BLOCK 0 STREAMS nothing $
XGROUP CREATE m g 0
XREADGROUP GROUP g c BLOCK 0 STREAMS m >
XREADGROUP GROUP g c BLOCK 0 STREAMS m >
EXEC
XPENDING m g
? XADD auto * f v
? XADD auto * f v
? XADD auto MAXLEN 1 * f v
XLEN auto
XGROUP CREATE auto g $
XREADGROUP GROUP g c STREAMS auto >
? XADD auto NOMKSTREAM MINID 0 * f v
XLEN auto
XPENDING auto g
XREAD STREAMS auto $
XADD wrap 1-1 f v
XSETID wrap 1-1 ENTRIESADDED 9223372036854775807
XGROUP CREATE wrap g 0 ENTRIESREAD 9223372036854775806
XADD wrap 2-1 f v
XADD wrap 3-1 f v
XREADGROUP GROUP g c COUNT 1 STREAMS wrap >
XINFO GROUPS wrap
XREADGROUP GROUP g c STREAMS wrap >
XINFO GROUPS wrap
XINFO STREAM wrap
XADD many 1-1 f v
XGROUP CREATE many g 0
XREADGROUP GROUP g c STREAMS many >
XCLAIM many g c 0 1-1 RETRYCOUNT 9223372036854775807 JUSTID
XREADGROUP GROUP g c STREAMS many 0
XPENDING many g - + 10
XCLAIM many g c 0 1-1
XPENDING many g - + 10
XAUTOCLAIM many g c 0 0
XINFO STREAM many FULL
"""

AN_ID = re.compile(rb"\d+-\d+")
RADIX_TREE = frozenset({b"radix-tree-keys", b"radix-tree-nodes"})
Change = Callable[[object, object], object]

# The normalizers leave a reply of another shape as it is, for the comparison
# to show it.


def _fields(reply: object, change: Change, drop: frozenset[bytes] = frozenset()) -> object:
    """A Redis map - a flat list of names and values in RESP2, a dict in
    RESP3 - in the same shape, each value through ``change(name, value)``,
    without the fields named in ``drop``."""
    if isinstance(reply, dict):
        return {name: change(name, value) for name, value in reply.items() if name not in drop}
    if not isinstance(reply, list) or len(reply) % 2:
        return reply
    pairs = zip(reply[::2], reply[1::2], strict=True)
    return [
        part for name, value in pairs if name not in drop for part in (name, change(name, value))
    ]


def _each(replies: object, change: Change) -> object:
    """A list of maps, each through ``_fields``."""
    return [_fields(one, change) for one in replies] if isinstance(replies, list) else replies


def _untimed(rows: object, at: int) -> object:
    """Rows (lists) with the time at index ``at`` set to 0."""
    if not isinstance(rows, list):
        return rows
    return [
        [*row[:at], 0, *row[at + 1 :]] if isinstance(row, list) and len(row) > at else row
        for row in rows
    ]


def _full_consumer(name: object, value: object) -> object:
    """XINFO STREAM FULL's consumer: its ``seen-time``, and its pending
    entries, ``[id, delivery time, deliveries]``."""
    if name == b"seen-time":
        return 0
    return _untimed(value, 1) if name == b"pending" else value


def _full_group(name: object, value: object) -> object:
    """XINFO STREAM FULL's group: its pending entries, ``[id, consumer,
    delivery time, deliveries]``, and its consumers."""
    if name == b"pending":
        return _untimed(value, 2)
    return _each(value, _full_consumer) if name == b"consumers" else value


def _stream_info(name: object, value: object) -> object:
    """XINFO STREAM: ``groups`` is a count, or with FULL the groups."""
    return _each(value, _full_group) if name == b"groups" else value


def _consumer(name: object, value: object) -> object:
    """XINFO CONSUMERS's consumer: its ``idle`` time."""
    return 0 if name == b"idle" else value


def _timeless(words: list[str], reply: object) -> object:
    """``reply`` without what the clock and Redis's radix tree decide."""
    command = [word.upper() for word in words[:2]]
    if command[0] == "XPENDING" and len(words) > 3:  # the extended form: [id, consumer, idle, n]
        return _untimed(reply, 2)
    if command == ["XINFO", "STREAM"]:
        return _fields(reply, _stream_info, drop=RADIX_TREE)
    if command == ["XINFO", "CONSUMERS"]:
        return _each(reply, _consumer)
    return reply


def replies(connection: redis.connection.AbstractConnection) -> list[str]:
    """Every reply of ``SCRIPT`` on ``connection``, errors as their text,
    times set to 0, an ID that ``*`` made (a line marked ``? ``) as ``an
    ID``. A reply that does not come in ``WAIT`` seconds (a command that
    blocks where it should not) ends the list."""
    connection.socket_timeout = WAIT
    out = []
    for line in SCRIPT.strip().splitlines():
        made_id = line.startswith("? ")
        words = line.removeprefix("? ").split()
        try:
            reply = reply_to(connection, words)
        except (redis.TimeoutError, redis.ConnectionError) as error:
            out.append(f"{line} -> no reply: {error}")
            break
        if made_id and isinstance(reply, bytes) and AN_ID.fullmatch(reply):
            reply = "an ID"
        out.append(f"{line} -> {_timeless(words, reply)!r}")
    return out


@pytest.mark.parametrize("protocol", [2, 3])
def test_ranet_answers_streams_as_redis_does(
    redis_server: Path,  # noqa: F811
    protocol: int,
) -> None:
    """In RESP2 and in RESP3, where XREAD's streams and XINFO's fields are maps."""
    expected, got = both_answer(redis_server, protocol, replies)
    assert got == expected
