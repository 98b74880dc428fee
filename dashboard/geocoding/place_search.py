"""The app's "near" box: a place, a postcode or "lat, lon" -> a point, and the other readings.

`parse_place_query` reads what was typed (pure, total: any string either parses or raises
`PlaceQueryError` whose message says what is wrong). `search_places` looks it up in the one
offline place index (cities, then the postal layer) and returns every plausible reading, most
likely first, with the trial's own countries preferred: "02115" (a Boston ZIP), "75013" (Paris,
and a Texas ZIP), "SW1A 1AA" (its outward code), "Boston MA", "Lyon France", "Springfield"
(many: the caller offers a pick-list). Each reading's `entry` is text that finds exactly it
again, so a pick-list choice can be put back in the box or a link.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
import weakref
from dataclasses import dataclass, replace

import numpy as np
import pycountry

from dashboard.geo import distance_km
from dashboard.geocoding.matcher import FUZZY_CUTOFF, GazetteerMatcher, city_variants
from dashboard.ingest.countries import country_code, country_name, exact_country_code
from dashboard.places.index import Candidate, Gazetteer
from dashboard.places.normalize import fold
from dashboard.places.postal import PostalPlace

MIN_COUNTRY_WORD = 4  # "Korea" may stand for a country; "Ma" may not
LATLON = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d+)?)\s*$")
# A place name has no markup: "<img src=x>" is not a town (it used to find "Uno").
MARKUP = re.compile(r"[<>{}\[\]\\|`^~=]")
# Fewer letters than this cannot name a place to search from ("a" used to find Åfjord).
MIN_QUERY_LETTERS = 2
# Alternate names this short are mostly codes (IATA "THE" is Teresina): not used for the box.
MIN_ALTERNATE_CHARS = 4
EXAMPLES = "e.g. Lyon, France or 02115 or 45.76, 4.84"
# Postcodes as people type them: digits with letters, spaces or a dash ("02115", "02115-1234",
# "SW1A 1AA", "M5G 2A2", "113-8655", "1012 AB"), at least one digit.
POSTCODE = re.compile(r"^(?=[A-Za-z\d -]*\d)[A-Za-z\d][A-Za-z\d -]{1,9}$")
MIN_POSTCODE_DIGITS = 3  # "12" is neither a place nor a postcode; "M5G" and "1012" are
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "PR",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)
# Index places this close (in degrees, ~10 m) are the place a match was rounded from.
SAME_POINT_DEGREES = 1e-4
# Readings closer than this to a better one are the same place (a city and its centre).
SAME_PLACE_KM = 25.0
# A reading is offered in the pick-list when its score is within this of the best one.
CHOICE_SCORE_MARGIN = 2.0
# A place in one of the trial's countries counts as this much likelier (score is log10 of the
# population, so 1.0 = ten times as populous): St. Louis, Missouri beats Saint-Louis, Senegal
# for a trial with US sites, but Paris, Texas does not beat Paris, France.
PREFERRED_BONUS = 1.0
# Without a trial country to go by, a bare 5-digit code is read as a US ZIP first: most people
# who type one are in the US (ClinicalTrials.gov's users); the other countries are offered.
DEFAULT_POSTCODE_COUNTRY = "US"
MAX_CHOICES = 6
MAX_COUNTRY_WORDS = 4  # "Bosnia and Herzegovina", "United States of America"


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
    if not parts or not (
        sum(ch.isalpha() for ch in parts[0]) >= MIN_QUERY_LETTERS
        or (
            POSTCODE.match(parts[0]) and sum(ch.isdigit() for ch in parts[0]) >= MIN_POSTCODE_DIGITS
        )
    ):
        raise PlaceQueryError(f"type a place name, a postcode or coordinates ({EXAMPLES})")
    return PlaceQuery(text, parts)


@dataclass(frozen=True)
class PlaceMatch:
    """One reading of a "near" entry: a point, the place's names, and text that finds it again."""

    name: str
    latitude: float
    longitude: float
    precision: str  # point | postcode | city
    country_code: str = ""
    region: str = ""
    entry: str = ""  # what to type to get exactly this reading

    @property
    def label(self) -> str:
        """The place in full: "Saint Louis, Missouri, United States"."""
        country = country_name(self.country_code) if self.country_code else ""
        parts = [self.name, self.region if fold(self.region) != fold(self.name) else "", country]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class PlaceSearch:
    """Every plausible reading of a "near" entry, most likely first (empty: not found)."""

    query: str
    matches: tuple[PlaceMatch, ...] = ()
    note: str = ""  # how a choice between readings was made, when one was

    @property
    def best(self) -> PlaceMatch | None:
        """The reading the view uses."""
        return self.matches[0] if self.matches else None

    @property
    def ambiguous(self) -> bool:
        """Whether other readings far from the best one are worth offering."""
        return len(self.matches) > 1


def resolve_place(query: str, gazetteer: Gazetteer) -> PlaceMatch | None:
    """The most likely point for a "near" entry (None when not found; PlaceQueryError when it
    cannot name a place)."""
    return search_places(query, gazetteer).best


def search_places(
    query: str, gazetteer: Gazetteer, prefer_countries: tuple[str, ...] = ()
) -> PlaceSearch:
    """All plausible readings of a "near" entry, the trial's countries (`prefer_countries`,
    ISO codes) first; PlaceQueryError when the entry cannot name a place."""
    parsed = parse_place_query(query)
    if parsed is None:
        return PlaceSearch("")
    prefer = tuple(c.upper() for c in prefer_countries)
    if parsed.point is not None:
        lat, lon = parsed.point
        point = PlaceMatch(f"{lat:.4f}, {lon:.4f}", lat, lon, "point", entry=parsed.text)
        return PlaceSearch(parsed.text, (point,))
    parts = list(parsed.parts)
    postcode = _postcode_search(parts, gazetteer, prefer)
    if postcode is not None:
        return postcode
    matcher = search_matcher(gazetteer)
    city, where = _split_unpunctuated(parts)
    # A hint that matches nothing ("Paris, Atlantis") is not dropped: nothing is found.
    found = _named_in(matcher, city, where) if where else _anywhere(matcher, city, "", None)
    return _ranked(parsed.text, found, prefer)


# The letters counted to rule out a fuzzy candidate before difflib scores it; any other
# character falls in one shared bucket, which can only overcount what two names share.
FUZZY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 -'"
_MATCHERS: weakref.WeakKeyDictionary[Gazetteer, SearchMatcher] = weakref.WeakKeyDictionary()
_MATCHERS_LOCK = threading.Lock()


_OTHER = len(FUZZY_ALPHABET)  # the shared bucket of every other character
_ASCII_BUCKET = np.full(128, _OTHER, dtype=np.intp)
_ASCII_BUCKET[[ord(c) for c in FUZZY_ALPHABET]] = np.arange(len(FUZZY_ALPHABET))


def letter_counts(texts: list[str]) -> np.ndarray:
    """How often each letter of FUZZY_ALPHABET (and, last, any other character) occurs in
    each text: one row per text, counted for all texts at once."""
    width = len(FUZZY_ALPHABET) + 1
    lengths = np.array([len(t) for t in texts], dtype=np.intp)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    buckets = np.where(codes < 128, _ASCII_BUCKET[np.minimum(codes, 127)], _OTHER)
    rows = np.repeat(np.arange(len(texts)), lengths)
    flat = np.bincount(rows * width + buckets, minlength=len(texts) * width)
    return flat.reshape(len(texts), width)


class SearchMatcher(GazetteerMatcher):
    """The geocoder's matcher, kept per index (`search_matcher`) so what it learns about a
    country is learnt once, with a fuzzy step that answers in milliseconds.

    The fuzzy step gives exactly difflib.get_close_matches' answer over the country's names:
    a name is only skipped when difflib's own quick bounds (lengths, then shared letters,
    here counted with numpy for every name at once) already rule it out.
    """

    def __init__(self, gazetteer: Gazetteer) -> None:
        super().__init__(gazetteer)
        self._letters: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}

    def _fuzzy(self, name: str, cc: str) -> list[Candidate]:
        """Close spellings in the country (only when nothing matched exactly)."""
        found = self._letters.get(cc)
        if found is None:
            names: dict[str, list[int]] = {}
            s = self.g.country_slice(cc)
            for i, folded in enumerate(self.g.folded_names(s), start=s.start):
                names.setdefault(folded, []).append(i)
            keys = list(names)
            counts = letter_counts(keys)
            lengths = np.array([len(k) for k in keys], dtype=np.float64)
            found = (keys, counts, lengths)
            self._fuzzy_names[cc] = names
            self._letters[cc] = found
        keys, counts, lengths = found
        names = self._fuzzy_names[cc]
        # difflib's real_quick_ratio and quick_ratio, as upper bounds, for every name at once.
        total = lengths + len(name)
        shortest = np.minimum(lengths, len(name))
        shared = np.minimum(counts, letter_counts([name])[0]).sum(axis=1)
        keep = (2.0 * shortest / total >= FUZZY_CUTOFF) & (2.0 * shared / total >= FUZZY_CUTOFF)
        short_list = [keys[i] for i in np.flatnonzero(keep)]
        hits = difflib.get_close_matches(name, short_list, n=3, cutoff=FUZZY_CUTOFF)
        return [Candidate(self.g.place(i), True) for h in hits for i in names[h]]


def search_matcher(gazetteer: Gazetteer) -> SearchMatcher:
    """The one SearchMatcher of an index (made on first use; forgotten with the index)."""
    with _MATCHERS_LOCK:
        matcher = _MATCHERS.get(gazetteer)
        if matcher is None:
            matcher = SearchMatcher(gazetteer)
            _MATCHERS[gazetteer] = matcher
        return matcher


def _split_unpunctuated(parts: list[str]) -> tuple[str, list[str]]:
    """(city, [region..., country]) from comma parts, or from trailing words without commas:
    "Boston MA" -> ("Boston", ["MA", "US"]); "Lyon France" -> ("Lyon", ["France"])."""
    if len(parts) > 1:
        return parts[0], parts[1:]
    words = parts[0].split()
    if len(words) > 1 and words[-1].upper() in US_STATES and len(words[-1]) == 2:
        return " ".join(words[:-1]), [words[-1], "US"]
    for n in range(min(MAX_COUNTRY_WORDS, len(words) - 1), 0, -1):
        tail = " ".join(words[-n:])
        if len(tail) > 2 and exact_country_code(tail):
            return " ".join(words[:-n]), [tail]
    return parts[0], []


def _named_in(
    matcher: GazetteerMatcher, city: str, where: list[str]
) -> list[tuple[float, PlaceMatch]]:
    """Readings of "City, [Region,] Country" or "City, Region" (the last part as a state)."""
    g = matcher.g
    last = where[-1]
    codes = [country_code(last)]
    if len(last) == 2 and g.has_country(last):
        codes.append(last.upper())  # "Lyon, FR"; "Cambridge, MA" is tried as a state below too
    state = ", ".join(where[:-1])
    for cc in dict.fromkeys(c for c in codes if c):
        res = matcher.match(city, state, cc, city)
        if res is not None and res.precision in ("city", "district") and not res.needs_review:
            region = _region_of(g, res.latitude, res.longitude, cc) or state
            found = PlaceMatch(res.matched_name, res.latitude, res.longitude, "city", cc, region)
            return [(0.0, _with_entry(found))]
        if res is not None and res.precision in ("city", "district"):
            fallback = PlaceMatch(res.matched_name, res.latitude, res.longitude, "city", cc, state)
            anywhere = _anywhere(matcher, city, state, {cc})
            return anywhere or [(0.0, _with_entry(fallback))]
    # "Springfield, Illinois": the last part is a state; "Seoul, Korea": part of country names.
    found = _anywhere(matcher, city, ", ".join(where), None)
    if not found and len(where) == 1:
        found = _anywhere(matcher, city, "", _countries_named(last) or None, require=True)
    return found


def _region_of(g: Gazetteer, lat: float, lon: float, cc: str) -> str:
    """The region name of the index place at (lat, lon) in `cc` ("" when none is there)."""
    s = g.country_slice(cc)
    near = np.flatnonzero(
        (np.abs(g.lat[s] - lat) < SAME_POINT_DEGREES)
        & (np.abs(g.lon[s] - lon) < SAME_POINT_DEGREES)
    )
    return g.region_name(g.place(s.start + int(near[0])).region) if near.size else ""


def _anywhere(
    matcher: GazetteerMatcher,
    city: str,
    state: str,
    countries: set[str] | None,
    require: bool = False,
) -> list[tuple[float, PlaceMatch]]:
    """Scored readings of a city name in any country (or those given), the state as a filter,
    plus the postal layer's places for names cities500 lacks."""
    g = matcher.g
    out: list[tuple[float, PlaceMatch]] = []
    if require and not countries:
        return out
    for v in city_variants(city):
        for c in g.candidates(v.name):
            cc = c.place.country_code
            if countries is not None and cc not in countries:
                continue
            if c.alternate and len(v.name) < MIN_ALTERNATE_CHARS:
                continue
            regions = g.match_regions(state, cc) if state else set()
            if state and not regions:
                continue
            score, _ = matcher.score(c, regions, None)
            p = c.place
            region = g.region_name(p.region) if p.region >= 0 else ""
            out.append(
                (
                    score,
                    PlaceMatch(
                        p.name, round(p.latitude, 5), round(p.longitude, 5), "city", cc, region
                    ),
                )
            )
        if out:
            break
    if not out:
        for v in city_variants(city)[:1]:
            for pp in g.postal.places(v.name):
                if countries is not None and pp.country_code not in countries:
                    continue
                if (
                    state
                    and fold(state) not in fold(pp.region)
                    and pp.country_code != state.upper()
                ):
                    continue
                out.append((math.log10(10 * pp.codes + 10), _postal_match(pp, "city")))
    return [(s, _with_entry(m)) for s, m in out]


def _postal_match(pp: PostalPlace, precision: str) -> PlaceMatch:
    return PlaceMatch(
        pp.name,
        round(pp.latitude, 5),
        round(pp.longitude, 5),
        precision,
        pp.country_code,
        pp.region,
    )


def _with_entry(m: PlaceMatch) -> PlaceMatch:
    """The reading with the text that finds it again ("Name, Region, Country")."""
    country = country_name(m.country_code) if m.country_code else ""
    parts = [m.name, m.region if m.region and fold(m.region) != fold(m.name) else "", country]
    return replace(m, entry=", ".join(p for p in parts if p))


def _postcode_search(parts: list[str], g: Gazetteer, prefer: tuple[str, ...]) -> PlaceSearch | None:
    """Readings of a postcode, optionally followed by a country ("75013, France"); None when
    the entry does not look like a postcode or no postcode matches it."""
    code, country = parts[0], ""
    if len(parts) > 1:
        country = country_code(parts[-1]) or (parts[-1].upper() if len(parts[-1]) == 2 else "")
    else:
        words = code.split()
        for n in range(min(MAX_COUNTRY_WORDS, len(words) - 1), 0, -1):
            tail = " ".join(words[-n:])
            if any(ch.isalpha() for ch in tail) and exact_country_code(tail):
                code, country = " ".join(words[:-n]), exact_country_code(tail)
                break
    if not POSTCODE.match(code) or not any(ch.isdigit() for ch in code):
        return None
    countries = [country] if country else None
    hits = g.postal.find_postcode(code, countries)
    if not hits:
        return None
    shown = code.strip().upper()
    matches = []
    for h in hits:
        m = PlaceMatch(
            h.name,
            round(h.latitude, 5),
            round(h.longitude, 5),
            "postcode",
            h.country_code,
            h.region,
        )
        matches.append(
            replace(m, name=f"{shown} {h.name}", entry=f"{shown}, {country_name(h.country_code)}")
        )
    ordered = sorted(
        matches,
        key=lambda m: (
            m.country_code not in prefer,
            prefer.index(m.country_code) if m.country_code in prefer else 0,
            m.country_code != DEFAULT_POSTCODE_COUNTRY,
            country_name(m.country_code),
        ),
    )
    note = ""
    if len(ordered) > 1:
        others = ", ".join(country_name(m.country_code) for m in ordered[1:4])
        chosen = country_name(ordered[0].country_code)
        why = (
            "a country with sites here"
            if ordered[0].country_code in prefer
            else "the most common reading"
        )
        note = (
            f"{shown} is a postcode in several countries; showing {chosen} ({why}). Also: {others}."
        )
    return PlaceSearch(
        parts[0] if len(parts) == 1 else ", ".join(parts), tuple(ordered[:MAX_CHOICES]), note
    )


def _ranked(
    query: str, found: list[tuple[float, PlaceMatch]], prefer: tuple[str, ...]
) -> PlaceSearch:
    """Distinct readings (25 km apart), most likely first, the trial's countries ahead of
    others of a similar score; the pick-list keeps those within CHOICE_SCORE_MARGIN."""
    if not found:
        return PlaceSearch(query)
    ranked = sorted(
        found, key=lambda t: -(t[0] + (PREFERRED_BONUS if t[1].country_code in prefer else 0.0))
    )
    best_score = ranked[0][0] + (PREFERRED_BONUS if ranked[0][1].country_code in prefer else 0.0)
    kept: list[PlaceMatch] = []
    for score, m in ranked:
        boosted = score + (PREFERRED_BONUS if m.country_code in prefer else 0.0)
        if kept and best_score - boosted > CHOICE_SCORE_MARGIN:
            break
        if any(
            distance_km(m.latitude, m.longitude, k.latitude, k.longitude) < SAME_PLACE_KM
            for k in kept
        ):
            continue
        kept.append(m)
        if len(kept) == MAX_CHOICES:
            break
    return PlaceSearch(query, tuple(kept))


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
