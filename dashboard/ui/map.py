"""The site map as a pydeck deck: colours, marker positions, tooltips, outlines, view fitting,
place names, and the legend that explains it all.

Pure: it takes rows of the site table (`dashboard.sites.table`) and returns JSON-ready points,
a `pdk.Deck`, legend entries and a Vega-Lite legend; it reads no file. Coordinates are
(lat, lon) in tables and [lon, lat] in pydeck positions, as pydeck expects. `speed_up_pydeck()`
is the one process-wide tweak, called by the page, never at import.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import numpy as np
import pandas as pd
import pydeck as pdk
from pydeck.bindings import deck as _pydeck_deck
from pydeck.bindings.json_tools import default_serialize

from dashboard.geo import distances_km, format_distance
from dashboard.model import Precision
from dashboard.sites.table import Col, to_bool
from dashboard.ui.panels import display_text, plain_status, status_code

SITE_LAYER_ID = "sites"
OUTLINE_LAYER_ID = "countries"
ORIGIN_LAYER_ID = "origin"
RADIUS_LAYER_ID = "radius"
PLACE_LAYER_ID = "places"

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
# With no radius (or a huge one) the view frames the searched place and its nearest few sites,
# not every site in the trial.
NEAREST_FRAMED = 3
# "Reset map view": Streamlit's map keeps the reader's pan and zoom until the deck's initial
# view changes, and then takes only the keys that changed. A reset moves every key by this
# much (invisible), so the whole framed view comes back.
RESET_NUDGE = 1e-7

# pydeck reads a plain string argument as a JavaScript expression; a literal needs pdk.types.String.
PIXELS = pdk.types.String("pixels")
ONLINE_MAP_PROVIDER = "carto"
ONLINE_MAP_STYLE = "light"

MARKER_RADIUS_PX = 6
# A thin dark rim: light fills (yellow, sky blue, grey) stay visible on the pale land.
MARKER_LINE = [40, 40, 40, 200]
MARKER_LINE_PX = 1
# An approximate point (a region's or country's centre, or flagged for review) is hollow:
# a white disc with a thick rim in its status colour.
APPROX_FILL = [255, 255, 255, 235]
APPROX_LINE_PX = 2.5
APPROX_PRECISIONS = frozenset({Precision.REGION.value, Precision.COUNTRY.value})
# The searched place is a ring drawn under the sites: it marks the spot and never hides one.
ORIGIN_RING_PX = 14
ORIGIN_LINE_PX = 3
ORIGIN_COLOR = [20, 20, 20, 230]
RADIUS_FILL = [30, 30, 30, 18]
RADIUS_LINE = [30, 30, 30, 160]
LAND_FILL = [236, 234, 226, 255]
LAND_LINE = [160, 160, 160, 255]
SEA_HEX = "#eaf1f6"
UNKNOWN_COLOR = [128, 128, 128, 220]
MARKER_ALPHA = 230

# ClinicalTrials.gov's recruitment statuses, coloured by "can I still join?" with the
# Okabe-Ito colour-blind-safe palette, like traffic lights: green recruits, orange soon, blue
# no longer takes patients, grey is closed. These four differ in hue and in lightness (CIELAB
# L* 58, 71, 46, 82), so they stay apart in grey scale and for colour-blind readers.
OKABE_ITO: dict[str, tuple[int, int, int]] = {
    "bluish green": (0, 158, 115),
    "sky blue": (86, 180, 233),
    "blue": (0, 114, 178),
    "yellow": (240, 228, 66),
    "orange": (230, 159, 0),
    "vermillion": (213, 94, 0),
    "reddish purple": (204, 121, 167),
}
CLOSED_GREY = (205, 205, 205)
STATUS_COLORS: dict[str, list[int]] = {
    "RECRUITING": [*OKABE_ITO["bluish green"], MARKER_ALPHA],
    "NOT_YET_RECRUITING": [*OKABE_ITO["orange"], MARKER_ALPHA],
    "ENROLLING_BY_INVITATION": [*OKABE_ITO["sky blue"], MARKER_ALPHA],
    "ACTIVE_NOT_RECRUITING": [*OKABE_ITO["blue"], MARKER_ALPHA],
    "AVAILABLE": [*OKABE_ITO["bluish green"], MARKER_ALPHA],
    "SUSPENDED": [*OKABE_ITO["yellow"], MARKER_ALPHA],
    "TEMPORARILY_NOT_AVAILABLE": [*OKABE_ITO["yellow"], MARKER_ALPHA],
    "TERMINATED": [*OKABE_ITO["vermillion"], MARKER_ALPHA],
    "WITHDRAWN": [*OKABE_ITO["reddish purple"], MARKER_ALPHA],
    "COMPLETED": [*CLOSED_GREY, MARKER_ALPHA],
    "NO_LONGER_AVAILABLE": [*CLOSED_GREY, MARKER_ALPHA],
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

# Legend entries: what each kind of mark on the map means.
LEGEND_MARKER = "marker"
LEGEND_APPROXIMATE = "approximate"
LEGEND_ORIGIN = "origin"
APPROX_LEGEND_RGB = (80, 80, 80)
LEGEND_ROW_PX = 24
# A legend column is this wide: "Active, not recruiting" fits; a phone (390 px) gets one or
# two columns, a laptop three or four.
LEGEND_COLUMN_PX = 190
LEGEND_FONT_PX = 13

# Co-located sites share one tooltip line naming up to this many of them.
COLOCATED_NAMES_SHOWN = 4

# Place names (a TextLayer) for orientation offline. Each name is sized in metres, by
# population, so it grows and shrinks with the map: a big city's name becomes readable a
# zoom level or two before a town's, and every name shrinks to nothing when zoomed out. A
# name is sent only when it is readable in the framed view, and only around that view,
# which keeps the deck small (a few kB).
PLACE_MIN_POPULATION = 100_000
# A city of a million is readable (LABEL_MIN_PX) at about zoom 5 (a country); each tenfold
# population makes that 1.5 zoom levels earlier.
LABEL_SIZE_1M_M = 21_000.0
LABEL_SIZE_EXPONENT = 0.45
LABEL_MIN_PX = 12.0
LABEL_MAX_PX = 16
LABEL_COLOR = [40, 40, 40, 255]
LABEL_HALO = [255, 255, 255, 220]
LABEL_HALO_WIDTH = 3  # SDF outline, in font units
LABEL_FONT = "Source Sans Pro, Helvetica, Arial, sans-serif"
# A label's box, for keeping names apart: a glyph is about 0.6 of the size wide, plus a gap.
LABEL_CHAR_EM = 0.6
LABEL_GAP_EM = 0.4
# Names sit just above their place, so a marker there does not cover them, and higher when
# the searched place's ring or a ring of co-located sites is under them (`lift_labels`), up to
# LABEL_MAX_LIFT_PX.
LABEL_LIFT_PX = MARKER_RADIUS_PX + 3
LABEL_MAX_LIFT_PX = 48
LABEL_LIFT_GAP_PX = 2
# Names around the framed view: one view's width and height more on every side, so a little
# panning still finds names; at most this many per deck.
LABEL_VIEW_MARGIN = 1.0
MAX_LABELS = 250
EARTH_CIRCUMFERENCE_M = 40_075_016.686
MERCATOR_RADIUS_M = 6_378_137.0
DECLUTTER_CELL_M = 200_000.0

# Offline, a blank map style (only a sea-coloured background, inline as a data: URL, so nothing
# is fetched). Streamlit draws its zoom (+/-) buttons only when the deck has a map style; with
# pydeck's "no basemap" placeholder the map had none.
OFFLINE_STYLE: dict[str, Any] = {
    "version": 8,
    "name": "offline",
    "sources": {},
    "layers": [{"id": "sea", "type": "background", "paint": {"background-color": SEA_HEX}}],
}
OFFLINE_MAP_STYLE = "data:application/json," + quote(
    json.dumps(OFFLINE_STYLE, separators=(",", ":")), safe=""
)


def located(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a site table that have finite coordinates."""
    lat = pd.to_numeric(table[Col.LATITUDE], errors="coerce")
    lon = pd.to_numeric(table[Col.LONGITUDE], errors="coerce")
    ok = lat.between(-90, 90) & lon.between(-180, 180)
    return table.loc[ok]


def colocated_groups(latitudes: Sequence[float], longitudes: Sequence[float]) -> list[list[int]]:
    """Indexes of points that share a point (coordinates rounded to COLOCATED_DECIMALS),
    one list per point in order of first appearance; a lone point is a group of one."""
    groups: dict[tuple[float, float], list[int]] = {}
    for i, (lat, lon) in enumerate(zip(latitudes, longitudes, strict=True)):
        key = (round(float(lat), COLOCATED_DECIMALS), round(float(lon), COLOCATED_DECIMALS))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def spread_positions(
    latitudes: Sequence[float],
    longitudes: Sequence[float],
    groups: list[list[int]] | None = None,
) -> list[tuple[float, float]]:
    """Map positions (lat, lon) with co-located points moved onto a small ring around them.

    Points are grouped by their coordinates rounded to COLOCATED_DECIMALS (or as `groups`
    says, from `colocated_groups`); a group of one stays put; a group of n puts its k-th member
    (in input order, so the result is deterministic) at angle 360*k/n degrees clockwise from
    north.
    """
    if groups is None:
        groups = colocated_groups(latitudes, longitudes)
    out = [(float(a), float(b)) for a, b in zip(latitudes, longitudes, strict=True)]
    for members in groups:
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
        # "RECRUITING", "Recruiting" and "Active, not recruiting" name registry statuses.
        code = status_code(cat) if key == Col.STATUS else ""
        if code in STATUS_COLORS:
            colors[cat] = STATUS_COLORS[code]
            continue
        r, g, b = PALETTE[spare % len(PALETTE)]
        colors[cat] = [r, g, b, MARKER_ALPHA]
        spare += 1
    return colors


def is_approximate(precision: str, needs_review: bool) -> bool:
    """Whether a point only roughly marks its site: a region's or country's centre, or a
    point flagged for review."""
    return needs_review or precision.strip().lower() in APPROX_PRECISIONS


def _approx_note(precision: str, needs_review: bool) -> str:
    """The tooltip line for an approximate point ("" for a point we trust)."""
    precision = precision.strip().lower()
    if precision in APPROX_PRECISIONS:
        note = f"Approximate location: the centre of the {precision}"
        return note + ", to be checked" if needs_review else note
    if needs_review:
        return "Approximate location: to be checked"
    return ""


def site_names(facilities: Sequence[str], site_numbers: Sequence[str]) -> list[str]:
    """What to call each site in a tooltip: its facility, with its site number when another
    site in the list has the same facility name (96 of the seed's sites are "Investigational
    Site")."""
    counts: dict[str, int] = {}
    for f in facilities:
        counts[f] = counts.get(f, 0) + 1
    names = []
    for facility, number in zip(facilities, site_numbers, strict=True):
        name = facility or "(unnamed site)"
        if counts[facility] > 1 and number:
            name = f"{name} (site {number})"
        names.append(name)
    return names


def colocated_line(names: Sequence[str], city: str) -> str:
    """The tooltip line for sites sharing one point: "3 sites in Paris: A; B; C", cut to a few
    names and "and N more" ("" for a lone site)."""
    n = len(names)
    if n < 2:
        return ""
    shown = list(names) if n <= COLOCATED_NAMES_SHOWN else list(names[: COLOCATED_NAMES_SHOWN - 1])
    listed = "; ".join(shown)
    if len(shown) < n:
        listed += f"; and {n - len(shown)} more"
    where = f"in {city}" if city else "here"
    return f"{n} sites {where}: {listed}"


def _place_line(city: str, country: str) -> str:
    """The tooltip's "City, Country" line."""
    return ", ".join(p for p in (city, country) if p)


def _status_line(status: str) -> str:
    """The tooltip's status line, in plain words."""
    return f"Status: {plain_status(status)}" if status else "Status: not given"


def _distance_line(distance_km: float | None, units: str | None) -> str:
    """The tooltip's distance line ("" when not searching or the site has no distance)."""
    if units is None or distance_km is None or math.isnan(distance_km):
        return ""
    return f"Distance: {format_distance(distance_km, units)}"


def _tooltip_lines(name: str, *lines: str) -> str:
    """The hover text for a site: its name, then the non-empty lines (place, status,
    distance when searching, whether the point is approximate, the other sites there)."""
    return "\n".join([name or "(unnamed site)", *(line for line in lines if line)])


def _text_column(table: pd.DataFrame, column: str) -> list[str]:
    """A column as display strings ("" for missing), or all "" when the column is absent."""
    if column not in table.columns:
        return [""] * len(table)
    return [display_text(v) for v in table[column].tolist()]


def _bool_column(table: pd.DataFrame, column: str) -> list[bool]:
    """A boolean column (unreadable cells count as False), or all False when it is absent."""
    if column not in table.columns:
        return [False] * len(table)
    if pd.api.types.is_bool_dtype(table[column]):
        return [bool(v) for v in table[column].tolist()]  # the table's own type: no parsing
    out = []
    for v in table[column].tolist():
        try:
            out.append(to_bool(v))
        except ValueError:
            out.append(False)
    return out


@dataclass(frozen=True)
class SiteMarks:
    """What each row of a site table contributes to the map whatever the filters: its point,
    colour, names and whether the point is approximate (index-aligned with the table's rows).

    Built once per table (`site_marks`); `marks_points` turns the rows in view into points.
    """

    located: tuple[bool, ...]
    latitudes: tuple[float, ...]
    longitudes: tuple[float, ...]
    site_ids: tuple[str, ...]
    facilities: tuple[str, ...]
    site_numbers: tuple[str, ...]
    cities: tuple[str, ...]
    colors: tuple[list[int], ...]
    # The column the markers are coloured by, and each row's value of it (the legend's
    # categories; the only one of a row's fields a point carries besides its id and tooltip).
    key: str
    categories: tuple[str, ...]
    approx: tuple[bool, ...]
    approx_notes: tuple[str, ...]
    # The tooltip's lines that no filter changes: "City, Country" and "Status: ...".
    place_lines: tuple[str, ...]
    status_lines: tuple[str, ...]


def _is_located(lat: float, lon: float) -> bool:
    """Whether a (lat, lon) is a finite point on the globe (NaN is not)."""
    return -90 <= lat <= 90 and -180 <= lon <= 180


def site_marks(table: pd.DataFrame, colors: dict[str, list[int]], key: str) -> SiteMarks:
    """The per-row parts of the map's markers, column-wise (iterrows is ~20x slower)."""
    lats = pd.to_numeric(table[Col.LATITUDE], errors="coerce").astype(float).tolist()
    lons = pd.to_numeric(table[Col.LONGITUDE], errors="coerce").astype(float).tolist()
    precisions = _text_column(table, Col.PRECISION)
    reviews = _bool_column(table, Col.NEEDS_REVIEW)
    cities = _text_column(table, Col.CITY)
    countries = _text_column(table, Col.COUNTRY)
    statuses = _text_column(table, Col.STATUS)
    categories = _text_column(table, key)
    return SiteMarks(
        located=tuple(_is_located(a, b) for a, b in zip(lats, lons, strict=True)),
        latitudes=tuple(lats),
        longitudes=tuple(lons),
        site_ids=tuple(_text_column(table, Col.SITE_ID)),
        facilities=tuple(_text_column(table, Col.FACILITY)),
        site_numbers=tuple(_text_column(table, Col.SITE_NUMBER)),
        cities=tuple(cities),
        colors=tuple(colors.get(k, UNKNOWN_COLOR) for k in categories),
        key=key,
        categories=tuple(categories),
        approx=tuple(is_approximate(p, r) for p, r in zip(precisions, reviews, strict=True)),
        approx_notes=tuple(_approx_note(p, r) for p, r in zip(precisions, reviews, strict=True)),
        place_lines=tuple(_place_line(c, n) for c, n in zip(cities, countries, strict=True)),
        status_lines=tuple(_status_line(s) for s in statuses),
    )


def marks_points(
    marks: SiteMarks,
    rows: Sequence[int],
    distances: Sequence[float] | None = None,
    units: str | None = None,
) -> list[dict[str, Any]]:
    """One JSON-ready dict per located row of `rows` (positions in the table, in the order
    to list them): map position (spread), colour, whether the point is approximate, and
    tooltip text (with the distance, `distances[i]` in km for row i, and the other sites at
    the same point)."""
    shown = [i for i in rows if marks.located[i]]
    lats = [marks.latitudes[i] for i in shown]
    lons = [marks.longitudes[i] for i in shown]
    groups = colocated_groups(lats, lons)
    positions = spread_positions(lats, lons, groups)
    names = site_names([marks.facilities[i] for i in shown], [marks.site_numbers[i] for i in shown])
    shared = [""] * len(shown)
    for members in groups:
        line = colocated_line([names[k] for k in members], marks.cities[shown[members[0]]])
        for k in members:
            shared[k] = line
    points = []
    for k, (i, (lat, lon)) in enumerate(zip(shown, positions, strict=True)):
        distance = None if distances is None else float(distances[i])
        points.append(
            {
                Col.SITE_ID: marks.site_ids[i],
                marks.key: marks.categories[i],
                "position": [round(lon, 6), round(lat, 6)],
                "color": marks.colors[i],
                "approx": marks.approx[i],
                "tip": _tooltip_lines(
                    names[k],
                    marks.place_lines[i],
                    marks.status_lines[i],
                    _distance_line(distance, units),
                    marks.approx_notes[i],
                    shared[k],
                ),
            }
        )
    return points


def site_points(
    table: pd.DataFrame,
    colors: dict[str, list[int]],
    key: str,
    units: str | None = None,
) -> list[dict[str, Any]]:
    """One JSON-ready dict per located site, in the table's order (see `marks_points`)."""
    distances = None
    if Col.DISTANCE_KM in table.columns:
        distances = pd.to_numeric(table[Col.DISTANCE_KM], errors="coerce").astype(float).tolist()
    return marks_points(site_marks(table, colors, key), range(len(table)), distances, units)


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


def _nearest(
    origin: tuple[float, float], framed: list[tuple[float, float]], n: int
) -> list[tuple[float, float]]:
    """The `n` points (lat, lon) nearest to `origin`, nearest first (ties in input order)."""
    if not framed:
        return []
    km = distances_km(origin[0], origin[1], [p[0] for p in framed], [p[1] for p in framed])
    return [framed[i] for i in np.argsort(km, kind="stable")[:n]]


def framed_points(
    points: list[dict[str, Any]],
    origin: tuple[float, float] | None = None,
    radius_km: float | None = None,
) -> list[tuple[float, float]]:
    """The (lat, lon) points the initial view must show.

    Without a search: every marker. With a search and a radius (up to FRAME_RADIUS_MAX_KM):
    the whole circle and the markers in it. With a search and no radius (or a huge one): the
    searched place and its NEAREST_FRAMED nearest markers, so the view zooms to the place
    instead of showing the whole world.
    """
    sites = [(p["position"][1], p["position"][0]) for p in points]
    if origin is None:
        return sites
    if radius_km is not None and radius_km <= FRAME_RADIUS_MAX_KM:
        return [*sites, origin, *_circle_extent(origin, radius_km)]
    return [origin, *_nearest(origin, sites, NEAREST_FRAMED)]


def reset_view(view: pdk.ViewState, resets: int) -> pdk.ViewState:
    """`view` with pitch and bearing set, nudged by RESET_NUDGE when `resets` is odd.

    Each press of "Reset map view" adds one to `resets`, so every key of the initial view
    differs from the one before and Streamlit's map takes all of them (the framed view, no
    tilt, north up) instead of keeping the reader's pan and zoom.
    """
    nudge = RESET_NUDGE if resets % 2 else 0.0
    return pdk.ViewState(
        latitude=view.latitude + nudge,
        longitude=view.longitude + nudge,
        zoom=view.zoom + nudge,
        pitch=nudge,
        bearing=nudge,
    )


# ------------------------------------------------------------------------------------ legend


@dataclass(frozen=True)
class LegendEntry:
    """One line of the map's legend: plain words, an RGB colour, and the mark's kind
    (LEGEND_MARKER: a filled dot, LEGEND_APPROXIMATE: a hollow dot, LEGEND_ORIGIN: a ring)."""

    label: str
    rgb: tuple[int, int, int]
    kind: str = LEGEND_MARKER


STATUS_ORDER = {code: i for i, code in enumerate(STATUS_COLORS)}


def _rgb(color: Sequence[int]) -> tuple[int, int, int]:
    """The RGB part of an RGB(A) colour."""
    return (int(color[0]), int(color[1]), int(color[2]))


def legend_entries(
    points: Sequence[dict[str, Any]], key: str, *, origin: bool = False
) -> list[LegendEntry]:
    """What the marks on the map mean, for the markers in `points` (as `site_points` makes
    them, coloured by `key`): one entry per colour category in plain words (statuses in the
    order of STATUS_COLORS, countries alphabetically), then "Approximate location" when a
    point is hollow, then "Searched place" when `origin` is drawn."""
    seen: dict[str, tuple[int, int, int]] = {}
    for p in points:
        category = display_text(p.get(key)).strip()
        seen.setdefault(category, _rgb(p["color"]))

    def label(category: str) -> str:
        if key == Col.STATUS:
            return plain_status(category) or "Status not given"
        return category or "Country not given"

    def order(category: str) -> tuple[int, str]:
        if key == Col.STATUS:
            return (STATUS_ORDER.get(status_code(category), len(STATUS_ORDER)), category)
        return (0, category.casefold())

    entries: list[LegendEntry] = []
    for category in sorted(seen, key=order):
        entry = LegendEntry(label(category), seen[category])
        if entry not in entries:  # "RECRUITING" and "Recruiting" are one entry
            entries.append(entry)
    if any(p.get("approx") for p in points):
        entries.append(LegendEntry("Approximate location", APPROX_LEGEND_RGB, LEGEND_APPROXIMATE))
    if origin:
        entries.append(LegendEntry("Searched place", _rgb(ORIGIN_COLOR), LEGEND_ORIGIN))
    return entries


def _hex(rgb: Sequence[int]) -> str:
    """An RGB colour as #rrggbb."""
    return "#" + "".join(f"{max(0, min(255, int(c))):02x}" for c in rgb[:3])


def legend_spec(entries: Sequence[LegendEntry]) -> dict[str, Any]:
    """A Vega-Lite chart that draws the legend: a mark like the map's and its label per entry,
    in as many columns of LEGEND_COLUMN_PX as the width allows (one or two on a phone).

    Vega-Lite, not Markdown: Streamlit's Markdown colours only a few named colours, and the
    page never passes HTML. Labels are data, drawn as text (never parsed as markup). The
    entries travel as a parameter, and the rows are generated from it in the browser:
    Streamlit turns a chart's inline `data` into an Arrow table, which cost ~2 ms per rerun.
    """
    values = [{"label": e.label, "color": _hex(e.rgb), "kind": e.kind} for e in entries]
    kinds = {e.kind for e in entries}
    dot = {"type": "point", "shape": "circle", "size": 120, "xOffset": 10, "opacity": 1}
    marker = {"filled": True, "stroke": _hex(MARKER_LINE), "strokeWidth": 1}
    hollow = {"filled": False, "strokeWidth": APPROX_LINE_PX}
    ring = {"size": 260, "filled": False, "strokeWidth": ORIGIN_LINE_PX}
    color = {"field": "color", "type": "nominal", "scale": None, "legend": None}
    return {
        "description": "Map legend: what the marks on the map mean",
        "data": {"sequence": {"start": 0, "stop": len(values), "as": "i"}},
        "params": [
            {"name": "entries", "value": values},
            # Columns follow the chart's width, so a phone gets fewer, taller columns.
            {"name": "ncols", "expr": f"max(1, floor(width / {LEGEND_COLUMN_PX}))"},
        ],
        "transform": [
            {"calculate": "entries[datum.i].label", "as": "label"},
            {"calculate": "entries[datum.i].color", "as": "color"},
            {"calculate": "entries[datum.i].kind", "as": "kind"},
            {"calculate": "floor(datum.i / ncols)", "as": "row"},
            {"calculate": "(datum.i % ncols) * width / ncols", "as": "x"},
        ],
        "height": {"step": LEGEND_ROW_PX},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "scale": None, "axis": None},
            "y": {"field": "row", "type": "ordinal", "axis": None, "title": None},
        },
        "layer": [
            # One layer per kind of mark drawn (an empty one would leave an unnamed SVG group
            # for screen readers); the marks are decoration (aria: False), the text says it.
            *(
                {
                    "transform": [{"filter": f"datum.kind == '{kind}'"}],
                    "mark": {**dot, **style, "aria": False},
                    "encoding": {channel: color},
                }
                for kind, style, channel in (
                    (LEGEND_MARKER, marker, "fill"),
                    (LEGEND_APPROXIMATE, hollow, "stroke"),
                    (LEGEND_ORIGIN, ring, "stroke"),
                )
                if kind in kinds
            ),
            {
                "mark": {
                    "type": "text",
                    "align": "left",
                    "baseline": "middle",
                    "dx": 24,
                    "fontSize": LEGEND_FONT_PX,
                    "limit": {"expr": "width / ncols - 30"},
                },
                "encoding": {
                    "text": {"field": "label", "type": "nominal"},
                    "description": {"field": "label", "type": "nominal"},
                },
            },
        ],
        "config": {"view": {"stroke": None}},
    }


# ------------------------------------------------------------------------------ place names


class PlaceIndex(Protocol):
    """What `gazetteer_places` reads of the offline place index (dashboard.places)."""

    lat: np.ndarray
    lon: np.ndarray
    pop: np.ndarray

    def name(self, i: int) -> str: ...


def gazetteer_places(
    index: PlaceIndex, min_population: int = PLACE_MIN_POPULATION
) -> list[tuple[str, float, float, int]]:
    """The places of the offline index with at least `min_population` people, as
    (name, lat, lon, population), most populous first (ties by name), coordinates rounded to
    3 decimals (~100 m). This is what dashboard/static/places.json holds."""
    idx = np.flatnonzero(np.asarray(index.pop) >= min_population)
    places = [
        (
            index.name(int(i)),
            round(float(index.lat[i]), 3),
            round(float(index.lon[i]), 3),
            int(index.pop[i]),
        )
        for i in idx
    ]
    places.sort(key=lambda p: (-p[3], p[0], p[1], p[2]))
    return places


def places_json(places: Iterable[Sequence[Any]]) -> str:
    """Places as dashboard/static/places.json stores them: a JSON list, one place per line."""
    lines = [json.dumps(list(p), ensure_ascii=False, separators=(",", ":")) for p in places]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def label_size_m(population: float) -> float:
    """A place name's size in metres: LABEL_SIZE_1M_M for a million people, scaled by
    population ** LABEL_SIZE_EXPONENT."""
    return LABEL_SIZE_1M_M * (max(float(population), 1.0) / 1e6) ** LABEL_SIZE_EXPONENT


@dataclass(frozen=True)
class PlaceLabels:
    """Place names that never overlap, most populous (so biggest) first (see `place_labels`)."""

    names: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    size_m: np.ndarray

    def __len__(self) -> int:
        return len(self.names)


def _label_box(name: str, lat: float, lon: float, size_m: float) -> tuple[float, ...]:
    """A name's box in Web Mercator metres (west, south, east, north), with a gap around it."""
    scale = 1 / max(math.cos(math.radians(lat)), 0.05)  # Mercator stretches away from the equator
    x = MERCATOR_RADIUS_M * math.radians(lon)
    y = MERCATOR_RADIUS_M * _mercator_y(lat)
    half_w = (LABEL_CHAR_EM * len(name) + LABEL_GAP_EM) * size_m * scale / 2
    half_h = (1 + LABEL_GAP_EM) * size_m * scale / 2
    # The name sits above its place (LABEL_LIFT_PX): its box starts at the place.
    return (x - half_w, y, x + half_w, y + 2 * half_h)


def place_labels(places: Iterable[Sequence[Any]]) -> PlaceLabels:
    """Names for the offline map from (name, lat, lon, population) places: each sized by
    population (`label_size_m`), then, most populous first, dropped when its box overlaps a
    bigger place's. Sizes are in metres, so names that do not overlap at one zoom never do
    at any other (they scale with the map, and only shrink past LABEL_MAX_PX); this runs once
    per server, not per view."""
    rows = []
    for p in places:
        name, lat, lon, pop = str(p[0]).strip(), float(p[1]), float(p[2]), float(p[3])
        if name and math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90:
            rows.append((name, lat, lon, pop))
    rows.sort(key=lambda r: (-r[3], r[0]))
    grid: dict[tuple[int, int], list[tuple[float, ...]]] = {}
    kept: list[tuple[str, float, float, float]] = []
    for name, lat, lon, pop in rows:
        size = label_size_m(pop)
        box = _label_box(name, lat, lon, size)
        cells = [
            (cx, cy)
            for cx in range(int(box[0] // DECLUTTER_CELL_M), int(box[2] // DECLUTTER_CELL_M) + 1)
            for cy in range(int(box[1] // DECLUTTER_CELL_M), int(box[3] // DECLUTTER_CELL_M) + 1)
        ]
        if any(
            b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3]
            for cell in cells
            for b in grid.get(cell, ())
        ):
            continue
        for cell in cells:
            grid.setdefault(cell, []).append(box)
        kept.append((name, lat, lon, size))
    return PlaceLabels(
        names=tuple(k[0] for k in kept),
        lat=np.array([k[1] for k in kept], dtype=float),
        lon=np.array([k[2] for k in kept], dtype=float),
        size_m=np.array([k[3] for k in kept], dtype=float),
    )


def label_pixels(size_m: Any, zoom: float, latitude: float) -> Any:
    """How many pixels tall a name of `size_m` metres is drawn at `zoom`, around `latitude`
    (before LABEL_MAX_PX caps it): deck.gl's world is 512 px wide at zoom 0."""
    metres_per_px = (
        EARTH_CIRCUMFERENCE_M
        * max(math.cos(math.radians(latitude)), 0.01)
        / (WORLD_PX_AT_ZOOM_0 * 2**zoom)
    )
    return np.asarray(size_m) / metres_per_px


def labels_in_view(
    labels: PlaceLabels | None,
    view: pdk.ViewState,
    width_px: int = MAP_WIDTH_PX,
    height_px: int = MAP_HEIGHT_PX,
) -> list[dict[str, Any]]:
    """The names to send with a view, JSON-ready: those readable (LABEL_MIN_PX or more) at
    the view's zoom, in the view or within LABEL_VIEW_MARGIN of it, at most MAX_LABELS (the
    most populous)."""
    if labels is None or not len(labels):
        return []
    zoom, lat0, lon0 = float(view.zoom), float(view.latitude), float(view.longitude)
    if label_pixels(labels.size_m[0], zoom, lat0) < LABEL_MIN_PX:
        return []  # even the biggest place's name is unreadable here (the world view)
    readable = label_pixels(labels.size_m, zoom, lat0) >= LABEL_MIN_PX
    world_px = WORLD_PX_AT_ZOOM_0 * 2**zoom
    reach = 1 + 2 * LABEL_VIEW_MARGIN
    # Longitudes wrap: measure the way round that is shorter.
    dlon = (labels.lon - lon0 + 180) % 360 - 180
    near_x = np.abs(dlon) / 360 * world_px <= width_px * reach / 2
    y = np.log(np.tan(np.pi / 4 + np.radians(np.clip(labels.lat, -85, 85)) / 2))
    near_y = np.abs(y - _mercator_y(lat0)) / (2 * np.pi) * world_px <= height_px * reach / 2
    chosen = np.flatnonzero(readable & near_x & near_y)[:MAX_LABELS]
    return [
        {
            "name": labels.names[i],
            "position": [round(float(labels.lon[i]), 3), round(float(labels.lat[i]), 3)],
            "size": round(float(labels.size_m[i])),
        }
        for i in chosen
    ]


def _view_pixels(lons: Any, lats: Any, view: pdk.ViewState) -> tuple[np.ndarray, np.ndarray]:
    """Points as pixels from the view's centre at its zoom (x east, y north; longitudes taken
    the short way round)."""
    world_px = WORLD_PX_AT_ZOOM_0 * 2 ** float(view.zoom)
    dlon = (np.asarray(lons, dtype=float) - float(view.longitude) + 180) % 360 - 180
    lat = np.radians(np.clip(np.asarray(lats, dtype=float), -MERCATOR_MAX_LAT, MERCATOR_MAX_LAT))
    y = np.log(np.tan(np.pi / 4 + lat / 2)) - _mercator_y(float(view.latitude))
    return dlon / 360 * world_px, y / (2 * np.pi) * world_px


def lift_labels(
    names: list[dict[str, Any]],
    marks: Sequence[tuple[float, float, float]],
    view: pdk.ViewState,
) -> list[dict[str, Any]]:
    """`names` (from `labels_in_view`) with a pixel "offset" each that lifts the name clear of
    the marks it would cover in the framed view: `marks` are (lon, lat, radius in px), e.g.
    the searched place's ring and the site markers. A name starts LABEL_LIFT_PX above its
    place and climbs over each mark its box meets, to at most LABEL_MAX_LIFT_PX (a name is
    never far from its place; past that it stays and may touch a mark)."""
    if not names:
        return names
    lx, ly = _view_pixels(
        [n["position"][0] for n in names], [n["position"][1] for n in names], view
    )
    font_px = np.minimum(
        label_pixels([n["size"] for n in names], float(view.zoom), float(view.latitude)),
        LABEL_MAX_PX,
    )
    half_w = np.array([len(n["name"]) for n in names]) * LABEL_CHAR_EM * font_px / 2
    lift = np.full(len(names), float(LABEL_LIFT_PX))
    if marks:
        mx, my = _view_pixels([m[0] for m in marks], [m[1] for m in marks], view)
        r = np.array([m[2] for m in marks], dtype=float)[None, :]
        above = my[None, :] - ly[:, None]  # how far above each name's place each mark is
        beside = np.abs(mx[None, :] - lx[:, None]) <= half_w[:, None] + r
        for _ in range(len(marks)):  # each round climbs over at least one more mark, or ends
            bottom, top = lift[:, None], (lift + font_px)[:, None]
            hit = beside & (above + r > bottom) & (above - r < top)
            climbed = np.where(hit, above + r + LABEL_LIFT_GAP_PX, bottom).max(axis=1)
            climbed = np.minimum(climbed, LABEL_MAX_LIFT_PX)
            if np.array_equal(climbed, lift):
                break
            lift = climbed
    return [{**n, "offset": [0, -round(float(h), 1)]} for n, h in zip(names, lift, strict=True)]


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
    places: PlaceLabels | None = None,
    resets: int = 0,
) -> pdk.Deck:
    """The site map: country outlines, an optional radius, place names, the searched place,
    and one marker per site (hollow when its point is approximate).

    `outlines` is a GeoJSON FeatureCollection, or the URL the browser loads one from;
    `places` the names the map may show (`place_labels`; only those readable in the framed
    view are sent); `resets` counts presses of "Reset map view" (`reset_view`).

    Offline by default: a blank style (OFFLINE_MAP_STYLE, inline) and nothing fetched;
    `basemap=True` asks Carto for its light tiles instead, which needs the internet (and
    brings its own place names).
    """
    view = reset_view(fit_view(framed_points(points, origin, radius_km)), resets)
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
    names: list[dict[str, Any]] = []
    if not basemap:
        marks = [(p["position"][0], p["position"][1], MARKER_RADIUS_PX + 1.0) for p in points]
        if origin is not None:
            marks.append((origin[1], origin[0], ORIGIN_RING_PX + ORIGIN_LINE_PX / 2))
        names = lift_labels(labels_in_view(places, view), marks, view)
    if names:
        layers.append(
            pdk.Layer(
                "TextLayer",
                id=PLACE_LAYER_ID,
                data=names,
                get_position="position",
                get_text="name",
                get_size="size",
                size_units=pdk.types.String("meters"),
                size_max_pixels=LABEL_MAX_PX,
                get_color=LABEL_COLOR,
                get_alignment_baseline=pdk.types.String("bottom"),
                get_pixel_offset="offset",
                font_family=pdk.types.String(LABEL_FONT),
                # "auto": the glyphs the names need (São Paulo, Kraków), not only ASCII.
                character_set=pdk.types.String("auto"),
                font_settings={"sdf": True},
                outline_width=LABEL_HALO_WIDTH,
                outline_color=LABEL_HALO,
                pickable=False,
            )
        )
    # The searched place is a ring under the sites: a site in the searched town stays
    # visible and clickable inside it.
    if origin is not None:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                id=ORIGIN_LAYER_ID,
                data=[{"position": [origin[1], origin[0]]}],
                get_position="position",
                get_line_color=ORIGIN_COLOR,
                get_radius=ORIGIN_RING_PX,
                radius_units=PIXELS,
                filled=False,
                stroked=True,
                get_line_width=ORIGIN_LINE_PX,
                line_width_units=PIXELS,
                pickable=False,
            )
        )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            id=SITE_LAYER_ID,
            data=points,
            get_position="position",
            # deck.gl expressions on each point: an approximate point is a white disc with a
            # thick rim in its colour, any other a filled disc with a thin dark rim.
            get_fill_color=f"approx ? {APPROX_FILL} : color",
            get_line_color=f"approx ? color : {MARKER_LINE}",
            get_line_width=f"approx ? {APPROX_LINE_PX} : {MARKER_LINE_PX}",
            line_width_units=PIXELS,
            get_radius=MARKER_RADIUS_PX,
            radius_units=PIXELS,
            stroked=True,
            pickable=True,
            auto_highlight=True,
        )
    )
    basemap_args: dict[str, Any] = {"map_provider": None, "map_style": OFFLINE_MAP_STYLE}
    if basemap:
        basemap_args = {"map_provider": ONLINE_MAP_PROVIDER, "map_style": ONLINE_MAP_STYLE}
    return CompactDeck(
        layers=layers,
        initial_view_state=view,
        # Text, never HTML: deck.gl puts text tooltips in with innerText.
        tooltip={"text": "{tip}"},
        **basemap_args,
    )
