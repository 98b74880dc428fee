"""Tests for dashboard.ingest.countries: registry spellings -> ISO 3166-1 codes."""

from __future__ import annotations

import pytest

from dashboard.ingest.countries import (
    alpha2_for_numeric,
    country_code,
    country_name,
    exact_country_code,
    numeric_code,
)

NAME_CASES = [
    ("United States", "US"),  # pycountry's name
    ("United Kingdom", "GB"),  # pycountry's name; official name is much longer
    ("Turkey (Türkiye)", "TR"),  # the registry's spelling: old name, new name in brackets
    ("Korea, Republic of", "KR"),  # ISO's formal name with a comma
    ("South Korea", "KR"),  # pycountry's common_name
    ("Czechia", "CZ"),  # the seed uses the short name
    ("Czech Republic", "CZ"),  # older records use the official name
    ("Russian Federation", "RU"),  # ISO name the registry uses
    ("Iran, Islamic Republic of", "IR"),  # comma form
    ("Taiwan", "TW"),  # pycountry's name is "Taiwan, Province of China"
    ("Hong Kong", "HK"),  # a territory with its own code
    ("Vietnam", "VN"),  # pycountry's name is "Viet Nam"
    ("Macedonia, The Former Yugoslav Republic of", "MK"),  # old registry name, via the aliases
    ("Moldova, Republic of", "MD"),  # comma form
    ("Puerto Rico", "PR"),  # registry lists it as a country, ISO gives it a code
    ("Côte d'Ivoire", "CI"),  # accent and apostrophe
    ("Cote D'Ivoire", "CI"),  # without the accent, odd capitals
    ("Congo, The Democratic Republic of the", "CD"),  # comma form, not plain Congo
    ("Congo", "CG"),  # the other Congo
    ("  new   zealand ", "NZ"),  # spacing and case do not matter
    ("Venezuela", "VE"),  # safe fuzzy: the only country whose name contains the word
    ("Atlantis", ""),  # unknown: callers decide
    ("Korea", ""),  # ambiguous between North and South: no guess
    ("", ""),  # nothing
]


@pytest.mark.parametrize(("name", "code"), NAME_CASES)
def test_country_code(name: str, code: str) -> None:
    """Record spellings map to the ISO alpha-2 code, unknown names to ""."""
    assert country_code(name) == code


@pytest.mark.parametrize(
    "name",
    [
        "City of, United Kingdom",  # tail of "London, City of, United Kingdom": not a country
        "Norway Poland Turkey (Türkiye)",  # a run of names that ends in a bracketed one
        "Georgia, United States",  # two elements are not one country
        "CA",  # codes are not names: "CA" is a state in US addresses
    ],
)
def test_exact_country_code_does_not_guess(name: str) -> None:
    """Address parsing relies on exact matches only."""
    assert exact_country_code(name) == ""


def test_numeric_codes_and_names() -> None:
    """ISO numeric codes (the seed's site-number prefixes) and readable names."""
    assert numeric_code("AU") == "036"
    assert numeric_code("US") == "840"
    assert numeric_code("tr") == "792"
    assert numeric_code("") == ""
    assert numeric_code("ZZ") == ""
    assert alpha2_for_numeric("756") == "CH"
    assert alpha2_for_numeric("999") == ""
    assert country_name("KR") == "South Korea"
    assert country_name("US") == "United States"
    assert country_name("TR") == "Türkiye"
    assert country_name("ZZ") == ""
