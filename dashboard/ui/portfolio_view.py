"""The "All trials" view without Streamlit: its link, its map, and its tables.

`parse_portfolio_params`/`portfolio_params` map `PortfolioFilters` to and from a link
(`?view=all&cond=myeloma&pstatus=RECRUITING&near=02115&radius=50&units=mi`); `portfolio_deck`
draws a `PortfolioView`'s marks (sites, or counts per grid cell); `trial_rows` and
`country_rows` shape its tables for people (plain statuses, distances in the chosen units).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd
import pydeck as pdk

from dashboard.geo import DEFAULT_UNITS, UNITS
from dashboard.ingest.countries import country_name
from dashboard.portfolio.query import PortfolioFilters, PortfolioView
from dashboard.ui import map as site_map
from dashboard.ui.panels import escape_markdown, patient_distance, plain_status, shorten
from dashboard.ui.state import (
    MAX_NEAR_CHARS,
    PARAM_NEAR,
    PARAM_RADIUS,
    PARAM_TRIAL,
    PARAM_UNITS,
    format_radius,
    last_param,
    param_values,
    parse_radius,
)

PARAM_VIEW = "view"
VIEW_ALL = "all"
PARAM_CONDITION = "cond"
PARAM_STATUS = "pstatus"
PARAM_PHASE = "phase"
PARAM_SPONSOR = "sponsor"
PARAM_COUNTRY = "pcountry"
PARAM_COLOR = "color"
COLOR_STATUS = "status"
COLOR_TRIAL = "trial"
MAX_CONDITION_CHARS = 200
MAX_LIST_VALUES = 50
OTHER_TRIALS = "Other trials"
# The point field each colouring's legend reads (status codes are put in words by the legend).
LEGEND_KEY = {COLOR_STATUS: "status", COLOR_TRIAL: "trial"}
TRIAL_COLORS = 9  # trials with a colour of their own when colouring by trial; the rest grey
CELL_COLOR = [0, 114, 178, 190]  # Okabe-Ito blue
CELL_MIN_PX = 5.0
CELL_MAX_PX = 34.0
TITLE_CHARS = 70
STUDY_URL = "https://clinicaltrials.gov/study/{}"


def _values(params: Mapping[str, str | Sequence[str]], key: str) -> list[str]:
    """A repeatable parameter's distinct values (at most MAX_LIST_VALUES), in link order."""
    out: list[str] = []
    for value in param_values(params, key):
        value = value.strip()
        if value and value not in out:
            out.append(value)
    return out[:MAX_LIST_VALUES]


def wants_portfolio(params: Mapping[str, str | Sequence[str]]) -> bool:
    """Whether a link asks for the "All trials" view."""
    return last_param(params, PARAM_VIEW) == VIEW_ALL


def parse_portfolio_params(
    params: Mapping[str, str | Sequence[str]],
) -> tuple[PortfolioFilters, str, list[str]]:
    """(filters, colour key, problems) from a link's parameters; bad values are dropped and
    named in the problems, never fatal. Values not in the store are kept: the query simply
    matches nothing, which the page says."""
    problems: list[str] = []
    condition = " ".join(_values(params, PARAM_CONDITION))
    if len(condition) > MAX_CONDITION_CHARS:
        problems.append(f"the condition search is longer than {MAX_CONDITION_CHARS} characters")
        condition = condition[:MAX_CONDITION_CHARS]
    near = last_param(params, PARAM_NEAR)
    if len(near) > MAX_NEAR_CHARS:
        problems.append(f"the place is longer than {MAX_NEAR_CHARS} characters")
        near = ""
    units = last_param(params, PARAM_UNITS) or DEFAULT_UNITS
    if units not in UNITS:
        problems.append(f"unknown units “{shorten(units)}” (use mi or km)")
        units = DEFAULT_UNITS
    radius = None
    raw = last_param(params, PARAM_RADIUS)
    if raw:
        try:
            radius = parse_radius(raw)
        except ValueError as exc:
            problems.append(f"radius “{shorten(raw)}”: {exc}")
    color = last_param(params, PARAM_COLOR) or COLOR_STATUS
    if color not in (COLOR_STATUS, COLOR_TRIAL):
        color = COLOR_STATUS
    filters = PortfolioFilters(
        condition=condition,
        statuses=tuple(s.upper() for s in _values(params, PARAM_STATUS)),
        phases=tuple(p.upper() for p in _values(params, PARAM_PHASE)),
        sponsors=tuple(_values(params, PARAM_SPONSOR)),
        countries=tuple(c.upper() for c in _values(params, PARAM_COUNTRY)),
        near=near,
        radius=radius,
        units=units,
    )
    return filters, color, problems


def portfolio_params(filters: PortfolioFilters, color: str = COLOR_STATUS) -> dict[str, Any]:
    """The link of a portfolio view (empty values left out)."""
    out: dict[str, Any] = {PARAM_VIEW: VIEW_ALL}
    if filters.condition:
        out[PARAM_CONDITION] = filters.condition
    for key, values in (
        (PARAM_STATUS, filters.statuses),
        (PARAM_PHASE, filters.phases),
        (PARAM_SPONSOR, filters.sponsors),
        (PARAM_COUNTRY, filters.countries),
    ):
        if values:
            out[key] = list(values)
    if filters.near:
        out[PARAM_NEAR] = filters.near
        if filters.radius is not None:
            out[PARAM_RADIUS] = format_radius(filters.radius)
        out[PARAM_UNITS] = filters.units
    if color != COLOR_STATUS:
        out[PARAM_COLOR] = color
    return out


# ------------------------------------------------------------------------------------ map


def site_marks(view: PortfolioView, color: str) -> list[dict[str, Any]]:
    """One JSON-ready point per site (few fields: this is what the browser receives)."""
    m = view.marks
    if m.empty:
        return []
    site_status = m["site_status"].fillna("").astype(str)
    trial_status = m["trial_status"].fillna("").astype(str)
    status = site_status.where(site_status != "", trial_status)
    if color == COLOR_TRIAL:
        top = m["nct_id"].value_counts().index[:TRIAL_COLORS]
        palette = {t: [*site_map.PALETTE[i], site_map.MARKER_ALPHA] for i, t in enumerate(top)}
        colors = [palette.get(t, site_map.UNKNOWN_COLOR) for t in m["nct_id"]]
        legend = [t if t in palette else OTHER_TRIALS for t in m["nct_id"]]
    else:
        colors = [site_map.STATUS_COLORS.get(s, site_map.UNKNOWN_COLOR) for s in status]
        legend = status.tolist()
    approx = (m["needs_review"].fillna(False).astype(bool)) | m["precision"].fillna("").astype(
        str
    ).str.strip().str.lower().isin(site_map.APPROX_PRECISIONS)
    # Column lists and per-value caches, not a pass of pandas lookups per row: a view may
    # send 5,000 sites, and this runs on every rerun.
    words = {s: plain_status(s) or "Status not given" for s in set(status)}
    titles: dict[str, str] = {}
    out = []
    for lat, lon, nct, facility, city, country, title, st, col, ap, leg in zip(
        m["latitude"].tolist(),
        m["longitude"].tolist(),
        m["nct_id"].tolist(),
        m["facility"].fillna("").tolist(),
        m["city"].fillna("").tolist(),
        m["country"].fillna("").tolist(),
        m["title"].fillna("").tolist(),
        status.tolist(),
        colors,
        approx.tolist(),
        legend,
        strict=True,
    ):
        if nct not in titles:
            titles[nct] = shorten(title, TITLE_CHARS)
        place = ", ".join(p for p in (city, country) if p)
        out.append(
            {
                "position": [round(lon, 5), round(lat, 5)],
                "color": col,
                "approx": ap,
                LEGEND_KEY[color]: leg,
                "tip": f"{facility or 'Site'}\n{place}\n{words[st]}\n{nct}: {titles[nct]}",
            }
        )
    return out


def legend(
    view: PortfolioView, color: str, marks: list[dict[str, Any]] | None = None
) -> list[site_map.LegendEntry]:
    """What the map's marks mean (individual sites only; cells are explained in words)."""
    if view.aggregated:
        return []
    if marks is None:
        marks = site_marks(view, color)
    return site_map.legend_entries(marks, LEGEND_KEY[color], origin=view.origin is not None)


def cell_radius_px(sites: Any) -> Any:
    """A cell's marker radius in pixels: its area grows with its count of sites."""
    return np.clip(CELL_MIN_PX + 1.4 * np.sqrt(np.asarray(sites, dtype=float)), 0, CELL_MAX_PX)


def _cell_marks(view: PortfolioView) -> list[dict[str, Any]]:
    m = view.marks
    if m.empty:
        return []
    radii = cell_radius_px(m["sites"])
    out = []
    for i, row in enumerate(m.itertuples(index=False)):
        out.append(
            {
                "position": [round(float(row.longitude), 4), round(float(row.latitude), 4)],
                "r": round(float(radii[i]), 1),
                "tip": f"{int(row.sites):,} sites here ({int(row.recruiting):,} recruiting)",
            }
        )
    return out


def portfolio_deck(
    view: PortfolioView,
    outlines: dict[str, Any] | str | None,
    *,
    color: str = COLOR_STATUS,
    places: Any = None,
    marks: list[dict[str, Any]] | None = None,
) -> pdk.Deck:
    """The map of a portfolio view: each site (as the single-trial map draws them), or, above
    the point limit, one disc per grid cell sized by its count of sites."""
    origin = None
    if view.origin is not None:
        origin = (view.origin.latitude, view.origin.longitude)
    if not view.aggregated:
        return site_map.build_deck(
            site_marks(view, color) if marks is None else marks,
            outlines,
            origin=origin,
            radius_km=view.radius_km,
            places=places,
        )
    cells = _cell_marks(view)
    deck = site_map.build_deck([], outlines, origin=origin, radius_km=view.radius_km)
    if view.bounds is not None:
        south, west, north, east = view.bounds
        deck.initial_view_state = site_map.fit_view([(south, west), (north, east)])
    deck.layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            id="cells",
            data=cells,
            get_position="position",
            get_radius="r",
            radius_units=site_map.PIXELS,
            get_fill_color=CELL_COLOR,
            get_line_color=site_map.MARKER_LINE,
            line_width_min_pixels=1,
            stroked=True,
            pickable=True,
            auto_highlight=True,
        )
    )
    return deck


def deck_bytes(deck: pdk.Deck) -> int:
    """How many bytes of JSON the browser receives for `deck`."""
    return len(deck.to_json().encode("utf-8"))


# ---------------------------------------------------------------------------------- tables


def _distance(km: Any, units: str) -> str:
    """As the single-trial view says it: whole km or mi, "less than 1 km" in the same town."""
    if km is None or (isinstance(km, float) and math.isnan(km)):
        return ""
    return patient_distance(float(km), units)


def search_params(view: PortfolioView, filters: PortfolioFilters) -> dict[str, str]:
    """The place search as a trial's own view reads it from a link (nothing without one), so
    opening a trial from the list keeps the place, radius and units."""
    if view.origin is None or not filters.near:
        return {}
    params = {PARAM_NEAR: filters.near, PARAM_UNITS: filters.units}
    if filters.radius is not None:
        params[PARAM_RADIUS] = format_radius(filters.radius)
    return params


def trial_link(nct_id: str, search: Mapping[str, str] | None = None) -> str:
    """The relative link to a trial's own view, with the place search when there is one."""
    return "?" + urlencode({PARAM_TRIAL: nct_id, **(search or {})}, quote_via=quote)


def trial_rows(
    view: PortfolioView, units: str, search: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The trial list for people: link (with `search`, see `search_params`), title, status in
    words, nearest site and distance."""
    t = view.trials
    if t.empty:
        return pd.DataFrame(columns=["Trial", "Title", "Status", "Phases", "Sites in view"])
    out = pd.DataFrame(
        {
            "Trial": [trial_link(n, search) for n in t["nct_id"]],
            "Title": t["title"].astype(str),
            "Status": [plain_status(s) or "Not given" for s in t["status"]],
            "Phases": [", ".join(_phase_words(p)) for p in t["phases"]],
        }
    )
    if "distance_km" in t.columns:
        out["Nearest site"] = [
            ", ".join(x for x in (f, c, k) if x)
            for f, c, k in zip(
                t["nearest_facility"], t["nearest_city"], t["nearest_country"], strict=True
            )
        ]
        out["Distance"] = [_distance(d, units) for d in t["distance_km"]]
    out["Sites in view"] = t["sites_in_view"].astype(int).tolist()
    out["Registry"] = [STUDY_URL.format(n) for n in t["nct_id"]]
    return out


PHASE_WORDS = {
    "EARLY_PHASE1": "Early phase 1",
    "PHASE1": "Phase 1",
    "PHASE2": "Phase 2",
    "PHASE3": "Phase 3",
    "PHASE4": "Phase 4",
    "NA": "Not applicable",
}


def phase_word(code: str) -> str:
    """A registry phase code in words (PHASE3 -> Phase 3)."""
    return PHASE_WORDS.get(code, code.replace("_", " ").capitalize())


def _phase_words(phases: Any) -> list[str]:
    if phases is None or (isinstance(phases, float) and math.isnan(phases)):
        return []
    return [phase_word(str(p)) for p in list(phases)]


@dataclass(frozen=True)
class TrialCard:
    """A nearest trial in a few lines of Markdown (escaped: record text is untrusted)."""

    heading: str
    body: str


def nearest_cards(
    view: PortfolioView, units: str, limit: int, search: Mapping[str, str] | None = None
) -> list[TrialCard]:
    """The nearest `limit` trials: link (with `search`), distance and status; title; its
    nearest site."""
    t = view.trials
    if "distance_km" not in t.columns:
        return []
    cards = []
    for row in t.head(limit).itertuples(index=False):
        status = plain_status(row.status) or "Status not given"
        site = ", ".join(escape_markdown(x) for x in (row.nearest_facility, row.nearest_city) if x)
        cards.append(
            TrialCard(
                heading=f"[{escape_markdown(row.nct_id)}]({trial_link(row.nct_id, search)}) · "
                f"{_distance(row.distance_km, units)} · {status}",
                body=f"{escape_markdown(shorten(row.title, 160))}  \nNearest site: {site}",
            )
        )
    return cards


def country_rows(view: PortfolioView) -> pd.DataFrame:
    """Trials and sites per country (recruiting sites too), most trials first."""
    c = view.countries
    if c.empty:
        return pd.DataFrame(columns=["Country", "Trials", "Sites", "Recruiting sites"])
    names = [
        country_name(code) if code else (name or "Unknown")
        for code, name in zip(c["country_code"], c["country"], strict=True)
    ]
    return pd.DataFrame(
        {
            "Country": names,
            "Trials": c["trials"].astype(int).tolist(),
            "Sites": c["sites"].astype(int).tolist(),
            "Recruiting sites": c["recruiting_sites"].astype(int).tolist(),
        }
    )


def summary_line(view: PortfolioView, filters: PortfolioFilters) -> str:
    """What the view shows, in one sentence."""
    if view.origin is not None:
        within = ""
        if filters.radius is not None:
            within = f" within {format_radius(filters.radius)} {filters.units}"
        return (
            f"{view.n_trials:,} {'trial' if view.n_trials == 1 else 'trials'} with a "
            f"site{within} of {view.origin.name} "
            f"({view.n_sites:,} sites), nearest first."
        )
    return (
        f"{view.n_trials:,} of {view.total_trials:,} trials and {view.n_sites:,} of "
        f"{view.total_sites:,} sites match."
    )
