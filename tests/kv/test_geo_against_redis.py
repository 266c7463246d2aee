"""The geo commands against redis-server and against ranet's server: the
same replies, errors included, in RESP2 and RESP3 - scores, coordinates to
the 17th decimal, distances, geohash strings, and which members a search
finds in which order.

Distances stored by STOREDIST are listed without their scores: Redis 7.0
writes a score in 17 digits, ranet in the shortest text that reads back
the same (a documented departure).

Positions are chosen so that no two members of a search are at one
distance from its center: Redis sorts by distance with qsort, whose order
among equal distances is its own. The generated part places members at
random (seeded) around a few centers, from a few meters to thousands of
kilometers, and searches them by radius and by box at every scale, near the
poles and across the antimeridian."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from .test_against_redis import (  # noqa: F401  (the fixture, and the skip without redis-server)
    assert_answered_alike,
    pytestmark,
    redis_server,
    words_of,
)

SCRIPT = r"""
GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEOADD Sicily 13.361389 38.115556 Palermo
GEOADD Sicily CH 13.5 38.1 Palermo 12.5 37.8 Marsala
GEOADD Sicily NX 1 1 Palermo 2 2 Null
GEOADD Sicily XX 1 1 Null2
GEOADD Sicily XX CH 13.4 38.1 Palermo
GEOADD Sicily NX XX 1 1 x
GEOADD Sicily GT 1 1 x
GEOADD Sicily CH
GEOADD Sicily 1 1 x y
GEOADD Sicily 200 1 x
GEOADD Sicily 1 86 x
GEOADD Sicily -180 -85.05112878 corner
GEOADD Sicily 180 85.05112878 corner2
GEOADD Sicily 180.0000001 0 x
GEOADD Sicily x 1 x
GEOADD Sicily 1 nan x
GEOADD Sicily 1 inf x
GEOADD Sicily 0 0 origin
ZRANGE Sicily 0 -1 WITHSCORES
GEOPOS Sicily Palermo Catania nope corner corner2 origin
GEOPOS Sicily
GEOPOS nokey a b
GEODIST Sicily Palermo Catania
GEODIST Sicily Palermo Catania km
GEODIST Sicily Palermo Catania KM
GEODIST Sicily Palermo Catania mi
GEODIST Sicily Palermo Catania ft
GEODIST Sicily Palermo Catania M
GEODIST Sicily Palermo Catania yards
GEODIST Sicily Palermo Catania km x
GEODIST Sicily Palermo nope
GEODIST nokey a b
GEODIST nokey a b yards
GEODIST Sicily corner corner2
GEODIST Sicily Palermo Palermo
GEOHASH Sicily Palermo Catania nope corner corner2 origin
GEOHASH nokey a
RPUSH lst a
GEOADD lst 1 1 x
GEOPOS lst a
GEODIST lst a b
GEOHASH lst a
GEOSEARCH lst FROMLONLAT 15 37 BYRADIUS 200 km
GEORADIUS lst 15 37 200 km
GEOADD lst 200 1 x
ZADD odd 2.5 a -1 b 1e20 c inf d -inf e 4503599627370496 f 9007199254740993 g
GEOPOS odd a b c d e f g
GEOHASH odd a b c d e f g
GEODIST odd a b
GEORADIUS Sicily 15 37 200 km
GEORADIUS Sicily 15 37 200 km ASC
GEORADIUS Sicily 15 37 200 km DESC
GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC
GEORADIUS Sicily 15 37 200 km withdist asc count 1
GEORADIUS Sicily 15 37 200 km COUNT 1 DESC
GEORADIUS Sicily 15 37 200 km COUNT 2 ANY
GEORADIUS Sicily 15 37 200 km ANY
GEORADIUS Sicily 15 37 200 km COUNT 0
GEORADIUS Sicily 15 37 200 km COUNT -1
GEORADIUS Sicily 15 37 200 km COUNT x
GEORADIUS Sicily 15 37 200 km COUNT
GEORADIUS Sicily 15 37 200 yards
GEORADIUS Sicily 15 37 -1 km
GEORADIUS Sicily 15 37 x km
GEORADIUS Sicily 200 37 1 km
GEORADIUS Sicily 15 37 200 km FOO
GEORADIUS Sicily 15 37 200 km STORE dst
ZRANGE dst 0 -1 WITHSCORES
GEORADIUS Sicily 15 37 200 km STOREDIST dst2
ZRANGE dst2 0 -1
GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST
GEORADIUS Sicily 15 37 1 m STORE dst
EXISTS dst
GEORADIUS nokey 15 37 200 km
GEORADIUS nokey 15 37 200 km STORE dst2
EXISTS dst2
GEORADIUS_RO Sicily 15 37 200 km WITHDIST ASC
GEORADIUS_RO Sicily 15 37 200 km STORE dst
GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST ASC
GEORADIUSBYMEMBER Sicily nope 200 km
GEORADIUSBYMEMBER Sicily Palermo 200 yards
GEORADIUSBYMEMBER nokey nope 200 yards
GEORADIUSBYMEMBER nokey nope x yards WITHDIST
GEORADIUSBYMEMBER_RO Sicily Catania 100 km WITHCOORD
GEORADIUSBYMEMBER Sicily Catania 100 km STORE d3
ZRANGE d3 0 -1 WITHSCORES
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHCOORD WITHDIST WITHHASH
GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km DESC
GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 400 km ASC WITHDIST
GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 100 300 km ASC WITHDIST
GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 300 10 km ASC WITHDIST
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km
GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 200 km
GEOSEARCH Sicily BYRADIUS 200 km FROMLONLAT 15 37
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km FROMMEMBER Palermo
GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCH Sicily FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 200 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km BYBOX 1 1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 200 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km BYRADIUS 10 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE dst
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
GEOSEARCH Sicily FROMLONLAT 15 37 COUNT 1
GEOSEARCH Sicily BYRADIUS 200 km COUNT 1
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS x km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 yards
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 yards
GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1
GEOSEARCH Sicily FROMLONLAT 15 BYRADIUS 1 km
GEOSEARCH Sicily FROMLONLAT 15 x BYRADIUS 1 km
GEOSEARCH Sicily FROMLONLAT 15 95 BYRADIUS 1 km
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY ASC
GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST COUNT 5 DESC
GEOSEARCH nokey FROMMEMBER x BYRADIUS 1 km
GEOSEARCH nokey FROMLONLAT 1 1 BYRADIUS 1 km FOO
geosearch Sicily frommember Palermo byradius 200 KM asc withdist
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC
ZRANGE dst 0 -1 WITHSCORES
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 1 STOREDIST
ZRANGE dst 0 -1
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST
GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x
GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 200 km
EXISTS dst
SET str x
GEOSEARCHSTORE str Sicily FROMLONLAT 15 37 BYRADIUS 200 km
TYPE str
SET ttl x
EXPIRE ttl 100
GEOSEARCHSTORE ttl Sicily FROMLONLAT 15 37 BYRADIUS 200 km
TTL ttl
MULTI
GEOADD m 1 2 a 1.001 2.001 b
GEODIST m a b
GEOSEARCH m FROMMEMBER a BYRADIUS 1 km WITHDIST ASC
GEOSEARCHSTORE m2 m FROMMEMBER a BYRADIUS 1 km
ZCARD m2
EXEC
"""

CENTERS = [
    (13.361389, 38.115556),
    (-0.1276, 51.5072),
    (179.99, -16.5),
    (-179.95, 65.0),
    (2.35, 84.0),
    (-70.0, -80.5),
    (0.0, 0.0),
]
SPREADS = [0.0005, 0.01, 0.2, 3.0, 40.0]
RADII = [("50", "m"), ("2", "km"), ("30", "km"), ("500", "km"), ("3000", "km"), ("9000", "km"),
         ("1", "mi"), ("5000", "ft")]  # fmt: skip


def generated() -> list[list[bytes]]:
    rng = random.Random(8)
    commands: list[list[str]] = []
    for n, (longitude, latitude) in enumerate(CENTERS):
        key = f"places{n}"
        first = len(commands)  # members p<first> to p<first + 59> are this key's
        for spread in SPREADS:
            for _ in range(12):
                x = min(max(longitude + rng.uniform(-spread, spread), -180.0), 180.0)
                y = min(max(latitude + rng.uniform(-spread, spread) / 2, -85.05), 85.05)
                x = (x + 180.0) % 360.0 - 180.0 if rng.random() < 0.1 else x
                commands.append(["GEOADD", key, f"{x:.6f}", f"{y:.6f}", f"p{len(commands)}"])
        around = ["GEOSEARCH", key, "FROMLONLAT", str(longitude), str(latitude)]
        for radius, unit in RADII:
            half = str(float(radius) / 2)
            commands += [
                [*around, "BYRADIUS", radius, unit, "WITHDIST", "WITHHASH"],
                [*around, "BYRADIUS", radius, unit, "ASC", "COUNT", "5"],
                [*around, "BYBOX", radius, half, unit, "WITHCOORD"],
                ["GEORADIUSBYMEMBER", key, f"p{first + len(commands) % 60}", radius, unit,
                 "DESC", "COUNT", "3", "WITHDIST"],
            ]  # fmt: skip
        commands.append(["GEOPOS", key, *[f"p{first + i}" for i in range(0, 60, 7)]])
        commands.append(["GEOHASH", key, *[f"p{first + i}" for i in range(0, 60, 11)]])
        commands.append(["GEODIST", key, f"p{first}", f"p{first + 59}", "km"])
        commands.append(["ZRANGE", key, "0", "-1", "WITHSCORES"])
    return [[word.encode() for word in command] for command in commands]


@pytest.mark.parametrize("protocol", [2, 3])
def test_ranet_answers_geo_commands_as_redis_does(
    redis_server: Path,  # noqa: F811
    protocol: int,
) -> None:
    script = [words_of(line) for line in SCRIPT.strip().splitlines()]
    assert_answered_alike(redis_server, protocol, script + generated())
