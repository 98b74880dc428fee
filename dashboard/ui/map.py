"""The site map as a pydeck deck: colours, marker positions, tooltips, outlines, view fitting.

Pure: it takes rows of the site table (`dashboard.sites.table`) and returns JSON-ready points
and a `pdk.Deck`; it reads no file. Coordinates are (lat, lon) in tables and [lon, lat] in
pydeck positions, as pydeck expects. `speed_up_pydeck()` is the one process-wide tweak, called
by the page, never at import.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pydeck as pdk
from pydeck.bindings import deck as _pydeck_deck
from pydeck.bindings.json_tools import default_serialize

from dashboard.geo import format_distance
from dashboard.sites.table import Col
from dashboard.ui.panels import display_text

SITE_LAYER_ID = "sites"
OUTLINE_LAYER_ID = "countries"
ORIGIN_LAYER_ID = "origin"
RADIUS_LAYER_ID = "radius"

# Co-located sites (same point, e.g. two hospitals geocoded to one city centre) are drawn
# on a small ring around the shared point so each stays visible and clickable. The ring is
# wide enough that two markers separate at city zoom (~100 m per pixel) and grows with the
# number of sites so neighbours on the ring never touch. Tables keep the true coordinates.
SPREAD_RADIUS_KM = 1.5
SPREAD_SPACING_KM = 3.0
COLOCATED_DECIMALS = 4  # ~11 m: closer than this counts as the same point
KM_PER_DEGREE_LAT = 111.32

# The assumed map size when fitting the view: the map takes two thirds of a wide page, about
# 560 px on a laptop screen. Erring narrow zooms out a little rather than cutting sites off.
MAP_WIDTH_PX = 560
MAP_HEIGHT_PX = 520
FIT_PADDING = 0.15
WORLD_PX_AT_ZOOM_0 = 512  # deck.gl (like Mapbox GL) draws the world 512 px wide at zoom 0
MIN_ZOOM = 0.5
# Closest zoom when fitting: co-located sites spread on their ring (3 km apart) sit ~15 px
# apart at zoom 9, enough to click each; closer, the 1:110m outlines give no context at all.
MAX_ZOOM = 9.0
SINGLE_POINT_ZOOM = 5.0  # a lone site is shown with its country around it
WORLD_VIEW = {"latitude": 20.0, "longitude": 0.0, "zoom": 0.8}
MERCATOR_MAX_LAT = 85.0511
# Natural Earth 1:110m is accurate to a few km; 2 decimals (~1 km) loses nothing visible and
# halves the outlines' share of the JSON sent on every rerun.
OUTLINE_DECIMALS = 2
# A search radius up to this size is framed whole; a larger one would zoom out to the world.
FRAME_RADIUS_MAX_KM = 2000.0

# pydeck reads a plain string argument as a JavaScript expression; a literal needs pdk.types.String.
PIXELS = pdk.types.String("pixels")
ONLINE_MAP_PROVIDER = "carto"
ONLINE_MAP_STYLE = "light"

MARKER_RADIUS_PX = 6
ORIGIN_RADIUS_PX = 9
MARKER_LINE = [255, 255, 255, 230]
ORIGIN_COLOR = [20, 20, 20, 255]
RADIUS_FILL = [30, 30, 30, 18]
RADIUS_LINE = [30, 30, 30, 160]
LAND_FILL = [236, 234, 226, 255]
LAND_LINE = [160, 160, 160, 255]
UNKNOWN_COLOR = [128, 128, 128, 220]

# ClinicalTrials.gov's recruitment statuses, coloured by "can I still join?".
STATUS_COLORS: dict[str, list[int]] = {
    "RECRUITING": [26, 152, 80, 230],
    "NOT_YET_RECRUITING": [102, 189, 99, 230],
    "ENROLLING_BY_INVITATION": [166, 217, 106, 230],
    "ACTIVE_NOT_RECRUITING": [49, 104, 173, 230],
    "AVAILABLE": [26, 152, 80, 230],
    "COMPLETED": [120, 120, 120, 230],
    "SUSPENDED": [253, 174, 97, 230],
    "TEMPORARILY_NOT_AVAILABLE": [253, 174, 97, 230],
    "TERMINATED": [215, 48, 39, 230],
    "WITHDRAWN": [165, 0, 38, 230],
}
# A colour-blind-friendly categorical palette (Tableau 10), for countries or other statuses.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (78, 121, 167),
    (242, 142, 43),
    (225, 87, 89),
    (118, 183, 178),
    (89, 161, 79),
    (237, 201, 72),
    (176, 122, 161),
    (255, 157, 167),
    (156, 117, 95),
    (186, 176, 172),
)
MARKER_ALPHA = 230


def located(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a site table that have finite coordinates."""
    lat = pd.to_numeric(table[Col.LATITUDE], errors="coerce")
    lon = pd.to_numeric(table[Col.LONGITUDE], errors="coerce")
    ok = lat.between(-90, 90) & lon.between(-180, 180)
    return table.loc[ok]


def spread_positions(
    latitudes: Sequence[float], longitudes: Sequence[float]
) -> list[tuple[float, float]]:
    """Map positions (lat, lon) with co-located points moved onto a small ring around them.

    Points are grouped by their coordinates rounded to COLOCATED_DECIMALS; a group of one
    stays put; a group of n puts its k-th member (in input order, so the result is
    deterministic) at angle 360*k/n degrees clockwise from north.
    """
    groups: dict[tuple[float, float], list[int]] = {}
    for i, (lat, lon) in enumerate(zip(latitudes, longitudes, strict=True)):
        key = (round(float(lat), COLOCATED_DECIMALS), round(float(lon), COLOCATED_DECIMALS))
        groups.setdefault(key, []).append(i)
    out = [(float(a), float(b)) for a, b in zip(latitudes, longitudes, strict=True)]
    for members in groups.values():
        n = len(members)
        if n < 2:
            continue
        ring_km = max(SPREAD_RADIUS_KM, SPREAD_SPACING_KM / (2 * math.sin(math.pi / n)))
        for k, i in enumerate(members):
            lat, lon = out[i]
            angle = 2 * math.pi * k / n
            dlat = ring_km * math.cos(angle) / KM_PER_DEGREE_LAT
            # Near the poles a degree of longitude shrinks; clamp to avoid dividing by ~0.
            cos_lat = max(math.cos(math.radians(lat)), 0.01)
            dlon = ring_km * math.sin(angle) / (KM_PER_DEGREE_LAT * cos_lat)
            new_lon = (lon + dlon + 180) % 360 - 180
            out[i] = (max(-90.0, min(90.0, lat + dlat)), new_lon)
    return out


def _mercator_y(lat: float) -> float:
    """Web Mercator y for a latitude, in radians of the projection (unbounded at the poles)."""
    lat = max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat))
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _mercator_lat(y: float) -> float:
    """The latitude of a Web Mercator y (inverse of `_mercator_y`)."""
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


def fit_view(
    points: Sequence[tuple[float, float]],
    width_px: int = MAP_WIDTH_PX,
    height_px: int = MAP_HEIGHT_PX,
) -> pdk.ViewState:
    """A view centred on the bounds of (lat, lon) points, zoomed so they all fit."""
    if not points:
        return pdk.ViewState(**WORLD_VIEW)
    if len(set(points)) == 1:
        lat, lon = points[0]
        return pdk.ViewState(
            latitude=round(lat, 5), longitude=round(lon, 5), zoom=SINGLE_POINT_ZOOM
        )
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    west, east = min(lons), max(lons)
    y_south, y_north = _mercator_y(min(lats)), _mercator_y(max(lats))
    usable = 1 - 2 * FIT_PADDING
    zooms = [MAX_ZOOM]
    lon_fraction = (east - west) / 360
    if lon_fraction > 0:
        zooms.append(math.log2(width_px * usable / WORLD_PX_AT_ZOOM_0 / lon_fraction))
    y_fraction = (y_north - y_south) / (2 * math.pi)
    if y_fraction > 0:
        zooms.append(math.log2(height_px * usable / WORLD_PX_AT_ZOOM_0 / y_fraction))
    zoom = max(MIN_ZOOM, min(zooms))
    return pdk.ViewState(
        latitude=round(_mercator_lat((y_north + y_south) / 2), 5),
        longitude=round((west + east) / 2, 5),
        zoom=round(zoom, 2),
    )


def color_key(table: pd.DataFrame) -> str:
    """The column markers are coloured by: status, or country when no site has a status."""
    if Col.STATUS in table.columns and table[Col.STATUS].fillna("").astype(str).str.strip().any():
        return Col.STATUS
    return Col.COUNTRY


def category_colors(categories: Sequence[str], key: str) -> dict[str, list[int]]:
    """An RGBA colour per category; statuses use fixed meanings, the rest the palette in order.

    Pass every category of the whole trial (not just those in view) so a country keeps its
    colour while filters change.
    """
    colors: dict[str, list[int]] = {}
    spare = 0
    for cat in categories:
        if key == Col.STATUS and cat.upper() in STATUS_COLORS:
            colors[cat] = STATUS_COLORS[cat.upper()]
            continue
        r, g, b = PALETTE[spare % len(PALETTE)]
        colors[cat] = [r, g, b, MARKER_ALPHA]
        spare += 1
    return colors


def _tooltip_text(
    facility: str,
    city: str,
    country: str,
    status: str,
    distance_km: float | None,
    units: str | None,
) -> str:
    """The hover text for a site: facility, place, status and, when searching, distance."""
    place = ", ".join(p for p in (city, country) if p)
    lines = [facility or "(unnamed site)", place]
    lines.append(f"Status: {status}" if status else "Status: not given")
    if units is not None and distance_km is not None and not math.isnan(distance_km):
        lines.append(f"Distance: {format_distance(distance_km, units)}")
    return "\n".join(line for line in lines if line)


def _text_column(table: pd.DataFrame, column: str) -> list[str]:
    """A column as display strings ("" for missing), or all "" when the column is absent."""
    if column not in table.columns:
        return [""] * len(table)
    return [display_text(v) for v in table[column].tolist()]


def site_points(
    table: pd.DataFrame,
    colors: dict[str, list[int]],
    key: str,
    units: str | None = None,
) -> list[dict[str, Any]]:
    """One JSON-ready dict per located site: map position (spread), colour, tooltip text."""
    rows = located(table)
    positions = spread_positions(
        rows[Col.LATITUDE].astype(float).tolist(), rows[Col.LONGITUDE].astype(float).tolist()
    )
    # Column-wise, not iterrows(): this runs on every rerun and iterrows is ~20x slower.
    site_ids = _text_column(rows, Col.SITE_ID)
    facilities = _text_column(rows, Col.FACILITY)
    cities = _text_column(rows, Col.CITY)
    countries = _text_column(rows, Col.COUNTRY)
    statuses = _text_column(rows, Col.STATUS)
    keys = _text_column(rows, key)
    if Col.DISTANCE_KM in rows.columns:
        distances: list[float | None] = [float(d) for d in rows[Col.DISTANCE_KM].tolist()]
    else:
        distances = [None] * len(rows)
    points = []
    for i, (lat, lon) in enumerate(positions):
        points.append(
            {
                Col.SITE_ID: site_ids[i],
                Col.FACILITY: facilities[i],
                Col.CITY: cities[i],
                Col.COUNTRY: countries[i],
                Col.STATUS: statuses[i],
                "position": [round(lon, 6), round(lat, 6)],
                "color": colors.get(keys[i], UNKNOWN_COLOR),
                "tip": _tooltip_text(
                    facilities[i], cities[i], countries[i], statuses[i], distances[i], units
                ),
            }
        )
    return points


def _round_coordinates(coords: Any) -> Any:
    """Nested GeoJSON coordinate arrays with every number rounded to OUTLINE_DECIMALS."""
    if isinstance(coords, (int, float)):
        return round(coords, OUTLINE_DECIMALS)
    return [_round_coordinates(c) for c in coords]


def trim_outlines(data: dict[str, Any]) -> dict[str, Any]:
    """Country outlines (a GeoJSON FeatureCollection) cut to each country's name and shape.

    The map is sent to the browser on every rerun, so the shapes are trimmed to what a
    1:110m map can show (see OUTLINE_DECIMALS).
    """
    features = []
    for f in data.get("features", []):
        geometry = f.get("geometry")
        if not geometry or "coordinates" not in geometry:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"name": f.get("properties", {}).get("name", "")},
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": _round_coordinates(geometry["coordinates"]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _circle_extent(origin: tuple[float, float], radius_km: float) -> list[tuple[float, float]]:
    """The north, south, east and west points of a circle around (lat, lon), for framing."""
    lat, lon = origin
    dlat = radius_km / KM_PER_DEGREE_LAT
    dlon = radius_km / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    return [
        (min(lat + dlat, MERCATOR_MAX_LAT), lon),
        (max(lat - dlat, -MERCATOR_MAX_LAT), lon),
        (lat, max(lon - dlon, -180.0)),
        (lat, min(lon + dlon, 180.0)),
    ]


def speed_up_pydeck() -> None:
    """Make pydeck ask once whether Jupyter is there (idempotent; the page calls it).

    Every pdk.Deck() retries importing pydeck's Jupyter widget (ipywidgets); Python does not
    remember a failed import, so outside Jupyter that costs ~9 ms per rerun. The answer cannot
    change while the process runs, so it is asked once.
    """
    if not hasattr(_pydeck_deck.has_jupyter_extra, "cache_info"):
        _pydeck_deck.has_jupyter_extra = functools.cache(_pydeck_deck.has_jupyter_extra)


class CompactDeck(pdk.Deck):
    """A pdk.Deck whose JSON is compact.

    pydeck indents its JSON, which makes Python's json fall back from its C encoder to the
    pure-Python one: ~85 ms per rerun for the country outlines. Same content, no indent.
    """

    def to_json(self) -> str:
        """The deck as compact JSON (what st.pydeck_chart sends to the browser)."""
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def build_deck(
    points: list[dict[str, Any]],
    outlines: dict[str, Any] | str | None,
    *,
    origin: tuple[float, float] | None = None,
    radius_km: float | None = None,
    basemap: bool = False,
) -> pdk.Deck:
    """The site map: country outlines, an optional radius and origin, and one marker per site.

    `outlines` is a GeoJSON FeatureCollection, or the URL the browser loads one from.

    Offline by default (`map_provider=None`: nothing is fetched); `basemap=True` asks
    Carto for its light tiles instead, which needs the internet.
    """
    layers: list[pdk.Layer] = []
    if outlines is not None:
        layers.append(
            pdk.Layer(
                "GeoJsonLayer",
                id=OUTLINE_LAYER_ID,
                data=outlines,
                stroked=True,
                # Over a real basemap only the borders are drawn, so the tiles show through.
                filled=not basemap,
                get_fill_color=LAND_FILL,
                get_line_color=LAND_LINE,
                line_width_min_pixels=1,
                pickable=False,
            )
        )
    if origin is not None and radius_km is not None:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                id=RADIUS_LAYER_ID,
                data=[{"position": [origin[1], origin[0]]}],
                get_position="position",
                get_radius=radius_km * 1000,
                stroked=True,
                filled=True,
                get_fill_color=RADIUS_FILL,
                get_line_color=RADIUS_LINE,
                line_width_min_pixels=1,
                pickable=False,
            )
        )
    # The origin goes under the sites: a site in the searched town stays visible and clickable.
    if origin is not None:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                id=ORIGIN_LAYER_ID,
                data=[{"position": [origin[1], origin[0]]}],
                get_position="position",
                get_fill_color=ORIGIN_COLOR,
                get_line_color=[255, 255, 255, 255],
                get_radius=ORIGIN_RADIUS_PX,
                radius_units=PIXELS,
                stroked=True,
                line_width_min_pixels=2,
                pickable=False,
            )
        )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            id=SITE_LAYER_ID,
            data=points,
            get_position="position",
            get_fill_color="color",
            get_line_color=MARKER_LINE,
            get_radius=MARKER_RADIUS_PX,
            radius_units=PIXELS,
            stroked=True,
            line_width_min_pixels=1,
            pickable=True,
            auto_highlight=True,
        )
    )
    framed = [(p["position"][1], p["position"][0]) for p in points]
    if origin is not None:
        framed.append(origin)
        if radius_km is not None and radius_km <= FRAME_RADIUS_MAX_KM:
            framed.extend(_circle_extent(origin, radius_km))
    basemap_args: dict[str, Any] = {"map_provider": None}
    if basemap:
        basemap_args = {"map_provider": ONLINE_MAP_PROVIDER, "map_style": ONLINE_MAP_STYLE}
    # Offline, `map_style` is left out on purpose: pydeck then writes its "__MAP_STYLE__"
    # placeholder, which Streamlit's front end reads as "no basemap". An explicit None or ""
    # makes that front end fall back to Carto's Positron style, fetched from the internet.
    return CompactDeck(
        layers=layers,
        initial_view_state=fit_view(framed),
        # Text, never HTML: deck.gl puts text tooltips in with innerText.
        tooltip={"text": "{tip}"},
        **basemap_args,
    )
