"""Read and write the cached site table (`data/<NCT ID>.sites.csv`), validated and atomic."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from dashboard.errors import TableError

COLUMNS = (
    "nct_id",
    "site_id",
    "site_number",
    "facility",
    "city",
    "state",
    "country",
    "country_code",
    "status",
    "latitude",
    "longitude",
    "precision",
    "geocoder",
    "matched_name",
    "query",
    "needs_review",
    "registry_latitude",
    "registry_longitude",
    "note",
)
FLOAT_COLUMNS = ("latitude", "longitude", "registry_latitude", "registry_longitude")
BOOL_COLUMNS = ("needs_review",)
TEXT_COLUMNS = tuple(c for c in COLUMNS if c not in FLOAT_COLUMNS + BOOL_COLUMNS)
PRECISIONS = frozenset({"city", "district", "region", "country", ""})
GEOCODERS = frozenset({"gazetteer", "nominatim", "registry", "override", ""})
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no", ""})
FLOAT_FORMAT = "%.5f"  # ~1 m: more digits would only be noise in a diff
ENCODING = "utf-8"
NEW_FILE_MODE = 0o644


def empty_table() -> pd.DataFrame:
    """A table with the right columns and dtypes and no rows."""
    return normalise(pd.DataFrame({c: [] for c in COLUMNS}))


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Columns in order with their dtypes: text as str ("" for missing), floats, bools."""
    out = pd.DataFrame(index=range(len(df)))
    for c in COLUMNS:
        col = df[c].reset_index(drop=True) if c in df.columns else pd.Series([None] * len(df))
        if c in FLOAT_COLUMNS:
            out[c] = pd.to_numeric(col, errors="raise").astype("float64")
        elif c in BOOL_COLUMNS:
            out[c] = col.map(_to_bool).astype(bool)
        else:
            out[c] = col.map(
                lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v)
            )
            out[c] = out[c].astype(object)
    extra = [c for c in df.columns if c not in COLUMNS]
    for c in extra:
        out[c] = df[c].reset_index(drop=True)
    return out


def _to_bool(v: object) -> bool:
    if isinstance(v, bool):
        return v
    if v is None or (isinstance(v, float) and v != v):
        return False
    s = str(v).strip().lower()
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean: {v!r}")


def _cut_short(path: Path) -> bool:
    """Whether a non-empty file lacks the final newline every table we write ends with."""
    with open(path, "rb") as fh:
        if fh.seek(0, os.SEEK_END) == 0:
            return False
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """The cached table at `path`, validated; TableError if it is corrupt or not a site table."""
    path = Path(path)
    if _cut_short(path):
        # pandas would read a row cut mid-way as a short row padded with blanks.
        raise TableError(f"{path}: truncated site table (it does not end with a newline)")
    try:
        df = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            encoding=ENCODING,
        )
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        raise TableError(f"{path}: not a readable site table ({e})") from e
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise TableError(f"{path}: not a site table (missing columns: {', '.join(missing)})")
    try:
        for c in FLOAT_COLUMNS:
            df[c] = pd.to_numeric(df[c].replace("", None), errors="raise")
        out = normalise(df)
    except (ValueError, TypeError) as e:
        raise TableError(f"{path}: bad value in site table ({e})") from e
    lat, lon = out["latitude"], out["longitude"]
    bad = (lat.notna() & ((lat < -90) | (lat > 90))) | (lon.notna() & ((lon < -180) | (lon > 180)))
    if bad.any():
        raise TableError(f"{path}: coordinates out of range in row {int(bad.idxmax()) + 2}")
    if not set(out["precision"]) <= PRECISIONS:
        raise TableError(f"{path}: unknown precision {sorted(set(out['precision']) - PRECISIONS)}")
    if not set(out["geocoder"]) <= GEOCODERS:
        raise TableError(f"{path}: unknown geocoder {sorted(set(out['geocoder']) - GEOCODERS)}")
    if out["site_id"].duplicated().any():
        raise TableError(
            f"{path}: duplicate site_id {out['site_id'][out['site_id'].duplicated()].iloc[0]}"
        )
    return out


def to_csv_text(df: pd.DataFrame) -> str:
    """The table as CSV text (fixed column order, 5-decimal coordinates, true/false)."""
    out = normalise(df)[list(COLUMNS)].copy()
    out["needs_review"] = out["needs_review"].map(lambda b: "true" if b else "false")
    return out.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=ENCODING, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files: keep the old file's mode, or the usual 0644 for a new one.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the table atomically (temp file in the same directory, then os.replace)."""
    atomic_write_text(path, to_csv_text(df))


def set_aside(path: str | os.PathLike) -> Path:
    """Rename a bad table to `<name>.corrupt-<timestamp>` and return the new path."""
    path = Path(path)
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{n}")
        n += 1
    os.replace(path, target)
    return target
