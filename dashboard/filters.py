"""The dashboard's view state: URL query parameters <-> filters, and filtering the site table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from dashboard.geo import KM_PER_MILE, distances_km

PARAM_TRIAL = "trial"
PARAM_COUNTRY = "country"
PARAM_STATUS = "status"
PARAM_NEAR = "near"
PARAM_RADIUS = "radius"
PARAM_UNITS = "units"
PARAM_ORDER = (PARAM_TRIAL, PARAM_COUNTRY, PARAM_STATUS, PARAM_NEAR, PARAM_RADIUS, PARAM_UNITS)

UNITS = ("km", "mi")
DEFAULT_UNITS = "km"
# Half the Earth's circumference: every point on the globe is closer than this.
MAX_RADIUS_KM = 20_037.5
# A "near" text longer than this is not a place name; refuse it instead of geocoding it.
MAX_NEAR_CHARS = 200

DISTANCE_KM = "distance_km"
SORT_ORDER = "_record_order"


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


def to_km(value: float, units: str) -> float:
    """A distance in `units` ("km" or "mi") converted to kilometres."""
    return value * KM_PER_MILE if units == "mi" else value


def from_km(value_km: float, units: str) -> float:
    """A distance in kilometres converted to `units` ("km" or "mi")."""
    return value_km / KM_PER_MILE if units == "mi" else value_km


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
            raise ValueError(f"radius {text!r} is not a number") from None
    else:
        value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"radius {text!r} must be a positive number")
    return value


def format_radius(value: float) -> str:
    """A radius as a short URL value: `50` rather than `50.0`."""
    return f"{value:g}" if value == round(value, 6) else repr(value)


def _values(params: Mapping[str, str | Sequence[str]], key: str) -> list[str]:
    """Every value of a parameter, whether the mapping holds one string or a list."""
    raw = params.get(key)
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    return [str(v) for v in raw]


def _last(params: Mapping[str, str | Sequence[str]], key: str) -> str:
    """The last value of a parameter ("" when absent), as browsers resolve repeats."""
    values = _values(params, key)
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

    trial = _last(params, PARAM_TRIAL).upper()
    if trial and trial not in trials:
        warnings.append(f"Trial {trial} is not available here; showing {default_trial} instead.")
        trial = ""
    trial = trial or default_trial

    def pick(key: str, allowed: Sequence[str], label: str) -> tuple[str, ...]:
        by_fold = {a.casefold(): a for a in allowed}
        chosen: list[str] = []
        for value in _values(params, key):
            value = value.strip()
            if not value:
                continue
            match = value if value in allowed else by_fold.get(value.casefold())
            if match is None:
                warnings.append(f"Unknown {label} {value!r} in the link was ignored.")
            elif match not in chosen:
                chosen.append(match)
        return tuple(chosen)

    chosen_countries = pick(PARAM_COUNTRY, countries, "country")
    chosen_statuses = pick(PARAM_STATUS, statuses, "status")

    near = _last(params, PARAM_NEAR)
    if len(near) > MAX_NEAR_CHARS:
        warnings.append("The place in the link is too long and was ignored.")
        near = ""

    units = _last(params, PARAM_UNITS).lower() or DEFAULT_UNITS
    if units not in UNITS:
        warnings.append(f"Unknown units {units!r} in the link; using {DEFAULT_UNITS}.")
        units = DEFAULT_UNITS

    radius: float | None
    try:
        radius = parse_radius(_last(params, PARAM_RADIUS))
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
    return all(_values(a, k) == _values(b, k) for k in keys)


def country_options(table: pd.DataFrame) -> list[str]:
    """The countries of a site table, as the record names them, in alphabetical order."""
    if "country" not in table.columns:
        return []
    names = {str(c) for c in table["country"].dropna() if str(c).strip()}
    return sorted(names, key=str.casefold)


def status_options(table: pd.DataFrame) -> list[str]:
    """The non-empty site statuses of a table, in alphabetical order."""
    if "status" not in table.columns:
        return []
    names = {str(s) for s in table["status"].fillna("") if str(s).strip()}
    return sorted(names)


def filter_sites(table: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows of a site table that match the country and status filters (a new frame)."""
    mask = pd.Series(True, index=table.index)
    if filters.countries:
        mask &= table["country"].isin(filters.countries)
    if filters.statuses:
        mask &= table["status"].fillna("").isin(filters.statuses)
    return table.loc[mask].copy()


def add_distances(
    table: pd.DataFrame, latitude: float, longitude: float, units: str = DEFAULT_UNITS
) -> pd.DataFrame:
    """A copy of `table` with `distance_km` and `distance (<units>)`, nearest first.

    Ties keep record order (a stable sort), so two sites in one city always list the same
    way; rows without coordinates get no distance and go last.
    """
    out = table.copy()
    out[SORT_ORDER] = range(len(out))
    out[DISTANCE_KM] = distances_km(out, latitude, longitude)
    out[distance_column(units)] = out[DISTANCE_KM].map(
        lambda d: round(from_km(d, units), 1) if pd.notna(d) else d
    )
    out = out.sort_values([DISTANCE_KM, SORT_ORDER], kind="stable", na_position="last")
    return out.drop(columns=[SORT_ORDER])


def within_radius(table: pd.DataFrame, radius_km: float | None) -> pd.DataFrame:
    """The rows of a table with distances that lie within `radius_km` (all when None)."""
    if radius_km is None:
        return table
    return table.loc[table[DISTANCE_KM] <= radius_km].copy()


def distance_column(units: str) -> str:
    """The name of the distance column shown to people, e.g. `distance (km)`."""
    return f"distance ({units})"
