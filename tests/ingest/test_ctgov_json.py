"""Tests for dashboard.ingest.ctgov_json: real API v2 records field by field, shapes, bad JSON."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from paths import CTGOV_FIXTURES, GEOPOINT_CASES, ROOT

from dashboard.errors import RecordError
from dashboard.ingest import load_trial, read_record
from dashboard.ingest.ctgov_json import (
    parse_json_studies,
    parse_json_text,
    split_criteria,
    trial_from_study,
)
from dashboard.model import Contact, Trial, trial_to_dict

FIXTURE_IDS = (
    "NCT04270409",
    "NCT05594173",
    "NCT06171568",
    "NCT06323538",
    "NCT06388018",
    "NCT07062965",
)
CLI_TIMEOUT = 60  # seconds; a subprocess start on a busy 2-core machine


def _text(nct_id: str) -> str:
    return (CTGOV_FIXTURES / f"{nct_id}.json").read_text(encoding="utf-8")


def _trial(nct_id: str) -> Trial:
    return parse_json_text(_text(nct_id), f"{nct_id}.json")


def _study(nct_id: str) -> dict:
    data = json.loads(_text(nct_id))
    return data["studies"][0] if "studies" in data else data


def _minimal(**protocol: object) -> dict:
    """A study with just an NCT ID, plus the given protocolSection modules."""
    section = {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "T"}}
    section.update(protocol)
    return {"protocolSection": section}


# ---------------------------------------------------------------------------------------------
# Every fixture reads, and reads the same through the record sniffer


@pytest.mark.parametrize("nct_id", FIXTURE_IDS)
def test_each_fixture_parses_into_a_trial_with_sites_and_countries(nct_id: str) -> None:
    trial = _trial(nct_id)
    assert trial.nct_id == nct_id
    assert trial.title
    assert trial.sites
    assert trial.countries == tuple(dict.fromkeys(s.country for s in trial.sites))
    assert all(s.country_code and len(s.country_code) == 2 for s in trial.sites)


@pytest.mark.parametrize("nct_id", FIXTURE_IDS)
def test_record_reader_sniffs_json_and_hands_it_to_ctgov(nct_id: str) -> None:
    path = CTGOV_FIXTURES / f"{nct_id}.json"
    assert read_record(path.read_bytes(), str(path)) == _trial(nct_id)


# ---------------------------------------------------------------------------------------------
# Field mapping, with exact values from the files


def test_coplant_study_maps_every_module() -> None:
    trial = _trial("NCT06323538")
    assert trial.title == "Cohort Study on Plant-based Diets (COPLANT Study)"
    assert trial.status == "RECRUITING"
    assert trial.phases == ()
    assert trial.enrollment == 6000
    assert trial.study_type == "OBSERVATIONAL"
    assert trial.start_date == date(2024, 4, 9)
    assert trial.completion_date == date(2047, 3, 31)
    assert trial.last_updated == date(2025, 2, 14)
    assert trial.conditions[:2] == ("Dietary Exposure", "Diabetes Mellitus, Type 2")
    assert trial.sponsor == "German Federal Institute for Risk Assessment"
    assert trial.sponsors[0].kind == "OTHER"
    assert [s.role for s in trial.sponsors] == ["lead"] + ["collaborator"] * 7
    assert trial.sponsors[1].name == "Max Rubner-Institut"
    assert trial.sponsors[1].kind == "UNKNOWN"
    assert trial.responsible_party == "SPONSOR"
    assert len(trial.investigators) == 10
    assert trial.investigators[0].name == "Ute Nöthlings, Prof"
    assert trial.investigators[0].role == "PRINCIPAL_INVESTIGATOR"
    assert trial.investigators[0].affiliation == "University of Bonn"
    assert [a.label for a in trial.arms] == ["vegans", "vegetarians", "pescetarians", "mixed diet"]
    assert trial.arms[0].description == "vegan diet: no products of animal origin"
    assert trial.identifiers == (trial.identifiers[0],)
    assert trial.identifiers[0].id == "01"
    assert trial.identifiers[0].source == "org_study_id"
    assert trial.eligibility.minimum_age == "18 Years"
    assert trial.eligibility.maximum_age == "69 Years"
    assert trial.eligibility.sex == "ALL"
    assert trial.eligibility.healthy_volunteers is None  # the record leaves it out
    assert len(trial.eligibility.inclusion) == 10
    assert trial.eligibility.exclusion == (
        "who can no longer be contacted",
        "who withdraw their consent to participate in the study",
    )
    assert trial.countries == ("Austria", "Germany")


def test_coplant_sites_keep_status_zip_contacts_and_registry_point() -> None:
    sites = _trial("NCT06323538").sites
    vienna = sites[0]
    assert vienna.facility == "University Vienna"
    assert (vienna.city, vienna.state, vienna.zip) == ("Vienna", "", "1090")
    assert (vienna.country, vienna.country_code) == ("Austria", "AT")
    assert vienna.status == "RECRUITING"
    assert vienna.geo_point == (48.20849, 16.37208)  # (lat, lon)
    assert vienna.contacts == (
        Contact("Maria Wakolbinger, Prof", "CONTACT", "", "maria.wakolbinger@meduniwien.ac.at"),
        Contact("Tilman Kühn, Prof", "CONTACT", "", "tilman.kuehn@univie.ac.at"),
    )
    jena = sites[2]
    assert (jena.city, jena.state, jena.zip) == ("Jena", "Thuringia", "07743")  # leading zero kept
    assert jena.contacts[0].phone == "+49 3641 949656"
    assert sites[5].status == "NOT_YET_RECRUITING"
    assert sites[4].zip == ""  # Bonn has no zip in the record


def test_search_response_study_maps_design_arms_and_identifiers() -> None:
    trial = _trial("NCT06388018")
    assert trial.phases == ("PHASE2",)
    assert trial.design.allocation == "NON_RANDOMIZED"
    assert trial.design.intervention_model == "PARALLEL"
    assert trial.design.primary_purpose == "TREATMENT"
    assert trial.design.masking == "NONE"
    assert trial.enrollment == 325
    assert trial.eligibility.sex == "FEMALE"
    assert trial.eligibility.healthy_volunteers is False
    assert [(i.id, i.type, i.source) for i in trial.identifiers] == [
        ("NCI-2023-09355", "REGISTRY", "secondary_id"),
        ("NRG-GY032", "OTHER", "secondary_id"),
        ("NRG-GY032", "OTHER", "secondary_id"),
        ("U10CA180868", "NIH", "secondary_id"),
        ("NRG-GY032", "", "org_study_id"),
    ]
    assert [s.role for s in trial.sponsors] == ["lead", "collaborator", "collaborator"]
    radiation = next(iv for iv in trial.interventions if iv.type == "RADIATION")
    assert radiation.name == "External Beam Radiation Therapy"
    assert radiation.other_names[:2] == ("Definitive Radiation Therapy", "EBRT")
    assert "CAT Scan" in trial.other_intervention_names
    site = trial.sites[0]
    assert site.contacts[0] == Contact("Site Public Contact", "CONTACT", "401-274-1122", "")
    assert site.contacts[1].role == "PRINCIPAL_INVESTIGATOR"


def test_markdown_escapes_are_undone_like_the_text_layout() -> None:
    trial = _trial("NCT06388018")
    assert "Patients' age must be >= 18 years" in trial.eligibility.inclusion
    summary = _trial("NCT05594173").detailed_description
    assert "soft & bite-sized" in summary
    assert summary.count("\n\n") == 2  # three paragraphs survive as paragraphs


@pytest.mark.parametrize("nct_id", ["NCT06388018", "NCT04270409"])
def test_arm_intervention_names_match_intervention_names(nct_id: str) -> None:
    trial = _trial(nct_id)
    names = {iv.name for iv in trial.interventions}
    assert trial.arms
    for arm in trial.arms:
        assert arm.interventions
        assert set(arm.interventions) <= names, arm.label


def test_many_site_record_keeps_order_duplicates_and_missing_points() -> None:
    trial = _trial("NCT07062965")
    assert len(trial.sites) == 202
    assert len(trial.countries) == 27
    assert trial.countries[:3] == ("United States", "Australia", "Belgium")
    # Two Ironwood sites in Mesa, both kept: alike in all but their record-order site ids.
    fourth, fifth = trial.sites[4], trial.sites[5]
    assert (fourth.site_id, fifth.site_id) == ("NCT07062965-005", "NCT07062965-006")
    assert dataclasses.replace(fourth, site_id="") == dataclasses.replace(fifth, site_id="")
    unplaced = [s.city for s in trial.sites if s.geo_point is None]
    assert unplaced == ["Haifa", "Otashi", "Bunkyo-ku", "Gangnam-gu"]
    turkey = {s.country_code for s in trial.sites if s.country == "Turkey (Türkiye)"}
    assert turkey == {"TR"}
    milan = next(s for s in trial.sites if s.city == "Milan")
    assert milan.geo_point == (42.78235, 12.59836)  # the registry's (wrong) point, kept as is
    assert trial.eligibility.inclusion == ()  # no criteria text in this trimmed record
    assert trial.eligibility.healthy_volunteers is False


# ---------------------------------------------------------------------------------------------
# The text layout and the JSON of the same trial agree

# What the JSON carries and the text layout does not (or the other way round).
TEXT_ONLY = ("related_trials",)  # the website's "More Related Trials" is not in the API
SITE_JSON_ONLY = ("zip", "contacts", "geo_point")


def _comparable(data: dict) -> dict:
    data = {k: v for k, v in data.items() if k not in TEXT_ONLY}
    data["sites"] = [{k: v for k, v in s.items() if k not in SITE_JSON_ONLY} for s in data["sites"]]
    # The text lists other names once for the trial, the JSON on each intervention.
    data["interventions"] = [{**iv, "other_names": []} for iv in data["interventions"]]
    return data


def test_text_layout_and_json_of_the_seed_give_the_same_trial(seed_trial: Trial) -> None:
    from_json = _trial("NCT04270409")
    assert _comparable(trial_to_dict(from_json)) == _comparable(trial_to_dict(seed_trial))
    assert len(from_json.sites) == 105
    assert len(from_json.countries) == 24
    assert (
        from_json.other_intervention_names == seed_trial.other_intervention_names == ("Sarclisa",)
    )


def test_seed_json_splits_site_numbers_off_facility_names() -> None:
    sites = _trial("NCT04270409").sites
    assert (sites[0].facility, sites[0].site_number) == ("UCLA", "8400010")
    assert sites[8].facility.startswith("University of Texas - MD Anderson")  # "~" dropped
    assert (sites[9].facility, sites[9].site_number) == ("Investigational Site", "0360008")
    czech = next(s for s in sites if s.city == "Brno")
    assert czech.site_number == "2030004"  # written "Number : 2030004", with a space


# ---------------------------------------------------------------------------------------------
# Container shapes


def test_single_study_list_and_search_response_give_the_same_trial() -> None:
    study = _study("NCT06323538")
    single = parse_json_text(json.dumps(study), "a.json")
    listed = parse_json_text(json.dumps([study]), "b.json")
    search = parse_json_text(json.dumps({"studies": [study], "nextPageToken": "x"}), "c.json")
    assert single == listed == search


def test_every_study_of_a_search_response_is_read_and_the_first_is_shown() -> None:
    text = json.dumps({"studies": [_study("NCT05594173"), _study("NCT06171568")]})
    assert [t.nct_id for t in parse_json_studies(text, "s.json")] == [
        "NCT05594173",
        "NCT06171568",
    ]
    assert parse_json_text(text, "s.json").nct_id == "NCT05594173"


def test_an_error_in_the_second_study_names_it() -> None:
    text = json.dumps([_study("NCT05594173"), {"protocolSection": {}}])
    with pytest.raises(RecordError) as info:
        parse_json_studies(text, "s.json")
    assert info.value.path == "s.json (study 2 of 2)"
    assert "nctId" in info.value.message


# ---------------------------------------------------------------------------------------------
# Malformed JSON and JSON that is not a study


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{"protocolSection": {', 1),  # cut off mid-object
        ('{\n  "protocolSection": {\n    "a": 1,\n  }\n}', 4),  # trailing comma, line 4
        ("[\n\n\n  oops\n]", 4),  # a bare word four lines down
        ("{'single': 'quotes'}", 1),  # Python repr, not JSON
    ],
)
def test_malformed_json_is_a_record_error_with_the_line(text: str, line: int) -> None:
    with pytest.raises(RecordError) as info:
        parse_json_text(text, "bad.json")
    assert info.value.line == line
    assert info.value.one_line().startswith(f"bad.json:{line}: expected JSON")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('{"foo": 1}', "an object with keys foo"),  # some other JSON object
        ("[]", "an empty list"),  # nothing in it
        ("42", "a number"),  # a bare scalar
        ('"x"', "a string"),  # a bare string
        ("null", "null"),  # literally nothing
        ("[1, 2]", "a number"),  # a list, but not of studies
        ('{"protocolSection": []}', "an object with keys protocolSection"),  # wrong type
    ],
)
def test_json_that_is_not_a_study_is_refused_clearly(text: str, found: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_json_text(text, "x.json")
    assert "expected a ClinicalTrials.gov study (a JSON object with protocolSection" in str(
        info.value
    )
    assert found in info.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"studies": []}, "empty search response"),  # a search that found nothing
        ({"studies": {}}, '"studies": expected a list'),  # mangled response
        ({"FullStudiesResponse": {}}, "retired classic API format"),  # the pre-2024 API
    ],
)
def test_odd_containers_say_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        parse_json_text(json.dumps(data), "x.json")


@pytest.mark.parametrize(
    ("ident", "message"),
    [
        ({}, "nctId: expected the study's NCT ID, found none"),  # no id at all
        ({"nctId": ""}, "found none"),  # empty id
        ({"nctId": "NCT123"}, "expected an NCT ID like NCT01234567, found 'NCT123'"),  # too short
        ({"nctId": 4270409}, "found '4270409'"),  # a number, not an id
        ({"nctId": ["NCT04270409"]}, "expected text"),  # wrapped in a list
    ],
)
def test_a_study_without_a_usable_nct_id_is_refused(ident: dict, message: str) -> None:
    study = {"protocolSection": {"identificationModule": ident}}
    with pytest.raises(RecordError, match=message) as info:
        trial_from_study(study, "s.json")
    assert "protocolSection.identificationModule.nctId" in info.value.message


@pytest.mark.parametrize(
    ("modules", "where"),
    [
        ({"statusModule": {"startDateStruct": {"date": "June 2020"}}}, "startDateStruct.date"),
        ({"statusModule": {"startDateStruct": {"date": "2020-13"}}}, "startDateStruct.date"),
        ({"designModule": {"enrollmentInfo": {"count": "many"}}}, "enrollmentInfo.count"),
        ({"designModule": {"phases": "PHASE3"}}, "designModule.phases"),  # string, not list
        ({"eligibilityModule": {"healthyVolunteers": "Yes"}}, "healthyVolunteers"),  # v1 style
        ({"contactsLocationsModule": {"locations": {}}}, "locations"),  # object, not list
        ({"contactsLocationsModule": {"locations": ["Paris"]}}, "locations[0]"),
        (
            {"contactsLocationsModule": {"locations": [{"geoPoint": {"lat": "x", "lon": 1}}]}},
            "locations[0].geoPoint.lat",
        ),
        (
            {"contactsLocationsModule": {"locations": [{"geoPoint": {"lat": 1, "lon": 200}}]}},
            "locations[0].geoPoint.lon",  # off the globe
        ),
    ],
)
def test_wrong_field_types_name_the_json_path(modules: dict, where: str) -> None:
    with pytest.raises(RecordError) as info:
        trial_from_study(_minimal(**modules), "s.json")
    assert where in info.value.message
    assert info.value.line is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2020-06-16", date(2020, 6, 16)),
        ("2020-06", date(2020, 6, 1)),  # month precision reads as the 1st
        ("", None),  # struct present, date empty
    ],
)
def test_dates_accept_day_and_month_precision(raw: str, expected: date | None) -> None:
    study = _minimal(statusModule={"startDateStruct": {"date": raw, "type": "ESTIMATED"}})
    assert trial_from_study(study, "s.json").start_date == expected


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ({"lat": 48.85341, "lon": 2.3488}, (48.85341, 2.3488)),
        ({"lat": 0, "lon": 0}, (0.0, 0.0)),  # zero is a place, not "missing"
        ({"lat": 48.8}, None),  # half a point is no point
        ({}, None),  # empty object
        (None, None),  # absent
    ],
)
def test_geo_point_is_lat_lon_or_none(point: dict | None, expected: tuple | None) -> None:
    location = {"facility": "F", "city": "Paris", "country": "France"}
    if point is not None:
        location["geoPoint"] = point
    study = _minimal(contactsLocationsModule={"locations": [location]})
    assert trial_from_study(study, "s.json").sites[0].geo_point == expected


def test_a_utf8_bom_before_the_json_is_ignored() -> None:
    assert parse_json_text("\ufeff" + _text("NCT05594173"), "b.json").nct_id == "NCT05594173"


def test_phone_extension_is_kept_after_the_number() -> None:
    contact = _trial("NCT06171568").sites[0].contacts[0]
    assert contact.phone == "01.49.95.81.69 ext. +33"


# ---------------------------------------------------------------------------------------------
# Eligibility split


@pytest.mark.parametrize(
    ("text", "inclusion", "exclusion", "rest"),
    [
        (
            "Inclusion Criteria:\n\n* a\n* b\n\nExclusion Criteria:\n\n* c",
            ("a", "b"),
            ("c",),
            "",
        ),
        (  # indented sub-bullets fold into their parent, as in the text layout
            "Inclusion Criteria:\n\n* parent:\n\n  * child one\n  * child two\n* next",
            ("parent:\n- child one\n- child two", "next"),
            (),
            "",
        ),
        (  # numbered lists are bullets too
            "Inclusion Criteria:\n\n1. one\n2. two\n\nExclusion Criteria:\n\n1. three",
            ("one", "two"),
            ("three",),
            "",
        ),
        (  # a free paragraph leads the bullet after it
            "Exclusion Criteria:\n\n* a\n\nOf note:\n\n* b",
            (),
            ("a", "Of note: b"),
            "",
        ),
        (  # "Key" headings some sponsors write
            "Key Inclusion Criteria:\n* a\nKey Exclusion Criteria:\n* b",
            ("a",),
            ("b",),
            "",
        ),
        (  # no headings: nothing is split, the text is kept whole
            "Adults with asthma.\n\n* over 18",
            (),
            (),
            "Adults with asthma.\n\n* over 18",
        ),
        (  # text before the first heading is kept aside
            "Healthy volunteers only.\nInclusion Criteria:\n* a",
            ("a",),
            (),
            "Healthy volunteers only.",
        ),
        ("", (), (), ""),  # no criteria at all
        ("Inclusion Criteria:\r\n\r\n* a\r\n* b", ("a", "b"), (), ""),  # Windows line ends
    ],
)
def test_split_criteria(text: str, inclusion: tuple, exclusion: tuple, rest: str) -> None:
    assert split_criteria(text) == (inclusion, exclusion, rest)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Drug: Lenalidomide"], ("Lenalidomide",)),
        (["Dietary Supplement: Vitamin D"], ("Vitamin D",)),  # two-word type label
        (["Other: Questionnaire Administration"], ("Questionnaire Administration",)),
        (["Ratio: 1:1 dosing"], ("Ratio: 1:1 dosing",)),  # not a type label: left alone
        (["Lenalidomide"], ("Lenalidomide",)),  # no prefix at all
    ],
)
def test_arm_intervention_names_lose_only_a_type_prefix(names: list, expected: tuple) -> None:
    study = _minimal(
        armsInterventionsModule={"armGroups": [{"label": "A", "interventionNames": names}]}
    )
    assert trial_from_study(study, "s.json").arms[0].interventions == expected


def test_a_name_that_is_itself_an_intervention_keeps_its_colon() -> None:
    module = {
        "interventions": [{"type": "DRUG", "name": "Drug: X"}],
        "armGroups": [{"label": "A", "interventionNames": ["Drug: X"]}],
    }
    trial = trial_from_study(_minimal(armsInterventionsModule=module), "s.json")
    assert trial.arms[0].interventions == ("Drug: X",)


# ---------------------------------------------------------------------------------------------
# The command line


@pytest.mark.parametrize("nct_id", ["NCT06323538", "NCT06388018"])
def test_cli_parse_prints_a_json_fixture(nct_id: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dashboard", "parse", str(CTGOV_FIXTURES / f"{nct_id}.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["nct_id"] == nct_id
    assert data["sites"][0]["geo_point"] == list(_trial(nct_id).sites[0].geo_point)


def test_cli_parse_reports_malformed_json_as_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "protocolSection": {\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "dashboard", "parse", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad}:3: expected JSON")
    assert result.stderr.count("\n") == 1


def test_load_trial_reads_a_json_file_by_path() -> None:
    assert load_trial(CTGOV_FIXTURES / "NCT06171568.json").nct_id == "NCT06171568"


# ---------------------------------------------------------------------------------------------
# The reviewed registry points agree with the fixtures they come from

WRONG_KM = 50.0  # the cross-check's threshold
EARTH_KM = 6371.0088


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * math.asin(math.sqrt(h))


def test_geopoint_cases_match_their_records_and_the_50_km_rule() -> None:
    with GEOPOINT_CASES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 30
    assert {r["registry_wrong"] for r in rows} == {"yes", "no"}
    provenance = (GEOPOINT_CASES.parent / "README.md").read_text(encoding="utf-8")
    for row in rows:
        registry = (float(row["registry_lat"]), float(row["registry_lon"]))
        if (CTGOV_FIXTURES / f"{row['nct_id']}.json").exists():
            site = next(
                s
                for s in _trial(row["nct_id"]).sites
                if s.city == row["city"] and row["facility"].startswith(s.facility)
            )
            assert site.geo_point == registry, row["city"]
            assert (site.state, site.country) == (row["state"], row["country"])
        else:
            # A record read where it is published but too big to keep: its source must be cited.
            assert f"| {row['nct_id']} |" in provenance, row["nct_id"]
        far = _km(registry, (float(row["true_lat"]), float(row["true_lon"]))) > WRONG_KM
        assert far == (row["registry_wrong"] == "yes"), row["city"]
        assert row["comment"]
