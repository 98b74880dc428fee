"""The "All trials" view in a real browser, on a phone (390x844) and a laptop (1440x900).

A link opens every trial of a data folder (the seed, the second record and five real registry
records) with a search for trials near a ZIP code: the map draws, and the nearest trials are
listed nearest first, each linking to its own view. Screenshots: tests/artifacts/portfolio-*.png.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from browser_support import CHROMIUM
from paths import ARTIFACTS, TESTS

sys.path.insert(0, str(TESTS / "portfolio"))
from portfolio_support import data_folder  # noqa: E402

pytestmark = pytest.mark.browser

PAGE_TIMEOUT_MS = 90_000
SIZES = [
    pytest.param({"width": 390, "height": 844}, id="phone"),
    pytest.param({"width": 1440, "height": 900}, id="laptop"),
]
NEAR_BOSTON = "view=all&near=02115&radius=500&units=mi"
# "1. NCT04270409 · 12 mi · Recruiting" (whole miles; "less than 1 mi" in the same town)
CARD_HEADING = re.compile(r"^\d+\. (NCT\d{8}) · ((?:less than )?[\d,]+) (mi|km) · (.+)$")

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, serve_app) -> str:
    return serve_app(data_folder(tmp_path_factory.mktemp("pf") / "data"))


@pytest.mark.parametrize("viewport", SIZES)
def test_trials_near_a_zip_code_are_mapped_and_listed_nearest_first(
    browser, server: str, viewport: dict
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page.goto(f"{server}/?{NEAR_BOSTON}")
        page.wait_for_selector("[data-testid='stApp']")
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
            " && [...document.querySelectorAll('strong')]"
            ".some(e => e.innerText.startsWith('1. NCT'))"
        )
        canvas = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first
        canvas.wait_for()
        page.wait_for_timeout(1500)  # deck.gl draws on the next animation frames
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 200

        summary = page.get_by_text(re.compile(r"trials? with a site within 500 mi of"))
        assert "Boston" in summary.first.inner_text()
        headings = [
            t.strip() for t in page.locator("strong").all_inner_texts() if CARD_HEADING.match(t)
        ]
        assert len(headings) >= 3
        miles = [
            float(CARD_HEADING.match(h).group(2).replace("less than ", "").replace(",", ""))
            for h in headings
        ]
        assert miles == sorted(miles), headings
        first_link = page.get_by_role("link", name=CARD_HEADING.match(headings[0]).group(1))
        # the trial's own view opens with the same search
        assert first_link.first.get_attribute("href").endswith(
            f"?trial={CARD_HEADING.match(headings[0]).group(1)}&near=02115&units=mi&radius=500"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = f"portfolio-{viewport['width']}x{viewport['height']}"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        canvas.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"{name}-map.png"))
    finally:
        context.close()
