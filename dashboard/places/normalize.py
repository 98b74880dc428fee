"""Folding place and region names so that spellings meet: "Łódź" = "Lodz", "Aichi-ken" = "Aichi".

Used by the index build (every GeoNames name is folded once) and by every query against it.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata

# A region alias matches a query when, after folding, one is a prefix of the other over at least
# this share of the shorter one and at least PREFIX_MIN_CHARS characters ("navarre" ~ "navarra").
PREFIX_MIN_SHARE = 0.8
PREFIX_MIN_CHARS = 4
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
