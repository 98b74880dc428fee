"""The cached site table: column order, round trip, validation, atomic writes."""

from __future__ import annotations

import math
import os

import pandas as pd
import pytest

import dashboard.io
from dashboard.errors import TableError
from dashboard.sites import table as store
from dashboard.sites.table import (
    COLUMNS,
    SiteRow,
    read_table,
    rows_to_frame,
    set_aside,
    write_table,
)


def _table(n: int = 2) -> pd.DataFrame:
    return rows_to_frame(
        [
            SiteRow(
                nct_id="NCT00000001",
                site_id=f"NCT00000001-{i + 1:03d}",
                site_number=str(100 + i),
                facility=f'Hôpital, "Saint" {i}',  # comma, quotes and accent survive CSV
                city="Łódź",
                state="Valenciana, Comunidad",
                country="Poland",
                country_code="PL",
                status="RECRUITING",
                latitude=51.7706 + i,
                longitude=19.4739,
                precision="city",
                geocoder="gazetteer",
                matched_name="Łódź",
                query="Łódź, Poland",
                needs_review=bool(i),
                registry_latitude=math.nan,
                registry_longitude=math.nan,
                note="",
            )
            for i in range(n)
        ]
    )


def test_round_trip_keeps_columns_values_and_types(tmp_path):
    path = tmp_path / "t.sites.csv"
    write_table(_table(), path)
    back = read_table(path)
    assert list(back.columns) == list(COLUMNS)
    assert back["facility"][0] == 'Hôpital, "Saint" 0'
    assert back["needs_review"].tolist() == [False, True]
    assert back["latitude"].dtype == "float64" and back["registry_latitude"].isna().all()
    assert back["site_number"][0] == "100"  # ids stay text (no 100.0)


def test_header_is_in_the_documented_order(tmp_path):
    path = tmp_path / "t.csv"
    write_table(_table(), path)
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("", "empty file"),
        ("a,b,c\n1,2,3\n", "foreign CSV without our columns"),
        (
            ",".join(COLUMNS) + "\nx,y,,,,,,,,north,2,city,gazetteer,,,false,,,\n",
            "latitude not a number",
        ),
        (
            ",".join(COLUMNS) + "\nx,y,,,,,,,,95,2,city,gazetteer,,,false,,,\n",
            "latitude out of range",
        ),
        (",".join(COLUMNS) + "\nx,y,,,,,,,,5,2,street,gazetteer,,,false,,,\n", "unknown precision"),
        (
            ",".join(COLUMNS) + "\nx,y,,,,,,,,5,2,city,gazetteer,,,maybe,,,\n",
            "needs_review not a bool",
        ),
        (
            ",".join(COLUMNS) + "\nx,y,,,,,,,,5,2,city,gazetteer,,,false,,,\n"
            "x,y,,,,,,,,5,2,city,gazetteer,,,false,,,\n",
            "duplicate site_id",
        ),
        ("\x00\x01\x02binary\xff", "binary junk"),
    ],
)
def test_corrupt_or_foreign_tables_raise_table_error(tmp_path, content, why):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    )
    with pytest.raises(TableError):
        read_table(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "nope.csv")


def test_crash_during_replace_leaves_old_file_byte_for_byte(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    write_table(_table(1), path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(dashboard.io.os, "replace", boom)
    with pytest.raises(OSError):
        write_table(_table(3), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temp file left behind


def test_crash_while_writing_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    write_table(_table(1), path)
    before = path.read_bytes()
    monkeypatch.setattr(store, "to_csv_text", lambda df: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_table(_table(3), path)
    assert path.read_bytes() == before


def test_set_aside_renames_with_timestamp(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("junk")
    aside = set_aside(path)
    assert not path.exists() and aside.read_text() == "junk"
    assert aside.name.startswith("t.csv.corrupt-")
    path.write_text("junk2")
    assert set_aside(path) != aside  # a second one in the same second gets its own name
    assert os.path.exists(aside)


def test_written_table_is_readable_by_others_and_keeps_an_existing_mode(tmp_path):
    path = tmp_path / "t.csv"
    write_table(_table(1), path)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    path.chmod(0o664)
    write_table(_table(2), path)
    assert path.stat().st_mode & 0o777 == 0o664
