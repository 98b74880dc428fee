"""Tests for dashboard.filters: links <-> view state, and filtering the site table."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.filters import (
    DISTANCE_KM,
    KM_PER_MILE,
    Filters,
    add_distances,
    country_options,
    filter_sites,
    format_radius,
    parse_params,
    parse_radius,
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
    assert out["facility"].iloc[-1] == "Hospital F" and pd.isna(out[DISTANCE_KM].iloc[-1])
    assert out[DISTANCE_KM].iloc[0] < 1
    assert "distance (km)" in out.columns
    assert DISTANCE_KM not in table.columns


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
