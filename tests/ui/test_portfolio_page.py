"""The "All trials" page through AppTest: filters, "trials near me", links, and the way back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from apptest_support import open_page, plain
from paths import TESTS
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(TESTS / "portfolio"))
from portfolio_support import SOME_EVAL_RECORDS, data_folder  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scratch data folder for the module (its store is built by the first page run)."""
    return data_folder(tmp_path_factory.mktemp("pf") / "data")


@pytest.fixture()
def page(folder: Path, monkeypatch: pytest.MonkeyPatch):
    """`apptest_support.open_page`, on the module's scratch data folder."""
    monkeypatch.setenv("TRIAL_SITES_DATA", str(folder))
    return open_page


def _summary(at: AppTest) -> str:
    return next(plain(m.value) for m in at.markdown if "trial" in m.value and "**" in m.value)


def _trials(at: AppTest):
    (table,) = [d.value for d in at.dataframe if "Trial" in d.value.columns]
    return table


def test_a_link_opens_all_trials(page):
    at = page(view="all")
    assert at.radio(key="view_mode").value == "All trials"
    assert _summary(at) == "**7 of 7 trials and 5,028 of 5,028 sites match.**".replace(
        "5,028", f"{_n_sites(at):,}"
    )
    assert len(_trials(at)) == 7
    assert at.get("deck_gl_json_chart")  # the map is drawn


def _n_sites(at: AppTest) -> int:
    (table,) = [d.value for d in at.dataframe if "Country" in d.value.columns]
    return int(table["Sites"].sum())


def test_trials_near_a_zip_code_are_listed_nearest_first_with_distances(page):
    at = page(view="all")
    at.text_input(key="pf_near").set_value("02115").run()
    at.selectbox(key="pf_radius").set_value("100").run()
    assert not at.exception
    trials = _trials(at)
    assert len(trials) >= 1
    assert "Boston" in trials.iloc[0]["Nearest site"]
    # whole miles, as the trial's own view says them ("less than 1 mi" in the same town)
    km = [
        0.0 if d.startswith("less than") else float(d.split()[0].replace(",", ""))
        for d in trials["Distance"]
    ]
    assert km == sorted(km)
    assert "within 100" in _summary(at) and "Boston" in _summary(at)
    assert at.query_params["near"] == "02115" and at.query_params["view"] == "all"
    # each trial's link opens its own view with the same search
    assert trials.iloc[0]["Trial"].startswith("?trial=NCT")
    assert trials.iloc[0]["Trial"].endswith("&near=02115&units=km&radius=100")


def test_filters_narrow_the_trials_and_say_so_when_nothing_matches(page):
    at = page(view="all")
    at.text_input(key="pf_condition").set_value("smoldering myeloma").run()
    assert list(_trials(at)["Trial"]) == ["?trial=NCT04270409"]
    at.text_input(key="pf_condition").set_value("no such condition anywhere").run()
    assert any("No trial matches" in w.value for w in at.warning)


def test_a_shared_link_reproduces_the_view(page):
    at = page(view="all", cond="breast", near="Boston MA", radius="500", units="mi")
    assert at.text_input(key="pf_condition").value == "breast"
    assert at.selectbox(key="pf_radius").value == "500"
    assert "within 500 mi of Boston" in _summary(at)
    trials = _trials(at)
    assert len(trials) >= 1 and all("mi" in d for d in trials["Distance"])


def test_a_bad_link_value_is_said_and_the_page_still_works(page):
    at = page(view="all", radius="-5", near="02115")
    assert any("radius" in w.value for w in at.warning)
    assert len(_trials(at)) >= 1


def test_a_trial_of_the_portfolio_opens_in_its_own_view(page):
    nct = SOME_EVAL_RECORDS[0]
    at = page(trial=nct)
    assert at.radio(key="view_mode").value == "One trial"
    assert at.selectbox(key="trial").value == nct
    assert any(nct in m.value for m in at.markdown)


def test_the_view_switch_goes_back_to_the_seed(page):
    at = page(view="all")
    at.radio(key="view_mode").set_value("One trial").run()
    assert not at.exception
    assert any("NCT04270409" in m.value for m in at.markdown)


def test_colouring_by_trial_gives_a_legend_of_trials_and_goes_into_the_link(page):
    at = page(view="all", cond="breast")
    at.radio(key="pf_color").set_value("trial").run()
    assert not at.exception
    assert at.query_params["color"] == "trial"
    (legend,) = [c for c in at.get("vega_lite_chart") if "ncols" in c.proto.spec]
    labels = legend.proto.spec
    assert "NCT07062965" in labels and "Searched place" not in labels


def test_staff_see_the_facilities_two_trials_share(page):
    at = page(view="all")
    assert not [d for d in at.dataframe if "nct_ids" in d.value.columns]  # only when asked
    at.toggle(key="pf_shared").set_value(True).run()
    (shared,) = [d.value for d in at.dataframe if "nct_ids" in d.value.columns]
    assert len(shared) >= 1 and (shared["trials"] >= 2).all()
    assert all(", " in ids for ids in shared["nct_ids"])


def test_a_linked_value_the_portfolio_lacks_is_named_and_dropped(page):
    at = page(view="all", sponsor=["Sanofi", "No Such Sponsor"])
    assert at.multiselect(key="pf_sponsor").value == ["Sanofi"]
    assert any("No Such Sponsor" in w.value for w in at.warning)
    assert list(_trials(at)["Trial"]) == ["?trial=NCT04270409"]
