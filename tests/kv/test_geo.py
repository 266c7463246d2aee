"""Geo where ranet's own code shows (kv/geo.py, geohash.py): a search
finds exactly the members within its area, checked against a brute-force
scan; coordinates keep Redis's text through forwarding; the geohash cell
arithmetic. Replies are compared with redis-server in
test_geo_against_redis.py."""

from __future__ import annotations

import random

import msgpack
import pytest

from ranet.kv import geohash
from ranet.kv.reply import Double, from_wire, to_wire
from ranet.kv.resp import encode_reply
from ranet.kv.store import KVStore
from tests.kv.store_fixtures import call


def _brute_force(store: KVStore, key: str, longitude: float, latitude: float,
                 meters: float) -> set[bytes]:  # fmt: skip
    positions = call(store, "ZRANGE", key, 0, -1, "WITHSCORES")
    assert isinstance(positions, list)
    found = set()
    for member, score in positions:
        if geohash.distance(longitude, latitude, *geohash.position_of(score)) <= meters:
            found.add(member)
    return found


@pytest.mark.parametrize("center", [(13.36, 38.11), (-122.4, 37.8), (151.2, -33.9), (0.0, 0.0)])
def test_a_search_finds_exactly_the_members_within_its_radius(
    center: tuple[float, float],
) -> None:
    """Members scattered from meters to hundreds of kilometers away; radii
    at every scale: the cells the search covers miss none and the distance
    check admits no other."""
    rng = random.Random(hash(center) & 0xFFFF)
    store = KVStore()
    longitude, latitude = center
    for n in range(400):
        spread = rng.choice([0.0001, 0.01, 0.5, 5.0])
        x = longitude + rng.uniform(-spread, spread)
        y = latitude + rng.uniform(-spread, spread)
        call(store, "GEOADD", "g", f"{x:.6f}", f"{y:.6f}", f"m{n}")
    for meters in (5, 80, 700, 4_000, 30_000, 250_000, 1_500_000):
        found = call(store, "GEOSEARCH", "g", "FROMLONLAT", longitude, latitude,
                     "BYRADIUS", meters, "m")  # fmt: skip
        assert isinstance(found, list)
        assert len(found) == len(set(found))
        assert set(found) == _brute_force(store, "g", longitude, latitude, meters)


def test_the_cells_of_a_search_cover_its_bounding_box() -> None:
    """For radii at every scale around many centers, the cells kept (the
    center's and the neighbours not left out) together reach past each side
    of the area's bounding box - what makes the search complete."""
    rng = random.Random(2)
    for _ in range(500):
        longitude, latitude = rng.uniform(-170, 170), rng.uniform(-60, 60)
        shape = geohash.Shape(longitude, latitude, 1.0, radius=10 ** rng.uniform(0, 6.5))
        cells = [cell for cell in shape.cells() if cell is not None]
        areas = [cell.area() for cell in cells]
        min_lon, min_lat, max_lon, max_lat = shape._bounds()
        assert min(area[0][0] for area in areas) <= max(min_lon, -180)
        assert max(area[0][1] for area in areas) >= min(max_lon, 180)
        assert min(area[1][0] for area in areas) <= max(min_lat, geohash.LAT_MIN)
        assert max(area[1][1] for area in areas) >= min(max_lat, geohash.LAT_MAX)


def test_a_neighbour_is_one_cell_over() -> None:
    cell = geohash.encode(13.36, 38.11, step=10)
    assert cell is not None
    (_, east), latitudes = cell.area()
    (next_west, _), next_latitudes = cell.moved(1, 0).area()
    assert next_west == pytest.approx(east) and next_latitudes == latitudes
    longitudes, (_, north) = cell.area()
    next_longitudes, (next_south, _) = cell.moved(0, 1).area()
    assert next_south == pytest.approx(north) and next_longitudes == longitudes
    assert cell.moved(1, 1).moved(-1, -1) == cell


def test_coordinates_keep_redis_text_in_both_protocols_and_through_forwarding() -> None:
    coordinate = Double(b"13.36138933897018433")
    assert encode_reply([coordinate]) == b"*1\r\n$20\r\n13.36138933897018433\r\n"
    assert encode_reply([coordinate], resp3=True) == b"*1\r\n,13.36138933897018433\r\n"
    forwarded = from_wire(msgpack.unpackb(msgpack.packb(to_wire([[b"m", [coordinate]]]))))
    assert forwarded == [[b"m", [coordinate]]]


def test_a_store_replaces_the_destination_and_an_empty_result_removes_it() -> None:
    store = KVStore()
    call(store, "GEOADD", "g", "13.36", "38.11", "a", "13.37", "38.12", "b")
    call(store, "SET", "dest", "x")
    call(store, "EXPIRE", "dest", 100)
    assert call(store, "GEOSEARCHSTORE", "dest", "g", "FROMMEMBER", "a", "BYRADIUS", 5, "km") == 2
    assert call(store, "TYPE", "dest").text == "zset"  # type: ignore[union-attr]
    assert call(store, "TTL", "dest") == -1
    assert call(store, "GEOSEARCHSTORE", "dest", "g", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "m") == 0
    assert call(store, "EXISTS", "dest") == 0
