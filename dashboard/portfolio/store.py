"""The portfolio store: every trial under a data folder, and every geocoded site, in DuckDB.

Why DuckDB and not pandas + Parquet: a portfolio at registry scale is ~600k trials and ~3.3M
sites. A filter change has to become a query that scans only the columns it needs, in parallel,
without first materialising 3.3M rows as Python objects; DuckDB does that (columnar, vectorised,
embedded, one file, no server), and it reads and writes Parquet when the data has to travel.
pandas would keep the whole table in memory as objects and pass over all of it in Python on
every rerun. See the README ("Portfolio") for the measured figures.

Tables (one file, `portfolio.duckdb`, next to the per-trial tables):
- `trials`: one row per study (id, title, status, phases, conditions, sponsor, dates, enrollment,
  site count, the record it came from);
- `sites`: the geocoded site rows of every trial (the per-trial table's columns that the
  portfolio uses, plus a key for "the same facility");
- `places`: the geocoder's answer for each distinct place (city, state, country, postcode and
  registry point), so that a place shared by a thousand trials is geocoded once;
- `records`: each record read (its source, change token, study and any error), which makes the
  build incremental and resumable: a batch of records is committed with its rows, so an
  interrupted build starts again after the last committed batch.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from dashboard.errors import Diagnostic, RecordError, TableError
from dashboard.geocoding.sources import Geocoder, LazyGeocoder, offline_geocoder, site_query
from dashboard.ingest import parse_record
from dashboard.model import GeocodeResult, Site, Trial
from dashboard.places.normalize import fold
from dashboard.portfolio.inputs import ZIP_SEPARATOR, Input, scan
from dashboard.sites.build import (
    TABLE_SUFFIX,
    default_shapes,
    find_override,
    flag_if_suspect,
    load_overrides,
    result_columns,
    site_rows,
    table_matches,
)
from dashboard.sites.checks import CountryShapes
from dashboard.sites.table import Col, read_table

STORE_FILE = "portfolio.duckdb"
SCHEMA_VERSION = "1"
BATCH_RECORDS = 2000  # records per committed batch: the most an interrupted build redoes
LIST_SEPARATOR = " | "
DUPLICATE_PREFIX = "same study as "  # the error kept for a second copy of a study
Progress = Callable[[int, int], None]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS records (
    source VARCHAR PRIMARY KEY, token VARCHAR, nct_id VARCHAR, error VARCHAR
);
CREATE TABLE IF NOT EXISTS trials (
    nct_id VARCHAR, title VARCHAR, status VARCHAR, phases VARCHAR[], conditions VARCHAR,
    sponsor VARCHAR, start_date DATE, completion_date DATE, enrollment BIGINT,
    n_sites INTEGER, n_countries INTEGER, source VARCHAR
);
CREATE TABLE IF NOT EXISTS sites (
    nct_id VARCHAR, site_id VARCHAR, facility VARCHAR, city VARCHAR, state VARCHAR,
    country VARCHAR, country_code VARCHAR, status VARCHAR, latitude DOUBLE, longitude DOUBLE,
    precision VARCHAR, geocoder VARCHAR, needs_review BOOLEAN, note VARCHAR, facility_key VARCHAR
);
CREATE TABLE IF NOT EXISTS places (
    key VARCHAR PRIMARY KEY, latitude DOUBLE, longitude DOUBLE, precision VARCHAR,
    geocoder VARCHAR, matched_name VARCHAR, query VARCHAR, needs_review BOOLEAN,
    registry_latitude DOUBLE, registry_longitude DOUBLE, note VARCHAR
);
"""
RECORD_COLUMNS = ("source", "token", "nct_id", "error")
TRIAL_COLUMNS = (
    "nct_id",
    "title",
    "status",
    "phases",
    "conditions",
    "sponsor",
    "start_date",
    "completion_date",
    "enrollment",
    "n_sites",
    "n_countries",
    "source",
)
SITE_COLUMNS = (
    Col.NCT_ID,
    Col.SITE_ID,
    Col.FACILITY,
    Col.CITY,
    Col.STATE,
    Col.COUNTRY,
    Col.COUNTRY_CODE,
    Col.STATUS,
    Col.LATITUDE,
    Col.LONGITUDE,
    Col.PRECISION,
    Col.GEOCODER,
    Col.NEEDS_REVIEW,
    Col.NOTE,
    "facility_key",
)
PLACE_COLUMNS = (
    Col.LATITUDE,
    Col.LONGITUDE,
    Col.PRECISION,
    Col.GEOCODER,
    Col.MATCHED_NAME,
    Col.QUERY,
    Col.NEEDS_REVIEW,
    Col.REGISTRY_LATITUDE,
    Col.REGISTRY_LONGITUDE,
    Col.NOTE,
)


class StoreBusy(TableError):
    """Another process holds the store (e.g. a build running while another starts)."""


@dataclass
class PortfolioStats:
    """What a build did."""

    records: int = 0  # records found under the roots
    read: int = 0  # records (re)read now
    unchanged: int = 0
    removed: int = 0
    failed: int = 0  # records that could not be read (kept in `records` with their error)
    duplicates: int = 0  # a study already read from another file
    trials: int = 0  # trials in the store afterwards
    sites: int = 0
    places_geocoded: int = 0  # distinct places geocoded now
    places_reused: int = 0  # site rows placed from the place cache
    from_tables: int = 0  # trials whose rows came from their own cached table
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)


def store_path(data_dir: str | os.PathLike[str]) -> Path:
    """Where the portfolio of `data_dir` is kept: `<data_dir>/portfolio.duckdb`."""
    return Path(data_dir) / STORE_FILE


def connect(path: str | os.PathLike[str], *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store (created with its schema when missing and writable)."""
    try:
        con = duckdb.connect(os.fspath(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusy(
                f"{path}: the portfolio store is in use by another process (a build?); "
                "try again when it has finished"
            ) from exc
        raise TableError(f"{path}: not a readable portfolio store ({exc})") from exc
    except duckdb.Error as exc:
        raise TableError(f"{path}: not a readable portfolio store ({exc})") from exc
    if not read_only:
        con.execute(SCHEMA)
        version = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version is None:
            con.execute("INSERT INTO meta VALUES ('schema', ?)", [SCHEMA_VERSION])
        elif version[0] != SCHEMA_VERSION:
            con.close()
            raise TableError(
                f"{path}: a portfolio store of another version ({version[0]}); delete it and "
                "build again"
            )
    return con


# ------------------------------------------------------------------------------------ keys


def place_key(site: Site) -> str:
    """The key of a site's place: its address words, postcode and registry point.

    Two sites with the same key get the same answer from the geocoder (it sees nothing else),
    so the answer is looked up once and shared.
    """
    point = "" if site.geo_point is None else f"{site.geo_point[0]:.5f},{site.geo_point[1]:.5f}"
    parts = (
        site.city.strip().casefold(),
        site.state.strip().casefold(),
        site.country.strip().casefold(),
        site.country_code,
        site.zip.strip().casefold(),
        point,
    )
    return "\x1f".join(parts)


_NON_WORD = re.compile(r"[^0-9a-z]+")


def facility_key(facility: str, city: str, country_code: str) -> str:
    """A facility's key across trials: its name and city, folded ("" when no name is given).

    Accents, case and punctuation are folded ("Hôpital Édouard-Herriot" = "Hopital Edouard
    Herriot"); a different spelling of the name ("HEH", "Hospices Civils de Lyon") is not.
    """
    name = _NON_WORD.sub(" ", fold(facility)).strip()
    if not name:
        return ""
    return f"{country_code}|{_NON_WORD.sub(' ', fold(city)).strip()}|{name}"


# ------------------------------------------------------------------------------------ rows


def _trial_row(trial: Trial, source: str) -> tuple[Any, ...]:
    return (
        trial.nct_id,
        trial.title,
        trial.status,
        list(trial.phases),
        LIST_SEPARATOR.join(trial.conditions),
        trial.sponsor,
        trial.start_date,
        trial.completion_date,
        trial.enrollment,
        len(trial.sites),
        len({s.country for s in trial.sites if s.country}),
        source,
    )


def _nan_to_none(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


# The record's columns of a site row, as `sites.build.site_rows` names them.
SITE_RECORD_COLUMNS = SITE_COLUMNS[: SITE_COLUMNS.index(Col.STATUS) + 1]


def _site_row(record: dict[str, Any], point: dict[str, Any]) -> tuple[Any, ...]:
    """A row of `sites`: the record's columns of the site (`site_rows`) and where it is."""
    return (
        *(record[c] for c in SITE_RECORD_COLUMNS),
        _nan_to_none(point[Col.LATITUDE]),
        _nan_to_none(point[Col.LONGITUDE]),
        point[Col.PRECISION],
        point[Col.GEOCODER],
        bool(point[Col.NEEDS_REVIEW]),
        point[Col.NOTE],
        facility_key(record[Col.FACILITY], record[Col.CITY], record[Col.COUNTRY_CODE]),
    )


class PlaceCache:
    """The geocoder's answers by place key: those in the store, and those found in this build."""

    def __init__(self, known: dict[str, dict[str, Any]], geocoder: Geocoder, shapes: CountryShapes):
        self.known = known
        self.new: dict[str, dict[str, Any]] = {}
        self.geocoder = geocoder
        self.shapes = shapes
        self.reused = 0
        self.geocoded = 0

    def point(self, site: Site) -> dict[str, Any]:
        """The point columns for `site` (geocoded once per distinct place, checked once)."""
        key = place_key(site)
        hit = self.known.get(key) or self.new.get(key)
        if hit is not None:
            self.reused += 1
            return hit
        res: GeocodeResult | None = self.geocoder.geocode(site)
        self.geocoded += 1
        cols = result_columns(res, site_query(site))
        cols[Col.COUNTRY_CODE] = site.country_code
        flag_if_suspect(cols, self.shapes)
        del cols[Col.COUNTRY_CODE]
        self.new[key] = cols
        return cols

    def flush(self) -> list[tuple[Any, ...]]:
        """The places found since the last flush, as rows of `places` (and now known)."""
        rows = [(k, *(_nan_to_none(v[c]) for c in PLACE_COLUMNS)) for k, v in self.new.items()]
        self.known.update(self.new)
        self.new = {}
        return rows


def _known_places(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    df = con.execute(f"SELECT key, {', '.join(PLACE_COLUMNS)} FROM places").df()
    out: dict[str, dict[str, Any]] = {}
    for row in df.itertuples(index=False):
        values = dict(zip(PLACE_COLUMNS, row[1:], strict=True))
        for c in (Col.LATITUDE, Col.LONGITUDE, Col.REGISTRY_LATITUDE, Col.REGISTRY_LONGITUDE):
            if values[c] is None or pd.isna(values[c]):
                values[c] = math.nan
        values[Col.NEEDS_REVIEW] = bool(values[Col.NEEDS_REVIEW])
        out[row[0]] = values
    return out


def _table_paths(nct_id: str, source: str, tables_dirs: tuple[Path, ...]) -> list[Path]:
    """Where a record's own table may be: beside it, or in a data folder (where the app keeps
    the tables of the trials it has shown)."""
    if ZIP_SEPARATOR in source or not nct_id:
        return []
    beside = Path(source).parent
    dirs = [beside, *(d for d in tables_dirs if d != beside)]
    return [d / f"{nct_id}{TABLE_SUFFIX}" for d in dirs]


def _own_table(trial: Trial, source: str, tables_dirs: tuple[Path, ...]) -> pd.DataFrame | None:
    """The trial's own cached table (`<NCT ID>.sites.csv`), when it matches the record: its
    points were reviewed or corrected, so the portfolio shows the same ones."""
    for path in _table_paths(trial.nct_id, source, tables_dirs):
        if not path.is_file():
            continue
        try:
            df = read_table(path)
        except (TableError, OSError):
            continue
        if table_matches(df, trial):
            return df
    return None


def _own_table_token(source: str, nct_id: str | None, tables_dirs: tuple[Path, ...]) -> str:
    """Part of a record's change token: the mtimes of its own tables, where there are any."""
    marks = []
    for path in _table_paths(nct_id or "", source, tables_dirs):
        try:
            marks.append(f"+{path.stat().st_mtime_ns}")
        except OSError:
            continue
    return "".join(marks)


# ----------------------------------------------------------------------------------- build


def _fingerprint(path: str | os.PathLike[str] | None) -> str:
    if path is None or not Path(path).is_file():
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


@dataclass
class _Batch:
    sources: list[tuple[str, str, str, str]] = field(default_factory=list)  # records rows
    trials: list[tuple[Any, ...]] = field(default_factory=list)
    sites: list[tuple[Any, ...]] = field(default_factory=list)
    nct_ids: set[str] = field(default_factory=set)


def build_portfolio(
    roots: Iterable[str | os.PathLike[str]],
    store: str | os.PathLike[str],
    *,
    geocoder: Geocoder | None = None,
    overrides_path: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    batch_records: int = BATCH_RECORDS,
    shapes: CountryShapes | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PortfolioStats:
    """Build or update the store at `store` from every record under `roots`.

    Only new or changed records are read (a record's token: size and mtime, or a zip member's
    CRC, and its own table's mtime); records no longer there are removed. Records are committed
    in batches with their rows, so an interrupted build keeps what it committed and the next run
    goes on from there. Each distinct place is geocoded once across all trials; a trial whose own
    cached table (`<NCT ID>.sites.csv`) matches its record takes its rows from that table.
    Records that cannot be read are kept with their error (reported, not fatal).
    """
    started = clock()
    stats = PortfolioStats()
    geocoder = geocoder or LazyGeocoder(offline_geocoder)
    shapes = default_shapes() if shapes is None else shapes
    overrides = load_overrides(overrides_path)
    con = connect(store)
    try:
        fingerprint = _fingerprint(overrides_path)
        old_fp = con.execute("SELECT value FROM meta WHERE key = 'overrides'").fetchone()
        if old_fp is not None and old_fp[0] != fingerprint:
            # Corrections changed: every record is read again (places stay cached: an
            # override is applied per site, before the place cache is asked).
            con.execute("DELETE FROM records")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('overrides', ?)", [fingerprint])
        known = dict(con.execute("SELECT source, token FROM records").fetchall())
        nct_of = dict(con.execute("SELECT source, nct_id FROM records").fetchall())
        roots = [Path(r) for r in roots]
        tables = tuple(r for r in roots if r.is_dir())
        inputs: list[Input] = []
        for root in roots:
            inputs.extend(scan(root))
        stats.records = len(inputs)
        seen = {i.source for i in inputs}
        gone = [s for s in known if s not in seen and any(_under(s, r) for r in roots)]
        if gone:
            _remove_sources(con, gone)
            stats.removed = len(gone)
        # A second copy of a study is read again on every build (they are few): the copy it
        # deferred to may have been removed, or may now hold another study.
        con.execute(f"DELETE FROM records WHERE error LIKE '{DUPLICATE_PREFIX}%'")
        known = dict(con.execute("SELECT source, token FROM records").fetchall())
        todo = []
        for inp in inputs:
            token = inp.token + _own_table_token(inp.source, nct_of.get(inp.source), tables)
            if known.get(inp.source) == token:
                stats.unchanged += 1
            else:
                todo.append((inp, token))
        places = PlaceCache(_known_places(con), geocoder, shapes)
        # Who holds each study: records read again now may no longer hold theirs, so their
        # claims are settled as they are read, in scan order.
        rereading = {inp.source for inp, _ in todo}
        owners = {
            nct: source
            for nct, source in con.execute("SELECT nct_id, source FROM trials").fetchall()
            if source not in rereading
        }
        batch = _Batch()
        for n, (inp, token) in enumerate(todo, start=1):
            _read_one(inp, token, batch, places, overrides, owners, stats, tables)
            if len(batch.sources) >= batch_records:
                _commit(con, batch, places)
                batch = _Batch()
            if progress is not None:
                progress(n, len(todo))
        _commit(con, batch, places)
        stats.read = len(todo)
        stats.places_reused = places.reused
        stats.places_geocoded = places.geocoded
        stats.trials, stats.sites = con.execute(
            "SELECT (SELECT count(*) FROM trials), (SELECT count(*) FROM sites)"
        ).fetchone()
        con.execute("CHECKPOINT")
    finally:
        con.close()
    stats.seconds = clock() - started
    return stats


def _under(source: str, root: Path) -> bool:
    path = source.split(ZIP_SEPARATOR, 1)[0]
    try:
        Path(path).resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return Path(path).resolve() == root.resolve()


def _remove_sources(con: duckdb.DuckDBPyConnection, sources: list[str]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        frame = pd.DataFrame({"source": sources})
        con.register("gone_sources", frame)
        con.execute(
            "DELETE FROM sites WHERE nct_id IN (SELECT nct_id FROM trials WHERE source IN "
            "(SELECT source FROM gone_sources))"
        )
        con.execute("DELETE FROM trials WHERE source IN (SELECT source FROM gone_sources)")
        con.execute("DELETE FROM records WHERE source IN (SELECT source FROM gone_sources)")
        con.unregister("gone_sources")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _read_one(
    inp: Input,
    token: str,
    batch: _Batch,
    places: PlaceCache,
    overrides: pd.DataFrame,
    owners: dict[str, str],
    stats: PortfolioStats,
    tables: tuple[Path, ...],
) -> None:
    name = inp.source
    try:
        trial = parse_record(inp.read(), name).trial
    except (RecordError, OSError, ValueError) as exc:
        message = exc.one_line() if isinstance(exc, RecordError) else f"{name}: {exc}"
        batch.sources.append((inp.source, token, "", message))
        stats.failed += 1
        stats.diagnostics.append(Diagnostic(message))
        return
    owner = owners.get(trial.nct_id)
    if (owner is not None and owner != inp.source) or trial.nct_id in batch.nct_ids:
        other = owner if owner is not None and owner != inp.source else "another file"
        batch.sources.append((inp.source, token, trial.nct_id, f"{DUPLICATE_PREFIX}{other}"))
        stats.duplicates += 1
        return
    owners[trial.nct_id] = inp.source
    batch.nct_ids.add(trial.nct_id)
    token = inp.token + _own_table_token(inp.source, trial.nct_id, tables)
    batch.sources.append((inp.source, token, trial.nct_id, ""))
    batch.trials.append(_trial_row(trial, inp.source))
    records = site_rows(trial)
    own = _own_table(trial, inp.source, tables)
    if own is not None:
        stats.from_tables += 1
        points = own.to_dict("records")
    else:
        points = []
        for record, site in zip(records, trial.sites, strict=True):
            ov = find_override(record, overrides)
            points.append(
                result_columns(ov, site_query(site)) if ov is not None else places.point(site)
            )
    batch.sites.extend(_site_row(r, p) for r, p in zip(records, points, strict=True))


def _commit(con: duckdb.DuckDBPyConnection, batch: _Batch, places: PlaceCache) -> None:
    """Write a batch (its records, trials, sites and new places) in one transaction."""
    new_places = places.flush()
    if not batch.sources and not new_places:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        sources = pd.DataFrame(batch.sources, columns=list(RECORD_COLUMNS))
        con.register("batch_sources", sources)
        # The studies these records held before (a changed record may now hold another).
        con.execute(
            "DELETE FROM sites WHERE nct_id IN (SELECT nct_id FROM trials WHERE source IN "
            "(SELECT source FROM batch_sources))"
        )
        con.execute("DELETE FROM trials WHERE source IN (SELECT source FROM batch_sources)")
        con.execute("DELETE FROM records WHERE source IN (SELECT source FROM batch_sources)")
        con.unregister("batch_sources")
        _insert(con, "records", batch.sources, RECORD_COLUMNS)
        _insert(con, "trials", batch.trials, TRIAL_COLUMNS)
        _insert(con, "sites", batch.sites, SITE_COLUMNS)
        _insert(con, "places", new_places, ("key", *PLACE_COLUMNS), replace=True)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[tuple[Any, ...]],
    columns: tuple[str, ...],
    *,
    replace: bool = False,
) -> None:
    """Insert `rows` into `table`, each column cast to the type the table declares (pandas
    guesses a column of None, dates or lists as objects)."""
    if not rows:
        return
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
            [table],
        ).fetchall()
    )
    casts = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in columns)
    con.register("batch_rows", pd.DataFrame(rows, columns=list(columns)))
    try:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        con.execute(f"{verb} INTO {table} SELECT {casts} FROM batch_rows")
    finally:
        con.unregister("batch_rows")


# ------------------------------------------------------------------------------------ read


def load_in_memory(path: str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory copy of the store's trials and sites, for an app to query.

    The file is opened read-only just long enough to copy it, so a build in another process
    is never locked out by a running dashboard.
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{_sql_string(os.fspath(path))}' AS disk (READ_ONLY)")
    except duckdb.IOException as exc:
        con.close()
        if "lock" in str(exc).lower():
            raise StoreBusy(
                f"{path}: the portfolio store is being built by another process; "
                "try again when it has finished"
            ) from exc
        raise TableError(f"{path}: not a readable portfolio store ({exc})") from exc
    except duckdb.Error as exc:
        con.close()
        raise TableError(f"{path}: not a readable portfolio store ({exc})") from exc
    try:
        # Each trial gets a small integer key (`tid`): counting distinct trials and joining
        # sites to trials on integers is several times faster than on "NCT…" strings.
        con.execute(
            "CREATE TABLE trials AS SELECT CAST(row_number() OVER (ORDER BY nct_id) AS INTEGER) "
            "AS tid, *, lower(concat_ws(' | ', title, conditions)) AS search_text "
            "FROM disk.trials ORDER BY nct_id"
        )
        # Sites sorted by place: a radius or a country touches few row groups.
        con.execute(
            "CREATE TABLE sites AS SELECT t.tid, s.* FROM disk.sites s "
            "JOIN trials t USING (nct_id) ORDER BY s.country_code, s.latitude"
        )
        # Sites summed per trial and country: a view without a place (most filter changes)
        # counts and lists from this quarter-size table instead of every site.
        con.execute(
            "CREATE TABLE trial_countries AS SELECT tid, country_code, "
            "any_value(country) AS country, count(*) AS sites, count(latitude) AS placed, "
            "count(*) FILTER (WHERE status = 'RECRUITING') AS recruiting, "
            "min(latitude) AS south, min(longitude) AS west, max(latitude) AS north, "
            "max(longitude) AS east FROM sites GROUP BY tid, country_code ORDER BY tid"
        )
        con.execute("CREATE TABLE records AS SELECT * FROM disk.records")
    except duckdb.Error as exc:
        con.close()
        raise TableError(f"{path}: not a readable portfolio store ({exc})") from exc
    con.execute("DETACH disk")
    return con


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def record_paths(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Study ID -> the record file it was read from (files only; zip members are left out)."""
    rows = con.execute(
        f"SELECT nct_id, source FROM trials WHERE NOT contains(source, '{ZIP_SEPARATOR}') "
        "ORDER BY nct_id"
    ).fetchall()
    return dict(rows)


def failures(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Records that could not be read, with their error."""
    return con.execute(
        "SELECT source, error FROM records WHERE error <> '' "
        f"AND error NOT LIKE '{DUPLICATE_PREFIX}%' ORDER BY source"
    ).fetchall()


def dump_summary(stats: PortfolioStats) -> str:
    """One line saying what a build did."""
    return (
        f"{stats.trials} trials, {stats.sites} sites; {stats.read} records read now "
        f"({stats.unchanged} unchanged, {stats.removed} removed, {stats.failed} unreadable, "
        f"{stats.duplicates} duplicates); {stats.places_geocoded} "
        f"places geocoded, {stats.places_reused} sites placed from the place cache, "
        f"{stats.from_tables} trials from their own tables; {stats.seconds:.1f} s"
    )
