"""Helpers for the portfolio tests: a scratch data folder of real records, and tiny stores."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
from paths import DATA, PLACES, SECOND, SECOND_TABLE, SEED, SEED_TABLE

from dashboard.portfolio.store import SITE_COLUMNS, TRIAL_COLUMNS, connect, load_in_memory

EVAL_RECORDS = PLACES / "eval" / "records"
# Real API v2 records of the evaluation set (provenance in tests/places/eval/SOURCES.csv),
# chosen because they share facilities and places (breast cancer and myeloma studies).
SOME_EVAL_RECORDS = ("NCT00300781", "NCT00542451", "NCT00558545", "NCT01151215", "NCT01703754")


def data_folder(target: Path, *, eval_records: Iterable[str] = SOME_EVAL_RECORDS) -> Path:
    """A data folder like the shipped one: the seed and second record with their tables at
    the top, and some real registry records in `portfolio/`."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (SEED, SEED_TABLE, SECOND, SECOND_TABLE, DATA / "overrides.csv"):
        shutil.copy2(path, target / path.name)
    sub = target / "portfolio"
    sub.mkdir(exist_ok=True)
    for nct in eval_records:
        shutil.copy2(EVAL_RECORDS / f"{nct}.json", sub / f"{nct}.json")
    return target


def site(nct_id: str, n: int, lat: float | None, lon: float | None, **kw: Any) -> dict[str, Any]:
    """A site row of the store (the columns a test does not name get plain defaults)."""
    row = {
        "nct_id": nct_id,
        "site_id": f"{nct_id}-{n:03d}",
        "facility": kw.pop("facility", f"Hospital {n}"),
        "city": kw.pop("city", "Town"),
        "state": "",
        "country": kw.pop("country", "France"),
        "country_code": kw.pop("country_code", "FR"),
        "status": kw.pop("status", "RECRUITING"),
        "latitude": lat,
        "longitude": lon,
        "precision": "city",
        "geocoder": "gazetteer",
        "needs_review": False,
        "note": "",
        "facility_key": kw.pop("facility_key", f"FR|town|hospital {n}"),
    }
    row.update(kw)
    return row


def trial(nct_id: str, **kw: Any) -> dict[str, Any]:
    """A trial row of the store."""
    row = {
        "nct_id": nct_id,
        "title": kw.pop("title", f"Study {nct_id}"),
        "status": kw.pop("status", "RECRUITING"),
        "phases": kw.pop("phases", ["PHASE3"]),
        "conditions": kw.pop("conditions", "Multiple Myeloma"),
        "sponsor": kw.pop("sponsor", "Sponsor A"),
        "start_date": None,
        "completion_date": None,
        "enrollment": 100,
        "n_sites": 0,
        "n_countries": 1,
        "source": f"{nct_id}.json",
    }
    row.update(kw)
    return row


def tiny_store(path: Path, trials: list[dict], sites: list[dict]) -> duckdb.DuckDBPyConnection:
    """A store holding exactly these rows (no records, no geocoding), loaded for queries."""
    con = connect(path)
    for t in trials:
        con.execute(
            f"INSERT INTO trials VALUES ({', '.join('?' for _ in TRIAL_COLUMNS)})",
            [t[c] for c in TRIAL_COLUMNS],
        )
    for s in sites:
        con.execute(
            f"INSERT INTO sites VALUES ({', '.join('?' for _ in SITE_COLUMNS)})",
            [s[c] for c in SITE_COLUMNS],
        )
    con.close()
    return load_in_memory(path)
