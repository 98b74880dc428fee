"""Plausibility checks on a site's point: why it cannot be right (0,0, swapped, in another country).

Pure functions over the country outlines passed in (`CountryShapes`, built once from the Natural
Earth 1:110m GeoJSON in `data/countries.geojson`). The outlines are coarse, so a point is only
judged when the evidence is strong: it is exactly 0,0; or it lies more than OUTSIDE_TOLERANCE_KM
from its country's outline and either lies inside another country, or lies far out at sea and
swapping latitude and longitude (or flipping a sign) puts it back in the country. Other points at
sea are not judged (1:110m leaves out islands such as the Balearics, the Canaries, the Azores,
Madeira and Okinawa), and neither is a country the outlines do not have (Singapore, Hong Kong,
Malta...).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pycountry

from dashboard.geo import distance_km
from dashboard.ingest.countries import TERRITORIES, exact_country_code
from dashboard.sites.table import Col

# 1:110m outlines put coasts kilometres off (Korea has 19 vertices) and leave out small islands:
# a point closer than this to its country's outline is never judged to lie outside it.
OUTSIDE_TOLERANCE_KM = 100.0
# A point at sea nearer than this to its country may be an island 1:110m leaves out (Mallorca is
# 190 km from Spain's outline, Okinawa 610 km from Japan's, Jeju 99 km from Korea's): it is only
# judged when it lies inside another country. Farther out, a swap or sign flip may explain it.
AT_SEA_UNJUDGED_KM = 500.0
# A swap or sign flip that moves a point less than this cannot be told from the outlines' error,
# so it is not offered as the explanation (a site just off the equator, say).
MIN_FIX_MOVE_KM = 2 * OUTSIDE_TOLERANCE_KM
# |lat| and |lon| both below this (about 11 m) read as 0,0: a point no geocoder should return,
# the usual placeholder for "no point"; no site stands in the Gulf of Guinea at 0°N 0°E.
NULL_ISLAND_DEGREES = 1e-4
# Outline features without an ISO 3166 code of their own, counted with the country a registry
# files their sites under.
UNCODED_OUTLINES = {"CYN": "CY", "SOL": "SO"}  # N. Cyprus, Somaliland

NULL_ISLAND = "0,0 is not a place"
SWAPPED = "latitude and longitude look swapped"
LATITUDE_SIGN = "the latitude's sign looks flipped"
LONGITUDE_SIGN = "the longitude's sign looks flipped"
BOTH_SIGNS = "both signs look flipped"
OUTSIDE_PREFIX = "point lies "
# The few words a one-line summary uses for each reason.
SHORT_REASONS = {
    NULL_ISLAND: "0,0",
    SWAPPED: "swapped lat/lon",
    LATITUDE_SIGN: "flipped latitude",
    LONGITUDE_SIGN: "flipped longitude",
    BOTH_SIGNS: "flipped signs",
}
OUTSIDE_SHORT = "in another country"


@dataclass(frozen=True)
class _Outline:
    """One country's rings as edge arrays (lon/lat degrees) and their bounding box."""

    name: str
    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

    @classmethod
    def from_rings(cls, name: str, rings: list[np.ndarray]) -> _Outline:
        """Edges of every ring (each ring closed back to its first vertex)."""
        starts = np.concatenate(rings) if rings else np.empty((0, 2))
        ends = np.concatenate([np.roll(r, -1, axis=0) for r in rings]) if rings else starts
        bbox = (math.inf, math.inf, -math.inf, -math.inf)
        if len(starts):
            low, high = starts.min(axis=0), starts.max(axis=0)
            bbox = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
        return cls(name, starts[:, 0], starts[:, 1], ends[:, 0], ends[:, 1], bbox)

    def contains(self, lat: float, lon: float) -> bool:
        """Whether (lat, lon) is inside: even-odd ray casting over all rings (holes included)."""
        x0, y0, x1, y1 = self.bbox
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            return False
        ay, by = self.ay, self.by
        crosses = (ay > lat) != (by > lat)
        if not crosses.any():
            return False
        ax, bx = self.ax[crosses], self.bx[crosses]
        ay, by = ay[crosses], by[crosses]
        x_at = ax + (lat - ay) * (bx - ax) / (by - ay)
        return bool(np.count_nonzero(lon < x_at) % 2)

    def distance_km(self, lat: float, lon: float) -> float:
        """Great-circle km from (lat, lon) to the nearest point of the outline (0 inside)."""
        if len(self.ax) == 0:
            return math.inf
        if self.contains(lat, lon):
            return 0.0
        # Nearest edge in a local equirectangular plane centred on the point (exact enough to
        # pick the edge), then the true distance to the nearest point on that edge.
        k = math.cos(math.radians(lat))
        ux, uy = _wrap(self.ax - lon) * k, self.ay - lat
        vx, vy = _wrap(self.bx - lon) * k, self.by - lat
        dx, dy = vx - ux, vy - uy
        length2 = dx * dx + dy * dy
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(length2 > 0, -(ux * dx + uy * dy) / length2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        i = int(np.argmin((ux + t * dx) ** 2 + (uy + t * dy) ** 2))
        near_lat = self.ay[i] + t[i] * (self.by[i] - self.ay[i])
        near_lon = self.ax[i] + t[i] * _wrap(self.bx[i] - self.ax[i])
        return distance_km(lat, lon, float(near_lat), float(_wrap(near_lon)))


def _wrap(degrees: Any) -> Any:
    """Longitude differences folded into [-180, 180)."""
    return (degrees + 180.0) % 360.0 - 180.0


def _feature_code(props: Mapping[str, Any]) -> str:
    """A feature's ISO alpha-2 code: from an alpha-2 field, else alpha-3, else its name."""
    for key in ("ISO_A2_EH", "ISO_A2", "iso_a2"):
        code = str(props.get(key) or "").upper()
        if len(code) == 2 and code.isalpha():
            return code
    for key in ("ISO_A3_EH", "ISO_A3", "iso_a3", "ADM0_A3", "adm0_a3"):
        a3 = str(props.get(key) or "").upper()
        if a3 in UNCODED_OUTLINES:
            return UNCODED_OUTLINES[a3]
        found = pycountry.countries.get(alpha_3=a3) if len(a3) == 3 and a3.isalpha() else None
        if found is not None:
            return found.alpha_2
    # Natural Earth writes -99 for Kosovo (and, in some fields, France and Norway).
    return exact_country_code(str(props.get("name") or props.get("NAME") or ""))


def _polygons(geometry: Mapping[str, Any] | None) -> list[list[list[list[float]]]]:
    if not geometry:
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"]]
    if geometry.get("type") == "MultiPolygon":
        return list(geometry["coordinates"])
    return []


class CountryShapes:
    """Country outlines indexed by ISO alpha-2 code, built once, for containment and distance."""

    def __init__(self, rings: Mapping[str, list[np.ndarray]], names: Mapping[str, str]) -> None:
        self._own = {c: _Outline.from_rings(names.get(c, c), r) for c, r in rings.items()}
        # What a country's sites may lie in: its own outline and its territories' outlines.
        self._judged = {}
        for c, own in rings.items():
            held = [ring for t in TERRITORIES.get(c, ()) for ring in rings.get(t, [])]
            self._judged[c] = _Outline.from_rings(names.get(c, c), [*own, *held])

    @classmethod
    def from_geojson(cls, data: Mapping[str, Any]) -> CountryShapes:
        """The index of a GeoJSON FeatureCollection of countries (Natural Earth properties)."""
        rings: dict[str, list[np.ndarray]] = {}
        names: dict[str, str] = {}
        for feature in data.get("features", []):
            props = feature.get("properties") or {}
            code = _feature_code(props)
            if not code:
                continue
            for polygon in _polygons(feature.get("geometry")):
                for ring in polygon:
                    points = np.asarray(ring, dtype=float)[:, :2]
                    if len(points) >= 3:
                        rings.setdefault(code, []).append(points)
            # A country's own feature names it, not a piece filed under it (N. Cyprus).
            if code not in names or str(props.get("iso_a3", "")).upper() not in UNCODED_OUTLINES:
                names[code] = str(props.get("name") or props.get("NAME") or code)
        return cls(rings, names)

    @classmethod
    def empty(cls) -> CountryShapes:
        """No outlines: only 0,0 is judged."""
        return cls({}, {})

    def __len__(self) -> int:
        return len(self._own)

    def knows(self, code: str) -> bool:
        """Whether the outlines have this country."""
        return code.upper() in self._own

    def name(self, code: str) -> str:
        """The outline's name for a country (the code itself when unknown)."""
        outline = self._own.get(code.upper())
        return outline.name if outline else code

    def contains(self, code: str, lat: float, lon: float) -> bool:
        """Whether (lat, lon) lies inside the country (or one of its TERRITORIES)."""
        outline = self._judged.get(code.upper())
        return outline is not None and outline.contains(lat, lon)

    def distance_km(self, code: str, lat: float, lon: float) -> float:
        """Km from (lat, lon) to the country's outline (0 inside, inf when unknown)."""
        outline = self._judged.get(code.upper())
        return outline.distance_km(lat, lon) if outline else math.inf

    def near(self, code: str, lat: float, lon: float) -> bool:
        """Whether (lat, lon) is inside the country or within OUTSIDE_TOLERANCE_KM of it."""
        return self.distance_km(code, lat, lon) <= OUTSIDE_TOLERANCE_KM

    def country_at(self, lat: float, lon: float) -> str | None:
        """The code of the country whose own outline contains (lat, lon), or None (at sea)."""
        for code, outline in self._own.items():
            if outline.contains(lat, lon):
                return code
        return None


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def suspect_point(
    lat: float | None, lon: float | None, country_code: str, outlines: CountryShapes
) -> str | None:
    """Why a site's point cannot be right for its country, in a few words; None if plausible."""
    if not (_is_number(lat) and _is_number(lon)):
        return None
    assert lat is not None and lon is not None
    if abs(lat) < NULL_ISLAND_DEGREES and abs(lon) < NULL_ISLAND_DEGREES:
        return NULL_ISLAND
    code = (country_code or "").strip().upper()
    if not outlines.knows(code):
        return None
    km = outlines.distance_km(code, lat, lon)
    if km <= OUTSIDE_TOLERANCE_KM:
        return None
    other = outlines.country_at(lat, lon)
    if other is None and km <= AT_SEA_UNJUDGED_KM:
        return None
    fixes = (
        (SWAPPED, lon, lat),
        (LATITUDE_SIGN, -lat, lon),
        (LONGITUDE_SIGN, lat, -lon),
        (BOTH_SIGNS, -lat, -lon),
    )
    for reason, fixed_lat, fixed_lon in fixes:
        if (
            abs(fixed_lat) <= 90
            and distance_km(lat, lon, fixed_lat, fixed_lon) > MIN_FIX_MOVE_KM
            and outlines.near(code, fixed_lat, fixed_lon)
        ):
            return reason
    if other is None:
        return None  # far out at sea with no explanation: maybe an island 1:110m leaves out
    return f"{OUTSIDE_PREFIX}{km:,.0f} km outside {outlines.name(code)} (in {outlines.name(other)})"


def short_reason(reason: str) -> str:
    """A reason in the few words a one-line summary uses ("0,0", "swapped lat/lon"...)."""
    if reason.startswith(OUTSIDE_PREFIX):
        return OUTSIDE_SHORT
    return SHORT_REASONS.get(reason, reason)


def summarise(reasons: Iterable[str]) -> str:
    """Distinct short reasons in first-seen order, joined with "; "."""
    return "; ".join(dict.fromkeys(short_reason(r) for r in reasons))


def row_suspect(row: Mapping[str, Any], outlines: CountryShapes) -> str | None:
    """Why a table row's point cannot be right (see `suspect_point`); None if plausible."""
    return suspect_point(row[Col.LATITUDE], row[Col.LONGITUDE], row[Col.COUNTRY_CODE], outlines)


def already_flagged(row: Mapping[str, Any], reason: str) -> bool:
    """Whether the row already tells a reviewer this reason (flagged, the reason in its note)."""
    return bool(row[Col.NEEDS_REVIEW]) and reason in str(row[Col.NOTE])


def unflagged_suspects(df: pd.DataFrame, outlines: CountryShapes) -> dict[str, str]:
    """site_id -> reason for each row whose point looks wrong and is not yet flagged for it."""
    found: dict[str, str] = {}
    if df.empty:
        return found
    has_point = df[Col.LATITUDE].notna() & df[Col.LONGITUDE].notna()
    for row in df[has_point].to_dict("records"):
        reason = row_suspect(row, outlines)
        if reason is not None and not already_flagged(row, reason):
            found[row[Col.SITE_ID]] = reason
    return found
