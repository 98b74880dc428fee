"""How heavy is the dashboard next to the plainest app that draws the same sites?

(a) Rerun time after a filter change: the dashboard vs a minimal Streamlit app that draws as
    many points with one pydeck ScatterplotLayer and one table, both driven by AppTest in this
    run (median of several reruns each). Target: ratio <= 2.
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

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
TABLE = ROOT / "data" / "NCT04270409.sites.csv"
RERUNS = 9
WARMUP_RUNS = 2
TIMEOUT_S = 120
FILTER_A = ["France"]
FILTER_B: list[str] = []  # every country
TIME_TARGET = 2.0
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


def make_app(kind: str):
    """An AppTest for the dashboard ("app") or the minimal baseline ("minimal")."""
    from streamlit.testing.v1 import AppTest

    if kind == "app":
        return AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    return AppTest.from_string(MINIMAL_APP.format(table=str(TABLE)), default_timeout=TIMEOUT_S)


def rerun_times(kind: str, reruns: int = RERUNS) -> list[float]:
    """Seconds per rerun after flipping the country filter, after warm-up runs."""
    at = make_app(kind)
    at.run()
    timings = []
    for i in range(WARMUP_RUNS + reruns):
        at.multiselect(key="country").set_value(FILTER_A if i % 2 == 0 else FILTER_B)
        start = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - start
        if at.exception:
            raise RuntimeError(f"{kind} raised: {at.exception}")
        if i >= WARMUP_RUNS:
            timings.append(elapsed)
    return timings


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
    """In a subprocess: run the app as the timing bench does, then print peak RSS (JSON)."""
    rerun_times(kind, reruns=3)
    # Linux reports ru_maxrss in kB.
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    """Measure both apps and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["app", "minimal"], help=argparse.SUPPRESS)
    parser.add_argument("--reruns", type=int, default=RERUNS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    # Memory first: Linux carries ru_maxrss across fork and exec, so a child started after
    # this process has loaded Streamlit would report this process's peak, not its own.
    app_mem, base_mem = peak_rss_mb("app"), peak_rss_mb("minimal")
    ratio_m = app_mem / base_mem

    sys.path.insert(0, str(ROOT))
    # Interleave the two so background load on a shared machine hits both alike.
    app_t: list[float] = []
    base_t: list[float] = []
    for _ in range(2):
        base_t += rerun_times("minimal", args.reruns)
        app_t += rerun_times("app", args.reruns)
    app_med, base_med = statistics.median(app_t), statistics.median(base_t)
    ratio_t = app_med / base_med

    print(f"(a) rerun after a filter change, median of {len(app_t)} (AppTest, same run)")
    print(f"    minimal pydeck + table app : {base_med * 1000:8.1f} ms")
    print(f"    dashboard                  : {app_med * 1000:8.1f} ms")
    verdict = "ok" if ratio_t <= TIME_TARGET else "over target"
    print(f"    ratio {ratio_t:.2f}x (target <= {TIME_TARGET}x: {verdict})")
    print("(b) peak memory of a process running the app (ru_maxrss)")
    print(f"    minimal pydeck + table app : {base_mem:8.1f} MB")
    print(f"    dashboard                  : {app_mem:8.1f} MB")
    verdict = "ok" if ratio_m <= MEMORY_TARGET else "over target"
    print(f"    ratio {ratio_m:.2f}x (target <= {MEMORY_TARGET}x: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
