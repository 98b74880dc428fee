"""Typed value objects for a trial and its sites: what every other module speaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


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
