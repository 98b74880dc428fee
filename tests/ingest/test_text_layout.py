"""Tests for dashboard.ingest.text_layout: the seed record field by field, quirks, bad input."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date

import pytest
from paths import CTGOV_FIXTURES

from dashboard.errors import RecordError
from dashboard.ingest import MAX_RECORD_BYTES, load_record, load_trial, read_record
from dashboard.ingest.common import unescape
from dashboard.ingest.ctgov_json import parse_json_text
from dashboard.ingest.text_layout import LAYOUT_TEXTS, parse_text, parse_text_record
from dashboard.model import Trial, trial_to_dict

# Keys other modules read from `trial_to_dict`.
REQUIRED_KEYS = (
    "nct_id", "title", "status", "phases", "enrollment", "study_type", "start_date",
    "completion_date", "last_updated", "conditions", "sponsor", "arms", "interventions",
    "eligibility", "identifiers", "sites", "countries", "design", "brief_summary", "sponsors",
    "investigators", "related_trials",
)  # fmt: skip

HEADER = """Some Study Title

NCT ID: NCT01234567

Last Updated: 2024-01-31

Recruitment Status

RECRUITING

Clinical Phase

PHASE1, PHASE2

Total Enrollment

40 participants
"""

# The sections every record ends with; without them a record reads as cut off.
FOOTER = """
Other Identifiers

ABC-123

Identifier Type: -

Identifier Source: org_study_id
"""


def _record(*site_lines: str, countries: str = "", closed: bool = True) -> str:
    """A small record in the text layout with the given Locations lines (blank-line separated).

    `closed=False` leaves out the Countries section that must follow Locations.
    """
    sites = "\n\n".join(site_lines)
    text = f"{HEADER}\nLocations\n\n{sites}\n"
    if closed:
        text += f"\nCountries\n\n{countries}\n{FOOTER}"
    return text


# --------------------------------------------------------------------------------------------
# The seed record, field by field


def test_seed_identity(seed_trial: Trial) -> None:
    """The title, NCT ID and dates come straight from the head of the record."""
    assert seed_trial.nct_id == "NCT04270409"
    assert seed_trial.title.startswith("Isatuximab in Combination With Lenalidomide")
    assert seed_trial.last_updated == date(2025, 12, 12)
    assert seed_trial.start_date == date(2020, 6, 16)
    assert seed_trial.completion_date == date(2033, 10, 21)


def test_seed_summary_values(seed_trial: Trial) -> None:
    """Status, phase, enrollment and classification are read as typed values."""
    assert seed_trial.status == "ACTIVE_NOT_RECRUITING"
    assert seed_trial.phases == ("PHASE3",)
    assert seed_trial.enrollment == 337
    assert seed_trial.study_type == "INTERVENTIONAL"
    assert seed_trial.conditions == ("Plasma Cell Myeloma",)


def test_seed_design(seed_trial: Trial) -> None:
    """The four design values sit under their own sub-headings."""
    design = seed_trial.design
    assert (design.allocation, design.intervention_model) == ("RANDOMIZED", "PARALLEL")
    assert (design.primary_purpose, design.masking) == ("TREATMENT", "NONE")


def test_seed_free_text_keeps_paragraphs_and_drops_layout_sentences(seed_trial: Trial) -> None:
    """The summary keeps its bullets; the heading's explanation sentence is not data."""
    summary = seed_trial.brief_summary
    assert summary.startswith("Primary Objectives:\n\n* Safety run-in Part:")
    assert "Clinical outcome assessments (COAs)" in summary
    assert "sponsor-provided synopsis" not in summary
    assert seed_trial.detailed_description.startswith("Study duration is expected")


def test_seed_arms_with_their_interventions(seed_trial: Trial) -> None:
    """Two arms, each with its group type and the interventions listed under it."""
    ild, ld = seed_trial.arms
    assert ild.label == "Isatuximab, lenalidomide, and dexamethasone (ILd)"
    assert ild.type == "EXPERIMENTAL"
    assert len(ild.interventions) == 7
    assert ild.interventions[0] == "Isatuximab SAR650984"
    assert ild.interventions[-1] == "Methylprednisolone or equivalent"
    # The escaped brackets of the description are unescaped.
    assert ild.description.startswith("Participants will receive isatuximab [intravenous (IV)")
    assert ld.label == "Lenalidomide and dexamethasone (Ld)"
    assert ld.type == "ACTIVE_COMPARATOR"
    assert ld.interventions == ("Lenalidomide", "Dexamethasone")
    assert ld.description.startswith("Lenalidomide [PO administration]")


def test_seed_interventions(seed_trial: Trial) -> None:
    """Seven interventions with type and description; other names kept at trial level."""
    names = [iv.name for iv in seed_trial.interventions]
    assert len(names) == 7
    assert names[:3] == ["Isatuximab SAR650984", "Lenalidomide", "Dexamethasone"]
    assert all(iv.type == "DRUG" for iv in seed_trial.interventions)
    assert seed_trial.interventions[1].description == (
        "Pharmaceutical form: Capsules Route of administration: Oral"
    )
    assert seed_trial.other_intervention_names == ("Sarclisa",)


def test_seed_eligibility(seed_trial: Trial) -> None:
    """7 inclusion items; exclusion bullets one item each, 'Of note:' leading its bullet."""
    elig = seed_trial.eligibility
    assert len(elig.inclusion) == 7
    assert (
        elig.inclusion[1]
        == "Eastern Cooperative Oncology Group (ECOG) Performance Status 0 or 1 or 2"
    )
    assert "10% to <60%" in elig.inclusion[0]  # "\<60%" unescaped
    assert "(1 × 10^9/L)" in elig.inclusion[3]  # "10\^9" unescaped
    assert len(elig.exclusion) == 25
    assert elig.exclusion[1].startswith("Increased calcium levels")
    assert elig.exclusion[13].startswith("Of note: Patient can be eligible")
    assert elig.exclusion[-1].startswith("Vaccination with a live vaccine")
    assert not any("not intended to contain all considerations" in x for x in elig.exclusion)
    assert (elig.minimum_age, elig.maximum_age, elig.sex) == ("18 Years", "", "ALL")
    assert elig.healthy_volunteers is True
    assert elig.text == ""


def test_seed_people_and_organisations(seed_trial: Trial) -> None:
    """Sponsor with kind and role, responsible party, the study director."""
    assert seed_trial.sponsor == "Sanofi"
    assert seed_trial.sponsors[0].kind == "INDUSTRY"
    assert seed_trial.sponsors[0].role == "lead"
    assert seed_trial.responsible_party == "SPONSOR"
    (person,) = seed_trial.investigators
    assert person.name == "Clinical Sciences & Operations"
    assert person.role == "STUDY_DIRECTOR"
    assert person.affiliation == "Sanofi"


def test_seed_identifiers_and_related_trials(seed_trial: Trial) -> None:
    """Four identifiers ('-' type means empty) and one related trial."""
    ids = seed_trial.identifiers
    assert [i.id for i in ids] == [
        "U1111-1222-7068",
        "2023-507419-37",
        "2019-003139-47",
        "EFC15992",
    ]
    assert ids[2].type == "EUDRACT_NUMBER"
    assert ids[3].type == ""
    assert ids[3].source == "org_study_id"
    (related,) = seed_trial.related_trials
    assert related.nct_id == "NCT05911321"
    assert related.title == "Isa-Pom-Dex in Elderly/Frail Subjects With RRMM"
    assert related.status == "ACTIVE_NOT_RECRUITING"
    assert related.phases == ("PHASE2",)


def test_seed_sites_and_countries(seed_trial: Trial) -> None:
    """105 sites in 24 countries, every site with a country code and a site number."""
    assert len(seed_trial.sites) == 105
    assert len(seed_trial.countries) == 24
    assert seed_trial.countries[0] == "United States"
    assert "Turkey (Türkiye)" in seed_trial.countries
    assert "New Zealand" in seed_trial.countries
    assert {s.country for s in seed_trial.sites} == set(seed_trial.countries)
    assert all(s.country_code for s in seed_trial.sites)
    assert all(s.site_number for s in seed_trial.sites)
    first = seed_trial.sites[0]
    assert (first.facility, first.site_number) == ("UCLA", "8400010")
    assert (first.city, first.state, first.country_code) == ("Los Angeles", "California", "US")


def test_seed_parses_without_warnings(seed_path) -> None:
    """Every seed site number agrees with its country: no diagnostics."""
    assert load_record(seed_path).diagnostics == ()


def test_trial_to_dict_is_json_ready(seed_trial: Trial) -> None:
    """The dict has the agreed keys, ISO dates and plain lists, and survives json.dumps."""
    data = trial_to_dict(seed_trial)
    missing = set(REQUIRED_KEYS) - set(data)
    assert not missing
    assert data["start_date"] == "2020-06-16"
    assert data["phases"] == ["PHASE3"]
    assert data["sponsor"] == "Sanofi"
    assert set(data["arms"][0]) >= {"label", "type", "description", "interventions"}
    assert set(data["eligibility"]) >= {
        "inclusion",
        "exclusion",
        "minimum_age",
        "sex",
        "healthy_volunteers",
    }
    assert set(data["sites"][0]) >= {
        "facility",
        "site_number",
        "city",
        "state",
        "country",
        "country_code",
        "status",
    }
    text = json.dumps(data, ensure_ascii=False)
    for sentence in LAYOUT_TEXTS:
        assert sentence not in text


# --------------------------------------------------------------------------------------------
# Site quirks

SITE_CASES = [
    # Plain site: facility with a spaced site number, state and country.
    pytest.param(
        ["UCLA Site Number : 8400010", "Los Angeles, California, United States", "Site Status"],
        {
            "facility": "UCLA",
            "site_number": "8400010",
            "city": "Los Angeles",
            "state": "California",
            "country": "United States",
            "country_code": "US",
        },
        id="spaced-site-number",
    ),
    # The registry sometimes leaves a stray '~' before the facility name.
    pytest.param(
        [
            "~University of Texas - MD Anderson Cancer Center Site Number : 8400002",
            "Houston, Texas, United States",
            "Site Status",
        ],
        {"facility": "University of Texas - MD Anderson Cancer Center", "site_number": "8400002"},
        id="stray-tilde",
    ),
    # No space after the colon, and no facility name at all besides the site number.
    pytest.param(
        [
            "Investigational Site Number :0360008",
            "Liverpool, New South Wales, Australia",
            "Site Status",
        ],
        {"facility": "Investigational Site", "site_number": "0360008", "country_code": "AU"},
        id="unspaced-site-number",
    ),
    # Empty state between two commas.
    pytest.param(
        ["Investigational Site Number :1560002", "Hangzhou, , China", "Site Status"],
        {"city": "Hangzhou", "state": "", "country": "China", "country_code": "CN"},
        id="empty-state",
    ),
    # The state itself contains a comma: the country is the last element, city the first.
    pytest.param(
        [
            "Investigational Site Number :7240002",
            "Valencia, Valenciana, Comunidad, Spain",
            "Site Status",
        ],
        {"city": "Valencia", "state": "Valenciana, Comunidad", "country_code": "ES"},
        id="comma-in-state",
    ),
    # ISO's subdivision name "London, City of" also has a comma.
    pytest.param(
        [
            "Investigational Site Number :8260003",
            "London, London, City of, United Kingdom",
            "Site Status",
        ],
        {"city": "London", "state": "London, City of", "country_code": "GB"},
        id="city-of-london",
    ),
    # The country itself contains a comma.
    pytest.param(
        ["Seoul National University Hospital", "Seoul, , Korea, Republic of", "Site Status"],
        {
            "city": "Seoul",
            "state": "",
            "country": "Korea, Republic of",
            "country_code": "KR",
            "site_number": None,
        },
        id="korea-republic-of",
    ),
    # The registry's own spelling with the new name in brackets.
    pytest.param(
        ["Investigational Site Number : 7920005", "Ankara, , Turkey (Türkiye)", "Site Status"],
        {"country": "Turkey (Türkiye)", "country_code": "TR", "site_number": "7920005"},
        id="turkey-turkiye",
    ),
    # Empty site status (the seed): status stays "".
    pytest.param(
        ["Investigational Site Number :4400001", "Vilnius, , Lithuania", "Site Status"],
        {"status": ""},
        id="empty-status",
    ),
    # Status on the line after 'Site Status' (other records fill it in).
    pytest.param(
        ["Mayo Clinic", "Rochester, Minnesota, United States", "Site Status", "RECRUITING"],
        {"status": "RECRUITING", "facility": "Mayo Clinic", "site_number": None},
        id="status-next-line",
    ),
    # Status on the same line.
    pytest.param(
        ["Mayo Clinic", "Rochester, Minnesota, United States", "Site Status COMPLETED"],
        {"status": "COMPLETED"},
        id="status-same-line",
    ),
    # A zip code between state and country goes to `zip`, not into the state.
    pytest.param(
        ["Mayo Clinic", "Rochester, Minnesota, 55905, United States", "Site Status"],
        {"state": "Minnesota", "zip": "55905", "country_code": "US"},
        id="zip-in-address",
    ),
    # "Praha 4" is a district that looks a little like a postcode: it stays the state.
    pytest.param(
        ["Fakultni Thomayerova nemocnice", "Prague, Praha 4, Czechia", "Site Status"],
        {"city": "Prague", "state": "Praha 4", "zip": "", "country_code": "CZ"},
        id="digit-in-state",
    ),
    # A UK postcode with letters; the state is empty.
    pytest.param(
        ["Saint Bartholomew's Hospital", "London, , EC1A 7BE, United Kingdom", "Site Status"],
        {"city": "London", "state": "", "zip": "EC1A 7BE", "country_code": "GB"},
        id="uk-postcode",
    ),
    # This sponsor's numbers start with the ISO numeric country code (036 = Australia):
    # a 250 (France) number on an Australian site warns, naming the facility's line.
    pytest.param(
        [
            "Investigational Site Number :0360001",
            "Wollongong, New South Wales, Australia",
            "Site Status",
            "Investigational Site Number :2500099",
            "Waratah, New South Wales, Australia",
            "Site Status",
        ],
        {
            "site_number": "2500099",
            "country_code": "AU",
            "warning": r"^<text>:27: site number 2500099 starts with 250 \(FR\) but the site is "
            r"in Australia \(AU\)$",
        },
        id="site-number-names-another-country",
    ),
    # A site without a facility line: only the address.
    pytest.param(
        ["Berlin, , Germany", "Site Status", "WITHDRAWN"],
        {"facility": "", "city": "Berlin", "country_code": "DE", "status": "WITHDRAWN"},
        id="no-facility",
    ),
]


@pytest.mark.parametrize(("lines", "expected"), SITE_CASES)
def test_site_quirks(lines: list[str], expected: dict[str, object]) -> None:
    """Each quirk of the layout's site blocks is read into the right field (of the last site);
    a `warning` entry is the diagnostic expected, and no row may warn otherwise."""
    expected = dict(expected)
    warning = expected.pop("warning", None)
    trial, diagnostics = parse_text_record(_record(*lines))
    site = trial.sites[-1]
    for field, value in expected.items():
        assert getattr(site, field) == value, field
    assert all(d.kind == "warning" for d in diagnostics), diagnostics
    messages = [d.message for d in diagnostics]
    if warning is None:
        assert messages == []
    else:
        (message,) = messages
        assert re.search(str(warning), message), message


def test_site_number_naming_another_country_warns() -> None:
    """A Sanofi-style number 250xxxx (France) on an Australian site is flagged, not fatal."""
    text = _record(
        "Investigational Site Number :0360001",
        "Wollongong, New South Wales, Australia",
        "Site Status",
        "Investigational Site Number :2500099",
        "Waratah, New South Wales, Australia",
        "Site Status",
        "Investigational Site Number :0360002",
        "Fitzroy, Victoria, Australia",
        "Site Status",
        countries="Australia",
    )
    trial, diagnostics = parse_text_record(text)
    (diagnostic,) = diagnostics
    assert diagnostic.kind == "warning"
    assert re.match(r"<text>:\d+: site number 2500099 .*FR.*Australia", diagnostic.message)
    assert len(trial.sites) == 3


def test_other_numbering_schemes_do_not_warn() -> None:
    """Numbers that merely start with a valid ISO code (100 = Bulgaria) are not a scheme."""
    text = _record(
        "Site A Site Number : 1001001",
        "Boston, Massachusetts, United States",
        "Site Status",
        "Site B Site Number : 1001002",
        "Denver, Colorado, United States",
        "Site Status",
    )
    trial, diagnostics = parse_text_record(text)
    assert diagnostics == []
    assert [s.site_number for s in trial.sites] == ["1001001", "1001002"]


COUNTRY_LIST_CASES = [
    # Multi-word names next to each other: greedy longest match.
    pytest.param(
        "United States New Zealand South Korea",
        ("United States", "New Zealand", "South Korea"),
        id="multi-word",
    ),
    # The bracketed name must not swallow the words before it.
    pytest.param(
        "Norway Turkey (Türkiye) United Kingdom",
        ("Norway", "Turkey (Türkiye)", "United Kingdom"),
        id="turkey-last",
    ),
    # One name per line is also fine.
    pytest.param("Spain\n\nKorea, Republic of", ("Spain", "Korea, Republic of"), id="one-per-line"),
]


@pytest.mark.parametrize(("listed", "expected"), COUNTRY_LIST_CASES)
def test_countries_list_is_split_into_names(listed: str, expected: tuple[str, ...]) -> None:
    """The Countries section is a space-separated run of names."""
    text = f"{HEADER}\nCountries\n\n{listed}\n{FOOTER}"
    assert parse_text(text).countries == expected


def test_record_without_locations_has_no_sites() -> None:
    """A study that lists no locations is valid, with zero sites and countries."""
    trial = parse_text(HEADER + FOOTER)
    assert trial.sites == ()
    assert trial.countries == ()
    assert trial.phases == ("PHASE1", "PHASE2")
    assert trial.enrollment == 40


@pytest.mark.parametrize(
    ("phase_text", "expected"),
    [
        ("PHASE1, PHASE2", ("PHASE1", "PHASE2")),  # comma-separated
        ("PHASE2 PHASE3", ("PHASE2", "PHASE3")),  # space-separated
        ("NA", ("NA",)),  # not applicable (device/behavioural studies) is kept as the registry says
        ("EARLY_PHASE1", ("EARLY_PHASE1",)),  # underscore is part of the name
    ],
)
def test_phases(phase_text: str, expected: tuple[str, ...]) -> None:
    """The phase line in its several spellings."""
    text = HEADER.replace("PHASE1, PHASE2", phase_text) + FOOTER
    assert parse_text(text).phases == expected


def test_unescape_markdown() -> None:
    """The layout's backslash escapes are undone: the CommonMark set, shared with the JSON layout
    (so `\\&` becomes `&` in the text layout too)."""
    assert unescape(r"\[IMWG\] \<60% 10\^9 a\_b") == "[IMWG] <60% 10^9 a_b"
    assert unescape(r"soft \& bite-sized") == "soft & bite-sized"
    assert unescape("Ostrava - Poruba") == "Ostrava - Poruba"
    criteria = r"* Fish \& chips"
    text = (
        f"{HEADER}\nEligibility Criteria\n\nInclusion Criteria\n\n{criteria}\n\n"
        f"Exclusion Criteria\n\n* None\n{FOOTER}"
    )
    assert parse_text(text).eligibility.inclusion == ("Fish & chips",)


# --------------------------------------------------------------------------------------------
# Bad input: a RecordError that says where


BAD_CASES = [
    # Nothing at all.
    pytest.param(b"", None, "empty", id="empty"),
    # Only whitespace is as empty as nothing.
    pytest.param(b"\n \n\t\n", None, "empty", id="blank"),
    # NUL bytes: a binary file, reported on the line where the first NUL sits.
    pytest.param(b"abc\ndef\x00\x01\x02", 2, "binary", id="binary"),
    # A saved web page instead of the record.
    pytest.param(b"<!DOCTYPE html>\n<html></html>\n", 1, "HTML", id="html"),
    # Some other text file.
    pytest.param(b"# README\n\nThis is a project.\n", 3, "NCT ID", id="not-a-record"),
    # The title is missing: the record starts with its NCT ID line.
    pytest.param(b"NCT ID: NCT01234567\n", 1, "title", id="no-title"),
    # A malformed NCT ID.
    pytest.param(b"Title\n\nNCT ID: 1234\n", 3, "NCT ID like", id="bad-nct-id"),
    # Enrollment that is not a number.
    pytest.param(
        HEADER.replace("40 participants", "about forty").encode(), 17, "enrollment", id="enrollment"
    ),
    # A date that is not YYYY-MM-DD.
    pytest.param(
        HEADER.replace("2024-01-31", "31/01/2024").encode(), 5, "YYYY-MM-DD", id="bad-date"
    ),
    # A facility with no address after it: the record was cut off mid-site.
    pytest.param(
        _record("UCLA Site Number : 8400010", closed=False).encode(),
        21,
        "address",
        id="cut-after-facility",
    ),
    # 'Site Status' missing between two sites: reported at the first site's address line.
    pytest.param(
        _record(
            "UCLA",
            "Los Angeles, California, United States",
            "Mayo Clinic",
            "Rochester, Minnesota, United States",
            "Site Status",
            countries="United States",
        ).encode(),
        23,
        "Site Status",
        id="missing-site-status",
    ),
    # Cut off before the closing sections (here right after the enrollment): truncated.
    pytest.param(HEADER.encode(), 18, "cut off", id="cut-before-the-end"),
    # Locations with complete sites but no Countries section: truncated.
    pytest.param(
        _record(
            "UCLA", "Los Angeles, California, United States", "Site Status", closed=False
        ).encode(),
        26,
        "Countries",
        id="no-countries",
    ),
    # A word in the Countries list that is no country.
    pytest.param(
        (HEADER + "\nCountries\n\nFrance Atlantis\n" + FOOTER).encode(),
        21,
        "Atlantis",
        id="bad-country-list",
    ),
]


@pytest.mark.parametrize(("data", "line", "fragment"), BAD_CASES)
def test_bad_records_raise_record_error(data: bytes, line: int | None, fragment: str) -> None:
    """Each kind of bad input names the file, the line and what was expected."""
    with pytest.raises(RecordError) as caught:
        read_record(data, "bad.txt")
    assert caught.value.path == "bad.txt"
    assert caught.value.line == line
    assert fragment in caught.value.message


def test_truncated_seed_mid_site_points_at_the_facility(seed_text: str) -> None:
    """Cutting the seed right after a facility line reports that line."""
    lines = seed_text.splitlines()
    cut = lines.index("Investigational Site Number :0360005")
    with pytest.raises(RecordError) as caught:
        parse_text("\n".join(lines[: cut + 1]), "seed")
    assert caught.value.line == cut + 1


# --------------------------------------------------------------------------------------------
# Bytes and files


def test_read_record_accepts_bom_and_cp1252(seed_text: str) -> None:
    """A BOM is dropped; a file in cp1252 (not valid UTF-8) is still read."""
    with_bom = read_record(b"\xef\xbb\xbf" + seed_text.encode("utf-8"), "bom.txt")
    assert with_bom.title.startswith("Isatuximab")
    cp1252 = _record("Hôpital Saint-Louis", "Paris, , France", "Site Status", countries="France")
    trial = read_record(cp1252.encode("cp1252"), "cp1252.txt")
    assert trial.sites[0].facility == "Hôpital Saint-Louis"


def test_read_record_routes_json_elsewhere() -> None:
    """JSON (even after leading blanks) goes to the registry parser, not the text layout."""
    data = (CTGOV_FIXTURES / "NCT06714279.json").read_bytes()
    trial = read_record(b"  " + data, "study.json")
    assert trial.nct_id == "NCT06714279"
    assert trial == parse_json_text(data.decode("utf-8"), "study.json")


def test_load_trial_refuses_huge_files(tmp_path) -> None:
    """A file over the size limit is refused without parsing it."""
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(MAX_RECORD_BYTES + 10)
    with pytest.raises(RecordError, match="at most"):
        load_trial(big)


def test_load_trial_missing_path_and_directory(tmp_path) -> None:
    """Missing files and directories raise the usual OSError subclasses."""
    with pytest.raises(FileNotFoundError):
        load_trial(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError):
        load_trial(tmp_path)


# --------------------------------------------------------------------------------------------
# Real records in the text layout (provenance in tests/records/README.md)

RECORD_CASES = [
    # Many sites in many countries, every site status filled in; the JSON kept few other fields.
    pytest.param(
        "NCT07062965",
        {"status": "RECRUITING", "phases": ("PHASE3",), "enrollment": 400, "sponsor": "Pfizer",
         "sites": 202, "countries": 27, "arms": 0, "start_date": None},
        id="NCT07062965-many-sites",
    ),
    # Observational, Germany and Austria, zips in the address, no phase, untyped cohorts.
    pytest.param(
        "NCT06323538",
        {"status": "RECRUITING", "phases": (), "enrollment": 6000, "study_type": "OBSERVATIONAL",
         "sponsor": "German Federal Institute for Risk Assessment", "sites": 8, "countries": 2,
         "arms": 4, "start_date": date(2024, 4, 9), "last_updated": date(2025, 2, 14)},
        id="NCT06323538-observational-de-at",
    ),
    # Phase 2 with three arms sharing interventions, nested criteria, one US site.
    pytest.param(
        "NCT06388018",
        {"status": "RECRUITING", "phases": ("PHASE2",), "enrollment": 325,
         "sponsor": "NRG Oncology", "sites": 1, "countries": 1, "arms": 3,
         "start_date": date(2025, 1, 16)},
        id="NCT06388018-phase2-nested-criteria",
    ),
    # An older record: phase NA, month-only dates, a Hong Kong site filed under China,
    # no study groups, numbered sub-criteria, male only with a maximum age.
    pytest.param(
        "NCT00517179",
        {"status": "COMPLETED", "phases": ("NA",), "enrollment": 40,
         "sponsor": "Hospital Authority, Hong Kong", "sites": 1, "countries": 1, "arms": 0,
         "start_date": date(2006, 4, 1), "completion_date": date(2007, 5, 1),
         "last_updated": date(2011, 6, 16), "responsible_party": ""},
        id="NCT00517179-older-hong-kong",
    ),
    # Phase 1 in Ireland with no Locations at all, month-only registry dates.
    pytest.param(
        "NCT06714279",
        {"status": "NOT_YET_RECRUITING", "phases": ("PHASE1",), "enrollment": 144,
         "sponsor": "Royal College of Surgeons, Ireland", "sites": 0, "countries": 0, "arms": 2,
         "start_date": date(2025, 1, 1), "responsible_party": "PRINCIPAL_INVESTIGATOR"},
        id="NCT06714279-no-locations",
    ),
]  # fmt: skip


def _load_record(records_dir, nct_id: str) -> Trial:
    """Parse one of the real records, failing on any diagnostic."""
    loaded = load_record(records_dir / f"{nct_id}.txt")
    assert loaded.diagnostics == ()
    return loaded.trial


@pytest.mark.parametrize(("nct_id", "expected"), RECORD_CASES)
def test_real_record_key_fields(records_dir, nct_id: str, expected: dict[str, object]) -> None:
    """Each real record parses cleanly with its summary values, site and arm counts."""
    trial = _load_record(records_dir, nct_id)
    assert trial.nct_id == nct_id
    for field, value in expected.items():
        actual = getattr(trial, field)
        if field in {"sites", "countries", "arms"}:
            actual = len(actual)
        assert actual == value, field
    assert all(site.country_code for site in trial.sites)
    assert {site.country for site in trial.sites} == set(trial.countries)


@pytest.mark.parametrize("nct_id", ["NCT07062965", "NCT06323538", "NCT06388018", "NCT00517179"])
def test_real_record_sites_match_the_registry_json(records_dir, nct_id: str) -> None:
    """Every location of the registry's JSON comes back, in order, with city, zip and status."""
    study = json.loads((CTGOV_FIXTURES / f"{nct_id}.json").read_text("utf-8"))
    study = study["studies"][0] if "studies" in study else study
    locations = study["protocolSection"]["contactsLocationsModule"]["locations"]
    trial = _load_record(records_dir, nct_id)
    got = [(s.facility, s.city, s.state, s.zip, s.country, s.status) for s in trial.sites]
    want = [
        (
            loc.get("facility", ""),
            loc.get("city", ""),
            loc.get("state", ""),
            loc.get("zip", ""),
            loc["country"],
            loc.get("status", ""),
        )
        for loc in locations
    ]
    assert got == want


def test_many_sites_record_statuses_and_countries(records_dir) -> None:
    """NCT07062965: statuses filled in, multi-word and bracketed country names resolved."""
    trial = _load_record(records_dir, "NCT07062965")
    statuses = {s.status for s in trial.sites}
    assert statuses == {"RECRUITING", "NOT_YET_RECRUITING"}
    codes = {s.country_code for s in trial.sites}
    assert {"US", "KR", "TW", "TR", "GB", "CZ", "BG"} <= codes
    assert trial.sites[0].facility == "Ironwood Cancer & Research Centers"
    assert [iv.name for iv in trial.interventions] == [
        "PF-07248144",
        "Fulvestrant",
        "Everolimus",
        "Exemestane",
    ]


def test_nested_criteria_fold_into_their_parent(records_dir) -> None:
    """NCT06388018: indented sub-bullets stay with the item that introduces them."""
    elig = _load_record(records_dir, "NCT06388018").eligibility
    assert len(elig.inclusion) == 14
    assert len(elig.exclusion) == 9
    sub_study_a = elig.inclusion[9]
    assert sub_study_a.startswith("SUB-STUDY A: Patients with endometrial carcinoma")
    assert "\n- Cohort A1:" in sub_study_a
    assert "\n- Stage III, any grade, pNx/N0-2, with or without LVI" in sub_study_a
    assert "Patients' age must be >= 18 years" in elig.inclusion  # "\>=" unescaped


def test_arms_share_interventions(records_dir) -> None:
    """NCT06388018: arms list shared interventions; descriptions do not leak into labels."""
    trial = _load_record(records_dir, "NCT06388018")
    assert [a.label for a in trial.arms] == ["Cohort A1", "Cohort A2", "Sub-study B"]
    assert [a.type for a in trial.arms] == [
        "ACTIVE_COMPARATOR",
        "EXPERIMENTAL",
        "ACTIVE_COMPARATOR",
    ]
    assert [len(a.interventions) for a in trial.arms] == [6, 8, 7]
    assert "External Beam Radiation Therapy" in trial.arms[1].interventions
    types = {iv.name: iv.type for iv in trial.interventions}
    assert types["External Beam Radiation Therapy"] == "RADIATION"
    assert types["Computed Tomography"] == "PROCEDURE"


def test_record_without_locations_keeps_its_multi_paragraph_arm(records_dir) -> None:
    """NCT06714279: no sites; the first arm's two paragraphs stay in its description."""
    trial = _load_record(records_dir, "NCT06714279")
    first, second = trial.arms
    assert first.label == "Study Group - Tap Block"
    assert first.description.count("\n\n") == 1
    assert first.interventions == ("Tap Block - Bupivacaine",)
    assert second.label == "Control Group - Intraperitoneal Local Anesthetic onto Liver"
    assert second.description.startswith("Administration of local anesthetic")
    assert trial.eligibility.healthy_volunteers is False
    assert trial.identifiers[0].id == "24.71"


def test_heading_word_inside_free_text_is_data(seed_text: str) -> None:
    """A summary line that happens to read 'Locations' does not open the Locations section."""
    text = seed_text.replace(
        "Study duration is expected",
        "Locations\n\nSites are in 24 countries.\n\nStudy duration is expected",
    )
    trial = parse_text(text)
    assert len(trial.sites) == 105
    assert trial.detailed_description.startswith("Locations\n\nSites are in 24 countries.")


@pytest.mark.parametrize(
    "newline",
    [
        "\r\n",  # saved on Windows
        "\r",  # classic Mac line ends
    ],
)
def test_other_line_endings_read_the_same(seed_text: str, seed_trial: Trial, newline: str) -> None:
    """Line endings do not change the parse."""
    data = seed_text.replace("\n", newline).encode("utf-8")
    assert read_record(data, "seed") == seed_trial


def test_numbered_sub_criteria_and_demographics(records_dir) -> None:
    """NCT00517179: indented numbered items fold into their parent; sex and age range read."""
    trial = _load_record(records_dir, "NCT00517179")
    elig = trial.eligibility
    assert len(elig.inclusion) == 4
    assert elig.inclusion[1].startswith("Clinically diagnosed to have lower urinary tract")
    assert elig.inclusion[1].count("\n- ") == 3
    assert "(IPSS) >=8" in elig.inclusion[1]
    assert len(elig.exclusion) == 6
    assert (elig.sex, elig.minimum_age, elig.maximum_age) == ("MALE", "50 Years", "80 Years")
    assert elig.healthy_volunteers is None  # the registry left it out
    (site,) = trial.sites
    assert (site.city, site.country, site.country_code) == ("Hong Kong", "China", "CN")
    assert [(i.id, i.type, i.source) for i in trial.identifiers] == [
        ("HARECCTR0500057", "", "secondary_id"),
        ("CRE-2006.017-T", "", "org_study_id"),
    ]


# The text layout has no place for these, so only the registry JSON carries them.
# central_contacts: the text layout has no study contacts (only registry JSON does).
JSON_ONLY_FIELDS = (
    "responsible_party",
    "interventions",
    "other_intervention_names",
    "central_contacts",
)


@pytest.mark.parametrize(
    "nct_id", ["NCT07062965", "NCT06323538", "NCT06388018", "NCT00517179", "NCT06714279"]
)
def test_text_and_json_of_a_study_parse_alike(records_dir, nct_id: str) -> None:
    """The text rendering and the registry JSON give the same trial, bar what the text lacks
    (site points and contacts, per-intervention other names, the responsible person's name)."""
    from_json = load_trial(CTGOV_FIXTURES / f"{nct_id}.json")
    from_text = _load_record(records_dir, nct_id)
    for field in dataclasses.fields(Trial):
        if field.name in JSON_ONLY_FIELDS:
            continue
        want = getattr(from_json, field.name)
        if field.name == "sites":
            want = tuple(dataclasses.replace(s, geo_point=None, contacts=()) for s in want)
        assert getattr(from_text, field.name) == want, field.name
    assert [iv.name for iv in from_text.interventions] == [
        iv.name for iv in from_json.interventions
    ]


@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_site_ids_follow_record_order_in_both_layouts(records_dir, suffix: str) -> None:
    """Every site gets "<NCT ID>-001", "-002"... at parse, in record order, in either layout."""
    folder = records_dir if suffix == ".txt" else CTGOV_FIXTURES
    trial = load_trial(folder / f"NCT07062965{suffix}")
    assert len(trial.sites) == 202
    assert [s.site_id for s in trial.sites] == [f"NCT07062965-{i:03d}" for i in range(1, 203)]
    assert trial.sites[0].facility == "Ironwood Cancer & Research Centers"


CRITERIA_CASES = [
    # Plain bullets: one item each.
    pytest.param("* Adults\n* Consent", ("Adults", "Consent"), id="flat"),
    # Indented sub-bullets stay with the item that introduces them.
    pytest.param(
        "* Labs:\n\n  * ANC > 1000\n  * Platelets > 100,000\n* Consent",
        ("Labs:\n- ANC > 1000\n- Platelets > 100,000", "Consent"),
        id="indented-sub-bullets",
    ),
    # The layout flattens nesting (as in the seed): unindented bullets are items of their own.
    pytest.param(
        "* Any of:\n\n* Anemia\n* Lesions", ("Any of:", "Anemia", "Lesions"), id="flattened"
    ),
    # A wrapped line right under a bullet continues it.
    pytest.param(
        "1. Female 18 years or older with\n   postmenopausal status\n2. ECOG 0-2",
        ("Female 18 years or older with postmenopausal status", "ECOG 0-2"),
        id="numbered-and-wrapped",
    ),
    # An "Of note:" paragraph after a blank line leads the next bullet, as in the seed.
    pytest.param(
        "* Hepatitis B\n\nOf note:\n\n* Anti-HBc positive is fine",
        ("Hepatitis B", "Of note: Anti-HBc positive is fine"),
        id="of-note",
    ),
    # Markdown escapes inside items are undone.
    pytest.param(r"* Age \>= 18", ("Age >= 18",), id="escapes"),
]


@pytest.mark.parametrize(("criteria", "expected"), CRITERIA_CASES)
def test_inclusion_criteria_items(criteria: str, expected: tuple[str, ...]) -> None:
    """How bullets, sub-bullets, wrapped lines and notes become inclusion items."""
    text = (
        f"{HEADER}\nEligibility Criteria\n\nInclusion Criteria\n\n{criteria}\n\n"
        f"Exclusion Criteria\n\n* None\n{FOOTER}"
    )
    eligibility = parse_text(text).eligibility
    assert eligibility.inclusion == expected
    assert eligibility.exclusion == ("None",)
    assert eligibility.text == ""


def test_criteria_without_lists_are_kept_whole() -> None:
    """Criteria that never say Inclusion/Exclusion stay as text instead of being guessed at."""
    text = f"{HEADER}\nEligibility Criteria\n\nAdults with asthma.\n\nNo smokers.\n{FOOTER}"
    eligibility = parse_text(text).eligibility
    assert (eligibility.inclusion, eligibility.exclusion) == ((), ())
    assert eligibility.text == "Adults with asthma.\n\nNo smokers."


@pytest.mark.parametrize(
    ("address", "country", "code"),
    [
        # An old registry name: the site keeps it; the geocoder looks in the successor states.
        ("Belgrade, , Former Serbia and Montenegro", "Former Serbia and Montenegro", ""),
        # A last element that is no country at all: kept as written, no code.
        ("Los Angeles, California", "California", ""),
        # A renamed state with one successor reads as that successor.
        ("Kinshasa, , Zaire", "Zaire", "CD"),
    ],
)
def test_a_site_in_an_unknown_country_does_not_refuse_the_record(address, country, code):
    from dashboard.ingest.text_layout import parse_text_record

    text = _record(
        "UCLA",
        "Los Angeles, California, United States",
        "Site Status",
        "Some Hospital",
        address,
        "Site Status",
        countries="United States",
    )
    trial, diagnostics = parse_text_record(text, "r.txt")
    assert len(trial.sites) == 2  # the rest of the record loads
    site = trial.sites[1]
    assert (site.country, site.country_code) == (country, code)
    unknown = [d.message for d in diagnostics if "unknown country" in d.message]
    assert bool(unknown) == (code == "")
