"""The site list as shown, and downloads of the current view (CSV, GeoJSON).

Pure: rows of the site table in, a DataFrame, a dict or bytes out. GeoJSON positions are
[lon, lat] (RFC 7946); tables keep (lat, lon) columns. Cells from a record are untrusted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboard.geo import EXPORT_DISTANCE_DECIMALS, rounded_in
from dashboard.sites.table import EXPORT_COLUMNS, Col
from dashboard.ui.map import located
from dashboard.ui.panels import display_text, location_note, plain_status, strip_region_key
from dashboard.ui.state import distance_column

# Spreadsheet programs run cells that start with these as formulas; site names come from
# untrusted records, so exported text cells get a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# The site list a patient reads: the record's words (statuses in plain words, regions without
# the registry's bracketed key), no geocoding terms. A "location" column is added only when a
# site in view is placed more coarsely than its city.
SHOWN_COLUMNS = (Col.FACILITY, Col.CITY, Col.STATE, Col.COUNTRY, Col.STATUS)
LOCATION_COLUMN = "location"
# Downloads keep the geocoding columns, and say which rows a person should check.
DOWNLOAD_COLUMNS = (*EXPORT_COLUMNS, Col.NEEDS_REVIEW)


def site_table_columns(table: pd.DataFrame) -> dict[str, list[Any]]:
    """The site list as shown, column by column, without distances (see `site_table`): plain
    lists, which the page hands to Streamlit as an Arrow table without going through pandas.
    The "location" column is there only when some site needs its note."""

    def texts(column: str) -> list[str]:
        if column not in table.columns:
            return [""] * len(table)
        return [display_text(v) for v in table[column].tolist()]

    # Lists, not Series.map (each map costs a few hundred µs).
    columns: dict[str, list[Any]] = {c: texts(c) for c in SHOWN_COLUMNS}
    columns[Col.STATE] = [strip_region_key(v) for v in columns[Col.STATE]]
    columns[Col.STATUS] = [plain_status(v) for v in columns[Col.STATUS]]
    if Col.PRECISION in table.columns:
        flags = table[Col.NEEDS_REVIEW].tolist() if Col.NEEDS_REVIEW in table.columns else []
        notes = [
            location_note(p, f)
            for p, f in zip(texts(Col.PRECISION), flags or [False] * len(table), strict=True)
        ]
        if any(notes):
            columns[LOCATION_COLUMN] = notes
    return columns


@dataclass(frozen=True, eq=False)
class SiteListing:
    """A whole table's site list as shown (`site_table_columns` without distances) and each
    site's id and picker label ("facility — city, country"), made once per table: a rerun
    only picks the rows in view (`listed_columns`)."""

    columns: dict[str, list[Any]]
    ids: list[str]
    labels: list[str]


def site_listing(table: pd.DataFrame) -> SiteListing:
    """The `SiteListing` of `table`."""

    def texts(column: str) -> list[str]:
        return table[column].astype(str).tolist() if column in table.columns else [""] * len(table)

    labels = [
        f"{f} — {c}, {n}"
        for f, c, n in zip(texts(Col.FACILITY), texts(Col.CITY), texts(Col.COUNTRY), strict=True)
    ]
    return SiteListing(site_table_columns(table), texts(Col.SITE_ID), labels)


def listed_columns(
    listing: SiteListing,
    positions: Sequence[int],
    km: Sequence[float] | None = None,
    units: str | None = None,
) -> dict[str, list[Any]]:
    """`site_table_columns` of the rows at `positions` (with their distances, `km[i]` for row
    i, in `units`), picked from the whole table's listing."""
    out: dict[str, list[Any]] = {}
    if units is not None and km is not None:
        out[distance_column(units)] = [rounded_in(float(km[i]), units) for i in positions]
    for name, values in listing.columns.items():
        out[name] = [values[i] for i in positions]
    if LOCATION_COLUMN in out and not any(out[LOCATION_COLUMN]):
        del out[LOCATION_COLUMN]  # only when a site in view is placed coarsely
    return out


def site_table(table: pd.DataFrame, units: str | None = None) -> pd.DataFrame:
    """The site list as shown: one row per site, plus a distance column when searching and a
    plain "location" note when some site is only placed at its region (or district, country)
    or is flagged for review."""
    km = None
    if units is not None and Col.DISTANCE_KM in table.columns:
        km = pd.to_numeric(table[Col.DISTANCE_KM], errors="coerce").astype(float).tolist()
    columns = listed_columns(site_listing(table), range(len(table)), km, units)
    out = pd.DataFrame(
        {k: v for k, v in columns.items() if k in SHOWN_COLUMNS or k == LOCATION_COLUMN},
        dtype=object,  # plain text, no string-type inference
    )
    if units is not None and distance_column(units) in columns:
        out.insert(0, distance_column(units), np.array(columns[distance_column(units)], float))
    return out


def _defuse(value: Any) -> Any:
    """A text cell made safe to open in a spreadsheet (formulas become plain text)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_frame(table: pd.DataFrame, units: str | None = None) -> pd.DataFrame:
    """The current view with true coordinates, ready to save (distance in `units` if any)."""
    cols = [c for c in DOWNLOAD_COLUMNS if c in table.columns]
    out = table[cols].copy()
    if units is not None and Col.DISTANCE_KM in table.columns:
        out[distance_column(units)] = table[Col.DISTANCE_KM].map(
            lambda d: rounded_in(d, units, EXPORT_DISTANCE_DECIMALS)
        )
    return out.reset_index(drop=True)


def to_csv_bytes(table: pd.DataFrame, units: str | None = None) -> bytes:
    """The current view as UTF-8 CSV bytes."""
    out = export_frame(table, units)
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "true", False: "false"})  # as in the site table file
        elif out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_defuse)
    # RFC 4180 line ends (CRLF): a cell holding a lone CR or LF is then always quoted, so no
    # reader splits a row inside it.
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _json_value(value: Any) -> Any:
    """A cell as a JSON value: NaN becomes null, numpy scalars become Python ones."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def to_geojson(table: pd.DataFrame, units: str | None = None) -> dict[str, Any]:
    """The current view as a GeoJSON FeatureCollection of points (RFC 7946: [lon, lat]).

    Sites without coordinates are left out, since a point needs a position.
    """
    out = export_frame(located(table), units)
    features = []
    for record in out.to_dict(orient="records"):
        lat = float(record.pop(Col.LATITUDE))
        lon = float(record.pop(Col.LONGITUDE))
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {k: _json_value(v) for k, v in record.items()},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def to_geojson_bytes(table: pd.DataFrame, units: str | None = None) -> bytes:
    """The current view as GeoJSON bytes (UTF-8)."""
    return json.dumps(to_geojson(table, units), ensure_ascii=False, indent=1).encode("utf-8")
