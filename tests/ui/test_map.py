"""Tests for dashboard.ui.map: the pydeck map, spreading co-located sites, colours, outlines."""

from __future__ import annotations

import json
import math

import pytest
from geopy.distance import great_circle
from paths import OUTLINES, ROOT
from tables import paris_lille_table

from dashboard.sites.table import Col
from dashboard.ui.map import (
    OUTLINE_LAYER_ID,
    SITE_LAYER_ID,
    STATUS_COLORS,
    build_deck,
    category_colors,
    color_key,
    fit_view,
    site_points,
    spread_positions,
    trim_outlines,
)


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points (geopy's, an independent oracle)."""
    return great_circle(a, b).km


def load_outlines() -> dict:
    """The repository's country outlines, trimmed as the page serves them."""
    with OUTLINES.open(encoding="utf-8") as fh:
        return trim_outlines(json.load(fh))


make_table = paris_lille_table


@pytest.mark.parametrize(
    ("points", "n_moved"),
    [
        # a lone site is never moved
        ([(48.0, 2.0)], 0),
        # two distinct points stay exactly where they are
        ([(48.0, 2.0), (45.0, 9.0)], 0),
        # a pair on one point splits into two
        ([(48.0, 2.0), (48.0, 2.0)], 2),
        # points a few metres apart count as one place (city-level geocodes round this way)
        ([(48.00001, 2.0), (48.0, 2.00001)], 2),
        # eight sites in one city: the ring grows so neighbours stay apart
        ([(35.68, 139.69)] * 8, 8),
        # near the antimeridian longitudes wrap instead of leaving [-180, 180)
        ([(-17.7, 179.999), (-17.7, 179.999)], 2),
        # near a pole the offset stays finite
        ([(89.99, 0.0), (89.99, 0.0)], 2),
    ],
)
def test_spread_positions(points: list[tuple[float, float]], n_moved: int) -> None:
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    out = spread_positions(lats, lons)
    assert out == spread_positions(lats, lons)  # deterministic
    moved = [o for o, p in zip(out, points, strict=True) if o != p]
    assert len(moved) == n_moved
    for (lat, lon), original in zip(out, points, strict=True):
        assert -90 <= lat <= 90 and -180 <= lon < 180
        assert km_between((lat, lon), original) < 10  # a nudge, never a different town
    if n_moved:
        gaps = [km_between(a, b) for i, a in enumerate(out) for b in out[i + 1 :]]
        assert min(gaps) > 1.0  # far enough apart to click at city zoom


def test_spread_keeps_input_order_meaningful() -> None:
    # the first of a group always goes north, so a site keeps its place between reruns
    (a_lat, a_lon), (b_lat, _) = spread_positions([10.0, 10.0], [20.0, 20.0])
    assert a_lat > 10.0 and a_lon == pytest.approx(20.0)
    assert b_lat < 10.0


def project(lat: float, lon: float, zoom: float) -> tuple[float, float]:
    """Web Mercator pixels at a deck.gl zoom (the world is 512 px wide at zoom 0)."""
    size = 512 * 2**zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180) / 360 * size, (1 - y / math.pi) / 2 * size


@pytest.mark.parametrize(
    ("points", "zoom_range"),
    [
        ([], (0.5, 1.0)),  # nothing to show: the whole world
        ([(48.85, 2.35)], (5, 5)),  # one site: shown with its country around it
        # two sites on one city's ring: close enough to tell apart, not street level
        ([(48.85, 2.35), (48.88, 2.35)], (8, 9)),
        ([(48.85, 2.35), (50.63, 3.06)], (5, 8)),  # two French cities
        # five Italian cities: the case that once zoomed one level too far
        ([(44.13, 12.06), (45.38, 9.16), (43.61, 13.51), (44.49, 11.34), (42.56, 12.64)], (5, 7)),
        ([(40.0, -120.0), (-37.8, 145.0)], (0.5, 1.0)),  # across the world
    ],
)
def test_fit_view_frames_every_point(points, zoom_range) -> None:
    view = fit_view(points, width_px=560, height_px=520)
    assert zoom_range[0] <= view.zoom <= zoom_range[1]
    if not points:
        return
    cx, cy = project(view.latitude, view.longitude, view.zoom)
    for lat, lon in points:
        x, y = project(lat, lon, view.zoom)
        # inside the map (when the world is wider than the map; at minimum zoom it may not be)
        if view.zoom > 0.5:
            assert abs(x - cx) <= 560 / 2 and abs(y - cy) <= 520 / 2


def test_colour_by_country_when_no_statuses() -> None:
    assert color_key(make_table()) == "country"
    assert color_key(make_table(statuses=True)) == "status"


def test_status_colours_have_fixed_meanings_and_others_get_the_palette() -> None:
    colors = category_colors(["RECRUITING", "Odd status", "COMPLETED"], "status")
    assert colors["RECRUITING"] == STATUS_COLORS["RECRUITING"]
    assert colors["Odd status"] not in (STATUS_COLORS["RECRUITING"], STATUS_COLORS["COMPLETED"])
    by_country = category_colors(["France", "Italy"], "country")
    assert by_country["France"] != by_country["Italy"]


def test_site_points_skip_unlocated_and_keep_text_as_text() -> None:
    table = make_table()
    table[Col.DISTANCE_KM] = [1.0, 1.0, 1.0, 200.0, float("nan")]
    points = site_points(table, category_colors(["France", "Italy"], "country"), "country", "mi")
    assert [p["site_id"] for p in points] == ["s0", "s1", "s2", "s3"]
    assert len({tuple(p["position"]) for p in points}) == 4  # Paris sites spread apart
    assert "Distance: 124.3 mi" in points[3]["tip"]
    json.dumps(points, allow_nan=False)  # ready for the browser: no NaN


def test_deck_is_offline_with_outlines_sites_and_a_text_tooltip() -> None:
    table = make_table()
    points = site_points(table, category_colors(["France", "Italy"], "country"), "country")
    deck = build_deck(points, load_outlines())
    spec = json.loads(deck.to_json())
    assert deck.map_provider is None
    # pydeck's placeholder, which Streamlit reads as "no basemap"; None or "" would make it
    # fetch Carto's style from the internet
    assert spec["mapStyle"] == "__MAP_STYLE__"
    ids = [layer["id"] for layer in spec["layers"]]
    assert ids == [OUTLINE_LAYER_ID, SITE_LAYER_ID]
    sites = spec["layers"][1]
    assert sites["@@type"] == "ScatterplotLayer" and sites["pickable"] is True
    assert len(sites["data"]) == 4
    # a literal, not "@@=pixels" (which deck.gl would evaluate as an expression)
    assert sites["radiusUnits"] == "pixels"
    assert deck._tooltip == {"text": "{tip}"}  # text is put in with innerText, never as HTML
    assert "html" not in deck._tooltip


def test_deck_with_origin_radius_and_basemap() -> None:
    deck = build_deck([], None, origin=(-37.81, 144.96), radius_km=50, basemap=True)
    spec = json.loads(deck.to_json())
    assert [layer["id"] for layer in spec["layers"]] == ["radius", "origin", "sites"]
    assert spec["layers"][0]["getRadius"] == 50_000
    assert deck.map_provider == "carto"
    # the view is framed on the origin even with no site in view, with the whole circle in it
    view = spec["initialViewState"]
    assert view["latitude"] == pytest.approx(-37.81, abs=0.01)
    cx, cy = project(view["latitude"], view["longitude"], view["zoom"])
    north = project(-37.81 + 50 / 111.32, 144.96, view["zoom"])
    assert 50 < abs(north[1] - cy) <= 520 / 2  # a visible circle, not cut off


def test_outlines_load_every_country_with_a_name() -> None:
    outlines = load_outlines()
    assert outlines["type"] == "FeatureCollection"
    assert len(outlines["features"]) > 150
    assert all(f["properties"]["name"] for f in outlines["features"])


def test_served_outlines_match_the_data_file() -> None:
    # dashboard/static/countries.json is what the browser loads; it must not drift from data/
    served = ROOT / "dashboard" / "static" / "countries.json"
    assert json.loads(served.read_text(encoding="utf-8")) == load_outlines()


def test_outlines_can_be_a_url() -> None:
    deck = build_deck([], "app/static/countries.json")
    spec = json.loads(deck.to_json())
    assert spec["layers"][0]["data"] == "app/static/countries.json"
