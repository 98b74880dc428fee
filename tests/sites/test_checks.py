"""Point checks: 0,0, swapped or sign-flipped points and points in another country are caught;
coarse coasts, islands 1:110m leaves out and countries it does not have are never flagged."""

from __future__ import annotations

import json
import math
import time

import pytest
from paths import OUTLINES, SECOND_TABLE, SEED_TABLE

from dashboard.sites.build import default_shapes
from dashboard.sites.checks import (
    LATITUDE_SIGN,
    LONGITUDE_SIGN,
    NULL_ISLAND,
    SWAPPED,
    CountryShapes,
    row_suspect,
    short_reason,
    summarise,
    suspect_point,
    unflagged_suspects,
)
from dashboard.sites.table import read_table


@pytest.fixture(scope="module")
def shapes() -> CountryShapes:
    """The shipped Natural Earth 1:110m outlines, indexed once."""
    with OUTLINES.open(encoding="utf-8") as fh:
        return CountryShapes.from_geojson(json.load(fh))


@pytest.mark.parametrize(
    ("lat", "lon", "code", "expected"),
    [
        # a Paris row at 0,0, the usual placeholder for "no point"
        (0.0, 0.0, "FR", NULL_ISLAND),
        # a Paris row with lat/lon swapped: (2.35, 48.86) is off Somalia
        (2.35, 48.86, "FR", SWAPPED),
        # a Thessaloniki row swapped: lands in Saudi Arabia
        (22.93493, 40.64072, "GR", SWAPPED),
        # a Sydney row placed in Santiago de Chile: in range, wrong continent
        (-33.45, -70.67, "AU", "point lies 11,733 km outside Australia (in Chile)"),
        # a Madrid hospital filed under France: 343 km beyond the Pyrenees
        (40.42, -3.70, "FR", "point lies 343 km outside France (in Spain)"),
        # a Boston row that lost its longitude's minus sign: lands in Kyrgyzstan
        (42.36, 71.06, "US", LONGITUDE_SIGN),
        # a Sydney row that lost its latitude's minus sign: the North Pacific
        (33.87, 151.21, "AU", LATITUDE_SIGN),
        # a São Paulo row with its latitude's sign flipped: the middle of the Atlantic
        (23.55, -46.63, "BR", LATITUDE_SIGN),
        # a Lyon row placed correctly
        (45.76, 4.84, "FR", None),
        # coastal cities, where the coarse outline's coast is kilometres off
        (43.70, 7.27, "FR", None),  # Nice
        (41.39, 2.17, "ES", None),  # Barcelona
        (33.59, 130.40, "JP", None),  # Fukuoka
        (-12.46, 130.84, "AU", None),  # Darwin
        (24.55, -81.78, "US", None),  # Key West, 95 km from the outline
        # countries 1:110m does not have (or barely has): never flagged
        (1.29, 103.85, "SG", None),  # Singapore
        (22.32, 114.17, "HK", None),  # Hong Kong
        (35.90, 14.51, "MT", None),  # Valletta
        (49.61, 6.13, "LU", None),  # Luxembourg (a handful of vertices)
        (-33.45, -70.67, "SG", None),  # even a Singapore row placed in Chile is not judged
        # US sites far from the lower 48
        (21.31, -157.86, "US", None),  # Honolulu
        (61.22, -149.90, "US", None),  # Anchorage
        (18.47, -66.11, "US", None),  # San Juan filed under the United States
        # islands 1:110m leaves out, at sea: not judged, and no false sign flip near 0° or 0°E
        (39.57, 2.65, "ES", None),  # Palma de Mallorca, 190 km from Spain's outline
        (28.12, -15.43, "ES", None),  # Las Palmas de Gran Canaria
        (32.65, -16.91, "PT", None),  # Funchal, Madeira
        (33.50, 126.53, "KR", None),  # Jeju, 99 km from Korea's outline
        (26.21, 127.68, "JP", None),  # Naha, Okinawa
        (-20.88, 55.45, "FR", None),  # Saint-Denis, Réunion, filed under France
        # outline features without an ISO code of their own, counted with their country
        (35.34, 33.32, "CY", None),  # Kyrenia, in "N. Cyprus"
        (9.56, 44.06, "SO", None),  # Hargeisa, in "Somaliland"
        (42.66, 21.17, "XK", None),  # Pristina: Kosovo's iso_a3 is -99
        # no point, or no country
        (math.nan, math.nan, "FR", None),
        (None, None, "FR", None),
        (48.86, 2.35, "", None),
        (0.0, 0.0, "", NULL_ISLAND),  # 0,0 needs no country to be wrong
    ],
)
def test_suspect_point_real_examples(shapes, lat, lon, code, expected):
    assert suspect_point(lat, lon, code, shapes) == expected


def test_outline_codes_come_from_iso_a3_and_names(shapes):
    """The shipped file has only name/iso_a3/continent; France, Norway and Kosovo are there."""
    assert len(shapes) == 175  # 177 features: N. Cyprus and Somaliland join Cyprus and Somalia
    for code, name in (("FR", "France"), ("NO", "Norway"), ("XK", "Kosovo"), ("CY", "Cyprus")):
        assert shapes.knows(code) and shapes.name(code) == name
    assert not shapes.knows("SG") and not shapes.knows("")


def test_iso_a2_eh_is_preferred_to_a_minus_99_iso_a2():
    """Natural Earth's full files write ISO_A2 = -99 for France; ISO_A2_EH has FR."""
    square = [[[0, 40], [5, 40], [5, 45], [0, 45], [0, 40]]]
    data = {
        "features": [
            {
                "properties": {"ISO_A2": "-99", "ISO_A2_EH": "FR", "NAME": "France"},
                "geometry": {"type": "Polygon", "coordinates": square},
            }
        ]
    }
    shapes = CountryShapes.from_geojson(data)
    assert shapes.knows("FR") and shapes.contains("FR", 42, 2)


def test_ray_casting_honours_holes_and_distance_is_great_circle():
    """A square with a square hole (as South Africa has Lesotho) on the equator."""
    outer = [[0, -5], [10, -5], [10, 5], [0, 5], [0, -5]]
    hole = [[4, -1], [6, -1], [6, 1], [4, 1], [4, -1]]
    shapes = CountryShapes.from_geojson(
        {
            "features": [
                {
                    "properties": {"iso_a3": "GAB", "name": "Square"},
                    "geometry": {"type": "Polygon", "coordinates": [outer, hole]},
                }
            ]
        }
    )
    assert shapes.contains("GA", 0, 2)
    assert not shapes.contains("GA", 0, 5)  # in the hole
    assert not shapes.contains("GA", 0, 12)
    assert shapes.distance_km("GA", 0, 2) == 0
    assert shapes.distance_km("GA", 0, 5) == pytest.approx(111.2, abs=0.5)  # 1° to the hole
    assert shapes.distance_km("GA", 0, 11) == pytest.approx(111.2, abs=0.5)
    assert shapes.distance_km("GA", 6, 5) == pytest.approx(111.2, abs=0.5)  # to an edge's middle


def test_distance_across_the_antimeridian(shapes):
    """Fiji straddles 180°: a point just west of the line is near its eastern islands."""
    assert shapes.distance_km("FJ", -16.6, 179.9) < 100
    assert shapes.distance_km("FJ", -16.6, -179.9) < 100


def test_without_outlines_only_0_0_is_judged():
    empty = CountryShapes.empty()
    assert suspect_point(0.0, 0.0, "FR", empty) == NULL_ISLAND
    assert suspect_point(2.35, 48.86, "FR", empty) is None


def test_short_reasons_for_one_line_summaries(shapes):
    reasons = [
        NULL_ISLAND,
        SWAPPED,
        suspect_point(-33.45, -70.67, "AU", shapes),
        NULL_ISLAND,
    ]
    assert short_reason(SWAPPED) == "swapped lat/lon"
    assert summarise(reasons) == "0,0; swapped lat/lon; in another country"


def test_a_row_already_flagged_for_its_reason_is_not_reported_again(shapes):
    table = read_table(SEED_TABLE)
    table.loc[0, ["latitude", "longitude"]] = (0.0, 0.0)
    table.loc[1, ["latitude", "longitude"]] = (0.0, 0.0)
    table.loc[1, ["needs_review", "note"]] = (True, "point looks wrong (0,0 is not a place)")
    assert unflagged_suspects(table, shapes) == {"NCT04270409-001": NULL_ISLAND}


@pytest.mark.parametrize("path", [SEED_TABLE, SECOND_TABLE], ids=lambda p: p.name)
def test_every_row_of_the_shipped_tables_passes(path, shapes):
    """No false positives on real tables: 105 and 202 sites in 24 and 27 countries."""
    table = read_table(path)
    started = time.perf_counter()
    reasons = {r["site_id"]: row_suspect(r, shapes) for r in table.to_dict("records")}
    elapsed = time.perf_counter() - started
    assert {k: v for k, v in reasons.items() if v} == {}
    print(f"{path.name}: {len(table)} rows checked in {elapsed * 1000:.1f} ms")


def test_the_shipped_outlines_load_once(shapes):
    """build.default_shapes reads data/countries.geojson once per process."""
    assert default_shapes() is default_shapes()
    assert len(default_shapes()) == len(shapes)
