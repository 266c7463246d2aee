"""Geohashes as Redis 7.0 computes them (its geohash.c and
geohash_helper.c), in the same double arithmetic, so that a position's
score, its decoded coordinates, distances and the boxes a search covers are
Redis's to the last bit.

A position is a 52-bit score: 26 bits of latitude (over -85.05112878 to
85.05112878, the Web Mercator limits) interleaved with 26 bits of longitude
(-180 to 180), latitude in the even bits. A search by radius or box covers
the area with the cell holding the center, at a step (bits per coordinate)
estimated from the radius, and its eight neighbours - fewer where a
neighbour lies wholly outside the area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LONG_MIN, LONG_MAX = -180.0, 180.0
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
STEP_MAX = 26  # 52 bits
EARTH_RADIUS = 6372797.560856  # meters, as Redis
_MERCATOR_MAX = 20037726.37
_DEGREES = math.pi / 180.0
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA
_U64 = (1 << 64) - 1

Range = tuple[float, float]
WGS84: tuple[Range, Range] = ((LONG_MIN, LONG_MAX), (LAT_MIN, LAT_MAX))
"""The longitude and latitude ranges of a score."""
STANDARD: tuple[Range, Range] = ((LONG_MIN, LONG_MAX), (-90.0, 90.0))
"""The ranges of a standard geohash string (GEOHASH)."""


def _spread(value: int) -> int:
    """The 32 bits of ``value`` moved to the even bits of 64."""
    value &= 0xFFFFFFFF
    value = (value | (value << 16)) & 0x0000FFFF0000FFFF
    value = (value | (value << 8)) & 0x00FF00FF00FF00FF
    value = (value | (value << 4)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value << 2)) & 0x3333333333333333
    return (value | (value << 1)) & _EVEN


def _squash(value: int) -> int:
    """The even bits of ``value``, packed into 32 (``_spread`` undone)."""
    value &= _EVEN
    value = (value | (value >> 1)) & 0x3333333333333333
    value = (value | (value >> 2)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value >> 4)) & 0x00FF00FF00FF00FF
    value = (value | (value >> 8)) & 0x0000FFFF0000FFFF
    return (value | (value >> 16)) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Cell:
    """A geohash cell: ``bits`` (2 x ``step`` bits, interleaved)."""

    bits: int
    step: int

    def moved(self, east: int, north: int) -> Cell:
        """The neighbouring cell ``east`` (-1, 0, 1) and ``north`` of this
        one, wrapping around at the edges as Redis's move_x / move_y do."""
        bits = self.bits
        width = 64 - self.step * 2
        if east:
            bits = _moved(bits, _ODD, _EVEN >> width, east, _ODD >> width)
        if north:
            bits = _moved(bits, _EVEN, _ODD >> width, north, _EVEN >> width)
        return Cell(bits, self.step)

    def aligned(self) -> int:
        """The cell as the lowest 52-bit score within it."""
        return (self.bits << (52 - self.step * 2)) & _U64

    def area(self, ranges: tuple[Range, Range] = WGS84) -> tuple[Range, Range]:
        """The longitudes and latitudes the cell covers (min, max each)."""
        (long_min, long_max), (lat_min, lat_max) = ranges
        latitude_index = _squash(self.bits)
        longitude_index = _squash(self.bits >> 1)
        cells = float(1 << self.step)
        lat_scale, long_scale = lat_max - lat_min, long_max - long_min
        return (
            (
                long_min + (longitude_index * 1.0 / cells) * long_scale,
                long_min + (((longitude_index + 1) & 0xFFFFFFFF) * 1.0 / cells) * long_scale,
            ),
            (
                lat_min + (latitude_index * 1.0 / cells) * lat_scale,
                lat_min + (((latitude_index + 1) & 0xFFFFFFFF) * 1.0 / cells) * lat_scale,
            ),
        )


def _moved(bits: int, axis: int, others: int, direction: int, keep: int) -> int:
    """``bits`` with the coordinate in the ``axis`` bits moved one cell,
    through the interleaved bits (``others`` fill the gaps while it
    carries), as Redis's geohash_move_x / _y."""
    coordinate, rest = bits & axis, bits & ~axis & _U64
    if direction > 0:
        coordinate = (coordinate + (others + 1)) & _U64
    else:
        coordinate = ((coordinate | others) - (others + 1)) & _U64
    return (coordinate & keep) | rest


def encode(longitude: float, latitude: float, step: int = STEP_MAX,
           ranges: tuple[Range, Range] = WGS84) -> Cell | None:  # fmt: skip
    """The cell of ``step`` holding the position; ``None`` outside the
    ranges or the Web Mercator limits (Redis's geohashEncode)."""
    (long_min, long_max), (lat_min, lat_max) = ranges
    if not (LONG_MIN <= longitude <= LONG_MAX and LAT_MIN <= latitude <= LAT_MAX):
        return None
    if not (lat_min <= latitude <= lat_max and long_min <= longitude <= long_max):
        return None
    lat_offset = (latitude - lat_min) / (lat_max - lat_min) * float(1 << step)
    long_offset = (longitude - long_min) / (long_max - long_min) * float(1 << step)
    return Cell(_spread(int(lat_offset)) | (_spread(int(long_offset)) << 1), step)


def score_of(longitude: float, latitude: float) -> int | None:
    """The 52-bit score GEOADD stores for a position."""
    cell = encode(longitude, latitude)
    return None if cell is None else cell.aligned()


def _as_uint64(score: float) -> int:
    """C's ``(uint64_t)score`` on x86-64: truncated, negatives wrapped;
    at or past 2^64, or -2^63 and below, what the conversion instruction
    gives."""
    if score >= 2.0**63:
        return int(score - 2.0**63) ^ (1 << 63) if score < 2.0**64 else 0
    if score <= -(2.0**63) or math.isinf(score):
        return 1 << 63
    return int(score) & _U64


def position_of(score: float) -> tuple[float, float]:
    """The longitude and latitude a score stands for: its cell's center,
    clamped to the limits (Redis's decodeGeohash; any score decodes)."""
    (long_min, long_max), (lat_min, lat_max) = Cell(_as_uint64(score), STEP_MAX).area()
    longitude = min(max((long_min + long_max) / 2, LONG_MIN), LONG_MAX)
    latitude = min(max((lat_min + lat_max) / 2, LAT_MIN), LAT_MAX)
    return longitude, latitude


def latitude_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS * math.fabs(lat2 * _DEGREES - lat1 * _DEGREES)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Meters between two positions on a sphere (haversine), as Redis
    computes them."""
    v = math.sin((lon2 * _DEGREES - lon1 * _DEGREES) / 2)
    if v == 0.0:
        return latitude_distance(lat1, lat2)
    lat1r, lat2r = lat1 * _DEGREES, lat2 * _DEGREES
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS * math.asin(math.sqrt(a))


@dataclass(frozen=True, slots=True)
class Shape:
    """A search area: a circle of ``radius`` or a box of ``width`` by
    ``height``, in a unit of ``conversion`` meters, around (``longitude``,
    ``latitude``)."""

    longitude: float
    latitude: float
    conversion: float
    radius: float = 0.0
    width: float = 0.0
    height: float = 0.0
    is_box: bool = False

    def distance_if_within(self, longitude: float, latitude: float) -> float | None:
        """Meters from the center to the position, if it lies within."""
        if not self.is_box:
            meters = distance(self.longitude, self.latitude, longitude, latitude)
            return None if meters > self.radius * self.conversion else meters
        if latitude_distance(latitude, self.latitude) > self.height * self.conversion / 2:
            return None
        across = distance(longitude, latitude, self.longitude, latitude)
        if across > self.width * self.conversion / 2:
            return None
        return distance(self.longitude, self.latitude, longitude, latitude)

    def _bounds(self) -> tuple[float, float, float, float]:
        """Min longitude, min latitude, max longitude, max latitude."""
        half_height = self.height / 2 if self.is_box else self.radius
        half_width = self.width / 2 if self.is_box else self.radius
        height, width = self.conversion * half_height, self.conversion * half_width
        lat_delta = height / EARTH_RADIUS / _DEGREES
        top = width / EARTH_RADIUS / math.cos((self.latitude + lat_delta) * _DEGREES) / _DEGREES
        bottom = width / EARTH_RADIUS / math.cos((self.latitude - lat_delta) * _DEGREES) / _DEGREES
        long_delta = bottom if self.latitude < 0 else top
        return (
            self.longitude - long_delta,
            self.latitude - lat_delta,
            self.longitude + long_delta,
            self.latitude + lat_delta,
        )

    def cells(self) -> list[Cell | None]:
        """The cells to search, in Redis's order - the center's, then north,
        south, east, west, north-east, north-west, south-east, south-west -
        ``None`` for a neighbour left out (Redis's
        geohashCalculateAreasByShapeWGS84)."""
        min_lon, min_lat, max_lon, max_lat = self._bounds()
        if self.is_box:
            meters = math.sqrt(
                (self.width / 2) * (self.width / 2) + (self.height / 2) * (self.height / 2)
            )
        else:
            meters = self.radius
        step = _step_for(meters * self.conversion, self.latitude)
        cell = encode(self.longitude, self.latitude, step)
        assert cell is not None  # the center was checked against the limits
        north, south, east, west = (cell.moved(0, 1), cell.moved(0, -1),
                                    cell.moved(1, 0), cell.moved(-1, 0))  # fmt: skip
        if step > 1 and (
            north.area()[1][1] < max_lat
            or south.area()[1][0] > min_lat
            or east.area()[0][1] < max_lon
            or west.area()[0][0] > min_lon
        ):
            step -= 1
            cell = encode(self.longitude, self.latitude, step)
            assert cell is not None
        around: dict[tuple[int, int], Cell | None] = {
            (dx, dy): cell.moved(dx, dy)
            for dx, dy in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))
        }
        (long_low, long_high), (lat_low, lat_high) = cell.area()
        if step >= 2:
            dropped = set()
            if lat_low < min_lat:
                dropped |= {(0, -1), (-1, -1), (1, -1)}
            if lat_high > max_lat:
                dropped |= {(0, 1), (1, 1), (-1, 1)}
            if long_low < min_lon:
                dropped |= {(-1, 0), (-1, -1), (-1, 1)}
            if long_high > max_lon:
                dropped |= {(1, 0), (1, -1), (1, 1)}
            for direction in dropped:
                around[direction] = None
        return [cell, *around.values()]


def _step_for(meters: float, latitude: float) -> int:
    """The bits per coordinate of the cells a search of ``meters`` covers
    (Redis's geohashEstimateStepsByRadius)."""
    if meters == 0:
        return 26
    step = 1
    while meters < _MERCATOR_MAX:
        meters *= 2
        step += 1
    step -= 2
    if latitude > 66 or latitude < -66:
        step -= 1
        if latitude > 80 or latitude < -80:
            step -= 1
    return min(max(step, 1), 26)
