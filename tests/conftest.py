"""Shared fixtures: paths to the repository's data and the parsed seed record."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.model import Trial
from dashboard.record import load_trial

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_RECORD = REPO_ROOT / "data" / "NCT04270409.txt"
RECORDS_DIR = Path(__file__).resolve().parent / "records"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root directory."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def seed_path() -> Path:
    """The seed record in the text layout (105 sites, 24 countries)."""
    return SEED_RECORD


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed record's text."""
    return SEED_RECORD.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def seed_trial() -> Trial:
    """The seed record, parsed once per test run."""
    return load_trial(SEED_RECORD)


@pytest.fixture(scope="session")
def records_dir() -> Path:
    """Real trial records in the text layout, with provenance in its README."""
    return RECORDS_DIR
