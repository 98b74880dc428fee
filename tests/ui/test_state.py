"""Tests for dashboard.ui.state: links and widgets <-> view state, filtering, `derive_view`."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from geopy.distance import great_circle
from paths import SECOND_TABLE

from dashboard.geo import KM_PER_MILE
from dashboard.sites.table import Col, read_table
from dashboard.ui.map import STATUS_COLORS
from dashboard.ui.panels import nearest_order, records
from dashboard.ui.state import (
    INFO,
    WARNING,
    WIDGET_KEYS,
    Filters,
    ViewModel,
    add_distances,
    country_options,
    derive_view,
    filter_sites,
    filters_from_widgets,
    filters_to_widgets,
    format_radius,
    parse_params,
    parse_radius,
    radius_in_units,
    same_params,
    status_options,
    to_params,
    within_radius,
)

TRIALS = ("NCT04270409", "NCT00000001")
COUNTRIES = ("Australia", "France", "Italy", "Turkey (Türkiye)")
STATUSES = ("RECRUITING", "COMPLETED")


def make_table() -> pd.DataFrame:
    """A small site table in the store's column layout."""
    rows = [
        ("Hôpital A", "Paris", "France", "RECRUITING", 48.8566, 2.3522),
        ("Hôpital B", "Paris", "France", "COMPLETED", 48.8566, 2.3522),
        ("Clinique C", "Lille", "France", "", 50.6292, 3.0573),
        ("Ospedale D", "Milano", "Italy", "RECRUITING", 45.4642, 9.19),
        ("Hospital E", "Fitzroy", "Australia", "", -37.7986, 144.9784),
        ("Hospital F", "Nowhere", "Australia", "", float("nan"), float("nan")),
    ]
    return pd.DataFrame(
        {
            "site_id": [f"s{i}" for i in range(len(rows))],
            "facility": [r[0] for r in rows],
            "city": [r[1] for r in rows],
            "state": ["" for _ in rows],
            "country": [r[2] for r in rows],
            "status": [r[3] for r in rows],
            "latitude": [r[4] for r in rows],
            "longitude": [r[5] for r in rows],
            "precision": ["city" for _ in rows],
        }
    )


def parse(params: dict, **kw) -> tuple[Filters, tuple[str, ...]]:
    parsed = parse_params(
        params,
        trials=TRIALS,
        countries=COUNTRIES,
        statuses=STATUSES,
        default_trial=TRIALS[0],
        **kw,
    )
    return parsed.filters, parsed.warnings


def test_empty_link_gives_the_default_view() -> None:
    filters, warnings = parse({})
    assert filters == Filters(trial=TRIALS[0])
    assert warnings == ()


def test_full_link_round_trips_through_params() -> None:
    filters = Filters(
        trial=TRIALS[1],
        countries=("France", "Italy"),
        statuses=("RECRUITING",),
        near="Melbourne, Australia",
        radius=31.0,
        units="mi",
    )
    params = to_params(filters)
    assert params == {
        "trial": TRIALS[1],
        "country": ["France", "Italy"],
        "status": ["RECRUITING"],
        "near": "Melbourne, Australia",
        "radius": "31",
        "units": "mi",
    }
    assert parse(params) == (filters, ())


@pytest.mark.parametrize(
    ("params", "countries", "n_warnings"),
    [
        ({"country": "France"}, ("France",), 0),
        ({"country": ["France", "Italy"]}, ("France", "Italy"), 0),
        # hand-typed links often get the case wrong; the record's spelling wins
        ({"country": "france"}, ("France",), 0),
        # a repeated value is one filter, not two
        ({"country": ["France", "France"]}, ("France",), 0),
        # a country the trial has no site in is dropped with a warning, the rest kept
        ({"country": ["Atlantis", "Italy"]}, ("Italy",), 1),
        # names with punctuation and non-ASCII letters come through intact
        ({"country": "Turkey (Türkiye)"}, ("Turkey (Türkiye)",), 0),
        # an empty value (e.g. `?country=`) means no filter, not an unknown country
        ({"country": ""}, (), 0),
    ],
)
def test_country_params(params: dict, countries: tuple[str, ...], n_warnings: int) -> None:
    filters, warnings = parse(params)
    assert filters.countries == countries
    assert len(warnings) == n_warnings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50", 50.0),
        (" 12.5 ", 12.5),
        ("", None),
        (None, None),
        (7, 7.0),
    ],
)
def test_parse_radius_accepts(text, expected) -> None:
    assert parse_radius(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "-5",  # a negative radius contains nothing
        "0",  # so does a zero one
        "nan",  # float() accepts it, but it compares false with everything
        "inf",  # float() accepts it too; an unbounded radius is "no radius", spelled blank
        "1e400",  # overflows to inf
    ],
)
def test_parse_radius_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_radius(text)


@pytest.mark.parametrize(
    ("params", "radius", "units", "n_warnings"),
    [
        ({"near": "Lyon", "radius": "50", "units": "km"}, 50.0, "km", 0),
        ({"near": "Lyon", "radius": "31", "units": "mi"}, 31.0, "mi", 0),
        # upper case from a hand-edited link is still understood
        ({"near": "Lyon", "radius": "31", "units": "MI"}, 31.0, "mi", 0),
        # units nobody supports fall back to km with a warning
        ({"near": "Lyon", "radius": "5", "units": "furlongs"}, 5.0, "km", 1),
        ({"near": "Lyon", "radius": "lots"}, None, "km", 1),
        ({"near": "Lyon", "radius": "-3"}, None, "km", 1),
        # bigger than the globe is the same as no limit, not an error
        ({"near": "Lyon", "radius": "99999"}, None, "km", 0),
        # browsers keep every repeat; the last one is what a person edited in
        ({"near": "Lyon", "radius": ["10", "20"]}, 20.0, "km", 0),
    ],
)
def test_radius_and_units_params(params, radius, units, n_warnings) -> None:
    filters, warnings = parse(params)
    assert (filters.radius, filters.units) == (radius, units)
    assert len(warnings) == n_warnings


def test_unknown_trial_falls_back_to_the_default_with_a_warning() -> None:
    filters, warnings = parse({"trial": "NCT99999999"})
    assert filters.trial == TRIALS[0]
    assert len(warnings) == 1 and "NCT99999999" in warnings[0]


def test_lower_case_trial_id_is_understood() -> None:
    assert parse({"trial": "nct00000001"})[0].trial == TRIALS[1]


def test_overlong_place_is_ignored() -> None:
    filters, warnings = parse({"near": "x" * 1000})
    assert filters.near == "" and len(warnings) == 1


def test_units_are_written_whenever_a_place_is_given() -> None:
    # so a link never depends on the default unit
    assert to_params(Filters(trial="T", near="Lyon")) == {
        "trial": "T",
        "near": "Lyon",
        "units": "km",
    }
    assert to_params(Filters(trial="T")) == {"trial": "T"}


@pytest.mark.parametrize(
    ("value", "text"),
    [(50.0, "50"), (12.5, "12.5"), (0.1, "0.1"), (1e-7, "1e-07")],
)
def test_format_radius_is_short(value: float, text: str) -> None:
    assert format_radius(value) == text
    assert float(format_radius(value)) == value


def test_same_params_treats_one_value_and_a_one_item_list_alike() -> None:
    assert same_params({"country": "France"}, {"country": ["France"]})
    assert not same_params({"country": "France"}, {"country": ["France", "Italy"]})
    assert not same_params({"near": "Lyon"}, {})


def test_options_come_from_the_table() -> None:
    table = make_table()
    assert country_options(table) == ["Australia", "France", "Italy"]
    assert status_options(table) == ["COMPLETED", "RECRUITING"]


@pytest.mark.parametrize(
    ("filters", "facilities"),
    [
        (
            Filters(),
            ["Hôpital A", "Hôpital B", "Clinique C", "Ospedale D", "Hospital E", "Hospital F"],
        ),
        (Filters(countries=("France",)), ["Hôpital A", "Hôpital B", "Clinique C"]),
        (
            Filters(countries=("France", "Italy")),
            ["Hôpital A", "Hôpital B", "Clinique C", "Ospedale D"],
        ),
        (Filters(statuses=("RECRUITING",)), ["Hôpital A", "Ospedale D"]),
        (Filters(countries=("Italy",), statuses=("COMPLETED",)), []),
    ],
)
def test_filter_sites(filters: Filters, facilities: list[str]) -> None:
    table = make_table()
    out = filter_sites(table, filters)
    assert out["facility"].tolist() == facilities
    out["extra"] = 1  # the result is a copy: the cached table must stay untouched
    assert "extra" not in table.columns


def test_distances_sort_nearest_first_with_stable_ties() -> None:
    table = make_table()
    out = add_distances(table, 48.85, 2.35, "km")
    # the two Paris sites share a point: they tie and keep record order
    assert out["facility"].tolist()[:4] == ["Hôpital A", "Hôpital B", "Clinique C", "Ospedale D"]
    # a site without coordinates has no distance and goes last
    assert out["facility"].iloc[-1] == "Hospital F" and pd.isna(out[Col.DISTANCE_KM].iloc[-1])
    assert out[Col.DISTANCE_KM].iloc[0] < 1
    assert "distance (km)" in out.columns
    assert Col.DISTANCE_KM not in table.columns


def test_distances_in_miles_and_radius() -> None:
    table = make_table()
    km = add_distances(table, 48.85, 2.35, "km")
    mi = add_distances(table, 48.85, 2.35, "mi")
    lille_km = km.loc[km["city"] == "Lille", "distance (km)"].iloc[0]
    lille_mi = mi.loc[mi["city"] == "Lille", "distance (mi)"].iloc[0]
    assert lille_km == pytest.approx(lille_mi * KM_PER_MILE, abs=0.2)
    near = within_radius(km, 300)
    assert near["city"].tolist() == ["Paris", "Paris", "Lille"]
    assert within_radius(km, None) is km


# ---------------------------------------------------------------------------------------------
# Links and widgets round-trip


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(trial=TRIALS[0]),
        Filters(
            trial=TRIALS[1],
            countries=("France", "Italy"),
            statuses=("RECRUITING",),
            near="Melbourne, Australia",
            radius=31.0,
            units="mi",
        ),
        # a place without a radius: every site, sorted by distance
        Filters(trial=TRIALS[0], near="45.76, 4.84"),
        # a radius with no place yet (typed before the place): kept, not dropped
        Filters(trial=TRIALS[0], radius=12.5),
        # names with punctuation and non-ASCII letters come through intact
        Filters(trial=TRIALS[0], countries=("Turkey (Türkiye)",)),
    ],
)
def test_filters_round_trip_through_the_widgets(filters: Filters) -> None:
    widgets = filters_to_widgets(filters)
    assert set(widgets) == set(WIDGET_KEYS.values())
    assert filters_from_widgets(widgets) == filters


@pytest.mark.parametrize(
    ("state", "filters"),
    [
        # before the first run no widget exists yet: no filter at all
        ({}, Filters()),
        # a cleared number box is None and a cleared radio would be None: defaults, not errors
        ({"radius": None, "units": None}, Filters()),
        # spaces around a typed place are not part of its name
        ({"near": "  Lyon, France  "}, Filters(near="Lyon, France")),
        # only blanks typed is no place
        ({"near": "   "}, Filters()),
        # multiselects hold lists; Filters holds tuples
        ({"country": ["France"], "status": []}, Filters(countries=("France",))),
    ],
)
def test_filters_from_widgets_reads_missing_and_blank_widgets_as_no_filter(
    state: dict, filters: Filters
) -> None:
    assert filters_from_widgets(state) == filters


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        # links the page writes come back unchanged
        ({"trial": TRIALS[0]}, {"trial": TRIALS[0]}),
        (
            {
                "trial": TRIALS[1],
                "country": ["France", "Italy"],
                "status": ["RECRUITING"],
                "near": "Melbourne, Australia",
                "radius": "31",
                "units": "mi",
            },
            None,
        ),
        # one country as a single value reads the same as a one-item list
        ({"trial": TRIALS[0], "country": "France"}, None),
        # a link without a trial opens the default one, and says so in the new link
        ({"country": "France"}, {"trial": TRIALS[0], "country": ["France"]}),
        # hand-typed case is put into the record's spelling
        (
            {"trial": "nct00000001", "country": "france", "units": "MI"},
            {"trial": TRIALS[1], "country": ["France"], "units": "mi"},
        ),
        # a place gets its units written out, and a radius its short form
        (
            {"trial": TRIALS[0], "near": "Lyon", "radius": "50.0"},
            {"trial": TRIALS[0], "near": "Lyon", "radius": "50", "units": "km"},
        ),
        # values that cannot apply are dropped from the new link
        (
            {"trial": TRIALS[0], "country": ["Atlantis", "Italy"], "radius": "-3"},
            {"trial": TRIALS[0], "country": ["Italy"]},
        ),
    ],
)
def test_a_link_round_trips_through_parse_and_to_params(link: dict, canonical: dict | None) -> None:
    filters, _ = parse(link)
    params = to_params(filters)
    assert same_params(params, link if canonical is None else canonical)
    # and the new link is stable: parsing it again gives the same filters and no warning
    assert parse(params) == (filters, ())


# ---------------------------------------------------------------------------------------------
# derive_view, called directly on the shipped NCT07062965 table (202 sites, with statuses)

# The places the fake lookup knows: text typed -> (name shown, lat, lon).
PLACES: dict[str, tuple[str, float, float]] = {
    "Lyon, France": ("Lyon", 45.76404, 4.83566),
    "Barcelona": ("Barcelona", 41.38879, 2.15899),
    "Chicago": ("Chicago", 41.85003, -87.65005),
}


def find_place(text: str) -> tuple[str, float, float] | None:
    """A fake place search: a dict lookup, None for anything it does not know."""
    return PLACES.get(text)


def no_lookup(text: str) -> tuple[str, float, float] | None:
    """A place search that must not be asked (no place was typed)."""
    raise AssertionError(f"looked up {text!r} with no place typed")


@pytest.fixture(scope="module")
def second_table() -> pd.DataFrame:
    table = read_table(SECOND_TABLE)
    assert len(table) == 202
    return table


def view(table: pd.DataFrame, lookup: Callable = find_place, **kw) -> ViewModel:
    return derive_view(table, Filters(trial="NCT07062965", **kw), lookup)


def assert_no_search(vm: ViewModel) -> None:
    """A view with no distances: no origin, no circle, no distance columns."""
    assert vm.origin is None and vm.units is None and vm.radius_km is None
    assert vm.place_name == ""
    assert not [c for c in vm.rows.columns if c.startswith("distance")]


def test_no_filter_shows_every_site_coloured_by_status(second_table: pd.DataFrame) -> None:
    vm = view(second_table, no_lookup)
    assert vm.n_total == vm.n_shown == 202
    assert vm.rows[Col.SITE_ID].tolist() == second_table[Col.SITE_ID].tolist()  # record order
    assert vm.color_key == Col.STATUS
    assert len(vm.points) == 202 and vm.n_unplaced == 0
    assert vm.notices == ()
    assert_no_search(vm)


@pytest.mark.parametrize(
    ("countries", "n_sites"),
    [
        (("France",), 7),
        (("France", "Spain"), 15),
        # a name with punctuation and non-ASCII letters, as the record spells it
        (("Turkey (Türkiye)",), 4),
        (("United States",), 102),
    ],
)
def test_country_filter_keeps_only_those_countries(
    second_table: pd.DataFrame, countries: tuple[str, ...], n_sites: int
) -> None:
    vm = view(second_table, no_lookup, countries=countries)
    assert vm.n_shown == n_sites and vm.n_total == 202
    assert set(vm.rows[Col.COUNTRY]) == set(countries)
    assert vm.n_countries == len(countries)
    assert [p["site_id"] for p in vm.points] == vm.rows[Col.SITE_ID].tolist()
    assert vm.notices == ()
    assert_no_search(vm)


@pytest.mark.parametrize(
    ("countries", "statuses", "n_sites"),
    [
        ((), ("RECRUITING",), 122),
        ((), ("NOT_YET_RECRUITING",), 80),
        # both statuses the trial has: every site
        ((), ("RECRUITING", "NOT_YET_RECRUITING"), 202),
        # filters combine: sites in the country AND with the status
        (("United States",), ("RECRUITING",), 48),
        (("Germany",), ("NOT_YET_RECRUITING",), 2),
        # France has no recruiting site yet: an empty view is right here
        (("France",), ("RECRUITING",), 0),
    ],
)
def test_status_filter_keeps_only_those_statuses(
    second_table: pd.DataFrame, countries, statuses, n_sites: int
) -> None:
    vm = view(second_table, no_lookup, countries=countries, statuses=statuses)
    assert vm.n_shown == n_sites
    assert set(vm.rows[Col.STATUS]) <= set(statuses)
    if countries:
        assert set(vm.rows[Col.COUNTRY]) <= set(countries)
    # every marker in view has the fixed colour of its status
    assert len(vm.points) == n_sites
    assert all(p["color"] == STATUS_COLORS[p["status"]] for p in vm.points)
    assert_no_search(vm)


@pytest.mark.parametrize(
    ("near", "radius", "units", "countries", "cities"),
    [
        ("Lyon, France", 50, "km", (), ["Lyon", "Pierre-Bénite"]),
        # a wider circle crosses borders (Milan, Ulm) and stays nearest first
        (
            "Lyon, France",
            500,
            "km",
            (),
            ["Lyon", "Pierre-Bénite", "Montpellier", "Vandœuvre-lès-Nancy", "Milan", "Bordeaux"]
            + ["Ulm"],
        ),
        # the radius is in the chosen units: 311 mi is 500.5 km, the same seven sites
        (
            "Lyon, France",
            311,
            "mi",
            (),
            ["Lyon", "Pierre-Bénite", "Montpellier", "Vandœuvre-lès-Nancy", "Milan", "Bordeaux"]
            + ["Ulm"],
        ),
        # the country filter applies before the circle: Milan and Ulm are left out
        (
            "Lyon, France",
            500,
            "km",
            ("France",),
            ["Lyon", "Pierre-Bénite", "Montpellier", "Vandœuvre-lès-Nancy", "Bordeaux"],
        ),
        # two sites on one point tie at 0 km and keep record order
        ("Barcelona", 10, "km", (), ["Barcelona", "Barcelona"]),
        ("Chicago", 100, "km", (), ["Skokie"]),
        # no site within the circle: an empty list, still with the search circle drawn
        ("Chicago", 10, "km", (), []),
    ],
)
def test_near_and_radius_keep_sites_within_the_radius_nearest_first(
    second_table: pd.DataFrame, near, radius, units, countries, cities: list[str]
) -> None:
    vm = view(second_table, near=near, radius=radius, units=units, countries=countries)
    name, lat, lon = PLACES[near]
    radius_km = radius * KM_PER_MILE if units == "mi" else radius
    assert vm.rows[Col.CITY].tolist() == cities
    assert (vm.origin, vm.place_name, vm.units) == ((lat, lon), name, units)
    assert vm.radius_km == pytest.approx(radius_km)
    # distances agree with geopy's great circle, nearest first, all inside the circle
    expected_km = [
        great_circle((lat, lon), (r.latitude, r.longitude)).km for r in vm.rows.itertuples()
    ]
    assert vm.rows[Col.DISTANCE_KM].tolist() == pytest.approx(expected_km, abs=1e-6)
    assert vm.rows[Col.DISTANCE_KM].is_monotonic_increasing
    assert (vm.rows[Col.DISTANCE_KM] <= radius_km).all()
    # ...and every filtered site left out is outside it
    pool = filter_sites(second_table, Filters(countries=countries))
    left_out = pool.loc[~pool[Col.SITE_ID].isin(vm.rows[Col.SITE_ID])]
    assert all(
        great_circle((lat, lon), (r.latitude, r.longitude)).km > radius_km
        for r in left_out.itertuples()
    )
    # the distance people see is in the chosen units, to 0.1
    shown = vm.rows[f"distance ({units})"].tolist()
    factor = KM_PER_MILE if units == "mi" else 1.0
    assert [d * factor for d in shown] == pytest.approx(expected_km, abs=0.05 * factor + 1e-9)
    # one line naming the place and the radius: how many sites, or where the nearest is
    (notice,) = vm.notices
    assert name in notice.text
    if cities:
        assert notice.kind == INFO
        assert f"within {radius} {units}" in notice.text
        word = "site" if len(cities) == 1 else "sites"
        assert notice.text.startswith(f"{len(cities)} {word} within")
    else:
        assert notice.kind == WARNING
        assert notice.text.startswith(f"No site within {radius} {units} of {name}.")
        assert "The nearest is" in notice.text and "widen the radius" in notice.text


def test_near_without_radius_sorts_every_site_by_distance(second_table: pd.DataFrame) -> None:
    vm = view(second_table, near="Lyon, France")
    assert vm.n_shown == 202 and vm.radius_km is None
    assert vm.rows[Col.DISTANCE_KM].is_monotonic_increasing
    assert vm.rows[Col.CITY].tolist()[:2] == ["Lyon", "Pierre-Bénite"]
    assert vm.notices[0].kind == INFO and "Lyon" in vm.notices[0].text
    assert "within" not in vm.notices[0].text  # no radius, none named


@pytest.mark.parametrize(
    ("near", "radius_km"),
    [
        ("Lyon, France", 500.0),
        ("Chicago", 1000.0),
        # no radius: every site, so the whole order is compared
        ("Barcelona", None),
    ],
)
def test_units_change_the_distances_shown_not_the_sites(
    second_table: pd.DataFrame, near: str, radius_km: float | None
) -> None:
    km = view(second_table, near=near, radius=radius_km, units="km")
    mi_radius = None if radius_km is None else radius_km / KM_PER_MILE
    mi = view(second_table, near=near, radius=mi_radius, units="mi")
    assert mi.rows[Col.SITE_ID].tolist() == km.rows[Col.SITE_ID].tolist()
    assert km.n_shown > 0
    assert mi.rows[Col.DISTANCE_KM].tolist() == km.rows[Col.DISTANCE_KM].tolist()
    assert "distance (km)" in km.rows and "distance (km)" not in mi.rows
    assert "distance (mi)" in mi.rows and "distance (mi)" not in km.rows
    # shown distances are rounded to 0.1 in each unit: equal up to that rounding
    assert (mi.rows["distance (mi)"] * KM_PER_MILE).tolist() == pytest.approx(
        km.rows["distance (km)"].tolist(), abs=0.05 * KM_PER_MILE + 0.05
    )
    assert (km.units, mi.units) == ("km", "mi")


@pytest.mark.parametrize(
    ("filters", "n_sites"),
    [
        (dict(near="Qwxyzzy Nowhereville"), 202),
        # a radius without a known place cannot limit anything
        (dict(near="Qwxyzzy Nowhereville", radius=50), 202),
        # the other filters still apply
        (dict(near="Atlantis", countries=("France",)), 7),
        (dict(near="Atlantis", statuses=("RECRUITING",), units="mi"), 122),
    ],
)
def test_unknown_place_warns_and_keeps_every_filtered_site(
    second_table: pd.DataFrame, filters: dict, n_sites: int
) -> None:
    vm = view(second_table, **filters)
    assert vm.n_shown == n_sites
    assert len(vm.notices) == 1 and vm.notices[0].kind == WARNING
    assert filters["near"] in vm.notices[0].text
    assert vm.rows[Col.SITE_ID].tolist() == (
        filter_sites(second_table, Filters(**filters))[Col.SITE_ID].tolist()
    )
    assert_no_search(vm)
    assert all("Distance" not in p["tip"] for p in vm.points)


@pytest.mark.parametrize(
    ("filters", "n_sites"),
    [
        # a country the trial has no site in (an old link): ignored, not an empty view
        (dict(countries=("Atlantis",)), 202),
        # only the unknown one is dropped; the known one still filters
        (dict(countries=("Atlantis", "France")), 7),
        # a status the trial does not offer (another trial's link) is ignored the same way
        (dict(statuses=("COMPLETED",)), 202),
        (dict(statuses=("COMPLETED", "RECRUITING")), 122),
        # matching is exact here: parse_params already put link values into the record's case
        (dict(countries=("france",)), 202),
        # units nobody supports fall back to km rather than breaking the distances
        (dict(near="Lyon, France", radius=50, units="parsecs"), 2),
    ],
)
def test_values_the_table_does_not_offer_are_ignored(
    second_table: pd.DataFrame, filters: dict, n_sites: int
) -> None:
    vm = view(second_table, **filters)
    assert vm.n_shown == n_sites
    if "near" in filters:
        assert vm.units == "km" and "distance (km)" in vm.rows
    else:
        assert vm.notices == ()


@pytest.mark.parametrize(
    "kw",
    [
        {},  # every site, no search
        {"countries": ("France",)},
        {"near": "Lyon, France"},  # every site, nearest first, with distances
        {"near": "Lyon, France", "radius": 500.0, "countries": ("France", "Spain")},
    ],
)
def test_the_rows_read_without_a_frame_are_the_frames_rows(
    second_table: pd.DataFrame, kw: dict
) -> None:
    # The page reads the rows in view from lists prepared once per table (records,
    # nearest_records, n_countries); the frame is made only for downloads. Both must agree.
    vm = view(second_table, **kw)

    def comparable(rows: list[dict]) -> list[dict]:  # NaN == NaN, for the comparison
        return [{k: None if v != v else v for k, v in r.items()} for r in rows]

    frame = records(vm.rows)
    assert comparable(vm.records()) == comparable(frame)
    assert comparable(vm.records(3)) == comparable(frame[:3])
    assert vm.n_countries == vm.rows[Col.COUNTRY].nunique()
    if vm.km is None:
        assert vm.nearest_records() == []
    else:
        statuses = [r[Col.STATUS] for r in frame]
        order = nearest_order(statuses, [r[Col.DISTANCE_KM] for r in frame])
        assert comparable(vm.nearest_records()) == comparable([frame[i] for i in order])
        assert len(order) == min(5, vm.n_shown) > 0


@pytest.mark.parametrize(
    ("value", "old", "new", "expected"),
    [
        ("200", "km", "mi", "100"),  # the default in km becomes the default in miles
        ("100", "mi", "km", "200"),
        ("50", "mi", "km", "80"),  # any other radius keeps its distance, in whole units
        ("20", "km", "mi", "12"),
        ("0.5", "km", "mi", "1"),  # never below 1
        ("Any distance", "km", "mi", "Any distance"),
        (None, "km", "mi", "Any distance"),
        ("-5", "km", "mi", "-5"),  # not a radius: left for the page to explain
        ("50", "km", "km", "50"),
    ],
)
def test_a_radius_keeps_its_distance_when_the_units_change(value, old, new, expected) -> None:
    assert radius_in_units(value, old, new) == expected
