"""Tests for dashboard.ui.exports: the site list as shown, and CSV/GeoJSON downloads."""

from __future__ import annotations

import csv
import io
import json

import pytest
from tables import paris_lille_table

from dashboard.sites.table import Col
from dashboard.ui.exports import (
    FORMULA_PREFIXES,
    site_table,
    to_csv_bytes,
    to_geojson,
    to_geojson_bytes,
)

make_table = paris_lille_table


def read_csv(data: bytes) -> list[dict[str, str]]:
    """Exported CSV bytes as rows (newline="" keeps a quoted carriage return inside its cell)."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_site_table_columns_and_distance() -> None:
    table = make_table()
    shown = site_table(table)
    assert list(shown.columns) == ["facility", "city", "state", "country", "status", "precision"]
    assert shown["precision"].iloc[-1] == ""  # NaN/None show as blank, not "nan"
    table[Col.DISTANCE_KM] = [1.0, 1.0, 1.0, 200.0, float("nan")]
    shown = site_table(table, "km")
    assert shown.columns[0] == "distance (km)"
    assert shown["distance (km)"].iloc[3] == 200.0


def test_csv_export_round_trips_and_defuses_formulas() -> None:
    table = make_table()
    rows = read_csv(to_csv_bytes(table))
    assert len(rows) == 5
    assert rows[0]["facility"] == "Hôpital A"
    assert float(rows[0]["latitude"]) == 48.8566  # true coordinates, not the spread ones
    # a spreadsheet would run this as a formula
    assert rows[3]["facility"].startswith("'=")


# Every entry of FORMULA_PREFIXES (checked below), one spreadsheet-formula start each.
PREFIX_CASES = [
    "=",
    "+",
    "-",
    "@",
    "\t",
    # a cell holding a bare \r must be quoted, or a CSV reader splits the row there (the
    # export ends lines with CRLF, so pandas quotes any cell containing \r or \n)
    "\r",
]


def test_prefix_cases_cover_every_formula_prefix() -> None:
    cases = [c.values[0] if hasattr(c, "values") else c for c in PREFIX_CASES]
    assert sorted(cases) == sorted(FORMULA_PREFIXES)


@pytest.mark.parametrize("prefix", PREFIX_CASES)
def test_csv_export_defuses_every_formula_prefix(prefix: str) -> None:
    table = make_table()
    table.loc[0, "facility"] = prefix + "1+1"
    rows = read_csv(to_csv_bytes(table))
    assert rows[0]["facility"] == "'" + prefix + "1+1"
    assert rows[1]["facility"] == "Hôpital B"  # ordinary text is left alone


def test_geojson_export_is_valid_points_in_lon_lat_order() -> None:
    table = make_table()
    table[Col.DISTANCE_KM] = [1.0, 1.0, 1.0, 200.0, float("nan")]
    data = json.loads(to_geojson_bytes(table, "km"))
    assert data == to_geojson(table, "km")  # the bytes are the dict, nothing lost
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 4  # the unlocated site has no point to give
    first = data["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [2.3522, 48.8566]}
    assert first["properties"]["facility"] == "Hôpital A"
    assert first["properties"]["distance (km)"] == 1.0
    json.dumps(data, allow_nan=False)
