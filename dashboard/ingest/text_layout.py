"""Parse the ClinicalTrials.gov text layout (as in `data/NCT04270409.txt`) into a `Trial`.

The parser knows the layout's fixed headings and the explanation sentence under each, so page
wording never becomes data. A malformed record raises RecordError naming the line and what was
expected; a suspicious but readable one parses, with a `Diagnostic` for each doubt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from dashboard.errors import Diagnostic, RecordError
from dashboard.ingest.common import (
    Line,
    criteria_items,
    parse_iso_date,
    split_facility,
    unescape,
    unknown_country,
)
from dashboard.ingest.countries import alpha2_for_numeric, exact_country_code, numeric_code
from dashboard.model import (
    NCT_ID_TEXT,
    Arm,
    Design,
    Eligibility,
    Identifier,
    Intervention,
    Investigator,
    RelatedTrial,
    Site,
    Sponsor,
    Trial,
    is_nct_id,
    with_site_ids,
)

SITE_NUMBER_DIGITS = 7  # Sanofi-style numbers: 3-digit ISO numeric country + 4-digit serial
SITE_NUMBER_SCHEME_SHARE = 0.5  # the scheme counts as "in use" when this share of numbers fit it
MAX_COUNTRY_WORDS = 8  # longest country name, in words, tried when splitting the Countries list

# Section headings of the text layout, in the order the layout prints them.
HEADINGS: tuple[str, ...] = (
    "Study Results",
    "Basic Information",
    "Recruitment Status",
    "Clinical Phase",
    "Total Enrollment",
    "Study Classification",
    "Study Start Date",
    "Study Completion Date",
    "Brief Summary",
    "Detailed Description",
    "Conditions",
    "Study Design",
    "Allocation Method",
    "Intervention Model",
    "Primary Study Purpose",
    "Blinding Strategy",
    "Study Groups",
    "Interventions",
    "Other Intervention Names",
    "Eligibility Criteria",
    "Minimum Eligible Age",
    "Maximum Eligible Age",
    "Eligible Sex",
    "Accepts Healthy Volunteers",
    "Sponsors",
    "Responsible Party",
    "Principal Investigators",
    "Locations",
    "Countries",
    "Related Links",
    "Other Identifiers",
    "More Related Trials",
)

# The fixed sentence the layout prints under a heading: page furniture, never data.
HEADING_EXPLANATIONS: dict[str, str] = {
    "Basic Information": "Get a concise snapshot of the trial, including recruitment status, "
    "study phase, enrollment targets, and key timeline milestones.",
    "Brief Summary": "Review the sponsor-provided synopsis that highlights what the study is "
    "about and why it is being conducted.",
    "Detailed Description": "Dive into the extended narrative that explains the scientific "
    "background, objectives, and procedures in greater depth.",
    "Conditions": "See the medical conditions and disease areas that this research is "
    "targeting or investigating.",
    "Study Design": "Understand how the trial is structured, including allocation methods, "
    "masking strategies, primary purpose, and other design elements.",
    "Study Groups": "Review each arm or cohort in the study, along with the interventions and "
    "objectives associated with them.",
    "Interventions": "Learn about the drugs, procedures, or behavioral strategies being tested "
    "and how they are applied within this trial.",
    "Other Intervention Names": "Discover alternative or legacy names that may be used to "
    "describe the listed interventions across different sources.",
    "Eligibility Criteria": "Check the participation requirements, including inclusion and "
    "exclusion rules, age limits, and whether healthy volunteers are accepted.",
    "Sponsors": "Meet the organizations funding or collaborating on the study and learn about "
    "their roles.",
    "Responsible Party": "Identify the individual or organization who holds primary "
    "responsibility for the study information submitted to regulators.",
    "Principal Investigators": "Learn about the lead researchers overseeing the trial and their "
    "institutional affiliations.",
    "Locations": "Explore where the study is taking place and check the recruitment status at "
    "each participating site.",
    "Countries": "Review the countries where the study has at least one active or historical site.",
    "Related Links": "Access external resources that provide additional context or updates "
    "about the study.",
    "Other Identifiers": "Review additional registry numbers or institutional identifiers "
    "associated with this trial.",
    "More Related Trials": "Additional clinical trials that may be relevant based on similarity "
    "analysis.",
}

# Every sentence of page furniture: the explanations plus the results placeholder and the
# disclaimer printed after the eligibility criteria.
LAYOUT_TEXTS: frozenset[str] = frozenset(
    {
        *HEADING_EXPLANATIONS.values(),
        "Results pending",
        "The study team has not published outcome measurements, participant flow, or safety "
        "data for this trial yet. Check back later for updates.",
        "The above information is not intended to contain all considerations relevant to a "
        "potential participation in a clinical trial.",
    }
)

# Sections the layout prints at the end of every record, even when they are empty.
CLOSING_HEADINGS: tuple[str, ...] = ("Related Links", "Other Identifiers", "More Related Trials")

SITE_STATUSES: frozenset[str] = frozenset(
    {
        "RECRUITING",
        "NOT_YET_RECRUITING",
        "ACTIVE_NOT_RECRUITING",
        "COMPLETED",
        "WITHDRAWN",
        "TERMINATED",
        "SUSPENDED",
        "ENROLLING_BY_INVITATION",
        "AVAILABLE",
        "NO_LONGER_AVAILABLE",
        "TEMPORARILY_NOT_AVAILABLE",
        "APPROVED_FOR_MARKETING",
        "WITHHELD",
        "UNKNOWN",
    }
)

SPONSOR_KINDS: frozenset[str] = frozenset(
    {"INDUSTRY", "NIH", "FED", "OTHER_GOV", "INDIV", "NETWORK", "OTHER", "AMBIG", "UNKNOWN"}
)

_NCT_LINE = re.compile(r"^NCT ID:\s*(?P<id>\S*)\s*$")
_UPDATED_LINE = re.compile(r"^Last Updated:\s*(?P<date>.*?)\s*$")
_ENROLLMENT = re.compile(r"^(?P<n>\d[\d,]*)(?:\s+(?:participants?|patients?|subjects?))?$", re.I)
_STATUS_LINE = re.compile(r"^Site Status(?:\s*:?\s*(?P<status>\S.*?))?\s*$")
# Postal codes as registries write them: digits (75010, 02905, 1090, 00-001), UK (EC1A 7BE),
# Canada (M5G 2A2), Netherlands (1012 AB), prefixed (SE-123 45). Not "Praha 4", a district.
_POSTCODE = re.compile(
    r"^(?:(?:[A-Z]{1,2}-)?\d{3,6}(?:[ -]?\d{2,4})?(?: ?[A-Z]{2})?|\d{2}-\d{3}"
    r"|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"
    r"|[A-Z]\d[A-Z] ?\d[A-Z]\d)$"
)
_RELATED = re.compile(rf"^(?P<id>{NCT_ID_TEXT})\b\s*(?P<rest>.*)$")
_HTML_START = re.compile(r"^\s*<(?:!doctype\s+html|html\b|\?xml|head\b|body\b)", re.I)


# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# Splitting the text into sections


def _heading_indices(lines: Sequence[Line]) -> set[int]:
    """Which lines open a section: a heading's first occurrence, unless a later one is
    followed by the heading's explanation sentence (then the earlier was data)."""
    candidates: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        text = line.text.strip()
        if text in HEADINGS:
            candidates.setdefault(text, []).append(i)
    chosen: set[int] = set()
    for heading, indices in candidates.items():
        explanation = HEADING_EXPLANATIONS.get(heading)
        explained = [
            i
            for i in indices
            if explanation and i + 1 < len(lines) and lines[i + 1].text.strip() == explanation
        ]
        chosen.add(explained[0] if explained else indices[0])
    return chosen


def _split_sections(lines: Sequence[Line]) -> dict[str, tuple[Line, list[Line]]]:
    """Heading -> (heading line, its content lines without layout sentences)."""
    sections: dict[str, tuple[Line, list[Line]]] = {}
    openers = _heading_indices(lines)
    current: list[Line] | None = None
    for i, line in enumerate(lines):
        if i in openers:
            current = []
            sections[line.text.strip()] = (line, current)
            continue
        if current is None or line.text.strip() in LAYOUT_TEXTS:
            continue
        current.append(line)
    return sections


def _value(sections: dict[str, tuple[Line, list[Line]]], heading: str) -> tuple[str, int]:
    """A one-value section's text (lines joined by a space) and the line it starts on."""
    if heading not in sections:
        return "", 0
    head, body = sections[heading]
    if not body:
        return "", head.no
    return unescape(" ".join(line.text for line in body)), body[0].no


def _paragraphs(body: Sequence[Line]) -> str:
    """Free text: lines in one block joined by newlines, blocks by a blank line."""
    blocks: list[list[str]] = []
    previous = -1
    for line in body:
        if not blocks or line.no > previous + 1:
            blocks.append([])
        blocks[-1].append(unescape(line.text))
        previous = line.no
    return "\n\n".join("\n".join(block) for block in blocks)


def _parse_date(text: str, line: int, path: str, what: str) -> date | None:
    """YYYY-MM-DD (or the registry's YYYY-MM, read as the 1st) -> date."""
    if not text:
        return None
    parsed = parse_iso_date(text)
    if parsed is not None:
        return parsed
    raise RecordError(path, line, f"expected {what} as YYYY-MM-DD, found {text!r}")


# ---------------------------------------------------------------------------------------------
# Sections


def _parse_phases(text: str) -> tuple[str, ...]:
    """'PHASE1, PHASE2' / 'PHASE2 PHASE3' / 'NA' -> ('PHASE1', 'PHASE2')..."""
    return tuple(p.upper() for p in re.split(r"[\s,/]+", text) if p)


def _parse_enrollment(text: str, line: int, path: str) -> int | None:
    """'337 participants' -> 337."""
    if not text:
        return None
    match = _ENROLLMENT.match(text)
    if not match:
        raise RecordError(path, line, f"expected enrollment as 'N participants', found {text!r}")
    return int(match["n"].replace(",", ""))


def _parse_bool(text: str, line: int, path: str) -> bool | None:
    """Yes/No -> True/False ("" -> None)."""
    if not text:
        return None
    lowered = text.strip().lower()
    if lowered in {"yes", "true"}:
        return True
    if lowered in {"no", "false"}:
        return False
    raise RecordError(path, line, f"expected Yes or No, found {text!r}")


def _split_on(
    body: Sequence[Line], prefix: str
) -> tuple[list[Line], list[tuple[Line, list[Line]]]]:
    """Lines before the first `prefix` line, then each `prefix` line with the lines after it."""
    head: list[Line] = []
    groups: list[tuple[Line, list[Line]]] = []
    for line in body:
        if line.text.startswith(prefix):
            groups.append((line, []))
        elif groups:
            groups[-1][1].append(line)
        else:
            head.append(line)
    return head, groups


def _after(line: Line, prefix: str) -> str:
    """The value after a `Prefix X` line."""
    return unescape(line.text[len(prefix) :].strip(" :"))


def _parse_interventions(body: Sequence[Line]) -> tuple[Intervention, ...]:
    """Blocks of: name, description lines, 'Intervention Type X'."""
    result: list[Intervention] = []
    pending: list[Line] = []
    for line in body:
        if line.text.startswith("Intervention Type"):
            if pending:
                name, *desc = pending
                result.append(
                    Intervention(
                        name=unescape(name.text),
                        type=_after(line, "Intervention Type"),
                        description=_paragraphs(desc),
                    )
                )
            pending = []
        else:
            pending.append(line)
    for line in pending:  # a name without a type line: keep it rather than drop it
        result.append(Intervention(name=unescape(line.text)))
    return tuple(result)


def _parse_arms(body: Sequence[Line], known: Sequence[Intervention], path: str) -> tuple[Arm, ...]:
    """Arms: label, description, 'Group Type X', then interventions (name, type, description).

    Between an arm's last intervention type and the next 'Group Type' sit that intervention's
    description, the next arm's label and its description. The Interventions section says how
    many lines the description has; without it one line is assumed when three or more remain.
    """
    desc_lines = {iv.name: sum(1 for text in iv.description.splitlines() if text) for iv in known}
    groups = [i for i, line in enumerate(body) if line.text.startswith("Group Type")]
    arms: list[Arm] = []
    start = 0  # where the current arm's label segment begins
    for k, g in enumerate(groups):
        segment = list(body[start:g])
        if k > 0 and arms and arms[-1].interventions:
            last = arms[-1].interventions[-1]
            skip = desc_lines.get(last)
            if skip is None:
                skip = 1 if len(segment) >= 3 else 0
            skip = min(skip, max(len(segment) - 1, 0))
            segment = segment[skip:]
        if not segment:
            raise RecordError(path, body[g].no, "expected an arm label before 'Group Type'")
        end = groups[k + 1] if k + 1 < len(groups) else len(body)
        names: list[str] = []
        last_type = None
        for i in range(g + 1, end):
            if body[i].text.startswith("Intervention Type"):
                name_index = i - 1
                if name_index <= g or body[name_index].text.startswith("Intervention Type"):
                    raise RecordError(
                        path, body[i].no, "expected an intervention name before this line"
                    )
                names.append(unescape(body[name_index].text))
                last_type = i
        arms.append(
            Arm(
                label=unescape(segment[0].text),
                type=_after(body[g], "Group Type"),
                description=_paragraphs(segment[1:]),
                interventions=tuple(names),
            )
        )
        start = last_type + 1 if last_type is not None else g + 1
    return tuple(arms)


def _parse_eligibility(sections: dict[str, tuple[Line, list[Line]]], path: str) -> Eligibility:
    """Inclusion/exclusion bullets plus age, sex and healthy-volunteer values."""
    body = sections.get("Eligibility Criteria", (None, []))[1]
    inclusion: list[Line] = []
    exclusion: list[Line] = []
    target: list[Line] | None = None
    loose: list[Line] = []
    for line in body:
        key = line.text.rstrip(":").strip().lower()
        if key == "inclusion criteria":
            target = inclusion
        elif key == "exclusion criteria":
            target = exclusion
        elif target is None:
            loose.append(line)
        else:
            target.append(line)
    split = bool(inclusion or exclusion)
    healthy, line = _value(sections, "Accepts Healthy Volunteers")
    return Eligibility(
        inclusion=tuple(criteria_items(inclusion)),
        exclusion=tuple(criteria_items(exclusion)),
        minimum_age=_value(sections, "Minimum Eligible Age")[0],
        maximum_age=_value(sections, "Maximum Eligible Age")[0],
        sex=_value(sections, "Eligible Sex")[0],
        healthy_volunteers=_parse_bool(healthy, line, path),
        # Criteria that are not split into lists are kept whole; text before the lists, too.
        text=_paragraphs(loose) if split else _paragraphs(body),
    )


def _parse_sponsors(body: Sequence[Line]) -> tuple[Sponsor, ...]:
    """Blocks of: name, KIND, 'Sponsor Role lead'."""
    sponsors: list[Sponsor] = []
    pending: list[str] = []
    for line in body:
        if line.text.startswith("Sponsor Role"):
            kind = ""
            if pending and pending[-1] in SPONSOR_KINDS:
                kind = pending.pop()
            sponsors.append(
                Sponsor(name=" ".join(pending), kind=kind, role=_after(line, "Sponsor Role"))
            )
            pending = []
        else:
            pending.append(unescape(line.text))
    if pending:  # a sponsor without a role line
        kind = pending.pop() if len(pending) > 1 and pending[-1] in SPONSOR_KINDS else ""
        sponsors.append(Sponsor(name=" ".join(pending), kind=kind))
    return tuple(sponsors)


def _parse_responsible(body: Sequence[Line]) -> str:
    """'Responsibility Role SPONSOR' (plus any names) -> 'SPONSOR'."""
    parts: list[str] = []
    for line in body:
        if line.text.startswith("Responsibility Role"):
            parts.insert(0, _after(line, "Responsibility Role"))
        else:
            parts.append(unescape(line.text))
    return ", ".join(p for p in parts if p)


def _parse_investigators(body: Sequence[Line]) -> tuple[Investigator, ...]:
    """Blocks of: name, 'Role: X', affiliation."""
    head, groups = _split_on(body, "Role:")
    people: list[Investigator] = []
    name_lines = head
    for i, (role_line, after) in enumerate(groups):
        last = i == len(groups) - 1
        affiliation = after if last else after[:-1]
        nxt = [] if last else after[-1:]
        people.append(
            Investigator(
                name=" ".join(unescape(x.text) for x in name_lines),
                role=_after(role_line, "Role:"),
                affiliation=" ".join(unescape(x.text) for x in affiliation),
            )
        )
        name_lines = nxt
    if not groups:
        people.extend(Investigator(name=unescape(x.text)) for x in head)
    return tuple(people)


def _parse_identifiers(body: Sequence[Line]) -> tuple[Identifier, ...]:
    """Blocks of: id, 'Identifier Type: X', 'Identifier Source: Y' ('-' means empty)."""
    found: list[dict[str, str]] = []
    for line in body:
        if line.text.startswith("Identifier Type:") and found:
            found[-1]["type"] = _after(line, "Identifier Type:")
        elif line.text.startswith("Identifier Source:") and found:
            found[-1]["source"] = _after(line, "Identifier Source:")
        elif line.text.startswith("Identifier ") and ":" in line.text and found:
            continue  # e.g. a link line some renderings add; not in the model
        else:
            found.append({"id": unescape(line.text)})

    def clean(value: str) -> str:
        return "" if value.strip() == "-" else value.strip()

    return tuple(
        Identifier(
            id=clean(f["id"]), type=clean(f.get("type", "")), source=clean(f.get("source", ""))
        )
        for f in found
    )


def _parse_related(body: Sequence[Line]) -> tuple[RelatedTrial, ...]:
    """Pairs of: title line, 'NCT######## STATUS PHASE...' line."""
    trials: list[RelatedTrial] = []
    title: list[str] = []
    for line in body:
        match = _RELATED.match(line.text)
        if match:
            words = match["rest"].split()
            status = words[0] if words and words[0] in SITE_STATUSES else ""
            phases = tuple(words[1:] if status else words)
            trials.append(
                RelatedTrial(
                    nct_id=match["id"], title=" ".join(title), status=status, phases=phases
                )
            )
            title = []
        else:
            title.append(unescape(line.text))
    return tuple(trials)


# ---------------------------------------------------------------------------------------------
# Locations


def _split_address(text: str) -> tuple[str, str, str, str, str] | None:
    """'City, State, Country' -> (city, state, zip, country, code); None if no country ends it."""
    parts = [p.strip() for p in text.split(",")]
    for width in (2, 1):  # "Korea, Republic of" spans two comma-separated elements
        if len(parts) < width:
            continue
        country = ", ".join(parts[-width:])
        code = exact_country_code(country)
        if not code:
            continue
        before = parts[:-width]
        city = before[0] if before else ""
        middle = before[1:]
        postcode = ""
        if middle and _POSTCODE.match(middle[-1]):
            postcode = middle.pop()
        state = ", ".join(middle).strip(", ")
        return city, state, postcode, country, code
    return None


def _parse_sites(body: Sequence[Line], path: str) -> tuple[tuple[Site, ...], list[int]]:
    """Site blocks: facility, 'City, State, Country', 'Site Status' [STATUS]."""
    sites: list[Site] = []
    site_lines: list[int] = []
    block: list[Line] = []
    i = 0
    while i < len(body):
        line = body[i]
        match = _STATUS_LINE.match(line.text)
        if not match:
            block.append(line)
            i += 1
            continue
        status = (match["status"] or "").strip()
        if not status and i + 1 < len(body):
            candidate = body[i + 1].text.strip()
            if candidate in SITE_STATUSES:
                status = candidate
                i += 1
        sites.append(_make_site(block, line, status, path))
        site_lines.append(block[0].no if block else line.no)
        block = []
        i += 1
    if block:
        _raise_incomplete(block, path)
    return tuple(sites), site_lines


def _make_site(block: Sequence[Line], status_line: Line, status: str, path: str) -> Site:
    """One site from its facility and address lines."""
    if not block:
        raise RecordError(path, status_line.no, "expected a facility and address before this line")
    if len(block) > 2:
        # Either an address is missing between two facilities, or 'Site Status' is missing.
        if _split_address(block[1].text) is not None:
            raise RecordError(path, block[1].no, "expected 'Site Status' after this address line")
        raise RecordError(
            path, block[0].no, "expected an address line 'City, State, Country' after this facility"
        )
    address = block[-1]
    parsed = _split_address(unescape(address.text))
    if parsed is None and len(block) == 2 and "," in address.text:
        # A country no list knows ("Former Serbia and Montenegro", a typo): the site keeps the
        # text and no code, is not placed, and the parse goes on (a diagnostic says so).
        parts = [p.strip() for p in unescape(address.text).split(",")]
        middle = parts[1:-1]
        postcode = middle.pop() if middle and _POSTCODE.match(middle[-1]) else ""
        parsed = (parts[0], ", ".join(middle), postcode, parts[-1], "")
    if parsed is None:
        if len(block) == 1:
            raise RecordError(
                path,
                address.no,
                "expected an address line 'City, State, Country' after this facility",
            )
        raise RecordError(
            path,
            address.no,
            f"expected an address 'City, State, Country' ending in a known country, "
            f"found {address.text!r}",
        )
    city, state, postcode, country, code = parsed
    facility, number = split_facility(unescape(block[0].text)) if len(block) == 2 else ("", None)
    return Site(
        facility=facility,
        city=city,
        country=country,
        country_code=code,
        state=state,
        site_number=number,
        status=status,
        zip=postcode,
    )


def _raise_incomplete(block: Sequence[Line], path: str) -> None:
    """Lines after the last complete site: the record was cut off mid-site."""
    first = block[0]
    if len(block) == 1 and _split_address(block[0].text) is None:
        raise RecordError(
            path,
            first.no,
            "expected an address line 'City, State, Country' after this facility "
            "(record cut off mid-site?)",
        )
    raise RecordError(path, block[-1].no, "expected 'Site Status' to end this site")


def _check_site_numbers(sites: Sequence[Site], lines: Sequence[int], path: str) -> list[Diagnostic]:
    """A diagnostic where a 7-digit site number's ISO numeric prefix names another country.

    Only sponsors that number sites this way are checked: the scheme must fit at least
    SITE_NUMBER_SCHEME_SHARE of the record's 7-digit numbers, else other sponsors' serials
    that happen to start with a valid code would warn for nothing.
    """
    candidates = [
        (site, line)
        for site, line in zip(sites, lines, strict=True)
        if site.site_number
        and len(site.site_number) == SITE_NUMBER_DIGITS
        and site.site_number.isdigit()
        and alpha2_for_numeric(site.site_number[:3])
    ]
    if not candidates:
        return []
    fits = sum(1 for s, _ in candidates if numeric_code(s.country_code) == s.site_number[:3])
    if fits / len(candidates) < SITE_NUMBER_SCHEME_SHARE:
        return []
    found = []
    for site, line in candidates:
        prefix = site.site_number[:3]
        if numeric_code(site.country_code) != prefix:
            other = alpha2_for_numeric(prefix)
            found.append(
                Diagnostic(
                    f"{path}:{line}: site number {site.site_number} starts with {prefix} "
                    f"({other}) but the site is in {site.country} ({site.country_code})"
                )
            )
    return found


def _parse_countries(body: Sequence[Line], sites: Sequence[Site], path: str) -> tuple[str, ...]:
    """Space-separated names ('United States Australia Turkey (Türkiye)'): longest match first."""
    known = {s.country for s in sites}
    result: list[str] = []
    for line in body:
        words = unescape(line.text).split()
        i = 0
        while i < len(words):
            for width in range(min(MAX_COUNTRY_WORDS, len(words) - i), 0, -1):
                candidate = " ".join(words[i : i + width])
                if candidate in known or exact_country_code(candidate):
                    result.append(candidate)
                    i += width
                    break
            else:
                raise RecordError(
                    path, line.no, f"expected country names, found {words[i]!r} in Countries"
                )
    return tuple(result)


# ---------------------------------------------------------------------------------------------
# The whole record


def _numbered(text: str) -> list[Line]:
    """Non-blank lines with their 1-based numbers, trailing whitespace removed."""
    return [
        Line(no, raw.rstrip()) for no, raw in enumerate(text.splitlines(), start=1) if raw.strip()
    ]


def parse_text(text: str, path: str = "<text>") -> Trial:
    """Parse the ClinicalTrials.gov text layout into a `Trial`; RecordError says where it fails."""
    return parse_text_record(text, path)[0]


def parse_text_record(text: str, path: str = "<text>") -> tuple[Trial, list[Diagnostic]]:
    """The trial in the text layout, and what looked wrong in it without stopping the parse."""
    diagnostics: list[Diagnostic] = []
    lines = _numbered(text)
    if not lines:
        raise RecordError(path, None, "expected a trial record, found an empty file")
    if _HTML_START.match(lines[0].text):
        raise RecordError(
            path, lines[0].no, "expected a trial record, found an HTML page (save it as text)"
        )
    title_line = lines[0]
    if _NCT_LINE.match(title_line.text) or title_line.text in HEADINGS:
        raise RecordError(path, title_line.no, "expected the study title on the first line")
    nct_line = next(
        (ln for ln in lines[1:] if _NCT_LINE.match(ln.text) or ln.text in HEADINGS), None
    )
    if nct_line is None or not _NCT_LINE.match(nct_line.text):
        where = lines[1].no if len(lines) > 1 else title_line.no
        raise RecordError(
            path, where, "expected an 'NCT ID: NCT########' line: this is not a trial record"
        )
    nct_id = _NCT_LINE.match(nct_line.text)["id"]  # type: ignore[index]
    if not is_nct_id(nct_id):
        raise RecordError(
            path, nct_line.no, f"expected an NCT ID like NCT01234567, found {nct_id!r}"
        )
    if nct_line is not lines[1]:
        raise RecordError(
            path, lines[1].no, "expected the 'NCT ID:' line right after a one-line title"
        )

    updated: date | None = None
    for line in lines[2:4]:
        m = _UPDATED_LINE.match(line.text)
        if m:
            updated = _parse_date(m["date"], line.no, path, "Last Updated")

    sections = _split_sections(lines)

    def body(heading: str) -> list[Line]:
        return sections.get(heading, (None, []))[1]

    phases_text, _ = _value(sections, "Clinical Phase")
    enrollment_text, enrollment_line = _value(sections, "Total Enrollment")
    start_text, start_line = _value(sections, "Study Start Date")
    end_text, end_line = _value(sections, "Study Completion Date")
    interventions = _parse_interventions(body("Interventions"))
    arms = _parse_arms(body("Study Groups"), interventions, path)

    sites: tuple[Site, ...] = ()
    countries: tuple[str, ...] = ()
    if "Locations" in sections:
        loc_head, loc_body = sections["Locations"]
        sites, site_lines = _parse_sites(loc_body, path)
        if "Countries" not in sections:
            last = loc_body[-1].no if loc_body else loc_head.no
            raise RecordError(
                path, last + 1, "expected a 'Countries' section after Locations (record cut off?)"
            )
        diagnostics += _check_site_numbers(sites, site_lines, path)
        diagnostics += [
            Diagnostic(unknown_country(f"{path}:{line}", site.country))
            for site, line in zip(sites, site_lines, strict=True)
            if not site.country_code
        ]
    if "Countries" in sections:
        countries = _parse_countries(body("Countries"), sites, path)

    trial = Trial(
        nct_id=nct_id,
        title=unescape(title_line.text.strip()),
        status=_value(sections, "Recruitment Status")[0],
        phases=_parse_phases(phases_text),
        enrollment=_parse_enrollment(enrollment_text, enrollment_line, path),
        study_type=_value(sections, "Study Classification")[0],
        start_date=_parse_date(start_text, start_line, path, "Study Start Date"),
        completion_date=_parse_date(end_text, end_line, path, "Study Completion Date"),
        last_updated=updated,
        brief_summary=_paragraphs(body("Brief Summary")),
        detailed_description=_paragraphs(body("Detailed Description")),
        conditions=tuple(unescape(x.text.strip()) for x in body("Conditions")),
        design=Design(
            allocation=_value(sections, "Allocation Method")[0],
            intervention_model=_value(sections, "Intervention Model")[0],
            primary_purpose=_value(sections, "Primary Study Purpose")[0],
            masking=_value(sections, "Blinding Strategy")[0],
        ),
        arms=arms,
        interventions=interventions,
        other_intervention_names=tuple(
            unescape(x.text.strip()) for x in body("Other Intervention Names")
        ),
        eligibility=_parse_eligibility(sections, path),
        sponsors=_parse_sponsors(body("Sponsors")),
        responsible_party=_parse_responsible(body("Responsible Party")),
        investigators=_parse_investigators(body("Principal Investigators")),
        sites=with_site_ids(nct_id, sites),
        countries=countries,
        identifiers=_parse_identifiers(body("Other Identifiers")),
        related_trials=_parse_related(body("More Related Trials")),
    )
    _check_complete(sections, lines, path)
    return trial, diagnostics


def _check_complete(
    sections: dict[str, tuple[Line, list[Line]]], lines: Sequence[Line], path: str
) -> None:
    """The layout always ends with its identifier and related-trial sections (printed even
    when empty); a record that stops before them was cut off, and must not pass as whole."""
    if any(heading in sections for heading in CLOSING_HEADINGS):
        return
    last = max(sections.values(), key=lambda item: item[0].no)[0].text if sections else "the title"
    raise RecordError(
        path,
        lines[-1].no + 1,
        f"expected the record to go on to {' / '.join(CLOSING_HEADINGS)}; "
        f"it stops in {last!r} (record cut off?)",
    )
