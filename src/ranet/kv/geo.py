"""The geo commands: GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH,
GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO forms, as Redis
7.0 has them.

A geo set is a sorted set whose scores are 52-bit geohashes (geohash.py):
ZRANGE, ZREM, ZCARD and the rest work on it as on any sorted set. A search
walks the cells the area covers, in Redis's order, takes the members whose
scores fall in each cell (score order) and keeps those within the area;
ASC / DESC sort by distance, COUNT keeps the nearest, ANY the first found.
"""

from __future__ import annotations

from dataclasses import dataclass

from ranet.kv import geohash, sorted_sets
from ranet.kv.arguments import (
    NOT_A_FLOAT,
    NOT_AN_INTEGER,
    SYNTAX_ERROR,
    parse_double,
    parse_int,
)
from ranet.kv.geohash import Shape
from ranet.kv.keyspace import Keyspace, SortedSet
from ranet.kv.reply import NULL_ARRAY, Double, ErrorReply, Reply

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
_BAD_UNIT = ErrorReply("ERR unsupported unit provided. please use M, KM, FT, MI")
_NO_MEMBER = ErrorReply("ERR could not decode requested zset member")
_GEOHASH_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def _position(longitude: bytes, latitude: bytes) -> tuple[float, float] | ErrorReply:
    """A longitude and a latitude, checked as Redis checks them."""
    x, y = parse_double(longitude), parse_double(latitude)
    if x is None or y is None:
        return NOT_A_FLOAT
    if not (geohash.LONG_MIN <= x <= geohash.LONG_MAX and geohash.LAT_MIN <= y <= geohash.LAT_MAX):
        return ErrorReply(f"ERR invalid longitude,latitude pair {x:f},{y:f}")
    return x, y


def _unit(text: bytes) -> float | ErrorReply:
    return _UNITS.get(text.lower(), _BAD_UNIT)


def _coordinate(value: float) -> Double:
    """A coordinate as Redis writes it: ``%.17Lf`` (a double's exact value
    rounded to 17 decimals, as Python's ``%.17f`` rounds it), the trailing
    zeros and a bare point removed, ``-0`` as ``0`` (long_double.py's
    format_human, without its exact arithmetic: 15 times faster)."""
    text = (b"%.17f" % value).rstrip(b"0").rstrip(b".")
    return Double(b"0" if text == b"-0" else text)


def _distance(meters: float, conversion: float) -> bytes:
    return b"%.4f" % (meters / conversion)


def geoadd(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GEOADD key [NX | XX] [CH] longitude latitude member [...]: ZADD of
    each member at its position's score - how many were added (with CH,
    added or moved)."""
    first = 2
    while first < len(argv) and argv[first].upper() in (b"NX", b"XX", b"CH"):
        first += 1
    options = {option.upper() for option in argv[2:first]}
    if (len(argv) - first) % 3 or {b"NX", b"XX"} <= options:
        return SYNTAX_ERROR
    zadd = [b"ZADD", argv[1], *argv[2:first]]
    for at in range(first, len(argv), 3):
        position = _position(argv[at], argv[at + 1])
        if isinstance(position, ErrorReply):
            return position
        zadd += [b"%d" % geohash.score_of(*position), argv[at + 2]]  # type: ignore[str-format]
    return sorted_sets.zadd(keyspace, zadd)


def _positions(
    keyspace: Keyspace, argv: list[bytes]
) -> list[tuple[float, float] | None] | ErrorReply:
    """The positions of the members ``argv[2:]`` of the geo set ``argv[1]``
    (``None`` for one not there), or WRONGTYPE."""
    members = sorted_sets.sorted_set(keyspace, argv[1])
    if isinstance(members, ErrorReply):
        return members
    return [_member_position(members, member) for member in argv[2:]]


def geopos(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GEOPOS key member...: ``[longitude, latitude]`` of each, null for a
    member not there."""
    positions = _positions(keyspace, argv)
    if isinstance(positions, ErrorReply):
        return positions
    return [
        NULL_ARRAY if position is None else [_coordinate(position[0]), _coordinate(position[1])]
        for position in positions
    ]


def geodist(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GEODIST key member1 member2 [M | KM | FT | MI]: their distance, four
    decimals; null if either is not there."""
    conversion = 1.0
    if len(argv) == 5:
        unit = _unit(argv[4])
        if isinstance(unit, ErrorReply):
            return unit
        conversion = unit
    elif len(argv) > 5:
        return SYNTAX_ERROR
    members = sorted_sets.sorted_set(keyspace, argv[1])
    if members is None or isinstance(members, ErrorReply):
        return members
    first, second = members.scores.get(argv[2]), members.scores.get(argv[3])
    if first is None or second is None:
        return None
    meters = geohash.distance(*geohash.position_of(first), *geohash.position_of(second))
    return _distance(meters, conversion)


def geohash_strings(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GEOHASH key member...: each position as an 11-character standard
    geohash (over latitudes -90 to 90; the 11th character always ``0``),
    null for a member not there."""
    positions = _positions(keyspace, argv)
    if isinstance(positions, ErrorReply):
        return positions
    return [None if position is None else _geohash_text(*position) for position in positions]


def _geohash_text(longitude: float, latitude: float) -> bytes:
    cell = geohash.encode(longitude, latitude, ranges=geohash.STANDARD)
    bits = 0 if cell is None else cell.bits
    return bytes(_GEOHASH_ALPHABET[(bits >> (47 - 5 * i)) & 0x1F] for i in range(10)) + b"0"


# --- searching -------------------------------------------------------------------


@dataclass(slots=True)
class _Search:
    """A search's options, as GEOSEARCH and GEORADIUS read them."""

    center: tuple[float, float] | None = None
    from_member: bool = False
    from_lonlat: bool = False
    radius: tuple[float, float] | None = None  # (radius, conversion)
    box: tuple[float, float, float] | None = None  # (width, height, conversion)
    with_dist: bool = False
    with_hash: bool = False
    with_coord: bool = False
    any: bool = False
    descending: bool | None = None
    count: int = 0
    store: bytes | None = None
    store_dist: bool = False


def _radius(argv: list[bytes], at: int) -> tuple[float, float] | ErrorReply:
    radius = parse_double(argv[at])
    if radius is None:
        return ErrorReply("ERR need numeric radius")
    if radius < 0:
        return ErrorReply("ERR radius cannot be negative")
    unit = _unit(argv[at + 1])
    return unit if isinstance(unit, ErrorReply) else (radius, unit)


def _box(argv: list[bytes], at: int) -> tuple[float, float, float] | ErrorReply:
    width = parse_double(argv[at])
    if width is None:
        return ErrorReply("ERR need numeric width")
    height = parse_double(argv[at + 1])
    if height is None:
        return ErrorReply("ERR need numeric height")
    if height < 0 or width < 0:
        return ErrorReply("ERR height or width cannot be negative")
    unit = _unit(argv[at + 2])
    return unit if isinstance(unit, ErrorReply) else (width, height, unit)


def _member_position(members: SortedSet | None, member: bytes) -> tuple[float, float] | None:
    score = None if members is None else members.scores.get(member)
    return None if score is None else geohash.position_of(score)


_GEOSEARCH, _STORE, _READ_ONLY, _BY_MEMBER = 1, 2, 4, 8  # the kinds of search
_FLAGS = {b"WITHDIST": "with_dist", b"WITHHASH": "with_hash", b"WITHCOORD": "with_coord",
          b"ANY": "any"}  # fmt: skip


def _options(
    argv: list[bytes], at: int, search: _Search, members: SortedSet | None, kind: int
) -> ErrorReply | None:
    """Read the options from ``argv[at:]`` into ``search``, in Redis's order
    of checks; the first error."""
    geosearch = bool(kind & _GEOSEARCH)
    while at < len(argv):
        word, left = argv[at].upper(), len(argv) - at - 1
        if word in _FLAGS:
            setattr(search, _FLAGS[word], True)
            at += 1
        elif word in (b"ASC", b"DESC"):
            search.descending, at = word == b"DESC", at + 1
        elif word == b"COUNT" and left >= 1:
            count = parse_int(argv[at + 1])
            if count is None:
                return NOT_AN_INTEGER
            if count <= 0:
                return ErrorReply("ERR COUNT must be > 0")
            search.count, at = count, at + 2
        elif (
            word in (b"STORE", b"STOREDIST") and left >= 1 and not kind & (_READ_ONLY | _GEOSEARCH)
        ):
            search.store, search.store_dist, at = argv[at + 1], word == b"STOREDIST", at + 2
        elif word == b"STOREDIST" and geosearch and kind & _STORE:
            search.store_dist, at = True, at + 1
        elif word == b"FROMMEMBER" and left >= 1 and geosearch and not search.from_lonlat:
            if members is not None:
                position = _member_position(members, argv[at + 1])
                if position is None:
                    return _NO_MEMBER
                search.center = position
            search.from_member, at = True, at + 2
        elif word == b"FROMLONLAT" and left >= 2 and geosearch and not search.from_member:
            position = _position(argv[at + 1], argv[at + 2])
            if isinstance(position, ErrorReply):
                return position
            search.center, search.from_lonlat, at = position, True, at + 3
        elif word == b"BYRADIUS" and left >= 2 and geosearch and search.box is None:
            radius = _radius(argv, at + 1)
            if isinstance(radius, ErrorReply):
                return radius
            search.radius, at = radius, at + 3
        elif word == b"BYBOX" and left >= 3 and geosearch and search.radius is None:
            box = _box(argv, at + 1)
            if isinstance(box, ErrorReply):
                return box
            search.box, at = box, at + 4
        else:
            return SYNTAX_ERROR
    return None


def _search(keyspace: Keyspace, argv: list[bytes], kind: int, source: int) -> Reply:
    """Every geo search: GEOSEARCH (``kind`` has _GEOSEARCH), GEOSEARCHSTORE
    (and _STORE), GEORADIUS (center from argv), GEORADIUSBYMEMBER (center a
    member), _RO forms (_READ_ONLY) - ``source`` the index of the key."""
    members = sorted_sets.sorted_set(keyspace, argv[source])
    if isinstance(members, ErrorReply):
        return members
    search = _Search(store=argv[1] if kind & _STORE else None)
    at = source + 1
    if not kind & _GEOSEARCH:
        if kind & _BY_MEMBER:
            if members is not None:
                position = _member_position(members, argv[2])
                if position is None:
                    return _NO_MEMBER
                search.center = position
            at = 3
        else:
            position = _position(argv[2], argv[3])
            if isinstance(position, ErrorReply):
                return position
            search.center, at = position, 4
        if members is not None or not kind & _BY_MEMBER:
            radius = _radius(argv, at)
            if isinstance(radius, ErrorReply):
                return radius
            search.radius = radius
        at += 2
    error = _options(argv, at, search, members, kind)
    if error is not None:
        return error
    if search.store is not None and (search.with_dist or search.with_hash or search.with_coord):
        name = "GEOSEARCHSTORE" if kind & _STORE else "STORE option in GEORADIUS"
        return ErrorReply(
            f"ERR {name} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )
    command = argv[0].decode("utf-8", "replace")
    if kind & _GEOSEARCH and not (search.from_member or search.from_lonlat):
        return ErrorReply(
            f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {command}"
        )
    if kind & _GEOSEARCH and search.radius is None and search.box is None:
        return ErrorReply(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {command}")
    if search.any and not search.count:
        return ErrorReply("ERR the ANY argument requires COUNT argument")
    if members is None:
        if search.store is not None:
            keyspace.delete_announced(search.store)
            return 0
        return []
    event = b"geosearchstore" if kind & _STORE else b"georadiusstore"
    return _found(keyspace, members, search, event)


def _found(keyspace: Keyspace, members: SortedSet, search: _Search, event: bytes) -> Reply:
    """The search run on ``members``, answered or stored."""
    assert search.center is not None
    if search.box is not None:
        width, height, conversion = search.box
        shape = Shape(*search.center, conversion, width=width, height=height, is_box=True)
    else:
        assert search.radius is not None
        radius, conversion = search.radius
        shape = Shape(*search.center, conversion, radius=radius)
    points = _points(members, shape, search.count if search.any else 0)
    descending = search.descending
    if search.count and descending is None and not search.any:
        descending = False  # the nearest COUNT: sorted, as Redis does
    if descending is not None:
        points.sort(key=lambda point: point[1], reverse=descending)
    if search.count:
        points = points[: search.count]
    if search.store is not None:
        return sorted_sets.store_result(
            keyspace,
            search.store,
            ((member, meters / conversion if search.store_dist else score)
             for member, meters, score in points),
            event,
        )  # fmt: skip
    return [_reply(point, search, conversion) for point in points]


def _reply(point: tuple[bytes, float, float], search: _Search, conversion: float) -> Reply:
    member, meters, score = point
    if not (search.with_dist or search.with_hash or search.with_coord):
        return member
    reply: list[Reply] = [member]
    if search.with_dist:
        reply.append(_distance(meters, conversion))
    if search.with_hash:
        reply.append(int(score))
    if search.with_coord:
        longitude, latitude = geohash.position_of(score)
        reply.append([_coordinate(longitude), _coordinate(latitude)])
    return reply


def _points(members: SortedSet, shape: Shape, limit: int) -> list[tuple[bytes, float, float]]:
    """``(member, meters, score)`` of the members within ``shape``, cell by
    cell in Redis's order, each cell's in score order; at most ``limit``
    (0: all). A cell the same as the one searched before it is skipped - but
    not after the center's, as Redis's check of "the last one searched"
    starts from index 0 (huge radii make neighbours repeat)."""
    found: list[tuple[bytes, float, float]] = []
    cells = shape.cells()
    last = 0
    for index, cell in enumerate(cells):
        if cell is None or (last and cell == cells[last]):
            continue
        if found and limit and len(found) >= limit:
            break
        high = geohash.Cell(cell.bits + 1, cell.step).aligned()
        for score, member in members.order.irange((cell.aligned(),), (high,), (True, False)):
            meters = shape.distance_if_within(*geohash.position_of(score))
            if meters is None:
                continue
            found.append((member, meters, score))
            if limit and len(found) >= limit:
                break
        last = index
    return found


def geosearch(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GEOSEARCH key FROMMEMBER member | FROMLONLAT longitude latitude
    BYRADIUS radius unit | BYBOX width height unit [ASC | DESC] [COUNT n
    [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]."""
    return _search(keyspace, argv, _GEOSEARCH, source=1)


def geosearchstore(keyspace: Keyspace, argv: list[bytes]) -> Reply:
    """GEOSEARCHSTORE destination source ... [STOREDIST]: how many stored."""
    return _search(keyspace, argv, _GEOSEARCH | _STORE, source=2)


def georadius(keyspace: Keyspace, argv: list[bytes], read_only: bool = False) -> Reply:
    """GEORADIUS key longitude latitude radius unit [options] [STORE key |
    STOREDIST key], and GEORADIUS_RO."""
    return _search(keyspace, argv, _READ_ONLY if read_only else 0, source=1)


def georadiusbymember(keyspace: Keyspace, argv: list[bytes], read_only: bool = False) -> Reply:
    """GEORADIUSBYMEMBER key member radius unit [options], and its _RO form."""
    return _search(keyspace, argv, _BY_MEMBER | (_READ_ONLY if read_only else 0), source=1)
