"""The hostile record in a real browser: its HTML and links show as text and nothing runs.

`streamlit run` serves a data dir holding only tests/fixtures/hostile/NCT99999999.txt, whose
text tries to set `window.__pwned` through `<img onerror>`, `<script>`, Markdown links and
`javascript:` URLs. Chromium opens the page, every tab, and hovers each map marker (deck.gl
tooltips); `window.__pwned` must stay undefined and the payloads must be readable as text.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS
from paths import ARTIFACTS, HOSTILE

pytestmark = pytest.mark.browser

PAGE_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1400, "height": 1100}
MARKER_MIN_SATURATION = 60  # marker fills are saturated; land, sea and borders are grey
CLUSTER_PX = 12
IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=1</script>"
MD_LINK = "[click here](javascript:window.__pwned=1)"

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, serve_app) -> str:
    """`streamlit run` on a data dir with only the hostile record; its URL."""
    data = tmp_path_factory.mktemp("hostile-data")
    shutil.copy(HOSTILE, data / HOSTILE.name)
    return serve_app(data)


@pytest.fixture(scope="module")
def page(server: str):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        pg = context.new_page()
        pg.set_default_timeout(PAGE_TIMEOUT_MS)
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.goto(server)
        wait_idle(pg)
        pg.wait_for_selector("[data-testid='stDeckGlJsonChart'] canvas")
        pg.wait_for_timeout(1500)  # deck.gl draws on the next animation frames
        yield pg
        browser.close()


def wait_idle(page) -> None:
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMetricValue\"]')"
    )


def pwned(page) -> bool:
    return page.evaluate("() => typeof window.__pwned !== 'undefined'")


def marker_centres(page) -> tuple[list[tuple[float, float]], dict]:
    """Centres of the marker clusters on the map (page coordinates), and the map's box."""
    from PIL import Image

    chart = page.locator("[data-testid='stDeckGlJsonChart']").first
    chart.scroll_into_view_if_needed()  # an earlier test may have scrolled to the tabs
    page.wait_for_timeout(500)
    box = chart.bounding_box()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "hostile-map.png"
    page.screenshot(path=str(path), clip=box)
    img = Image.open(path).convert("RGB")
    px = img.load()
    points = [
        (x, y)
        for y in range(0, img.size[1], 2)
        for x in range(0, img.size[0], 2)
        if max(px[x, y]) - min(px[x, y]) >= MARKER_MIN_SATURATION
    ]
    centres: list[tuple[float, float]] = []
    while points:
        x0, y0 = points[0]
        cluster = [
            (x, y) for x, y in points if abs(x - x0) <= CLUSTER_PX and abs(y - y0) <= CLUSTER_PX
        ]
        points = [p for p in points if p not in cluster]
        cx = sum(p[0] for p in cluster) / len(cluster)
        cy = sum(p[1] for p in cluster) / len(cluster)
        centres.append((box["x"] + cx, box["y"] + cy))
    return centres, box


def test_page_shows_hostile_text_literally_and_runs_none_of_it(page) -> None:
    # the title, as text: the <img> tag and the Markdown link are characters on screen (the
    # page shows it cut short; the full title is one tap away, under "Full title")
    page.get_by_role("button", name="Full title").click()
    title = page.locator("[data-testid='stPopoverBody']").inner_text()
    page.keyboard.press("Escape")
    assert IMG in title and SCRIPT in title and MD_LINK in title, title
    # nothing in the page became an element or a link
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert not pwned(page)


def test_every_tab_renders_without_running_anything(page) -> None:
    for tab in page.get_by_role("tab").all():
        tab.click()
        page.wait_for_timeout(300)
    page.get_by_role("tab", name="Eligibility").click()
    page.get_by_text(f"Adults {IMG}", exact=False).first.wait_for()
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert not pwned(page)


def test_marker_tooltips_show_the_text_and_run_none_of_it(page) -> None:
    centres, _ = marker_centres(page)
    assert centres, "no marker on the map"
    tips: list[str] = []
    for x, y in centres:
        page.mouse.move(x - 20, y - 20)  # deck.gl picks on pointer moves: arrive, don't jump
        page.mouse.move(x, y, steps=5)
        page.wait_for_timeout(400)
        tooltip = page.locator(".deck-tooltip")
        if tooltip.count() and tooltip.first.is_visible():
            tips.append(tooltip.first.inner_text())
            # text, not markup: the tooltip holds no element made from the record
            assert tooltip.first.locator("img, script, a").count() == 0
            if IMG in tips[-1]:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "hostile-tooltip.png"))
    assert any(IMG in t for t in tips), tips
    assert not pwned(page)
    assert page.dialogs == []


def test_screenshot_of_the_hostile_page(page) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("h1").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "hostile-title.png"))
    page.get_by_role("tab", name="Design & arms").click()
    page.get_by_role("tab", name="Design & arms").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "hostile-arms.png"))
    assert not pwned(page)
