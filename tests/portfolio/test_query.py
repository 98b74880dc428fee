"""Questions across trials, answered by the store's SQL and checked against plain Python."""

from __future__ import annotations

from pathlib import Path

import pytest
from portfolio_support import data_folder, site, tiny_store, trial

from dashboard.geo import distance_km
from dashboard.portfolio.query import (
    Origin,
    PortfolioFilters,
    cell_size,
    options,
    portfolio_view,
    shared_sites,
)
from dashboard.portfolio.store import build_portfolio, load_in_memory

BOSTON = Origin("Boston", 42.3601, -71.0589)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    """The seed, the second record and five real registry records, built and loaded."""
    base = tmp_path_factory.mktemp("portfolio")
    folder = data_folder(base / "data")
    build_portfolio([folder], base / "p.duckdb")
    con = load_in_memory(base / "p.duckdb")
    yield con
    con.close()


def test_no_filter_counts_every_trial_and_site(real):
    view = portfolio_view(real, PortfolioFilters())
    total = real.execute("SELECT count(*) FROM sites").fetchone()[0]
    assert (view.n_trials, view.n_sites) == (7, total)
    assert view.countries["sites"].sum() == total
    assert not view.aggregated and len(view.marks) == view.n_placed


def test_condition_words_must_all_appear_in_title_or_conditions(real):
    view = portfolio_view(real, PortfolioFilters(condition="smoldering MYELOMA"))
    assert list(view.trials["nct_id"]) == ["NCT04270409"]
    assert portfolio_view(real, PortfolioFilters(condition="myeloma breast")).n_trials == 0


def test_trials_near_a_place_are_nearest_first_with_true_distances(real):
    """Checked against dashboard.geo over every site row, independently of the SQL."""
    f = PortfolioFilters(radius=300, units="km")
    view = portfolio_view(real, f, BOSTON)
    rows = real.execute(
        "SELECT nct_id, latitude, longitude FROM sites WHERE latitude IS NOT NULL"
    ).fetchall()
    best: dict[str, float] = {}
    for nct, lat, lon in rows:
        d = distance_km(BOSTON.latitude, BOSTON.longitude, lat, lon)
        if d <= 300:
            best[nct] = min(best.get(nct, d), d)
    assert set(view.trials["nct_id"]) == set(best)
    assert list(view.trials["distance_km"]) == sorted(view.trials["distance_km"])
    for nct, d in zip(view.trials["nct_id"], view.trials["distance_km"], strict=True):
        assert d == pytest.approx(best[nct], abs=1e-6)
    assert view.n_trials == len(best)


def test_status_phase_sponsor_and_country_filters(real):
    opts = options(real)
    assert opts["statuses"][0] == "RECRUITING"  # open statuses first
    assert "US" in opts["countries"] and "PHASE3" in opts["phases"]
    sanofi = portfolio_view(real, PortfolioFilters(sponsors=("Sanofi",)))
    assert list(sanofi.trials["nct_id"]) == ["NCT04270409"]
    korea = portfolio_view(real, PortfolioFilters(countries=("KR",)))
    assert set(korea.countries["country_code"]) == {"KR"}
    phase3 = portfolio_view(real, PortfolioFilters(phases=("PHASE3",)))
    assert "NCT04270409" in set(phase3.trials["nct_id"])
    recruiting = portfolio_view(real, PortfolioFilters(statuses=("RECRUITING",)))
    assert set(recruiting.trials["status"]) == {"RECRUITING"}


def test_a_radius_across_the_antimeridian_finds_both_sides(tmp_path: Path):
    con = tiny_store(
        tmp_path / "t.duckdb",
        [trial("NCT00000001"), trial("NCT00000002")],
        [
            site("NCT00000001", 1, -17.0, 179.9, country="Fiji", country_code="FJ"),
            site("NCT00000002", 1, -17.0, -179.9, country="Fiji", country_code="FJ"),
            site("NCT00000002", 2, -17.0, 170.0, country="Fiji", country_code="FJ"),
        ],
    )
    view = portfolio_view(con, PortfolioFilters(radius=50, units="km"), Origin("X", -17.0, 180.0))
    assert (view.n_trials, view.n_sites) == (2, 2)


def test_many_sites_are_sent_as_counts_per_cell(tmp_path: Path):
    sites = [site("NCT00000001", i, 45 + (i % 50) * 0.1, 2 + (i // 50) * 0.1) for i in range(500)]
    con = tiny_store(tmp_path / "t.duckdb", [trial("NCT00000001")], sites)
    view = portfolio_view(con, PortfolioFilters(), point_limit=100)
    assert view.aggregated and 1 < len(view.marks) <= 100
    assert int(view.marks["sites"].sum()) == 500
    assert int(view.marks["recruiting"].sum()) == 500
    few = portfolio_view(con, PortfolioFilters(), point_limit=1000)
    assert not few.aggregated and len(few.marks) == 500


def test_cell_size_snaps_to_a_ladder_and_grows_with_the_area():
    assert cell_size(40, -10, 50, 10) < cell_size(-60, -180, 80, 180)
    assert cell_size(45, 2, 45.001, 2.001) == 0.01


def test_a_facility_in_two_trials_is_a_shared_site(tmp_path: Path):
    key = "FR|lyon|hopital edouard herriot"
    con = tiny_store(
        tmp_path / "t.duckdb",
        [trial("NCT00000001"), trial("NCT00000002"), trial("NCT00000003")],
        [
            site("NCT00000001", 1, 45.7, 4.8, facility="Hôpital Édouard Herriot", facility_key=key),
            site("NCT00000002", 1, 45.7, 4.8, facility="Hopital Edouard-Herriot", facility_key=key),
            site("NCT00000003", 1, 48.8, 2.3, facility="Other", facility_key="FR|paris|other"),
        ],
    )
    shared = shared_sites(con, PortfolioFilters())
    assert len(shared) == 1
    assert shared.iloc[0]["trials"] == 2
    assert shared.iloc[0]["nct_ids"] == "NCT00000001, NCT00000002"
