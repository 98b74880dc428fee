"""The dashboard in a real browser: `streamlit run` on 127.0.0.1 driven by Debian's Chromium.

What only a browser shows: the map canvas (markers and outlines drawn with no network),
clicking a marker, links, the trial picker and an upload. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest
from browser_support import CHROMIUM
from paths import ARTIFACTS, CTGOV_FIXTURES, SEED, SEED_TABLE

pytestmark = pytest.mark.browser

SECOND_RECORD = CTGOV_FIXTURES / "NCT06171568.json"
PAGE_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1400, "height": 1000}
# The offline map's colours (see dashboard.ui.map): land fill, and how far a marker's colour
# must be from land, sea (white) and grey outlines to count as a marker pixel.
LAND_RGB = (236, 234, 226)
MARKER_MIN_SATURATION = 60
MIN_MARKER_PIXELS = 20
MIN_LAND_SHARE = 0.05

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, serve_app) -> str:
    """One `streamlit run` for the module, on a data dir with two records; its URL."""
    data = tmp_path_factory.mktemp("data")
    for src in (SEED, SEED_TABLE, SECOND_RECORD):
        if src.exists():
            shutil.copy(src, data / src.name)
    return serve_app(data)


@pytest.fixture
def page(browser, server: str):
    """A fresh page; records every request that leaves 127.0.0.1."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(PAGE_TIMEOUT_MS)
    pg.outside_requests = []
    pg.on(
        "request",
        lambda r: (
            pg.outside_requests.append(r.url)
            if urlparse(r.url).hostname not in ("127.0.0.1", "localhost", None)
            and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    yield pg
    context.close()


def open_view(page, server: str, **params: str | list[str]) -> None:
    """Open the dashboard at a link and wait until the map has drawn."""
    query = urlencode(params, doseq=True)
    page.goto(f"{server}/?{query}" if query else server)
    wait_idle(page)
    page.wait_for_selector(".stDeckGlJsonChart canvas, [data-testid='stDeckGlJsonChart'] canvas")
    page.wait_for_timeout(1500)  # deck.gl draws on the next animation frames


def wait_idle(page) -> None:
    """Wait for the script run to finish (Streamlit shows a status widget while running)."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMetricValue\"]')"
    )


def shot(page, name: str) -> Path:
    """Save a screenshot as a test artifact and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def map_box(page) -> dict:
    """The map's bounding box on the page."""
    chart = page.locator("[data-testid='stDeckGlJsonChart']").first
    box = chart.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    return box


def map_pixels(page, name: str) -> tuple[object, dict]:
    """A screenshot of just the map (PIL image, RGB) and the map's box on the page."""
    from PIL import Image

    box = map_box(page)
    path = ARTIFACTS / f"{name}-map.png"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), clip=box)
    return Image.open(path).convert("RGB"), box


def marker_points(img) -> list[tuple[int, int]]:
    """Pixels that are saturated colour: marker fills (land, sea and borders are grey)."""
    width, height = img.size
    px = img.load()
    found = []
    for y in range(0, height, 2):
        for x in range(0, width, 2):
            r, g, b = px[x, y]
            if max(r, g, b) - min(r, g, b) >= MARKER_MIN_SATURATION:
                found.append((x, y))
    return found


def land_share(img) -> float:
    """The share of map pixels painted in the land colour (country outlines' fill)."""
    width, height = img.size
    px = img.load()
    total = land = 0
    for y in range(0, height, 4):
        for x in range(0, width, 4):
            total += 1
            if all(abs(c - w) <= 3 for c, w in zip(px[x, y], LAND_RGB, strict=True)):
                land += 1
    return land / total


def sites_shown(page):
    """The "Sites shown" metric (e.g. `14 of 105`), as a locator to wait on."""
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Sites shown")
    return metric.locator("[data-testid='stMetricValue']")


def test_map_draws_markers_and_outlines_with_no_network(page, server: str) -> None:
    open_view(page, server)
    shot(page, "world")
    img, _ = map_pixels(page, "world")
    assert land_share(img) > MIN_LAND_SHARE, "no country outlines drawn"
    assert len(marker_points(img)) > MIN_MARKER_PIXELS, "no site markers drawn"
    assert page.outside_requests == []


def test_clicking_a_marker_shows_its_details(page, server: str) -> None:
    open_view(page, server, country="Italy")
    img, box = map_pixels(page, "italy")
    points = marker_points(img)
    assert points, "no marker to click"
    # click the middle of the first marker found (a small cluster of saturated pixels)
    x0, y0 = points[0]
    cluster = [(x, y) for x, y in points if abs(x - x0) <= 12 and abs(y - y0) <= 12]
    cx = sum(p[0] for p in cluster) / len(cluster)
    cy = sum(p[1] for p in cluster) / len(cluster)
    # hover first, as a person would: deck.gl picks the object under the pointer on move
    page.mouse.move(box["x"] + cx, box["y"] + cy)
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + cx, box["y"] + cy)
    # the clicked site's details appear under its name (an h3 next to the map)
    page.get_by_role("heading", level=3).filter(has_text="Investigational Site").wait_for()
    wait_idle(page)
    shot(page, "italy-site-clicked")


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"country": ["France", "Italy"]}, "14 of 105"),
        ({"near": "Melbourne, Australia", "radius": "50", "units": "km"}, "3 of 105"),
    ],
)
def test_a_link_reproduces_its_view(page, server: str, params: dict, shown: str) -> None:
    open_view(page, server, **params)
    sync_api.expect(sites_shown(page)).to_have_text(shown, timeout=PAGE_TIMEOUT_MS)
    # the URL still carries the view after the page has run
    assert "country=" in page.url or "near=" in page.url
    shot(page, "link-" + "-".join(sorted(params)))


def test_changing_a_filter_updates_the_link(page, server: str) -> None:
    open_view(page, server)
    box = page.locator("input[aria-label^='Find sites near']")
    box.fill("Melbourne, Australia")
    box.press("Enter")
    page.wait_for_url("**near=Melbourne*")
    wait_idle(page)
    # A place typed with no radius starts at the default (200 km), and the page says so.
    page.get_by_text("of Melbourne, Victoria, Australia").first.wait_for()
    assert "near=Melbourne" in page.url


def test_trial_picker_switches_trials(page, server: str) -> None:
    open_view(page, server)
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="NCT06171568").click()
    page.wait_for_url("**trial=NCT06171568*")
    wait_idle(page)
    page.wait_for_function(
        "() => !document.querySelector('h1')?.innerText.startsWith('Isatuximab')"
    )
    shot(page, "picker-second-trial")
    assert "NCT06171568" in page.locator("[data-testid='stMarkdown']").all_inner_texts().__str__()


def test_upload_shows_the_record(page, server: str, tmp_path: Path) -> None:
    record = tmp_path / "uploaded.txt"
    record.write_bytes(
        SEED.read_bytes().replace(b"Isatuximab in Combination", b"Uploaded Isatuximab trial", 1)
    )
    open_view(page, server)
    page.locator("input[type='file']").set_input_files(str(record))
    page.get_by_role("heading", name="Uploaded Isatuximab trial").wait_for()
    wait_idle(page)
    shot(page, "upload")
    assert page.get_by_text("uploaded record").count() >= 1


def test_bad_upload_says_why_in_one_line(page, server: str, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("shopping list: eggs, milk\n")
    open_view(page, server)
    page.locator("input[type='file']").set_input_files(str(bad))
    alert = page.locator("[data-testid='stSidebar'] [data-testid='stAlertContentError']")
    alert.wait_for()
    assert "notes.txt" in alert.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    shot(page, "bad-upload")
