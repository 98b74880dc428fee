"""The patient's view in a real browser, on a phone (390x844) and a laptop (1440x900).

"Which site is closest to me, how far, and whom do I call?": after a place search the answer
line is on the first screen without scrolling, each nearest site shows its contacts as
`tel:`/`mailto:` links and a directions link, and axe-core finds no WCAG 2.1 A/AA violation.
Screenshots go to tests/artifacts/patient-*.png.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS
from paths import ARTIFACTS, SECOND, SECOND_TABLE, SEED, SEED_TABLE

pytestmark = pytest.mark.browser

PAGE_TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(LAPTOP, id="laptop")]
NEAR_LYON = "near=Lyon,%20France&radius=200&units=km"
# axe-core (MPL-2.0), vendored with its licence header; AXE_JS points at another copy.
AXE_JS = Path(os.environ.get("AXE_JS") or Path(__file__).parent / "vendor" / "axe.min.js")
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Only deck.gl's own canvas internals may be left out of the audit (none need to be today).
AXE_EXCLUDE: list[list[str]] = []

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, serve_app) -> str:
    """One `streamlit run` for the module: the seed (not recruiting, no contacts) and
    NCT07062965 (site statuses, the study's central contact), with their tables."""
    data = tmp_path_factory.mktemp("data")
    for src in (SEED, SEED_TABLE, SECOND, SECOND_TABLE):
        shutil.copy(src, data / src.name)
    return serve_app(data)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, with background traffic off."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, server: str, query: str, viewport: dict):
    """A fresh page of `viewport`'s size at `?query`, once the script run has finished."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{server}/?{query}")
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMetricValue\"]')"
    )
    page.wait_for_timeout(1500)  # the map and the fonts settle
    return page


def shot(page, name: str) -> Path:
    """Save a screenshot of what the viewport shows."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def answer_line(page):
    """The "Nearest site: ..." heading."""
    return page.get_by_role("heading", name="Nearest site:")


def first_card(page):
    """The first nearest-site card (a bordered container starting "1. ")."""
    return (
        page.locator("[data-testid='stVerticalBlock']")
        .filter(has=page.locator("strong", has_text="1. "))
        .last
    )


def size_name(viewport: dict) -> str:
    return f"{viewport['width']}x{viewport['height']}"


@pytest.mark.parametrize("viewport", SIZES)
def test_the_nearest_site_is_on_the_first_screen(browser, server: str, viewport: dict) -> None:
    page = open_page(browser, server, NEAR_LYON, viewport)
    try:
        line = answer_line(page)
        sync_api.expect(line).to_be_visible()
        assert line.inner_text().startswith("Nearest site: Investigational Site, Grenoble")
        assert "(city centre)" in line.inner_text()
        # nothing was scrolled, and the whole line lies inside the first screen
        scrolled = page.evaluate(
            "() => [window.scrollY, ...[...document.querySelectorAll('section, [data-testid]')]"
            ".map(e => e.scrollTop)].some(v => v > 0)"
        )
        assert not scrolled
        box = line.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
        # the short title, the full one a tap away
        title = page.locator("h1").first.inner_text()
        assert len(title) <= 60 and title.endswith("…")
        assert page.get_by_text("Full title").is_visible()
        shot(page, f"patient-{size_name(viewport)}-first-screen")
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_a_site_shows_whom_to_call_and_how_to_get_there(
    browser, server: str, viewport: dict
) -> None:
    page = open_page(browser, server, f"trial=NCT07062965&{NEAR_LYON}", viewport)
    try:
        card = first_card(page)
        card.scroll_into_view_if_needed()
        sync_api.expect(card).to_contain_text("Hôpital de la Croix-Rousse")
        sync_api.expect(card).to_contain_text("Study contact: Pfizer CT.gov Call Center")
        phone = card.locator("a[href^='tel:']").first
        mail = card.locator("a[href^='mailto:']").first
        route = card.locator("a[href^='https://www.openstreetmap.org/directions']").first
        for link in (phone, mail, route):
            sync_api.expect(link).to_be_visible()
        assert phone.get_attribute("href") == "tel:18007181021"
        assert phone.inner_text() == "1-800-718-1021"
        assert mail.get_attribute("href") == "mailto:ClinicalTrials.gov_Inquiries@pfizer.com"
        href = route.get_attribute("href") or ""
        assert urlparse(href).query.startswith("engine=fossgis_osrm_car&route=45.74906%2C4.84789")
        # statuses in plain words, and no raw code anywhere on the page
        sync_api.expect(card).to_contain_text("Not yet recruiting")
        body = page.locator("[data-testid='stMain']").inner_text()
        assert "NOT_YET_RECRUITING" not in body and "RECRUITING" not in body
        assert page.locator("a[href^='javascript']").count() == 0
        page.wait_for_timeout(300)
        shot(page, f"patient-{size_name(viewport)}-contacts")
    finally:
        page.context.close()


def test_site_details_give_next_steps_and_keep_the_placement_for_staff(
    browser, server: str
) -> None:
    page = open_page(browser, server, f"trial=NCT07062965&{NEAR_LYON}", LAPTOP)
    try:
        picker = page.get_by_role("combobox", name="Site", exact=True)
        picker.click()
        picker.fill("Croix-Rousse")  # the list filters as one types
        page.get_by_role("option", name="Hôpital de la Croix-Rousse").first.click()
        heading = page.get_by_role(
            "heading", level=3, name="Hôpital de la Croix-Rousse", exact=True
        )
        heading.wait_for()
        details = page.locator("[data-testid='stColumn']").filter(has=heading)
        sync_api.expect(details.locator("a[href='tel:18007181021']")).to_be_visible()
        expander = details.locator("[data-testid='stExpander']")
        sync_api.expect(expander).to_contain_text("How this site was placed")
        expander.get_by_text("How this site was placed").click()
        sync_api.expect(expander.locator("[data-testid='stDataFrame']")).to_be_visible()
        details.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        shot(page, f"patient-{size_name(LAPTOP)}-site-details")
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_axe_finds_no_wcag_21_aa_violation(browser, server: str, viewport: dict) -> None:
    assert AXE_JS.is_file(), f"axe-core not found at {AXE_JS} (set AXE_JS)"
    page = open_page(browser, server, NEAR_LYON, viewport)
    try:
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
        result = page.evaluate(
            """async ([tags, exclude]) => {
                const r = await axe.run({exclude: exclude}, {runOnly: {type: 'tag', values: tags}});
                return {
                    version: axe.version,
                    violations: r.violations.map(v => ({
                        id: v.id,
                        impact: v.impact,
                        nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary),
                    })),
                };
            }""",
            [WCAG_21_AA, AXE_EXCLUDE],
        )
        assert result["version"].startswith("4.")
        assert result["violations"] == [], json.dumps(result["violations"], indent=1)
    finally:
        page.context.close()
