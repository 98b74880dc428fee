"""Typed value objects for a trial, its sites and their points: what every other module speaks.

Also the one NCT-ID pattern, the one site-ID scheme, and the trial as a JSON-ready dict.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

NCT_ID_TEXT = r"NCT\d{8}"
NCT_ID = re.compile(rf"^{NCT_ID_TEXT}$")


def is_nct_id(text: str) -> bool:
    """Whether `text` is exactly a ClinicalTrials.gov ID: NCT plus 8 digits."""
    return bool(NCT_ID.match(text))


def make_site_id(nct_id: str, index: int) -> str:
    """A stable id for the index-th site (0-based) in record order: "NCT04270409-001"."""
    return f"{nct_id}-{index + 1:03d}"


class Precision(StrEnum):
    """How precise a site's point is: the kind of place it stands for."""

    CITY = "city"
    DISTRICT = "district"
    REGION = "region"
    COUNTRY = "country"


class Source(StrEnum):
    """Who put a site's point where it is."""

    GAZETTEER = "gazetteer"
    NOMINATIM = "nominatim"
    REGISTRY = "registry"
    OVERRIDE = "override"


@dataclass(frozen=True)
class Contact:
    """A person to contact at a site (only registry JSON carries these)."""

    name: str = ""
    role: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Site:
    """One study location, as the record gives it (no coordinates are inferred here)."""

    facility: str
    city: str
    country: str
    country_code: str  # ISO 3166-1 alpha-2, "" only if the country is unknown
    state: str = ""
    site_number: str | None = None
    status: str = ""  # e.g. RECRUITING; "" when the record leaves it empty
    zip: str = ""
    contacts: tuple[Contact, ...] = ()
    # The registry's own point for the site, (lat, lon), when the record carries one.
    geo_point: tuple[float, float] | None = None
    # "<NCT ID>-<nnn>" by record order, set when the record is parsed: the key of the site table.
    site_id: str = ""


@dataclass(frozen=True)
class Intervention:
    """A drug, device, procedure... given in the trial."""

    name: str
    type: str = ""
    description: str = ""
    other_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arm:
    """A study group (arm or cohort) and the interventions it receives."""

    label: str
    type: str = ""
    description: str = ""
    interventions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Eligibility:
    """Who may take part."""

    inclusion: tuple[str, ...] = ()
    exclusion: tuple[str, ...] = ()
    minimum_age: str = ""
    maximum_age: str = ""
    sex: str = ""
    healthy_volunteers: bool | None = None
    text: str = ""  # the criteria as written, when they could not be split


@dataclass(frozen=True)
class Design:
    """How the study is structured."""

    allocation: str = ""
    intervention_model: str = ""
    primary_purpose: str = ""
    masking: str = ""


@dataclass(frozen=True)
class Identifier:
    """Another registry number or an internal id of the trial."""

    id: str
    type: str = ""
    source: str = ""


@dataclass(frozen=True)
class Sponsor:
    """An organisation funding or collaborating on the study."""

    name: str
    kind: str = ""  # INDUSTRY, NIH, OTHER...
    role: str = ""  # lead, collaborator


@dataclass(frozen=True)
class Investigator:
    """A principal investigator or study director."""

    name: str
    role: str = ""
    affiliation: str = ""


@dataclass(frozen=True)
class RelatedTrial:
    """A trial the record links to."""

    nct_id: str
    title: str = ""
    status: str = ""
    phases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trial:
    """A clinical trial: its summary and its sites, in record order."""

    nct_id: str
    title: str
    status: str = ""
    phases: tuple[str, ...] = ()
    enrollment: int | None = None
    study_type: str = ""
    start_date: date | None = None
    completion_date: date | None = None
    last_updated: date | None = None
    brief_summary: str = ""
    detailed_description: str = ""
    conditions: tuple[str, ...] = ()
    design: Design = field(default_factory=Design)
    arms: tuple[Arm, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    other_intervention_names: tuple[str, ...] = ()
    eligibility: Eligibility = field(default_factory=Eligibility)
    sponsors: tuple[Sponsor, ...] = ()
    responsible_party: str = ""
    investigators: tuple[Investigator, ...] = ()
    sites: tuple[Site, ...] = ()
    countries: tuple[str, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    related_trials: tuple[RelatedTrial, ...] = ()
    # The study's own contacts for every site (registry JSON's centralContacts; the text
    # layout has none): whom to call when a site lists no contact of its own.
    central_contacts: tuple[Contact, ...] = ()

    @property
    def sponsor(self) -> str:
        """The lead sponsor's name ("" when the record names none)."""
        for s in self.sponsors:
            if s.role.lower() == "lead":
                return s.name
        return self.sponsors[0].name if self.sponsors else ""

    @property
    def url(self) -> str:
        """The trial's page on ClinicalTrials.gov."""
        return f"https://clinicaltrials.gov/study/{self.nct_id}"


def with_site_ids(nct_id: str, sites: Iterable[Site]) -> tuple[Site, ...]:
    """The sites with their `site_id`s set from the trial's ID and their order in the record."""
    return tuple(
        dataclasses.replace(s, site_id=make_site_id(nct_id, i)) for i, s in enumerate(sites)
    )


@dataclass(frozen=True)
class GeocodeResult:
    """Where a site was put, by whom, how precisely, and whether a human should look."""

    latitude: float
    longitude: float
    precision: str  # a Precision value
    geocoder: str  # a Source value
    matched_name: str
    query: str
    needs_review: bool = False
    note: str = ""
    registry_latitude: float | None = None
    registry_longitude: float | None = None


def _jsonable(value: Any) -> Any:
    """Dates -> ISO strings, tuples -> lists, dataclasses -> dicts, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return [_jsonable(v) for v in value]
    return value


def trial_to_dict(trial: Trial) -> dict[str, Any]:
    """A JSON-ready dict of the whole trial (dates as ISO strings, tuples as lists)."""
    data: dict[str, Any] = _jsonable(trial)
    data["sponsor"] = trial.sponsor
    data["url"] = trial.url
    return data
