"""Sites -> points: the offline gazetteer matcher, Nominatim online, registry cross-check.

Matching rules, in order (see `match_site`):

1. The country always constrains: candidates come only from the site's country.
2. The city is tried in several general forms (`city_variants`): as written; without a bracketed
   part; "City - District" as district then city; with Korean/Japanese administrative suffixes
   ("-gu", "-ku" = ward, "-si", "-shi" = city, "-gun" = county); without a Danish postal-district
   letter ("Aarhus N"); "St." -> "Saint".
3. Same-named candidates are ranked by a score: log population, minus a penalty for an alternate
   (not the own) name, minus a penalty for a "section" (a place within a few km of a much more
   populous place of the same country: GeoNames' city districts such as Madrid's "Salamanca"),
   minus a large penalty when the site's state names a region and the candidate lies elsewhere.
4. A candidate outside the region the state names is used only when nothing inside matches
   (flagged for review), except for a ward, which then goes to the region's main city.
5. A city string that names a territory GeoNames files under its own code ("Hong Kong, China")
   is looked up there.
6. Fallback ladder: county (for "-gun") -> the region's main city for an unknown ward -> region
   centroid -> country centroid, with `precision` saying so and `needs_review` set.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from dashboard.gazetteer import Candidate, Gazetteer, Place, fold, haversine_km_scalar
from dashboard.model import Site

PRECISIONS = ("city", "district", "region", "country")
GEOCODERS = ("gazetteer", "nominatim", "registry", "override")
# Ranking weights (score = log10(population + 10) - penalties).
ALTERNATE_NAME_PENALTY = 1.0
SECTION_PENALTY = 2.0
STATE_MISMATCH_PENALTY = 10.0
STATE_ANCHOR_BONUS = 3.0
# A candidate is a "section" of a city when a place this many times as populous lies this close.
SECTION_RADIUS_KM = 10.0
SECTION_POPULATION_RATIO = 10.0
# Two candidates closer than this in score but farther apart than AMBIGUOUS_KM -> review.
AMBIGUITY_MARGIN = 0.5
AMBIGUOUS_KM = 25.0
# A state that names no region may name a place: candidates this close to it get a bonus.
STATE_ANCHOR_KM = 100.0
# A district named in "City - District" must lie this close to the city to be taken.
DISTRICT_OF_CITY_KM = 25.0
FUZZY_CUTOFF = 0.88
OUT_OF_REGION = "not in the named state"
# The registry's own point is trusted unless it is this far from the gazetteer's city.
REGISTRY_MAX_KM = 50.0
NOMINATIM_USER_AGENT = "trial-sites-dashboard/0.1 (+https://github.com/trial-sites-dashboard)"
USER_AGENT_ENV = "TRIAL_SITES_USER_AGENT"

# geopy's RateLimiter logs every failed try with a full traceback; with no logging configured,
# Python prints that on stderr. NominatimGeocoder reports a failure as one warning line instead.
logging.getLogger("geopy").addHandler(logging.NullHandler())
NOMINATIM_MIN_DELAY_SECONDS = 1.0
WARNING_DETAIL_CHARS = 160  # how much of an error a one-line warning quotes
# Nominatim's addresstype -> our precision.
NOMINATIM_PRECISION = {
    "city": "city",
    "town": "city",
    "village": "city",
    "hamlet": "city",
    "municipality": "city",
    "locality": "city",
    "isolated_dwelling": "city",
    "suburb": "district",
    "borough": "district",
    "quarter": "district",
    "neighbourhood": "district",
    "city_district": "district",
    "district": "district",
    "county": "district",
    "state_district": "region",
    "state": "region",
    "province": "region",
    "region": "region",
    "country": "country",
}
WARD_SUFFIXES = frozenset({"gu", "ku"})  # a ward of a big city
CITY_SUFFIXES = frozenset({"si", "shi", "city", "machi", "cho", "mura", "shicho"})
COUNTY_SUFFIXES = frozenset({"gun"})
JOINED_CITY_SUFFIXES = frozenset({"shi", "si"})
MIN_STEM = 3
# Danish/Norwegian/Swedish postal-district letters appended to a city ("Aarhus N", "Odense C").
POSTAL_DISTRICT_TOKENS = frozenset(
    {"n", "s", "e", "w", "c", "v", "o", "k", "nv", "no", "sv", "so", "ne", "nw", "se", "sw"}
)
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort", "s": "san"}
CITY_DISTRICT_SEPARATOR = re.compile(r"\s+[-–—/]\s+")
MIN_COUNTRY_WORD = 4  # "Korea" may stand for a country; "Ma" may not
LATLON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class GeocodeResult:
    """Where a site was put, by whom, how precisely, and whether a human should look."""

    latitude: float
    longitude: float
    precision: str  # one of PRECISIONS
    geocoder: str  # one of GEOCODERS
    matched_name: str
    query: str
    needs_review: bool = False
    note: str = ""
    registry_latitude: float | None = None
    registry_longitude: float | None = None


@dataclass(frozen=True)
class PlaceMatch:
    """A place typed in the app's "near" box, resolved to a point."""

    name: str
    latitude: float
    longitude: float
    precision: str
    country_code: str = ""


class Geocoder(Protocol):
    """Anything that puts a site on the map (or returns None when it cannot)."""

    def geocode(self, site: Site) -> GeocodeResult | None:
        """The site's point."""
        ...


@dataclass(frozen=True)
class Variant:
    """One way to read a site's city: a folded name and what kind of place it names."""

    name: str
    kind: str  # city | ward | county | district-of:<city>
    note: str = ""


def site_query(site: Site) -> str:
    """The address used as the query: "City, State, Country" (empty parts left out)."""
    return ", ".join(p for p in (site.city, site.state, site.country) if p and p.strip())


def _expand_abbreviations(words: list[str]) -> list[str]:
    return [ABBREVIATIONS.get(w, w) if i == 0 else w for i, w in enumerate(words)]


def city_variants(city: str) -> list[Variant]:
    """The forms to try for a city string, most literal first."""
    out: list[Variant] = []

    def add(name: str, kind: str, note: str = "") -> None:
        if name and all(v.name != name or v.kind != kind for v in out):
            out.append(Variant(name, kind, note))

    # "Halle (Saale)" is GeoNames' own name: the literal form goes first.
    add(fold(city), "city")
    bare = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", city)
    parts = [p for p in CITY_DISTRICT_SEPARATOR.split(bare) if p.strip()]
    if len(parts) == 2:
        # "Ostrava - Poruba": the district if the gazetteer knows it near the city, else the city.
        add(fold(bare), "city")
        add(fold(parts[1]), f"district-of:{fold(parts[0])}")
        bare_city = parts[0]
    else:
        bare_city = bare
    folded = fold(bare_city)
    add(folded, "city")
    words = folded.split()
    if words and words[0] in ABBREVIATIONS and len(words) > 1:
        add(" ".join(_expand_abbreviations(words)), "city")
    if len(words) > 1:
        last, stem = words[-1], " ".join(words[:-1])
        if last in WARD_SUFFIXES:
            add(stem, "ward")
        elif last in COUNTY_SUFFIXES:
            add(stem, "county")
        elif last in CITY_SUFFIXES:
            add(stem, "city")
        elif last in POSTAL_DISTRICT_TOKENS:
            add(stem, "city", f"postal district '{last.upper()}' dropped")
    # The suffix written without its hyphen: "Gangnamgu", "Otashi" (Ota-shi). Only tried after
    # the literal name, and only when a stem of MIN_STEM letters is left.
    for suffixes, kind in (
        (WARD_SUFFIXES, "ward"),
        (COUNTY_SUFFIXES, "county"),
        (JOINED_CITY_SUFFIXES, "city"),
    ):
        for s in sorted(suffixes, key=len, reverse=True):
            if len(words) == 1 and words[0].endswith(s) and len(words[0]) >= len(s) + MIN_STEM:
                add(words[0][: -len(s)], kind)
    inner = re.findall(r"\[([^\]]+)\]|\(([^)]+)\)", city)
    for a, b in inner:
        add(fold(a or b), "city")
    return out


class GazetteerMatcher:
    """Ranks gazetteer candidates for (city, state, country) with the rules in the module doc."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.g = gazetteer
        self._fuzzy_names: dict[str, dict[str, list[int]]] = {}

    # --- helpers -----------------------------------------------------------------------------
    def _is_section(self, p: Place) -> Place | None:
        return self.g.bigger_place_nearby(p, SECTION_RADIUS_KM, SECTION_POPULATION_RATIO)

    def _state_anchor(self, state: str, cc: str) -> Place | None:
        if not state.strip():
            return None
        for v in city_variants(state):
            cands = self.g.candidates(v.name, cc)
            if cands:
                return max(cands, key=lambda c: c.place.population).place
        return None

    def _score(
        self, c: Candidate, regions: set[int], anchor: Place | None
    ) -> tuple[float, list[str]]:
        p = c.place
        score = math.log10(p.population + 10)
        why = []
        if c.alternate:
            score -= ALTERNATE_NAME_PENALTY
        big = self._is_section(p)
        if big is not None:
            score -= SECTION_PENALTY
            why.append(f"section of {big.name}")
        if regions and p.region not in regions:
            score -= STATE_MISMATCH_PENALTY
        if anchor is not None and (
            haversine_km_scalar(p.latitude, p.longitude, anchor.latitude, anchor.longitude)
            <= STATE_ANCHOR_KM
        ):
            score += STATE_ANCHOR_BONUS
        return score, why

    def _fuzzy(self, name: str, cc: str) -> list[Candidate]:
        """Close spellings in the country (only when nothing matched exactly)."""
        names = self._fuzzy_names.get(cc)
        if names is None:
            names = {}
            s = self.g.country_slice(cc)
            for i in range(s.start, s.stop):
                names.setdefault(fold(self.g.name(i)), []).append(i)
            self._fuzzy_names[cc] = names
        hits = difflib.get_close_matches(name, list(names), n=3, cutoff=FUZZY_CUTOFF)
        return [Candidate(self.g.place(i), True) for h in hits for i in names[h]]

    def _result(
        self,
        p: Place,
        precision: str,
        query: str,
        review: bool,
        notes: list[str],
        matched: str | None = None,
    ) -> GeocodeResult:
        return GeocodeResult(
            latitude=round(p.latitude, 5),
            longitude=round(p.longitude, 5),
            precision=precision,
            geocoder="gazetteer",
            matched_name=matched or p.name,
            query=query,
            needs_review=review,
            note="; ".join(n for n in notes if n),
        )

    # --- main entry --------------------------------------------------------------------------
    def match(self, city: str, state: str, cc: str, query: str = "") -> GeocodeResult | None:
        """Best point for a city in a country (None only when the country is unknown)."""
        cc = (cc or "").upper()
        query = query or ", ".join(p for p in (city, state, cc) if p)
        if not self.g.has_country(cc):
            return None
        regions = self.g.match_regions(state, cc) if state.strip() else set()
        anchor = None if regions else self._state_anchor(state, cc)
        variants = city_variants(city)
        stray: GeocodeResult | None = None
        for fuzzy in (False, True):
            for v in variants:
                res = self._try_variant(v, regions, anchor, cc, query, fuzzy)
                if res is None:
                    continue
                if not res.note.startswith(OUT_OF_REGION):
                    district = next((x for x in variants if x.kind.startswith("district-of")), None)
                    if district is not None and v.kind == "city" and v.name != district.name:
                        # "Ostrava - Poruba" with no Poruba near Ostrava: say the point is the city.
                        extra = f"district '{district.name}' not found; placed at the city"
                        res = replace(res, note="; ".join(n for n in (res.note, extra) if n))
                    return res
                # Outside the named region: keep looking (another spelling may be inside it).
                stray = stray or res
        if stray is not None and not any(v.kind == "ward" for v in variants):
            return stray
        territory = _territory_named(city, cc)
        if territory:
            # "Hong Kong, China": GeoNames files Hong Kong (like Macao) under its own code.
            res = self.match(city, "", territory, query)
            if res is not None and res.precision in ("city", "district"):
                return replace(res, note=f"found under territory code {territory}")
        return self._fallback(city, variants, regions, cc, query)

    def _try_variant(
        self,
        v: Variant,
        regions: set[int],
        anchor: Place | None,
        cc: str,
        query: str,
        fuzzy: bool,
    ) -> GeocodeResult | None:
        if v.kind == "county":
            if fuzzy:
                return None
            counties = self.g.match_counties(v.name + " gun", cc) or self.g.match_counties(
                v.name, cc
            )
            if regions:
                counties = [k for k in counties if self.g.county_centroid(k).region in regions] or (
                    counties
                )
            if counties:
                k = counties[0]
                p = self.g.county_centroid(k)
                return self._result(
                    p,
                    "district",
                    query,
                    len(counties) > 1,
                    [f"county {self.g.county_name(k)}: its central member place {p.name}"],
                    matched=self.g.county_name(k),
                )
        cands = self._fuzzy(v.name, cc) if fuzzy else self.g.candidates(v.name, cc)
        if v.kind.startswith("district-of:") and cands:
            city_cands = self.g.candidates(v.kind.split(":", 1)[1], cc)
            near = []
            for c in cands:
                if any(
                    haversine_km_scalar(
                        c.place.latitude, c.place.longitude, cc_.place.latitude, cc_.place.longitude
                    )
                    <= DISTRICT_OF_CITY_KM
                    for cc_ in city_cands
                ):
                    near.append(c)
            cands = near
        if not cands:
            return None
        scored = sorted(
            ((self._score(c, regions, anchor), c) for c in cands),
            key=lambda t: (-t[0][0], t[1].place.id),
        )
        (best_score, why), best = scored[0]
        # A "section" note only matters when it decided between same-named places.
        notes = (list(why) if len(scored) > 1 else []) + ([v.note] if v.note else [])
        review = fuzzy
        if regions and best.place.region not in regions:
            review = True
            notes.insert(0, f"{OUT_OF_REGION}; placed in {self.g.region_name(best.place.region)}")
        if fuzzy:
            notes.append(f"fuzzy match of '{v.name}'")
        if len(scored) > 1:
            (second_score, _), second = scored[1]
            far = (
                haversine_km_scalar(
                    best.place.latitude,
                    best.place.longitude,
                    second.place.latitude,
                    second.place.longitude,
                )
                > AMBIGUOUS_KM
            )
            if far and best_score - second_score < AMBIGUITY_MARGIN:
                review = True
                notes.append(
                    f"ambiguous: also {second.place.name} "
                    f"({self.g.region_name(second.place.region)})"
                )
        precision = "district" if v.kind == "ward" or v.kind.startswith("district-of") else "city"
        return self._result(best.place, precision, query, review, notes)

    def _fallback(
        self, city: str, variants: list[Variant], regions: set[int], cc: str, query: str
    ) -> GeocodeResult:
        is_ward = any(v.kind == "ward" for v in variants)
        if regions:
            r = sorted(regions)[0]
            if is_ward:
                p = self.g.largest_in_region(r)
                return self._result(
                    p,
                    "city",
                    query,
                    True,
                    [f"ward '{city}' not in the gazetteer; placed at the centre of {p.name}"],
                )
            p = self.g.region_centroid(r)
            return self._result(
                p,
                "region",
                query,
                True,
                [f"'{city}' not found; centre of region {self.g.region_name(r)}"],
                matched=self.g.region_name(r),
            )
        p = self.g.country_centroid(cc)
        assert p is not None  # has_country() was checked by the caller
        return self._result(
            p, "country", query, True, [f"'{city}' not found; centre of the country"], matched=cc
        )


def _territory_named(city: str, cc: str) -> str:
    """The code of the territory a city string names, when that is not `cc` ("Hong Kong")."""
    from dashboard.countries import exact_country_code

    code = exact_country_code(city)
    return code if code and code != cc else ""


def _site_country_code(site: Site) -> str:
    if site.country_code:
        return site.country_code.upper()
    try:
        from dashboard.countries import country_code
    except ImportError:  # pragma: no cover - the countries module ships with the package
        return ""
    return country_code(site.country)


class GazetteerGeocoder:
    """The offline geocoder (the default): matches sites against the GeoNames-based index."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.matcher = GazetteerMatcher(gazetteer)

    def geocode(self, site: Site) -> GeocodeResult | None:
        """The site's point from the gazetteer, or None when its country is unknown."""
        return self.matcher.match(site.city, site.state, _site_country_code(site), site_query(site))


def cross_check_registry(site: Site, gazetteer_result: GeocodeResult | None) -> GeocodeResult:
    """Use the registry's own point unless it lies > REGISTRY_MAX_KM from the gazetteer's city."""
    assert site.geo_point is not None
    rlat, rlon = site.geo_point
    query = site_query(site)
    if (
        gazetteer_result is not None
        and gazetteer_result.precision in ("city", "district")
        and haversine_km_scalar(rlat, rlon, gazetteer_result.latitude, gazetteer_result.longitude)
        > REGISTRY_MAX_KM
    ):
        d = haversine_km_scalar(rlat, rlon, gazetteer_result.latitude, gazetteer_result.longitude)
        return replace(
            gazetteer_result,
            needs_review=True,
            note="; ".join(
                n
                for n in (
                    gazetteer_result.note,
                    f"registry point is {d:.0f} km from {gazetteer_result.matched_name}; "
                    "gazetteer point used",
                )
                if n
            ),
            registry_latitude=rlat,
            registry_longitude=rlon,
        )
    return GeocodeResult(
        latitude=rlat,
        longitude=rlon,
        precision="city",
        geocoder="registry",
        matched_name=site.city,
        query=query,
    )


class RegistryCheckedGeocoder:
    """Wraps a geocoder: sites carrying a registry point get it, after a distance check."""

    def __init__(self, inner: Geocoder, gazetteer_geocoder: Geocoder) -> None:
        self.inner = inner
        self.gazetteer_geocoder = gazetteer_geocoder

    def geocode(self, site: Site) -> GeocodeResult | None:
        """The registry point when plausible, else the inner geocoder's answer."""
        if site.geo_point is not None:
            return cross_check_registry(site, self.gazetteer_geocoder.geocode(site))
        return self.inner.geocode(site)


def nominatim_user_agent(cli_value: str | None = None) -> str:
    """The User-Agent to send: --user-agent, else $TRIAL_SITES_USER_AGENT, else the project's."""
    import os

    return cli_value or os.environ.get(USER_AGENT_ENV) or NOMINATIM_USER_AGENT


class NominatimGeocoder:
    """Online geocoding through OpenStreetMap Nominatim (1 request/s), falling back offline.

    On the first network failure it prints one message on stderr and answers from the gazetteer
    for the rest of the run.
    """

    def __init__(
        self,
        fallback: Geocoder,
        *,
        user_agent: str | None = None,
        timeout: float = 10.0,
        geolocator: Any = None,
        min_delay_seconds: float = NOMINATIM_MIN_DELAY_SECONDS,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        from geopy.extra.rate_limiter import RateLimiter
        from geopy.geocoders import Nominatim

        self.fallback = fallback
        self.timeout = timeout
        self.geolocator = geolocator or Nominatim(
            user_agent=nominatim_user_agent(user_agent), timeout=timeout
        )
        # swallow_exceptions=False: a dead network must reach us so we can fall back once.
        self.rate_limited = RateLimiter(
            self.geolocator.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=1,
            error_wait_seconds=max(2.0, min_delay_seconds),
            swallow_exceptions=False,
        )
        self.offline = False
        self._warn = warn or (lambda msg: print(msg, file=sys.stderr))

    def geocode(self, site: Site) -> GeocodeResult | None:
        """Nominatim's answer for the site's city, or the fallback's once the network is gone."""
        from geopy.exc import GeocoderServiceError, GeopyError

        if self.offline:
            return self.fallback.geocode(site)
        cc = _site_country_code(site)
        query = {"city": site.city, "country": site.country}
        if site.state:
            query["state"] = site.state
        try:
            loc = self.rate_limited(
                query,
                exactly_one=True,
                addressdetails=True,
                country_codes=cc.lower() if cc else None,
                timeout=self.timeout,
            )
        except (GeocoderServiceError, GeopyError, OSError) as exc:
            self.offline = True
            # geopy quotes an unparseable body in full: keep the warning to one short line.
            detail = " ".join(str(exc).split())[:WARNING_DETAIL_CHARS]
            self._warn(
                f"warning: Nominatim unreachable ({type(exc).__name__}: {detail}); "
                "using the offline gazetteer for the rest of this run"
            )
            return self.fallback.geocode(site)
        if loc is None:
            res = self.fallback.geocode(site)
            if res is None:
                return None
            return replace(res, note="; ".join(n for n in (res.note, "not found online") if n))
        raw = loc.raw or {}
        address = raw.get("address") or {}
        got_cc = str(address.get("country_code", "")).upper()
        if cc and got_cc and got_cc != cc:
            # The country always constrains: an answer from elsewhere is not used.
            return self.fallback.geocode(site)
        kind = raw.get("addresstype") or raw.get("type") or ""
        precision = NOMINATIM_PRECISION.get(
            kind, "city" if raw.get("class") == "place" else "region"
        )
        return GeocodeResult(
            latitude=round(float(loc.latitude), 5),
            longitude=round(float(loc.longitude), 5),
            precision=precision,
            geocoder="nominatim",
            matched_name=str(loc.address),
            query=site_query(site),
            needs_review=precision not in ("city", "district"),
            note="" if kind else "no addresstype in the answer",
        )


def resolve_place(query: str, gazetteer: Gazetteer) -> PlaceMatch | None:
    """A "near" box entry -> a point: "lat, lon", "City, Country", "City, State, Country"..."""
    text = (query or "").strip()
    if not text:
        return None
    m = LATLON.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return PlaceMatch(f"{lat:.4f}, {lon:.4f}", lat, lon, "point")
        return None
    from dashboard.countries import country_code

    parts = [p.strip() for p in text.split(",") if p.strip()]
    matcher = GazetteerMatcher(gazetteer)
    if len(parts) == 1:
        return _resolve_anywhere(matcher, text, "")
    city, last = parts[0], parts[-1]
    codes = [country_code(last)]
    if len(last) == 2 and gazetteer.has_country(last):
        codes.append(last.upper())  # "Lyon, FR"; "Cambridge, MA" is tried as a state below too
    for cc in dict.fromkeys(c for c in codes if c):
        res = matcher.match(city, ", ".join(parts[1:-1]), cc, text)
        if res is not None and res.precision not in ("region", "country"):
            return PlaceMatch(res.matched_name, res.latitude, res.longitude, res.precision, cc)
    # "Springfield, Illinois": the last part is a state; "Seoul, Korea": part of country names.
    found = _resolve_anywhere(matcher, city, ", ".join(parts[1:]))
    if found is None and len(parts) == 2:
        found = _resolve_anywhere(matcher, city, "", countries=_countries_named(last))
    return found


def _countries_named(word: str) -> set[str]:
    """ISO codes of countries whose English names contain `word` as whole words ("Korea")."""
    import pycountry

    key = fold(word)
    if len(key) < MIN_COUNTRY_WORD:
        return set()
    pattern = re.compile(rf"\b{re.escape(key)}\b")
    out = set()
    for c in pycountry.countries:
        names = [c.name, getattr(c, "official_name", ""), getattr(c, "common_name", "")]
        if any(pattern.search(fold(n)) for n in names if n):
            out.add(c.alpha_2)
    return out


def _resolve_anywhere(
    matcher: GazetteerMatcher, city: str, state: str, countries: set[str] | None = None
) -> PlaceMatch | None:
    """The most populous non-section place of that name in any country (state as a hint)."""
    g = matcher.g
    best: tuple[float, Candidate] | None = None
    if countries is not None and not countries:
        return None
    for v in city_variants(city):
        for c in g.candidates(v.name):
            if countries is not None and c.place.country_code not in countries:
                continue
            regions = g.match_regions(state, c.place.country_code) if state else set()
            if state and not regions:
                continue
            score, _ = matcher._score(c, regions, None)
            if best is None or score > best[0]:
                best = (score, c)
        if best is not None:
            break
    if best is None:
        return None
    p = best[1].place
    return PlaceMatch(p.name, round(p.latitude, 5), round(p.longitude, 5), "city", p.country_code)
