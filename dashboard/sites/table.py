"""The site table: its one typed row schema, and reading, validating and writing it as CSV.

Every layer names the table's columns through `Col` and the column lists here; a row is keyed by
`site_id` ("NCT04270409-001", set when the record is parsed), never matched by guessing. The file
(`data/<NCT ID>.sites.csv`) is written atomically and validated on every read.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dashboard.errors import TableError
from dashboard.io import atomic_write_text, check_input_file
from dashboard.model import Precision, Source


@dataclass(frozen=True)
class SiteRow:
    """One row of the site table: the record's site, its point, and how the point was found."""

    nct_id: str
    site_id: str
    site_number: str
    facility: str
    city: str
    state: str
    country: str
    country_code: str
    status: str
    latitude: float  # NaN when the site could not be placed
    longitude: float
    precision: str  # a Precision value, "" when not placed
    geocoder: str  # a Source value, "" when not placed
    matched_name: str
    query: str
    needs_review: bool
    registry_latitude: float  # the registry's own point when it was not used, else NaN
    registry_longitude: float
    note: str


class Col:
    """The table's column names (and the derived distance column), as constants."""

    NCT_ID = "nct_id"
    SITE_ID = "site_id"
    SITE_NUMBER = "site_number"
    FACILITY = "facility"
    CITY = "city"
    STATE = "state"
    COUNTRY = "country"
    COUNTRY_CODE = "country_code"
    STATUS = "status"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    PRECISION = "precision"
    GEOCODER = "geocoder"
    MATCHED_NAME = "matched_name"
    QUERY = "query"
    NEEDS_REVIEW = "needs_review"
    REGISTRY_LATITUDE = "registry_latitude"
    REGISTRY_LONGITUDE = "registry_longitude"
    NOTE = "note"
    # Added to a view (never stored) when a place is searched: km from that place.
    DISTANCE_KM = "distance_km"


COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SiteRow))
FLOAT_COLUMNS = (Col.LATITUDE, Col.LONGITUDE, Col.REGISTRY_LATITUDE, Col.REGISTRY_LONGITUDE)
BOOL_COLUMNS = (Col.NEEDS_REVIEW,)
TEXT_COLUMNS = tuple(c for c in COLUMNS if c not in FLOAT_COLUMNS + BOOL_COLUMNS)
# The columns that come from the record itself (the rest say where the site was put).
RECORD_COLUMNS = COLUMNS[: COLUMNS.index(Col.STATUS) + 1]
ADDRESS_COLUMNS = (Col.CITY, Col.STATE, Col.COUNTRY)
# What a download of the view holds: the record's columns and the point, with its provenance.
EXPORT_COLUMNS = (
    *RECORD_COLUMNS,
    Col.LATITUDE,
    Col.LONGITUDE,
    Col.PRECISION,
    Col.GEOCODER,
    Col.MATCHED_NAME,
)
# What the page's site list shows.
DISPLAY_COLUMNS = (Col.FACILITY, Col.CITY, Col.STATE, Col.COUNTRY, Col.STATUS, Col.PRECISION)
PRECISIONS = frozenset({*(p.value for p in Precision), ""})
GEOCODERS = frozenset({*(s.value for s in Source), ""})
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no", ""})
FLOAT_FORMAT = "%.5f"  # ~1 m: more digits would only be noise in a diff
ENCODING = "utf-8"


def to_bool(v: object) -> bool:
    """A table cell as a bool: true/1/yes, false/0/no/""; ValueError for anything else."""
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


def rows_to_frame(rows: list[SiteRow]) -> pd.DataFrame:
    """Typed rows -> the table (columns in schema order)."""
    if not rows:
        return empty_table()
    return normalise(pd.DataFrame([dataclasses.asdict(r) for r in rows], columns=list(COLUMNS)))


def frame_rows(df: pd.DataFrame) -> list[SiteRow]:
    """The table -> typed rows (extra columns, such as a distance, are left out)."""
    records = normalise(df)[list(COLUMNS)].to_dict("records")
    return [SiteRow(**r) for r in records]


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
            out[c] = col.map(to_bool).astype(bool)
        else:
            out[c] = col.map(
                lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v)
            )
            out[c] = out[c].astype(object)
    extra = [c for c in df.columns if c not in COLUMNS]
    for c in extra:
        out[c] = df[c].reset_index(drop=True)
    return out


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
    # Never open a device, FIFO or kernel file: PathError (an OSError), not a TableError that
    # would have the caller set it aside. FileNotFoundError when there is nothing there.
    check_input_file(path, "a site table file (a regular file)")
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
    lat, lon = out[Col.LATITUDE], out[Col.LONGITUDE]
    bad = (lat.notna() & ((lat < -90) | (lat > 90))) | (lon.notna() & ((lon < -180) | (lon > 180)))
    if bad.any():
        raise TableError(f"{path}: coordinates out of range in row {int(bad.idxmax()) + 2}")
    if not set(out[Col.PRECISION]) <= PRECISIONS:
        raise TableError(
            f"{path}: unknown precision {sorted(set(out[Col.PRECISION]) - PRECISIONS)}"
        )
    if not set(out[Col.GEOCODER]) <= GEOCODERS:
        raise TableError(f"{path}: unknown geocoder {sorted(set(out[Col.GEOCODER]) - GEOCODERS)}")
    if out[Col.SITE_ID].duplicated().any():
        raise TableError(
            f"{path}: duplicate site_id {out[Col.SITE_ID][out[Col.SITE_ID].duplicated()].iloc[0]}"
        )
    return out


def to_csv_text(df: pd.DataFrame) -> str:
    """The table as CSV text (fixed column order, 5-decimal coordinates, true/false)."""
    out = normalise(df)[list(COLUMNS)].copy()
    out[Col.NEEDS_REVIEW] = out[Col.NEEDS_REVIEW].map(lambda b: "true" if b else "false")
    return out.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the table atomically (temp file in the same directory, then os.replace)."""
    atomic_write_text(path, to_csv_text(df))


def set_aside(path: str | os.PathLike) -> Path:
    """Rename a bad table to `<name>.corrupt-<timestamp>` and return the new path."""
    path = Path(path)
    # Only ever a regular file: a device or FIFO is refused (PathError), never renamed.
    check_input_file(path, "a site table file (a regular file) to set aside")
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{n}")
        n += 1
    os.replace(path, target)
    return target
