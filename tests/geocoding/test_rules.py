"""The geocoder's general rules, one class of real-world spelling each (real sites from the
evaluation records in tests/places/eval/, each with the point it must land near)."""

from __future__ import annotations

import pytest
from site_records import bare_site

from dashboard.geo import distance_km
from dashboard.geocoding.sources import RegistryCheckedGeocoder
from dashboard.ingest.countries import country_code
from dashboard.places.index import load_gazetteer


@pytest.mark.parametrize(
    ("city", "state", "country", "lat", "lon"),
    [
        # French CEDEX suffixes: the commune before "Cedex" (with or without a number)
        ("Villejuif Cedex", "", "France", 48.7922, 2.3634),  # Gustave Roussy
        ("Toulouse cedex 9", "Haute Garonne", "France", 43.6045, 1.4440),
        ("Brest Cedex", "", "France", 48.3904, -4.4861),
        ("Nantes Cedex 1", "", "France", 47.2184, -1.5536),
        # Numbered city districts: the city
        ("Praha 8", "", "Czechia", 50.0880, 14.4208),
        ("Praha 8 - Liben", "", "Czechia", 50.0880, 14.4208),  # a numbered district and a name
        ("Wien 9", "", "Austria", 48.2085, 16.3721),
        ("Budapest XIII", "", "Hungary", 47.4979, 19.0402),
        ("Paris 13e", "", "France", 48.8534, 2.3488),
        # Capital districts: the country's capital (from the country table, not a name list)
        ("Caba", "", "Argentina", -34.6132, -58.3772),
        ("C. A. B. A.", "", "Argentina", -34.6132, -58.3772),
        ("Ciudad Autonoma de Buenos Aire", "", "Argentina", -34.6132, -58.3772),  # cut short
        ("Grad Zagreb", "", "Croatia", 45.8144, 15.9780),
        # Frazioni and spa towns named after their municipality; merged municipalities
        ("Lido di Camaiore", "", "Italy", 43.9076, 10.2227),
        ("Montecatini Terme", "", "Italy", 43.8837, 10.7718),
        ("Heusden-Zolder", "", "Belgium", 51.0317, 5.3125),  # only in the postal layer
        # Wards of big cities: in the city, even where GeoNames misfiles them
        ("Koto-ku", "Tokyo", "Japan", 35.6730, 139.8170),
        ("Bunkyo-ku", "Tokyo", "Japan", 35.7080, 139.7520),
    ],
)
def test_a_class_of_spelling_lands_at_its_city(geocoder, city, state, country, lat, lon):
    res = geocoder.geocode(bare_site(city, state, country))
    assert distance_km(res.latitude, res.longitude, lat, lon) < 25, res


@pytest.mark.parametrize(
    ("city", "state", "zip_code", "country", "lat", "lon"),
    [
        # The postcode places a site whose city is a neighbourhood cities500 lacks
        ("Hillbrow", "Johannesburg,Gauteng", "2001", "South Africa", -26.19, 28.05),
        # ZIP+4 is read as its ZIP
        ("Fort Gordon", "Georgia", "30905-5741", "United States", 33.42, -82.16),
    ],
)
def test_the_postcode_is_strong_evidence(geocoder, city, state, zip_code, country, lat, lon):
    res = geocoder.geocode(bare_site(city, state, country, zip_code))
    assert distance_km(res.latitude, res.longitude, lat, lon) < 25, res
    assert "postcode" in res.note


def test_a_postcode_in_another_state_does_not_move_a_site(geocoder):
    # Fayetteville, Georgia with a New York ZIP (a real record's typo): stays in Georgia.
    res = geocoder.geocode(bare_site("Fayetteville", "Georgia", "United States", "10043"))
    assert distance_km(res.latitude, res.longitude, 33.4487, -84.4549) < 25
    assert res.needs_review and "postcode 10043" in res.note


def test_a_same_named_city_far_from_its_postcode_is_flagged(geocoder):
    # Hamilton, New Jersey, ZIP 08690 (Hamilton Township, Mercer County): the gazetteer's
    # Hamilton is another one; postal centroids are too rough to move a city, so it is flagged.
    res = geocoder.geocode(bare_site("Hamilton", "New Jersey", "United States", "08690"))
    assert res.needs_review and "postcode 08690" in res.note


def test_a_city_far_from_its_own_postcode_is_flagged(geocoder):
    # Tucson with a New York ZIP (a real record's typo): one of the two is wrong; say so.
    res = geocoder.geocode(bare_site("Tucson", "Arizona", "United States", "10032"))
    assert res.needs_review and "postcode 10032" in res.note


@pytest.mark.parametrize(
    ("city", "country", "successor"),
    [
        ("Belgrade", "Former Serbia and Montenegro", "RS"),  # an old registry name
        ("Podgorica", "Serbia and Montenegro", "ME"),  # the other successor
        ("Zagreb", "Former Yugoslavia", "HR"),
        ("Bratislava", "Czechoslovakia", "SK"),
    ],
)
def test_a_dissolved_country_places_the_city_in_its_successor(geocoder, city, country, successor):
    res = geocoder.geocode(bare_site(city, "", country))
    assert res is not None and res.precision == "city"
    assert load_gazetteer().countries  # the index is loaded
    assert country_code(country) == ""  # not guessed at parse time
    assert "former country" in res.note


def test_an_unknown_country_gives_no_point(geocoder):
    assert geocoder.geocode(bare_site("Atlantis City", "", "Atlantis")) is None


def test_a_big_city_filed_under_another_country_is_flagged_and_named(geocoder):
    # "Haifa" filed under Iceland: not placed at Iceland's centre silently.
    res = geocoder.geocode(bare_site("Haifa", "", "Iceland"))
    assert res.needs_review and "city of Israel" in res.note


@pytest.mark.parametrize(
    ("city", "state", "country", "point", "kept"),
    [
        # A registry point near a same-named place is kept, even when the gazetteer's first
        # choice is another one: Camperdown, New South Wales (the Sydney suburb), not Victoria.
        ("Camperdown", "New South Wales", "Australia", (-33.889, 151.176), True),
        # Far from every place of that name in the country: replaced and flagged.
        ("Milan", "", "Italy", (42.78235, 12.59836), False),
    ],
)
def test_registry_points_checked_against_every_same_named_place(
    geocoder, city, state, country, point, kept
):
    checked = RegistryCheckedGeocoder(geocoder, geocoder)
    res = checked.geocode(bare_site(city, state, country, point=point))
    assert (res.geocoder == "registry") == kept
    assert res.needs_review == (not kept)


def test_a_registry_point_far_from_the_sites_postcode_is_flagged(geocoder):
    # Kobe's registry point in Hokkaido, with Kobe's postcode: flagged.
    checked = RegistryCheckedGeocoder(geocoder, geocoder)
    res = checked.geocode(bare_site("Kobe", "Hyogo", "Japan", "650-0017", point=(43.06, 141.35)))
    assert res.needs_review


def test_answers_are_remembered_up_to_a_bound(monkeypatch):
    # A geocoder keeps its matcher answers and postcode points (a site with a registry point
    # asks for its postcode twice; a portfolio's sites repeat cities and postcodes), but starts
    # over past MAX_REMEMBERED, so a long build's memory stays bounded.
    from dashboard.geocoding import sources

    monkeypatch.setattr(sources, "MAX_REMEMBERED", 2)
    store: dict[str, int] = {}
    computed: list[str] = []

    def ask(key: str) -> int:
        return sources._remembered(store, key, lambda: computed.append(key) or len(computed))

    assert [ask("a"), ask("a"), ask("b"), ask("a")] == [1, 1, 2, 1]
    assert ask("c") == 3 and store == {"c": 3}  # full: started over
    assert computed == ["a", "b", "c"]
