"""The page holds up on a public host: no traceback from any link, echoes cut short, repeated
warnings counted, and corrections that reach a running app without a restart."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from apptest_support import open_page as run_app
from apptest_support import shown_sites
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import OVERRIDES, SEED, SEED_TABLE
from streamlit.testing.v1 import AppTest

from dashboard.ui.state import MAX_LISTED_UNKNOWN, parse_params, to_params

TIMEOUT_S = 90
BIDI_OVERRIDE = "\u202e"


def not_recruiting_aside(at: AppTest) -> list[str]:
    """The page's warnings other than the trial's recruitment banner (the seed's trial is not
    recruiting, so that banner is on every page of it)."""
    return [str(w.value) for w in at.warning if "not recruiting" not in str(w.value)]


def messages(at: AppTest) -> str:
    """Every warning, info and error line on the page, as plain text (Markdown escapes undone)."""
    text = "\n".join(str(e.value) for e in [*at.warning, *at.info, *at.error])
    return re.sub(r"\\(.)", r"\1", text)


@pytest.mark.parametrize(
    "near",
    [
        ",",  # the reported crash: IndexError in the place search, traceback on the page
        ", ,",
        "\t,\t",
        "91, 200",  # out of range: says which coordinate, instead of "could not find"
        "<img src=x>",  # markup is not a place
    ],
)
def test_a_bad_place_in_a_link_gives_a_message_and_the_full_page(near):
    at = run_app(near=near)
    assert len(shown_sites(at)) == 105  # the whole trial, not an empty or broken page
    # (the seed trial's "not recruiting" banner is always there: it does not count)
    assert not_recruiting_aside(at), "the page must say why the place was not used"
    assert at.metric[0].value == "105 of 105"


def test_out_of_range_coordinates_say_what_is_wrong():
    at = run_app(near="91, 200")
    assert "latitude must be between -90 and 90" in messages(at)


def test_a_100_kb_parameter_is_cut_short_and_bidi_controls_removed():
    at = run_app(trial="X" * 100_000 + BIDI_OVERRIDE, units=BIDI_OVERRIDE + "km" * 5000)
    text = messages(at)
    assert "is not available here" in text and "Unknown units" in text
    assert len(text) < 1_000  # each echo is cut to ~80 characters
    assert BIDI_OVERRIDE not in text


def test_many_unknown_countries_make_one_counted_warning():
    at = run_app(country=[f"Atlantis{i}" for i in range(999)])
    assert len(not_recruiting_aside(at)) == MAX_LISTED_UNKNOWN + 1
    assert f"{999 - MAX_LISTED_UNKNOWN} more unknown country values" in messages(at)
    assert len(shown_sites(at)) == 105


def test_a_tiny_radius_in_a_link_is_refused_with_a_reason():
    at = run_app(near="Paris, France", radius="0.05", units="km")
    assert "must be at least 0.1" in messages(at)


def test_an_override_edited_while_the_app_runs_reaches_a_new_session(tmp_path, monkeypatch):
    """Corrections reach running servers: the table is reloaded when overrides.csv changes."""
    for f in (SEED, SEED_TABLE, OVERRIDES):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.setenv("TRIAL_SITES_DATA", str(tmp_path))
    first = run_app(country="Japan")
    before = shown_sites(first)
    assert len(before) > 0
    site = "NCT04270409-001"
    table = pd.read_csv(tmp_path / SEED_TABLE.name, dtype=str, keep_default_na=False)
    row = table.loc[table["site_id"] == site].iloc[0]
    # A user corrects the first site's point while the server keeps running.
    with open(tmp_path / OVERRIDES.name, "a", encoding="utf-8") as fh:
        fh.write(f"NCT04270409,{site},,,,1.2345,2.3456,city,moved by a reviewer\n")
    second = run_app(country=row["country"])
    assert not second.exception
    fresh = pd.read_csv(tmp_path / SEED_TABLE.name, dtype=str, keep_default_na=False)
    moved = fresh.loc[fresh["site_id"] == site].iloc[0]
    assert (moved["latitude"], moved["longitude"], moved["geocoder"]) == (
        "1.23450",
        "2.34560",
        "override",
    )
    second.selectbox(key="site").set_value(site).run()
    details = "\n".join(str(d.value.to_dict()) for d in second.dataframe)
    assert "1.2345, 2.3456" in details


# -------------------------------------------------------------------- properties of the link

LINK_KEYS = ["trial", "country", "status", "near", "radius", "units", "other"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(LINK_KEYS),
        st.one_of(st.text(max_size=300), st.lists(st.text(max_size=40), max_size=20)),
        max_size=7,
    )
)
def test_any_link_reads_without_error_and_round_trips(params):
    """Property: any link gives valid filters (and short warnings); their link reads back."""
    parsed = parse_params(
        params,
        trials=["NCT04270409", "NCT07062965"],
        countries=["France", "Japan"],
        statuses=["RECRUITING"],
        default_trial="NCT04270409",
    )
    f = parsed.filters
    assert f.trial in {"NCT04270409", "NCT07062965"}
    assert set(f.countries) <= {"France", "Japan"} and set(f.statuses) <= {"RECRUITING"}
    assert f.units in {"km", "mi"}
    assert f.radius is None or f.radius >= 0.1
    assert all(len(w) < 300 for w in parsed.warnings)
    again = parse_params(
        to_params(f),
        trials=["NCT04270409", "NCT07062965"],
        countries=["France", "Japan"],
        statuses=["RECRUITING"],
        default_trial="NCT04270409",
    )
    assert again.filters == f and not again.warnings
