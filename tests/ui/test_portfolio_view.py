"""The "All trials" view without Streamlit: its link, its map's size, its tables."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.portfolio.query import POINT_LIMIT, Origin, PortfolioFilters, PortfolioView
from dashboard.ui import portfolio_view as pv


def _view(marks: pd.DataFrame, aggregated: bool, trials: pd.DataFrame | None = None):
    return PortfolioView(
        n_trials=1,
        n_sites=len(marks),
        n_placed=len(marks),
        marks=marks,
        aggregated=aggregated,
        cell_degrees=0.64 if aggregated else None,
        trials=trials if trials is not None else pd.DataFrame(),
        countries=pd.DataFrame(),
        bounds=(40.0, -5.0, 50.0, 10.0),
        total_trials=1,
        total_sites=len(marks),
    )


def test_a_link_round_trips():
    f = PortfolioFilters(
        condition="multiple myeloma",
        statuses=("RECRUITING",),
        phases=("PHASE3",),
        sponsors=("Sanofi",),
        countries=("FR", "US"),
        near="02115",
        radius=50.0,
        units="mi",
    )
    params = pv.portfolio_params(f, pv.COLOR_TRIAL)
    assert params["view"] == "all" and params["radius"] == "50"
    back, color, problems = pv.parse_portfolio_params(params)
    assert (back, color, problems) == (f, pv.COLOR_TRIAL, [])


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"radius": "-5"}, "radius"),
        ({"radius": "lots"}, "radius"),
        ({"units": "furlongs"}, "units"),
        ({"near": "x" * 500}, "place"),
    ],
)
def test_a_bad_link_value_is_named_and_dropped(params, problem):
    filters, _, problems = pv.parse_portfolio_params({"view": "all", **params})
    assert len(problems) == 1 and problem in problems[0]
    assert filters.radius is None and filters.units in ("km", "mi")


def test_the_most_sites_drawn_one_by_one_make_a_deck_under_two_megabytes():
    n = POINT_LIMIT
    marks = pd.DataFrame(
        {
            "latitude": [40 + (i % 100) * 0.1 for i in range(n)],
            "longitude": [-5 + (i // 100) * 0.15 for i in range(n)],
            "nct_id": [f"NCT{i % 300:08d}" for i in range(n)],
            "facility": ["Centre Hospitalier Universitaire de Quelque Part"] * n,
            "city": ["Saint-Étienne-du-Rouvray"] * n,
            "country": ["France"] * n,
            "site_status": ["RECRUITING"] * n,
            "trial_status": ["RECRUITING"] * n,
            "title": ["A Phase 3 Study of Something Long in People With a Long Condition"] * n,
            "precision": ["city"] * n,
            "needs_review": [False] * n,
        }
    )
    size = pv.deck_bytes(pv.portfolio_deck(_view(marks, False), None))
    assert size < 2_000_000


def test_cells_are_sized_by_their_counts():
    marks = pd.DataFrame(
        {"latitude": [45.0, 48.0], "longitude": [4.0, 2.0], "sites": [1, 400], "recruiting": [0, 9]}
    )
    deck = pv.portfolio_deck(_view(marks, True), None)
    (cells,) = [layer for layer in deck.layers if layer.id == "cells"]
    small, big = cells.data
    assert small["r"] < big["r"] <= pv.CELL_MAX_PX
    assert big["tip"] == "400 sites here (9 recruiting)"


def test_trial_rows_link_the_trial_and_say_the_status_and_distance_in_words():
    trials = pd.DataFrame(
        {
            "nct_id": ["NCT04270409"],
            "title": ["Isatuximab"],
            "status": ["NOT_YET_RECRUITING"],
            "phases": [["PHASE3"]],
            "distance_km": [16.09344],
            "nearest_facility": ["Hospital"],
            "nearest_city": ["Lyon"],
            "nearest_country": ["France"],
            "sites_in_view": [2],
        }
    )
    view = _view(pd.DataFrame(), False, trials)
    rows = pv.trial_rows(view, "mi")
    assert rows.iloc[0]["Trial"] == "?trial=NCT04270409"
    # with a place searched, the link carries it to the trial's own view
    search = {"near": "Lyon, France", "units": "mi", "radius": "50"}
    linked = pv.trial_rows(view, "mi", search).iloc[0]["Trial"]
    assert linked == "?trial=NCT04270409&near=Lyon%2C%20France&units=mi&radius=50"
    assert rows.iloc[0]["Status"] == "Not yet recruiting"
    assert rows.iloc[0]["Phases"] == "Phase 3"
    assert rows.iloc[0]["Distance"] == "10 mi"  # whole miles, as the trial's own view says
    assert rows.iloc[0]["Nearest site"] == "Hospital, Lyon, France"


def test_the_summary_names_the_place_and_the_radius():
    view = PortfolioView(
        n_trials=3,
        n_sites=9,
        n_placed=9,
        marks=pd.DataFrame(),
        aggregated=False,
        cell_degrees=None,
        trials=pd.DataFrame(),
        countries=pd.DataFrame(),
        bounds=None,
        origin=Origin("Boston, Massachusetts, United States", 42.36, -71.06),
    )
    line = pv.summary_line(view, PortfolioFilters(near="02115", radius=50, units="mi"))
    assert line == (
        "3 trials with a site within 50 mi of Boston, Massachusetts, United States "
        "(9 sites), nearest first."
    )


def test_a_link_keeps_commas_inside_values():
    """A place ("Lyon, France") and a sponsor ("Natera, Inc.") are one value each."""
    f = PortfolioFilters(sponsors=("Natera, Inc.",), near="Lyon, France", radius=100.0)
    back, _, problems = pv.parse_portfolio_params(pv.portfolio_params(f))
    assert (back, problems) == (f, [])
