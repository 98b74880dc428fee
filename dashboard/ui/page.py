"""The Streamlit page: widgets <-> state, caches, and drawing the view model. Nothing else.

`dashboard/app.py` (the file `streamlit run` is given) only calls `main()` here. Keeping the
page in an imported module means a rerun neither recompiles it nor re-creates its cached
functions. With app.py, this is the only module that calls `st.*`. What it shows is computed
by `dashboard.ui.state.derive_view` (a pure function of the filters) and drawn with the pure
builders in `ui.map`, `ui.exports` and `ui.panels`; data comes from `dashboard.ingest` (parse),
`dashboard.sites.build` (the geocoded table) and `dashboard.geocoding.place_search` (the
"near" box). Caches live here, and cached values are never changed in place.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from dashboard.errors import Diagnostic, RecordError
from dashboard.model import Trial, is_nct_id
from dashboard.sites.table import Col
from dashboard.ui import exports, panels, portfolio_page, search_box
from dashboard.ui import map as views
from dashboard.ui import state as flt
from dashboard.ui.search_box import SearchKeys
from dashboard.ui.uploads import SharedResults, TooManyUploads, check_session_quota, content_digest

ROOT = Path(__file__).resolve().parents[2]  # dashboard/ui/page.py -> the project root
DATA_ENV = "TRIAL_SITES_DATA"
OUTLINES_PATH = ROOT / "data" / "countries.geojson"
# The same outlines, trimmed (views.trim_outlines), served by Streamlit's static file server
# (server.enableStaticServing): the browser fetches them once instead of receiving 170 kB
# inside the map on every rerun. Without the file the map falls back to inline outlines.
# Streamlit serves static/ next to the main script, dashboard/app.py.
STATIC_OUTLINES = Path(__file__).resolve().parents[1] / "static" / "countries.json"
OUTLINES_URL = "app/static/countries.json"
DEFAULT_TRIAL = "NCT04270409"
RECORD_PATTERNS = ("*.txt", "*.json")
RECORD_SUFFIXES = tuple(pattern.removeprefix("*") for pattern in RECORD_PATTERNS)
MAX_UPLOAD_MB = 5  # keep in step with server.maxUploadSize in .streamlit/config.toml
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAP_HEIGHT_PX = 520
UPLOAD_CACHE_ENTRIES = 8
# Records (and tables) kept per server: every record of data/ with room for edited versions.
RECORD_CACHE_ENTRIES = 64
PLACE_CACHE_ENTRIES = 256  # searched places kept per server
# Geocoding an upload runs on the server: an unknown place name costs tens of ms of fuzzy
# matching, so 5 MB of made-up sites (~57,000) would hold a core for most of an hour.
# The largest real trials list a few thousand sites.
MAX_UPLOAD_SITES = 2_000
# The site table's column widths: the facility is pinned (it stays while the table scrolls
# sideways on a phone) and leaves room beside it for the distance; short columns stay narrow.
SITE_TABLE_COLUMNS: dict[str, Any] = {
    **{
        flt.distance_column(u): st.column_config.NumberColumn(flt.distance_column(u), width=104)
        for u in flt.UNITS
    },
    Col.FACILITY: st.column_config.TextColumn("facility", width="medium", pinned=True),
    Col.CITY: st.column_config.TextColumn("city", width="small"),
    Col.STATE: st.column_config.TextColumn("state", width="small"),
    Col.COUNTRY: st.column_config.TextColumn("country", width="small"),
    Col.STATUS: st.column_config.TextColumn("status", width="small"),
    "location": st.column_config.TextColumn("location", width="medium"),
}

# Widget keys: tests and the URL logic address widgets by these.
K_TRIAL = flt.WIDGET_KEYS["trial"]
K_UPLOAD = "upload"
K_COUNTRY = flt.WIDGET_KEYS["countries"]
K_STATUS = flt.WIDGET_KEYS["statuses"]
K_NEAR = flt.WIDGET_KEYS["near"]
K_RADIUS = flt.WIDGET_KEYS["radius"]
K_UNITS = flt.WIDGET_KEYS["units"]
K_BASEMAP = "basemap"
K_MAP = "site_map"
K_SITE = "site"
K_TABLE = "site_table"
K_PANEL = "panel"
S_READY = "_view_from_link"  # set once the link's parameters have been read into the widgets
S_UPLOAD_ID = "_upload_id"
S_UPLOAD_DIGEST = "_upload_digest"
S_UPLOADS_SEEN = "_uploads_geocoded"


LOG = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- data (cached)


def data_dir() -> Path:
    """Where the trial records and their site tables live (`$TRIAL_SITES_DATA` or data/).

    Read on every run, not at import: the module outlives a run, and tests point each page at
    a scratch copy.
    """
    return Path(os.environ.get(DATA_ENV) or ROOT / "data")


# Shared, never changed: each run gets the same dict (st.cache_data would unpickle a copy on
# every rerun, and Streamlit's caches hash the stamp on every call; this runs on every rerun).
@functools.lru_cache(maxsize=4)
def record_index(
    data_dir: str,
    stamp: tuple[tuple[str, float], ...],
    subfolders: tuple[tuple[str, int], ...] = (),
) -> dict[str, str]:
    """Every readable record in `data_dir`, as NCT ID -> path (`stamp` and `subfolders`, the
    files and the subfolders' modification times, invalidate the cache).

    Records in subfolders (the portfolio's, e.g. data/portfolio/) named by their study ID are
    listed too, unread until chosen: a link from the "All trials" view opens them."""
    from dashboard.ingest import load_trial

    found: dict[str, str] = {}
    for name, _ in stamp:
        path = Path(data_dir) / name
        try:
            trial = load_trial(path)
        except (RecordError, OSError):
            continue  # a stray or broken file in data/ is not worth failing the page for
        found.setdefault(trial.nct_id, str(path))
    for folder, _ in subfolders:
        for pattern in RECORD_PATTERNS:
            for p in sorted((Path(data_dir) / folder).glob(pattern)):
                if is_nct_id(p.stem):
                    found.setdefault(p.stem, str(p))
    return dict(sorted(found.items()))


def list_records() -> dict[str, str]:
    """The records in data/ (refreshed when a file there is added or changed, or a subfolder
    gains or loses a file). One pass over the folder: this runs on every rerun."""
    folder = data_dir()
    files: list[tuple[str, float]] = []
    subfolders: list[tuple[str, int]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue  # hidden files and folders (editors' backups, .git) hold no records
                if entry.is_file() and entry.name.endswith(RECORD_SUFFIXES):
                    files.append((entry.name, entry.stat().st_mtime))
                elif entry.is_dir():
                    subfolders.append((entry.name, entry.stat().st_mtime_ns))
    except OSError:
        pass  # no data folder: no records (the page says so)
    return record_index(str(folder), tuple(sorted(files)), tuple(sorted(subfolders)))


# A record and its table are shared read-only (never changed in place), so st.cache_resource
# hands each run the same objects without st.cache_data's unpickling, which cost more than
# the rest of a filter change.
@st.cache_resource(show_spinner=False, max_entries=RECORD_CACHE_ENTRIES)
def trial_and_table(
    path: str, stamp: tuple[float, ...]
) -> tuple[Trial, pd.DataFrame, tuple[Diagnostic, ...]]:
    """A record from data/, its geocoded site table (read from data/, built if missing), and
    what building it had to say. `stamp` holds the modification times of the record, its table
    and overrides.csv, so a rebuilt table or an edited correction reaches new runs at once."""
    from dashboard.ingest import load_trial
    from dashboard.sites.build import ensure_table

    trial = load_trial(path)
    built = ensure_table(trial, data_dir())
    return trial, built.table, built.diagnostics


@st.cache_resource(show_spinner=False, max_entries=RECORD_CACHE_ENTRIES + UPLOAD_CACHE_ENTRIES)
def _prepared_table(
    key: int, _table: pd.DataFrame
) -> tuple[flt.PreparedTable, exports.SiteListing]:
    """What the view and the site list need from a table whatever the filters, once per table
    object (`key` is its id; see `prepared_table`)."""
    return flt.prepare_table(_table), exports.site_listing(_table)


def prepared_table(table: pd.DataFrame) -> tuple[flt.PreparedTable, exports.SiteListing]:
    """`flt.prepare_table(table)` and `exports.site_listing(table)`, kept while the table is:
    the cached tables are shared objects, so their id names them. A kept entry holds its
    table, so no other table can take that id while it is cached; the identity check covers
    the rest."""
    prepared, listing = _prepared_table(id(table), table)
    if prepared.table is table:
        return prepared, listing
    return flt.prepare_table(table), exports.site_listing(table)


@st.cache_resource(show_spinner=False, max_entries=UPLOAD_CACHE_ENTRIES)
def parsed_upload(digest: str, name: str, _data: bytes) -> Trial:
    """An uploaded record, parsed once per content and shared (RecordError when unreadable)."""
    from dashboard.ingest import read_record

    trial = read_record(_data, name)
    if len(trial.sites) > MAX_UPLOAD_SITES:
        raise RecordError(
            name,
            None,
            f"expected at most {MAX_UPLOAD_SITES:,} sites in an uploaded record, found "
            f"{len(trial.sites):,}; build its table with `python -m dashboard build` instead",
        )
    return trial


@st.cache_resource(show_spinner=False)
def upload_tables() -> SharedResults[pd.DataFrame]:
    """The server's geocoded uploads (by content hash) and its upload geocoding slots."""
    return SharedResults()


def geocode_upload(trial: Trial) -> pd.DataFrame:
    """An uploaded trial's site table, geocoded offline (the slow part of an upload)."""
    from dashboard.geocoding.sources import offline_geocoder
    from dashboard.sites.build import OVERRIDES_FILE, build_table, load_overrides

    try:
        overrides = load_overrides(data_dir() / OVERRIDES_FILE)
    except (ValueError, OSError):
        overrides = None  # corrections are a nicety; a broken file must not block an upload
    built = build_table(
        trial, existing=None, geocoder=offline_geocoder(gazetteer()), overrides=overrides
    )
    return built.table


@st.cache_resource(show_spinner="Loading the place index…")
def gazetteer() -> Any:
    """The offline place index, loaded once per server and shared read-only."""
    from dashboard.places.index import load_gazetteer

    return load_gazetteer()


# functools, not st.cache_resource: a string and a tuple key a plain dict, where Streamlit's
# cache hashes its arguments its own way on every call (a rerun with a place calls this once).
@functools.lru_cache(maxsize=PLACE_CACHE_ENTRIES)
def find_place(query: str, prefer: tuple[str, ...] = ()) -> Any:
    """Every reading of a place typed in the "near" box (a PlaceSearch), the trial's countries
    (`prefer`, ISO codes) first, kept per server. Raises ValueError (with a message for the
    page) when the entry cannot name a place; a call that raises is not kept. A PlaceSearch is
    frozen, so one copy is shared."""
    from dashboard.geocoding.place_search import search_places

    return search_places(query, gazetteer(), prefer)


class PlaceSearchUnavailable(ValueError):
    """The place search failed for a reason of the server's, not of what was typed."""


def find_place_safely(query: str, prefer: tuple[str, ...] = ()) -> Any:
    """`find_place`, with any unexpected failure turned into a one-line message (and retried
    on the next run, since a failed call is not cached)."""
    try:
        return find_place(query, prefer)
    except ValueError:
        raise
    except Exception as exc:
        LOG.exception("place search failed for %r", query[:80])
        gazetteer.clear()  # a broken index is loaded (and healed) again on the next try
        raise PlaceSearchUnavailable(
            "the place index is unavailable right now, retrying on your next change"
        ) from exc


@st.cache_resource(show_spinner=False)
def outlines() -> dict[str, Any]:
    """Country outlines for the offline map (shared, read-only: copying 200 kB per rerun
    through st.cache_data's pickling cost more than drawing the page)."""
    with open(OUTLINES_PATH, encoding="utf-8") as fh:
        return views.trim_outlines(json.load(fh))


# Places of 100,000 people or more from the offline place index (views.gazetteer_places), for
# the map's place names: a small file, so the page never loads the whole index just to label
# the map (tests/ui/test_map.py keeps it in step with the index).
STATIC_PLACES = Path(__file__).resolve().parents[1] / "static" / "places.json"
K_RESET_MAP = "reset_map"
S_MAP_RESETS = "_map_resets"


@st.cache_resource(show_spinner=False)
def place_labels() -> views.PlaceLabels | None:
    """The map's place names, kept apart once per server (shared, read-only); None (no
    names, the map still works) when the file cannot be read."""
    try:
        with open(STATIC_PLACES, encoding="utf-8") as fh:
            return views.place_labels(json.load(fh))
    except (OSError, ValueError, TypeError, IndexError):
        LOG.exception("the map's place names could not be read from %s", STATIC_PLACES)
        return None


def _reset_map_view() -> None:
    """ "Reset map view": the next map frames the view again (views.reset_view)."""
    st.session_state[S_MAP_RESETS] = st.session_state.get(S_MAP_RESETS, 0) + 1


# ---------------------------------------------------------------------------- view state


def _link_params() -> dict[str, list[str]]:
    """The page's query parameters, every value of repeated keys kept."""
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _read_link_once(trials: list[str], default_trial: str, records: dict[str, str]) -> None:
    """On a session's first run, put the link's view into the widgets (and keep its warnings)."""
    if st.session_state.get(S_READY):
        return
    params = _link_params()
    trial = flt.parse_params(params, trials=trials, default_trial=default_trial).filters.trial
    countries: list[str] = []
    statuses: list[str] = []
    if trial in records:
        _, table, _ = _load_listed(trial, records)
        countries, statuses = flt.country_options(table), flt.status_options(table)
    parsed = flt.parse_params(
        params,
        trials=trials,
        countries=countries,
        statuses=statuses,
        default_trial=default_trial,
    )
    for key, value in flt.filters_to_widgets(parsed.filters).items():
        st.session_state[key] = value
    st.session_state[S_READY] = True
    for warning in parsed.warnings:
        st.warning(panels.escape_markdown(warning))  # it quotes the link: untrusted text


def _mtime(path: Path) -> float:
    """A file's modification time, or 0 when it is not there."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _load_listed(
    nct_id: str, records: dict[str, str] | None = None
) -> tuple[Trial, pd.DataFrame, tuple[Diagnostic, ...]]:
    """A record from the picker (`records`: list_records(), when the caller has it), with its
    table and what building the table had to say."""
    from dashboard.sites.build import OVERRIDES_FILE, TABLE_SUFFIX

    path = Path((list_records() if records is None else records)[nct_id])
    stamp = (
        _mtime(path),
        _mtime(data_dir() / f"{nct_id}{TABLE_SUFFIX}"),
        _mtime(data_dir() / OVERRIDES_FILE),
    )
    return trial_and_table(str(path), stamp)


def _clear_filters() -> None:
    """Forget filters and the selected site: they belong to the trial shown before."""
    st.session_state[K_COUNTRY] = []
    st.session_state[K_STATUS] = []
    st.session_state[K_SITE] = None


def _on_map_select() -> None:
    """A click on a marker selects that site in the site picker."""
    state = st.session_state.get(K_MAP)
    try:
        objects = state["selection"]["objects"].get(views.SITE_LAYER_ID, [])
    except (KeyError, TypeError, AttributeError):
        return
    if objects:
        st.session_state[K_SITE] = objects[0].get(Col.SITE_ID) or None


def _keep_valid(key: str, options: list[str]) -> None:
    """Drop values a multiselect no longer offers (e.g. after switching trials)."""
    current = st.session_state.get(key) or []
    kept = [v for v in current if v in options]
    if kept != current:
        st.session_state[key] = kept


def _upload_digest(upload: Any) -> str:
    """The upload's content hash, computed once per uploaded file."""
    if st.session_state.get(S_UPLOAD_ID) != upload.file_id or not st.session_state.get(
        S_UPLOAD_DIGEST
    ):
        st.session_state[S_UPLOAD_DIGEST] = content_digest(upload.getvalue())
    return st.session_state[S_UPLOAD_DIGEST]


def _uploaded() -> tuple[Trial, pd.DataFrame] | None:
    """The uploaded record with its table, or None (an unreadable upload says why, once)."""
    upload = st.session_state.get(K_UPLOAD)
    if upload is None:
        st.session_state.pop(S_UPLOAD_ID, None)
        st.session_state.pop(S_UPLOAD_DIGEST, None)
        return None
    name = panels.escape_markdown(panels.shorten(upload.name))
    if upload.size > MAX_UPLOAD_BYTES:
        st.sidebar.error(f"{name}: larger than {MAX_UPLOAD_MB} MB, not a trial record.")
        return None
    digest = _upload_digest(upload)
    if upload.file_id != st.session_state.get(S_UPLOAD_ID):
        st.session_state[S_UPLOAD_ID] = upload.file_id
        _clear_filters()
    try:
        trial = parsed_upload(digest, upload.name, upload.getvalue())
    except RecordError as exc:
        st.sidebar.error(panels.escape_markdown(panels.shorten(exc.one_line(), 300)))
        return None
    except Exception as exc:  # an upload is untrusted: any failure is one line, not a traceback
        st.sidebar.error(f"{name}: not a readable trial record ({type(exc).__name__}).")
        return None
    try:
        gazetteer()
    except Exception:
        LOG.exception("the place index did not load")
        gazetteer.clear()
        st.sidebar.warning("The place index is unavailable; retrying on your next change.")
        return None
    tables = upload_tables()
    try:
        if tables.get(digest) is None:
            check_session_quota(st.session_state.setdefault(S_UPLOADS_SEEN, set()), digest)
        waiting = st.sidebar.empty()
        table = tables.compute(
            digest,
            lambda: geocode_upload(trial),
            on_wait=lambda: waiting.info("Waiting for the server: other uploads are geocoding…"),
        )
        waiting.empty()
    except TooManyUploads as exc:
        st.sidebar.error(f"{name}: {exc}.")
        return None
    except Exception:
        LOG.exception("geocoding an upload failed")
        st.sidebar.error(f"{name}: the sites could not be placed right now; try again.")
        return None
    return trial, table


# ---------------------------------------------------------------------------- page parts


def sidebar_filters(prepared: flt.PreparedTable) -> flt.Filters:
    """The filter widgets; returns what they say."""
    countries = list(prepared.countries)
    statuses = list(prepared.statuses)
    _keep_valid(K_COUNTRY, countries)
    _keep_valid(K_STATUS, statuses)
    st.sidebar.subheader("Filters")
    st.sidebar.multiselect("Country", countries, key=K_COUNTRY, placeholder="All countries")
    if statuses:
        st.sidebar.multiselect(
            "Site status",
            statuses,
            key=K_STATUS,
            placeholder="Any status",
            format_func=panels.plain_status,
        )
    else:
        st.session_state[K_STATUS] = []
        st.sidebar.caption("This record gives no site statuses.")
    return flt.filters_from_widgets(st.session_state)


SEARCH = SearchKeys(near=K_NEAR, radius=K_RADIUS, units=K_UNITS, choice_prefix="place_choice_")


def place_search_box() -> None:
    """The patient's search, at the top of the page."""
    search_box.place_search_box(SEARCH, "Find sites near: ZIP code, postcode, city, or lat, lon")
    try:
        units = st.session_state.get(K_UNITS) or flt.DEFAULT_UNITS
        flt.radius_from_widget(st.session_state.get(K_RADIUS), units)
    except ValueError as exc:  # said in plain sight, not in a tooltip
        st.error(f"Radius: {panels.escape_markdown(str(exc))}. Showing any distance instead.")


def place_choices(vm: flt.ViewModel) -> None:
    """ "Did you mean…": the other readings of an ambiguous place, one tap each."""
    search_box.place_choices(SEARCH, vm.place_name, vm.place_choices)


def write_link(filters: flt.Filters) -> None:
    """Keep the URL in step with the view (only when it changed, so no rerun loop starts)."""
    params = flt.to_params(filters)
    if not flt.same_params(_link_params(), params):
        st.query_params.from_dict(params)


def trial_header(trial: Trial, upload_name: str | None = None) -> None:
    """A short title (the full one a tap away, so a phone's first screen keeps room for the
    answer), the link to the registry, and a note while an uploaded record is shown."""
    full = trial.title or trial.nct_id
    short = panels.short_title(full)
    st.title(panels.escape_markdown(short))
    link = panels.trial_link(trial)
    source = " · uploaded record" if upload_name is not None else ""
    if link:
        line = f"**{trial.nct_id}** · [View on ClinicalTrials.gov]({link}){source}"
    else:
        line = f"**{panels.escape_markdown(trial.nct_id)}**{source}"
    # One row (it does not stack on a phone): the ID and link, and the full title a tap away.
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown(line, width="content")
        if short != full:
            with st.popover("Full title", type="tertiary"):
                st.markdown(panels.escape_markdown(full))
    if upload_name is not None:
        st.caption(panels.escape_markdown(panels.upload_note(upload_name)))


def nearest_sites(vm: flt.ViewModel, trial: Trial) -> None:
    """The answer first: after a place search, the nearest site in one line, then whether the
    trial (or that site) recruits, then the nearest few sites as cards with their contacts and
    directions. Without a search, only the trial's recruitment banner."""
    banner = panels.trial_status_banner(trial.status)
    # Rows come nearest first, a row with no point last: the first row is the nearest site.
    first = vm.records(1) if vm.km is not None else []
    if vm.origin is None or vm.units is None or not first or pd.isna(first[0][Col.DISTANCE_KM]):
        if banner:
            show_notice(banner)
        return
    nearest = panels.site_card(first[0], trial, vm.origin, vm.units)
    cards = [
        nearest
        if row[Col.SITE_ID] == first[0][Col.SITE_ID]
        else panels.site_card(row, trial, vm.origin, vm.units)
        for row in vm.nearest_records()
    ]
    st.subheader(panels.escape_markdown(panels.answer_text(nearest)), anchor=False)
    banner = banner or panels.nearest_site_banner(nearest, cards)
    if banner:
        show_notice(banner)
    note = panels.DISTANCE_NOTE
    if any(card.study_contacts for card in cards):
        note += " Where a site lists no contact of its own, the study's contact is shown."
    # One block: the cards, then what their distances mean in small print.
    with st.container(border=True):
        st.markdown(f"{panels.cards_markdown(cards)}\n\n:small[{note}]".lstrip())


@st.fragment
def map_and_details(vm: flt.ViewModel, trial: Trial, listing: exports.SiteListing) -> None:
    """The map with its legend and controls, and the selected site's details beside it.

    A fragment: what changes only this part (the basemap, "Reset map view", a click on a
    marker, the site picker) reruns only this part, not the search, cards, table and tabs.
    A fragment rerun gets the `vm` of the last full run, which is what the page shows.
    """
    deck = views.build_deck(
        vm.points,
        OUTLINES_URL if STATIC_OUTLINES.is_file() else outlines(),
        origin=vm.origin,
        radius_km=vm.radius_km,
        basemap=bool(st.session_state.get(K_BASEMAP)),
        places=place_labels(),
        resets=st.session_state.get(S_MAP_RESETS, 0),
    )
    map_col, detail_col = st.columns([2, 1])
    with map_col:
        st.pydeck_chart(
            deck,
            on_select=_on_map_select,
            selection_mode="single-object",
            key=K_MAP,
            height=MAP_HEIGHT_PX,
            alt=f"Map of {vm.n_shown} trial sites",
        )
        legend = views.legend_entries(vm.points, vm.color_key, origin=vm.origin is not None)
        if legend:
            st.vega_lite_chart(views.legend_spec(legend), width="stretch")
        with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
            st.button(
                "Reset map view",
                key=K_RESET_MAP,
                on_click=_reset_map_view,
                help="Back to the view the map opened with. Zoom with + and −, the mouse "
                "wheel or two fingers; drag to move.",
            )
            st.toggle(
                "Online basemap",
                key=K_BASEMAP,
                value=False,
                help="Draws Carto map tiles under the sites (needs the internet). "
                "Off: country outlines only, fully offline.",
            )
        if vm.n_unplaced:
            n = vm.n_unplaced
            sites = "site" if n == 1 else "sites"
            st.caption(f"{n} {sites} in view could not be placed on the map.")
        if vm.color_key == Col.COUNTRY:
            st.caption("Markers are coloured by country (the record gives no site statuses).")
    with detail_col:
        site_details_panel(vm, trial, listing)


def site_details_panel(vm: flt.ViewModel, trial: Trial, listing: exports.SiteListing) -> None:
    """The selected site's details (pick in the list or click a marker)."""
    shown = vm.positions.tolist()
    ids = [listing.ids[i] for i in shown]
    labels = {listing.ids[i]: listing.labels[i] for i in shown}
    if st.session_state.get(K_SITE) not in labels:
        st.session_state[K_SITE] = None
    st.selectbox(
        "Site",
        ids,
        key=K_SITE,
        index=None,
        format_func=lambda i: labels.get(i, i),
        # The empty picker says what it is for (a caption repeating it cost an element).
        placeholder="Click a marker or pick a site to see it here",
    )
    chosen = st.session_state.get(K_SITE)
    if not chosen:
        return
    row = vm.record(ids.index(chosen))
    details = panels.site_details(row, panels.find_site(trial, chosen), vm.units)
    st.subheader(panels.escape_markdown(details.facility))
    st.dataframe(rows_arrow(details.rows), hide_index=True, width="stretch")
    card = panels.site_card(row, trial, vm.origin, vm.units)
    st.markdown("  \n".join(panels.next_step_lines(card)))
    with st.expander("How this site was placed"):
        st.dataframe(rows_arrow(details.placement), hide_index=True, width="stretch")


def arrow_table(columns: dict[str, list[Any]]) -> pa.Table:
    """Columns of plain values as the Arrow table st.dataframe sends to the browser (NaN is an
    empty cell). Built from lists, it skips the pandas-to-Arrow conversion, about 1 ms of every
    rerun per table. (pyarrow is Streamlit's own dependency.)"""
    return pa.table({name: pa.array(values, from_pandas=True) for name, values in columns.items()})


def rows_arrow(rows: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> pa.Table:
    """Labelled rows (`panels.rows_table`'s input) as a two-column Arrow table."""
    return arrow_table({"": [r[0] for r in rows], "value": [r[1] for r in rows]})


def text_list(items: tuple[str, ...] | list[str], empty: str = "None given.") -> None:
    """A list of untrusted strings as a bulleted Markdown list, every item escaped."""
    if not items:
        st.caption(empty)
        return
    st.markdown(panels.markdown_list(items))


def trial_panels(trial: Trial, table: pd.DataFrame) -> None:
    """The trial summary in tabs: overview, design and arms, eligibility, sponsors, countries."""
    # Only the open tab's content runs (on_change="rerun"): the closed ones would cost a
    # handful of tables and a chart on every filter change.
    overview, design, eligibility, sponsors, per_country = st.tabs(
        ["Overview", "Design & arms", "Eligibility", "Sponsor & identifiers", "Sites per country"],
        key=K_PANEL,
        on_change="rerun",
    )
    if overview.open:
        with overview:
            _overview_tab(trial)
    if design.open:
        with design:
            _design_tab(trial)
    if eligibility.open:
        with eligibility:
            _eligibility_tab(trial)
    if sponsors.open:
        with sponsors:
            st.dataframe(panels.sponsors_table(trial), hide_index=True, width="stretch")
            st.markdown("**Identifiers**")
            st.dataframe(panels.identifiers_table(trial), hide_index=True, width="stretch")
    if per_country.open:
        with per_country:
            counts = panels.sites_per_country(table)
            st.vega_lite_chart(counts, panels.sites_per_country_spec(len(counts)), width="stretch")


def _overview_tab(trial: Trial) -> None:
    """Key facts, conditions and the brief summary: one Markdown block (each element costs
    every rerun, and a block of text reads well on a phone and to a screen reader), then the
    summary as the record wrote it."""
    st.markdown(panels.overview_markdown(trial))
    if trial.brief_summary:
        st.text(trial.brief_summary)


def _design_tab(trial: Trial) -> None:
    """Design facts, arms and interventions."""
    st.dataframe(panels.rows_table(panels.design_rows(trial)), hide_index=True, width="stretch")
    st.markdown("**Arms**")
    st.dataframe(panels.arms_table(trial), hide_index=True, width="stretch")
    st.markdown("**Interventions**")
    st.dataframe(panels.interventions_table(trial), hide_index=True, width="stretch")


def _eligibility_tab(trial: Trial) -> None:
    """Ages, sex, healthy volunteers and the criteria lists."""
    st.dataframe(
        panels.rows_table(panels.eligibility_rows(trial)), hide_index=True, width="stretch"
    )
    st.markdown("**Inclusion criteria**")
    text_list(trial.eligibility.inclusion)
    st.markdown("**Exclusion criteria**")
    text_list(trial.eligibility.exclusion)
    if not trial.eligibility.inclusion and trial.eligibility.text:
        st.text(trial.eligibility.text)


def _view_csv(vm: flt.ViewModel) -> bytes:
    """The CSV download of a view: made only when the button is pressed (the view model is
    never changed, so it is the view the button was drawn with)."""
    return exports.to_csv_bytes(vm.rows, vm.units)


def _view_geojson(vm: flt.ViewModel) -> bytes:
    """The GeoJSON download of a view (see `_view_csv`)."""
    return exports.to_geojson_bytes(vm.rows, vm.units)


def show_notice(notice: panels.Notice) -> None:
    """An info or warning line (a search's, or a recruitment banner), escaped for Markdown."""
    text = panels.escape_markdown(notice.text)
    if notice.kind == panels.WARNING:
        st.warning(text)
    else:
        st.info(text)


def main() -> None:
    """Draw the page."""
    st.set_page_config(page_title="Trial sites", page_icon="🗺️", layout="wide")
    views.speed_up_pydeck()
    if portfolio_page.view_switch():
        portfolio_page.main(
            data_dir(),
            find_place_safely,
            OUTLINES_URL if STATIC_OUTLINES.is_file() else outlines(),
            place_labels(),
        )
        return
    records = list_records()
    trials = list(records)
    default_trial = DEFAULT_TRIAL if DEFAULT_TRIAL in records else (trials[0] if trials else "")
    _read_link_once(trials, default_trial, records)

    st.sidebar.header("Trial")
    if trials:
        if st.session_state.get(K_TRIAL) not in records:
            st.session_state[K_TRIAL] = default_trial
        st.sidebar.selectbox("Record", trials, key=K_TRIAL, on_change=_clear_filters)
    picker_note = st.sidebar.empty()  # filled once we know whether an upload is shown
    st.sidebar.file_uploader(
        "Or upload a record (text or ClinicalTrials.gov JSON)",
        type=["txt", "json"],
        key=K_UPLOAD,
        help=f"Up to {MAX_UPLOAD_MB} MB. Sites are geocoded offline.",
    )
    upload = _uploaded()
    diagnostics: tuple[Diagnostic, ...] = ()
    upload_name: str | None = None
    if upload is not None:
        trial, table = upload
        upload_name = st.session_state[K_UPLOAD].name
        if trials:
            picker_note.caption(
                "Your uploaded file is shown instead; remove it to see this record."
            )
    elif trials:
        trial, table, diagnostics = _load_listed(
            st.session_state.get(K_TRIAL) or default_trial, records
        )
    else:
        where = panels.escape_markdown(str(data_dir()))
        st.error(f"No trial record in {where}. Add one, or upload a record.")
        return

    prepared, listing = prepared_table(table)
    sidebar_filters(prepared)
    trial_header(trial, upload_name)
    place_search_box()
    filters = flt.filters_from_widgets(st.session_state)
    write_link(filters)

    for diagnostic in diagnostics:
        st.warning(panels.escape_markdown(diagnostic.message))

    try:
        # The trial's countries, most sites first: "02115" is read in the US before Korea.
        find = functools.partial(find_place_safely, prefer=prepared.prefer)
        vm = flt.derive_view(table, filters, find, prepared)
    except Exception:  # never a traceback on the page: say so and show the whole trial
        LOG.exception("deriving the view failed for %r", filters)
        st.error("This view could not be prepared; showing every site instead.")
        vm = flt.derive_view(table, flt.Filters(trial=filters.trial), lambda _: None)
    nearest_sites(vm, trial)
    for notice in vm.notices:
        show_notice(notice)
    place_choices(vm)
    # One row that wraps on a phone (a horizontal container: one block, where columns take
    # one per metric plus theirs).
    with st.container(horizontal=True, gap="medium"):
        st.metric("Sites shown", f"{vm.n_shown} of {vm.n_total}")
        st.metric("Countries shown", vm.n_countries)
        st.metric("Trial status", panels.plain_status(trial.status) or panels.NOT_GIVEN)

    map_and_details(vm, trial, listing)

    st.subheader("All sites in view, nearest first" if vm.origin else "Sites")
    columns = exports.listed_columns(listing, vm.positions.tolist(), vm.km, vm.units)
    st.dataframe(
        arrow_table(columns),
        hide_index=True,
        width="stretch",
        key=K_TABLE,
        # Only the columns shown: Streamlit copies each configured column on every run.
        column_config={k: v for k, v in SITE_TABLE_COLUMNS.items() if k in columns},
    )
    # An uploaded record names itself: keep only safe characters in the download's file name.
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", trial.nct_id)[:40] or "trial"
    downloads = st.container(horizontal=True, gap="medium")
    downloads.download_button(
        "Download CSV",
        data=functools.partial(_view_csv, vm),
        file_name=f"{stem}-sites.csv",
        mime="text/csv",
        key="download_csv",
        on_click="ignore",
    )
    downloads.download_button(
        "Download GeoJSON",
        data=functools.partial(_view_geojson, vm),
        file_name=f"{stem}-sites.geojson",
        mime="application/geo+json",
        key="download_geojson",
        on_click="ignore",
    )

    st.divider()
    trial_panels(trial, table)
    st.caption(
        "Places: GeoNames (geonames.org, CC BY 4.0), cities and postal codes. Country outlines: "
        "Natural Earth (public domain). Trial records: ClinicalTrials.gov."
    )
