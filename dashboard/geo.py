"""The only distance code: great-circle distances (scalar and vectorised), km <-> miles.

Every function takes coordinates in (latitude, longitude) order, in degrees. The Earth radius is
geopy's (`geopy.distance.EARTH_RADIUS`, the IUGG mean radius), so the numbers agree with geopy's
`great_circle` (a test checks both). Only numpy is imported here: the place index loads this
module at start, and pandas or geopy would triple its import time.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import pandas as pd

EARTH_RADIUS_KM = 6371.009  # = geopy.distance.EARTH_RADIUS

KM_PER_MILE = 1.609344
UNITS = ("km", "mi")
DEFAULT_UNITS = "km"
DISTANCE_DECIMALS = 1  # what the page shows
EXPORT_DISTANCE_DECIMALS = 3  # what a download keeps


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in km between two (lat, lon) points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distances_km(lat: float, lon: float, lats: ArrayLike, lons: ArrayLike) -> np.ndarray:
    """Great-circle distances in km from one (lat, lon) to arrays of points (NaN stays NaN)."""
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    p1, p2 = np.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def frame_distances_km(
    df: pd.DataFrame, lat: float, lon: float, lat_col: str, lon_col: str
) -> pd.Series:
    """Distance in km from (lat, lon) to each row's point (NaN where the row has no point)."""
    import pandas as pd

    lats = pd.to_numeric(df[lat_col], errors="coerce").to_numpy(dtype=float)
    lons = pd.to_numeric(df[lon_col], errors="coerce").to_numpy(dtype=float)
    return pd.Series(distances_km(lat, lon, lats, lons), index=df.index, dtype=float)


def to_km(value: float, units: str) -> float:
    """A distance in `units` ("km" or "mi") converted to kilometres."""
    return value * KM_PER_MILE if units == "mi" else value


def from_km(value_km: float, units: str) -> float:
    """A distance in kilometres converted to `units` ("km" or "mi")."""
    return value_km / KM_PER_MILE if units == "mi" else value_km


def rounded_in(value_km: Any, units: str, decimals: int = DISTANCE_DECIMALS) -> Any:
    """A km distance in `units`, rounded for display (NaN/None passes through)."""
    if value_km is None or math.isnan(float(value_km)):
        return value_km
    return round(from_km(float(value_km), units), decimals)


def format_distance(value_km: float, units: str) -> str:
    """A km distance as text in `units`: "1,234.5 km"."""
    return f"{from_km(value_km, units):,.{DISTANCE_DECIMALS}f} {units}"
