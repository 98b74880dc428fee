"""A city, state and country -> the best place in the offline index, with the rules below.

Matching rules, in order (see `GazetteerMatcher.match`):

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
import math
import re
from dataclasses import dataclass, replace

from dashboard.geo import distance_km
from dashboard.ingest.countries import capital_of, country_name, exact_country_code
from dashboard.model import GeocodeResult, Precision, Source
from dashboard.places.index import Candidate, Gazetteer, Place
from dashboard.places.normalize import fold, names_match, region_core

# Ranking weights (score = log10(population + 10) - penalties).
ALTERNATE_NAME_PENALTY = 1.0
SECTION_PENALTY = 2.0
STATE_MISMATCH_PENALTY = 10.0
STATE_ANCHOR_BONUS = 3.0
# A candidate is a "section" of a city when a place this many times as populous lies this close.
SECTION_RADIUS_KM = 10.0
SECTION_POPULATION_RATIO = 10.0
# A section keeps its penalty only when a same-named place this populous (and not itself a
# section) competes: a city district must lose to a real city of its name ("Salamanca" in Madrid
# vs Salamanca), never to a village ("Camperdown" in Sydney vs Camperdown, Victoria).
SECTION_LOSES_TO_POPULATION = 100_000
# Two candidates closer than this in score but farther apart than AMBIGUOUS_KM -> review.
AMBIGUITY_MARGIN = 0.5
AMBIGUOUS_KM = 25.0
# A state that names no region may name a place: candidates this close to it get a bonus.
STATE_ANCHOR_KM = 100.0
# A district named in "City - District" must lie this close to the city to be taken.
DISTRICT_OF_CITY_KM = 25.0
FUZZY_CUTOFF = 0.88
# A city not found in its filed country but this populous elsewhere is named in the note.
ELSEWHERE_MIN_POPULATION = 100_000
OUT_OF_REGION = "not in the named state"
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
# French postal suffixes: "Nantes Cedex 1", "Marseille Cedex 05", "Toulouse cedex 9".
CEDEX = re.compile(r"\s+cedex(?:\s+\d{1,2})?\s*$", re.I)
# Numbered city districts: "Praha 8", "Wien 9", "Budapest XIII", "Paris 13e", "Lyon 3ème",
# "Marseille 5e arrondissement", "Warszawa-Mokotów" is left to the separator rule.
NUMBERED_DISTRICT = re.compile(
    r"^(?P<city>.*?[^\W\d_])\s*[-,]?\s+(?:\d{1,2}\.?(?:e|er|re|eme|ème|°)?|[IVXLC]{1,6}\.?)"
    r"(?:\s+(?:arrondissement|arr\.?|district|kerület|bezirk|obvod))?$",
    re.I,
)
# "Lido di Camaiore", "Montecatini Terme", "Bad Homburg": a frazione or spa town named after
# its municipality; the bare name is tried after the literal one.
NAME_AFFIXES = (
    re.compile(r"^(?:lido|marina|borgo)\s+d[ieia']\s*", re.I),
    re.compile(r"\s+terme$", re.I),
)
# "City of X", "Grad X", "Ciudad (Autónoma) de X", "Città di X", "Ville de X": X itself.
CITY_OF = re.compile(
    r"^(?:city of|grad|ciudad(?:\s+aut[oó]noma)?\s+de|citt[aà]\s+di|ville\s+de|municipio\s+de)\s+",
    re.I,
)
# Names registries give a country's capital district instead of the city: placed at the capital.
CAPITAL_DISTRICT_NAMES = frozenset(
    {
        "caba",
        "c a b a",
        "capital federal",
        "distrito federal",
        "federal district",
        "cdmx",
        "ciudad de mexico",
        "national capital region",
        "ncr",
        "metro manila",
    }
)


@dataclass(frozen=True)
class Variant:
    """One way to read a site's city: a folded name and what kind of place it names."""

    name: str
    kind: str  # city | ward | county | district-of:<city>
    note: str = ""


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
    # Postal suffixes and numbered districts say nothing about which city: drop them.
    city = CEDEX.sub("", city).strip() or city
    add(fold(city), "city")
    numbered = NUMBERED_DISTRICT.match(city)
    if numbered:
        add(fold(numbered["city"]), "city", "numbered district; placed at the city")
    for affix in (*NAME_AFFIXES, CITY_OF):
        stripped = affix.sub("", city).strip()
        if stripped and stripped != city:
            add(fold(stripped), "city")
    folded_all = fold(city)
    if folded_all in CAPITAL_DISTRICT_NAMES or folded_all.startswith("ciudad autonoma de buenos"):
        add(folded_all, "capital", "capital district; placed at the capital")
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
    numbered = NUMBERED_DISTRICT.match(bare_city.strip())
    if numbered:  # "Praha 8 - Liben": the city part is itself a numbered district
        add(fold(numbered["city"]), "city", "numbered district; placed at the city")
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

    def score(
        self, c: Candidate, regions: set[int], anchor: Place | None
    ) -> tuple[float, list[str]]:
        """A candidate's rank (higher is likelier) and the notes that explain it."""
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
            distance_km(p.latitude, p.longitude, anchor.latitude, anchor.longitude)
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
            for i, folded in enumerate(self.g.folded_names(s), start=s.start):
                names.setdefault(folded, []).append(i)
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
            geocoder=Source.GAZETTEER,
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
            if res is not None and res.precision in (Precision.CITY, Precision.DISTRICT):
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
        if v.kind == "capital":
            capital = capital_of(cc)
            if fuzzy or not capital:
                return None
            v = Variant(fold(capital), "city", v.note)
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
                    Precision.DISTRICT,
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
                    distance_km(
                        c.place.latitude, c.place.longitude, cc_.place.latitude, cc_.place.longitude
                    )
                    <= DISTRICT_OF_CITY_KM
                    for cc_ in city_cands
                ):
                    near.append(c)
            cands = near
        if not cands:
            return None
        scored = self._rank(cands, regions, anchor)
        (best_score, why), best = scored[0]
        # A "section" note only matters when it decided between same-named places.
        notes = (list(why) if len(scored) > 1 else []) + ([v.note] if v.note else [])
        review = fuzzy
        own_note = ""
        own = [] if fuzzy or not best.alternate else self._own_named_elsewhere(scored, regions)
        if own:
            # The name is the own name of one place and an alternate name of another, far away:
            # with a matched state the own name wins; either way a person should look.
            decoy, o = best.place, own[0][1].place
            review = True
            if regions:
                (best_score, why), best = own[0]
                notes = (list(why) if len(scored) > 1 else []) + ([v.note] if v.note else [])
                own_note = (
                    f"'{v.name}' is also an alternate name of {decoy.name} "
                    f"({self.g.region_name(decoy.region)})"
                )
            else:
                own_note = (
                    f"ambiguous: '{v.name}' is the own name of {o.name} "
                    f"({self.g.region_name(o.region)})"
                )
        if regions and best.place.region not in regions:
            review = True
            notes.insert(0, f"{OUT_OF_REGION}; placed in {self.g.region_name(best.place.region)}")
        if fuzzy:
            notes.append(f"fuzzy match of '{v.name}'")
        if own_note:
            notes.append(own_note)
        elif len(scored) > 1:
            (second_score, _), second = scored[1]
            far = (
                distance_km(
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
        precision = (
            Precision.DISTRICT
            if v.kind == "ward" or v.kind.startswith("district-of")
            else Precision.CITY
        )
        return self._result(best.place, precision, query, review, notes)

    def _rank(
        self, cands: list[Candidate], regions: set[int], anchor: Place | None
    ) -> list[tuple[tuple[float, list[str]], Candidate]]:
        """Candidates with their scores, best first; a section's penalty is waived when no real
        city of the name (SECTION_LOSES_TO_POPULATION, inside the named state) competes."""
        raw = [(self.score(c, regions, anchor), c) for c in cands]
        sections = {c.place.id for (_, why), c in raw if why}
        if sections and not any(
            c.place.id not in sections
            and c.place.population >= SECTION_LOSES_TO_POPULATION
            and not (regions and c.place.region not in regions)
            for _, c in raw
        ):
            raw = [
                ((s + SECTION_PENALTY, why) if c.place.id in sections else (s, why), c)
                for (s, why), c in raw
            ]
        return sorted(raw, key=lambda t: (-t[0][0], t[1].place.id))

    def _own_named_elsewhere(
        self, scored: list[tuple[tuple[float, list[str]], Candidate]], regions: set[int]
    ) -> list[tuple[tuple[float, list[str]], Candidate]]:
        """Own-name candidates (inside the named state, if any) lying more than AMBIGUOUS_KM
        from the best candidate, which matched an alternate name; best first."""
        best = scored[0][1].place
        return [
            t
            for t in scored
            if not t[1].alternate
            and not (regions and t[1].place.region not in regions)
            and distance_km(
                t[1].place.latitude, t[1].place.longitude, best.latitude, best.longitude
            )
            > AMBIGUOUS_KM
        ]

    def _postal(
        self, variants: list[Variant], regions: set[int], cc: str, query: str
    ) -> GeocodeResult | None:
        """A locality or district cities500 lacks, from the postal layer (in the named region
        when one is named); flagged when same-named places lie far apart."""
        region_names = [self.g.region_name(r) for r in regions]
        for v in variants:
            if v.kind in ("county", "capital"):
                continue
            found = self.g.postal.places(v.name, cc)
            if region_names:
                inside = [
                    p
                    for p in found
                    if any(names_match(region_core(p.region), region_core(n)) for n in region_names)
                ]
                found = inside or []
            if not found:
                continue
            # A district (a ward) spans more postcodes than a same-named locality: prefer it
            # for ward names, the locality otherwise; then the place spanning most codes.
            want_district = v.kind == "ward"
            found.sort(key=lambda p: (p.district != want_district, -p.codes))
            best = found[0]
            far = [
                p
                for p in found[1:]
                if distance_km(p.latitude, p.longitude, best.latitude, best.longitude)
                > AMBIGUOUS_KM
            ]
            notes = [v.note, "from GeoNames postal data"]
            if far:
                notes.append(f"ambiguous: also {far[0].name} ({far[0].region})")
            place = Place(-1, best.name, best.latitude, best.longitude, cc, 0, -1, -1)
            precision = Precision.DISTRICT if best.district else Precision.CITY
            return self._result(place, precision, query, bool(far), notes)
        return None

    def _fallback(
        self, city: str, variants: list[Variant], regions: set[int], cc: str, query: str
    ) -> GeocodeResult:
        postal = self._postal(variants, regions, cc, query)
        if postal is not None:
            return postal
        is_ward = any(v.kind == "ward" for v in variants)
        if regions:
            r = sorted(regions)[0]
            if is_ward:
                p = self.g.largest_in_region(r)
                return self._result(
                    p,
                    Precision.CITY,
                    query,
                    True,
                    [f"ward '{city}' not in the gazetteer; placed at the centre of {p.name}"],
                )
            p = self.g.region_centroid(r)
            return self._result(
                p,
                Precision.REGION,
                query,
                True,
                [f"'{city}' not found; centre of region {self.g.region_name(r)}"],
                matched=self.g.region_name(r),
            )
        p = self.g.country_centroid(cc)
        assert p is not None  # has_country() was checked by the caller
        return self._result(
            p,
            Precision.COUNTRY,
            query,
            True,
            [f"'{city}' not found; centre of the country", self._elsewhere(variants, cc)],
            matched=cc,
        )

    def _elsewhere(self, variants: list[Variant], cc: str) -> str:
        """A note when the city is a big city of another country ("Haifa" filed under Iceland)."""
        for v in variants:
            if v.kind != "city":
                continue
            big = [
                c.place
                for c in self.g.candidates(v.name)
                if not c.alternate
                and c.place.country_code != cc
                and c.place.population >= ELSEWHERE_MIN_POPULATION
            ]
            if big:
                p = max(big, key=lambda p: p.population)
                return f"{p.name} is a city of {country_name(p.country_code)}: wrong country filed?"
        return ""


def _territory_named(city: str, cc: str) -> str:
    """The code of the territory a city string names, when that is not `cc` ("Hong Kong")."""
    code = exact_country_code(city)
    return code if code and code != cc else ""
