"""Paths every test shares: the repository, its data, the app, and the test fixtures."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SEED = DATA / "NCT04270409.txt"
SEED_TABLE = DATA / "NCT04270409.sites.csv"
SECOND = DATA / "NCT07062965.json"
SECOND_TABLE = DATA / "NCT07062965.sites.csv"
OVERRIDES = DATA / "overrides.csv"
OUTLINES = DATA / "countries.geojson"
APP = ROOT / "dashboard" / "app.py"
TESTS = ROOT / "tests"
RECORDS = TESTS / "records"
CORPUS = TESTS / "corpus"
FIXTURES = TESTS / "fixtures"
CTGOV_FIXTURES = FIXTURES / "ctgov"
HOSTILE = FIXTURES / "hostile" / "NCT99999999.txt"
GEOPOINT_CASES = FIXTURES / "geopoints" / "cases.csv"
PLACES = TESTS / "places"
ARTIFACTS = TESTS / "artifacts"
