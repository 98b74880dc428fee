"""How heavy is the dashboard next to the plainest app that draws the same sites?

(a) Rerun time after a filter change: the dashboard vs a minimal Streamlit app that draws as
    many points with one pydeck ScatterplotLayer and one table, both driven by AppTest in this
    run (median of several reruns each). Both flip the same country filter (France, then every
    country); the dashboard has a place search active ("Lyon, France" at any distance, so every
    site in view gets a distance, a tooltip line and a rank, and the answer line and five
    nearest-site cards are drawn), and each of its runs is checked to show that answer.
    Target: ratio <= 1.5 (it was <= 2 before the portfolio work). Printed too: the same place
    at the radius the page starts a typed place with (200 km), and the dashboard without a
    place search.
(b) Peak memory (ru_maxrss) of a process that runs each app the same way, each in its own
    subprocess. Target: ratio <= 1.5.

Run: `.venv/bin/python bench/bench_app.py` (or `make bench`, which runs every bench script).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
TABLE = ROOT / "data" / "NCT04270409.sites.csv"
RERUNS = 40
WARMUP_RUNS = 3
TIMEOUT_S = 120
FILTER_A = ["France"]
FILTER_B: list[str] = []  # every country
NEAR = "Lyon, France"
ANY_DISTANCE = "Any distance"
ANSWER = "Nearest site"
TIME_TARGET = 1.5
MEMORY_TARGET = 1.5

# The baseline: the same table, a country filter, one pydeck layer and a table. Nothing else.
MINIMAL_APP = """
import pandas as pd
import pydeck as pdk
import streamlit as st

@st.cache_data
def load(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])

table = load({table!r})
countries = sorted(table["country"].unique())
chosen = st.sidebar.multiselect("Country", countries, key="country")
view = table[table["country"].isin(chosen)] if chosen else table
points = view[["facility", "city", "country", "latitude", "longitude"]].dropna()
layer = pdk.Layer(
    "ScatterplotLayer",
    id="sites",
    data=points.to_dict(orient="records"),
    get_position="[longitude, latitude]",
    get_fill_color=[200, 30, 0, 200],
    get_radius=6,
    radius_units=pdk.types.String("pixels"),
    pickable=True,
)
st.pydeck_chart(
    pdk.Deck(layers=[layer], map_provider=None, tooltip={{"text": "{{facility}}"}}),
    on_select="rerun",
    key="site_map",
)
st.dataframe(view[["facility", "city", "state", "country"]])
"""


def make_app(kind: str) -> AppTest:
    """An AppTest for the dashboard ("app") or the minimal baseline ("minimal")."""
    if kind == "app":
        return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    return AppTest.from_string(MINIMAL_APP.format(table=str(TABLE)), default_timeout=TIMEOUT_S)


def started_app(kind: str, near: str = "", any_distance: bool = True) -> AppTest:
    """An app that has run, with the dashboard's place search typed (`near`; at any distance,
    or at the radius the page starts with) and the filter flipped a few times (warm-up)."""
    at = make_app(kind)
    at.run()
    if near:
        at.text_input(key="near").set_value(near)
        at.run()
        if any_distance:
            at.selectbox(key="radius").set_value(ANY_DISTANCE)
            at.run()
    for i in range(WARMUP_RUNS):
        timed_rerun(at, i, near)
    return at


def timed_rerun(at: AppTest, i: int, near: str = "") -> float:
    """Seconds of one rerun after flipping the country filter (France on even `i`, else
    every country); checks the run went well and, with `near`, that it shows the answer."""
    at.multiselect(key="country").set_value(FILTER_A if i % 2 == 0 else FILTER_B)
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"the app raised: {at.exception}")
    if near and not any(ANSWER in h.value for h in at.subheader):
        raise RuntimeError(f"the place search {near!r} is not active: no answer line")
    return elapsed


def rerun_times(reruns: int) -> dict[str, list[float]]:
    """Seconds per rerun of each app: the minimal one, the dashboard with a place search (at
    any distance, and at the page's starting radius) and without. The apps take turns rerun
    by rerun (the order rotating), so background load on a shared machine hits them alike."""
    apps = {
        "minimal": (started_app("minimal"), ""),
        "app": (started_app("app", NEAR), NEAR),
        "radius": (started_app("app", NEAR, any_distance=False), NEAR),
        "plain": (started_app("app"), ""),
    }
    times: dict[str, list[float]] = {name: [] for name in apps}
    names = list(apps)
    for i in range(reruns):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            at, near = apps[name]
            times[name].append(timed_rerun(at, i, near))
    return times


def peak_rss_mb(kind: str) -> float:
    """Peak resident memory of a fresh process that loads and reruns one app, in MB."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def child(kind: str) -> None:
    """In a subprocess: run the app as the timing bench does, then print peak RSS (JSON).
    "app-near" types the place search, which loads the place index (shared by a server's
    sessions)."""
    near = NEAR if kind == "app-near" else ""
    at = started_app("app" if kind.startswith("app") else kind, near)
    for i in range(3):
        timed_rerun(at, i, near)
    # Linux reports ru_maxrss in kB.
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    """Measure both apps and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["app", "app-near", "minimal"], help=argparse.SUPPRESS)
    parser.add_argument("--reruns", type=int, default=RERUNS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    # Memory first: Linux carries ru_maxrss across fork and exec, so a child started after
    # this process has loaded Streamlit would report this process's peak, not its own.
    app_mem, base_mem = peak_rss_mb("app"), peak_rss_mb("minimal")
    near_mem = peak_rss_mb("app-near")
    ratio_m = app_mem / base_mem

    sys.path.insert(0, str(ROOT))
    times = rerun_times(args.reruns)
    base_med = statistics.median(times["minimal"])
    app_med = statistics.median(times["app"])
    plain_med = statistics.median(times["plain"])
    radius_med = statistics.median(times["radius"])
    ratio_t = app_med / base_med

    print(f"(a) rerun after a filter change, median of {len(times['app'])} (AppTest, same run)")
    print(f"    minimal pydeck + table app : {base_med * 1000:8.1f} ms")
    print(f"    dashboard, place searched  : {app_med * 1000:8.1f} ms  ({NEAR!r}, any distance)")
    verdict = "ok" if ratio_t <= TIME_TARGET else "over target"
    print(f"    ratio {ratio_t:.2f}x (target <= {TIME_TARGET}x: {verdict})")
    radius_ratio = radius_med / base_med
    verdict = "ok" if radius_ratio <= TIME_TARGET else "over target"
    radius_ms = radius_med * 1000
    print(f"    dashboard, place in 200 km : {radius_ms:8.1f} ms  ({radius_ratio:.2f}x: {verdict})")
    plain_ratio = plain_med / base_med
    print(f"    dashboard, no place        : {plain_med * 1000:8.1f} ms  ({plain_ratio:.2f}x)")
    print("(b) peak memory of a process running the app (ru_maxrss)")
    print(f"    minimal pydeck + table app : {base_mem:8.1f} MB")
    print(f"    dashboard                  : {app_mem:8.1f} MB")
    verdict = "ok" if ratio_m <= MEMORY_TARGET else "over target"
    print(f"    ratio {ratio_m:.2f}x (target <= {MEMORY_TARGET}x: {verdict})")
    print(
        f"    dashboard, place searched  : {near_mem:8.1f} MB  ({near_mem / base_mem:.2f}x; the "
        "place index is loaded once per server)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
