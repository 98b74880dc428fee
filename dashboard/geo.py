"""Distances on the globe: haversine (scalar or vectorised), nearest sites, a map view that fits.

Every function takes and returns coordinates in (latitude, longitude) order, in degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
KM_PER_MILE = 1.609344
DISTANCE_COLUMN = "distance_km"
# pydeck zoom at which one tile is 256 px wide over 360 degrees of longitude.
WORLD_ZOOM_DEGREES = 360.0
MAX_ZOOM = 12.0
MIN_ZOOM = 0.5


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Any:
    """Great-circle distance in km; accepts floats, numpy arrays or pandas Series (broadcasts).

    Returns a float for scalars, an ndarray for arrays, a Series (same index) for Series.
    """
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    if isinstance(lat2, pd.Series):
        return pd.Series(np.asarray(d, dtype=float), index=lat2.index)
    if isinstance(lat1, pd.Series):
        return pd.Series(np.asarray(d, dtype=float), index=lat1.index)
    if np.ndim(d) == 0:
        return float(d)
    return d


def distances_km(
    df: pd.DataFrame, lat: float, lon: float, lat_col: str = "latitude", lon_col: str = "longitude"
) -> pd.Series:
    """Distance in km from (lat, lon) to each row's point (NaN where the row has no point)."""
    lats = pd.to_numeric(df[lat_col], errors="coerce").to_numpy(dtype=float)
    lons = pd.to_numeric(df[lon_col], errors="coerce").to_numpy(dtype=float)
    d = haversine_km(lat, lon, lats, lons)
    return pd.Series(np.asarray(d, dtype=float), index=df.index, name=DISTANCE_COLUMN)


def nearest(
    df: pd.DataFrame,
    lat: float,
    lon: float,
    radius_km: float | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Rows sorted by distance from (lat, lon) with a `distance_km` column; ties keep row order.

    Rows without a point are dropped; `radius_km` keeps rows within it; `limit` the first n.
    """
    out = df.copy()
    out[DISTANCE_COLUMN] = distances_km(df, lat, lon)
    out = out[out[DISTANCE_COLUMN].notna()]
    if radius_km is not None:
        out = out[out[DISTANCE_COLUMN] <= radius_km]
    # A stable sort keeps record order between equally distant sites (e.g. two sites in one city).
    out = out.sort_values(DISTANCE_COLUMN, kind="mergesort")
    if limit is not None:
        out = out.head(limit)
    return out


@dataclass(frozen=True)
class Bounds:
    """A latitude/longitude box."""

    south: float
    west: float
    north: float
    east: float

    @property
    def center(self) -> tuple[float, float]:
        """The box's middle as (lat, lon)."""
        return ((self.south + self.north) / 2, (self.west + self.east) / 2)


def bounds(
    df: pd.DataFrame, lat_col: str = "latitude", lon_col: str = "longitude"
) -> Bounds | None:
    """The box around every row that has a point (None when no row has one)."""
    lats = pd.to_numeric(df[lat_col], errors="coerce")
    lons = pd.to_numeric(df[lon_col], errors="coerce")
    ok = lats.notna() & lons.notna()
    if not ok.any():
        return None
    return Bounds(
        float(lats[ok].min()), float(lons[ok].min()), float(lats[ok].max()), float(lons[ok].max())
    )


def fit_view(b: Bounds | None, padding: float = 1.2) -> tuple[float, float, float]:
    """A (lat, lon, zoom) that shows the whole box on a roughly 2:1 map (world view when None)."""
    if b is None:
        return (20.0, 0.0, 1.0)
    lat, lon = b.center
    span_lon = max(b.east - b.west, 1e-6) * padding
    # Latitude degrees are stretched by Mercator; compare in lon-equivalent degrees.
    span_lat = max(b.north - b.south, 1e-6) * padding * 2 / max(math.cos(math.radians(lat)), 0.1)
    span = max(span_lon, span_lat)
    zoom = math.log2(WORLD_ZOOM_DEGREES / span) + 1
    return (lat, lon, float(min(MAX_ZOOM, max(MIN_ZOOM, zoom))))
