"""The patient's search on the page (AppTest): every form a place can be typed in, the
"Did you mean" choices, and the radius presets."""

from __future__ import annotations

import re

import pytest
from apptest_support import open_page as opened
from apptest_support import shown_sites as shown
from streamlit.testing.v1 import AppTest

TIMEOUT_S = 90


def search(at: AppTest, place: str, radius: str | None = None, units: str = "km") -> AppTest:
    at.radio(key="units").set_value(units)
    at.text_input(key="near").set_value(place)
    if radius is not None:
        at.selectbox(key="radius").set_value(radius)
    at.run()
    assert not at.exception, at.exception
    return at


def said(at: AppTest) -> str:
    text = "\n".join(str(e.value) for e in [*at.info, *at.warning, *at.error, *at.caption])
    return re.sub(r"\\(.)", r"\1", text)


@pytest.mark.parametrize(
    ("place", "where"),
    [
        ("02115", "Boston, Massachusetts, United States"),  # a US ZIP, as US patients type it
        ("02115-5450", "Boston, Massachusetts, United States"),  # ZIP+4
        ("Boston MA", "Boston, Massachusetts, United States"),  # "City ST" without a comma
        ("Lyon France", "Lyon, Auvergne-Rhône-Alpes, France"),  # "City Country" without one
        ("Lyon, France", "Lyon, Auvergne-Rhône-Alpes, France"),
        ("69003", "Lyon"),  # a French postcode: the seed trial has French sites
        ("45.76, 4.84", "45.7600, 4.8400"),  # coordinates
    ],
)
def test_every_form_of_a_place_finds_it_and_says_which(place, where):
    at = search(opened(), place, "200")
    assert where in said(at)
    assert "nearest first" in said(at)
    rows = shown(at)
    assert len(rows) > 0
    distance = [c for c in rows.columns if c.startswith("distance")][0]
    assert rows[distance].is_monotonic_increasing


def test_a_zip_with_100_miles_lists_the_boston_site_first():
    at = search(opened(), "02115", "100", units="mi")
    rows = shown(at)
    assert rows.iloc[0]["city"] == "Boston"
    assert rows.iloc[0]["distance (mi)"] < 5


@pytest.mark.parametrize(
    ("place", "reason"),
    [
        ("91, 200", "latitude must be between -90 and 90"),  # out of range: says which
        ("Xyzzyville", "Could not find the place"),  # nonsense
        ("<b>", "no characters such as"),  # markup
    ],
)
def test_entries_that_find_nothing_say_why_and_show_no_nearest_list(place, reason):
    at = search(opened(), place, "100")
    assert reason in said(at)
    assert not [s for s in at.subheader if "Nearest" in str(s.value)]
    assert len(shown(at)) == 105  # the whole trial, not "nearest" of nothing


def test_an_ambiguous_name_offers_choices_with_the_trials_countries_first():
    at = search(opened(), "Saint Louis")
    assert "St. Louis, Missouri, United States" in said(at)  # the seed has US sites
    labels = [str(b.label) for b in at.button if b.key and b.key.startswith("place_choice_")]
    assert labels, "a pick-list is offered"
    assert any("Senegal" in re.sub(r"\\(.)", r"\1", label) for label in labels)
    # Picking a choice puts it in the box and finds exactly that place.
    senegal = next(
        b for b in at.button if b.key and b.key.startswith("place_choice_") and "Senegal" in b.label
    )
    senegal.click().run()
    assert "Senegal" in at.text_input(key="near").value
    assert "Saint-Louis, Senegal" in said(at)


def test_a_postcode_of_several_countries_says_which_it_chose():
    at = search(opened(), "75013")
    assert "75013 is a postcode in several countries" in said(at)
    assert "France" in said(at)  # the seed trial's sites include France and the US


def test_radius_presets_and_a_default_once_a_place_is_typed():
    at = opened()
    assert at.selectbox(key="radius").options[:6] == [
        "Any distance",
        "20 km",
        "50 km",
        "100 km",
        "200 km",
        "500 km",
    ]
    at.radio(key="units").set_value("mi").run()
    at.text_input(key="near").set_value("Boston MA").run()
    assert at.selectbox(key="radius").value == "100"  # NCI's default: 100 miles
    assert at.query_params["radius"] == "100" and at.query_params["units"] == "mi"


@pytest.mark.parametrize(
    ("radius", "reason"),
    [
        ("0", "must be a positive number"),
        ("-5", "must be a positive number"),
        ("0.05", "must be at least 0.1"),
        ("far", "is not a number"),
    ],
)
def test_an_invalid_radius_in_a_link_says_why_in_plain_sight(radius, reason):
    # (A number typed into the radius box goes through the same check, radius_from_widget,
    # tested in test_state.py: AppTest cannot type a value that is not among the options.)
    at = opened(near="Lyon, France", radius=radius)
    assert reason in said(at)
    assert len(shown(at)) == 105  # shown at any distance


@pytest.mark.parametrize(
    ("typed", "units", "reason"),
    [
        ("0", "km", "must be a positive number"),
        ("-5", "mi", "must be a positive number"),
        ("100000", "km", "more than half the Earth"),  # used to be a tooltip-only red box
        ("12500", "mi", "more than half the Earth"),  # 20,117 km
        ("far", "km", "is not a number"),
    ],
)
def test_a_typed_radius_that_is_not_one_says_why(typed, units, reason):
    from dashboard.ui.state import radius_from_widget

    with pytest.raises(ValueError, match=reason):
        radius_from_widget(typed, units)


def test_changing_units_keeps_the_distance_not_the_number():
    # A place typed in km starts at 200 km; switching to miles gives the miles' default
    # (100 mi), not "200" read in miles; a radius of your own is converted.
    at = opened()
    at.text_input(key="near").set_value("02115").run()
    assert at.selectbox(key="radius").value == "200"
    at.radio(key="units").set_value("mi").run()
    assert not at.exception
    assert at.selectbox(key="radius").value == "100"
    assert "within 100 mi of" in said(at)
    at.selectbox(key="radius").set_value("50").run()
    at.radio(key="units").set_value("km").run()
    assert at.selectbox(key="radius").value == "80"  # 50 mi is 80.5 km
    assert "within 80 km of" in said(at)
