"""Build the cached site table: overrides first, cached rows reused, the rest geocoded once each.

`build_table` touches no disk and returns the table with its `BuildStats`; `ensure_table` is the
app's entry (read the cached file, rebuild it when stale, save it) and returns what it had to
say as `Diagnostic`s instead of printing or warning. A cached point that cannot be right (0,0,
lat/lon swapped, in another country: see `checks`) is not reused but geocoded again and flagged;
an override's is flagged and kept.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from dashboard.errors import Diagnostic, TableError
from dashboard.geocoding.sources import Geocoder, LazyGeocoder, offline_geocoder, site_query
from dashboard.model import GeocodeResult, Precision, Site, Source, Trial, make_site_id
from dashboard.sites.checks import (
    CountryShapes,
    already_flagged,
    row_suspect,
    summarise,
    unflagged_suspects,
)
from dashboard.sites.table import (
    ADDRESS_COLUMNS,
    COLUMNS,
    RECORD_COLUMNS,
    Col,
    empty_table,
    normalise,
    read_table,
    set_aside,
    write_table,
)

DEFAULT_DATA_DIR = Path("data")
OVERRIDES_FILE = "overrides.csv"
TABLE_SUFFIX = ".sites.csv"
OVERRIDE_COLUMNS = (
    Col.NCT_ID,
    Col.SITE_ID,
    Col.CITY,
    Col.STATE,
    Col.COUNTRY,
    Col.LATITUDE,
    Col.LONGITUDE,
    Col.PRECISION,
    Col.NOTE,
)
OVERRIDE_PRECISIONS = frozenset(p.value for p in Precision)
NOT_GEOCODED_NOTE = "country unknown: not geocoded"
# The country outlines the point checks use: shipped with the project, next to the package.
OUTLINES_PATH = Path(__file__).resolve().parents[2] / "data" / "countries.geojson"
NOTE_SEPARATOR = "; "

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildStats:
    """What a build did: rows in all, geocoded now (with how many lookups), reused, overridden."""

    rows: int = 0
    geocoded: int = 0
    cached: int = 0
    overridden: int = 0
    lookups: int = 0
    needs_review: int = 0
    rechecked: int = 0  # cached points that looked wrong and were geocoded again


@dataclass(frozen=True)
class BuiltTable:
    """A site table, how it was built, and what the user should hear about it."""

    table: pd.DataFrame
    stats: BuildStats = field(default_factory=BuildStats)
    diagnostics: tuple[Diagnostic, ...] = ()


@lru_cache(maxsize=1)
def default_shapes() -> CountryShapes:
    """The shipped country outlines (OUTLINES_PATH), read once per process."""
    try:
        with open(OUTLINES_PATH, encoding="utf-8") as fh:
            return CountryShapes.from_geojson(json.load(fh))
    except (OSError, ValueError):
        return CountryShapes.empty()  # without outlines, only 0,0 is judged


def table_path(trial: Trial, data_dir: str | os.PathLike = DEFAULT_DATA_DIR) -> Path:
    """Where a trial's table lives: `<data_dir>/<NCT ID>.sites.csv`."""
    return Path(data_dir) / f"{trial.nct_id}{TABLE_SUFFIX}"


def site_rows(trial: Trial) -> list[dict]:
    """The record's columns of the table (no point yet), one dict per site in record order."""
    rows = []
    for i, s in enumerate(trial.sites):
        rows.append(
            {
                Col.NCT_ID: trial.nct_id,
                Col.SITE_ID: s.site_id or make_site_id(trial.nct_id, i),
                Col.SITE_NUMBER: s.site_number or "",
                Col.FACILITY: s.facility,
                Col.CITY: s.city,
                Col.STATE: s.state,
                Col.COUNTRY: s.country,
                Col.COUNTRY_CODE: s.country_code,
                Col.STATUS: s.status,
            }
        )
    return rows


def load_overrides(path: str | os.PathLike | None) -> pd.DataFrame:
    """Human corrections, validated: a row matches a site by site_id or by city/state/country."""
    cols = list(OVERRIDE_COLUMNS)
    if path is None or not Path(path).exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    df = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#", encoding="utf-8")
    missing = [c for c in (Col.LATITUDE, Col.LONGITUDE) if c not in df.columns]
    if missing:
        raise TableError(f"{path}: overrides need columns {', '.join(missing)}")
    for c in cols:
        if c not in df.columns:
            df[c] = ""
    df = df[cols].copy()
    for i, row in df.iterrows():
        where = f"{path}:{int(i) + 2}"
        try:
            lat, lon = float(row[Col.LATITUDE]), float(row[Col.LONGITUDE])
        except ValueError as e:
            raise TableError(f"{where}: latitude/longitude must be numbers") from e
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise TableError(f"{where}: coordinates out of range")
        if not row[Col.SITE_ID].strip() and not (
            row[Col.CITY].strip() and row[Col.COUNTRY].strip()
        ):
            raise TableError(f"{where}: give a site_id, or a city and a country")
        if row[Col.PRECISION] and row[Col.PRECISION] not in OVERRIDE_PRECISIONS:
            raise TableError(f"{where}: unknown precision {row[Col.PRECISION]!r}")
    df[Col.LATITUDE] = df[Col.LATITUDE].astype(float)
    df[Col.LONGITUDE] = df[Col.LONGITUDE].astype(float)
    return df


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def find_override(row: dict, overrides: pd.DataFrame) -> GeocodeResult | None:
    """The override for a site row: by site_id first, then by address (empty state = any)."""
    if overrides is None or overrides.empty:
        return None
    hit = None
    for _, o in overrides.iterrows():
        if o[Col.NCT_ID] and not _same(o[Col.NCT_ID], row[Col.NCT_ID]):
            continue
        if o[Col.SITE_ID]:
            if _same(o[Col.SITE_ID], row[Col.SITE_ID]):
                hit = o
                break
            continue
        if (
            hit is None
            and _same(o[Col.CITY], row[Col.CITY])
            and _same(o[Col.COUNTRY], row[Col.COUNTRY])
            and (not o[Col.STATE] or _same(o[Col.STATE], row[Col.STATE]))
        ):
            hit = o
    if hit is None:
        return None
    return GeocodeResult(
        latitude=float(hit[Col.LATITUDE]),
        longitude=float(hit[Col.LONGITUDE]),
        precision=hit[Col.PRECISION] or Precision.CITY,
        geocoder=Source.OVERRIDE,
        matched_name=hit[Col.CITY] or row[Col.CITY],
        query=site_query(_row_site(row)),
        needs_review=False,
        note=hit[Col.NOTE],
    )


def _row_site(row: dict) -> Site:
    return Site(
        facility=row.get(Col.FACILITY, ""),
        city=row[Col.CITY],
        country=row[Col.COUNTRY],
        country_code=row.get(Col.COUNTRY_CODE, ""),
        state=row.get(Col.STATE, ""),
    )


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


def result_columns(res: GeocodeResult | None, query: str) -> dict:
    """The point columns of a row: where the geocoder put the site (or why it could not)."""
    if res is None:
        return {
            Col.LATITUDE: math.nan,
            Col.LONGITUDE: math.nan,
            Col.PRECISION: "",
            Col.GEOCODER: "",
            Col.MATCHED_NAME: "",
            Col.QUERY: query,
            Col.NEEDS_REVIEW: True,
            Col.REGISTRY_LATITUDE: math.nan,
            Col.REGISTRY_LONGITUDE: math.nan,
            Col.NOTE: NOT_GEOCODED_NOTE,
        }
    return {
        Col.LATITUDE: res.latitude,
        Col.LONGITUDE: res.longitude,
        Col.PRECISION: str(res.precision),
        Col.GEOCODER: str(res.geocoder),
        Col.MATCHED_NAME: res.matched_name,
        Col.QUERY: res.query or query,
        Col.NEEDS_REVIEW: res.needs_review,
        Col.REGISTRY_LATITUDE: _nan_if_none(res.registry_latitude),
        Col.REGISTRY_LONGITUDE: _nan_if_none(res.registry_longitude),
        Col.NOTE: res.note,
    }


def _cached_rows(existing: pd.DataFrame | None) -> dict[str, dict]:
    if existing is None or existing.empty:
        return {}
    return {r[Col.SITE_ID]: r for r in normalise(existing).to_dict("records")}


def _reusable(old: dict | None, row: dict) -> bool:
    """Whether a cached row's point still stands for this row (same address, a real geocode)."""
    return (
        old is not None
        and all(_same(str(old[c]), row[c]) for c in ADDRESS_COLUMNS)
        and not pd.isna(old[Col.LATITUDE])
        and old[Col.GEOCODER] not in (Source.OVERRIDE, "")
    )


def _join_notes(*notes: str) -> str:
    return NOTE_SEPARATOR.join(n for n in notes if n)


def _unflagged_reason(row: dict, shapes: CountryShapes) -> str | None:
    """Why the row's point looks wrong, unless the row already says so (flagged, in its note)."""
    reason = row_suspect(row, shapes)
    return None if reason is None or already_flagged(row, reason) else reason


def flag_if_suspect(row: dict, shapes: CountryShapes) -> str | None:
    """Flag a row whose final point looks wrong (the point is kept); the reason if newly flagged."""
    reason = _unflagged_reason(row, shapes)
    if reason is not None:
        if row[Col.GEOCODER] == Source.OVERRIDE:
            what = f"override point looks wrong ({reason}); kept, check {OVERRIDES_FILE}"
        else:
            what = f"point looks wrong ({reason})"
        row[Col.NEEDS_REVIEW] = True
        row[Col.NOTE] = _join_notes(row[Col.NOTE], what)
    return reason


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _check_diagnostics(
    rechecked: list[str], flagged_overrides: list[str], flagged: list[str]
) -> list[Diagnostic]:
    """One line per kind of wrong-looking point: geocoded again, or kept and flagged."""
    out = []
    if rechecked:
        were = "was" if len(rechecked) == 1 else "were"
        out.append(
            Diagnostic(
                f"{_count(len(rechecked), 'cached point')} looked wrong ({summarise(rechecked)}) "
                f"and {were} geocoded again"
            )
        )
    if flagged_overrides:
        out.append(
            Diagnostic(
                f"{_count(len(flagged_overrides), 'override point')} looked wrong "
                f"({summarise(flagged_overrides)}): kept and flagged for review"
            )
        )
    if flagged:
        out.append(
            Diagnostic(
                f"{_count(len(flagged), 'geocoded point')} looked wrong ({summarise(flagged)}): "
                "flagged for review"
            )
        )
    return out


def build_table(
    trial: Trial,
    *,
    existing: pd.DataFrame | None,
    geocoder: Geocoder,
    overrides: pd.DataFrame | None = None,
    force: bool = False,
    progress: Progress | None = None,
    shapes: CountryShapes | None = None,
) -> BuiltTable:
    """The trial's site table; geocodes only rows without a cached point (all with `force`).

    No disk access (beyond reading the shipped outlines once when `shapes` is None). The same
    address is looked up once; a registry point is per site. A cached point that looks wrong
    (`checks.suspect_point`) is geocoded again, flagged, and its note says why; an override's
    point is never moved, only flagged.
    """
    shapes = default_shapes() if shapes is None else shapes
    base = site_rows(trial)
    cached = {} if force else _cached_rows(existing)
    lookups: dict[tuple[str, str, str], GeocodeResult | None] = {}
    rows = []
    n_geocoded = n_cached = n_overridden = n_lookups = 0
    rechecked: list[str] = []
    flagged_overrides: list[str] = []
    flagged: list[str] = []
    for n, (row, site) in enumerate(zip(base, trial.sites, strict=True)):
        query = site_query(site)
        ov = find_override(row, overrides) if overrides is not None else None
        old = cached.get(row[Col.SITE_ID])
        wrong = None
        if ov is not None:
            row.update(result_columns(ov, query))
            n_overridden += 1
        elif _reusable(old, row) and (wrong := _unflagged_reason(old, shapes)) is None:
            assert old is not None
            row.update({c: old[c] for c in COLUMNS if c not in row})
            n_cached += 1
        else:
            key = (site.city.strip().casefold(), site.state.strip().casefold(), site.country_code)
            if site.geo_point is not None:
                # A registry point is per site, so it is never shared between sites.
                res = geocoder.geocode(site)
                n_lookups += 1
            elif key in lookups:
                res = lookups[key]
            else:
                res = geocoder.geocode(site)
                lookups[key] = res
                n_lookups += 1
            row.update(result_columns(res, query))
            n_geocoded += 1
            if wrong is not None:
                assert old is not None
                row[Col.NEEDS_REVIEW] = True
                row[Col.NOTE] = _join_notes(
                    row[Col.NOTE],
                    f"cached point ({old[Col.LATITUDE]:.5f}, {old[Col.LONGITUDE]:.5f}) "
                    f"looked wrong ({wrong}); geocoded again",
                )
                rechecked.append(wrong)
        newly = flag_if_suspect(row, shapes)
        if newly is not None:
            (flagged_overrides if ov is not None else flagged).append(newly)
        rows.append(row)
        if progress is not None:
            progress(n + 1, len(base))
    df = normalise(pd.DataFrame(rows, columns=list(COLUMNS))) if rows else empty_table()
    stats = BuildStats(
        rows=len(base),
        geocoded=n_geocoded,
        cached=n_cached,
        overridden=n_overridden,
        lookups=n_lookups,
        needs_review=int(df[Col.NEEDS_REVIEW].sum()),
        rechecked=len(rechecked),
    )
    return BuiltTable(df, stats, tuple(_check_diagnostics(rechecked, flagged_overrides, flagged)))


def read_existing(path: Path) -> tuple[pd.DataFrame | None, list[Diagnostic]]:
    """The cached table, or None; a corrupt one is set aside (and said so), never fatal."""
    if not path.exists():
        return None, []
    try:
        return read_table(path), []
    except FileNotFoundError:
        return None, []  # gone since exists(): another build or app session moved it
    except TableError as e:
        try:
            aside = set_aside(path)
        except FileNotFoundError:
            return None, []  # another build or app session set it aside first
        return None, [Diagnostic(f"{e}; moved it to {aside.name} and rebuilding")]


def table_matches(df: pd.DataFrame, trial: Trial) -> bool:
    """Whether a table shows this trial as it is now: same sites, addresses, names, statuses.

    Any difference makes the table stale; rebuilding it re-geocodes only changed addresses.
    """
    base = site_rows(trial)
    if len(df) != len(base):
        return False
    for row, old in zip(base, df[list(RECORD_COLUMNS)].to_dict("records"), strict=True):
        if any(str(old[c]) != str(row[c]) for c in row):
            return False
    return True


def overrides_applied(df: pd.DataFrame, overrides: pd.DataFrame | None) -> bool:
    """Whether each row carries exactly the override that matches it now (none if none does)."""
    for row in df.to_dict("records"):
        ov = find_override(row, overrides) if overrides is not None else None
        if ov is None:
            if row[Col.GEOCODER] == Source.OVERRIDE:
                return False
        elif row[Col.GEOCODER] != Source.OVERRIDE or (
            row[Col.LATITUDE],
            row[Col.LONGITUDE],
        ) != (ov.latitude, ov.longitude):
            return False
    return True


def ensure_table(
    trial: Trial,
    data_dir: str | os.PathLike = DEFAULT_DATA_DIR,
    geocoder: Geocoder | None = None,
    *,
    shapes: CountryShapes | None = None,
) -> BuiltTable:
    """The trial's table for the app: the cached file if current, else built offline and saved.

    Never raises on a bad cache file (it is set aside, and a diagnostic says so); a read-only
    data dir only skips saving. A table with a point that looks wrong and is not yet flagged for
    it is stale: that row is geocoded again (see `build_table`).
    """
    shapes = default_shapes() if shapes is None else shapes
    path = table_path(trial, data_dir)
    diagnostics: list[Diagnostic] = []
    try:
        existing, found = read_existing(path)
        diagnostics += found
    except OSError as e:
        diagnostics.append(Diagnostic(f"cannot read {path} ({e}); rebuilding in memory"))
        existing = None
    overrides_path = Path(data_dir) / OVERRIDES_FILE
    try:
        overrides = load_overrides(overrides_path)
    except (TableError, ValueError, OSError) as e:
        diagnostics.append(Diagnostic(f"ignoring {overrides_path} ({e})"))
        overrides = None
    if (
        existing is not None
        and table_matches(existing, trial)
        and overrides_applied(existing, overrides)
        and not unflagged_suspects(existing, shapes)
    ):
        return BuiltTable(existing, BuildStats(rows=len(existing), cached=len(existing)))
    built = build_table(
        trial,
        existing=existing,
        geocoder=geocoder or LazyGeocoder(offline_geocoder),
        overrides=overrides,
        shapes=shapes,
    )
    diagnostics += built.diagnostics
    try:
        write_table(built.table, path)
    except OSError as e:
        diagnostics.append(Diagnostic(f"could not save {path} ({e})"))
    return BuiltTable(built.table, built.stats, tuple(diagnostics))
