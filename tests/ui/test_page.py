"""Tests for the Streamlit page, run headless with AppTest (no browser, no network)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from apptest_support import open_page as run_app
from paths import APP, CTGOV_FIXTURES, SEED
from streamlit.testing.v1 import AppTest

from dashboard.ui.map import OFFLINE_MAP_STYLE, STATUS_COLORS

# The first run builds or loads the place index and the site table: be generous.
TIMEOUT_S = 90
MELBOURNE_CITIES = {"Fitzroy", "Heidelberg West", "Richmond"}


def site_rows(at: AppTest) -> pd.DataFrame:
    """The site table as the page shows it (the one table with a facility column)."""
    tables = [d.value for d in at.dataframe if "facility" in d.value.columns]
    assert len(tables) == 1
    return tables[0]


def unescape(markdown: str) -> str:
    """Markdown-escaped text (as the page writes untrusted text) back to plain text."""
    return re.sub(r"\\(.)", r"\1", markdown)


def texts(elements) -> str:
    """Everything a list of message elements says, joined, as plain text."""
    return "\n".join(unescape(str(e.value)) for e in elements)


def other_warnings(at: AppTest) -> list[str]:
    """The page's warnings bar the trial's "not recruiting" banner (always on the seed's page:
    its trial is active, not recruiting)."""
    return [w for w in (unescape(str(e.value)) for e in at.warning) if "not recruiting" not in w]


def test_default_view_shows_every_seed_site_and_the_trial() -> None:
    at = run_app()
    rows = site_rows(at)
    assert len(rows) == 105
    assert at.title[0].value.startswith("Isatuximab in Combination")
    assert any("https://clinicaltrials.gov/study/NCT04270409" in m.value for m in at.markdown)
    assert at.query_params["trial"] == "NCT04270409"
    assert not other_warnings(at)


@pytest.mark.parametrize(
    ("countries", "n_sites"),
    [
        ("France", 9),
        (["France", "Italy"], 14),
        # a lower-case name typed into a link still finds the record's spelling
        ("france", 9),
    ],
)
def test_country_link_shows_that_countrys_sites(countries, n_sites: int) -> None:
    at = run_app(country=countries)
    rows = site_rows(at)
    assert len(rows) == n_sites
    wanted = {countries.title()} if isinstance(countries, str) else set(countries)
    assert set(rows["country"]) == wanted
    # the URL keeps the filter (spelt as in the record)
    kept = at.query_params["country"]
    assert set([kept] if isinstance(kept, str) else kept) == wanted


@pytest.mark.parametrize(
    ("radius", "units"),
    [
        ("50", "km"),
        # 31 mi is 49.9 km: the same three sites, distances shown in miles
        ("31", "mi"),
    ],
)
def test_near_melbourne_lists_the_three_melbourne_sites_nearest_first(radius, units) -> None:
    at = run_app(near="Melbourne, Australia", radius=radius, units=units)
    rows = site_rows(at)
    assert set(rows["city"]) == MELBOURNE_CITIES
    distance = f"distance ({units})"
    assert distance in rows.columns
    assert rows[distance].is_monotonic_increasing
    assert rows[distance].max() <= float(radius)
    assert at.query_params["near"] == "Melbourne, Australia"
    assert at.query_params["radius"] == radius
    assert at.query_params["units"] == units
    assert not other_warnings(at)


def test_near_without_radius_sorts_every_site_by_distance() -> None:
    at = run_app(near="Melbourne, Australia")
    rows = site_rows(at)
    assert len(rows) == 105
    assert set(rows["city"].iloc[:3]) == MELBOURNE_CITIES


def test_coordinates_work_as_a_place() -> None:
    at = run_app(near="-37.81, 144.96", radius="50")
    assert set(site_rows(at)["city"]) == MELBOURNE_CITIES


def test_widgets_change_the_view_and_the_link() -> None:
    at = run_app()
    at.multiselect(key="country").set_value(["Italy"]).run()
    assert not at.exception
    assert len(site_rows(at)) == 5
    assert at.query_params["country"] == "Italy"

    at.text_input(key="near").set_value("Melbourne, Australia")
    at.multiselect(key="country").set_value([])
    at.selectbox(key="radius").set_value("50")
    at.run()
    assert not at.exception
    assert set(site_rows(at)["city"]) == MELBOURNE_CITIES
    assert "country" not in at.query_params
    assert at.query_params["near"] == "Melbourne, Australia"
    assert at.query_params["radius"] == "50"

    at.radio(key="units").set_value("mi").run()
    assert not at.exception
    # 50 miles reaches a little further, but no other site is that close to Melbourne
    assert "distance (mi)" in site_rows(at).columns
    assert at.query_params["units"] == "mi"


def test_unknown_place_says_so() -> None:
    at = run_app(near="Qwxyzzy Nowhereville")
    assert "Could not find the place" in texts(at.warning)
    assert len(site_rows(at)) == 105  # the rest of the view still works


@pytest.mark.parametrize(
    ("params", "phrase"),
    [
        ({"country": ["Atlantis", "France"]}, "Atlantis"),
        ({"radius": "-4", "near": "Lyon, France"}, "radius"),
        ({"trial": "NCT99999999"}, "NCT99999999"),
        ({"units": "parsecs"}, "parsecs"),
    ],
)
def test_bad_link_values_are_ignored_with_a_warning(params, phrase: str) -> None:
    at = run_app(**params)
    assert phrase in texts(at.warning)
    assert len(site_rows(at)) > 0


def test_unknown_country_keeps_the_known_ones() -> None:
    at = run_app(country=["Atlantis", "France"])
    assert len(site_rows(at)) == 9


def test_picking_a_site_shows_its_details() -> None:
    at = run_app(country="France")
    picker = at.selectbox(key="site")
    assert len(picker.options) == 9
    facility = picker.options[0].split(" — ")[0]
    picker.select_index(0).run()
    assert not at.exception
    shown = [unescape(s.value) for s in at.subheader]
    assert facility in shown
    labels = [label for d in at.dataframe for label in d.value.iloc[:, 0].astype(str)]
    assert "Address" in labels and "Located as" in labels


def test_the_map_is_offline_with_sites_and_outlines() -> None:
    at = run_app(country="France")
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.json)
    ids = [layer["id"] for layer in spec["layers"]]
    # outlines, the names of France's big cities (offline, from static/places.json), sites
    assert ids == ["countries", "places", "sites"]
    assert len(spec["layers"][-1]["data"]) == 9
    # a blank style inline (a data: URL): nothing fetched, and Streamlit draws its + / - buttons
    assert spec["mapStyle"] == OFFLINE_MAP_STYLE and spec["mapStyle"].startswith("data:")
    assert json.loads(charts[0].proto.tooltip) == {"text": "{tip}"}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.txt", b"this is not a trial record\n"),
        # binary data that happens to have a .txt name
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("broken.json", b'{"protocolSection": '),
    ],
)
def test_bad_upload_shows_one_error_line(name: str, content: bytes) -> None:
    at = run_app()
    at.file_uploader(key="upload").set_value((name, content, "text/plain")).run()
    assert not at.exception
    assert len(at.sidebar.error) == 1
    message = unescape(at.sidebar.error[0].value)
    assert message.startswith(name) and "\n" not in message
    assert len(site_rows(at)) == 105  # the picked trial is still shown


def test_upload_of_a_record_shows_it_at_once() -> None:
    at = run_app()
    data = SEED.read_bytes().replace(
        b"Isatuximab in Combination", b"Uploaded copy of Isatuximab in Combination", 1
    )
    at.file_uploader(key="upload").set_value(("copy.txt", data, "text/plain")).run()
    assert not at.exception
    assert not at.sidebar.error
    assert at.title[0].value.startswith("Uploaded copy of")
    assert len(site_rows(at)) == 105


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data/ with the seed and two registry JSON records, so the picker has a choice."""
    shutil.copy(SEED, tmp_path / SEED.name)
    shutil.copy(CTGOV_FIXTURES / "NCT06171568.json", tmp_path / "NCT06171568.json")
    # registry JSON with site statuses, so the status filter has something to offer
    shutil.copy(CTGOV_FIXTURES / "NCT06323538.json", tmp_path / "NCT06323538.json")
    monkeypatch.setenv("TRIAL_SITES_DATA", str(tmp_path))
    return tmp_path


def test_trial_picker_switches_trials_and_the_link(data_dir: Path) -> None:
    at = run_app()
    picker = at.selectbox(key="trial")
    assert set(picker.options) >= {"NCT04270409", "NCT06171568"}
    picker.set_value("NCT06171568").run()
    assert not at.exception
    assert at.query_params["trial"] == "NCT06171568"
    assert len(site_rows(at)) != 105


def test_trial_link_opens_that_trial(data_dir: Path) -> None:
    at = run_app(trial="NCT06171568")
    assert at.selectbox(key="trial").value == "NCT06171568"
    assert not at.warning


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("Overview", "**Conditions**"),
        ("Design & arms", "**Arms**"),
        ("Eligibility", "**Inclusion criteria**"),
        ("Sponsor & identifiers", "**Identifiers**"),
    ],
)
def test_each_panel_tab_shows_its_content(tab: str, expected: str) -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.session_state["panel"] = tab  # the tab a person clicked (only the open one runs)
    at.run()
    assert not at.exception
    assert any(expected in m.value for m in at.markdown)


def test_sites_per_country_tab_draws_a_bar_chart() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.session_state["panel"] = "Sites per country"
    at.run()
    assert not at.exception
    charts = at.get("vega_lite_chart")  # the map's legend, and the bars
    assert len([c for c in charts if '"bar"' in c.proto.spec]) == 1


def test_site_details_list_its_contacts(data_dir: Path) -> None:
    at = run_app(trial="NCT06171568")
    at.selectbox(key="site").select_index(0).run()
    assert not at.exception
    # the site's contacts as lines with links to call or write (no wide table on a phone)
    lines = [m.value for m in at.markdown if m.value.startswith("Contact: ")]
    assert len(lines) == 1
    assert "](tel:" in lines[0] or "](mailto:" in lines[0]
    # how the point was found stays with the details, under its own expander
    assert "How this site was placed" in [e.label for e in at.expander]


def test_status_filter_from_a_link_and_markers_coloured_by_status(data_dir: Path) -> None:
    at = run_app(trial="NCT06323538")
    statuses = at.multiselect(key="status").options
    assert "Recruiting" in statuses  # plain words; the link keeps the registry's code
    everything = len(site_rows(at))
    at = run_app(trial="NCT06323538", status="RECRUITING")
    rows = site_rows(at)
    assert 0 < len(rows) <= everything
    assert set(rows["status"]) == {"Recruiting"}
    assert at.query_params["status"] == "RECRUITING"
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    sites = next(layer for layer in spec["layers"] if layer["id"] == "sites")
    assert {tuple(p["color"]) for p in sites["data"]} == {tuple(STATUS_COLORS["RECRUITING"])}


def test_online_basemap_is_off_by_default_and_a_toggle_away() -> None:
    at = run_app()
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert spec.get("mapProvider") is None
    at.toggle(key="basemap").set_value(True).run()
    assert not at.exception
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert spec["mapProvider"] == "carto"
    assert "cartocdn" in spec["mapStyle"]
