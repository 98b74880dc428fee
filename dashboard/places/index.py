"""The offline place index at run time: name lookups, regions, counties, country centroids.

`load_gazetteer()` opens the index that `dashboard.places.index_build` writes (building it on
first use) from the user cache dir, keyed by an index version and the source packages' versions;
a load takes milliseconds. Names are looked up through 64-bit hashes of their folded form (a
sorted array + `searchsorted`), so no big Python dict is rebuilt at start. The loaded object is
read-only and safe to share between threads (the app keeps one in `st.cache_resource`).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dashboard.geo import distances_km
from dashboard.places.index_build import (
    INDEX_VERSION,
    build_arrays,
    source_versions,
    write_index,
)
from dashboard.places.normalize import fold, name_key, names_match, region_core, region_forms
from dashboard.places.postal import PREFIX as POSTAL_PREFIX
from dashboard.places.postal import PostalIndex

CACHE_ENV = "TRIAL_SITES_CACHE"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "trial-sites"


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


def cache_dir() -> Path:
    """Where built indexes live: `$TRIAL_SITES_CACHE` or `~/.cache/trial-sites`."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else DEFAULT_CACHE_DIR


def index_path(directory: Path | None = None) -> Path:
    """The versioned index file for the installed source packages."""
    v = source_versions()
    tag = "-".join(f"{k}{v[k]}" for k in sorted(v))
    return (directory or cache_dir()) / f"gazetteer-v{INDEX_VERSION}-{tag}.npz"


class Gazetteer:
    """Read-only place index: name lookups, regions, counties, country centroids."""

    def __init__(
        self, arrays: dict[str, np.ndarray], path: Path | None = None, notes: tuple[str, ...] = ()
    ) -> None:
        for a in arrays.values():
            a.setflags(write=False)
        self.path = path
        # What loading had to work around (a rebuilt or unsaved index), for the app to say.
        self.notes = notes
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
        # The postal layer: postcodes, and places cities500 lacks (communes, wards).
        self.postal = PostalIndex(arrays, meta["postal_countries"])
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

    def folded_names(self, s: slice) -> list[str]:
        """The folded own names of places s.start to s.stop - 1 (a country's slice), decoded
        at once."""
        off = self._a["fold_offsets"]
        text = self._a["fold_blob"][off[s.start] : off[s.stop]].tobytes().decode("utf-8")
        return text.split("\n")[:-1] if text else []

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
        d = distances_km(p.latitude, p.longitude, lats, lons)
        near = np.flatnonzero(d <= radius_km)
        if near.size == 0:
            return None
        return self.place(s.start + int(near[0]))


REQUIRED_ARRAYS = frozenset(
    {"lat", "lon", "pop", "cc", "region", "county", "name_offsets", "name_blob", "key"}
    | {"fold_offsets", "fold_blob"}
    | {"key_id", "key_kind", "country_start", "country_end", "country_centre", "region_centre"}
    | {"county_centre", "meta", "county_meta"}
)
PER_PLACE_ARRAYS = ("lat", "lon", "pop", "cc", "region", "county")
PER_KEY_ARRAYS = ("key", "key_id", "key_kind")
PER_COUNTRY_ARRAYS = ("country_start", "country_end", "country_centre")
TEMP_SUBDIR = "trial-sites"
_LOCK = threading.Lock()
_LOADED: dict[Path, Gazetteer] = {}


class IndexFileError(ValueError):
    """A place index file that cannot be used as it is (it is rebuilt, never trusted)."""


def _read_index(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an index file, checked for shape and version (IndexFileError if not)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # truncated, empty, not a zip, bad member: all mean "rebuild"
        raise IndexFileError(f"unreadable ({type(exc).__name__})") from exc
    validate_arrays(arrays)
    return arrays


def validate_arrays(arrays: dict[str, np.ndarray]) -> None:
    """IndexFileError unless the arrays form a whole index of this version."""
    missing = REQUIRED_ARRAYS - arrays.keys()
    if missing:
        raise IndexFileError(f"lacks {sorted(missing)}")
    n = len(arrays["lat"])
    if n == 0 or any(len(arrays[k]) != n for k in PER_PLACE_ARRAYS):
        raise IndexFileError("place arrays are empty or of different lengths")
    if len(arrays["name_offsets"]) != n + 1 or int(arrays["name_offsets"][-1]) != len(
        arrays["name_blob"]
    ):
        raise IndexFileError("place names do not match the places")
    if len(arrays["fold_offsets"]) != n + 1 or int(arrays["fold_offsets"][-1]) != len(
        arrays["fold_blob"]
    ):
        raise IndexFileError("folded place names do not match the places")
    n_keys = len(arrays["key"])
    if n_keys < n or any(len(arrays[k]) != n_keys for k in PER_KEY_ARRAYS):
        raise IndexFileError("name keys are missing or of different lengths")
    if n_keys and (int(arrays["key_id"].max()) >= n or int(arrays["key_id"].min()) < 0):
        raise IndexFileError("name keys point outside the places")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        json.loads(arrays["county_meta"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFileError("its metadata is not readable") from exc
    if not isinstance(meta, dict) or meta.get("version") != INDEX_VERSION:
        raise IndexFileError("of another index version")
    if not isinstance(meta.get("postal_countries"), list) or not any(
        k.startswith(POSTAL_PREFIX) for k in arrays
    ):
        raise IndexFileError("without its postal layer")
    countries = meta.get("countries") or []
    if any(len(arrays[k]) != len(countries) for k in PER_COUNTRY_ARRAYS):
        raise IndexFileError("country tables do not match the country list")


def temp_index_path(path: Path) -> Path:
    """Where the index goes when the cache directory cannot be written."""
    return Path(tempfile.gettempdir()) / TEMP_SUBDIR / path.name


def _load_or_build(path: Path) -> Gazetteer:
    """The index at `path` if whole; else a whole copy in the temp dir; else built anew.

    A built index is written to `path`, else to the temp dir, else kept in memory; each
    fallback adds one note (shown by the app) instead of failing.
    """
    notes: list[str] = []
    if path.is_file():
        try:
            return Gazetteer(_read_index(path), path)
        except (IndexFileError, OSError) as exc:
            notes.append(f"the place index in {path.parent} was {exc}; rebuilt it")
    else:
        spare = temp_index_path(path)
        try:
            if spare.is_file():
                return Gazetteer(_read_index(spare), spare)
        except (IndexFileError, OSError):
            pass  # rebuilt below
    arrays = build_arrays()
    for target in (path, temp_index_path(path)):
        try:
            write_index(target, arrays)
            return Gazetteer(arrays, target, tuple(notes))
        except OSError as exc:
            notes.append(f"cannot save the place index in {target.parent} ({exc.strerror or exc})")
    notes.append("the place index is kept in memory for this process")
    return Gazetteer(arrays, None, tuple(notes))


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """The index (building and caching it on first use); one shared read-only instance per file.

    Never fails on a damaged or unwritable cache: see `_load_or_build`.
    """
    path = path or index_path()
    with _LOCK:
        g = _LOADED.get(path)
        if g is None:
            g = _load_or_build(path)
            _LOADED[path] = g
        return g
