"""The "All trials" page (Streamlit): every trial under the data folder on one map.

Thin on purpose: the store is built and queried by `dashboard.portfolio`, the link, map and
tables are shaped by `dashboard.ui.portfolio_view`; this module only draws widgets and results.
`dashboard.ui.page` shows it when the sidebar's "View" is "All trials" (or a link says
`view=all`), and passes in what the two views share (the place search, the map's outlines and
place names), so that neither page imports the other.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.errors import TableError
from dashboard.ingest.countries import country_name
from dashboard.portfolio import query as pq
from dashboard.ui import map as views
from dashboard.ui import panels, search_box
from dashboard.ui import portfolio_view as pv
from dashboard.ui import state as flt
from dashboard.ui.search_box import SearchKeys

LOG = logging.getLogger(__name__)

K_VIEW = "view_mode"
ONE_TRIAL = "One trial"
ALL_TRIALS = "All trials"
K_CONDITION = "pf_condition"
K_STATUS = "pf_status"
K_PHASE = "pf_phase"
K_SPONSOR = "pf_sponsor"
K_COUNTRY = "pf_country"
K_NEAR = "pf_near"
K_RADIUS = "pf_radius"
K_UNITS = "pf_units"
K_COLOR = "pf_color"
K_MAP = "pf_map"
K_SHARED = "pf_shared"
SEARCH = SearchKeys(near=K_NEAR, radius=K_RADIUS, units=K_UNITS, choice_prefix="pf_place_choice_")
S_READY = "_pf_view_from_link"
S_PROBLEMS = "_pf_link_problems"
MAP_HEIGHT_PX = 520
NEAREST_CARDS = 5
COLOR_LABELS = {pv.COLOR_STATUS: "Status", pv.COLOR_TRIAL: "Trial"}


# ------------------------------------------------------------------------------ the store


def _store_location(data_dir: Path) -> Path:
    """The data folder's store, or one in the cache folder when the data folder is read-only."""
    from dashboard.places.index import cache_dir
    from dashboard.portfolio.store import store_path

    path = store_path(data_dir)
    if os.access(data_dir, os.W_OK) and (not path.exists() or os.access(path, os.W_OK)):
        return path
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return cache_dir() / f"portfolio-{digest}.duckdb"


def _folder_stamp(data_dir: Path) -> tuple[tuple[str, int], ...]:
    """The modification times of the data folder and its subfolders (a record added, removed
    or replaced changes them), so a changed folder is built again on the next run."""
    out = []
    for dirpath, dirnames, _ in os.walk(data_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        try:
            out.append((dirpath, os.stat(dirpath).st_mtime_ns))
        except OSError:
            continue
    return tuple(sorted(out))


# One store in memory at a time: a changed folder replaces it (sessions still querying the old
# copy keep it until their run ends).
@st.cache_resource(show_spinner=False, max_entries=1)
def portfolio_store(data_dir: str, stamp: tuple[tuple[str, int], ...]) -> Any:
    """The portfolio of `data_dir`, brought up to date (only changed records are read) and
    copied into memory for queries. One per data folder and stamp, shared by every session."""
    from dashboard.portfolio.store import build_portfolio, load_in_memory
    from dashboard.sites.build import OVERRIDES_FILE

    folder = Path(data_dir)
    path = _store_location(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    overrides = folder / OVERRIDES_FILE
    stats = build_portfolio(
        [folder], path, overrides_path=overrides if overrides.is_file() else None
    )
    LOG.info("portfolio %s: %s trials, %s sites", path, stats.trials, stats.sites)
    return load_in_memory(path)


def _cursor(data_dir: Path, stamp: tuple[tuple[str, int], ...]) -> Any:
    """A connection of this session's own to the shared in-memory store."""
    with st.spinner("Reading every trial in the data folder (once; later visits are quick)…"):
        return portfolio_store(str(data_dir), stamp).cursor()


@st.cache_data(show_spinner=False, max_entries=4)
def _options(data_dir: str, stamp: tuple[tuple[str, int], ...]) -> dict[str, list[str]]:
    con = portfolio_store(data_dir, stamp).cursor()
    try:
        return pq.options(con)
    finally:
        con.close()


# ------------------------------------------------------------------------------- widgets


def view_switch() -> bool:
    """The sidebar's "View" control (one trial, or all trials); True for all trials. A link
    with `view=all` opens on all trials."""
    if K_VIEW not in st.session_state:
        params = {key: st.query_params.get_all(key) for key in st.query_params}
        st.session_state[K_VIEW] = ALL_TRIALS if pv.wants_portfolio(params) else ONE_TRIAL
    st.sidebar.radio("View", [ONE_TRIAL, ALL_TRIALS], key=K_VIEW, horizontal=True)
    return st.session_state[K_VIEW] == ALL_TRIALS


def _read_link_once() -> None:
    if st.session_state.get(S_READY):
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    filters, color, problems = pv.parse_portfolio_params(params)
    st.session_state[K_CONDITION] = filters.condition
    st.session_state[K_STATUS] = list(filters.statuses)
    st.session_state[K_PHASE] = list(filters.phases)
    st.session_state[K_SPONSOR] = list(filters.sponsors)
    st.session_state[K_COUNTRY] = list(filters.countries)
    st.session_state[K_NEAR] = filters.near
    st.session_state[K_RADIUS] = flt.radius_to_widget(filters.radius)
    st.session_state[K_UNITS] = filters.units
    st.session_state[K_COLOR] = color
    st.session_state[S_PROBLEMS] = problems
    st.session_state[S_READY] = True


def _keep_offered(key: str, label: str, offered: list[str]) -> None:
    """Drop values a link gave that this portfolio does not have, and say so (not fatal)."""
    chosen = st.session_state.get(key) or []
    kept = [v for v in chosen if v in offered]
    if len(kept) != len(chosen):
        st.session_state[key] = kept
        dropped = ", ".join(panels.shorten(str(v), 40) for v in chosen if v not in offered)
        st.warning(f"{label}: no trial here has {panels.escape_markdown(dropped)}; ignored.")


def _filters_sidebar(options: dict[str, list[str]]) -> None:
    sb = st.sidebar
    sb.header("Filter trials")
    sb.text_input(
        "Condition or keyword",
        key=K_CONDITION,
        max_chars=pv.MAX_CONDITION_CHARS,
        placeholder="myeloma  ·  breast cancer",
        help="Every word must appear in the trial's title or its conditions.",
    )
    for key, label, offered, fmt in (
        (K_STATUS, "Trial status", options["statuses"], _status_label),
        (K_PHASE, "Phase", options["phases"], pv.phase_word),
        (K_SPONSOR, "Sponsor", options["sponsors"], str),
        (K_COUNTRY, "Country (has a site in)", options["countries"], _country_label),
    ):
        _keep_offered(key, label, offered)
        sb.multiselect(label, offered, key=key, format_func=fmt)


def _status_label(code: str) -> str:
    return panels.plain_status(code) or "Not given"


def _country_label(code: str) -> str:
    return country_name(code) or code


def _filters() -> pq.PortfolioFilters:
    units = st.session_state.get(K_UNITS) or flt.DEFAULT_UNITS
    try:
        radius = flt.radius_from_widget(st.session_state.get(K_RADIUS), units)
    except ValueError as exc:
        st.error(f"Radius: {panels.escape_markdown(str(exc))}. Showing any distance instead.")
        radius = None
    return pq.PortfolioFilters(
        condition=(st.session_state.get(K_CONDITION) or "").strip(),
        statuses=tuple(st.session_state.get(K_STATUS) or ()),
        phases=tuple(st.session_state.get(K_PHASE) or ()),
        sponsors=tuple(st.session_state.get(K_SPONSOR) or ()),
        countries=tuple(st.session_state.get(K_COUNTRY) or ()),
        near=(st.session_state.get(K_NEAR) or "").strip(),
        radius=radius,
        units=units,
    )


def _origin(
    filters: pq.PortfolioFilters, find_place: Callable[..., Any], prefer: tuple[str, ...]
) -> tuple[pq.Origin | None, list[tuple[str, str]]]:
    """The searched place (and other readings to offer), or None with the reason shown."""
    if not filters.near:
        return None, []
    try:
        found = find_place(filters.near, prefer)
    except ValueError as exc:
        st.warning(f"“{panels.escape_markdown(panels.shorten(filters.near))}”: {exc}.")
        return None, []
    best = getattr(found, "best", None)
    if best is None:
        st.warning(
            f"Could not find the place “{panels.escape_markdown(panels.shorten(filters.near))}”."
            " Try a city with its country (Lyon, France), a postcode (02115) or coordinates "
            "(45.76, 4.84). Showing every matching trial instead."
        )
        return None, []
    if getattr(found, "note", ""):
        st.caption(panels.escape_markdown(found.note))
    others = [(m.label, m.entry) for m in found.matches[1:]]
    return pq.Origin(best.label, best.latitude, best.longitude), others


def _nearest_trials(view: pq.PortfolioView, units: str, search: dict[str, str]) -> None:
    """The nearest few trials as short cards (they read on a phone; a table needs scrolling)."""
    for i, card in enumerate(pv.nearest_cards(view, units, NEAREST_CARDS, search), start=1):
        with st.container(border=True):
            st.markdown(f"**{i}. {card.heading}**")
            st.markdown(card.body)
    st.caption(f"{panels.DISTANCE_NOTE} Open a trial for its sites' contacts and directions.")


def _link_color(color: str) -> None:
    """Keep the link's colour in step (a fragment's rerun does not pass through main)."""
    linked = st.query_params.get(pv.PARAM_COLOR, pv.COLOR_STATUS)
    if linked != color:
        if color == pv.COLOR_STATUS:
            del st.query_params[pv.PARAM_COLOR]
        else:
            st.query_params[pv.PARAM_COLOR] = color


@st.fragment
def _map_fragment(view: pq.PortfolioView, outlines: Any, places: Any) -> None:
    """The map and its colour control: changing the colour reruns only this fragment."""
    color = st.session_state.get(K_COLOR) or pv.COLOR_STATUS
    marks: list[dict[str, Any]] = []
    if view.aggregated:
        st.caption(
            f"{view.n_placed:,} sites are too many to draw one by one: each disc counts the "
            "sites in its area (hover for the count). Filter by condition, status or country, "
            "or search a place, to see each site."
        )
        deck = pv.portfolio_deck(view, outlines)
    else:
        st.radio(
            "Colour sites by",
            list(COLOR_LABELS),
            key=K_COLOR,
            format_func=COLOR_LABELS.get,
            horizontal=True,
        )
        color = st.session_state.get(K_COLOR) or pv.COLOR_STATUS
        _link_color(color)
        marks = pv.site_marks(view, color)
        deck = pv.portfolio_deck(view, outlines, color=color, places=places, marks=marks)
    st.pydeck_chart(
        deck,
        key=K_MAP,
        height=MAP_HEIGHT_PX,
        alt=f"Map of {view.n_placed} sites of {view.n_trials} trials",
    )
    entries = [] if view.aggregated else pv.legend(view, color, marks)
    if entries:
        st.vega_lite_chart(views.legend_spec(entries), width="stretch")


def main(
    data_dir: Path,
    find_place: Callable[..., Any],
    outlines: Any,
    places: Any = None,
) -> None:
    """Draw the "All trials" page for the records under `data_dir`."""
    st.title("All trials")
    try:
        stamp = _folder_stamp(data_dir)  # one walk of the folder per run
        con = _cursor(data_dir, stamp)
        options = _options(str(data_dir), stamp)
    except (TableError, OSError) as exc:
        st.error(f"The portfolio could not be read: {panels.escape_markdown(str(exc))}")
        return
    _read_link_once()
    for problem in st.session_state.get(S_PROBLEMS, []):
        st.warning(f"The link's {panels.escape_markdown(problem)}: ignored.")
    _filters_sidebar(options)
    search_box.place_search_box(
        SEARCH, "Trials with a site near: ZIP code, postcode, city, or lat, lon"
    )
    filters = _filters()
    color = st.session_state.get(K_COLOR) or pv.COLOR_STATUS
    params = pv.portfolio_params(filters, color)
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    if not flt.same_params(current, params):
        st.query_params.from_dict(params)

    origin, others = _origin(filters, find_place, tuple(options["countries"]))
    try:
        view = pq.portfolio_view(con, filters, origin)
    except Exception:  # never a traceback on the page
        LOG.exception("portfolio query failed for %r", filters)
        st.error("This view could not be prepared. Clear the filters and try again.")
        return
    st.markdown(f"**{panels.escape_markdown(pv.summary_line(view, filters))}**")
    if origin is not None:
        search_box.place_choices(SEARCH, origin.name, others)
    if view.n_trials == 0:
        st.warning(
            "No trial matches. Clear a filter (condition, status, phase, sponsor or country)"
            + (" or widen the radius." if origin is not None else ".")
        )

    search = pv.search_params(view, filters)  # a trial opened from the list keeps the place
    if origin is not None and len(view.trials):
        _nearest_trials(view, filters.units, search)
    st.subheader("Trials with a site near you" if origin is not None else "Trials")
    st.dataframe(
        pv.trial_rows(view, filters.units, search),
        hide_index=True,
        width="stretch",
        column_config={
            "Trial": st.column_config.LinkColumn(
                "Trial", display_text=r"\?trial=([^&]*)", help="Open this trial's own view"
            ),
            "Registry": st.column_config.LinkColumn("Registry", display_text="ClinicalTrials.gov"),
        },
    )
    _map_fragment(view, outlines, places)

    left, right = st.columns(2)
    with left:
        st.subheader("Trials and sites by country")
        st.dataframe(pv.country_rows(view), hide_index=True, width="stretch")
    with right:
        st.subheader("Sites shared by several trials")
        # A query over every site of the view: run only when asked for.
        if st.toggle("Show facilities hosting more than one of these trials", key=K_SHARED):
            shared = pq.shared_sites(con, filters, origin)
            if shared.empty:
                st.caption("No facility hosts more than one of these trials.")
            else:
                st.dataframe(shared, hide_index=True, width="stretch")
    st.caption(
        f"Portfolio: every record under {panels.escape_markdown(str(data_dir))} "
        "(built with `python -m dashboard build DIR`). Places: GeoNames (CC BY 4.0). "
        "Trial records: ClinicalTrials.gov."
    )
