"""What the trial and site panels say, as plain data: labelled rows, lists and tables.

Text from a record is untrusted: everything returned here is plain text, and
`escape_markdown` makes it safe to pass through `st.markdown`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import pandas as pd

from dashboard.geo import distance_km, from_km
from dashboard.model import Contact, Precision, Site, Trial, is_nct_id
from dashboard.sites.table import Col, to_bool

# Everything Markdown (CommonMark + GitHub + Streamlit's extensions) may treat as syntax:
# emphasis, code, links, headings, lists, tables, HTML, math ($), colour/emoji directives (:).
MARKDOWN_SPECIAL = "\\`*_{}[]()<>#+-.!|~$:="
# Each of them with a backslash in front (str.translate: one pass, no regex).
MARKDOWN_ESCAPES = str.maketrans({c: "\\" + c for c in MARKDOWN_SPECIAL})
NOT_GIVEN = "not given"
# A city-level point flagged for review (it may be more than 25 km off), in the patient's words.
TO_CHECK = "location to be checked"
# Text from a link or a record echoed back in a message is cut to this many characters.
ECHO_CHARS = 80
# Unicode bidirectional controls (LRE..RLO, LRI..PDI, LRM/RLM/ALM): they can reorder what a
# message shows around the echoed text, so they are removed before echoing.
BIDI_CONTROLS = dict.fromkeys(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
# The sites-per-country chart: room per bar so every country is named, names cut only past
# this width, and the axis stretched this much past the longest bar for its count.
BAR_HEIGHT_PX = 22
COUNTRY_LABEL_LIMIT_PX = 180
VALUE_ROOM = 1.1

# ClinicalTrials.gov's recruitment statuses (overall and per site) in the registry's own words.
STATUS_WORDS: dict[str, str] = {
    "RECRUITING": "Recruiting",
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "ENROLLING_BY_INVITATION": "Enrolling by invitation",
    "COMPLETED": "Completed",
    "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated",
    "WITHDRAWN": "Withdrawn",
    "AVAILABLE": "Available",
    "NO_LONGER_AVAILABLE": "No longer available",
    "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
    "APPROVED_FOR_MARKETING": "Approved for marketing",
    "WITHHELD": "Withheld",
    "UNKNOWN": "Unknown status",
}
# Statuses under which a patient can join now or soon: such sites are listed first.
OPEN_STATUSES = frozenset(
    {"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "AVAILABLE"}
)
# The title shown on top of the page (the full title is one tap away).
SHORT_TITLE_CHARS = 60
# How many of the nearest sites the page lists as cards.
NEAREST_CARDS = 5
# What a link may look like once built here: a scheme we use, then no space, quote, bracket,
# parenthesis or backslash (so it cannot end a Markdown link early or start HTML).
SAFE_URL = re.compile(r"(?:https://|tel:|mailto:)[^\s()<>\[\]\\\"'`]+")
# A phone number as people write it: digits with +, spaces, dashes, dots, parentheses, and an
# extension ("ext. 12", "x12") at the end. Anything else (letters, a URL, a newline) gets no link.
PHONE_NUMBER = re.compile(r"\+?[0-9 ().\-]+")
PHONE_EXTENSION = re.compile(
    r"(?P<number>.+?) *(?:ext\.?|extension|x) *(?P<ext>\+?[0-9]{1,6})", re.I
)
MIN_PHONE_DIGITS = 5  # shorter is a fragment ("+33 1"), not a number to dial
MAX_PHONE_DIGITS = 15  # E.164
MAX_PHONE_CHARS = 40
# An e-mail address a mail program accepts without surprises (no quotes, spaces or comments).
EMAIL_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+'-]+(?:\.[A-Za-z0-9_%+'-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
MAX_EMAIL_CHARS = 254
OSM_DIRECTIONS = "https://www.openstreetmap.org/directions?engine=fossgis_osrm_car&route="
OSM_MAP_ZOOM = 12
GOOGLE_MAPS_SEARCH = "https://www.google.com/maps/search/?api=1&query="
MAX_MAP_QUERY_CHARS = 200
# A registry's region names may carry its own key in brackets: "Barcelona [barcelona]".
REGION_KEY_SUFFIX = re.compile(r"\s*\[[^\[\]]*\]\s*$")
INFO = "info"
WARNING = "warning"


@dataclass(frozen=True)
class SiteDetails:
    """What the page shows for one selected site: `rows` for everyone, `placement` (how the
    site's point was found, in the geocoder's terms) for staff, under its own expander."""

    facility: str
    rows: tuple[tuple[str, str], ...]
    contacts: tuple[Contact, ...] = ()
    placement: tuple[tuple[str, str], ...] = ()


def escape_markdown(text: str) -> str:
    """Text that `st.markdown` shows literally (no links, emphasis, HTML or directives)."""
    return text.translate(MARKDOWN_ESCAPES).replace("\n", "  \n")


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """Untrusted text made safe to echo: bidi controls removed, cut to `limit` characters."""
    text = str(text).translate(BIDI_CONTROLS)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display_text(value: Any) -> str:
    """A value as display text ("" for None/NaN)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def humanize(code: str) -> str:
    """A registry code made readable: `ACTIVE_NOT_RECRUITING` -> `Active not recruiting`."""
    code = code.strip()
    if not code:
        return ""
    if code.isupper() or "_" in code:
        words = code.replace("_", " ").lower()
        return words[0].upper() + words[1:]
    return code


def status_code(text: str) -> str:
    """A status as the registry's code: "Active, not recruiting" -> ACTIVE_NOT_RECRUITING."""
    return re.sub(r"[\s,]+", "_", display_text(text).strip()).upper().strip("_")


def plain_status(text: str) -> str:
    """A recruitment status in plain words ("" when empty): RECRUITING -> Recruiting,
    ACTIVE_NOT_RECRUITING -> Active, not recruiting; a code we do not know is humanized."""
    text = display_text(text).strip()
    if not text:
        return ""
    return STATUS_WORDS.get(status_code(text)) or humanize(text)


def is_open_status(text: str) -> bool:
    """Whether a status lets a patient join now or soon (recruiting, not yet recruiting...)."""
    return status_code(text) in OPEN_STATUSES


def strip_region_key(region: str) -> str:
    """A region name without the registry's bracketed key ("Barcelona [barcelona]")."""
    return REGION_KEY_SUFFIX.sub("", display_text(region)).strip()


def short_title(title: str, limit: int = SHORT_TITLE_CHARS) -> str:
    """A title cut to at most `limit` characters at a word boundary, ending in "…" when cut."""
    title = " ".join(str(title).split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–(") + "…"


def _date(value: date | None) -> str:
    """A date as ISO text, or "not given"."""
    return value.isoformat() if value else NOT_GIVEN


def _phase(phases: Sequence[str]) -> str:
    """Phases as `Phase 1 / Phase 2` (PHASE1 -> Phase 1; NA -> Not applicable)."""
    out = []
    for p in phases:
        m = re.fullmatch(r"PHASE(\d)", p.strip().upper())
        if m:
            out.append(f"Phase {m.group(1)}")
        elif p.strip().upper() in {"NA", "N/A"}:
            out.append("Not applicable")
        else:
            out.append(humanize(p))
    return " / ".join(out) or NOT_GIVEN


def trial_link(trial: Trial) -> str | None:
    """The trial's ClinicalTrials.gov address, only when its NCT ID is well formed."""
    return trial.url if is_nct_id(trial.nct_id) else None


def summary_rows(trial: Trial) -> list[tuple[str, str]]:
    """The key facts: status, phase, enrollment, type, dates, sponsor."""
    enrollment = f"{trial.enrollment:,} participants" if trial.enrollment is not None else ""
    return [
        ("NCT ID", trial.nct_id),
        ("Status", plain_status(trial.status) or NOT_GIVEN),
        ("Phase", _phase(trial.phases)),
        ("Enrollment", enrollment or NOT_GIVEN),
        ("Study type", humanize(trial.study_type) or NOT_GIVEN),
        ("Start date", _date(trial.start_date)),
        ("Completion date", _date(trial.completion_date)),
        ("Last updated", _date(trial.last_updated)),
        ("Sponsor", trial.sponsor or NOT_GIVEN),
    ]


def facts_markdown(rows: Sequence[tuple[str, str]]) -> str:
    """Labelled facts as Markdown lines ("**Status:** Recruiting"), every value escaped."""
    return "  \n".join(f"**{escape_markdown(k)}:** {escape_markdown(v)}" for k, v in rows)


def overview_markdown(trial: Trial) -> str:
    """The Overview tab's text: the key facts, the conditions as a list, and the heading of
    the brief summary when there is one (its text is shown as written, apart)."""
    conditions = markdown_list(trial.conditions) or "None given."
    parts = [facts_markdown(summary_rows(trial)), f"**Conditions**\n\n{conditions}"]
    if trial.brief_summary:
        parts.append("**Brief summary**")
    return "\n\n".join(parts)


def design_rows(trial: Trial) -> list[tuple[str, str]]:
    """How the study is designed: allocation, model, masking, purpose."""
    d = trial.design
    return [
        ("Allocation", humanize(d.allocation) or NOT_GIVEN),
        ("Intervention model", humanize(d.intervention_model) or NOT_GIVEN),
        ("Masking", humanize(d.masking) or NOT_GIVEN),
        ("Primary purpose", humanize(d.primary_purpose) or NOT_GIVEN),
    ]


def arms_table(trial: Trial) -> pd.DataFrame:
    """One row per arm: its label, type, interventions and description."""
    return pd.DataFrame(
        {
            "arm": [a.label for a in trial.arms],
            "type": [humanize(a.type) for a in trial.arms],
            "interventions": ["; ".join(a.interventions) for a in trial.arms],
            "description": [a.description for a in trial.arms],
        }
    )


def interventions_table(trial: Trial) -> pd.DataFrame:
    """One row per intervention: name, type, other names, description."""
    return pd.DataFrame(
        {
            "intervention": [i.name for i in trial.interventions],
            "type": [humanize(i.type) for i in trial.interventions],
            "other names": ["; ".join(i.other_names) for i in trial.interventions],
            "description": [i.description for i in trial.interventions],
        }
    )


def eligibility_rows(trial: Trial) -> list[tuple[str, str]]:
    """Who may join: ages, sex and healthy volunteers."""
    e = trial.eligibility
    if e.healthy_volunteers is None:
        healthy = NOT_GIVEN
    else:
        healthy = "Accepted" if e.healthy_volunteers else "Not accepted"
    return [
        ("Minimum age", e.minimum_age or NOT_GIVEN),
        ("Maximum age", e.maximum_age or NOT_GIVEN),
        ("Sex", humanize(e.sex) or NOT_GIVEN),
        ("Healthy volunteers", healthy),
    ]


def identifiers_table(trial: Trial) -> pd.DataFrame:
    """The trial's other identifiers: id, type, source."""
    return pd.DataFrame(
        {
            "identifier": [i.id for i in trial.identifiers],
            "type": [i.type if i.type != "-" else "" for i in trial.identifiers],
            "source": [humanize(i.source) for i in trial.identifiers],
        }
    )


def sponsors_table(trial: Trial) -> pd.DataFrame:
    """Sponsors and collaborators: name, role, kind."""
    return pd.DataFrame(
        {
            "sponsor": [s.name for s in trial.sponsors],
            "role": [humanize(s.role) for s in trial.sponsors],
            "kind": [humanize(s.kind) for s in trial.sponsors],
        }
    )


def rows_table(rows: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Labelled rows as a two-column table (shown with st.dataframe/st.table, never HTML)."""
    return pd.DataFrame({"": [r[0] for r in rows], "value": [r[1] for r in rows]})


def find_site(trial: Trial, site_id: str) -> Site | None:
    """The record's Site for a table row, by its exact key (`site_id`, set at parse)."""
    for s in trial.sites:
        if s.site_id == site_id:
            return s
    return None


def site_details(
    row: dict[str, Any] | pd.Series, site: Site | None = None, units: str | None = None
) -> SiteDetails:
    """The selected site's facility, address, status, distance and contacts (`rows`), and how
    its point was found (`placement`, for staff)."""
    address = site_address(row, site)
    point = _point_text(row.get(Col.LATITUDE), row.get(Col.LONGITUDE))
    precision = display_text(row.get(Col.PRECISION))
    geocoder = display_text(row.get(Col.GEOCODER))
    matched = display_text(row.get(Col.MATCHED_NAME))
    parts = (precision, f"({matched})" if matched else "", f"via {geocoder}" if geocoder else "")
    located_as = " ".join(p for p in parts if p)
    rows: list[tuple[str, str]] = [
        ("Address", address or NOT_GIVEN),
        ("Status", plain_status(display_text(row.get(Col.STATUS))) or NOT_GIVEN),
    ]
    number = display_text(row.get(Col.SITE_NUMBER))
    if number:  # the sponsor's own number: worth quoting on the phone, noise when absent
        rows.append(("Site number", number))
    distance = row.get(Col.DISTANCE_KM)
    note = location_note(precision, row.get(Col.NEEDS_REVIEW))
    if units is not None and distance is not None and not pd.isna(distance):
        basis = centre_words(precision)
        shown = patient_distance(float(distance), units)  # as the nearest-site cards say it
        rows.append(("Distance", f"{shown} (to the {basis})" if basis else shown))
        # the centre it is measured to is said above; only a flag is left to say
        note = TO_CHECK if is_flagged(row.get(Col.NEEDS_REVIEW)) else ""
    if note:
        rows.append(("Location", note))
    placement: list[tuple[str, str]] = [
        ("Located as", located_as or "not located"),
        ("Coordinates", point or "none"),
    ]
    registry = _point_text(row.get(Col.REGISTRY_LATITUDE), row.get(Col.REGISTRY_LONGITUDE))
    if registry:
        placement.append(("Registry point (not used)", registry))
    if is_flagged(row.get(Col.NEEDS_REVIEW)):
        placement.append(("Review", "the position of this site is uncertain"))
    note = display_text(row.get(Col.NOTE))
    if note:
        placement.append(("Note", note))
    return SiteDetails(
        facility=display_text(row.get(Col.FACILITY)) or "(unnamed site)",
        rows=tuple(rows),
        contacts=site.contacts if site else (),
        placement=tuple(placement),
    )


def _point_text(lat: Any, lon: Any) -> str:
    """A (lat, lon) pair as "45.7640, 4.8357", or "" when either is missing or not a number."""
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return ""
    return f"{la:.4f}, {lo:.4f}" if math.isfinite(la) and math.isfinite(lo) else ""


# ---------------------------------------------------------------------------------------------
# The patient's view: the nearest sites as cards, each with a next step (call, write, go)


@dataclass(frozen=True)
class Link:
    """A link the page shows: a label (plain text) and a URL built by this module."""

    label: str
    url: str


@dataclass(frozen=True)
class ContactInfo:
    """One contact, ready to show: its text and, when the text is a usable number or
    address, a `tel:` or `mailto:` URL (None otherwise: the text is shown without a link)."""

    name: str
    role: str
    phone: str
    phone_url: str | None
    email: str
    email_url: str | None


@dataclass(frozen=True)
class SiteCard:
    """One site as a patient sees it: where it is, how far, whether it recruits, whom to call."""

    site_id: str
    facility: str
    city: str
    address: str  # city, region, postcode, country
    status: str  # in plain words; "" when the record gives none
    status_open: bool | None  # None when no status is given
    distance: str  # e.g. "95 km"; "" without a place search
    basis: str  # what the distance is measured to: "city centre", "region centre"... or ""
    approximate: bool  # the point is coarser than a city
    to_check: bool  # the point is flagged for review: it may be more than 25 km off
    contacts: tuple[ContactInfo, ...]
    study_contacts: bool  # the contacts are the study's own, as the site lists none
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Notice:
    """A line the page shows as an info or warning box (`kind` INFO or WARNING; plain text)."""

    kind: str
    text: str


def _valid_point(lat: Any, lon: Any) -> tuple[float, float] | None:
    """(lat, lon) as floats when both are finite and in range, else None."""
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return la, lo


def tel_url(phone: str) -> str | None:
    """A `tel:` URL for a phone number as written in a record ("+33 4 72 11 73 11",
    "1-800-718-1021 ext. 12"), or None when the text is not plainly a number.

    Only digits, "+", spaces, dashes, dots, parentheses and a trailing extension are accepted;
    the URL holds only "+", digits and ";ext=" (RFC 3966), so no text of the record reaches it.
    """
    text = str(phone).strip()
    if not text or len(text) > MAX_PHONE_CHARS:
        return None
    ext = ""
    extension = PHONE_EXTENSION.fullmatch(text)
    if extension:
        text, ext = extension["number"].strip(), extension["ext"]
        if ext.startswith("+"):
            # Some records put the country code in the extension field ("01.49.95.81.69",
            # phoneExt "+33"): not an extension, so the link dials the number as written.
            ext = ""
    if not PHONE_NUMBER.fullmatch(text):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return None
    plus = "+" if text.startswith("+") else ""
    return f"tel:{plus}{digits}" + (f";ext={ext}" if ext else "")


def mailto_url(email: str) -> str | None:
    """A `mailto:` URL for a plain e-mail address, percent-encoded; None for anything else
    (several addresses, a name, a URL, a newline...)."""
    text = str(email).strip()
    if len(text) > MAX_EMAIL_CHARS or not EMAIL_ADDRESS.fullmatch(text):
        return None
    return "mailto:" + quote(text, safe="@")


def directions_url(origin: tuple[float, float], to: tuple[float, float]) -> str | None:
    """OpenStreetMap driving directions from `origin` to `to` (both (lat, lon)); None when a
    point is not a valid coordinate."""
    start, end = _valid_point(*origin), _valid_point(*to)
    if start is None or end is None:
        return None
    route = f"{start[0]:.5f},{start[1]:.5f};{end[0]:.5f},{end[1]:.5f}"
    return OSM_DIRECTIONS + quote(route, safe="")


def osm_map_url(point: tuple[float, float]) -> str | None:
    """An OpenStreetMap page with a marker at `point` (lat, lon); None when it is not valid."""
    valid = _valid_point(*point)
    if valid is None:
        return None
    lat, lon = f"{valid[0]:.5f}", f"{valid[1]:.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={OSM_MAP_ZOOM}/{lat}/{lon}"


def google_maps_url(*parts: str) -> str | None:
    """A Google Maps search for a site by its name and address (which finds the building,
    where our point is only the city's centre); None when there is nothing to search for."""
    query = ", ".join(p for p in (" ".join(display_text(x).split()) for x in parts) if p)
    if not query:
        return None
    return GOOGLE_MAPS_SEARCH + quote(query[:MAX_MAP_QUERY_CHARS], safe="")


def study_url(nct_id: str) -> str | None:
    """The study's page on ClinicalTrials.gov, only for a well-formed NCT ID."""
    return f"https://clinicaltrials.gov/study/{nct_id}" if is_nct_id(str(nct_id)) else None


def markdown_link(label: str, url: str | None) -> str:
    """`[label](url)` for `st.markdown`, the label escaped; just the escaped label when the URL
    is missing or is not one this module builds (a checked scheme, no character that could end
    the link or start markup)."""
    text = escape_markdown(shorten(label, 120))
    if not url or not SAFE_URL.fullmatch(url):
        return text
    return f"[{text}]({url})"


def centre_words(precision: str) -> str:
    """What a distance is measured to, for a point of this precision ("" when not placed)."""
    return {
        Precision.CITY: "city centre",
        Precision.DISTRICT: "district centre",
        Precision.REGION: "region centre",
        Precision.COUNTRY: "country centre",
    }.get(display_text(precision).strip().lower(), "")


def is_flagged(needs_review: Any) -> bool:
    """Whether a row's `needs_review` cell asks a person to check its point (an unreadable
    cell does not)."""
    try:
        return to_bool(needs_review)
    except ValueError:
        return False


def location_note(precision: str, needs_review: Any = False) -> str:
    """A plain note for a point that may be off: coarser than a city ("approximate: region
    centre"), or flagged for a person to check (", to be checked"); "" for a point we trust."""
    flagged = is_flagged(needs_review)
    words = centre_words(precision)
    coarse = bool(words) and display_text(precision).strip().lower() != Precision.CITY
    if coarse:
        return f"approximate: {words}" + (", to be checked" if flagged else "")
    return TO_CHECK if flagged else ""


def patient_distance(distance_km: float, units: str) -> str:
    """A distance as a patient reads it: whole km or mi ("95 km", "1,204 mi"; "less than 1 km"
    for a site in the searched town); our points are town centres, so decimals would claim a
    precision we do not have."""
    value = round(from_km(float(distance_km), units))
    return f"less than 1 {units}" if value < 1 else f"{value:,} {units}"


def site_address(row: dict[str, Any] | pd.Series, site: Site | None = None) -> str:
    """City, region (without the registry's bracketed key), postcode and country."""
    parts = (
        display_text(row.get(Col.CITY)),
        strip_region_key(display_text(row.get(Col.STATE))),
        site.zip if site else "",
        display_text(row.get(Col.COUNTRY)),
    )
    return ", ".join(p for p in (x.strip() for x in parts) if p)


def contact_info(contact: Contact) -> ContactInfo:
    """A record's contact with its links (a role such as CONTACT says nothing and is dropped)."""
    role = humanize(contact.role)
    return ContactInfo(
        name=contact.name,
        role="" if role.lower() in {"", "contact"} else role,
        phone=contact.phone,
        phone_url=tel_url(contact.phone),
        email=contact.email,
        email_url=mailto_url(contact.email),
    )


def site_card(
    row: dict[str, Any] | pd.Series,
    trial: Trial,
    origin: tuple[float, float] | None = None,
    units: str | None = None,
) -> SiteCard:
    """One row of the site table as a card: address, status, distance, contacts (the site's,
    else the study's own), directions from the searched place (else a map) and the study page."""
    site_id = display_text(row.get(Col.SITE_ID))
    site = find_site(trial, site_id) if site_id else None
    facility = display_text(row.get(Col.FACILITY)) or "(unnamed site)"
    city = display_text(row.get(Col.CITY))
    country = display_text(row.get(Col.COUNTRY))
    status = display_text(row.get(Col.STATUS)).strip()
    precision = display_text(row.get(Col.PRECISION))
    distance = row.get(Col.DISTANCE_KM)
    shown = ""
    if units is not None and distance is not None and not pd.isna(distance):
        shown = patient_distance(float(distance), units)
    own = site.contacts if site else ()
    contacts = own or trial.central_contacts
    point = _valid_point(row.get(Col.LATITUDE), row.get(Col.LONGITUDE))
    links: list[Link] = []
    # Directions only between two different points: a site placed at the searched town's own
    # centre would get an empty route (the map link, and the map search by name, remain).
    if point is not None and origin is not None and distance_km(*origin, *point) >= 1:
        route = directions_url(origin, point)
        if route:
            links.append(Link("Directions (OpenStreetMap)", route))
    elif point is not None:
        where = osm_map_url(point)
        if where:
            links.append(Link("Map (OpenStreetMap)", where))
    search = google_maps_url(display_text(row.get(Col.FACILITY)), city, country)
    if search:
        links.append(Link("Find it on Google Maps", search))
    study = study_url(trial.nct_id)
    if study:
        links.append(Link("Study page (ClinicalTrials.gov)", study))
    return SiteCard(
        site_id=site_id,
        facility=facility,
        city=city,
        address=site_address(row, site),
        status=plain_status(status),
        status_open=is_open_status(status) if status else None,
        distance=shown,
        basis=centre_words(precision),
        approximate=bool(location_note(precision)),
        to_check=is_flagged(row.get(Col.NEEDS_REVIEW)),
        contacts=tuple(contact_info(c) for c in contacts),
        study_contacts=not own and bool(contacts),
        links=tuple(links),
    )


def contact_markdown(contact: ContactInfo) -> str:
    """One contact as a Markdown line: name (role) · phone link · e-mail link (text escaped)."""
    who = escape_markdown(contact.name) if contact.name else ""
    if who and contact.role:
        who += f" \\({escape_markdown(contact.role)}\\)"
    parts = [who] if who else []
    if contact.phone:
        parts.append("phone " + markdown_link(contact.phone, contact.phone_url))
    if contact.email:
        parts.append("email " + markdown_link(contact.email, contact.email_url))
    return " · ".join(parts)


def next_step_lines(card: SiteCard) -> list[str]:
    """Whom to contact and where to go, as Markdown lines: the site's contacts (else the
    study's own, said so), then directions, a map search and the study page as links."""
    lines: list[str] = []
    if card.contacts:
        label = "Study contact" if card.study_contacts else "Contact"
        for contact in card.contacts:
            text = contact_markdown(contact)
            if text:
                lines.append(f"{label}: {text}")
    else:
        lines.append("No contact is listed in this record; see the study page.")
    if card.links:
        lines.append(" · ".join(markdown_link(link.label, link.url) for link in card.links))
    return lines


def markdown_list(items: Sequence[str]) -> str:
    """Untrusted strings as a bulleted Markdown list, every item escaped ("" for none)."""
    return "\n".join(f"- {escape_markdown(i)}" for i in items)


def card_markdown(card: SiteCard, number: int | None = None) -> str:
    """A card as one Markdown block of short lines (fits a 390 px phone; every record text is
    escaped, every link built here)."""
    head = f"{number}\\. " if number is not None else ""
    lines = [f"**{head}{escape_markdown(card.facility)}**"]
    if card.address:
        lines.append(escape_markdown(card.address))
    # No status: nothing to say per site (the trial's own status is shown above the list).
    facts = [f"**{escape_markdown(card.status)}**"] if card.status else []
    if card.distance:
        if card.approximate:
            facts.append(
                f"about {card.distance} away, to the {card.basis} "
                "\\(the town could not be placed\\)"
            )
        elif card.basis:
            where = f"centre of {escape_markdown(card.city)}" if card.city else card.basis
            facts.append(f"{card.distance} away, to the {where}")
        else:
            facts.append(f"{card.distance} away")
        if card.to_check and not card.approximate:  # an approximate point says so already
            facts[-1] += " \\(its location is to be checked\\)"
    if facts:
        lines.append(" · ".join(facts))
    lines.extend(next_step_lines(card))
    return "  \n".join(lines)


# What a distance on a card means (said under every list of nearest sites).
DISTANCE_NOTE = (
    "Distances are in a straight line to each site's town or city centre, not to its street "
    "address."
)
# Between two cards of the nearest-sites list (a thematic break: a blank line before it, so it
# never underlines the line above as a heading).
CARD_SEPARATOR = "\n\n---\n\n"


def cards_markdown(cards: Sequence[SiteCard]) -> str:
    """The nearest-sites list as one Markdown block: the cards numbered from 1, a rule between
    two (one element for the page to send, not one per card)."""
    return CARD_SEPARATOR.join(card_markdown(card, n) for n, card in enumerate(cards, start=1))


# Statuses under which a patient can join now (the rest of OPEN_STATUSES open later).
JOINABLE_NOW = frozenset({"RECRUITING", "ENROLLING_BY_INVITATION", "AVAILABLE"})


def _status_rank(status: Any) -> int:
    """Sites a patient can join now first, then those about to recruit, then those with no
    status, then closed ones."""
    text = display_text(status).strip()
    if not text:
        return 2
    if status_code(text) in JOINABLE_NOW:
        return 0
    return 1 if is_open_status(text) else 3


def nearest_order(
    statuses: Sequence[Any], distances: Sequence[float], limit: int = NEAREST_CARDS
) -> list[int]:
    """Which rows to list first, as indexes into `statuses` and `distances` (one per row, in
    km, NaN when the row has no point): those recruiting now, then those about to, then those
    with no status, then closed ones; nearest first within each (ties in the order given).
    The nearest row is always listed. Rows with no distance are left out."""
    ranked = sorted(
        (i for i, d in enumerate(distances) if not math.isnan(d)),
        key=lambda i: (_status_rank(statuses[i]), distances[i], i),
    )
    picked = ranked[:limit]
    if ranked and limit > 0:
        # The nearest site (the answer line's) always has a card, last when its status puts
        # it further down: a patient may still call it, or ask when it opens.
        nearest = min(ranked, key=lambda i: (distances[i], i))
        if nearest not in picked:
            picked = [*picked[: limit - 1], nearest]
    return picked


def records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts of Python values (what `to_dict(orient="records")` gives,
    about four times faster on a few rows: this runs on every rerun with a place)."""
    columns = list(rows.columns)
    return [dict(zip(columns, values, strict=True)) for values in rows.to_numpy(dtype=object)]


def answer_text(card: SiteCard) -> str:
    """The one-line answer: "Nearest site: Hôpital X, Lyon — 3 km (city centre)" (plain text),
    with the site's status after a "·" when the record gives one."""
    where = ", ".join(p for p in (card.facility, card.city) if p)
    text = f"Nearest site: {where}"
    if card.distance:
        text += f" — {card.distance}"
        if card.approximate:
            text += f" (approximate: {card.basis})"
        elif card.basis:
            text += f" ({card.basis})"
        if card.to_check and not card.approximate:
            text += f" ({TO_CHECK})"
    if card.status:
        text += f" · {card.status}"
    return text


def trial_status_banner(status: str) -> Notice | None:
    """What a patient must know first when the trial itself does not recruit (None when it
    recruits or the record does not say)."""
    code = status_code(status)
    if not code or code in {"RECRUITING", "AVAILABLE"}:
        return None
    words = plain_status(status)
    if code == "NOT_YET_RECRUITING":
        return Notice(
            INFO,
            f"This trial has not started recruiting yet (status: {words}). "
            "Sites are shown for reference; ask a site when it opens.",
        )
    if code == "ENROLLING_BY_INVITATION":
        return Notice(
            INFO,
            f"This trial enrols by invitation only (status: {words}). "
            "Ask the study team whether you can take part.",
        )
    return Notice(
        WARNING, f"This trial is not recruiting (status: {words}). Sites are shown for reference."
    )


def nearest_site_banner(nearest: SiteCard, listed: Sequence[SiteCard]) -> Notice | None:
    """A line when the nearest site does not recruit now, saying where the list goes on (None
    when it recruits or gives no status). `listed` are the cards the page shows."""
    if nearest.status_open is None:
        return None
    code = status_code(nearest.status)
    now = any(status_code(card.status) in JOINABLE_NOW for card in listed)
    if code == "NOT_YET_RECRUITING":
        text = "The nearest site has not started recruiting yet."
        return Notice(INFO, text + (" Sites recruiting now are listed first below." if now else ""))
    if nearest.status_open:
        return None
    text = f"The nearest site is not recruiting (status: {nearest.status})."
    if now:
        text += " Sites recruiting now are listed first below."
    elif any(card.status_open for card in listed):
        text += " Sites about to recruit are listed first below."
    else:
        text += " None of the sites listed below is recruiting."
    return Notice(WARNING, text)


def upload_note(name: str) -> str:
    """What the page says while an uploaded record is shown (plain text)."""
    return f"Showing your uploaded file {shorten(name)} — not saved; the link does not include it."


def sites_per_country(table: pd.DataFrame) -> pd.DataFrame:
    """Sites counted per country, most first (ties alphabetical), columns country, sites."""
    if table.empty:
        return pd.DataFrame({"country": pd.Series(dtype=str), "sites": pd.Series(dtype=int)})
    counts = table[Col.COUNTRY].map(display_text).value_counts()
    out = counts.rename_axis("country").reset_index(name="sites")
    return out.sort_values(
        ["sites", "country"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def sites_per_country_spec(n_countries: int) -> dict[str, Any]:
    """A Vega-Lite horizontal bar chart of `sites_per_country`: every country named (none
    skipped to avoid overlap: each bar gets BAR_HEIGHT_PX), its count written after its bar,
    and an axis that counts whole sites.

    Bars keep the table's order (most first, ties alphabetical): `sort: None`. A plain spec
    rather than st.bar_chart: that goes through Altair's schema validation, which cost
    ~50 ms on every rerun for a 24-bar chart.
    """
    return {
        "height": max(BAR_HEIGHT_PX * n_countries, BAR_HEIGHT_PX),
        "encoding": {
            "y": {
                "field": "country",
                "type": "nominal",
                "sort": None,
                "title": None,
                "axis": {"labelOverlap": False, "labelLimit": COUNTRY_LABEL_LIMIT_PX},
            },
            "x": {
                "field": "sites",
                "type": "quantitative",
                "title": "sites",
                "axis": {"tickMinStep": 1, "format": "d"},
            },
        },
        "layer": [
            {"mark": {"type": "bar", "tooltip": True, "aria": False}},
            {
                "mark": {
                    "type": "text",
                    "align": "left",
                    "baseline": "middle",
                    "dx": 4,
                    "aria": False,
                },
                "encoding": {"text": {"field": "sites", "type": "quantitative", "format": "d"}},
            },
            # Invisible: stretches the axis past the longest bar so its count fits after it.
            {
                "transform": [{"calculate": f"datum.sites * {VALUE_ROOM}", "as": "room"}],
                # Marks are not read out one by one: the table beside the chart says the same.
                "mark": {"type": "point", "opacity": 0, "aria": False},
                "encoding": {"x": {"field": "room", "type": "quantitative", "title": "sites"}},
            },
        ],
    }
