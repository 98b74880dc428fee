"""Geocoders: sites -> points offline (gazetteer), online (Nominatim), and the registry's own point.

Every geocoder has one method, `geocode(site) -> GeocodeResult | None`; the table builder only
sees that interface. The offline geocoder is the default; Nominatim is opt-in, rate-limited to
one request a second with a real User-Agent, and falls back to the gazetteer on any failure.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from dashboard.geo import distance_km, distances_km
from dashboard.geocoding.matcher import GazetteerMatcher, city_variants
from dashboard.ingest.countries import (
    TERRITORIES,
    country_code,
    country_name,
    exact_country_code,
    successor_codes,
    with_territories,
)
from dashboard.model import GeocodeResult, Precision, Site, Source
from dashboard.places.index import Gazetteer, load_gazetteer
from dashboard.places.normalize import fold, names_match, region_forms
from dashboard.places.postal import PostalPlace

# The registry's own point is trusted unless it is this far from the gazetteer's city.
REGISTRY_MAX_KM = 25.0
# A point and the site's own postcode agree when this close (a postcode area is a few km).
POSTCODE_AGREES_KM = 25.0
# A registry point this far from every place of the site's country lies outside it.
OUTSIDE_COUNTRY_KM = 100.0
# Words this long or longer tie a postcode's place name to a site's city or state field.
NAME_WORD_MIN_CHARS = 5
NOMINATIM_USER_AGENT = "trial-sites-dashboard/0.1 (+https://github.com/trial-sites-dashboard)"
USER_AGENT_ENV = "TRIAL_SITES_USER_AGENT"
_GEOPY_NULL_HANDLER = logging.NullHandler()
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


class Geocoder(Protocol):
    """Anything that puts a site on the map (or returns None when it cannot)."""

    def geocode(self, site: Site) -> GeocodeResult | None:
        """The site's point."""
        ...


def site_query(site: Site) -> str:
    """The address used as the query: "City, State, Country" (empty parts left out)."""
    return ", ".join(p for p in (site.city, site.state, site.country) if p and p.strip())


def _site_country_code(site: Site) -> str:
    """The country to find the site in: the one the record files it under, or that country's
    territory when the state field names one ("Puerto Rico" under "United States")."""
    cc = site.country_code.upper() if site.country_code else country_code(site.country)
    return _territory_named(site.state, cc) or cc


@functools.lru_cache(maxsize=4096)
def _territory_named(state: str, cc: str) -> str:
    """The territory of country `cc` that a state field names exactly, else ""."""
    territories = TERRITORIES.get(cc, ())
    if not territories:
        return ""
    for part in _state_parts(state):
        code = exact_country_code(part)
        if code in territories:
            return code
    return ""


def _state_parts(state: str) -> list[str]:
    """A state field's comma-separated parts ("Cdmx,c.p" -> ["Cdmx", "c.p"]), empty ones left
    out."""
    return [p for p in state.split(",") if p.strip()]


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


# Cities whose matcher answers (and postcodes whose points) a GazetteerGeocoder remembers
# (~1 kB each).
MAX_REMEMBERED = 200_000

K = TypeVar("K")
V = TypeVar("V")


def _remembered(store: dict[K, V], key: K, compute: Callable[[], V]) -> V:
    """`store[key]`, computed and kept on first use; the store starts over once it holds
    MAX_REMEMBERED answers (a build's memory stays bounded)."""
    if key in store:
        return store[key]
    if len(store) >= MAX_REMEMBERED:
        store.clear()
    value = store[key] = compute()
    return value


class GazetteerGeocoder:
    """The offline geocoder (the default): matches sites against the GeoNames-based index.

    A site's postcode, when the record gives one and the postal layer knows it in the site's
    country, is strong evidence: it places a site whose city was not found (or only fuzzily),
    picks among same-named places, and flags a city match that lies far from it.
    """

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.matcher = GazetteerMatcher(gazetteer)
        self.g = gazetteer
        # The matcher's answers by city, state and country: a portfolio asks about the same
        # city thousands of times, with other postcodes and registry points to check.
        self._matches: dict[tuple[str, str, str, str], GeocodeResult | None] = {}
        # Postcode points by (postcode, country): a site with a registry point asks twice (its
        # own reading, then the registry check), and a portfolio's sites share postcodes.
        self._postcodes: dict[tuple[str, str], PostalPlace | None] = {}

    def geocode(self, site: Site) -> GeocodeResult | None:
        """The site's point from the gazetteer, or None when its country is unknown."""
        cc = _site_country_code(site)
        if not cc:
            return self._in_successor_state(site)
        res = self._match(site, cc)
        if (res is None or res.precision in (Precision.REGION, Precision.COUNTRY)) and (
            cc in TERRITORIES
        ):
            res = self._in_territory(site, cc) or res
        return self._with_postcode(site, cc, res)

    def _match(self, site: Site, cc: str) -> GeocodeResult | None:
        """The matcher's answer for the site's city (remembered, up to MAX_REMEMBERED)."""
        return _remembered(
            self._matches,
            (site.city, site.state, site.country, cc),
            lambda: self.matcher.match(site.city, site.state, cc, site_query(site)),
        )

    def _in_successor_state(self, site: Site) -> GeocodeResult | None:
        """A site filed under a dissolved state ("Former Serbia and Montenegro"): placed in the
        successor its city lies in, or not at all (None) when none has it."""
        return self._in_one_of(
            site,
            successor_codes(site.country),
            lambda cc: f"{site.country} is a former country; placed in {country_name(cc)}",
        )

    def _in_territory(self, site: Site, cc: str) -> GeocodeResult | None:
        """A site whose city is not in the country it is filed under but in one of that
        country's territories ("Fort-de-France", "France"): placed there (None when none has
        it)."""
        return self._in_one_of(
            site,
            TERRITORIES.get(cc, ()),
            lambda t: f"placed in {country_name(t)}, a territory of {country_name(cc)}",
        )

    def _in_one_of(
        self, site: Site, codes: tuple[str, ...], note: Callable[[str], str]
    ) -> GeocodeResult | None:
        """The site's city matched in the first of the countries `codes` that has it surely
        (a city or district, not flagged), with `note(code)` added; None when none has it."""
        for cc in codes:
            res = self.matcher.match(site.city, site.state, cc, site_query(site))
            found = res is not None and res.precision in (Precision.CITY, Precision.DISTRICT)
            if found and res is not None and not res.needs_review:
                return replace(res, note=_join(res.note, note(cc)))
        return None

    def postcode_point(self, site: Site) -> PostalPlace | None:
        """Where the site's postcode lies in its country (None when unknown or not given)."""
        if not site.zip.strip():
            return None
        cc = _site_country_code(site)

        def lookup() -> PostalPlace | None:
            hits = self.g.postal.find_postcode(site.zip, [cc])
            return hits[0] if hits else None

        return _remembered(self._postcodes, (site.zip, cc), lookup)

    def in_named_state(self, site: Site, z: PostalPlace) -> bool:
        """Whether a postcode's place lies in the state the site names (or no state is named):
        a postcode of another state is a typo more often than the state is."""
        states = _state_parts(site.state)
        if not states or not z.region:
            return True  # nothing to compare: the postcode is taken at its word
        cc = _site_country_code(site)
        if cc and self.g.has_country(cc) and not any(self.g.match_regions(s, cc) for s in states):
            # The state field names no region of the country (a city, a district: "San
            # Fernando", "Peshawar"): it cannot contradict the postcode.
            return True
        theirs = region_forms(z.region)
        return any(names_match(a, b) for s in states for a in region_forms(s) for b in theirs)

    def _with_postcode(
        self, site: Site, cc: str, res: GeocodeResult | None
    ) -> GeocodeResult | None:
        z = self.postcode_point(site) if res is not None else None
        if res is None or z is None:
            return res
        d = distance_km(res.latitude, res.longitude, z.latitude, z.longitude)
        if d <= POSTCODE_AGREES_KM:
            return res
        if not self.in_named_state(site, z):
            # A postcode of another state is more often a typo than the state: keep the city.
            return replace(
                res,
                needs_review=True,
                note=_join(
                    res.note, f"postcode {site.zip} is {d:.0f} km away ({z.name}, {z.region})"
                ),
            )
        named = {v.name for v in city_variants(site.city)}
        same_name = fold(z.name) in named
        near = [
            c
            for name in named
            for c in self.g.candidates(name, cc)
            if distance_km(c.place.latitude, c.place.longitude, z.latitude, z.longitude)
            <= POSTCODE_AGREES_KM
        ]
        if near:  # a same-named place by the postcode: that one
            p = max(near, key=lambda c: c.place.population).place
            return replace(
                res,
                latitude=round(p.latitude, 5),
                longitude=round(p.longitude, 5),
                precision=Precision.CITY,
                matched_name=p.name,
                needs_review=False,
                note=f"postcode {site.zip} chose this {p.name} over the one {d:.0f} km away",
            )
        weak = res.precision in (Precision.REGION, Precision.COUNTRY) or res.needs_review
        if not weak:
            # A clean city match far from its own postcode: one of the two is wrong (postal
            # centroids are rough too: "90095" is not UCLA's point); keep the city, say so.
            return replace(
                res,
                needs_review=True,
                note=_join(res.note, f"postcode {site.zip} is {d:.0f} km away ({z.name})"),
            )
        # The city was not found (or only roughly): the postcode places the site, flagged
        # unless the postcode's place has the city's name.
        return postcode_result(
            site,
            z,
            res.query,
            needs_review=not same_name,
            why="" if same_name else f"the city name gave {res.matched_name}, {d:.0f} km away",
        )


def postcode_result(
    site: Site, z: PostalPlace, query: str, *, needs_review: bool, why: str = ""
) -> GeocodeResult:
    """The site placed at its postcode's point `z` (city precision), the note saying so and
    `why`."""
    where = f"{z.name}, {z.region}" if z.region else z.name
    return GeocodeResult(
        latitude=round(z.latitude, 5),
        longitude=round(z.longitude, 5),
        precision=Precision.CITY,
        geocoder=Source.GAZETTEER,
        matched_name=f"{z.name} ({site.zip})",
        query=query,
        needs_review=needs_review,
        note=_join(f"placed by postcode {site.zip} ({where})", why),
    )


def _same_named_places_near(
    site: Site, point: tuple[float, float], g: Gazetteer
) -> list[tuple[str, bool]]:
    """Places called like the site's city (cities or postal layer, in its country) lying within
    REGISTRY_MAX_KM of `point`: (name, whether it lies in a region the site's state names)."""
    cc = _site_country_code(site)
    states = _state_parts(site.state)
    regions = {r for s in states for r in g.match_regions(s, cc)} if cc else set()
    state_forms = [a for s in states for a in region_forms(s)]
    out: list[tuple[str, bool]] = []
    for v in city_variants(site.city):
        for c in g.candidates(v.name, cc):
            if distance_km(*point, c.place.latitude, c.place.longitude) <= REGISTRY_MAX_KM:
                out.append((c.place.name, c.place.region in regions))
        for p in g.postal.places(v.name, cc):
            if distance_km(*point, p.latitude, p.longitude) <= REGISTRY_MAX_KM:
                theirs = region_forms(p.region) if p.region else []
                inside = any(names_match(a, b) for a in state_forms for b in theirs)
                out.append((p.name, inside))
    return out


def _km_outside_country(site: Site, point: tuple[float, float], g: Gazetteer) -> float:
    """How far `point` lies from the nearest place of the site's country or of one of its
    territories (0 when the country is not in the index): a registry point hundreds of km from
    every such place is not in that country at all (a lost digit, a sign flipped), where a
    point in Puerto Rico is in the "United States" a record names."""
    cc = _site_country_code(site)
    if not cc or not g.has_country(cc):
        return 0.0
    nearest = math.inf
    for code in with_territories(cc):
        s = g.country_slice(code)
        if s.stop > s.start:
            km = distances_km(point[0], point[1], g.lat[s], g.lon[s]).min()
            nearest = min(nearest, float(km))
    return 0.0 if math.isinf(nearest) else nearest


def _words(text: str) -> set[str]:
    return {w for w in fold(text).replace("-", " ").split() if len(w) >= NAME_WORD_MIN_CHARS}


def _postcode_named_by_site(site: Site, z: PostalPlace) -> bool:
    """Whether the postcode's place bears a name the site itself gives (its city or state field
    shares a word with the place: "Les Paris" and 75014 Paris, state "San Fernando" and 2000 San
    Fernando): two fields of the record agree on where the site is."""
    theirs = _words(z.name)
    return bool(theirs & (_words(site.city) | _words(site.state)))


def cross_check_registry(
    site: Site, gazetteer_result: GeocodeResult | None, gazetteer: GazetteerGeocoder | None = None
) -> GeocodeResult:
    """Use the registry's own point unless the site's own fields speak against it.

    The registry point is replaced (flagged, with a note saying why) when:
    - it lies far outside the site's country;
    - it lies > REGISTRY_MAX_KM from the gazetteer's city-level reading, unless that reading is
      unsure and the registry point is at another place of that name backed by the site's own
      postcode, or lying in the state the site names (while the postcode does not back ours);
    - the gazetteer found no city, nothing of the city's name lies near the registry point, and
      the site's postcode lies far from it, in the named state or at a place the site names:
      the postcode's point is used.
    A registry point that is kept but disagrees with our reading or the postcode is flagged.
    """
    assert site.geo_point is not None
    rlat, rlon = site.geo_point
    query = site_query(site)
    d = (
        distance_km(rlat, rlon, gazetteer_result.latitude, gazetteer_result.longitude)
        if gazetteer_result is not None
        else 0.0
    )
    g = gazetteer.g if gazetteer is not None else None
    z = gazetteer.postcode_point(site) if gazetteer is not None else None
    dz = distance_km(rlat, rlon, z.latitude, z.longitude) if z is not None else None
    # The site's postcode backs the registry point / our reading.
    postcode_backs_registry = dz is not None and dz <= POSTCODE_AGREES_KM
    postcode_backs_ours = (
        z is not None
        and gazetteer_result is not None
        and distance_km(
            gazetteer_result.latitude, gazetteer_result.longitude, z.latitude, z.longitude
        )
        <= POSTCODE_AGREES_KM
    )

    def replaced(reason: str) -> GeocodeResult:
        assert gazetteer_result is not None
        return replace(
            gazetteer_result,
            needs_review=True,
            note=_join(gazetteer_result.note, reason),
            registry_latitude=rlat,
            registry_longitude=rlon,
        )

    # Only a point this far from our reading (itself in the country) can lie outside it; the
    # check costs a pass over the country's places (and its territories'), so it is done only
    # then.
    outside = (
        _km_outside_country(site, (rlat, rlon), g)
        if g is not None and gazetteer_result is not None and d > OUTSIDE_COUNTRY_KM
        else 0.0
    )
    if gazetteer_result is not None and outside > OUTSIDE_COUNTRY_KM:
        return replaced(
            f"registry point lies {outside:.0f} km from every place of {site.country}; "
            "gazetteer point used"
        )
    # Places of the city's name by the registry point (looked up only when it matters: the
    # registry point disagrees with our reading, or our reading found no city).
    same_named = (
        _same_named_places_near(site, (rlat, rlon), g)
        if g is not None
        and gazetteer_result is not None
        and (
            d > REGISTRY_MAX_KM
            or gazetteer_result.precision in (Precision.REGION, Precision.COUNTRY)
        )
        else []
    )
    if (
        gazetteer_result is not None
        and gazetteer_result.precision in (Precision.CITY, Precision.DISTRICT)
        and d > REGISTRY_MAX_KM
        # Our own reading is unsure (same-named places, outside the state) and the registry
        # point is at another place of that name: kept only when something else in the record
        # backs it (its postcode, or its place lies in the state the record names). A bare
        # same-named place is how the registry's own homonym errors look.
        and not (
            gazetteer_result.needs_review
            and same_named
            and (
                postcode_backs_registry
                or (any(inside for _, inside in same_named) and not postcode_backs_ours)
            )
        )
    ):
        why = (
            f"postcode {site.zip} ({z.name}) agrees with {gazetteer_result.matched_name}"
            if postcode_backs_ours and z is not None
            else f"only a same-named place ({same_named[0][0]}) backs it"
            if same_named
            else ""
        )
        return replaced(
            _join(
                f"registry point is {d:.0f} km from {gazetteer_result.matched_name}; "
                "gazetteer point used",
                why,
            )
        )
    kept = GeocodeResult(
        latitude=rlat,
        longitude=rlon,
        precision=Precision.CITY,
        geocoder=Source.REGISTRY,
        matched_name=site.city,
        query=query,
    )
    if (
        gazetteer is not None
        and gazetteer_result is not None
        and gazetteer_result.precision in (Precision.REGION, Precision.COUNTRY)
        and z is not None
        and dz is not None
        and dz > REGISTRY_MAX_KM
        and not same_named
        and (gazetteer.in_named_state(site, z) or _postcode_named_by_site(site, z))
    ):
        # Neither the city's name (not found anywhere) nor the postcode backs the registry
        # point: the postcode is the record's only located evidence.
        return replace(
            postcode_result(
                site,
                z,
                query,
                needs_review=True,
                why=f"the registry point is {dz:.0f} km from it and near no place called "
                f"{site.city!r}",
            ),
            registry_latitude=rlat,
            registry_longitude=rlon,
        )
    if gazetteer_result is not None and d > REGISTRY_MAX_KM:
        # Kept because our own reading is unsure, but the two disagree: a person should look.
        return replace(
            kept,
            needs_review=True,
            note=f"the registry point is {d:.0f} km from {gazetteer_result.matched_name} "
            f"({gazetteer_result.precision}, {gazetteer_result.note or 'unsure'})",
        )
    if z is not None and dz is not None and dz > POSTCODE_AGREES_KM:
        return replace(
            kept,
            needs_review=True,
            note=f"registry point is {dz:.0f} km from postcode {site.zip} ({z.name})",
        )
    return kept


class RegistryCheckedGeocoder:
    """Wraps a geocoder: sites carrying a registry point get it, after a distance check."""

    def __init__(self, inner: Geocoder, gazetteer_geocoder: Geocoder) -> None:
        self.inner = inner
        self.gazetteer_geocoder = gazetteer_geocoder

    def geocode(self, site: Site) -> GeocodeResult | None:
        """The registry point when plausible, else the inner geocoder's answer."""
        if site.geo_point is not None:
            gaz = self.gazetteer_geocoder
            checker = gaz if isinstance(gaz, GazetteerGeocoder) else None
            return cross_check_registry(site, gaz.geocode(site), checker)
        return self.inner.geocode(site)


def nominatim_user_agent(cli_value: str | None = None) -> str:
    """The User-Agent to send: --user-agent, else $TRIAL_SITES_USER_AGENT, else the project's."""
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

        # geopy's RateLimiter logs every failed try with a full traceback; with no logging set
        # up, Python prints that on stderr. A failure is reported as one warning line instead.
        # (Adding the same NullHandler again is a no-op.)
        logging.getLogger("geopy").addHandler(_GEOPY_NULL_HANDLER)
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
            geocoder=Source.NOMINATIM,
            matched_name=str(loc.address),
            query=site_query(site),
            needs_review=precision not in (Precision.CITY, Precision.DISTRICT),
            note="" if kind else "no addresstype in the answer",
        )


class LazyGeocoder:
    """Defers loading the gazetteer (and Nominatim) until a row actually needs geocoding."""

    def __init__(self, factory: Callable[[], Geocoder]) -> None:
        self._factory = factory
        self._inner: Geocoder | None = None

    def geocode(self, site: Site) -> GeocodeResult | None:
        """Geocode with the real geocoder, created on first use."""
        if self._inner is None:
            self._inner = self._factory()
        return self._inner.geocode(site)


def offline_geocoder(gazetteer: Gazetteer | None = None) -> Geocoder:
    """The default geocoder: gazetteer, with registry points cross-checked against it."""
    gaz = GazetteerGeocoder(gazetteer or load_gazetteer())
    return RegistryCheckedGeocoder(gaz, gaz)


def nominatim_geocoder(
    user_agent: str | None, timeout: float, warn: Callable[[str], None] | None = None
) -> Geocoder:
    """Nominatim online (1 request/s), gazetteer fallback, registry points cross-checked."""
    gaz = GazetteerGeocoder(load_gazetteer())
    return RegistryCheckedGeocoder(
        NominatimGeocoder(gaz, user_agent=user_agent, timeout=timeout, warn=warn), gaz
    )
