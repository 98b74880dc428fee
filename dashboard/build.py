"""Build the cached site table: overrides first, cached rows reused, the rest geocoded once each."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import pandas as pd

from dashboard.errors import TableError
from dashboard.geocode import Geocoder, GeocodeResult, site_query
from dashboard.model import Site, Trial
from dashboard.store import COLUMNS, empty_table, normalise, read_table, set_aside, write_table

DEFAULT_DATA_DIR = Path("data")
OVERRIDES_FILE = "overrides.csv"
TABLE_SUFFIX = ".sites.csv"
OVERRIDE_COLUMNS = (
    "nct_id",
    "site_id",
    "city",
    "state",
    "country",
    "latitude",
    "longitude",
    "precision",
    "note",
)
OVERRIDE_PRECISIONS = frozenset({"city", "district", "region", "country"})
ADDRESS_COLUMNS = ("city", "state", "country")
PROGRESS_WIDTH = 30

Progress = Callable[[int, int], None]


def table_path(trial: Trial, data_dir: str | os.PathLike = DEFAULT_DATA_DIR) -> Path:
    """Where a trial's table lives: `<data_dir>/<NCT ID>.sites.csv`."""
    return Path(data_dir) / f"{trial.nct_id}{TABLE_SUFFIX}"


def site_id(nct_id: str, index: int) -> str:
    """A stable id for the index-th site (0-based) in record order: "NCT04270409-001"."""
    return f"{nct_id}-{index + 1:03d}"


def site_rows(trial: Trial) -> list[dict]:
    """The record's columns of the table (no point yet), one dict per site in record order."""
    rows = []
    for i, s in enumerate(trial.sites):
        rows.append(
            {
                "nct_id": trial.nct_id,
                "site_id": site_id(trial.nct_id, i),
                "site_number": s.site_number or "",
                "facility": s.facility,
                "city": s.city,
                "state": s.state,
                "country": s.country,
                "country_code": s.country_code,
                "status": s.status,
            }
        )
    return rows


def load_overrides(path: str | os.PathLike | None) -> pd.DataFrame:
    """Human corrections, validated: a row matches a site by site_id or by city/state/country."""
    cols = list(OVERRIDE_COLUMNS)
    if path is None or not Path(path).exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    df = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#", encoding="utf-8")
    missing = [c for c in ("latitude", "longitude") if c not in df.columns]
    if missing:
        raise TableError(f"{path}: overrides need columns {', '.join(missing)}")
    for c in cols:
        if c not in df.columns:
            df[c] = ""
    df = df[cols].copy()
    for i, row in df.iterrows():
        where = f"{path}:{int(i) + 2}"
        try:
            lat, lon = float(row["latitude"]), float(row["longitude"])
        except ValueError as e:
            raise TableError(f"{where}: latitude/longitude must be numbers") from e
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise TableError(f"{where}: coordinates out of range")
        if not row["site_id"].strip() and not (row["city"].strip() and row["country"].strip()):
            raise TableError(f"{where}: give a site_id, or a city and a country")
        if row["precision"] and row["precision"] not in OVERRIDE_PRECISIONS:
            raise TableError(f"{where}: unknown precision {row['precision']!r}")
    df["latitude"] = df["latitude"].astype(float)
    df["longitude"] = df["longitude"].astype(float)
    return df


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def find_override(row: dict, overrides: pd.DataFrame) -> GeocodeResult | None:
    """The override for a site row: by site_id first, then by address (empty state = any)."""
    if overrides is None or overrides.empty:
        return None
    hit = None
    for _, o in overrides.iterrows():
        if o["nct_id"] and not _same(o["nct_id"], row["nct_id"]):
            continue
        if o["site_id"]:
            if _same(o["site_id"], row["site_id"]):
                hit = o
                break
            continue
        if (
            hit is None
            and _same(o["city"], row["city"])
            and _same(o["country"], row["country"])
            and (not o["state"] or _same(o["state"], row["state"]))
        ):
            hit = o
    if hit is None:
        return None
    return GeocodeResult(
        latitude=float(hit["latitude"]),
        longitude=float(hit["longitude"]),
        precision=hit["precision"] or "city",
        geocoder="override",
        matched_name=hit["city"] or row["city"],
        query=site_query(_row_site(row)),
        needs_review=False,
        note=hit["note"],
    )


def _row_site(row: dict) -> Site:
    return Site(
        facility=row.get("facility", ""),
        city=row["city"],
        country=row["country"],
        country_code=row.get("country_code", ""),
        state=row.get("state", ""),
    )


def _result_columns(res: GeocodeResult | None, query: str) -> dict:
    if res is None:
        return {
            "latitude": math.nan,
            "longitude": math.nan,
            "precision": "",
            "geocoder": "",
            "matched_name": "",
            "query": query,
            "needs_review": True,
            "registry_latitude": math.nan,
            "registry_longitude": math.nan,
            "note": "country unknown: not geocoded",
        }
    return {
        "latitude": res.latitude,
        "longitude": res.longitude,
        "precision": res.precision,
        "geocoder": res.geocoder,
        "matched_name": res.matched_name,
        "query": res.query or query,
        "needs_review": res.needs_review,
        "registry_latitude": math.nan if res.registry_latitude is None else res.registry_latitude,
        "registry_longitude": math.nan
        if res.registry_longitude is None
        else res.registry_longitude,
        "note": res.note,
    }


def _cached_rows(existing: pd.DataFrame | None) -> dict[str, dict]:
    if existing is None or existing.empty:
        return {}
    return {r["site_id"]: r for r in normalise(existing).to_dict("records")}


def build_table(
    trial: Trial,
    *,
    existing: pd.DataFrame | None,
    geocoder: Geocoder,
    overrides: pd.DataFrame | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The trial's site table; geocodes only rows without a cached point (all with `force`).

    No disk access. `df.attrs["stats"]` holds rows / geocoded / cached / overridden / needs_review.
    """
    base = site_rows(trial)
    cached = {} if force else _cached_rows(existing)
    lookups: dict[tuple[str, str, str], GeocodeResult | None] = {}
    rows = []
    stats = {"rows": len(base), "geocoded": 0, "cached": 0, "overridden": 0, "lookups": 0}
    for n, (row, site) in enumerate(zip(base, trial.sites, strict=True)):
        query = site_query(site)
        ov = find_override(row, overrides) if overrides is not None else None
        old = cached.get(row["site_id"])
        if ov is not None:
            row.update(_result_columns(ov, query))
            stats["overridden"] += 1
        elif (
            old is not None
            and all(_same(str(old[c]), row[c]) for c in ADDRESS_COLUMNS)
            and not pd.isna(old["latitude"])
            and old["geocoder"] not in ("override", "")
        ):
            row.update({c: old[c] for c in COLUMNS if c not in row})
            stats["cached"] += 1
        else:
            key = (site.city.strip().casefold(), site.state.strip().casefold(), site.country_code)
            if site.geo_point is not None:
                # A registry point is per site, so it is never shared between sites.
                res = geocoder.geocode(site)
                stats["lookups"] += 1
            elif key in lookups:
                res = lookups[key]
            else:
                res = geocoder.geocode(site)
                lookups[key] = res
                stats["lookups"] += 1
            row.update(_result_columns(res, query))
            stats["geocoded"] += 1
        rows.append(row)
        if progress is not None:
            progress(n + 1, len(base))
    df = normalise(pd.DataFrame(rows, columns=list(COLUMNS))) if rows else empty_table()
    stats["needs_review"] = int(df["needs_review"].sum())
    df.attrs["stats"] = stats
    return df


class LazyGeocoder:
    """Defers loading the gazetteer (and Nominatim) until a row actually needs geocoding."""

    def __init__(self, factory: Callable[[], Geocoder]) -> None:
        self._factory = factory
        self._inner: Geocoder | None = None

    def geocode(self, site: Site) -> GeocodeResult | None:
        """Geocode with the real geocoder, created on first use."""
        if self._inner is None:
            self._inner = self._factory()
        return self._inner.geocode(site)


def offline_geocoder() -> Geocoder:
    """The default geocoder: gazetteer, with registry points cross-checked against it."""
    from dashboard.gazetteer import load_gazetteer
    from dashboard.geocode import GazetteerGeocoder, RegistryCheckedGeocoder

    gaz = GazetteerGeocoder(load_gazetteer())
    return RegistryCheckedGeocoder(gaz, gaz)


def nominatim_geocoder(user_agent: str | None, timeout: float) -> Geocoder:
    """Nominatim online (1 request/s), gazetteer fallback, registry points cross-checked."""
    from dashboard.gazetteer import load_gazetteer
    from dashboard.geocode import GazetteerGeocoder, NominatimGeocoder, RegistryCheckedGeocoder

    gaz = GazetteerGeocoder(load_gazetteer())
    return RegistryCheckedGeocoder(
        NominatimGeocoder(gaz, user_agent=user_agent, timeout=timeout), gaz
    )


def _read_existing(path: Path, warn: Callable[[str], None]) -> pd.DataFrame | None:
    """The cached table, or None; a corrupt one is set aside (with a warning), never fatal."""
    if not path.exists():
        return None
    try:
        return read_table(path)
    except FileNotFoundError:
        return None  # gone since exists(): another build or app session moved it
    except TableError as e:
        try:
            aside = set_aside(path)
        except FileNotFoundError:
            return None  # another build or app session set it aside first
        warn(f"warning: {e}; moved it to {aside.name} and rebuilding")
        return None


def table_matches(df: pd.DataFrame, trial: Trial) -> bool:
    """Whether a table shows this trial as it is now: same sites, addresses, names, statuses.

    Any difference makes the table stale; rebuilding it re-geocodes only changed addresses.
    """
    base = site_rows(trial)
    if len(df) != len(base):
        return False
    for row, old in zip(base, df.to_dict("records"), strict=True):
        if any(str(old[c]) != str(row[c]) for c in row):
            return False
    return True


def overrides_applied(df: pd.DataFrame, overrides: pd.DataFrame | None) -> bool:
    """Whether each row carries exactly the override that matches it now (none if none does)."""
    for row in df.to_dict("records"):
        ov = find_override(row, overrides) if overrides is not None else None
        if ov is None:
            if row["geocoder"] == "override":
                return False
        elif row["geocoder"] != "override" or (row["latitude"], row["longitude"]) != (
            ov.latitude,
            ov.longitude,
        ):
            return False
    return True


def ensure_table(
    trial: Trial,
    data_dir: str | os.PathLike = DEFAULT_DATA_DIR,
    geocoder: Geocoder | None = None,
) -> pd.DataFrame:
    """The trial's table for the app: the cached file if current, else built offline and saved.

    Never raises on a bad cache file (it is set aside); a read-only data dir only skips saving.
    """
    path = table_path(trial, data_dir)

    def warn(msg: str) -> None:
        warnings.warn(msg, stacklevel=3)

    try:
        existing = _read_existing(path, warn)
    except OSError as e:
        warn(f"warning: cannot read {path} ({e}); rebuilding in memory")
        existing = None
    overrides_path = Path(data_dir) / OVERRIDES_FILE
    try:
        overrides = load_overrides(overrides_path)
    except (TableError, ValueError, OSError) as e:
        warn(f"warning: ignoring {overrides_path} ({e})")
        overrides = None
    if (
        existing is not None
        and table_matches(existing, trial)
        and overrides_applied(existing, overrides)
    ):
        return existing
    df = build_table(
        trial,
        existing=existing,
        geocoder=geocoder or LazyGeocoder(offline_geocoder),
        overrides=overrides,
    )
    try:
        write_table(df, path)
    except OSError as e:
        warn(f"warning: could not save {path} ({e})")
    return df


def _progress_bar(stream: TextIO) -> Progress:
    start = time.monotonic()

    def show(done: int, total: int) -> None:
        filled = int(PROGRESS_WIDTH * done / max(total, 1))
        bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
        stream.write(f"\r[{bar}] {done}/{total} {time.monotonic() - start:5.1f}s")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def run_build(args: argparse.Namespace) -> int:
    """`python -m dashboard build`: geocode a record's sites into its table; exit code."""
    from dashboard.record import load_trial

    trial = load_trial(args.record)
    out = Path(args.out) if args.out else table_path(trial, DEFAULT_DATA_DIR)
    if args.overrides:
        if not Path(args.overrides).exists():
            raise FileNotFoundError(2, "no such file", args.overrides)
        overrides_path: Path | None = Path(args.overrides)
    else:
        default = DEFAULT_DATA_DIR / OVERRIDES_FILE
        overrides_path = default if default.exists() else None
    overrides = load_overrides(overrides_path)

    def warn(msg: str) -> None:
        print(msg, file=sys.stderr)

    existing = None if args.force else _read_existing(out, warn)
    if getattr(args, "geocoder", "offline") == "nominatim":
        timeout = getattr(args, "timeout", 10.0)
        geocoder: Geocoder = LazyGeocoder(
            lambda: nominatim_geocoder(getattr(args, "user_agent", None), timeout)
        )
    else:
        geocoder = LazyGeocoder(offline_geocoder)
    show = not getattr(args, "quiet", False) and sys.stderr.isatty()
    df = build_table(
        trial,
        existing=existing,
        geocoder=geocoder,
        overrides=overrides,
        force=bool(args.force),
        progress=_progress_bar(sys.stderr) if show else None,
    )
    # Only a finished table is written, atomically: a failure above leaves the old file as it was.
    write_table(df, out)
    s = df.attrs["stats"]
    print(
        f"{out}: {s['rows']} rows, {s['geocoded']} geocoded now ({s['lookups']} lookups), "
        f"{s['cached']} from cache, {s['overridden']} overridden, "
        f"{s['needs_review']} need review",
        file=sys.stderr,
    )
    return 0
