"""The cached table: resume, force, overrides, one lookup per place, atomic and failure-safe."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import replace

import pandas as pd
import pytest
from paths import OVERRIDES, ROOT, SECOND, SECOND_TABLE, SEED, SEED_TABLE

import dashboard.geocoding.sources as sources
import dashboard.io
from dashboard import cli
from dashboard.errors import TableError
from dashboard.geo import distance_km
from dashboard.ingest import load_trial
from dashboard.model import GeocodeResult, Site, Trial, make_site_id
from dashboard.sites import build
from dashboard.sites import table as store
from dashboard.sites.build import (
    build_table,
    default_shapes,
    ensure_table,
    load_overrides,
    table_matches,
)
from dashboard.sites.checks import CountryShapes
from dashboard.sites.table import read_table


class CountingGeocoder:
    """A fake geocoder: a fixed point per city, counting calls; may fail on the n-th call."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[str] = []
        self.fail_on = fail_on

    def geocode(self, site: Site) -> GeocodeResult:
        self.calls.append(site.city)
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise RuntimeError("geocoder exploded")
        # A point in mainland France (the fake trials' sites are French), so the point checks
        # let it stand and a cached one is reused.
        h = sum(map(ord, site.city)) % 40
        return GeocodeResult(44 + h / 10, 1 + h / 20, "city", "gazetteer", site.city, site.city)


def _trial(*cities: str) -> Trial:
    sites = tuple(
        Site(facility=f"F{i}", city=c, country="France", country_code="FR")
        for i, c in enumerate(cities)
    )
    return Trial(nct_id="NCT00000001", title="t", sites=sites)


def _build(record, out, *options: str) -> int:
    """`build RECORD --out OUT --quiet --timeout 1 [options]` via the command line: exit code."""
    return cli.main(
        ["build", str(record), "--out", str(out), "--quiet", "--timeout", "1", *options]
    )


def test_site_ids_are_stable_in_record_order():
    df = build_table(_trial("Paris", "Lyon"), existing=None, geocoder=CountingGeocoder()).table
    assert df["site_id"].tolist() == ["NCT00000001-001", "NCT00000001-002"]
    assert make_site_id("NCT04270409", 104) == "NCT04270409-105"


def test_same_place_is_looked_up_once_per_run():
    geo = CountingGeocoder()
    built = build_table(_trial("Paris", "Lyon", "Paris", "paris "), existing=None, geocoder=geo)
    assert geo.calls == ["Paris", "Lyon"]
    assert built.stats.geocoded == 4 and built.stats.lookups == 2


def test_resume_geocodes_only_rows_without_a_point():
    first = build_table(_trial("Paris", "Lyon"), existing=None, geocoder=CountingGeocoder()).table
    first.loc[1, ["latitude", "longitude"]] = None  # a row that never got its point
    geo = CountingGeocoder()
    again = build_table(_trial("Paris", "Lyon", "Nice"), existing=first, geocoder=geo)
    assert geo.calls == ["Lyon", "Nice"]
    assert again.stats.cached == 1


def test_changed_address_is_geocoded_again():
    first = build_table(_trial("Paris", "Lyon"), existing=None, geocoder=CountingGeocoder()).table
    geo = CountingGeocoder()
    build_table(_trial("Paris", "Lille"), existing=first, geocoder=geo)
    assert geo.calls == ["Lille"]


def test_force_redoes_every_row():
    first = build_table(_trial("Paris", "Lyon"), existing=None, geocoder=CountingGeocoder()).table
    geo = CountingGeocoder()
    build_table(_trial("Paris", "Lyon"), existing=first, geocoder=geo, force=True)
    assert geo.calls == ["Paris", "Lyon"]


def test_progress_is_reported_per_row():
    seen = []
    build_table(
        _trial("Paris", "Lyon"),
        existing=None,
        geocoder=CountingGeocoder(),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(1, 2), (2, 2)]


def _write_overrides(path, body: str):
    path.write_text(
        "nct_id,site_id,city,state,country,latitude,longitude,precision,note\n" + body,
        encoding="utf-8",
    )
    return load_overrides(path)


def test_overrides_apply_first_by_site_id_and_by_address(tmp_path):
    ov = _write_overrides(
        tmp_path / "o.csv",
        ",NCT00000001-002,,,,45.0,5.0,district,by id\n,,Nice,,France,43.7,7.27,city,by address\n",
    )
    geo = CountingGeocoder()
    df = build_table(
        _trial("Paris", "Lyon", "Nice"), existing=None, geocoder=geo, overrides=ov
    ).table
    assert geo.calls == ["Paris"]
    assert df["geocoder"].tolist() == ["gazetteer", "override", "override"]
    assert df.loc[1, "precision"] == "district" and df.loc[2, "note"] == "by address"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (",,Nice,,France,north,7,city,\n", "latitude not a number"),
        (",,Nice,,France,95,7,city,\n", "latitude out of range"),
        (",,,,,43,7,city,\n", "matches nothing: no site_id and no city/country"),
        (",,Nice,,France,43,7,street,\n", "unknown precision"),
    ],
)
def test_bad_overrides_are_refused(tmp_path, body, why):
    with pytest.raises(TableError):
        _write_overrides(tmp_path / "o.csv", body)


def test_committed_overrides_file_is_valid():
    assert len(load_overrides(OVERRIDES)) >= 1


def test_geocoder_failure_mid_build_leaves_table_unchanged(tmp_path, monkeypatch):
    out = tmp_path / "t.csv"
    assert _build(SEED, out) == 0
    before = out.read_bytes()
    monkeypatch.setattr(sources, "offline_geocoder", lambda: CountingGeocoder(fail_on=3))
    with pytest.raises(RuntimeError, match="geocoder exploded"):
        _build(SEED, out, "--force")  # not an input error: the CLI lets a bug propagate
    assert out.read_bytes() == before


def test_crash_while_saving_leaves_table_unchanged(tmp_path, monkeypatch, capsys):
    out = tmp_path / "t.csv"
    assert _build(SEED, out) == 0
    before = out.read_bytes()
    capsys.readouterr()

    def boom(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(dashboard.io.os, "replace", boom)
    assert _build(SEED, out, "--force") == 130  # Ctrl-C during the save
    assert capsys.readouterr().err == "error: interrupted\n"
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temp file left


def test_second_build_uses_the_cache(tmp_path, monkeypatch, capsys):
    out = tmp_path / "t.csv"
    assert _build(SEED, out) == 0
    monkeypatch.setattr(sources, "offline_geocoder", lambda: CountingGeocoder(fail_on=1))
    assert _build(SEED, out) == 0  # nothing to geocode: the geocoder never runs
    assert "0 geocoded now" in capsys.readouterr().err


def test_committed_seed_table_is_current_and_reviewed(seed_trial):
    df = read_table(SEED_TABLE)
    assert table_matches(df, seed_trial)
    assert df["latitude"].notna().all()
    assert not df["needs_review"].any()  # every flagged row is fixed in data/overrides.csv
    assert set(df["precision"]) <= {"city", "district"}


def test_ensure_table_reads_a_current_table(tmp_path, seed_trial):
    for path in (SEED_TABLE, OVERRIDES):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    built = ensure_table(seed_trial, tmp_path, geocoder=CountingGeocoder(fail_on=1))
    assert len(built.table) == 105
    assert built.diagnostics == ()


def test_ensure_table_rebuilds_a_stale_table(tmp_path):
    geo = CountingGeocoder()
    ensure_table(_trial("Paris", "Lyon"), tmp_path, geocoder=geo)
    df = ensure_table(_trial("Paris", "Nice"), tmp_path, geocoder=geo).table
    assert geo.calls == ["Paris", "Lyon", "Nice"]
    assert read_table(tmp_path / "NCT00000001.sites.csv")["city"].tolist() == ["Paris", "Nice"]
    assert df["city"].tolist() == ["Paris", "Nice"]


@pytest.mark.parametrize(
    "junk",
    [
        b"",  # empty file
        b"\x89PNG\r\n\x1a\n\x00\x00",  # a binary file saved under the table's name
        b"nct_id,site_id\nNCT00000001,x\n",  # truncated to a foreign shape
    ],
)
def test_ensure_table_sets_a_corrupt_table_aside_and_rebuilds(tmp_path, junk):
    path = tmp_path / "NCT00000001.sites.csv"
    path.write_bytes(junk)
    built = ensure_table(_trial("Paris"), tmp_path, geocoder=CountingGeocoder())
    assert [d.kind for d in built.diagnostics] == ["warning"]
    assert "corrupt" in built.diagnostics[0].message
    assert len(built.table) == 1 and read_table(path)["city"].tolist() == ["Paris"]
    assert [p.read_bytes() for p in tmp_path.glob("*.corrupt-*")] == [junk]


def test_ensure_table_in_a_read_only_dir_still_returns_the_table(tmp_path, monkeypatch):
    def refuse(df, path):
        raise PermissionError(13, "read-only", str(path))

    monkeypatch.setattr(build, "write_table", refuse)
    built = ensure_table(_trial("Paris"), tmp_path, geocoder=CountingGeocoder())
    assert any("could not save" in d.message for d in built.diagnostics), built.diagnostics
    assert len(built.table) == 1


def test_registry_points_are_never_shared_between_sites():
    sites = (
        Site(
            facility="a", city="Paris", country="France", country_code="FR", geo_point=(48.8, 2.3)
        ),
        Site(
            facility="b", city="Paris", country="France", country_code="FR", geo_point=(48.9, 2.4)
        ),
    )
    geo = CountingGeocoder()
    build_table(Trial(nct_id="NCT1", title="", sites=sites), existing=None, geocoder=geo)
    assert geo.calls == ["Paris", "Paris"]


def test_cli_build_works_offline(tmp_path):
    out = tmp_path / "seed.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "build", "data/NCT04270409.txt", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "105 rows" in proc.stderr
    df = read_table(out)
    committed = read_table(SEED_TABLE)
    pd.testing.assert_frame_equal(df, committed)


def test_ensure_table_applies_an_edited_overrides_file(tmp_path):
    """A correction added to data/overrides.csv shows up without deleting the table by hand."""
    geo = CountingGeocoder()
    ensure_table(_trial("Paris", "Lyon"), tmp_path, geocoder=geo)
    _write_overrides(tmp_path / "overrides.csv", ",,Lyon,,France,45.76,4.84,city,fixed\n")
    df = ensure_table(_trial("Paris", "Lyon"), tmp_path, geocoder=geo).table
    assert df["geocoder"].tolist() == ["gazetteer", "override"]
    assert geo.calls == ["Paris", "Lyon"]  # Paris came from the cached table
    (tmp_path / "overrides.csv").unlink()
    df = ensure_table(_trial("Paris", "Lyon"), tmp_path, geocoder=geo).table
    assert df["geocoder"].tolist() == ["gazetteer", "gazetteer"]


def test_a_trial_without_sites_gets_an_empty_table(tmp_path):
    # Real records may list no locations yet (e.g. NCT06714279): the app must still load.
    trial = Trial(nct_id="NCT00000002", title="no sites yet")
    df = ensure_table(trial, tmp_path, geocoder=CountingGeocoder(fail_on=1)).table
    assert df.empty and list(df.columns) == list(store.COLUMNS)
    assert read_table(tmp_path / "NCT00000002.sites.csv").empty


def test_missing_overrides_file_named_on_the_command_line_is_an_error(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert _build(SEED, tmp_path / "t.csv", "--overrides", str(missing)) == 2
    assert capsys.readouterr().err == f"error: {missing}: no such file\n"
    assert not (tmp_path / "t.csv").exists()


def test_progress_bar_draws_on_one_line():
    import io

    out = io.StringIO()
    show = cli._progress_bar(out)
    show(1, 4)
    show(4, 4)
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and "4/4" in text


def test_cli_nominatim_without_network_falls_back_once(tmp_path, monkeypatch, capsys):
    from geopy.exc import GeocoderUnavailable

    from dashboard.geocoding.sources import GazetteerGeocoder, NominatimGeocoder
    from dashboard.places.index import load_gazetteer

    class Offline:
        calls = 0

        def geocode(self, query, **kw):
            Offline.calls += 1
            raise GeocoderUnavailable("no network")

    def fake(user_agent, timeout, warn=None):
        assert user_agent == "me/1.0" and timeout == 1.0
        nom = NominatimGeocoder(
            GazetteerGeocoder(load_gazetteer()),
            user_agent=user_agent,
            geolocator=Offline(),
            warn=warn,
        )
        nom.rate_limited._sleep = lambda s: None  # the retry wait, not a real sleep
        return nom

    monkeypatch.setattr(sources, "nominatim_geocoder", fake)
    out = tmp_path / "t.csv"
    assert _build(SEED, out, "--geocoder", "nominatim", "--user-agent", "me/1.0") == 0
    err = capsys.readouterr().err
    assert err.count("Nominatim unreachable") == 1
    df = read_table(out)
    assert set(df["geocoder"]) == {"gazetteer", "override"}
    assert Offline.calls <= 2  # the first site only (one retry), then offline for the run


def test_ensure_table_refreshes_record_columns_without_geocoding_again(tmp_path):
    """A record updated with a new site status shows it; the cached points are reused."""
    geo = CountingGeocoder()
    ensure_table(_trial("Paris", "Lyon"), tmp_path, geocoder=geo)
    recruiting = _trial("Paris", "Lyon")
    recruiting = replace(
        recruiting, sites=tuple(replace(x, status="RECRUITING") for x in recruiting.sites)
    )
    df = ensure_table(recruiting, tmp_path, geocoder=geo).table
    assert df["status"].tolist() == ["RECRUITING", "RECRUITING"]
    assert geo.calls == ["Paris", "Lyon"]  # no new lookups
    assert read_table(tmp_path / "NCT00000001.sites.csv")["status"].tolist() == ["RECRUITING"] * 2


# ----------------------------------------------------------------------------- wrong cached points


def _copy_shipped(tmp_path, record, table):
    """A data dir holding a copy of a shipped record, its table and the overrides file."""
    for path in (record, table, OVERRIDES):
        shutil.copy(path, tmp_path / path.name)
    return load_trial(tmp_path / record.name), tmp_path / table.name


def _corrupt(path, points: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Overwrite some rows' points in the table file; the original table is returned."""
    original = read_table(path)
    bad = original.copy()
    for site_id, (lat, lon) in points.items():
        bad.loc[bad["site_id"] == site_id, ["latitude", "longitude"]] = (lat, lon)
    store.write_table(bad, path)
    return original


def _point(df: pd.DataFrame, site_id: str) -> tuple[float, float]:
    row = df[df["site_id"] == site_id].iloc[0]
    return float(row["latitude"]), float(row["longitude"])


def test_a_table_with_a_0_0_or_swapped_point_is_geocoded_again_and_flagged(tmp_path):
    """The issue: a 0,0 or swapped cached point was drawn and exported; now it is redone."""
    trial, path = _copy_shipped(tmp_path, SEED, SEED_TABLE)
    paris, thessaloniki = "NCT04270409-041", "NCT04270409-049"
    original = read_table(path)
    lat, lon = _point(original, thessaloniki)
    _corrupt(path, {paris: (0.0, 0.0), thessaloniki: (lon, lat)})
    corrupted = path.read_bytes()

    built = ensure_table(trial, tmp_path)  # the real offline geocoder

    df = built.table
    for site_id, why in ((paris, "0,0 is not a place"), (thessaloniki, "look swapped")):
        row = df[df["site_id"] == site_id].iloc[0]
        assert distance_km(*_point(df, site_id), *_point(original, site_id)) < 25
        assert row["needs_review"] and why in row["note"] and "geocoded again" in row["note"]
    others = df["site_id"].isin([paris, thessaloniki])
    pd.testing.assert_frame_equal(
        df[~others].reset_index(drop=True), original[~others].reset_index(drop=True)
    )
    assert path.read_bytes() != corrupted
    pd.testing.assert_frame_equal(read_table(path), df)
    assert [d.message for d in built.diagnostics] == [
        "2 cached points looked wrong (0,0; swapped lat/lon) and were geocoded again"
    ]
    assert built.stats.rechecked == 2 and built.stats.geocoded == 2


def test_a_rechecked_table_is_not_rebuilt_again(tmp_path):
    """Once redone and flagged, the table is current: the next start reads it as it is."""
    trial, path = _copy_shipped(tmp_path, SEED, SEED_TABLE)
    _corrupt(path, {"NCT04270409-041": (0.0, 0.0)})
    ensure_table(trial, tmp_path)
    before = path.read_bytes()
    again = ensure_table(trial, tmp_path, geocoder=CountingGeocoder(fail_on=1))
    assert again.diagnostics == () and again.stats.cached == 105
    assert path.read_bytes() == before


def test_a_registry_point_in_another_country_is_geocoded_again(tmp_path):
    """A registry row (NCT07062965) is checked the same way: Lyon's point moved to Chile."""
    trial, path = _copy_shipped(tmp_path, SECOND, SECOND_TABLE)
    lyon = "NCT07062965-141"
    original = _corrupt(path, {lyon: (-33.45, -70.67)})
    built = ensure_table(trial, tmp_path)
    row = built.table[built.table["site_id"] == lyon].iloc[0]
    assert distance_km(*_point(built.table, lyon), *_point(original, lyon)) < 25
    assert row["geocoder"] == "registry"  # the record's own point stood the cross-check
    assert row["needs_review"] and "outside France (in Chile)" in row["note"]
    assert built.stats.rechecked == 1


def test_an_override_that_looks_wrong_is_flagged_but_never_moved(tmp_path):
    """Overrides are a person's correction: a swapped one is flagged, kept, and not redone."""
    _write_overrides(tmp_path / "overrides.csv", ",,Lyon,,France,4.84,45.76,city,by hand\n")
    geo = CountingGeocoder()
    built = ensure_table(_trial("Paris", "Lyon"), tmp_path, geocoder=geo)
    row = built.table.iloc[1]
    assert (row["geocoder"], row["latitude"], row["longitude"]) == ("override", 4.84, 45.76)
    assert row["needs_review"] and row["note"].startswith("by hand; override point looks wrong")
    assert "look swapped" in row["note"]
    assert [d.message for d in built.diagnostics] == [
        "1 override point looked wrong (swapped lat/lon): kept and flagged for review"
    ]
    path = tmp_path / "NCT00000001.sites.csv"
    before = path.read_bytes()
    again = ensure_table(_trial("Paris", "Lyon"), tmp_path, geocoder=geo)
    assert geo.calls == ["Paris"] and again.diagnostics == ()
    assert path.read_bytes() == before


def test_a_geocoder_answer_that_looks_wrong_is_flagged_once_and_then_reused():
    """A point the checks reject even after geocoding again is kept flagged, not redone forever."""

    class NullIsland(CountingGeocoder):
        def geocode(self, site: Site) -> GeocodeResult:
            self.calls.append(site.city)
            return GeocodeResult(0.0, 0.0, "city", "gazetteer", site.city, site.city)

    first = build_table(_trial("Paris"), existing=None, geocoder=NullIsland())
    assert first.table.loc[0, "needs_review"]
    assert first.table.loc[0, "note"] == "point looks wrong (0,0 is not a place)"
    assert [d.message for d in first.diagnostics] == [
        "1 geocoded point looked wrong (0,0): flagged for review"
    ]
    geo = NullIsland()
    again = build_table(_trial("Paris"), existing=first.table, geocoder=geo)
    assert geo.calls == [] and again.diagnostics == ()
    pd.testing.assert_frame_equal(again.table, first.table)


def test_build_table_uses_the_outlines_it_is_given():
    """`shapes` replaces the shipped outlines: without any, only 0,0 is judged."""
    first = build_table(_trial("Paris", "Lyon"), existing=None, geocoder=CountingGeocoder()).table
    first.loc[0, ["latitude", "longitude"]] = (2.35, 48.86)  # swapped
    first.loc[1, ["latitude", "longitude"]] = (0.0, 0.0)
    geo = CountingGeocoder()
    build_table(_trial("Paris", "Lyon"), existing=first, geocoder=geo, shapes=CountryShapes.empty())
    assert geo.calls == ["Lyon"]
    geo = CountingGeocoder()
    build_table(_trial("Paris", "Lyon"), existing=first, geocoder=geo, shapes=default_shapes())
    assert geo.calls == ["Paris", "Lyon"]


@pytest.mark.parametrize(
    ("record", "table", "rows"), [(SEED, SEED_TABLE, 105), (SECOND, SECOND_TABLE, 202)]
)
def test_shipped_tables_pass_the_checks_unchanged(tmp_path, record, table, rows):
    """No false positives: both shipped tables are read as they are, nothing is geocoded."""
    trial, path = _copy_shipped(tmp_path, record, table)
    before = path.read_bytes()
    started = time.perf_counter()
    built = ensure_table(trial, tmp_path, geocoder=CountingGeocoder(fail_on=1))
    elapsed = time.perf_counter() - started
    assert built.diagnostics == () and built.stats.cached == rows
    assert path.read_bytes() == before
    print(f"{table.name}: read and checked {rows} rows in {elapsed * 1000:.0f} ms")
