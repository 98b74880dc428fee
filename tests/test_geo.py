"""The one distance module: great-circle distances (scalar, vectorised, per row) and units."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from geopy.distance import great_circle

from dashboard.geo import (
    distance_km,
    distances_km,
    format_distance,
    frame_distances_km,
    from_km,
    rounded_in,
    to_km,
)


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ((51.5074, -0.1278), (48.8566, 2.3522), 343.5),  # London-Paris, a well-known figure
        ((0.0, 0.0), (0.0, 0.0), 0.0),  # same point: exactly zero, no NaN from rounding
        ((0.0, 179.9), (0.0, -179.9), 22.2),  # across the antimeridian: short way round
        ((90.0, 0.0), (-90.0, 0.0), 20015.1),  # pole to pole: half the circumference
        ((-33.8688, 151.2093), (-37.8136, 144.9631), 713.4),  # Sydney-Melbourne, south
    ],
)
def test_distance_km_known_distances(a, b, km):
    assert distance_km(*a, *b) == pytest.approx(km, abs=0.5)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((51.5074, -0.1278), (48.8566, 2.3522)),
        ((35.6762, 139.6503), (-33.8688, 151.2093)),  # Tokyo-Sydney, across the equator
        ((64.1466, -21.9426), (-54.8019, -68.303)),  # Reykjavik-Ushuaia, nearly pole to pole
    ],
)
def test_distance_km_agrees_with_geopy_great_circle(a, b):
    # geopy is the reference the module's docstring promises to match (same Earth radius).
    assert distance_km(*a, *b) == pytest.approx(great_circle(a, b).km, rel=1e-9)


def test_earth_radius_is_geopys():
    from geopy.distance import EARTH_RADIUS

    from dashboard.geo import EARTH_RADIUS_KM

    assert EARTH_RADIUS_KM == EARTH_RADIUS


def test_distances_km_is_the_scalar_function_over_arrays():
    lats = np.array([48.8566, 51.5074, np.nan])
    lons = np.array([2.3522, -0.1278, 1.0])
    arr = distances_km(48.8566, 2.3522, lats, lons)
    assert arr.shape == (3,)
    assert arr[0] == pytest.approx(0.0)
    assert arr[1] == pytest.approx(distance_km(48.8566, 2.3522, 51.5074, -0.1278))
    assert math.isnan(arr[2])  # a site without a point has no distance, not 0


def test_frame_distances_km_keeps_the_index_and_reads_text_cells():
    df = pd.DataFrame(
        {"lat": ["48.8566", "51.5074", ""], "lon": [2.3522, -0.1278, 1.0]}, index=[7, 9, 11]
    )
    d = frame_distances_km(df, 48.8566, 2.3522, "lat", "lon")
    assert list(d.index) == [7, 9, 11]
    assert d.isna().tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("km", "units", "shown"),
    [
        (100.0, "km", 100.0),
        (160.9344, "mi", 100.0),  # exactly 100 miles
        (1.05, "km", 1.1),  # one decimal on the page (round half to even of the float)
        (float("nan"), "mi", None),  # no point: passes through as NaN
    ],
)
def test_rounded_in_units(km, units, shown):
    out = rounded_in(km, units)
    if shown is None:
        assert math.isnan(out)
    else:
        assert out == pytest.approx(shown)


def test_km_and_miles_round_trip():
    assert to_km(from_km(123.4, "mi"), "mi") == pytest.approx(123.4)
    assert to_km(50, "km") == 50


def test_format_distance_says_the_unit_with_thousands():
    assert format_distance(1.609344 * 2, "mi") == "2.0 mi"
    assert format_distance(12345.67, "km") == "12,345.7 km"
