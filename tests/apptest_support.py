"""Helpers for the page's AppTest tests: open the page with a link, read what it shows."""

from __future__ import annotations

import re

import pandas as pd
from paths import APP
from streamlit.testing.v1 import AppTest

# The first run builds or loads the place index and the site table: be generous.
TIMEOUT_S = 90


def open_page(**params: str | list[str]) -> AppTest:
    """The page opened with a link carrying `params`, after its first run (no exception)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def shown_sites(at: AppTest) -> pd.DataFrame:
    """The site list the page shows (the one table with a facility column)."""
    (table,) = [d.value for d in at.dataframe if "facility" in d.value.columns]
    return table


def plain(markdown: str) -> str:
    """Markdown-escaped text (as the page writes untrusted text) back to plain text."""
    return re.sub(r"\\(.)", r"\1", markdown)
