"""Tests for dashboard.ui.panels: what the trial and site panels say, as plain text."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest
from paths import SECOND, SECOND_TABLE

from dashboard.ingest import load_trial
from dashboard.model import Contact, Design, Eligibility, Site, Sponsor, Trial, make_site_id
from dashboard.sites.table import Col, read_table
from dashboard.ui.panels import (
    NOT_GIVEN,
    design_rows,
    eligibility_rows,
    escape_markdown,
    find_site,
    humanize,
    site_details,
    sites_per_country,
    sites_per_country_spec,
    summary_rows,
    trial_link,
)


def unescape(text: str) -> str:
    """Undo escape_markdown, to compare with the original."""
    return re.sub(r"\\(.)", r"\1", text).replace("  \n", "\n")


@pytest.mark.parametrize(
    "text",
    [
        "[click](javascript:alert(1))",  # a link must not become clickable
        "<img src=x onerror=alert(1)>",  # raw HTML must show as text
        "**bold** _it_ `code`",  # emphasis and code spans stay literal
        "# not a heading",
        "1. not a list",
        ":red[colour] :smile:",  # Streamlit's colour and emoji directives
        "$x^2$ maths",  # Streamlit renders $...$ as LaTeX
        "back\\slash",
        "Plain text, with commas",
        "Zürich – Ünïcödé",
    ],
)
def test_escape_markdown_round_trips_and_leaves_no_syntax(text: str) -> None:
    escaped = escape_markdown(text)
    assert unescape(escaped) == text
    # every Markdown-significant character is preceded by a backslash
    for ch in "[]()<>*_`#$:":
        assert re.search(r"(?<!\\)" + re.escape(ch), escaped) is None


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("ACTIVE_NOT_RECRUITING", "Active not recruiting"),
        ("RANDOMIZED", "Randomized"),
        ("", ""),
        # already readable text is left alone
        ("Sanofi", "Sanofi"),
    ],
)
def test_humanize(code: str, text: str) -> None:
    assert humanize(code) == text


def make_trial(**kw) -> Trial:
    base = {
        "nct_id": "NCT04270409",
        "title": "A trial",
        "status": "RECRUITING",
        "phases": ("PHASE2", "PHASE3"),
        "enrollment": 1337,
        "study_type": "INTERVENTIONAL",
        "start_date": date(2020, 6, 16),
        "sponsors": (Sponsor("Sanofi", "INDUSTRY", "lead"),),
        "design": Design("RANDOMIZED", "PARALLEL", "TREATMENT", "NONE"),
        "eligibility": Eligibility(minimum_age="18 Years", sex="ALL", healthy_volunteers=False),
        "sites": (
            Site(
                "Hôpital A",
                "Paris",
                "France",
                "FR",
                site_number="2500001",
                site_id="NCT04270409-001",
            ),
            Site(
                "Hôpital B",
                "Paris",
                "France",
                "FR",
                site_number="2500002",
                zip="75010",
                contacts=(Contact("Dr X", "CONTACT", "+33 1", "x@example.org"),),
                site_id="NCT04270409-002",
            ),
            # the same facility, city and country as the site before: only its key tells them apart
            Site(
                "Hôpital B",
                "Paris",
                "France",
                "FR",
                site_number="2500003",
                site_id="NCT04270409-003",
            ),
        ),
    }
    base.update(kw)
    return Trial(**base)


def test_summary_rows_read_like_the_registry() -> None:
    rows = dict(summary_rows(make_trial()))
    assert rows["Status"] == "Recruiting"
    assert rows["Phase"] == "Phase 2 / Phase 3"
    assert rows["Enrollment"] == "1,337 participants"
    assert rows["Start date"] == "2020-06-16"
    assert rows["Completion date"] == NOT_GIVEN
    assert rows["Sponsor"] == "Sanofi"
    assert dict(design_rows(make_trial()))["Allocation"] == "Randomized"
    eligibility = dict(eligibility_rows(make_trial()))
    assert eligibility["Healthy volunteers"] == "Not accepted"
    assert eligibility["Maximum age"] == NOT_GIVEN


@pytest.mark.parametrize(
    ("nct_id", "linked"),
    [
        ("NCT04270409", True),
        # an uploaded record could claim anything: only a real NCT ID becomes a link
        ("NCT0427040](javascript:x)", False),
        ("", False),
    ],
)
def test_trial_link_only_for_real_ids(nct_id: str, linked: bool) -> None:
    assert (trial_link(make_trial(nct_id=nct_id)) is not None) == linked


@pytest.mark.parametrize(
    ("site_id", "index"),
    [
        ("NCT04270409-001", 0),
        ("NCT04270409-002", 1),
        # same facility, city and country as -002: the exact key still picks its own site
        ("NCT04270409-003", 2),
        # an id the record does not have (e.g. a stale table row) finds nothing, not a neighbour
        ("NCT04270409-004", None),
        ("", None),
        # keys are exact: no case folding or trimming
        ("nct04270409-001", None),
        (" NCT04270409-001", None),
    ],
)
def test_find_site_by_exact_site_id(site_id: str, index: int | None) -> None:
    trial = make_trial()
    expected = None if index is None else trial.sites[index]
    assert find_site(trial, site_id) is expected


def test_every_row_of_the_second_trials_table_finds_its_own_site() -> None:
    # NCT07062965 has several sites sharing a facility, city and country, which a guessing
    # lookup once confused (6 rows got another row's Site); site_id is an exact key
    trial = load_trial(SECOND)
    table = read_table(SECOND_TABLE)
    assert len(trial.sites) == len(table) == 202
    found = []
    for row in table.itertuples(index=False):
        site = find_site(trial, row.site_id)
        assert site is not None, row.site_id
        assert site.site_id == row.site_id
        assert (site.facility, site.city, site.country) == (row.facility, row.city, row.country)
        assert (site.site_number or "") == row.site_number
        found.append(site)
    assert len(found) == 202
    # each row has a Site of its own, in record order
    assert len({id(s) for s in found}) == 202
    assert [s.site_id for s in found] == [make_site_id(trial.nct_id, i) for i in range(202)]


def test_site_details_with_contacts_distance_and_missing_point() -> None:
    trial = make_trial()
    row = {
        "site_id": "NCT04270409-002",
        "facility": "Hôpital B",
        "city": "Paris",
        "state": "",
        "country": "France",
        "site_number": "2500002",
        "status": "",
        "latitude": float("nan"),
        "longitude": float("nan"),
        "precision": "",
        "distance_km": 16.09344,
    }
    details = site_details(row, find_site(trial, row["site_id"]), "mi")
    rows = dict(details.rows)
    assert details.facility == "Hôpital B"
    assert rows["Address"] == "Paris, 75010, France"
    assert rows["Status"] == NOT_GIVEN
    assert rows["Coordinates"] == "none"  # NaN is not shown as "nan, nan"
    assert rows["Distance"] == "10.0 mi"
    assert details.contacts[0].email == "x@example.org"


def test_sites_per_country_counts_most_first() -> None:
    table = pd.DataFrame({Col.COUNTRY: ["France", "Italy", "France", "France", "France"]})
    counts = sites_per_country(table)
    assert counts.to_dict(orient="records") == [
        {"country": "France", "sites": 4},
        {"country": "Italy", "sites": 1},
    ]
    assert sites_per_country(table.iloc[0:0]).empty


def test_sites_per_country_chart_is_sorted_horizontal_bars() -> None:
    spec = sites_per_country_spec(24)
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["y"]["field"] == "country"
    assert spec["encoding"]["y"]["sort"] == "-x"  # most sites on top
    assert spec["height"] >= 24 * 10
