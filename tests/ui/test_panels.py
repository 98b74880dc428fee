"""Tests for dashboard.ui.panels: what the trial and site panels say, as plain text."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pandas as pd
import pytest
from paths import SECOND, SECOND_TABLE

from dashboard.ingest import load_trial
from dashboard.model import Contact, Design, Eligibility, Site, Sponsor, Trial, make_site_id
from dashboard.sites.table import Col, read_table
from dashboard.ui.panels import (
    INFO,
    NOT_GIVEN,
    WARNING,
    answer_text,
    card_markdown,
    design_rows,
    directions_url,
    eligibility_rows,
    escape_markdown,
    find_site,
    google_maps_url,
    humanize,
    location_note,
    mailto_url,
    markdown_link,
    nearest_order,
    nearest_site_banner,
    osm_map_url,
    overview_markdown,
    patient_distance,
    plain_status,
    short_title,
    site_card,
    site_details,
    sites_per_country,
    sites_per_country_spec,
    strip_region_key,
    study_url,
    summary_rows,
    tel_url,
    trial_link,
    trial_status_banner,
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


def test_the_overview_is_one_block_of_facts_conditions_and_the_summary_heading() -> None:
    trial = dataclasses.replace(
        make_trial(), conditions=("Myeloma *smouldering*", "[x](javascript:alert(1))")
    )
    text = overview_markdown(trial)
    assert text.startswith("**NCT ID:** NCT")
    assert "**Status:** Recruiting  \n**Phase:** Phase 2 / Phase 3" in text
    # record text is shown as written: no emphasis, no link
    assert "- Myeloma \\*smouldering\\*" in text
    assert "](javascript" not in text
    assert text.endswith("**Brief summary**") == bool(trial.brief_summary)
    bare = dataclasses.replace(trial, conditions=(), brief_summary="")
    assert overview_markdown(bare).endswith("**Conditions**\n\nNone given.")


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
    assert rows["Distance"] == "10 mi"
    assert details.contacts[0].email == "x@example.org"
    # how the point was found is for staff, apart from what a patient reads
    placement = dict(details.placement)
    assert placement["Coordinates"] == "none"  # NaN is not shown as "nan, nan"
    assert "Coordinates" not in rows and "Located as" not in rows


def test_site_details_keep_geocoding_terms_apart_and_say_city_centre() -> None:
    row = {
        "site_id": "NCT04270409-001",
        "facility": "Hôpital A",
        "city": "Barcelona",
        "state": "Barcelona [barcelona]",
        "country": "Spain",
        "status": "NOT_YET_RECRUITING",
        "latitude": 41.38879,
        "longitude": 2.15899,
        "precision": "city",
        "geocoder": "gazetteer",
        "matched_name": "Barcelona",
        "needs_review": True,
        "registry_latitude": 43.1,
        "registry_longitude": 12.4,
        "distance_km": 3.2,
    }
    details = site_details(row, None, "km")
    rows = dict(details.rows)
    assert rows["Address"] == "Barcelona, Barcelona, Spain"  # no "[barcelona]"
    assert rows["Status"] == "Not yet recruiting"
    assert rows["Distance"] == "3 km (to the city centre)"
    patient = " ".join(f"{k} {v}" for k, v in details.rows).lower()
    for jargon in ("gazetteer", "precision", "geocoder", "matched", "registry"):
        assert jargon not in patient
    placement = dict(details.placement)
    assert placement["Located as"] == "city (Barcelona) via gazetteer"
    assert placement["Coordinates"] == "41.3888, 2.1590"
    assert placement["Registry point (not used)"] == "43.1000, 12.4000"
    assert "Review" in placement


def test_sites_per_country_counts_most_first() -> None:
    table = pd.DataFrame({Col.COUNTRY: ["France", "Italy", "France", "France", "France"]})
    counts = sites_per_country(table)
    assert counts.to_dict(orient="records") == [
        {"country": "France", "sites": 4},
        {"country": "Italy", "sites": 1},
    ]
    assert sites_per_country(table.iloc[0:0]).empty


@pytest.mark.parametrize(
    "n_countries",
    [
        24,  # the seed: every one of its 24 countries must be named
        1,
        0,  # an empty view still gets a chart of one bar's height, not zero
    ],
)
def test_sites_per_country_chart_names_every_country_and_counts_whole_sites(
    n_countries: int,
) -> None:
    spec = sites_per_country_spec(n_countries)
    bars, values, room = spec["layer"]
    assert bars["mark"]["type"] == "bar"
    y, x = spec["encoding"]["y"], spec["encoding"]["x"]
    assert y["field"] == "country"
    # the table's order (most sites first, ties alphabetical), not Vega's
    assert y["sort"] is None
    # no label skipped for lack of room, and room enough for a 13 px label per bar
    assert y["axis"]["labelOverlap"] is False
    assert spec["height"] >= max(n_countries, 1) * 20
    # whole sites on the axis: ticks 1 apart at least, no "0.5"
    assert x["axis"]["tickMinStep"] == 1 and x["axis"]["format"] == "d"
    # each bar's count written after it, and the axis stretched so the longest one fits
    assert values["mark"]["type"] == "text" and values["encoding"]["text"]["field"] == "sites"
    assert values["mark"]["align"] == "left" and values["mark"]["dx"] > 0
    assert room["mark"]["opacity"] == 0
    assert room["encoding"]["x"]["field"] == "room"
    assert "datum.sites *" in room["transform"][0]["calculate"]


# ---------------------------------------------------------------------------------------------
# The patient's view: plain words, links built safely from untrusted text, the nearest cards

# Markdown that would be live if it reached st.markdown unescaped: a link or image whose
# target is not one we built, raw HTML, or a Streamlit directive.
FOREIGN_LINK = re.compile(r"(?<!\\)\]\((?!https://|tel:|mailto:)")
RAW_HTML = re.compile(r"(?<!\\)<[A-Za-z/!]")
CODES = re.compile(r"\b[A-Z]+(?:_[A-Z]+)+\b|\bRECRUITING\b")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("RECRUITING", "Recruiting"),
        ("NOT_YET_RECRUITING", "Not yet recruiting"),
        ("ACTIVE_NOT_RECRUITING", "Active, not recruiting"),
        ("COMPLETED", "Completed"),
        ("ENROLLING_BY_INVITATION", "Enrolling by invitation"),
        ("SUSPENDED", "Suspended"),
        ("TERMINATED", "Terminated"),
        ("WITHDRAWN", "Withdrawn"),
        ("AVAILABLE", "Available"),
        ("NO_LONGER_AVAILABLE", "No longer available"),
        ("TEMPORARILY_NOT_AVAILABLE", "Temporarily not available"),
        ("APPROVED_FOR_MARKETING", "Approved for marketing"),
        ("WITHHELD", "Withheld"),
        # already plain words (the website's wording) read the same
        ("Active, not recruiting", "Active, not recruiting"),
        ("recruiting", "Recruiting"),
        # a code we do not know is still made readable
        ("SOME_NEW_STATUS", "Some new status"),
        ("", ""),
    ],
)
def test_plain_status(code: str, words: str) -> None:
    assert plain_status(code) == words


@pytest.mark.parametrize(
    ("region", "shown"),
    [
        ("Barcelona [barcelona]", "Barcelona"),
        ("Catalunya [cataluña]", "Catalunya"),
        ("Victoria", "Victoria"),
        ("[only a key]", ""),
        ("A [b] c", "A [b] c"),  # only a trailing key is the registry's
    ],
)
def test_strip_region_key(region: str, shown: str) -> None:
    assert strip_region_key(region) == shown


def test_short_title_cuts_at_a_word_within_the_limit() -> None:
    title = (
        "Isatuximab in Combination With Lenalidomide and Dexamethasone in High-risk "
        "Smoldering Multiple Myeloma"
    )
    short = short_title(title)
    assert short == "Isatuximab in Combination With Lenalidomide and…"
    assert len(short) <= 60
    assert short_title("ICARIA-SMM") == "ICARIA-SMM"  # short titles are left alone
    assert len(short_title("x" * 500)) == 60  # one long word is cut anyway


@pytest.mark.parametrize(
    ("phone", "url"),
    [
        ("+33 4 72 11 73 11", "tel:+33472117311"),
        ("1-800-718-1021", "tel:18007181021"),
        ("(617) 555-0100", "tel:6175550100"),
        ("04.72.11.73.11", "tel:0472117311"),
        ("401-274-1122 ext. 12", "tel:4012741122;ext=12"),
        ("555 0100 x 7", "tel:5550100;ext=7"),
        # the registry's country code put in the extension field: dial the number as written
        ("01.49.95.81.69 ext. +33", "tel:0149958169"),
        # not plainly a number: shown as text, never linked
        ("javascript:alert(1)", None),
        ("tel:+1555", None),
        ("+1 555 0100\n[call](javascript:alert(1))", None),
        ("+1 555 0100](javascript:alert(1))", None),
        ("555 0100\r\n", "tel:5550100"),  # surrounding blanks are only trimmed
        ("call the desk", None),
        ("+33 1", None),  # too short to be a number
        ("1" * 16, None),  # longer than E.164 allows
        ("٣٣٣ ٣٣٣٣", None),  # other scripts' digits are not dialled
        ("", None),
    ],
)
def test_tel_url_takes_only_a_plain_number(phone: str, url: str | None) -> None:
    assert tel_url(phone) == url


@pytest.mark.parametrize(
    ("email", "url"),
    [
        ("a.b@example.org", "mailto:a.b@example.org"),
        (
            "ClinicalTrials.gov_Inquiries@pfizer.com",
            "mailto:ClinicalTrials.gov_Inquiries@pfizer.com",
        ),
        ("o'brien+trial@example.co.uk", "mailto:o%27brien%2Btrial@example.co.uk"),
        ("javascript:alert(1)", None),
        ("javascript:alert(1)//@example.com", None),
        ("x@example.org)](javascript:alert(1))", None),
        ("x@example.org\nBcc: everyone@example.org", None),
        ("x@example.org?subject=hi", None),
        ("<x@example.org>", None),
        ("Dr X <x@example.org>", None),
        ("a@b", None),
        ("two@example.org, three@example.org", None),
        ("", None),
    ],
)
def test_mailto_url_takes_only_a_plain_address(email: str, url: str | None) -> None:
    assert mailto_url(email) == url


def test_directions_map_and_study_links() -> None:
    assert directions_url((45.76, 4.84), (45.17869, 5.71479)) == (
        "https://www.openstreetmap.org/directions?engine=fossgis_osrm_car"
        "&route=45.76000%2C4.84000%3B45.17869%2C5.71479"
    )
    assert osm_map_url((45.17869, 5.71479)) == (
        "https://www.openstreetmap.org/?mlat=45.17869&mlon=5.71479#map=12/45.17869/5.71479"
    )
    # no link from a point that is not one
    assert directions_url((float("nan"), 4.84), (45.0, 5.0)) is None
    assert directions_url((45.0, 4.84), (91.0, 5.0)) is None
    assert osm_map_url((45.0, float("inf"))) is None
    assert study_url("NCT04270409") == "https://clinicaltrials.gov/study/NCT04270409"
    assert study_url("NCT0427040](javascript:alert(1))") is None
    assert study_url("") is None


def test_google_maps_search_percent_encodes_the_record_text() -> None:
    url = google_maps_url("Hôpital (A) [x](javascript:alert(1))", "Lyon\nFrance", "")
    assert url is not None
    assert url.startswith("https://www.google.com/maps/search/?api=1&query=")
    query = url.split("query=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9%._~-]+", query), query  # nothing but encoded text
    assert google_maps_url("", "  ") is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://example.org",  # only https
        "https://example.org/a b",  # a space would end the link
        "https://example.org/)(javascript:alert(1))",
        "tel:+1\n[x](javascript:alert(1))",
        None,
    ],
)
def test_markdown_link_refuses_urls_it_did_not_build(url: str | None) -> None:
    assert markdown_link("click [here]", url) == escape_markdown("click [here]")


def test_markdown_link_escapes_its_label() -> None:
    link = markdown_link("[x](javascript:alert(1))", "tel:+15550100")
    assert link == "[\\[x\\]\\(javascript\\:alert\\(1\\)\\)](tel:+15550100)"


def test_patient_distance_is_whole_units() -> None:
    assert patient_distance(92.7, "km") == "93 km"
    assert patient_distance(1609.344, "mi") == "1,000 mi"
    assert patient_distance(0.0, "km") == "less than 1 km"


def card_row(**kw) -> dict:
    """A row of the site table for make_trial()'s second site, after a place search."""
    row = {
        "site_id": "NCT04270409-002",
        "facility": "Hôpital B",
        "city": "Paris",
        "state": "Île-de-France [idf]",
        "country": "France",
        "status": "RECRUITING",
        "latitude": 48.8566,
        "longitude": 2.3522,
        "precision": "city",
        "distance_km": 3.4,
    }
    row.update(kw)
    return row


def test_site_card_has_address_contacts_and_directions() -> None:
    trial = make_trial()
    card = site_card(card_row(), trial, origin=(48.9, 2.4), units="km")
    assert card.address == "Paris, Île-de-France, 75010, France"  # postcode from the record
    assert card.status == "Recruiting" and card.status_open is True
    assert card.distance == "3 km" and card.basis == "city centre"
    assert not card.study_contacts
    (contact,) = card.contacts
    assert contact.phone_url is None  # "+33 1" is too short to dial
    assert contact.email_url == "mailto:x@example.org"
    urls = [link.url for link in card.links]
    assert urls[0].startswith("https://www.openstreetmap.org/directions?")
    assert "route=48.90000%2C2.40000%3B48.85660%2C2.35220" in urls[0]
    assert urls[-1] == "https://clinicaltrials.gov/study/NCT04270409"
    text = card_markdown(card, 1)
    assert "3 km away, to the centre of Paris" in text
    assert "[x@example\\.org](mailto:x@example.org)" in text  # label escaped, URL as built
    assert answer_text(card) == "Nearest site: Hôpital B, Paris — 3 km (city centre) · Recruiting"


def test_site_card_falls_back_to_the_study_contact_and_a_map_link() -> None:
    central = (Contact("Call Center", "", "1-800-718-1021", "info@example.com"),)
    trial = make_trial(central_contacts=central)
    # site 1 lists no contact of its own; no place searched: a map link, no distance
    card = site_card(card_row(site_id="NCT04270409-001"), trial)
    assert card.study_contacts
    assert card.contacts[0].phone_url == "tel:18007181021"
    assert card.distance == ""
    assert card.links[0].url.startswith("https://www.openstreetmap.org/?mlat=48.85660")
    text = card_markdown(card)
    assert "Study contact: Call Center · phone [1\\-800\\-718\\-1021](tel:18007181021)" in text
    # no contact anywhere: says so, and points to the study page
    bare = site_card(card_row(site_id="NCT04270409-001"), make_trial())
    assert "No contact is listed" in card_markdown(bare)


def test_answer_says_when_a_point_is_only_approximate() -> None:
    card = site_card(card_row(precision="region", status=""), make_trial(), (48.9, 2.4), "mi")
    assert answer_text(card) == "Nearest site: Hôpital B, Paris — 2 mi (approximate: region centre)"
    assert "about 2 mi away, to the region centre" in card_markdown(card)


@pytest.mark.parametrize("flag", [True, "true", "True"])
def test_a_point_flagged_for_review_says_so_everywhere_a_patient_reads_it(flag) -> None:
    # A city-level point a person should check (e.g. the registry and our reading disagree):
    # it may be more than 25 km off, so the answer line, the card and the site details say so.
    card = site_card(card_row(needs_review=flag), make_trial(), (48.9, 2.4), "km")
    assert card.to_check and not card.approximate
    assert answer_text(card) == (
        "Nearest site: Hôpital B, Paris — 3 km (city centre) (location to be checked) · Recruiting"
    )
    assert "3 km away, to the centre of Paris \\(its location is to be checked\\)" in (
        card_markdown(card)
    )
    details = dict(site_details(card_row(needs_review=flag), None, None).rows)
    assert details["Location"] == "location to be checked"
    # a coarse point already says it is approximate, once
    coarse = site_card(card_row(precision="region", needs_review=flag), make_trial(), None, None)
    assert location_note("region", flag) == "approximate: region centre, to be checked"
    assert "to be checked" not in card_markdown(coarse)


def test_site_details_say_the_centre_once_and_a_flag_when_there_is_one() -> None:
    coarse = dict(site_details(card_row(precision="region"), None, "km").rows)
    assert coarse["Distance"] == "3 km (to the region centre)"
    assert "Location" not in coarse  # the centre is said once
    flagged = dict(site_details(card_row(needs_review=True), None, "km").rows)
    assert flagged["Distance"] == "3 km (to the city centre)"
    assert flagged["Location"] == "location to be checked"
    unsearched = dict(site_details(card_row(precision="region"), None, None).rows)
    assert unsearched["Location"] == "approximate: region centre"


@pytest.mark.parametrize("flag", [False, "false", "", None, float("nan"), "garbled"])
def test_an_unflagged_point_gets_no_note(flag) -> None:
    assert location_note("city", flag) == ""
    assert not site_card(card_row(needs_review=flag), make_trial()).to_check


def test_a_hostile_site_card_has_no_live_markup() -> None:
    evil = "[click](javascript:alert(1)) <img src=x onerror=alert(1)> :red[x] **b**"
    central = (Contact(evil, evil, evil + " 555 0100", evil + "@example.org"),)
    trial = make_trial(nct_id="NCT0427040](javascript:alert(1))", central_contacts=central)
    row = card_row(site_id="NCT04270409-001", facility=evil, city=evil, state=evil, status=evil)
    text = card_markdown(site_card(row, trial, (48.9, 2.4), "km"), 1)
    assert not FOREIGN_LINK.search(text), text
    assert not RAW_HTML.search(text), text
    assert "javascript:" not in text.replace("javascript\\:", "")
    assert "tel:" not in text and "mailto:" not in text  # nothing dialable or mailable in it
    assert "clinicaltrials.gov" not in text  # a malformed NCT ID gets no study link


def test_nearest_order_lists_recruiting_sites_first_nearest_first_within() -> None:
    rows = pd.DataFrame(
        {
            "site_id": list("abcdef"),
            "status": [
                "COMPLETED",
                "RECRUITING",
                "",
                "NOT_YET_RECRUITING",
                "TERMINATED",
                "RECRUITING",
            ],
            "distance_km": [1.0, 5.0, 2.0, 3.0, 4.0, float("nan")],
        }
    )
    ids, statuses = rows["site_id"].tolist(), rows["status"].tolist()
    km = rows["distance_km"].tolist()

    def order(statuses: list[str], limit: int) -> list[str]:
        return [ids[i] for i in nearest_order(statuses, km, limit)]

    # recruiting now, then about to, each by distance; then no status, then closed; unplaced
    # left out (a patient can act on a recruiting site today)
    assert order(statuses, 10) == ["b", "d", "c", "a", "e"]
    # the nearest site (the closed "a") always has a card: last, when the list is cut
    assert order(statuses, 2) == ["b", "a"]
    assert order(statuses, 4) == ["b", "d", "c", "a"]
    # without any status the list is simply nearest first
    assert order([""] * len(ids), 10) == list("acdeb")


def test_recruitment_banners() -> None:
    banner = trial_status_banner("ACTIVE_NOT_RECRUITING")
    assert banner is not None and banner.kind == WARNING
    assert banner.text == (
        "This trial is not recruiting (status: Active, not recruiting). "
        "Sites are shown for reference."
    )
    assert trial_status_banner("COMPLETED").kind == WARNING
    assert trial_status_banner("NOT_YET_RECRUITING").kind == INFO
    assert trial_status_banner("RECRUITING") is None
    assert trial_status_banner("") is None
    trial = make_trial()
    closed = site_card(card_row(status="COMPLETED"), trial, (48.9, 2.4), "km")
    open_ = site_card(card_row(status="RECRUITING"), trial, (48.9, 2.4), "km")
    warning = nearest_site_banner(closed, [open_, closed])
    assert warning is not None and warning.kind == WARNING
    assert warning.text.startswith("The nearest site is not recruiting (status: Completed).")
    assert warning.text.endswith(" Sites recruiting now are listed first below.")
    assert "None of the sites" in nearest_site_banner(closed, [closed]).text
    soon = site_card(card_row(status="NOT_YET_RECRUITING"), trial, (48.9, 2.4), "km")
    assert nearest_site_banner(closed, [soon, closed]).text.endswith(
        " Sites about to recruit are listed first below."
    )
    # the nearest is about to recruit: said, and where the list goes on when one recruits now
    assert nearest_site_banner(soon, [soon]).text == (
        "The nearest site has not started recruiting yet."
    )
    assert nearest_site_banner(soon, [open_, soon]).text == (
        "The nearest site has not started recruiting yet. Sites recruiting now are listed "
        "first below."
    )
    assert nearest_site_banner(open_, [open_]) is None
    unknown = site_card(card_row(status=""), trial, (48.9, 2.4), "km")
    assert nearest_site_banner(unknown, [unknown]) is None
    # nothing a patient reads carries a registry code
    for text in (warning.text, banner.text, answer_text(closed), card_markdown(closed)):
        assert not CODES.search(text), text
