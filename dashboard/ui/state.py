"""What the page shows, as a pure function of state: filters <-> URL and widgets, `derive_view`.

`Filters` is the view state. `parse_params`/`to_params` map it to and from a link, and
`WIDGET_KEYS` names the widget holding each field, so the page reads and writes the widgets
from one table. `derive_view(table, filters, find_place)` computes everything the page draws
(rows, distances, the search message, map points and metrics) as a `ViewModel`, testable
without Streamlit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dashboard.geo import (
    DEFAULT_UNITS,
    UNITS,
    distances_km,
    frame_distances_km,
    from_km,
    rounded_in,
    to_km,
)
from dashboard.geocoding.place_search import PlaceSearch
from dashboard.sites.table import Col
from dashboard.ui import map as site_map
from dashboard.ui.panels import (
    INFO,
    NEAREST_CARDS,
    WARNING,
    Notice,
    nearest_order,
    records,
    shorten,
)

PARAM_TRIAL = "trial"
PARAM_COUNTRY = "country"
PARAM_STATUS = "status"
PARAM_NEAR = "near"
PARAM_RADIUS = "radius"
PARAM_UNITS = "units"

# Half the Earth's circumference: every point on the globe is closer than this.
MAX_RADIUS_KM = 20_037.5
# A "near" text longer than this is not a place name; refuse it instead of geocoding it.
MAX_NEAR_CHARS = 200
RADIUS_PRESETS = (20, 50, 100, 200, 500)  # as NCI's trial search offers them, in km or mi
# The radius a place search starts with when none is chosen (NCI's default is 100 miles).
DEFAULT_RADIUS = {"mi": 100, "km": 200}
# A link naming many unknown countries lists this many and counts the rest.
MAX_LISTED_UNKNOWN = 3
# The smallest radius the page's box takes (about a hospital campus); smaller ones are refused.
MIN_RADIUS = 0.1


@dataclass(frozen=True)
class Filters:
    """What the user asked to see: one trial, some countries and statuses, a place and a radius."""

    trial: str = ""
    countries: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    near: str = ""
    radius: float | None = None  # in `units`; None means no limit
    units: str = DEFAULT_UNITS

    @property
    def radius_km(self) -> float | None:
        """The radius in kilometres (None when there is no limit)."""
        if self.radius is None:
            return None
        return to_km(self.radius, self.units)


@dataclass(frozen=True)
class ParsedParams:
    """Filters read from a URL, and one warning line per value that had to be ignored."""

    filters: Filters
    warnings: tuple[str, ...] = field(default=())


def parse_radius(text: str | float | None) -> float | None:
    """A radius from a URL or a box: a positive finite number, None when blank.

    Raises ValueError with a readable message for anything else.
    """
    if text is None:
        return None
    if isinstance(text, str):
        text = text.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"radius {shorten(text)!r} is not a number") from None
    else:
        value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"radius {shorten(str(text))!r} must be a positive number")
    if value < MIN_RADIUS:
        raise ValueError(f"radius {shorten(str(text))!r} must be at least {MIN_RADIUS:g}")
    return value


def format_radius(value: float) -> str:
    """A radius as a short URL value: `50` rather than `50.0`."""
    return f"{value:g}" if value == round(value, 6) else repr(value)


def param_values(params: Mapping[str, str | Sequence[str]], key: str) -> list[str]:
    """Every value of a parameter, whether the mapping holds one string or a list."""
    raw = params.get(key)
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    return [str(v) for v in raw]


def last_param(params: Mapping[str, str | Sequence[str]], key: str) -> str:
    """The last value of a parameter ("" when absent), as browsers resolve repeats."""
    values = param_values(params, key)
    return values[-1].strip() if values else ""


def parse_params(
    params: Mapping[str, str | Sequence[str]],
    *,
    trials: Sequence[str],
    countries: Sequence[str] = (),
    statuses: Sequence[str] = (),
    default_trial: str = "",
) -> ParsedParams:
    """Read a link's query parameters into Filters, ignoring (with a warning) what cannot apply.

    `countries` and `statuses` are the values the chosen trial offers; `trials` the NCT IDs
    the picker knows. Matching is exact first, then case-insensitive, so a hand-typed
    `country=france` still works.
    """
    warnings: list[str] = []

    trial = last_param(params, PARAM_TRIAL).upper()
    if trial and trial not in trials:
        warnings.append(
            f"Trial {shorten(trial)} is not available here; showing {default_trial} instead."
        )
        trial = ""
    trial = trial or default_trial

    def pick(key: str, allowed: Sequence[str], label: str) -> tuple[str, ...]:
        by_fold = {a.casefold(): a for a in allowed}
        chosen: list[str] = []
        unknown: list[str] = []
        for value in param_values(params, key):
            value = value.strip()
            if not value:
                continue
            match = value if value in allowed else by_fold.get(value.casefold())
            if match is None:
                if value not in unknown:
                    unknown.append(value)
            elif match not in chosen:
                chosen.append(match)
        # One line per unknown value, up to a few; the rest are counted, not listed.
        for value in unknown[:MAX_LISTED_UNKNOWN]:
            warnings.append(f"Unknown {label} {shorten(value)!r} in the link was ignored.")
        if len(unknown) > MAX_LISTED_UNKNOWN:
            more = len(unknown) - MAX_LISTED_UNKNOWN
            warnings.append(f"{more} more unknown {label} values in the link were ignored.")
        return tuple(chosen)

    chosen_countries = pick(PARAM_COUNTRY, countries, "country")
    chosen_statuses = pick(PARAM_STATUS, statuses, "status")

    near = last_param(params, PARAM_NEAR)
    if len(near) > MAX_NEAR_CHARS:
        warnings.append("The place in the link is too long and was ignored.")
        near = ""

    units = last_param(params, PARAM_UNITS).lower() or DEFAULT_UNITS
    if units not in UNITS:
        warnings.append(f"Unknown units {shorten(units)!r} in the link; using {DEFAULT_UNITS}.")
        units = DEFAULT_UNITS

    radius: float | None
    try:
        radius = parse_radius(last_param(params, PARAM_RADIUS))
    except ValueError as exc:
        warnings.append(f"The link's {exc} and was ignored.")
        radius = None
    if radius is not None and to_km(radius, units) > MAX_RADIUS_KM:
        # Larger than the globe: every site is inside, so it is the same as no limit.
        radius = None

    filters = Filters(
        trial=trial,
        countries=chosen_countries,
        statuses=chosen_statuses,
        near=near,
        radius=radius,
        units=units,
    )
    return ParsedParams(filters, tuple(warnings))


def to_params(filters: Filters) -> dict[str, str | list[str]]:
    """The query parameters that reproduce `filters` (empty values left out)."""
    params: dict[str, str | list[str]] = {}
    if filters.trial:
        params[PARAM_TRIAL] = filters.trial
    if filters.countries:
        params[PARAM_COUNTRY] = list(filters.countries)
    if filters.statuses:
        params[PARAM_STATUS] = list(filters.statuses)
    if filters.near:
        params[PARAM_NEAR] = filters.near
    if filters.radius is not None:
        params[PARAM_RADIUS] = format_radius(filters.radius)
    # Units are spelled out whenever a distance is in play, so a shared link never
    # depends on a default; otherwise only a non-default choice is kept.
    if filters.near or filters.radius is not None or filters.units != DEFAULT_UNITS:
        params[PARAM_UNITS] = filters.units
    return params


def same_params(a: Mapping[str, str | Sequence[str]], b: Mapping[str, str | Sequence[str]]) -> bool:
    """Whether two query-parameter mappings say the same thing (lists and single values alike)."""
    keys = set(a) | set(b)
    return all(param_values(a, k) == param_values(b, k) for k in keys)


def country_options(table: pd.DataFrame) -> list[str]:
    """The countries of a site table, as the record names them, in alphabetical order."""
    if Col.COUNTRY not in table.columns:
        return []
    names = {str(c) for c in table[Col.COUNTRY].dropna() if str(c).strip()}
    return sorted(names, key=str.casefold)


def status_options(table: pd.DataFrame) -> list[str]:
    """The non-empty site statuses of a table, in alphabetical order."""
    if Col.STATUS not in table.columns:
        return []
    names = {str(s) for s in table[Col.STATUS].fillna("") if str(s).strip()}
    return sorted(names)


def filter_sites(table: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows of a site table that match the country and status filters (a new frame)."""
    mask = pd.Series(True, index=table.index)
    if filters.countries:
        mask &= table[Col.COUNTRY].isin(filters.countries)
    if filters.statuses:
        mask &= table[Col.STATUS].fillna("").isin(filters.statuses)
    return table.loc[mask].copy()


def add_distances(
    table: pd.DataFrame, latitude: float, longitude: float, units: str = DEFAULT_UNITS
) -> pd.DataFrame:
    """A copy of `table` with `distance_km` and `distance (<units>)`, nearest first.

    Ties keep record order (a stable sort), so two sites in one city always list the same
    way; rows without coordinates get no distance and go last.
    """
    km = frame_distances_km(table, latitude, longitude, Col.LATITUDE, Col.LONGITUDE).to_numpy()
    return _with_distances(table, _nearest_first(np.arange(len(table)), km), km, units)


def _nearest_first(order: np.ndarray, km: np.ndarray) -> np.ndarray:
    """`order` (positions in a table) sorted by distance `km[position]`, nearest first; ties
    keep their order (a stable sort) and positions with no distance go last."""
    return order[np.argsort(_nan_last(km[order]), kind="stable")]


def within_radius(table: pd.DataFrame, radius_km: float | None) -> pd.DataFrame:
    """The rows of a table with distances that lie within `radius_km` (all when None)."""
    if radius_km is None:
        return table
    return table.loc[table[Col.DISTANCE_KM] <= radius_km].copy()


def distance_column(units: str) -> str:
    """The name of the distance column shown to people, e.g. `distance (km)`."""
    return f"distance ({units})"


# ---------------------------------------------------------------------------------------------
# Widgets: which session-state key holds each field of Filters (the page reads and writes these)

WIDGET_KEYS: dict[str, str] = {
    "trial": "trial",
    "countries": "country",
    "statuses": "status",
    "near": "near",
    "radius": "radius",
    "units": "units",
}


# The radius widget offers these (and takes a typed number): its value is text.
ANY_DISTANCE = "Any distance"


def radius_options() -> list[str]:
    """The radius widget's choices: any distance, then the presets."""
    return [ANY_DISTANCE, *(str(p) for p in RADIUS_PRESETS)]


def radius_to_widget_value(value: Any) -> str:
    """Whatever the radius widget holds (text, a number from an old session, None) as text."""
    if value is None or value == "":
        return ANY_DISTANCE
    if isinstance(value, int | float):
        return radius_to_widget(float(value))
    return str(value)


def radius_to_widget(radius: float | None) -> str:
    """A radius as the radius widget shows it ("Any distance", "100", "12.5")."""
    return ANY_DISTANCE if radius is None else format_radius(radius)


def radius_from_widget(value: Any, units: str = DEFAULT_UNITS) -> float | None:
    """The radius a widget value means; ValueError (with a readable reason) when it is not one."""
    if value is None or (isinstance(value, str) and value.strip() in ("", ANY_DISTANCE)):
        return None
    radius = parse_radius(value if isinstance(value, str) else float(value))
    if radius is not None and to_km(radius, units) > MAX_RADIUS_KM:
        raise ValueError(
            f"radius {format_radius(radius)} {units} is more than half the Earth's "
            "circumference; choose Any distance"
        )
    return radius


def radius_in_units(value: Any, old: str, new: str) -> str:
    """The radius widget's value when the units change from `old` to `new`: the same distance
    in the new units (whole numbers), or the new units' default when it was the old ones'
    (100 mi for 200 km), so "200" never silently turns from km into mi. Any distance, or a
    value that is not a radius, stays as it is."""
    current = radius_to_widget_value(value)
    radius = radius_from_widget_or_none(current)
    if radius is None or old == new or old not in UNITS or new not in UNITS:
        return current
    if radius == DEFAULT_RADIUS[old]:
        return str(DEFAULT_RADIUS[new])
    return format_radius(max(1.0, float(round(from_km(to_km(radius, old), new)))))


def radius_from_widget_or_none(value: Any) -> float | None:
    """`radius_from_widget`, None where it would raise."""
    try:
        return radius_from_widget(value)
    except ValueError:
        return None


def filters_to_widgets(filters: Filters) -> dict[str, Any]:
    """The widget values that show `filters` (lists for multiselects, text for the radius)."""
    return {
        WIDGET_KEYS["trial"]: filters.trial,
        WIDGET_KEYS["countries"]: list(filters.countries),
        WIDGET_KEYS["statuses"]: list(filters.statuses),
        WIDGET_KEYS["near"]: filters.near,
        WIDGET_KEYS["radius"]: radius_to_widget(filters.radius),
        WIDGET_KEYS["units"]: filters.units,
    }


def filters_from_widgets(state: Mapping[str, Any]) -> Filters:
    """The Filters the widgets say (missing or empty widgets mean no filter)."""
    units = state.get(WIDGET_KEYS["units"]) or DEFAULT_UNITS
    return Filters(
        trial=state.get(WIDGET_KEYS["trial"]) or "",
        countries=tuple(state.get(WIDGET_KEYS["countries"]) or ()),
        statuses=tuple(state.get(WIDGET_KEYS["statuses"]) or ()),
        near=(state.get(WIDGET_KEYS["near"]) or "").strip(),
        radius=_radius_or_none(state.get(WIDGET_KEYS["radius"]), units),
        units=units,
    )


def _radius_or_none(value: Any, units: str) -> float | None:
    """The widget's radius, or None when it holds no valid one (the page says why)."""
    try:
        return radius_from_widget(value, units)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# The view model

# A typed place -> its readings (a PlaceSearch, most likely first), or simply (name, lat, lon),
# or None when it is not known. ValueError when the entry cannot name a place.
PlaceLookup = Callable[[str], "PlaceSearch | tuple[str, float, float] | None"]


@dataclass(frozen=True, eq=False)
class ViewModel:
    """Everything the page draws for one state, computed without Streamlit.

    `positions` are the rows in view (positions in `prepared.table`, in the order they are
    listed: nearest first when a place is searched); `km` the distance of every table row from
    the searched place; `points` the map markers; `origin`/`radius_km` the search circle;
    `units` is set only when distances are shown. `rows` (a frame) and `records()` (plain
    dicts) are the rows in view with their distances, made only when asked for.
    """

    prepared: PreparedTable
    positions: np.ndarray
    points: list[dict[str, Any]]
    color_key: str
    km: np.ndarray | None = None
    origin: tuple[float, float] | None = None
    place_name: str = ""
    radius_km: float | None = None
    units: str | None = None
    notices: tuple[Notice, ...] = ()
    n_total: int = 0
    # Other readings of an ambiguous place entry: (label shown, entry that finds it).
    place_choices: tuple[tuple[str, str], ...] = ()

    @functools.cached_property
    def rows(self) -> pd.DataFrame:
        """The site-table rows in view, in order, with `distance_km` and `distance (<units>)`
        when a place is searched."""
        table = self.prepared.table
        if self.km is None or self.units is None:
            return table.take(self.positions)
        return _with_distances(table, self.positions, self.km, self.units)

    def records(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The first `limit` rows in view (all by default) as dicts of Python values, as
        `panels.records(self.rows)` gives them, without building the frame: the page reads a
        few rows on every rerun."""
        return self._records_at(self.positions[:limit].tolist())

    def record(self, k: int) -> dict[str, Any]:
        """The k-th row in view, as `records` gives it."""
        return self._records_at([int(self.positions[k])])[0]

    def nearest_records(self, limit: int = NEAREST_CARDS) -> list[dict[str, Any]]:
        """The rows to list first after a place search (`panels.nearest_order`: recruiting
        sites first, nearest first), as `records` gives them; none without a search."""
        if self.km is None:
            return []
        shown = self.positions.tolist()
        statuses = self.prepared.row_statuses
        order = nearest_order(
            [statuses[i] for i in shown], [float(self.km[i]) for i in shown], limit
        )
        return self._records_at([shown[k] for k in order])

    def _records_at(self, picked: list[int]) -> list[dict[str, Any]]:
        """The table rows at positions `picked` as dicts, with their distances when searched."""
        base = self.prepared.records
        if self.km is None or self.units is None:
            return [dict(base[i]) for i in picked]
        column = distance_column(self.units)
        out = []
        for i in picked:
            row = dict(base[i])
            km = float(self.km[i])
            row[Col.DISTANCE_KM] = km
            row[column] = rounded_in(km, self.units)
            out.append(row)
        return out

    @property
    def n_shown(self) -> int:
        """How many sites are in view."""
        return len(self.positions)

    @property
    def n_countries(self) -> int:
        """How many countries the sites in view are in."""
        countries = self.prepared.row_countries
        # as pandas' nunique counts them: a missing value (None, NaN, NA) is no country
        return len({countries[i] for i in self.positions.tolist() if pd.notna(countries[i])})

    @property
    def n_unplaced(self) -> int:
        """Sites in view that could not be put on the map."""
        return self.n_shown - len(self.points)


def _search_message(n: int, filters: Filters, name: str) -> str:
    limit = ""
    if filters.radius is not None:
        limit = f" within {format_radius(filters.radius)} {filters.units}"
    return f"{n:,} {'site' if n == 1 else 'sites'}{limit} of {name}, nearest first."


@dataclass(frozen=True, eq=False)
class PreparedTable:
    """What the view needs from a site table whatever the filters, computed once per table
    (`prepare_table`) so a filter change only redoes the work that depends on the filters.

    `table` is the table it was made from (never changed in place); the other fields are
    index-aligned with its rows where they are per row.
    """

    table: pd.DataFrame
    countries: tuple[str, ...]
    statuses: tuple[str, ...]
    color_key: str
    marks: site_map.SiteMarks
    row_countries: tuple[str, ...]
    row_statuses: tuple[str, ...]
    latitudes: np.ndarray
    longitudes: np.ndarray
    # The trial's country codes, most sites first: "02115" is read in the US before Korea.
    prefer: tuple[str, ...]
    # Every row as a dict of Python values (`panels.records`): the page reads the rows in
    # view from these instead of slicing the frame on every rerun.
    records: tuple[dict[str, Any], ...]


def prepare_table(table: pd.DataFrame) -> PreparedTable:
    """The filter-independent part of the view of `table` (see `PreparedTable`)."""
    countries = country_options(table)
    statuses = status_options(table)
    key = site_map.color_key(table)
    colors = site_map.category_colors(statuses if key == Col.STATUS else countries, key)
    if Col.COUNTRY_CODE in table.columns:
        codes = table[Col.COUNTRY_CODE].fillna("").astype(str)
        prefer = tuple(str(c) for c in codes[codes != ""].value_counts().index)
    else:
        prefer = ()
    return PreparedTable(
        table=table,
        countries=tuple(countries),
        statuses=tuple(statuses),
        color_key=key,
        marks=site_map.site_marks(table, colors, key),
        row_countries=tuple(
            table[Col.COUNTRY].tolist() if Col.COUNTRY in table.columns else [""] * len(table)
        ),
        row_statuses=tuple(
            table[Col.STATUS].fillna("").tolist()
            if Col.STATUS in table.columns
            else [""] * len(table)
        ),
        latitudes=pd.to_numeric(table[Col.LATITUDE], errors="coerce").to_numpy(dtype=float),
        longitudes=pd.to_numeric(table[Col.LONGITUDE], errors="coerce").to_numpy(dtype=float),
        prefer=prefer,
        records=tuple(records(table)),
    )


def _with_distances(
    table: pd.DataFrame, order: np.ndarray, km: np.ndarray, units: str
) -> pd.DataFrame:
    """The rows of `table` at positions `order`, with `distance_km` and `distance (<units>)`
    (as `add_distances` gives them)."""
    out = table.take(order)
    picked = km[order]
    return out.assign(
        **{
            Col.DISTANCE_KM: picked,
            distance_column(units): np.array(
                [rounded_in(float(d), units) for d in picked], dtype=float
            ),
        }
    )


def derive_view(
    table: pd.DataFrame,
    filters: Filters,
    find_place: PlaceLookup,
    prepared: PreparedTable | None = None,
) -> ViewModel:
    """What to show for `filters`: filtered rows, distances from the searched place, map points.

    Values the table does not offer (a country or status from an old link) are ignored; a
    place that cannot be found gives a warning and no distances. `prepared` is
    `prepare_table(table)`, when the caller keeps one (it is made here otherwise).
    """
    if prepared is None or prepared.table is not table:
        prepared = prepare_table(table)
    kept = Filters(
        trial=filters.trial,
        countries=tuple(c for c in filters.countries if c in prepared.countries),
        statuses=tuple(s for s in filters.statuses if s in prepared.statuses),
        near=filters.near,
        radius=filters.radius,
        units=filters.units if filters.units in UNITS else DEFAULT_UNITS,
    )
    # Positions (in table order) of the rows the country and status filters keep.
    wanted_countries, wanted_statuses = set(kept.countries), set(kept.statuses)
    order = np.fromiter(
        (
            i
            for i, (c, s) in enumerate(
                zip(prepared.row_countries, prepared.row_statuses, strict=True)
            )
            if (not wanted_countries or c in wanted_countries)
            and (not wanted_statuses or s in wanted_statuses)
        ),
        dtype=np.intp,
    )
    shown = order  # positions of the rows in view, in the order they are listed
    km: np.ndarray | None = None
    notices: list[Notice] = []
    origin: tuple[float, float] | None = None
    units: str | None = None
    name = ""
    choices: tuple[tuple[str, str], ...] = ()
    if kept.near:
        try:
            place = find_place(kept.near)
        except ValueError as exc:  # the entry cannot name a place: say why, in its own words
            place = None
            notices.append(Notice(WARNING, f"“{shorten(kept.near)}”: {exc}."))
        if place is None and notices:
            pass  # the entry could not name a place: its notice says why
        elif place is None or (isinstance(place, PlaceSearch) and place.best is None):
            notices.append(
                Notice(
                    WARNING,
                    f"Could not find the place “{shorten(kept.near)}”. Try a city name with "
                    "its country (e.g. Lyon, France), a postcode (e.g. 02115) or coordinates "
                    "(e.g. 45.76, 4.84).",
                )
            )
        else:
            name, lat, lon, choices, note = _reading(place)
            origin, units = (lat, lon), kept.units
            km = distances_km(lat, lon, prepared.latitudes, prepared.longitudes)
            near_order = _nearest_first(order, km)
            radius_km = kept.radius_km
            shown = (
                near_order
                if radius_km is None
                else near_order[km[near_order] <= radius_km]  # NaN is never inside
            )
            if len(shown) or not len(near_order):
                notices.append(Notice(INFO, _search_message(len(shown), kept, name)))
            else:  # none within the radius: where the nearest is says it all
                nearest = _with_distances(table, near_order[:1], km, kept.units)
                notices.append(Notice(WARNING, _widen_hint(nearest, kept, name)))
            if note:
                notices.append(Notice(INFO, note))
    if not len(shown) and len(table) and (kept.countries or kept.statuses) and not origin:
        notices.append(
            Notice(WARNING, "No site matches these filters: clear a country or status filter.")
        )
    points = site_map.marks_points(prepared.marks, shown.tolist(), km, units)
    return ViewModel(
        prepared=prepared,
        positions=shown,
        points=points,
        color_key=prepared.color_key,
        km=km,
        origin=origin,
        place_name=name,
        radius_km=kept.radius_km if origin else None,
        units=units,
        notices=tuple(notices),
        n_total=len(table),
        place_choices=choices,
    )


def _nan_last(values: np.ndarray) -> np.ndarray:
    """Sort keys that put NaN (a row with no point) after every distance."""
    return np.where(np.isnan(values), np.inf, values)


def _reading(place: Any) -> tuple[str, float, float, tuple[tuple[str, str], ...], str]:
    """(name, lat, lon, other readings, note) from a lookup's answer (a PlaceSearch or tuple)."""
    if isinstance(place, PlaceSearch):
        best = place.best
        assert best is not None
        others = tuple((m.label, m.entry) for m in place.matches[1:])
        return best.label, best.latitude, best.longitude, others, place.note
    name, lat, lon = place
    return name, lat, lon, (), ""


def _widen_hint(near: pd.DataFrame, filters: Filters, name: str) -> str:
    """What to relax when a radius leaves no site: where the nearest one is, and a preset."""
    first = near.iloc[0]
    d = from_km(float(first[Col.DISTANCE_KM]), filters.units)
    preset = next((p for p in RADIUS_PRESETS if p >= d), None)
    widen = f"widen the radius to {preset} {filters.units}" if preset else "choose any distance"
    return (
        f"No site within {format_radius(filters.radius or 0)} {filters.units} of {name}. "
        f"The nearest is {d:,.0f} {filters.units} away ({first[Col.CITY]}): {widen}."
    )
