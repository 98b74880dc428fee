"""Distances, nearest sites and map views (pure functions, no gazetteer)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.geo import KM_PER_MILE, bounds, distances_km, fit_view, haversine_km, nearest


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        ((51.5074, -0.1278), (48.8566, 2.3522), 343.5),  # London-Paris, a well-known figure
        ((0.0, 0.0), (0.0, 0.0), 0.0),  # same point: exactly zero, no NaN from rounding
        ((0.0, 179.9), (0.0, -179.9), 22.2),  # across the antimeridian: short way round
        ((90.0, 0.0), (-90.0, 0.0), 20015.1),  # pole to pole: half the circumference
        (
            (-33.8688, 151.2093),
            (-37.8136, 144.9631),
            713.4,
        ),  # Sydney-Melbourne, southern hemisphere
    ],
)
def test_haversine_known_distances(a, b, km):
    assert haversine_km(*a, *b) == pytest.approx(km, abs=0.5)


def test_haversine_is_vectorised_for_numpy_and_pandas():
    lats = np.array([48.8566, 51.5074])
    lons = np.array([2.3522, -0.1278])
    arr = haversine_km(48.8566, 2.3522, lats, lons)
    assert arr.shape == (2,) and arr[0] == pytest.approx(0.0)
    s = haversine_km(48.8566, 2.3522, pd.Series(lats, index=[7, 9]), pd.Series(lons, index=[7, 9]))
    assert isinstance(s, pd.Series) and list(s.index) == [7, 9]


def test_km_per_mile():
    assert pytest.approx(1.609344) == KM_PER_MILE


def _sites() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["a", "b", "c", "d"],
            "latitude": [48.8566, 51.5074, None, 48.8566],
            "longitude": [2.3522, -0.1278, 1.0, 2.3522],
        }
    )


def test_distances_km_keeps_index_and_gives_nan_without_point():
    d = distances_km(_sites(), 48.8566, 2.3522)
    assert d.isna().tolist() == [False, False, True, False]


def test_nearest_sorts_by_distance_with_stable_ties_and_drops_pointless_rows():
    out = nearest(_sites(), 48.8, 2.3)
    # a and d are equally far: record order decides.
    assert out["site_id"].tolist() == ["a", "d", "b"]
    assert out["distance_km"].is_monotonic_increasing


def test_nearest_radius_and_limit():
    assert nearest(_sites(), 48.8, 2.3, radius_km=100)["site_id"].tolist() == ["a", "d"]
    assert nearest(_sites(), 48.8, 2.3, limit=1)["site_id"].tolist() == ["a"]


def test_bounds_and_fit_view():
    b = bounds(_sites())
    assert (b.south, b.north) == pytest.approx((48.8566, 51.5074))
    lat, lon, zoom = fit_view(b)
    assert b.south <= lat <= b.north and b.west <= lon <= b.east and 0.5 <= zoom <= 12
    assert bounds(_sites().iloc[2:3]) is None
    assert fit_view(None) == (20.0, 0.0, 1.0)
    # A single point must not produce an infinite zoom.
    assert fit_view(bounds(_sites().iloc[:1]))[2] <= 12
