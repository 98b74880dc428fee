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
    # the patient's list: no geocoding terms (precision, geocoder), and every point is a city
    # centre here, so no "location" note column either
    assert list(shown.columns) == ["facility", "city", "state", "country", "status"]
    assert shown["status"].iloc[-1] == ""  # NaN/None show as blank, not "nan"
    table[Col.DISTANCE_KM] = [1.0, 1.0, 1.0, 200.0, float("nan")]
    shown = site_table(table, "km")
    assert shown.columns[0] == "distance (km)"
    assert shown["distance (km)"].iloc[3] == 200.0


def test_site_table_speaks_plain_words() -> None:
    table = make_table(statuses=True)
    table.loc[1, Col.STATUS] = "NOT_YET_RECRUITING"
    table.loc[2, Col.STATUS] = "ACTIVE_NOT_RECRUITING"
    table.loc[0, Col.STATE] = "Barcelona [barcelona]"
    table.loc[3, Col.PRECISION] = "region"
    shown = site_table(table)
    assert shown["status"].tolist() == [
        "Recruiting",
        "Not yet recruiting",
        "Active, not recruiting",
        "Recruiting",
        "",
    ]
    assert shown["state"].iloc[0] == "Barcelona"  # the registry's bracketed key is dropped
    # a note only where the point is coarser than the city; "precision" is never shown
    assert shown["location"].tolist() == ["", "", "", "approximate: region centre", ""]
    assert "precision" not in shown.columns
    # a city-level point flagged for review gets a note too (it may be more than 25 km off)
    table[Col.NEEDS_REVIEW] = [False, True, False, True, False]
    assert site_table(table)["location"].tolist() == [
        "",
        "location to be checked",
        "",
        "approximate: region centre, to be checked",
        "",
    ]


def test_csv_export_keeps_needs_review() -> None:
    table = make_table()
    table[Col.NEEDS_REVIEW] = [False, True, False, False, False]
    rows = read_csv(to_csv_bytes(table))
    assert [r["needs_review"] for r in rows] == ["false", "true", "false", "false", "false"]
    # the geocoding columns stay in a download (for staff), after the point
    assert list(rows[0])[-4:] == ["precision", "geocoder", "matched_name", "needs_review"]
    geo = to_geojson(table)
    assert geo["features"][1]["properties"]["needs_review"] is True


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
