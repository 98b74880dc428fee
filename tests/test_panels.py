"""Tests for dashboard.panels: what the trial and site panels say, as plain text."""

from __future__ import annotations

import re
from datetime import date

import pytest

from dashboard.model import Contact, Design, Eligibility, Site, Sponsor, Trial
from dashboard.panels import (
    NOT_GIVEN,
    design_rows,
    eligibility_rows,
    escape_markdown,
    find_site,
    humanize,
    site_details,
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
            Site("Hôpital A", "Paris", "France", "FR", site_number="2500001"),
            Site(
                "Hôpital B",
                "Paris",
                "France",
                "FR",
                site_number="2500002",
                zip="75010",
                contacts=(Contact("Dr X", "CONTACT", "+33 1", "x@example.org"),),
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


def test_find_site_by_number_then_facility() -> None:
    trial = make_trial()
    row = {"facility": "Hôpital B", "city": "Paris", "country": "France", "site_number": "2500002"}
    assert find_site(trial, row) is trial.sites[1]
    # no number in the table: the facility name decides
    row = {"facility": "Hôpital A", "city": "Paris", "country": "France", "site_number": ""}
    assert find_site(trial, row) is trial.sites[0]
    assert find_site(trial, {"facility": "?", "city": "Lyon", "country": "France"}) is None


def test_site_details_with_contacts_distance_and_missing_point() -> None:
    trial = make_trial()
    row = {
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
    details = site_details(row, find_site(trial, row), "mi")
    rows = dict(details.rows)
    assert details.facility == "Hôpital B"
    assert rows["Address"] == "Paris, 75010, France"
    assert rows["Status"] == NOT_GIVEN
    assert rows["Coordinates"] == "none"  # NaN is not shown as "nan, nan"
    assert rows["Distance"] == "10.0 mi"
    assert details.contacts[0].email == "x@example.org"
