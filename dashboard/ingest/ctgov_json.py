"""Read ClinicalTrials.gov API v2 study JSON into the same `Trial` model as the text layout."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from dashboard.errors import RecordError
from dashboard.ingest.common import Line, criteria_items, parse_iso_date, split_facility, unescape
from dashboard.ingest.countries import country_code
from dashboard.model import (
    Arm,
    Contact,
    Design,
    Eligibility,
    Identifier,
    Intervention,
    Investigator,
    Site,
    Sponsor,
    Trial,
    is_nct_id,
    with_site_ids,
)

EXPECTED_STUDY = (
    "expected a ClinicalTrials.gov study (a JSON object with protocolSection), a list of "
    'studies, or an API v2 search response {"studies": [...]}'
)
CRITERIA_HEADING = re.compile(
    r"^\s*(?:key\s+)?(?P<kind>inclusion|exclusion)\s+criteria\s*:?\s*$", re.I
)
# armGroups[].interventionNames read "Drug: Lenalidomide"; these are the registry's type labels.
INTERVENTION_TYPE_LABELS: frozenset[str] = frozenset(
    {
        "behavioral",
        "biological",
        "combination product",
        "device",
        "diagnostic test",
        "dietary supplement",
        "drug",
        "genetic",
        "other",
        "procedure",
        "radiation",
    }
)
LAT_RANGE = (-90.0, 90.0)
LON_RANGE = (-180.0, 180.0)
LEAD_ROLE = "lead"
COLLABORATOR_ROLE = "collaborator"
ORG_ID_SOURCE = "org_study_id"  # same source names the text layout prints
SECONDARY_ID_SOURCE = "secondary_id"


# ---------------------------------------------------------------------------------------------
# Typed access to the decoded JSON, with errors that name the JSON path


class _Reader:
    """Typed getters over one study; every complaint names the file and the JSON path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> RecordError:
        """A RecordError for a field (JSON has no line numbers once decoded)."""
        return RecordError(self.path, None, f"{where}: {message}")

    def obj(self, parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        """A nested object ({} when absent)."""
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(f"{where}.{key}", f"expected an object, found {_kind(value)}")
        return value

    def items(self, parent: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
        """A list of objects ([] when absent)."""
        value = parent.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}", f"expected a list, found {_kind(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.fail(f"{where}.{key}[{i}]", f"expected an object, found {_kind(item)}")
        return value

    def text(self, parent: Mapping[str, Any], key: str, where: str) -> str:
        """A string field, stripped ("" when absent)."""
        value = parent.get(key)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"{where}.{key}", f"expected text, found {_kind(value)}")
        return str(value).strip()

    def texts(self, parent: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        """A list of strings, each stripped, empties dropped."""
        value = parent.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}", f"expected a list of text, found {_kind(value)}")
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{where}.{key}[{i}]", f"expected text, found {_kind(item)}")
            if item.strip():
                out.append(item.strip())
        return tuple(out)

    def date(self, parent: Mapping[str, Any], key: str, where: str) -> date | None:
        """`{"date": "YYYY-MM[-DD]"}` -> date (month precision -> the 1st)."""
        struct = self.obj(parent, key, where)
        raw = self.text(struct, "date", f"{where}.{key}")
        if not raw:
            return None
        parsed = parse_iso_date(raw)
        if parsed is not None:
            return parsed
        raise self.fail(f"{where}.{key}.date", f"expected YYYY-MM-DD or YYYY-MM, found {raw!r}")


def _kind(value: Any) -> str:
    """How a JSON value reads in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "an empty list" if not value else f"a list of {len(value)}"
    if isinstance(value, Mapping):
        keys = ", ".join(list(value)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    return type(value).__name__


# ---------------------------------------------------------------------------------------------
# Free text


def _prose(text: str) -> str:
    """Registry markdown -> the text parser's form: unescaped, trimmed lines, one blank line."""
    lines = [line.rstrip() for line in unescape(text).replace("\r\n", "\n").split("\n")]
    joined = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", joined).strip()


def split_criteria(text: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Eligibility text -> (inclusion items, exclusion items, text the headings did not cover).

    Same convention as the text layout: "Inclusion Criteria:" / "Exclusion Criteria:" headings,
    "*" (or "-", "1.") bullets, indented sub-bullets folded into their parent item. Without
    either heading nothing is split and the whole text is returned as the third element.
    """
    inclusion: list[Line] = []
    exclusion: list[Line] = []
    loose: list[str] = []
    target: list[Line] | None = None
    for no, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        heading = CRITERIA_HEADING.match(line)
        if heading:
            target = inclusion if heading["kind"].lower() == "inclusion" else exclusion
        elif target is None:
            loose.append(line.strip())
        else:
            target.append(Line(no, line))
    if not inclusion and not exclusion:
        return (), (), _prose(text)
    rest = _prose("\n".join(loose)) if loose else ""
    # criteria_items undoes the text layout's escapes; the registry's wider set ("\\&") after.
    return (
        tuple(unescape(item) for item in criteria_items(inclusion)),
        tuple(unescape(item) for item in criteria_items(exclusion)),
        rest,
    )


def _strip_type_prefix(name: str, known: set[str]) -> str:
    """'Drug: Lenalidomide' -> 'Lenalidomide' (only a registry type label is stripped)."""
    if name in known:
        return name
    head, sep, rest = name.partition(":")
    if sep and rest.strip() and head.strip().lower() in INTERVENTION_TYPE_LABELS:
        return rest.strip()
    return name


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    """Distinct values, first occurrence wins."""
    return tuple(dict.fromkeys(v for v in values if v))


# ---------------------------------------------------------------------------------------------
# Modules


def _identifiers(r: _Reader, ident: Mapping[str, Any], where: str) -> tuple[Identifier, ...]:
    """Secondary ids then the organisation's own id, in the text layout's order."""
    found: list[Identifier] = []
    for i, info in enumerate(r.items(ident, "secondaryIdInfos", where)):
        at = f"{where}.secondaryIdInfos[{i}]"
        value = r.text(info, "id", at)
        if value:
            found.append(Identifier(value, r.text(info, "type", at), SECONDARY_ID_SOURCE))
    org = r.obj(ident, "orgStudyIdInfo", where)
    org_id = r.text(org, "id", f"{where}.orgStudyIdInfo")
    if org_id:
        org_type = r.text(org, "type", f"{where}.orgStudyIdInfo")
        found.append(Identifier(org_id, org_type, ORG_ID_SOURCE))
    return tuple(found)


def _interventions(r: _Reader, module: Mapping[str, Any], where: str) -> tuple[Intervention, ...]:
    """interventions[] -> Intervention (type, name, description, otherNames)."""
    result: list[Intervention] = []
    for i, item in enumerate(r.items(module, "interventions", where)):
        at = f"{where}.interventions[{i}]"
        result.append(
            Intervention(
                name=unescape(r.text(item, "name", at)),
                type=r.text(item, "type", at),
                description=_prose(r.text(item, "description", at)),
                other_names=tuple(unescape(n) for n in r.texts(item, "otherNames", at)),
            )
        )
    return tuple(result)


def _arms(
    r: _Reader, module: Mapping[str, Any], interventions: Sequence[Intervention], where: str
) -> tuple[Arm, ...]:
    """armGroups[] -> Arm, with "Type: " stripped so names match the interventions."""
    known = {iv.name for iv in interventions}
    arms: list[Arm] = []
    for i, group in enumerate(r.items(module, "armGroups", where)):
        at = f"{where}.armGroups[{i}]"
        names = r.texts(group, "interventionNames", at)
        arms.append(
            Arm(
                label=unescape(r.text(group, "label", at)),
                type=r.text(group, "type", at),
                description=_prose(r.text(group, "description", at)),
                interventions=tuple(_strip_type_prefix(unescape(n), known) for n in names),
            )
        )
    return tuple(arms)


def _eligibility(r: _Reader, module: Mapping[str, Any], where: str) -> Eligibility:
    """eligibilityModule -> Eligibility (criteria split like the text layout)."""
    inclusion, exclusion, rest = split_criteria(r.text(module, "eligibilityCriteria", where))
    healthy = module.get("healthyVolunteers")
    if healthy is not None and not isinstance(healthy, bool):
        raise r.fail(f"{where}.healthyVolunteers", f"expected true/false, found {_kind(healthy)}")
    return Eligibility(
        inclusion=inclusion,
        exclusion=exclusion,
        minimum_age=r.text(module, "minimumAge", where),
        maximum_age=r.text(module, "maximumAge", where),
        sex=r.text(module, "sex", where),
        healthy_volunteers=healthy,
        text=rest,
    )


def _sponsors(r: _Reader, module: Mapping[str, Any], where: str) -> tuple[Sponsor, ...]:
    """leadSponsor -> role "lead", collaborators[] -> role "collaborator"."""
    sponsors: list[Sponsor] = []
    lead = r.obj(module, "leadSponsor", where)
    if r.text(lead, "name", f"{where}.leadSponsor"):
        at = f"{where}.leadSponsor"
        sponsors.append(Sponsor(r.text(lead, "name", at), r.text(lead, "class", at), LEAD_ROLE))
    for i, other in enumerate(r.items(module, "collaborators", where)):
        at = f"{where}.collaborators[{i}]"
        if r.text(other, "name", at):
            sponsors.append(
                Sponsor(r.text(other, "name", at), r.text(other, "class", at), COLLABORATOR_ROLE)
            )
    return tuple(sponsors)


def _responsible(r: _Reader, module: Mapping[str, Any], where: str) -> str:
    """responsibleParty -> 'SPONSOR' or 'PRINCIPAL_INVESTIGATOR, Name' (as the text layout)."""
    party = r.obj(module, "responsibleParty", where)
    at = f"{where}.responsibleParty"
    parts = [r.text(party, "type", at), r.text(party, "investigatorFullName", at)]
    return ", ".join(p for p in parts if p)


def _investigators(r: _Reader, module: Mapping[str, Any], where: str) -> tuple[Investigator, ...]:
    """overallOfficials[] -> Investigator."""
    people: list[Investigator] = []
    for i, person in enumerate(r.items(module, "overallOfficials", where)):
        at = f"{where}.overallOfficials[{i}]"
        people.append(
            Investigator(
                name=r.text(person, "name", at),
                role=r.text(person, "role", at),
                affiliation=r.text(person, "affiliation", at),
            )
        )
    return tuple(people)


def _contacts(
    r: _Reader, location: Mapping[str, Any], where: str, key: str = "contacts"
) -> tuple[Contact, ...]:
    """A location's contacts[] (or the module's `key="centralContacts"`): phoneExt, when
    given, is kept after the number."""
    contacts: list[Contact] = []
    for i, person in enumerate(r.items(location, key, where)):
        at = f"{where}.{key}[{i}]"
        phone = r.text(person, "phone", at)
        ext = r.text(person, "phoneExt", at)
        if phone and ext:
            phone = f"{phone} ext. {ext}"
        contacts.append(
            Contact(
                name=r.text(person, "name", at),
                role=r.text(person, "role", at),
                phone=phone,
                email=r.text(person, "email", at),
            )
        )
    return tuple(contacts)


def _geo_point(r: _Reader, location: Mapping[str, Any], where: str) -> tuple[float, float] | None:
    """geoPoint {lat, lon} -> (lat, lon); None when absent or half given."""
    point = r.obj(location, "geoPoint", where)
    lat, lon = point.get("lat"), point.get("lon")
    if lat is None or lon is None:
        return None
    at = f"{where}.geoPoint"
    for key, value, (low, high) in (("lat", lat, LAT_RANGE), ("lon", lon, LON_RANGE)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise r.fail(f"{at}.{key}", f"expected a number, found {_kind(value)}")
        if not math.isfinite(value) or not low <= value <= high:
            raise r.fail(f"{at}.{key}", f"expected a number in [{low:g}, {high:g}], found {value}")
    return float(lat), float(lon)


def _sites(r: _Reader, module: Mapping[str, Any], where: str) -> tuple[Site, ...]:
    """locations[] -> Site, facility names split from their 'Site Number : N'."""
    sites: list[Site] = []
    for i, location in enumerate(r.items(module, "locations", where)):
        at = f"{where}.locations[{i}]"
        facility, number = split_facility(unescape(r.text(location, "facility", at)))
        country = r.text(location, "country", at)
        sites.append(
            Site(
                facility=facility,
                city=r.text(location, "city", at),
                country=country,
                country_code=country_code(country) if country else "",
                state=r.text(location, "state", at),
                site_number=number,
                status=r.text(location, "status", at),
                zip=r.text(location, "zip", at),
                contacts=_contacts(r, location, at),
                geo_point=_geo_point(r, location, at),
            )
        )
    return tuple(sites)


def _enrollment(r: _Reader, design: Mapping[str, Any], where: str) -> int | None:
    """enrollmentInfo.count -> int (None when absent)."""
    info = r.obj(design, "enrollmentInfo", where)
    count = info.get("count")
    if count is None:
        return None
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    if isinstance(count, str) and count.strip().isdigit():
        return int(count.strip())
    raise r.fail(f"{where}.enrollmentInfo.count", f"expected a whole number, found {_kind(count)}")


# ---------------------------------------------------------------------------------------------
# Public entry points


def trial_from_study(study: Mapping[str, Any], path: str) -> Trial:
    """One API v2 study object -> Trial; RecordError names the file and the JSON path."""
    r = _Reader(path)
    if not isinstance(study, Mapping) or not isinstance(study.get("protocolSection"), Mapping):
        raise RecordError(path, None, f"{EXPECTED_STUDY}; found {_kind(study)}")
    ps = "protocolSection"
    protocol = study[ps]
    ident = r.obj(protocol, "identificationModule", ps)
    at_id = f"{ps}.identificationModule"
    nct_id = r.text(ident, "nctId", at_id)
    if not nct_id:
        raise r.fail(f"{at_id}.nctId", "expected the study's NCT ID, found none")
    if not is_nct_id(nct_id):
        raise r.fail(f"{at_id}.nctId", f"expected an NCT ID like NCT01234567, found {nct_id!r}")
    status = r.obj(protocol, "statusModule", ps)
    design = r.obj(protocol, "designModule", ps)
    design_info = r.obj(design, "designInfo", f"{ps}.designModule")
    masking = r.obj(design_info, "maskingInfo", f"{ps}.designModule.designInfo")
    description = r.obj(protocol, "descriptionModule", ps)
    conditions = r.obj(protocol, "conditionsModule", ps)
    arms_module = r.obj(protocol, "armsInterventionsModule", ps)
    sponsors = r.obj(protocol, "sponsorCollaboratorsModule", ps)
    contacts = r.obj(protocol, "contactsLocationsModule", ps)
    at_status = f"{ps}.statusModule"
    at_design = f"{ps}.designModule"
    at_info = f"{at_design}.designInfo"
    at_arms = f"{ps}.armsInterventionsModule"
    at_desc = f"{ps}.descriptionModule"
    at_contacts = f"{ps}.contactsLocationsModule"

    interventions = _interventions(r, arms_module, at_arms)
    sites = _sites(r, contacts, at_contacts)
    title = r.text(ident, "briefTitle", at_id) or r.text(ident, "officialTitle", at_id)
    return Trial(
        nct_id=nct_id,
        title=unescape(title),
        status=r.text(status, "overallStatus", at_status),
        phases=tuple(p.upper() for p in r.texts(design, "phases", at_design)),
        enrollment=_enrollment(r, design, at_design),
        study_type=r.text(design, "studyType", at_design),
        start_date=r.date(status, "startDateStruct", at_status),
        completion_date=r.date(status, "completionDateStruct", at_status),
        last_updated=r.date(status, "lastUpdatePostDateStruct", at_status),
        brief_summary=_prose(r.text(description, "briefSummary", at_desc)),
        detailed_description=_prose(r.text(description, "detailedDescription", at_desc)),
        conditions=tuple(
            unescape(c) for c in r.texts(conditions, "conditions", f"{ps}.conditionsModule")
        ),
        design=Design(
            allocation=r.text(design_info, "allocation", at_info),
            intervention_model=r.text(design_info, "interventionModel", at_info),
            primary_purpose=r.text(design_info, "primaryPurpose", at_info),
            masking=r.text(masking, "masking", f"{at_info}.maskingInfo"),
        ),
        arms=_arms(r, arms_module, interventions, at_arms),
        interventions=interventions,
        other_intervention_names=_dedupe(n for iv in interventions for n in iv.other_names),
        eligibility=_eligibility(
            r, r.obj(protocol, "eligibilityModule", ps), f"{ps}.eligibilityModule"
        ),
        sponsors=_sponsors(r, sponsors, f"{ps}.sponsorCollaboratorsModule"),
        responsible_party=_responsible(r, sponsors, f"{ps}.sponsorCollaboratorsModule"),
        investigators=_investigators(r, contacts, at_contacts),
        central_contacts=_contacts(r, contacts, at_contacts, key="centralContacts"),
        sites=with_site_ids(nct_id, sites),
        countries=_dedupe(s.country for s in sites),
        identifiers=_identifiers(r, ident, at_id),
    )


def _studies(data: Any, path: str) -> list[Mapping[str, Any]]:
    """The study objects in any of the three accepted shapes."""
    if isinstance(data, Mapping):
        if "protocolSection" in data:
            return [data]
        if "studies" in data:
            studies = data["studies"]
            if not isinstance(studies, list):
                raise RecordError(path, None, f'"studies": expected a list, found {_kind(studies)}')
            if not studies:
                raise RecordError(
                    path, None, "expected at least one study, found an empty search response"
                )
            return studies
        if "FullStudiesResponse" in data or "FullStudy" in data:
            raise RecordError(
                path,
                None,
                "this is the retired classic API format; "
                "fetch the study again (python -m dashboard fetch NCT...) to get API v2 JSON",
            )
    if isinstance(data, list) and data:
        return data
    raise RecordError(path, None, f"{EXPECTED_STUDY}; found {_kind(data)}")


def _load(text: str, path: str) -> list[Mapping[str, Any]]:
    """Decode JSON text and return its study objects (RecordError with a line if malformed)."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        message = f"expected JSON, {exc.msg} (column {exc.colno})"
        raise RecordError(path, exc.lineno, message) from exc
    except RecursionError as exc:
        raise RecordError(path, None, "expected JSON, found nesting too deep to read") from exc
    return _studies(data, path)


def _where(path: str, index: int, total: int) -> str:
    """The name errors use for one study of several."""
    return path if total == 1 else f"{path} (study {index + 1} of {total})"


def parse_json_studies(text: str, path: str) -> list[Trial]:
    """Every study in API v2 JSON text: one study, a list of studies or {"studies": [...]}."""
    studies = _load(text, path)
    return [trial_from_study(s, _where(path, i, len(studies))) for i, s in enumerate(studies)]


def parse_json_text(text: str, path: str) -> Trial:
    """The first study in API v2 JSON text (the app shows one trial at a time; the rest of a
    list or search response is not read)."""
    studies = _load(text, path)
    return trial_from_study(studies[0], _where(path, 0, len(studies)))
