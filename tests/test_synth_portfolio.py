"""The synthetic bulk-download generator (`bench/synth_portfolio.py`) on a tiny portfolio."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from collections import Counter
from types import ModuleType

import numpy as np
import pytest
from paths import PLACES, ROOT

from dashboard.ingest import parse_record
from dashboard.model import is_nct_id
from dashboard.places.index import Gazetteer, load_gazetteer

STUDIES = 300
SITES = 1500
SEED = 7
REAL = PLACES / "eval" / "records"


def _load_generator() -> ModuleType:
    """bench/ is not an installed package: load the script by path."""
    path = ROOT / "bench" / "synth_portfolio.py"
    spec = importlib.util.spec_from_file_location("synth_portfolio", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


synth = _load_generator()


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    """The place index (built once per test run by conftest's session start)."""
    return load_gazetteer()


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory, gazetteer: Gazetteer):
    """A 300-study portfolio with the real evaluation records mixed in, and its stats."""
    out = tmp_path_factory.mktemp("synth") / "portfolio.zip"
    stats = synth.generate(out, STUDIES, SITES, SEED, REAL, gazetteer=gazetteer)
    return out, stats


@pytest.fixture(scope="module")
def studies(portfolio) -> dict[str, dict]:
    """Every member of the portfolio, decoded."""
    out, _ = portfolio
    with zipfile.ZipFile(out) as zf:
        return {name: json.loads(zf.read(name)) for name in zf.namelist()}


def _locations(study: dict) -> list[dict]:
    return study["protocolSection"].get("contactsLocationsModule", {}).get("locations", [])


def test_same_seed_writes_identical_bytes(tmp_path, portfolio, gazetteer):
    """Output depends only on the arguments: zip entries carry a fixed timestamp."""
    out, _ = portfolio
    again = tmp_path / "again.zip"
    synth.generate(again, STUDIES, SITES, SEED, REAL, gazetteer=gazetteer)
    assert again.read_bytes() == out.read_bytes()
    other = tmp_path / "other.zip"
    synth.generate(other, STUDIES, SITES, SEED + 1, REAL, gazetteer=gazetteer)
    assert other.read_bytes() != out.read_bytes()


def test_total_sites_is_the_requested_number(portfolio, studies):
    """Site counts are drawn, then nudged so the total is exactly the request."""
    _, stats = portfolio
    assert stats.sites == SITES
    synthetic = [s for name, s in studies.items() if name[:-5] in stats.site_counts]
    assert len(synthetic) == STUDIES
    assert sum(len(_locations(s)) for s in synthetic) == SITES


def test_every_member_parses_with_the_right_site_count(portfolio, studies):
    """Each member reads through the project's record loader with no diagnostics."""
    out, stats = portfolio
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            loaded = parse_record(zf.read(name), name)
            assert loaded.trial.nct_id == name.removesuffix(".json")
            assert is_nct_id(loaded.trial.nct_id)
            if loaded.trial.nct_id in stats.site_counts:
                assert len(loaded.trial.sites) == stats.site_counts[loaded.trial.nct_id]
                assert not loaded.diagnostics, loaded.diagnostics
                assert all(s.country_code for s in loaded.trial.sites)


def test_real_records_are_copied_unchanged_and_keep_their_ids(portfolio):
    """--real files go in byte for byte; no synthetic study takes a real record's id."""
    out, stats = portfolio
    reals = sorted(REAL.glob("NCT*.json"))
    assert stats.real_records == len(reals) > 0
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        for path in reals:
            assert zf.read(path.name) == path.read_bytes()
    assert len(names) == len(set(names)) == STUDIES + len(reals)
    assert not {p.stem for p in reals} & set(stats.site_counts)
    assert names == sorted(names)  # NCT order, as the registry's download


def test_built_in_check_finds_no_problem(portfolio):
    """The script's own read-back check agrees."""
    out, stats = portfolio
    result = synth.check(out, stats.site_counts, REAL)
    assert result.problems == ()
    assert result.checked > 100


def test_country_and_status_mix_looks_like_the_registry(portfolio, studies):
    """Most site rows are in the United States; COMPLETED is the commonest study status."""
    _, stats = portfolio
    synthetic = [s for name, s in studies.items() if name[:-5] in stats.site_counts]
    countries = Counter(loc["country"] for s in synthetic for loc in _locations(s))
    assert countries.most_common(1)[0][0] == "United States"
    assert len(countries) >= 10
    statuses = Counter(s["protocolSection"]["statusModule"]["overallStatus"] for s in synthetic)
    assert statuses.most_common(1)[0][0] == "COMPLETED"
    assert statuses["RECRUITING"] > 0
    # Sites carry a status only in studies that are open (recruiting, not yet, by invitation).
    for s in synthetic:
        overall = s["protocolSection"]["statusModule"]["overallStatus"]
        has_status = any("status" in loc for loc in _locations(s))
        assert not has_status or overall in synth.OPEN_STATUSES


def test_facilities_repeat_across_studies(portfolio, studies):
    """The same hospital hosts several trials (what a "shared sites" view needs)."""
    _, stats = portfolio
    trials_at: dict[tuple[str, str], set[str]] = {}
    for name, s in studies.items():
        if name[:-5] in stats.site_counts:
            for loc in _locations(s):
                trials_at.setdefault((loc["facility"], loc["city"]), set()).add(name)
    shared = [key for key, names in trials_at.items() if len(names) >= 2]
    assert len(shared) >= 20


def test_most_sites_have_a_point_near_their_city(portfolio, studies, gazetteer):
    """About 90% of sites carry a geoPoint, a few km from a place of that name."""
    _, stats = portfolio
    rows = [
        loc
        for name, s in studies.items()
        if name[:-5] in stats.site_counts
        for loc in _locations(s)
    ]
    with_point = [loc for loc in rows if "geoPoint" in loc]
    assert 0.8 < len(with_point) / len(rows) < 0.97
    for loc in with_point[:50]:
        places = gazetteer.candidates(loc["city"])
        lat, lon = loc["geoPoint"]["lat"], loc["geoPoint"]["lon"]
        nearest = min(abs(p.place.latitude - lat) + abs(p.place.longitude - lon) for p in places)
        assert nearest < 0.5  # degrees: the jitter is at most ~10 km


def test_site_counts_are_heavy_tailed_at_full_scale():
    """200,000 studies, 1,000,000 sites: most studies have one site, a few have hundreds."""
    counts = synth.draw_site_counts(np.random.default_rng(1), 200_000, 1_000_000)
    assert counts.sum() == 1_000_000
    assert 0.5 < np.mean(counts == 1) < 0.65
    assert 0.25 < np.mean((counts >= 2) & (counts <= 10)) < 0.4
    assert np.sum((counts >= 50) & (counts <= 300)) > 1000
    assert counts.max() <= synth.MAX_SITES
