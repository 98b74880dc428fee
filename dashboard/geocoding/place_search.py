"""The app's "near" box: a place name or "lat, lon" -> one point (or None when not found).

`parse_place_query` reads what was typed (pure, total: any string either parses or raises
`PlaceQueryError` whose message says what is wrong); `resolve_place` looks the place up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pycountry

from dashboard.geocoding.matcher import GazetteerMatcher, city_variants
from dashboard.ingest.countries import country_code
from dashboard.places.index import Candidate, Gazetteer
from dashboard.places.normalize import fold

MIN_COUNTRY_WORD = 4  # "Korea" may stand for a country; "Ma" may not
LATLON = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d+)?)\s*$")
# A place name has no markup: "<img src=x>" is not a town (it used to find "Uno").
MARKUP = re.compile(r"[<>{}\[\]\\|`^~=]")
# Fewer letters than this cannot name a place to search from ("a" used to find Åfjord).
MIN_QUERY_LETTERS = 2
# Alternate names this short are mostly codes (IATA "THE" is Teresina): not used for the box.
MIN_ALTERNATE_CHARS = 4
EXAMPLES = "e.g. Lyon, France or 45.76, 4.84"


class PlaceQueryError(ValueError):
    """What was typed in the "near" box cannot name a place; the message says why."""


@dataclass(frozen=True)
class PlaceQuery:
    """A "near" entry, read: either a point or the comma-separated parts of a place name."""

    text: str
    parts: tuple[str, ...] = ()
    point: tuple[float, float] | None = None


def parse_place_query(query: str) -> PlaceQuery | None:
    """Read a "near" entry (None when blank); PlaceQueryError says what is wrong with it."""
    text = " ".join((query or "").split())
    if not text:
        return None
    m = LATLON.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if not -90 <= lat <= 90:
            raise PlaceQueryError(f"latitude must be between -90 and 90 (found {m.group(1)})")
        if not -180 <= lon <= 180:
            raise PlaceQueryError(f"longitude must be between -180 and 180 (found {m.group(2)})")
        return PlaceQuery(text, point=(lat, lon))
    if MARKUP.search(text):
        raise PlaceQueryError(f"a place name has no characters such as < > {{ }} = ({EXAMPLES})")
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    if not parts or sum(ch.isalpha() for ch in parts[0]) < MIN_QUERY_LETTERS:
        raise PlaceQueryError(f"type a place name or coordinates ({EXAMPLES})")
    return PlaceQuery(text, parts)


@dataclass(frozen=True)
class PlaceMatch:
    """A place typed in the app's "near" box, resolved to a point."""

    name: str
    latitude: float
    longitude: float
    precision: str
    country_code: str = ""


def resolve_place(query: str, gazetteer: Gazetteer) -> PlaceMatch | None:
    """A "near" box entry -> a point: "lat, lon", "City, Country", "City, State, Country"...

    None when no place of that name is known; PlaceQueryError when the entry cannot be one.
    """
    parsed = parse_place_query(query)
    if parsed is None:
        return None
    if parsed.point is not None:
        lat, lon = parsed.point
        return PlaceMatch(f"{lat:.4f}, {lon:.4f}", lat, lon, "point")
    text, parts = parsed.text, list(parsed.parts)
    matcher = GazetteerMatcher(gazetteer)
    if len(parts) == 1:
        return _resolve_anywhere(matcher, parts[0], "")
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
            if c.alternate and len(v.name) < MIN_ALTERNATE_CHARS:
                continue
            regions = g.match_regions(state, c.place.country_code) if state else set()
            if state and not regions:
                continue
            score, _ = matcher.score(c, regions, None)
            if best is None or score > best[0]:
                best = (score, c)
        if best is not None:
            break
    if best is None:
        return None
    p = best[1].place
    return PlaceMatch(p.name, round(p.latitude, 5), round(p.longitude, 5), "city", p.country_code)
