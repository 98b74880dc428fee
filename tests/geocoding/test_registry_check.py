"""The registry point's cross-check, one class of real registry error (or of a right registry
point that must be kept) each. Every case is a real site of the evaluation records in
tests/places/eval/records/ (site id in the comment), with its reviewed true point
(tests/places/eval/reviewed.csv)."""

from __future__ import annotations

import pytest
from site_records import bare_site

from dashboard.geo import distance_km
from dashboard.geocoding.sources import RegistryCheckedGeocoder


@pytest.fixture(scope="module")
def checked(geocoder):
    return RegistryCheckedGeocoder(geocoder, geocoder)


def replaced(checked, site, truth):
    """The checked answer for `site`, having asserted that its registry point was set aside
    (kept in registry_latitude/longitude), that the point used is within 25 km of `truth`, and
    that the row is flagged."""
    res = checked.geocode(site)
    assert res.geocoder != "registry"
    assert distance_km(res.latitude, res.longitude, *truth) < 25, res
    assert res.needs_review
    assert (res.registry_latitude, res.registry_longitude) == site.geo_point
    return res


@pytest.mark.parametrize(
    ("city", "state", "zip_code", "country", "registry", "truth"),
    [
        # Registry homonym, nothing backing it: the registry took a small same-named place
        # elsewhere in the country; our (unsure) reading took the big one; no postcode or state
        # speaks for the registry's. NCT04448756-019: Quezon City, registry in Bukidnon.
        ("Quezon", "", "", "Philippines", (7.73028, 125.09889), (14.6488, 121.0509)),
        # NCT04368728-168: Kocaeli University (İzmit), registry at a Balıkesir hamlet; the
        # postcode is not in the postal layer.
        ("Kocaeli", "", "41380", "Turkey", (39.62497, 27.51145), (40.822, 29.925)),
        # NCT06158841-148: Salamanca, registry at Madrid's Salamanca district; the postcode is a
        # village of Salamanca province, far from both (so it backs neither).
        ("Salamanca", "", "37711", "Spain", (40.42972, -3.67975), (40.9688, -5.6639)),
        # The site's postcode agrees with our reading and not with the registry's homonym.
        # NCT05514054-501: Showa University Hospital, Shinagawa, Tokyo; registry in Ehime.
        ("Shinagawa", "Tokyo", "142-8555", "Japan", (33.63627, 133.00572), (35.609, 139.7302)),
        # NCT07177352-170: "Późna" (a mangled Poznań), registry at a border village.
        ("Późna", "", "61-731", "Poland", (51.84442, 14.61868), (52.4069, 16.9299)),
        # NCT03395639-038: Erciyes University, Kayseri (state and zip), city field "Edirne".
        ("Edirne", "Kayseri", "38039", "Turkey", (41.67719, 26.55597), (38.6323, 35.8791)),
    ],
)
def test_an_unbacked_registry_homonym_is_replaced_and_flagged(
    checked, city, state, zip_code, country, registry, truth
):
    res = replaced(checked, bare_site(city, state, country, zip_code, registry), truth)
    assert "registry point" in res.note


def test_a_registry_point_outside_its_country_is_replaced(checked):
    # A lost digit: NCT05514054-447, Shamir Medical Center, Zerifin, Israel; the registry's
    # longitude is 4.837 for 34.837 (in the Mediterranean off Algeria).
    res = checked.geocode(bare_site("Zerifin", "HaMerkaz", "Israel", "70300", (31.95857, 4.83723)))
    assert res.geocoder != "registry" and res.needs_review
    assert "every place of Israel" in res.note
    assert distance_km(res.latitude, res.longitude, 31.9586, 34.8372) < 100  # in Israel


@pytest.mark.parametrize(
    ("city", "state", "zip_code", "country", "registry", "truth"),
    [
        # The city name is found nowhere, nothing of that name lies by the registry point, and
        # the postcode lies far from it at a place the site names. NCT06237452-121: Hôpital
        # Paris Saint-Joseph, "Les Paris", zip 75014 (the record's French states are wrong).
        (
            "Les Paris",
            "Auvergne-Rhône-Alpes",
            "75014",
            "France",
            (45.63972, 5.73742),
            (48.829, 2.313),
        ),
        # NCT05305547-154: Green City Medical Center, city "Pampanga" (the province), state
        # "San Fernando" (the city), zip 2000; registry point in Davao.
        ("Pampanga", "San Fernando", "2000", "Philippines", (7.11, 125.64889), (15.0343, 120.6844)),
    ],
)
def test_an_unbacked_registry_point_gives_way_to_the_postcode(
    checked, city, state, zip_code, country, registry, truth
):
    res = replaced(checked, bare_site(city, state, country, zip_code, registry), truth)
    assert f"placed by postcode {zip_code}" in res.note


@pytest.mark.parametrize(
    ("city", "state", "zip_code", "country", "registry"),
    [
        # Counter-examples: right registry points our reading gets wrong, kept.
        # The postcode backs the registry point (our reading took the Chihuahua city).
        # NCT05305547-131: Cuauhtémoc borough, Mexico City.
        ("Cuauhtémoc", "Cdmx,c.p", "06760", "Mexico", (19.44506, -99.14612)),
        # Our reading found no city; the postcode backs the registry. NCT05305547-139.
        ("Korangi", "Karachi", "75190", "Pakistan", (24.8069, 67.14775)),
        # Our reading found no city and there is no known postcode: nothing speaks against the
        # registry. NCT05514054-402 (Néa Kifisiá, Athens) and NCT05629962-232 (Tunis suburb).
        ("Néa Kifisiá", "Attikí", "14564", "Greece", (38.09282, 23.80192)),
        ("Montfleury", "", "1008", "Tunisia", (36.78944, 10.17444)),
    ],
)
def test_a_backed_or_uncontradicted_registry_point_is_kept(
    checked, city, state, zip_code, country, registry
):
    res = checked.geocode(bare_site(city, state, country, zip_code, registry))
    assert res.geocoder == "registry"
    assert (res.latitude, res.longitude) == registry


@pytest.mark.parametrize(
    ("city", "state", "zip_code", "country", "registry"),
    [
        # Our reading is unsure and far (the bigger same-named town, flagged against the
        # postcode) while the registry point sits at the place the postcode names: kept. The
        # evaluation set's "right name, wrong state" cases, asked without their state.
        ("Flushing", "", "11355", "United States", (40.7654, -73.8174)),  # Queens, not Michigan
        ("Kingwood", "", "77339", "United States", (30.0335, -95.2616)),  # Texas, not W. Virginia
        ("York", "", "03909", "United States", (43.1617, -70.6484)),  # Maine, not Pennsylvania
        # ... and asked with their state but no postcode: the registry point's place lies in
        # the state the record names, ours outside it.
        ("Flushing", "New York", "", "United States", (40.7654, -73.8174)),
        ("Kingwood", "Texas", "", "United States", (30.0335, -95.2616)),
        ("Wynnewood", "Pennsylvania", "", "United States", (40.0029, -75.2760)),
    ],
)
def test_a_registry_homonym_the_record_backs_is_kept_over_our_unsure_reading(
    geocoder, checked, city, state, zip_code, country, registry
):
    ours = geocoder.geocode(bare_site(city, state, country, zip_code))
    assert ours.needs_review  # our own reading is unsure...
    assert distance_km(ours.latitude, ours.longitude, *registry) > 100  # ...and elsewhere
    res = checked.geocode(bare_site(city, state, country, zip_code, registry))
    assert res.geocoder == "registry" and (res.latitude, res.longitude) == registry
    assert res.needs_review  # the two readings disagree: a person should look


@pytest.mark.parametrize(
    ("city", "state", "zip_code", "country", "truth"),
    [
        # A site in a territory with an ISO code of its own, filed under the country it belongs
        # to: found in the territory the state names, or the one that has the city.
        ("Bayamón", "Puerto Rico", "00961", "United States", (18.3989, -66.1557)),
        ("Carolina", "Puerto Rico", "00985", "United States", (18.3808, -65.9574)),
        ("Fort-de-France", "", "97200", "France", (14.6037, -61.0742)),
    ],
)
def test_a_site_in_a_territory_filed_under_its_country_is_placed_there(
    geocoder, checked, city, state, zip_code, country, truth
):
    text = geocoder.geocode(bare_site(city, state, country, zip_code))
    assert distance_km(text.latitude, text.longitude, *truth) < 25, text
    assert not text.needs_review
    # the registry's point there is not "outside the country", and is kept
    res = checked.geocode(bare_site(city, state, country, zip_code, truth))
    assert res.geocoder == "registry" and not res.needs_review, res


@pytest.mark.parametrize(
    ("city", "state", "zip_code", "country", "truth"),
    [
        # Text layout: a state field that names no region of the country (a city, a district)
        # cannot contradict the postcode. NCT05305547-153: Ilocos Training and Regional Medical
        # Center, city "La Union" (the province, also a Mindanao town), state "San Fernando".
        ("La Union", "San Fernando", "2500", "Philippines", (16.6159, 120.3166)),
        # NCT05305547-150: Mary Johnston Hospital, Tondo (a Manila district cities500 lacks).
        ("Tondo", "Manila", "1221", "Philippines", (14.603, 120.968)),
    ],
)
def test_a_state_naming_no_region_does_not_overrule_the_postcode(
    geocoder, city, state, zip_code, country, truth
):
    res = geocoder.geocode(bare_site(city, state, country, zip_code))
    assert distance_km(res.latitude, res.longitude, *truth) < 25, res
    assert f"postcode {zip_code}" in res.note
