"""The postal layer: postcodes of the countries where trials run, and places cities500 lacks."""

from __future__ import annotations

import pytest

from dashboard.geo import distance_km
from dashboard.places.index import load_gazetteer
from dashboard.places.postal import build_postal_arrays, normalise_postcode


@pytest.fixture(scope="module")
def postal():
    return load_gazetteer().postal


@pytest.mark.parametrize(
    ("code", "cc", "lat", "lon"),
    [
        ("02115", "US", 42.34, -71.09),  # Boston (Longwood: Dana-Farber); a leading zero
        ("60611", "US", 41.90, -87.62),  # Chicago, Streeterville
        ("63110", "US", 38.62, -90.26),  # St. Louis, Missouri
        ("75013", "FR", 48.83, 2.36),  # Paris 13e: also a Texas ZIP, asked for France here
        ("69003", "FR", 45.76, 4.85),  # Lyon 3e
        ("80336", "DE", 48.13, 11.56),  # Munich
        ("20122", "IT", 45.46, 9.19),  # Milan
        ("08036", "ES", 41.39, 2.15),  # Barcelona, leading zero kept
        ("SW1A", "GB", 51.50, -0.14),  # a GB outward code (the data has no full postcodes)
        ("M5G", "CA", 43.66, -79.39),  # a Canadian forward sortation area
        ("113-8655", "JP", 35.71, 139.76),  # Tokyo, Bunkyo: the dash is optional
        ("3000", "AU", -37.81, 144.96),  # Melbourne
        ("1012", "NL", 52.37, 4.89),  # Amsterdam (4-digit area)
    ],
)
def test_postcodes_where_trials_run(postal, code, cc, lat, lon):
    (hit,) = postal.postcode(code, [cc])
    assert distance_km(hit.latitude, hit.longitude, lat, lon) < 10


def test_a_code_of_several_countries_gives_each():
    # 75013 is Paris and Allen, Texas: both come back, the caller chooses or asks.
    hits = load_gazetteer().postal.postcode("75013")
    assert {"FR", "US"} <= {h.country_code for h in hits}


@pytest.mark.parametrize(
    ("name", "cc", "region"),
    [
        ("heusden zolder", "BE", "Vlaanderen"),  # a merged municipality cities500 lacks
        ("pierre benite", "FR", "Auvergne-Rhône-Alpes"),  # a Lyon suburb with a big hospital
        ("bunkyo ku", "JP", "Tokyo To"),  # a Tokyo ward (a district of the postal data)
    ],
)
def test_places_missing_from_cities500(postal, name, cc, region):
    assert any(p.region == region for p in postal.places(name, cc))


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("sw1a 1aa", "SW1A1AA"),  # case and the space do not matter
        ("113-8655", "1138655"),  # nor the dash
        (" 02115 ", "02115"),  # leading zeros stay
        ("", ""),
    ],
)
def test_normalise_postcode(typed, normal):
    assert normalise_postcode(typed) == normal


def test_build_streams_a_dump_into_two_tables(tmp_path):
    """A tiny dump in GeoNames' layout: codes are merged per country, places per region."""
    dump = tmp_path / "postal.tsv"
    rows = [
        (
            "FR",
            "75013",
            "Paris",
            "Île-de-France",
            "11",
            "Paris",
            "75",
            "",
            "",
            "48.83",
            "2.36",
            "5",
        ),
        (
            "FR",
            "75013",
            "Paris 13",
            "Île-de-France",
            "11",
            "Paris",
            "75",
            "",
            "",
            "48.84",
            "2.37",
            "5",
        ),
        ("US", "75013", "Allen", "Texas", "TX", "Collin", "085", "", "", "33.12", "-96.68", "4"),
        ("XX", "1", "Nowhere", "", "", "", "", "", "", "", "", ""),  # no point: skipped
    ]
    dump.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
    countries = ["FR"]
    arrays = build_postal_arrays(dump, countries)
    assert countries == ["FR", "US", "XX"] or countries == ["FR", "US"]
    assert len(arrays["pc_code_key"]) == 2  # (FR, 75013) and (US, 75013)
    fr = arrays["pc_code_lat"][arrays["pc_code_cc"] == 0]
    assert fr[0] == pytest.approx(48.835, abs=1e-3)  # the mean of its two rows
