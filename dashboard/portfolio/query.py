"""Questions across trials, asked of the portfolio store as SQL (no pass over rows in Python).

`portfolio_view(con, filters, origin)` answers one state of the "All trials" view: how many
trials and sites match, the map's marks (each site, or counts per grid cell when there are too
many to send to a browser), the trials with a site near a place (nearest first), and counts per
country. `shared_sites` lists facilities that host several of the matching trials.

Distances are great-circle (haversine) distances on the sphere of `dashboard.geo`, computed in
the query; a bounding box around the place lets the query skip far rows first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from dashboard.geo import DEFAULT_UNITS, EARTH_RADIUS_KM, to_km

# Above this many placed sites in view, the map gets counts per grid cell instead of sites.
# Each site costs ~250 bytes of JSON with its tooltip (facility, place, status, study), so
# 5,000 stay near 1.3 MB, under the 2 MB a phone should have to load for one map.
POINT_LIMIT = 5_000
# The grid has about this many cells across the view's larger side.
GRID_CELLS_ACROSS = 90
# Cell sizes (degrees) the grid snaps to, so that a small change of view keeps the same cells.
CELL_LADDER = tuple(0.01 * 2**k for k in range(12))  # 0.01 ... 20.48 degrees
NEAREST_TRIALS = 200  # rows of "trials near here"
TRIAL_LIST = 200  # rows of the trial list without a place
SHARED_SITES = 200
# Statuses that take or will take patients: listed first.
OPEN_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "AVAILABLE")
FROM_SITES = "FROM sites s"
FROM_SITES_AND_TRIALS = "FROM sites s JOIN trials t USING (tid)"
FROM_TRIAL_COUNTRIES = "FROM trial_countries s"
# What the per-country summary measures, over sites or over their per-trial-and-country sums.
SITE_MEASURES = (
    "count(*) AS sites, count(s.latitude) AS placed, "
    "count(*) FILTER (WHERE s.status = 'RECRUITING') AS recruiting_sites, "
    "min(s.latitude) AS south, min(s.longitude) AS west, max(s.latitude) AS north, "
    "max(s.longitude) AS east"
)
SUMMED_MEASURES = (
    "sum(s.sites) AS sites, sum(s.placed) AS placed, sum(s.recruiting) AS recruiting_sites, "
    "min(s.south) AS south, min(s.west) AS west, max(s.north) AS north, max(s.east) AS east"
)
VIEW_TRIALS = "view_trials"  # the matching trials' keys, registered on the caller's connection
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class PortfolioFilters:
    """What the user asked to see across trials (a place is resolved by the caller)."""

    condition: str = ""  # words, each matched in the title or the conditions
    statuses: tuple[str, ...] = ()  # trial statuses, the registry's words (RECRUITING)
    phases: tuple[str, ...] = ()  # PHASE1 ... NA
    sponsors: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # site countries, ISO codes (records spell names variously)
    near: str = ""
    radius: float | None = None  # in `units`; None: no limit
    units: str = DEFAULT_UNITS

    @property
    def radius_km(self) -> float | None:
        """The radius in kilometres (None when there is no limit)."""
        return None if self.radius is None else to_km(self.radius, self.units)


@dataclass(frozen=True)
class Origin:
    """A searched place: its name and point."""

    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class PortfolioView:
    """One state of the "All trials" view, as plain data."""

    n_trials: int
    n_sites: int
    n_placed: int
    marks: pd.DataFrame  # sites (lat, lon, nct_id, ...) or cells (lat, lon, sites, ...)
    aggregated: bool
    cell_degrees: float | None
    trials: pd.DataFrame  # one row per trial: nearest first with a place, else recruiting first
    countries: pd.DataFrame  # country, trials, sites, recruiting_sites
    bounds: tuple[float, float, float, float] | None  # south, west, north, east of the marks
    origin: Origin | None = None
    radius_km: float | None = None
    total_trials: int = 0
    total_sites: int = 0


@dataclass
class _Sql:
    """A WHERE clause and its parameters, built up piece by piece."""

    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, part: str, *params: Any) -> None:
        self.parts.append(part)
        self.params.extend(params)

    def where(self) -> str:
        return " AND ".join(self.parts) if self.parts else "TRUE"


def condition_words(text: str) -> list[str]:
    """The words of a condition search, lowercased ("" and repeats dropped)."""
    seen: list[str] = []
    for word in text.lower().split():
        word = word.strip(",;")
        if word and word not in seen:
            seen.append(word)
    return seen[:8]


def _trial_filter(f: PortfolioFilters) -> _Sql:
    sql = _Sql()
    for word in condition_words(f.condition):
        sql.add("contains(t.search_text, ?)", word)
    if f.statuses:
        sql.add(f"t.status IN ({_marks(f.statuses)})", *f.statuses)
    if f.phases:
        sql.add("list_has_any(t.phases, ?::VARCHAR[])", list(f.phases))
    if f.sponsors:
        sql.add(f"t.sponsor IN ({_marks(f.sponsors)})", *f.sponsors)
    return sql


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


def distance_sql(lat: float, lon: float) -> tuple[str, list[float]]:
    """SQL for the great-circle distance (km) of s.latitude/s.longitude from (lat, lon)."""
    expr = (
        f"2 * {EARTH_RADIUS_KM} * asin(sqrt(least(1, pow(sin(radians(s.latitude - ?) / 2), 2)"
        " + cos(radians(?)) * cos(radians(s.latitude))"
        " * pow(sin(radians(s.longitude - ?) / 2), 2))))"
    )
    return expr, [lat, lat, lon]


def _site_filter(
    con: duckdb.DuckDBPyConnection,
    f: PortfolioFilters,
    origin: Origin | None,
    radius_km: float | None,
) -> tuple[str, list[Any], str, list[Any]]:
    """(FROM ... WHERE ... for the matching sites, its params, the distance expr, its params).

    The trial filters are applied once, here: the matching trials' keys are registered on
    `con` as VIEW_TRIALS, and every query of the view joins them instead of filtering the
    trials again."""
    trials = _trial_filter(f)
    sql = _Sql()
    if trials.parts:
        keys = con.execute(f"SELECT t.tid FROM trials t WHERE {trials.where()}", trials.params).df()
        con.register(VIEW_TRIALS, keys)
        sql.add(f"s.tid IN (SELECT tid FROM {VIEW_TRIALS})")
    if f.countries:
        sql.add(f"s.country_code IN ({_marks(f.countries)})", *f.countries)
    dist, dist_params = "NULL", []
    if origin is not None:
        dist, dist_params = distance_sql(origin.latitude, origin.longitude)
        if radius_km is not None:
            dlat = radius_km / KM_PER_DEGREE
            sql.add("s.latitude BETWEEN ? AND ?", origin.latitude - dlat, origin.latitude + dlat)
            cos_lat = math.cos(math.radians(min(89.0, abs(origin.latitude) + dlat)))
            dlon = radius_km / (KM_PER_DEGREE * max(cos_lat, 1e-6))
            if dlon < 170 and abs(origin.latitude) + dlat < 89:
                lo, hi = origin.longitude - dlon, origin.longitude + dlon
                if lo < -180 or hi > 180:  # across the antimeridian: two ranges
                    sql.add(
                        "(s.longitude >= ? OR s.longitude <= ?)",
                        (lo + 360) if lo < -180 else lo,
                        (hi - 360) if hi > 180 else hi,
                    )
                else:
                    sql.add("s.longitude BETWEEN ? AND ?", lo, hi)
            sql.add(f"{dist} <= ?", *dist_params, radius_km)
    return f"{FROM_SITES} WHERE {sql.where()}", sql.params, dist, dist_params


def cell_size(south: float, west: float, north: float, east: float) -> float:
    """The grid's cell size (degrees) for marks spread over this box: a step of CELL_LADDER."""
    span = max(north - south, (east - west) * 0.6, 1e-6)
    want = span / GRID_CELLS_ACROSS
    return next((c for c in CELL_LADDER if c >= want), CELL_LADDER[-1])


def portfolio_view(
    con: duckdb.DuckDBPyConnection,
    filters: PortfolioFilters,
    origin: Origin | None = None,
    *,
    point_limit: int = POINT_LIMIT,
) -> PortfolioView:
    """The "All trials" view for `filters` (and a searched place, already resolved)."""
    radius_km = filters.radius_km if origin is not None else None
    where, params, dist, dist_params = _site_filter(con, filters, origin, radius_km)
    # Per country: trials, sites and their bounds (the view's totals are sums of these rows,
    # except its distinct trials, counted apart: a trial may have sites in many countries).
    # Without a place, the per-trial-and-country sums answer it (a quarter of the rows).
    summary = where if origin is not None else where.replace(FROM_SITES, FROM_TRIAL_COUNTRIES, 1)
    measures = SITE_MEASURES if origin is not None else SUMMED_MEASURES
    # A row of trial_countries is one trial in one country: count(*) counts its trials.
    trials_expr = "count(DISTINCT s.tid)" if origin is not None else "count(*)"
    grouped = con.execute(
        "SELECT s.country_code AS country_code, any_value(s.country) AS country, "
        f"{trials_expr} AS trials, {measures} {summary} GROUP BY s.country_code "
        "ORDER BY trials DESC, sites DESC, country_code",
        params,
    ).df()
    n_sites, n_placed = int(grouped["sites"].sum()), int(grouped["placed"].sum())
    n_trials = 0
    if n_sites:
        n_trials = int(con.execute(f"SELECT count(DISTINCT s.tid) {summary}", params).fetchone()[0])
    south, west, north, east = None, None, None, None
    if n_placed:
        south, west = float(grouped["south"].min()), float(grouped["west"].min())
        north, east = float(grouped["north"].max()), float(grouped["east"].max())
    countries = grouped[["country_code", "country", "trials", "sites", "recruiting_sites"]]
    total_trials, total_sites = _totals(con)
    bounds = None if south is None else (south, west, north, east)
    placed = f"{where} AND s.latitude IS NOT NULL"
    cell: float | None = None
    if n_placed <= point_limit:
        marks = con.execute(
            "SELECT s.latitude, s.longitude, s.nct_id, s.facility, s.city, s.country, "
            "s.status AS site_status, t.status AS trial_status, t.title, s.precision, "
            f"s.needs_review {placed.replace(FROM_SITES, FROM_SITES_AND_TRIALS, 1)}",
            params,
        ).df()
        aggregated = False
    else:
        assert bounds is not None
        cell = cell_size(*bounds)
        while True:
            marks = con.execute(
                "SELECT avg(s.latitude) AS latitude, avg(s.longitude) AS longitude, "
                "count(*) AS sites, "
                "count(*) FILTER (WHERE s.status = 'RECRUITING') AS recruiting "
                f"{placed} GROUP BY floor(s.latitude / ?), floor(s.longitude / ?)",
                [*params, cell, cell],
            ).df()
            # Sites spread evenly over the area can fill every cell: coarser cells, then.
            if len(marks) <= point_limit or cell >= CELL_LADDER[-1]:
                break
            cell = next((c for c in CELL_LADDER if c > cell), CELL_LADDER[-1])
        aggregated = True
    trials = _trials(con, where, params, dist, dist_params, origin is not None, filters)
    return PortfolioView(
        n_trials=int(n_trials),
        n_sites=int(n_sites),
        n_placed=int(n_placed),
        marks=marks,
        aggregated=aggregated,
        cell_degrees=cell,
        trials=trials,
        countries=countries,
        bounds=bounds,
        origin=origin,
        radius_km=radius_km,
        total_trials=int(total_trials),
        total_sites=int(total_sites),
    )


def _totals(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """How many trials and sites the store holds in all."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM trials), (SELECT count(*) FROM sites)"
    ).fetchone()
    return int(row[0]), int(row[1])


def _status_rank(column: str) -> str:
    """SQL ranking open statuses first (recruiting, then not yet recruiting...), then the rest."""
    cases = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(OPEN_STATUSES))
    return f"CASE {column} {cases} ELSE {len(OPEN_STATUSES)} END"


def _trials(
    con: duckdb.DuckDBPyConnection,
    where: str,
    params: list[Any],
    dist: str,
    dist_params: list[Any],
    near: bool,
    filters: PortfolioFilters,
) -> pd.DataFrame:
    """One row per matching trial: with a place, its nearest site and distance, nearest first;
    without, its site count in view, open trials first."""
    if near:
        sql = (
            "WITH d AS (SELECT s.tid, s.facility, s.city, s.state, s.country, s.status, "
            f"{dist} AS distance_km {where} AND s.latitude IS NOT NULL), "
            "n AS (SELECT tid, min(distance_km) AS distance_km, "
            "arg_min(facility, distance_km) AS nearest_facility, "
            "arg_min(city, distance_km) AS nearest_city, "
            "arg_min(state, distance_km) AS nearest_state, "
            "arg_min(country, distance_km) AS nearest_country, "
            "arg_min(status, distance_km) AS nearest_status, count(*) AS sites_in_view "
            "FROM d GROUP BY tid) "
            "SELECT t.nct_id, t.title, t.status, t.phases, t.sponsor, t.conditions, "
            "n.distance_km, n.nearest_facility, n.nearest_city, n.nearest_state, "
            "n.nearest_country, n.nearest_status, n.sites_in_view, t.n_sites "
            "FROM n JOIN trials t USING (tid) "
            f"ORDER BY n.distance_km, {_status_rank('t.status')}, t.nct_id LIMIT {NEAREST_TRIALS}"
        )
        return con.execute(sql, [*dist_params, *params]).df()
    if not filters.countries:
        # Every site of a matching trial is in view: its own count says how many.
        keep = ["t.n_sites > 0"]
        if VIEW_TRIALS in where:
            keep.append(f"t.tid IN (SELECT tid FROM {VIEW_TRIALS})")
        return con.execute(
            "SELECT t.nct_id, t.title, t.status, t.phases, t.sponsor, t.conditions, "
            f"t.n_sites AS sites_in_view, t.n_sites FROM trials t WHERE {' AND '.join(keep)} "
            f"ORDER BY {_status_rank('t.status')}, t.n_sites DESC, t.nct_id LIMIT {TRIAL_LIST}"
        ).df()
    sql = (
        "WITH n AS (SELECT s.tid, sum(s.sites) AS sites_in_view "
        f"{where.replace(FROM_SITES, FROM_TRIAL_COUNTRIES, 1)} GROUP BY s.tid) "
        "SELECT t.nct_id, t.title, t.status, t.phases, t.sponsor, t.conditions, "
        "n.sites_in_view, t.n_sites FROM n JOIN trials t USING (tid) "
        f"ORDER BY {_status_rank('t.status')}, n.sites_in_view DESC, t.nct_id LIMIT {TRIAL_LIST}"
    )
    return con.execute(sql, params).df()


def shared_sites(
    con: duckdb.DuckDBPyConnection,
    filters: PortfolioFilters,
    origin: Origin | None = None,
    limit: int = SHARED_SITES,
) -> pd.DataFrame:
    """Facilities hosting more than one matching trial, most trials first (for staff: where
    two studies compete for the same hospital's patients)."""
    radius_km = filters.radius_km if origin is not None else None
    where, params, _, _ = _site_filter(con, filters, origin, radius_km)
    return con.execute(
        "SELECT any_value(s.facility) AS facility, any_value(s.city) AS city, "
        "any_value(s.country) AS country, count(DISTINCT s.tid) AS trials, "
        "count(*) FILTER (WHERE s.status = 'RECRUITING') AS recruiting_sites, "
        "string_agg(DISTINCT s.nct_id, ', ' ORDER BY s.nct_id) AS nct_ids "
        f"{where} AND s.facility_key <> '' GROUP BY s.facility_key "
        f"HAVING count(DISTINCT s.tid) > 1 ORDER BY trials DESC, facility LIMIT {int(limit)}",
        params,
    ).df()


def options(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values the filters offer: statuses (open ones first), phases, sponsors (most trials
    first), country codes (most sites first)."""
    statuses = [
        r[0]
        for r in con.execute(
            f"SELECT status FROM trials GROUP BY status ORDER BY {_status_rank('status')}, "
            "count(*) DESC, status"
        ).fetchall()
    ]
    phases = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT unnest(phases) AS p FROM trials ORDER BY p"
        ).fetchall()
    ]
    sponsors = [
        r[0]
        for r in con.execute(
            "SELECT sponsor FROM trials WHERE sponsor <> '' GROUP BY sponsor "
            "ORDER BY count(*) DESC, sponsor LIMIT 2000"
        ).fetchall()
    ]
    countries = [
        r[0]
        for r in con.execute(
            "SELECT country_code FROM sites WHERE country_code <> '' GROUP BY country_code "
            "ORDER BY count(*) DESC, country_code"
        ).fetchall()
    ]
    return {"statuses": statuses, "phases": phases, "sponsors": sponsors, "countries": countries}
