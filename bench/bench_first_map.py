"""How long a visitor waits for the first map: the dashboard vs the minimal pydeck app of
bench_app.py, each served warm by `streamlit run` on 127.0.0.1, opened in headless Chromium.

Each visit is a fresh browser context (an empty cache, as on a first visit); the two apps take
turns, and each server has answered a visit before the timed ones. The time is the browser's
own clock from the start of navigation (performance.now()) to the frame after the deck.gl
canvas exists with a non-zero size, plus one more frame (deck.gl draws on the next one).
Also printed, per app: the bytes the page received over Streamlit's websocket before the map
drew, and how many elements the page had then. Target: ratio <= 1.5.

Run: `.venv/bin/python bench/bench_first_map.py [--visits N] [--near PLACE]` (needs Playwright
and /usr/bin/chromium; `make bench` runs it with the others).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The browser tests' server and Chromium flags, so both apps run exactly as the tests run them.
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
from browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

APP = ROOT / "dashboard" / "app.py"
SEED = ROOT / "data" / "NCT04270409.txt"
SEED_TABLE = ROOT / "data" / "NCT04270409.sites.csv"
VIEWPORT = {"width": 1440, "height": 900}
VISITS = 6
PAGE_TIMEOUT_MS = 90_000
TARGET = 1.5
# The country outlines the dashboard's map fetches once (dashboard/static/countries.json).
OUTLINES = "/app/static/countries.json"
# Resolves with performance.now() two frames later (deck.gl draws on the next frame).
FRAMES_JS = """() => new Promise(resolve =>
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now()))))"""
# Resolves with performance.now() one frame after the deck.gl canvas has a size.
MAP_DRAWN_JS = """() => new Promise(resolve => {
    const check = () => {
        const c = document.querySelector("[data-testid='stDeckGlJsonChart'] canvas");
        if (c && c.width > 0 && c.height > 0) {
            requestAnimationFrame(() => requestAnimationFrame(() => resolve({
                ms: performance.now(),
                elements: document.querySelectorAll("[data-testid='stElementContainer']").length,
            })));
        } else {
            requestAnimationFrame(check);
        }
    };
    check();
})"""


def visit(browser, url: str) -> dict[str, float]:
    """One first visit in a fresh context: ms until the map's canvas drew (`ms`) and until
    its country outlines had arrived too (`full_ms`; the same when it fetches none), the
    websocket bytes received by then, and the number of elements on the page then."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    received = [0]
    outlines = {"asked": False, "done": False}

    def on_socket(ws) -> None:
        ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))

    def on_request(request, key: str) -> None:
        if request.url.endswith(OUTLINES):
            outlines[key] = True

    page.on("websocket", on_socket)
    page.on("request", lambda r: on_request(r, "asked"))
    page.on("requestfinished", lambda r: on_request(r, "done"))
    try:
        page.goto(url, wait_until="commit")
        drawn = page.evaluate(MAP_DRAWN_JS)
        full_ms = drawn["ms"]
        if outlines["asked"]:
            while not outlines["done"]:  # bounded by the page's timeout
                page.wait_for_event("requestfinished", timeout=PAGE_TIMEOUT_MS)
            full_ms = max(full_ms, page.evaluate(FRAMES_JS))
        return {
            "ms": drawn["ms"],
            "full_ms": full_ms,
            "ws_kb": received[0] / 1024,
            "elements": drawn["elements"],
        }
    finally:
        context.close()


def main() -> int:
    """Start both servers, time first visits to each, print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=VISITS)
    parser.add_argument("--near", default="", help="a place for the dashboard's link, e.g. 02115")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is absent (apt-get install chromium)")
        return 0
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_app import MINIMAL_APP

    with tempfile.TemporaryDirectory(prefix="first-map-") as tmp:
        work = Path(tmp)
        data = work / "data"
        data.mkdir()
        for src in (SEED, SEED_TABLE):
            shutil.copy(src, data / src.name)
        minimal = work / "minimal_app.py"
        minimal.write_text(MINIMAL_APP.format(table=str(data / SEED_TABLE.name)), "utf-8")
        query = f"/?near={args.near}" if args.near else "/"
        with (
            streamlit_server(data, APP, work / "app.log") as app_url,
            streamlit_server(data, minimal, work / "minimal.log") as minimal_url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            urls = {"minimal": minimal_url + "/", "dashboard": app_url + query}
            for url in urls.values():
                visit(browser, url)  # warm: the server's caches, the place index
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
            names = list(urls)
            for i in range(args.visits):
                for name in names if i % 2 == 0 else names[::-1]:
                    runs[name].append(visit(browser, urls[name]))
            browser.close()

    med = {name: statistics.median(r["ms"] for r in runs[name]) for name in runs}
    print(f"first map in Chromium, median of {args.visits} fresh visits each (warm servers)")
    for name, label in (("minimal", "minimal pydeck + table app"), ("dashboard", "dashboard")):
        r = runs[name]
        kb = statistics.median(x["ws_kb"] for x in r)
        n = statistics.median(x["elements"] for x in r)
        spread = ", ".join(f"{x['ms'] / 1000:.2f}" for x in r)
        print(
            f"    {label:27s}: {med[name] / 1000:6.2f} s  (runs {spread} s; "
            f"{kb:.0f} kB over the websocket, {n:.0f} elements when the map drew)"
        )
    ratio = med["dashboard"] / med["minimal"]
    verdict = "ok" if ratio <= TARGET else "over target"
    where = f" with ?near={args.near}" if args.near else ""
    print(f"    ratio {ratio:.2f}x{where} (target <= {TARGET}x: {verdict})")
    full = statistics.median(r["full_ms"] for r in runs["dashboard"])
    print(
        f"    dashboard with its country outlines drawn too: {full / 1000:.2f} s "
        f"({full / med['minimal']:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
