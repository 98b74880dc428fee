"""The portfolio store: built from folders and zips, incrementally, resumably, each place once."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from paths import SECOND, SEED
from portfolio_support import EVAL_RECORDS, SOME_EVAL_RECORDS, data_folder

from dashboard.errors import TableError
from dashboard.geocoding.sources import offline_geocoder
from dashboard.ingest import load_trial
from dashboard.portfolio.inputs import scan
from dashboard.portfolio.store import (
    build_portfolio,
    connect,
    failures,
    load_in_memory,
    place_key,
    record_paths,
)
from dashboard.sites.table import read_table


class CountingGeocoder:
    """The real offline geocoder, counting the sites it was asked about (and able to fail)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.inner = offline_geocoder()
        self.asked: list[str] = []
        self.fail_after = fail_after

    def geocode(self, site):  # noqa: ANN001, ANN201 - the Geocoder protocol
        if self.fail_after is not None and len(self.asked) >= self.fail_after:
            raise KeyboardInterrupt  # as a user's Ctrl-C in the middle of a build
        self.asked.append(place_key(site))
        return self.inner.geocode(site)


def _counts(store: Path) -> tuple[int, int]:
    con = load_in_memory(store)
    try:
        return con.execute(
            "SELECT (SELECT count(*) FROM trials), (SELECT count(*) FROM sites)"
        ).fetchone()
    finally:
        con.close()


def _sites(store: Path) -> list[tuple]:
    con = load_in_memory(store)
    try:
        return con.execute(
            "SELECT site_id, round(latitude, 5), round(longitude, 5), precision, needs_review "
            "FROM sites ORDER BY site_id"
        ).fetchall()
    finally:
        con.close()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return data_folder(tmp_path / "data")


def _expected_sites() -> int:
    paths = [SEED, SECOND, *(EVAL_RECORDS / f"{n}.json" for n in SOME_EVAL_RECORDS)]
    return sum(len(load_trial(p).sites) for p in paths)


def test_a_folder_becomes_one_trials_table_and_one_sites_table(folder: Path, tmp_path: Path):
    store = tmp_path / "p.duckdb"
    geocoder = CountingGeocoder()
    stats = build_portfolio([folder], store, geocoder=geocoder)
    assert (stats.trials, stats.sites) == (7, _expected_sites())
    assert stats.read == stats.records == 7 and stats.failed == 0
    # Each distinct place was geocoded once across trials, never twice.
    assert len(geocoder.asked) == len(set(geocoder.asked)) == stats.places_geocoded
    assert stats.places_reused > 0
    con = load_in_memory(store)
    row = con.execute(
        "SELECT title, status, phases, sponsor, n_sites, n_countries FROM trials "
        "WHERE nct_id = 'NCT04270409'"
    ).fetchone()
    assert row[0].startswith("Isatuximab") and row[3] == "Sanofi"
    assert list(row[2]) == ["PHASE3"] and row[4] == 105 and row[5] == 24
    assert set(record_paths(con)) == {
        "NCT04270409",
        "NCT07062965",
        *SOME_EVAL_RECORDS,
    }


def test_a_trial_with_its_own_table_shows_the_same_points_as_its_own_view(
    folder: Path, tmp_path: Path
):
    """The seed's table carries reviewed points and overrides: the portfolio takes them."""
    store = tmp_path / "p.duckdb"
    stats = build_portfolio([folder], store, geocoder=CountingGeocoder())
    assert stats.from_tables == 2
    own = read_table(folder / "NCT04270409.sites.csv")
    con = load_in_memory(store)
    got = con.execute(
        "SELECT site_id, latitude, longitude FROM sites WHERE nct_id = 'NCT04270409' "
        "ORDER BY site_id"
    ).fetchall()
    want = sorted(zip(own["site_id"], own["latitude"], own["longitude"], strict=True))
    assert [(s, round(a, 5), round(b, 5)) for s, a, b in got] == [
        (s, round(a, 5), round(b, 5)) for s, a, b in want
    ]


def test_a_second_build_reads_only_what_changed(folder: Path, tmp_path: Path):
    store = tmp_path / "p.duckdb"
    build_portfolio([folder], store, geocoder=CountingGeocoder())
    before = _sites(store)
    geocoder = CountingGeocoder()
    again = build_portfolio([folder], store, geocoder=geocoder)
    assert (again.read, again.unchanged, geocoder.asked) == (0, 7, [])
    changed = folder / "portfolio" / f"{SOME_EVAL_RECORDS[0]}.json"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    third = build_portfolio([folder], store, geocoder=geocoder)
    assert (third.read, third.unchanged) == (1, 6)
    assert geocoder.asked == []  # its places were already known
    assert _sites(store) == before


def test_a_removed_record_leaves_the_store(folder: Path, tmp_path: Path):
    store = tmp_path / "p.duckdb"
    build_portfolio([folder], store, geocoder=CountingGeocoder())
    gone = SOME_EVAL_RECORDS[1]
    n_gone = len(load_trial(folder / "portfolio" / f"{gone}.json").sites)
    (folder / "portfolio" / f"{gone}.json").unlink()
    stats = build_portfolio([folder], store, geocoder=CountingGeocoder())
    assert stats.removed == 1
    assert _counts(store) == (6, _expected_sites() - n_gone)


def test_a_study_in_two_files_is_counted_once_and_its_copy_takes_over(folder: Path, tmp_path: Path):
    store = tmp_path / "p.duckdb"
    shutil.copy2(SECOND, folder / "portfolio" / "copy-of-second.json")
    stats = build_portfolio([folder], store, geocoder=CountingGeocoder())
    assert stats.duplicates == 1 and stats.trials == 7
    (folder / "NCT07062965.json").unlink()
    after = build_portfolio([folder], store, geocoder=CountingGeocoder())
    assert after.trials == 7  # the copy now stands for the study
    con = load_in_memory(store)
    (source,) = con.execute("SELECT source FROM trials WHERE nct_id = 'NCT07062965'").fetchone()
    assert source.endswith("copy-of-second.json")


def test_an_unreadable_record_is_reported_with_its_line_and_the_rest_is_built(
    folder: Path, tmp_path: Path
):
    bad = folder / "portfolio" / "broken.txt"
    bad.write_text("NCT Number: NCT01234567\nStudy Title:\n", encoding="utf-8")
    (folder / "portfolio" / "notes.json").write_text("{not json", encoding="utf-8")
    store = tmp_path / "p.duckdb"
    stats = build_portfolio([folder], store, geocoder=CountingGeocoder())
    assert stats.failed == 2 and stats.trials == 7
    con = load_in_memory(store)
    errors = dict(failures(con))
    assert str(bad) in errors and "line" in errors[str(bad)]
    assert any("notes.json" in s for s in errors)


def test_the_registry_zip_is_read_member_by_member(folder: Path, tmp_path: Path):
    archive = tmp_path / "ctg-studies.json.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted((folder / "portfolio").glob("*.json")):
            z.write(path, f"ctg-studies/{path.name}")
        z.writestr("ctg-studies/bad.json", '{"protocolSection": 1}')
    inputs = list(scan(archive))
    assert len(inputs) == len(SOME_EVAL_RECORDS) + 1
    assert all("!" in i.source for i in inputs)  # nothing read yet: read() is per member
    store = tmp_path / "zip.duckdb"
    stats = build_portfolio([archive], store, geocoder=CountingGeocoder())
    assert (stats.trials, stats.failed) == (len(SOME_EVAL_RECORDS), 1)
    again = build_portfolio([archive], store, geocoder=CountingGeocoder())
    assert again.read == 0


def test_an_interrupted_build_keeps_its_batches_and_resumes(folder: Path, tmp_path: Path):
    store = tmp_path / "p.duckdb"
    clean = tmp_path / "clean.duckdb"
    places = build_portfolio([folder], clean, geocoder=CountingGeocoder()).places_geocoded
    with pytest.raises(KeyboardInterrupt):
        build_portfolio(
            [folder], store, geocoder=CountingGeocoder(fail_after=places // 2), batch_records=1
        )
    partial, _ = _counts(store)
    assert 0 < partial < 7  # the committed batches are kept
    resumed = build_portfolio([folder], store, geocoder=CountingGeocoder(), batch_records=1)
    assert resumed.read == 7 - partial
    assert _sites(store) == _sites(clean)


def test_changed_corrections_are_applied_to_every_trial(folder: Path, tmp_path: Path):
    store = tmp_path / "p.duckdb"
    overrides = folder / "overrides.csv"
    build_portfolio([folder], store, geocoder=CountingGeocoder(), overrides_path=overrides)
    city = load_trial(folder / "portfolio" / f"{SOME_EVAL_RECORDS[0]}.json").sites[0]
    with open(overrides, "a", encoding="utf-8") as fh:
        fh.write(f",,{city.city},{city.state},{city.country},1.5,2.5,city,test correction\n")
    stats = build_portfolio([folder], store, geocoder=CountingGeocoder(), overrides_path=overrides)
    assert stats.read == 7
    con = load_in_memory(store)
    n = con.execute(
        "SELECT count(*) FROM sites WHERE latitude = 1.5 AND longitude = 2.5 AND "
        "geocoder = 'override'"
    ).fetchone()[0]
    assert n >= 1


def test_a_file_that_is_not_a_store_is_refused_with_a_message(tmp_path: Path):
    store = tmp_path / "p.duckdb"
    store.write_text("not a database\n", encoding="utf-8")
    with pytest.raises(TableError, match="not a readable portfolio store"):
        connect(store)
    with pytest.raises(TableError, match="not a readable portfolio store"):
        load_in_memory(store)


def test_a_copy_takes_over_when_the_first_file_holds_another_study(folder: Path, tmp_path: Path):
    store = tmp_path / "p.duckdb"
    copy = folder / "portfolio" / "copy-of-second.json"
    shutil.copy2(SECOND, copy)
    build_portfolio([folder], store, geocoder=CountingGeocoder())
    # The first file now holds another study: the copy is the only one of NCT07062965.
    other = folder / "portfolio" / f"{SOME_EVAL_RECORDS[2]}.json"
    shutil.copy2(other, folder / "NCT07062965.json")
    other.unlink()
    build_portfolio([folder], store, geocoder=CountingGeocoder())
    con = load_in_memory(store)
    sources = dict(con.execute("SELECT nct_id, source FROM trials").fetchall())
    assert sources["NCT07062965"].endswith("copy-of-second.json")
    assert sources[SOME_EVAL_RECORDS[2]].endswith("NCT07062965.json")
