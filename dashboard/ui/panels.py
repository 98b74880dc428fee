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

import pandas as pd

from dashboard.geo import format_distance
from dashboard.model import Contact, Site, Trial, is_nct_id
from dashboard.sites.table import Col, to_bool

# Everything Markdown (CommonMark + GitHub + Streamlit's extensions) may treat as syntax:
# emphasis, code, links, headings, lists, tables, HTML, math ($), colour/emoji directives (:).
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=])")
NOT_GIVEN = "not given"
# Text from a link or a record echoed back in a message is cut to this many characters.
ECHO_CHARS = 80
# Unicode bidirectional controls (LRE..RLO, LRI..PDI, LRM/RLM/ALM): they can reorder what a
# message shows around the echoed text, so they are removed before echoing.
BIDI_CONTROLS = dict.fromkeys(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
BAR_HEIGHT_PX = 18


@dataclass(frozen=True)
class SiteDetails:
    """What the page shows for one selected site."""

    facility: str
    rows: tuple[tuple[str, str], ...]
    contacts: tuple[Contact, ...] = ()


def escape_markdown(text: str) -> str:
    """Text that `st.markdown` shows literally (no links, emphasis, HTML or directives)."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


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
        ("Status", humanize(trial.status) or NOT_GIVEN),
        ("Phase", _phase(trial.phases)),
        ("Enrollment", enrollment or NOT_GIVEN),
        ("Study type", humanize(trial.study_type) or NOT_GIVEN),
        ("Start date", _date(trial.start_date)),
        ("Completion date", _date(trial.completion_date)),
        ("Last updated", _date(trial.last_updated)),
        ("Sponsor", trial.sponsor or NOT_GIVEN),
    ]


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
    """The selected site's facility, address, status, geocode and contacts."""
    state = display_text(row.get(Col.STATE))
    zip_code = site.zip if site else ""
    address = ", ".join(
        p
        for p in (
            display_text(row.get(Col.CITY)),
            state,
            zip_code,
            display_text(row.get(Col.COUNTRY)),
        )
        if p
    )
    lat, lon = row.get(Col.LATITUDE), row.get(Col.LONGITUDE)
    try:
        point = f"{float(lat):.4f}, {float(lon):.4f}" if lat is not None else ""
        if "nan" in point:
            point = ""
    except (TypeError, ValueError):
        point = ""
    precision = display_text(row.get(Col.PRECISION))
    geocoder = display_text(row.get(Col.GEOCODER))
    matched = display_text(row.get(Col.MATCHED_NAME))
    parts = (precision, f"({matched})" if matched else "", f"via {geocoder}" if geocoder else "")
    located_as = " ".join(p for p in parts if p)
    rows: list[tuple[str, str]] = [
        ("Address", address or NOT_GIVEN),
        ("Status", humanize(display_text(row.get(Col.STATUS))) or NOT_GIVEN),
        ("Site number", display_text(row.get(Col.SITE_NUMBER)) or NOT_GIVEN),
        ("Located as", located_as or "not located"),
        ("Coordinates", point or "none"),
    ]
    if _is_true(row.get(Col.NEEDS_REVIEW)):
        rows.append(("Review", "the position of this site is uncertain"))
    distance = row.get(Col.DISTANCE_KM)
    if units is not None and distance is not None and not pd.isna(distance):
        rows.append(("Distance", format_distance(float(distance), units)))
    return SiteDetails(
        facility=display_text(row.get(Col.FACILITY)) or "(unnamed site)",
        rows=tuple(rows),
        contacts=site.contacts if site else (),
    )


def _is_true(value: Any) -> bool:
    """A needs_review cell (bool, or its text form) as a bool; anything unreadable is False."""
    try:
        return to_bool(value)
    except ValueError:
        return False


def contacts_table(contacts: Sequence[Contact]) -> pd.DataFrame:
    """Site contacts as a table: name, role, phone, email."""
    return pd.DataFrame(
        {
            "name": [c.name for c in contacts],
            "role": [humanize(c.role) for c in contacts],
            "phone": [c.phone for c in contacts],
            "email": [c.email for c in contacts],
        }
    )


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
    """A Vega-Lite horizontal bar chart of `sites_per_country` (most first).

    A plain spec rather than st.bar_chart: that goes through Altair's schema validation,
    which cost ~50 ms on every rerun for a 24-bar chart.
    """
    return {
        "mark": {"type": "bar", "tooltip": True},
        "height": max(BAR_HEIGHT_PX * n_countries, BAR_HEIGHT_PX),
        "encoding": {
            "y": {"field": "country", "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": "sites", "type": "quantitative", "title": "sites"},
        },
    }
