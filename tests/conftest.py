"""Shared fixtures: the repository's paths (from `paths.py`) and the parsed seed record."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from paths import RECORDS, ROOT, SECOND, SECOND_TABLE, SEED

from dashboard.ingest import load_trial
from dashboard.model import Trial
from dashboard.sites.table import read_table


def pytest_sessionstart(session: pytest.Session) -> None:
    """Build (or load) the offline place index once, before any test or server needs it.

    On a fresh machine the build takes a minute or more (cities and 1.5 million postal rows),
    longer than a browser test waits for its first page; built here, every app server started
    by the tests loads it from the cache in a fraction of a second.
    """
    from dashboard.places.index import load_gazetteer

    load_gazetteer()


@pytest.fixture(scope="session")
def g():
    """The offline place index (built at session start; this is the shared loaded copy)."""
    from dashboard.places.index import load_gazetteer

    return load_gazetteer()


@pytest.fixture(scope="session")
def geocoder(g):
    """The offline geocoder over that index, as the table builder uses it."""
    from dashboard.geocoding.sources import GazetteerGeocoder

    return GazetteerGeocoder(g)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root directory."""
    return ROOT


@pytest.fixture(scope="session")
def seed_path() -> Path:
    """The seed record in the text layout (105 sites, 24 countries)."""
    return SEED


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed record's text."""
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def seed_trial() -> Trial:
    """The seed record, parsed once per test run."""
    return load_trial(SEED)


@pytest.fixture(scope="session")
def second_trial() -> Trial:
    """The shipped registry-JSON record (NCT07062965: 202 sites, site statuses)."""
    return load_trial(SECOND)


@pytest.fixture(scope="session")
def second_table() -> pd.DataFrame:
    """The shipped site table of NCT07062965 (read-only: copy before changing it)."""
    return read_table(SECOND_TABLE)


@pytest.fixture(scope="session")
def records_dir() -> Path:
    """Real trial records in the text layout, with provenance in its README."""
    return RECORDS
