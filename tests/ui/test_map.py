"""Tests for dashboard.ui.map: the pydeck map, spreading co-located sites, colours, outlines,
place names, framing a search, the legend, and the page drawing them."""

from __future__ import annotations

import itertools
import json
import math
from urllib.parse import unquote

import numpy as np
import pytest
from geopy.distance import great_circle
from paths import APP, OUTLINES, ROOT, SECOND_TABLE
from streamlit.testing.v1 import AppTest
from tables import paris_lille_table

from dashboard.sites.table import Col, read_table
from dashboard.ui.map import (
    APPROX_LEGEND_RGB,
    COLOCATED_NAMES_SHOWN,
    LABEL_LIFT_PX,
    LABEL_MAX_LIFT_PX,
    LABEL_MAX_PX,
    LABEL_MIN_PX,
    LEGEND_APPROXIMATE,
    LEGEND_MARKER,
    LEGEND_ORIGIN,
    MAX_LABELS,
    NEAREST_FRAMED,
    OFFLINE_MAP_STYLE,
    ORIGIN_LAYER_ID,
    OUTLINE_LAYER_ID,
    PLACE_LAYER_ID,
    PLACE_MIN_POPULATION,
    RADIUS_LAYER_ID,
    RESET_NUDGE,
    SITE_LAYER_ID,
    STATUS_COLORS,
    LegendEntry,
    build_deck,
    category_colors,
    colocated_groups,
    colocated_line,
    color_key,
    fit_view,
    framed_points,
    gazetteer_places,
    is_approximate,
    label_pixels,
    label_size_m,
    labels_in_view,
    legend_entries,
    legend_spec,
    lift_labels,
    place_labels,
    places_json,
    reset_view,
    site_names,
    site_points,
    spread_positions,
    trim_outlines,
)

STATIC_PLACES = ROOT / "dashboard" / "static" / "places.json"
PARIS = (48.8566, 2.3522)


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


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("RECRUITING", "RECRUITING"),
        # a text record spells statuses in words, with a comma in one of them
        ("Recruiting", "RECRUITING"),
        ("Not yet recruiting", "NOT_YET_RECRUITING"),
        ("Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
    ],
)
def test_status_colours_read_the_registrys_words_too(status: str, code: str) -> None:
    assert category_colors([status], "status")[status] == STATUS_COLORS[code]


# -------------------------------------------------------------------- colour-blind safety
# An independent oracle: sRGB -> CIELAB (D65), and Machado et al. (2009) full-severity
# simulations of protanopia, deuteranopia and tritanopia.
CVD = {
    "protan": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
               (-0.003882, -0.048116, 1.051998)),
    "deutan": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
               (-0.011820, 0.042940, 0.968881)),
    "tritan": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602),
               (0.004733, 0.691367, 0.303900)),
}  # fmt: skip


def _linear(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _srgb(c: float) -> float:
    c = min(max(c, 0.0), 1.0)
    return 255 * (12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055)


def lab(rgb) -> tuple[float, float, float]:
    r, g, b = (_linear(c) for c in rgb[:3])
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def simulate(rgb, kind: str) -> tuple[float, ...]:
    linear = [_linear(c) for c in rgb[:3]]
    return tuple(_srgb(sum(m * v for m, v in zip(row, linear, strict=True))) for row in CVD[kind])


# What a patient must tell apart at a glance: can join now, soon, not (yet) at all, closed.
KEY_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED")


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(KEY_STATUSES, 2)))
def test_key_statuses_differ_in_hue_and_lightness(a: str, b: str) -> None:
    (la, xa, ya), (lb, xb, yb) = lab(STATUS_COLORS[a]), lab(STATUS_COLORS[b])
    # lightness: apart even in grey scale (10 L* is a clear step)
    assert abs(la - lb) >= 10
    # hue: 45 degrees apart, or one of them is grey (no hue at all: "closed")
    if math.hypot(xa, ya) > 10 and math.hypot(xb, yb) > 10:
        hue = abs(math.degrees(math.atan2(ya, xa) - math.atan2(yb, xb))) % 360
        assert min(hue, 360 - hue) >= 45


@pytest.mark.parametrize("kind", sorted(CVD))
def test_status_colours_stay_apart_for_colour_blind_readers(kind: str) -> None:
    colours = {tuple(c) for c in STATUS_COLORS.values()}  # a shared colour is one meaning
    for a, b in itertools.combinations(sorted(colours), 2):
        # plainly different (CIE76 delta E over 15) with normal vision and simulated
        assert math.dist(lab(a), lab(b)) >= 15, (a, b)
        assert math.dist(lab(simulate(a, kind)), lab(simulate(b, kind))) >= 15, (a, b, kind)


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
    # a blank style inline: a data: URL (nothing fetched) holding only a sea-coloured
    # background. None or "" would make Streamlit fetch Carto's style from the internet; with
    # pydeck's "__MAP_STYLE__" placeholder Streamlit drew no zoom buttons.
    assert spec["mapStyle"] == OFFLINE_MAP_STYLE
    style = json.loads(unquote(OFFLINE_MAP_STYLE.removeprefix("data:application/json,")))
    assert style["sources"] == {} and [la["type"] for la in style["layers"]] == ["background"]
    assert "http" not in unquote(OFFLINE_MAP_STYLE)
    ids = [layer["id"] for layer in spec["layers"]]
    assert ids == [OUTLINE_LAYER_ID, SITE_LAYER_ID]
    sites = spec["layers"][1]
    assert sites["@@type"] == "ScatterplotLayer" and sites["pickable"] is True
    assert len(sites["data"]) == 4
    # a literal, not "@@=pixels" (which deck.gl would evaluate as an expression)
    assert sites["radiusUnits"] == "pixels"
    # per point: hollow (white fill, thick rim in the status colour) when approximate
    assert sites["getFillColor"].startswith("@@=approx ? [255, 255, 255")
    assert sites["getLineColor"].startswith("@@=approx ? color :")
    assert sites["lineWidthUnits"] == "pixels"
    assert deck._tooltip == {"text": "{tip}"}  # text is put in with innerText, never as HTML
    assert "html" not in deck._tooltip


def test_deck_with_origin_radius_and_basemap() -> None:
    # an online basemap brings its own place names: none of ours over it
    deck = build_deck(
        [], None, origin=(-37.81, 144.96), radius_km=50, basemap=True, places=city_labels()
    )
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


# ----------------------------------------------------------------- approximate points, tips


@pytest.mark.parametrize(
    ("precision", "needs_review", "approximate"),
    [
        ("city", False, False),
        ("district", False, False),  # a county's central town: close enough to trust
        ("region", False, True),  # a region's centre can be 100 km off
        ("country", False, True),
        ("city", True, True),  # a city point someone must check (the Milan registry point)
        (" Region ", False, True),  # spacing and case from a hand-edited table
        ("", False, False),  # not placed at all: not drawn, nothing to say
    ],
)
def test_is_approximate(precision: str, needs_review: bool, approximate: bool) -> None:
    assert is_approximate(precision, needs_review) is approximate


def test_site_points_mark_approximate_points_and_say_why() -> None:
    table = make_table(statuses=True)
    table[Col.PRECISION] = ["city", "region", "country", "city", ""]
    table[Col.NEEDS_REVIEW] = [False, False, False, True, False]
    points = site_points(table, category_colors(["RECRUITING", "COMPLETED"], "status"), "status")
    assert [p["approx"] for p in points] == [False, True, True, True]
    assert "Approximate" not in points[0]["tip"]
    assert "Approximate location: the centre of the region" in points[1]["tip"]
    assert "Approximate location: the centre of the country" in points[2]["tip"]
    assert "Approximate location: to be checked" in points[3]["tip"]
    # statuses in plain words, as in the legend
    assert "Status: Recruiting" in points[0]["tip"] and "RECRUITING" not in points[0]["tip"]


@pytest.mark.parametrize(
    ("facilities", "numbers", "names"),
    [
        # distinct facilities need no number
        (["Hôpital A", "Hôpital B"], ["1", "2"], ["Hôpital A", "Hôpital B"]),
        # the seed's 96 "Investigational Site"s: told apart by site number
        (
            ["Investigational Site", "Investigational Site", "UCLA"],
            ["2500005", "2500011", "8400010"],
            ["Investigational Site (site 2500005)", "Investigational Site (site 2500011)", "UCLA"],
        ),
        # a shared name without numbers stays as it is (nothing better to say)
        (["Clinic", "Clinic"], ["", ""], ["Clinic", "Clinic"]),
        (["", "X"], ["", ""], ["(unnamed site)", "X"]),
    ],
)
def test_site_names(facilities, numbers, names) -> None:
    assert site_names(facilities, numbers) == names


@pytest.mark.parametrize(
    ("n", "city", "expected"),
    [
        (1, "Paris", ""),  # a lone site: its own tooltip says it all
        (3, "Paris", "3 sites in Paris: S0; S1; S2"),
        (COLOCATED_NAMES_SHOWN, "Paris", "4 sites in Paris: S0; S1; S2; S3"),
        # more than fit: a few names, then how many more
        (7, "Seoul", "7 sites in Seoul: S0; S1; S2; and 4 more"),
        (2, "", "2 sites here: S0; S1"),  # no city in the record
    ],
)
def test_colocated_line(n: int, city: str, expected: str) -> None:
    assert colocated_line([f"S{i}" for i in range(n)], city) == expected


def test_colocated_sites_name_each_other_in_every_tooltip() -> None:
    table = make_table()
    points = site_points(table, category_colors(["France", "Italy"], "country"), "country")
    paris = [p["tip"] for p in points if "\nParis, France" in p["tip"]]
    line = "3 sites in Paris: Hôpital A; Hôpital B; Hôpital C"
    assert len(paris) == 3 and all(tip.endswith(line) for tip in paris)
    # each still starts with its own name, so no two Paris tooltips are the same
    assert len(set(paris)) == 3
    lille = next(p["tip"] for p in points if "\nLille, France" in p["tip"])
    assert "sites in" not in lille


def test_colocated_groups_match_spread_positions() -> None:
    lats, lons = [48.0, 45.0, 48.00001, 48.0], [2.0, 9.0, 2.0, 2.0]
    groups = colocated_groups(lats, lons)
    assert groups == [[0, 2, 3], [1]]
    assert spread_positions(lats, lons, groups) == spread_positions(lats, lons)


# ------------------------------------------------------------------- framing a search, reset


def sites_at(*latlons: tuple[float, float]) -> list[dict]:
    """Marker dicts at (lat, lon) points, as build_deck takes them."""
    return [
        {"site_id": f"s{i}", "position": [lon, lat], "color": [0, 0, 0, 255], "approx": False}
        for i, (lat, lon) in enumerate(latlons)
    ]


LYON = (45.76, 4.84)
WORLDWIDE = sites_at(
    (45.75, 4.85),  # Lyon
    (45.19, 5.72),  # Grenoble
    (43.30, 5.37),  # Marseille
    (48.86, 2.35),  # Paris
    (-33.87, 151.21),  # Sydney
    (40.71, -74.01),  # New York
)


def test_no_radius_frames_the_place_and_its_nearest_sites_not_the_world() -> None:
    framed = framed_points(WORLDWIDE, origin=LYON)
    assert framed[0] == LYON and len(framed) == 1 + NEAREST_FRAMED
    assert {(round(lat), round(lon)) for lat, lon in framed[1:]} == {(46, 5), (45, 6), (43, 5)}
    view = fit_view(framed)
    assert view.zoom >= 5  # a region, where the whole trial would be zoom ~0.5
    assert fit_view(framed_points(WORLDWIDE)).zoom < 1.5


@pytest.mark.parametrize(
    ("radius_km", "framed_count"),
    [
        (None, 1 + NEAREST_FRAMED),  # no radius: the place and its nearest few
        (300.0, 6 + 1 + 4),  # a radius: every site given, the place, and the circle's extent
        (5000.0, 1 + NEAREST_FRAMED),  # a radius bigger than a continent: as with none
    ],
)
def test_framed_points(radius_km: float | None, framed_count: int) -> None:
    assert len(framed_points(WORLDWIDE, LYON, radius_km)) == framed_count


def test_search_with_no_site_in_view_frames_the_place_alone() -> None:
    # nothing to show but the place: it is shown with its surroundings, not the world
    assert framed_points([], origin=LYON) == [LYON]
    assert fit_view([LYON]).zoom == 5


@pytest.mark.parametrize("resets", [0, 1, 2, 3])
def test_reset_view_changes_every_key_on_each_press(resets: int) -> None:
    base = fit_view([PARIS, LYON])
    before, after = reset_view(base, resets), reset_view(base, resets + 1)
    keys = ("latitude", "longitude", "zoom", "pitch", "bearing")
    # Streamlit keeps the reader's view for keys that did not change: every key must move
    assert all(getattr(before, k) != getattr(after, k) for k in keys)
    # invisibly: the view is the framed one, north up, untilted
    for k in ("latitude", "longitude", "zoom"):
        assert getattr(after, k) == pytest.approx(getattr(base, k), abs=2 * RESET_NUDGE)
    assert abs(after.pitch) <= RESET_NUDGE and abs(after.bearing) <= RESET_NUDGE


def test_origin_is_a_ring_under_the_sites() -> None:
    deck = build_deck(sites_at(LYON), None, origin=LYON)
    spec = json.loads(deck.to_json())
    ids = [layer["id"] for layer in spec["layers"]]
    assert ids.index(ORIGIN_LAYER_ID) < ids.index(SITE_LAYER_ID)  # sites drawn on top
    ring = spec["layers"][ids.index(ORIGIN_LAYER_ID)]
    assert ring["filled"] is False and ring["stroked"] is True and ring["pickable"] is False
    site = spec["layers"][ids.index(SITE_LAYER_ID)]
    assert ring["getRadius"] > site["getRadius"]  # around a site at the place, never over it


# ---------------------------------------------------------------------------------- legend


def marker(category: str, colour: list[int], approx: bool = False, key: str = "status") -> dict:
    return {key: category, "color": colour, "approx": approx}


@pytest.mark.parametrize(
    ("points", "key", "origin", "expected"),
    [
        # statuses in plain words, in the fixed order (recruiting first), one entry per colour
        (
            [
                marker("COMPLETED", STATUS_COLORS["COMPLETED"]),
                marker("RECRUITING", STATUS_COLORS["RECRUITING"]),
                marker("RECRUITING", STATUS_COLORS["RECRUITING"]),
                marker("ACTIVE_NOT_RECRUITING", STATUS_COLORS["ACTIVE_NOT_RECRUITING"]),
            ],
            "status",
            False,
            [
                ("Recruiting", LEGEND_MARKER),
                ("Active, not recruiting", LEGEND_MARKER),
                ("Completed", LEGEND_MARKER),
            ],
        ),
        # the registry's code and a text record's words for one status: one entry
        (
            [
                marker("NOT_YET_RECRUITING", STATUS_COLORS["NOT_YET_RECRUITING"]),
                marker("Not yet recruiting", STATUS_COLORS["NOT_YET_RECRUITING"]),
            ],
            "status",
            False,
            [("Not yet recruiting", LEGEND_MARKER)],
        ),
        # an unknown status is humanized, after the known ones; a missing one says so
        (
            [marker("ODD_STATUS", [1, 2, 3, 255]), marker("", [128, 128, 128, 220])],
            "status",
            False,
            [("Status not given", LEGEND_MARKER), ("Odd status", LEGEND_MARKER)],
        ),
        # countries alphabetically; hollow points and the searched place explained last
        (
            [
                marker("Italy", [1, 1, 1, 255], key="country"),
                marker("France", [2, 2, 2, 255], approx=True, key="country"),
            ],
            "country",
            True,
            [
                ("France", LEGEND_MARKER),
                ("Italy", LEGEND_MARKER),
                ("Approximate location", LEGEND_APPROXIMATE),
                ("Searched place", LEGEND_ORIGIN),
            ],
        ),
        ([], "status", False, []),  # nothing drawn, nothing to explain
    ],
)
def test_legend_entries(points, key: str, origin: bool, expected) -> None:
    entries = legend_entries(points, key, origin=origin)
    assert [(e.label, e.kind) for e in entries] == expected
    for entry in entries:
        assert all(0 <= c <= 255 for c in entry.rgb) and len(entry.rgb) == 3
    colours = {e.label: e.rgb for e in entries}
    if "Recruiting" in colours:
        assert colours["Recruiting"] == tuple(STATUS_COLORS["RECRUITING"][:3])
    if "Approximate location" in colours:
        assert colours["Approximate location"] == APPROX_LEGEND_RGB


def test_legend_for_the_second_records_sites() -> None:
    table = read_table(SECOND_TABLE)
    key = color_key(table)
    statuses = sorted(set(table[Col.STATUS]))
    points = site_points(table, category_colors(statuses, key), key)
    labels = [e.label for e in legend_entries(points, key)]
    # its two statuses, and its two flagged rows (Milan, Haifa)
    assert labels == ["Recruiting", "Not yet recruiting", "Approximate location"]


def test_legend_spec_draws_labels_as_data() -> None:
    entries = [
        LegendEntry("Recruiting", (0, 158, 115)),
        LegendEntry("<b>x</b> [y](javascript:z)", (1, 2, 3)),  # a country name from a record
        LegendEntry("Approximate location", APPROX_LEGEND_RGB, LEGEND_APPROXIMATE),
        LegendEntry("Searched place", (20, 20, 20), LEGEND_ORIGIN),
    ]
    spec = legend_spec(entries)
    # the entries are a parameter; the browser makes one row per entry from it
    values = next(p["value"] for p in spec["params"] if p["name"] == "entries")
    assert spec["data"] == {"sequence": {"start": 0, "stop": 4, "as": "i"}}
    assert [v["label"] for v in values] == [e.label for e in entries]  # text marks: literal
    assert [v["color"] for v in values] == ["#009e73", "#010203", "#505050", "#141414"]
    # one layer per kind of mark, and the labels
    kinds = [layer["transform"][0]["filter"] for layer in spec["layer"] if "transform" in layer]
    assert kinds == [f"datum.kind == '{k}'" for k in ("marker", "approximate", "origin")]
    assert spec["layer"][-1]["mark"]["type"] == "text"
    # for screen readers: the text names each entry; the dots are decoration
    assert all(layer["mark"]["aria"] is False for layer in spec["layer"][:-1])
    assert spec["layer"][-1]["encoding"]["description"]["field"] == "label"
    assert spec["description"]
    # as many columns as the width allows: one on a 390 px phone, more on a laptop
    assert "floor(width /" in next(p["expr"] for p in spec["params"] if p["name"] == "ncols")
    json.dumps(spec, allow_nan=False)


@pytest.mark.parametrize(
    ("kinds", "layers"),
    [
        # only the kinds drawn get a layer: an empty one leaves an unnamed SVG group that
        # screen readers (and axe's svg-img-alt rule) flag
        ((LEGEND_MARKER,), 1),
        ((LEGEND_MARKER, LEGEND_ORIGIN), 2),
        ((LEGEND_ORIGIN,), 1),  # a search with no site in view
    ],
)
def test_legend_spec_has_no_empty_layer(kinds, layers: int) -> None:
    spec = legend_spec([LegendEntry(k, (0, 0, 0), k) for k in kinds])
    assert len(spec["layer"]) == layers + 1  # and the text


# ------------------------------------------------------------------------------ place names


class FakeIndex:
    """The parts of the place index gazetteer_places reads."""

    def __init__(self, rows: list[tuple[str, float, float, int]]) -> None:
        self.names = [r[0] for r in rows]
        self.lat = np.array([r[1] for r in rows])
        self.lon = np.array([r[2] for r in rows])
        self.pop = np.array([r[3] for r in rows])

    def name(self, i: int) -> str:
        return self.names[i]


def test_gazetteer_places_keeps_big_places_most_populous_first() -> None:
    index = FakeIndex(
        [
            ("Village", 45.0, 5.0, 500),  # too small for a name on the map
            ("Lyon", 45.748459, 4.846710, 522_969),
            ("Paris", 48.853410, 2.348800, 2_138_551),
            ("Twin B", 1.0, 1.0, 200_000),  # equal populations: by name
            ("Twin A", 2.0, 2.0, 200_000),
        ]
    )
    places = gazetteer_places(index, min_population=100_000)
    assert places == [
        ("Paris", 48.853, 2.349, 2_138_551),
        ("Lyon", 45.748, 4.847, 522_969),
        ("Twin A", 2.0, 2.0, 200_000),
        ("Twin B", 1.0, 1.0, 200_000),
    ]
    assert json.loads(places_json(places)) == [list(p) for p in places]
    assert places_json(places).count("\n") == len(places) + 2  # one place a line: clean diffs


@pytest.fixture(scope="module")
def served_places() -> list[list]:
    """dashboard/static/places.json, as the page reads it."""
    return json.loads(STATIC_PLACES.read_text(encoding="utf-8"))


def city_labels() -> object:
    """Names from the served places file (the page's `place_labels()`)."""
    return place_labels(json.loads(STATIC_PLACES.read_text(encoding="utf-8")))


def test_served_places_match_the_place_index(served_places) -> None:
    # The page reads the map's place names from this small file rather than loading the whole
    # offline index (100+ MB) on every server. When the index changes, regenerate it with
    #   .venv/bin/python -c "from dashboard.places.index import load_gazetteer;
    #   from dashboard.ui.map import gazetteer_places, places_json;
    #   open('dashboard/static/places.json', 'w', encoding='utf-8').write(
    #   places_json(gazetteer_places(load_gazetteer())))"
    from dashboard.places.index import load_gazetteer

    expected = [list(p) for p in gazetteer_places(load_gazetteer())]
    assert served_places == expected
    assert len(served_places) > 3000  # every place of 100,000 people or more
    assert min(p[3] for p in served_places) >= PLACE_MIN_POPULATION


def test_label_size_grows_with_population() -> None:
    sizes = [label_size_m(p) for p in (1e5, 1e6, 1e7)]
    assert sizes == sorted(sizes)
    # a city of a million is readable at country zoom (5) and not at world zoom (1)
    assert label_pixels(label_size_m(1e6), 5, 45) >= LABEL_MIN_PX
    assert label_pixels(label_size_m(1e6), 1, 45) < 2


@pytest.mark.parametrize(
    ("places", "kept"),
    [
        # far apart: both named
        ([("Paris", 48.85, 2.35, 2_138_551), ("Lyon", 45.75, 4.85, 522_969)], ["Paris", "Lyon"]),
        # a suburb 5 km from a big city: only the city (its name would cover the suburb's)
        (
            [("Boulogne", 48.84, 2.24, 113_000), ("Paris", 48.85, 2.35, 2_138_551)],
            ["Paris"],
        ),
        # a row that cannot be drawn is skipped, not fatal
        ([("", 1.0, 1.0, 200_000), ("Nowhere", float("nan"), 1.0, 200_000)], []),
    ],
)
def test_place_labels_keep_the_bigger_of_overlapping_names(places, kept) -> None:
    assert list(place_labels(places).names) == kept


@pytest.mark.parametrize("zoom", [3.0, 5.0, 7.0, 9.0, 11.0])
def test_place_labels_never_overlap_at_any_zoom(served_places, zoom: float) -> None:
    # sized in metres (capped in pixels), names kept apart once stay apart at every zoom:
    # check around western Europe, where names are dense
    labels = place_labels(served_places)
    view = fit_view([(52.0, -2.0), (44.0, 12.0)])
    view.zoom, view.latitude = zoom, 48.0
    names = labels_in_view(labels, view, 4000, 4000)
    assert names
    boxes = []
    for n in names:
        lon, lat = n["position"]
        px = min(label_pixels(n["size"], zoom, 48.0), LABEL_MAX_PX)
        x = (lon + 180) / 360 * 512 * 2**zoom
        y = -math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)
        y *= 512 * 2**zoom
        half = len(n["name"]) * 0.55 * px / 2
        boxes.append((x - half, y - px, x + half, y))
    overlaps = [
        (names[i]["name"], names[j]["name"])
        for i, a in enumerate(boxes)
        for j in range(i + 1, len(boxes))
        if a[0] < boxes[j][2] and boxes[j][0] < a[2] and a[1] < boxes[j][3] and boxes[j][1] < a[3]
    ]
    # names are kept apart at the latitude of each; across a view they may differ slightly
    assert len(overlaps) <= len(names) // 50, overlaps[:5]


def test_labels_in_view_only_readable_names_around_the_view(served_places) -> None:
    labels = place_labels(served_places)
    world = labels_in_view(labels, fit_view([(40.0, -120.0), (-37.8, 145.0)]))
    assert world == []  # zoomed out to the world every name would be a smudge: none sent
    france = labels_in_view(labels, fit_view([PARIS, LYON, (43.30, 5.37)]))  # zoom 5
    names = [n["name"] for n in france]
    assert "Paris" in names and "Marseille" not in names  # a million or more only
    assert "Tokyo" not in names  # far outside the view
    assert all(set(n) == {"name", "position", "size"} for n in france)
    region = [n["name"] for n in labels_in_view(labels, fit_view([LYON, (45.19, 5.72)]))]
    assert "Lyon" in region and "Grenoble" in region  # closer in, smaller towns
    assert region.index("Lyon") < region.index("Grenoble")  # most populous first
    local = labels_in_view(labels, fit_view([(-37.81, 144.96), (-37.9, 145.1)]))
    assert "Melbourne" in [n["name"] for n in local]


def test_labels_in_view_wrap_round_the_antimeridian() -> None:
    labels = place_labels(
        [("East", -17.0, 179.5, 500_000), ("West", -17.0, -179.5, 500_000), ("Far", -17.0, 0, 1e7)]
    )
    view = fit_view([(-17.0, 179.9)])
    view.zoom = 7
    # a view next to longitude 180 shows places on both sides of it, not those half a world off
    assert sorted(n["name"] for n in labels_in_view(labels, view)) == ["East", "West"]


def test_labels_in_view_are_capped() -> None:
    many = place_labels(
        [(f"P{i}", 10 + (i // 40) * 0.5, 10 + (i % 40) * 0.5, 5_000_000) for i in range(1600)]
    )
    view = fit_view([(10.0, 10.0), (29.5, 29.5)])
    view.zoom = 9
    assert len(labels_in_view(many, view, 100_000, 100_000)) <= MAX_LABELS


@pytest.mark.parametrize(
    ("marks", "lift"),
    [
        ([], LABEL_LIFT_PX),  # nothing under the name: just above its place
        # a marker right on the place: the default lift clears it
        ([(2.3522, 48.8566, 7.0)], LABEL_LIFT_PX),
        # the searched place's ring on the place: the name climbs over the ring
        ([(2.3522, 48.8566, 15.5)], 15.5 + 2),
        # a marker ~16 px north of the place (zoom 9: 1.6 km): the name climbs over it too
        ([(2.3522, 48.8566 + 0.0145, 7.0)], None),
        # a marker far to the east is not under the name
        ([(2.6, 48.8566, 7.0)], LABEL_LIFT_PX),
        # a pile of marks high above: never lifted further than LABEL_MAX_LIFT_PX
        ([(2.3522, 48.8566 + 0.005 * k, 7.0) for k in range(12)], LABEL_MAX_LIFT_PX),
    ],
)
def test_lift_labels(marks, lift) -> None:
    view = fit_view([PARIS])
    view.zoom = 9
    name = {"name": "Paris", "position": [2.3522, 48.8566], "size": 20_000}
    (out,) = lift_labels([name], marks, view)
    assert out["offset"][0] == 0 and out["offset"][1] <= 0  # up: deck.gl's y points down
    if lift is None:
        assert 16 + 7 < -out["offset"][1] < 16 + 7 + 4  # just above the marker's top
    else:
        assert -out["offset"][1] == pytest.approx(lift, abs=0.11)


def test_deck_with_place_names_is_small_and_offline() -> None:
    table = read_table(SECOND_TABLE)
    key = color_key(table)
    points = site_points(table, category_colors(sorted(set(table[Col.STATUS])), key), key)
    milan = (45.46, 9.19)
    for radius in (None, 200.0):
        # as the page does: with a radius, only the sites inside it
        near = [
            p for p in points if radius is None or km_between(milan, p["position"][::-1]) <= radius
        ]
        deck = build_deck(near, None, origin=milan, radius_km=radius, places=city_labels())
        spec = json.loads(deck.to_json())
        ids = [layer["id"] for layer in spec["layers"]]
        # names over the land and the radius, under the searched place and the sites
        assert ids[-3:] == [PLACE_LAYER_ID, ORIGIN_LAYER_ID, SITE_LAYER_ID]
        assert (RADIUS_LAYER_ID in ids) is (radius is not None)
        text = spec["layers"][ids.index(PLACE_LAYER_ID)]
        assert text["@@type"] == "TextLayer" and text["pickable"] is False
        assert text["sizeUnits"] == "meters" and text["sizeMaxPixels"] == LABEL_MAX_PX
        assert text["characterSet"] == "auto"  # accents (São Paulo) drawn, not dropped
        assert "Milan" in [n["name"] for n in text["data"]]
        # what the names add to the JSON sent on every rerun stays small
        assert len(json.dumps(text, separators=(",", ":"))) < 10_000


def test_world_view_sends_no_place_names() -> None:
    points = site_points(make_table(), category_colors(["France", "Italy"], "country"), "country")
    points.append({**points[0], "position": [151.2, -33.9]})  # and Sydney: the whole world
    spec = json.loads(build_deck(points, None, places=city_labels()).to_json())
    assert PLACE_LAYER_ID not in [layer["id"] for layer in spec["layers"]]


def test_site_points_for_a_real_table_are_json_ready() -> None:
    table = read_table(SECOND_TABLE)
    points = site_points(table, {}, "country")
    assert sum(p["approx"] for p in points) == 2  # the two rows flagged for review
    json.dumps(points, allow_nan=False)


# ----------------------------------------------------------------------------- on the page

TIMEOUT_S = 90


def legend_labels(at: AppTest) -> list[str]:
    """The map legend's labels, as the page sends them."""
    legends = [c for c in at.get("vega_lite_chart") if "ncols" in c.proto.spec]
    assert len(legends) == 1
    assert not legends[0].proto.data.data  # no Arrow table to build on every rerun
    params = json.loads(legends[0].proto.spec)["params"]
    return [e["label"] for e in next(p["value"] for p in params if p["name"] == "entries")]


def test_page_draws_the_legend_and_resets_the_view() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params["near"] = "Paris, France"
    at.query_params["radius"] = "600"
    at.run()
    assert not at.exception
    assert legend_labels(at)[-1] == "Searched place" and "France" in legend_labels(at)

    def view() -> dict:
        return json.loads(at.get("deck_gl_json_chart")[0].proto.json)["initialViewState"]

    first = view()
    at.button(key="reset_map").click().run()
    assert not at.exception
    second = view()
    assert all(second[k] != first[k] for k in ("latitude", "longitude", "zoom"))
    assert second["zoom"] == pytest.approx(first["zoom"], abs=1e-6)


def test_page_legend_is_empty_when_nothing_is_drawn() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.query_params["country"] = "France"
    at.query_params["near"] = "Sydney, Australia"
    at.query_params["radius"] = "5"
    at.run()
    assert not at.exception
    # no site within 5 km of Sydney in France: only the searched place is explained
    assert legend_labels(at) == ["Searched place"]
