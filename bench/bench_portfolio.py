"""The portfolio at registry scale: 200,000 studies and 1,000,000 sites on one machine.

Measured in this run, each beside a baseline measured in the same run:

(a) Build: `python -m dashboard build PORTFOLIO.zip` (the registry's bulk-download shape, made
    by `bench/synth_portfolio.py`: synthetic studies placed by population with real
    hospital-city skew, plus the real records of the evaluation set), geocoding every distinct
    place, in a fresh process. Baseline: `json.load` of GeoNames cities500 (the least a program
    using that data must do). Target: <= 10 minutes on 2 cores.
(b) Rerun: the server-side work of one rerun of the "All trials" view after a filter change or
    a place search (the place lookup, the store's queries, the deck built and serialised), over
    a mix of eight views, with the store loaded in memory. Baseline: the same filters done as
    a pandas pass over the same sites in memory (what the store replaces). Targets: <= 150 ms
    at 1,000,000 sites, <= 60 ms at 100,000 (a 10% sample of the studies).
(c) Deck: the most JSON any view in the mix sends to the browser. Target: <= 2 MB.
(d) Memory: the peak resident memory of a process that loads the store and answers the mix
    through the real page (AppTest, `?view=all`), beside the same process answering the seed
    trial's view. Target: <= 1.5 GB. AppTest's own rerun time is printed too.

Run: `.venv/bin/python bench/bench_portfolio.py` (generates the portfolio in
`~/.cache/trial-sites/bench/` on first use: ~1 GB of disk with the store, several minutes).
`--studies 20000 --sites 100000` runs a smaller version.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUILD_TARGET_S = 600.0
RERUN_TARGET_MS = {1_000_000: 150.0, 100_000: 60.0}
DECK_TARGET_BYTES = 2_000_000
MEMORY_TARGET_BYTES = 1.5 * 1024**3
REPEATS = 5

# The views of the mix: filters as a link gives them (see dashboard/ui/portfolio_view.py).
MIX: list[dict[str, object]] = [
    {},
    {"pstatus": ["RECRUITING"]},
    {"cond": "breast cancer"},
    {"pcountry": ["US"], "pstatus": ["RECRUITING"]},
    {"phase": ["PHASE3"], "cond": "myeloma"},
    {"near": "02115", "radius": "50", "units": "mi"},
    {"near": "Lyon France", "radius": "100", "units": "km", "pstatus": ["RECRUITING"]},
    {"near": "60611", "radius": "20", "units": "mi", "cond": "cancer"},
]


def _cache() -> Path:
    from dashboard.places.index import cache_dir

    return cache_dir() / "bench"


def _ensure_portfolio(path: Path, studies: int, sites: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"generating {path} ({studies:,} studies, ~{sites:,} sites)...", flush=True)
    tmp = path.with_suffix(".part.zip")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "synth_portfolio.py"),
            str(tmp),
            "--studies",
            str(studies),
            "--sites",
            str(sites),
        ],
        cwd=ROOT,
        check=True,
    )
    tmp.rename(path)


def _baseline_load_s() -> float:
    code = (
        "import json, time\n"
        "from dashboard.places.index_build import cities_json_path\n"
        "p = cities_json_path()\n"
        "t = time.perf_counter()\n"
        "json.load(open(p, encoding='utf-8'))\n"
        "print(time.perf_counter() - t)\n"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        for _ in range(3)
    ]
    return statistics.median(runs)


def _build(zip_path: Path, store: Path) -> tuple[float, int]:
    """Seconds and peak RSS of a fresh `build` of the store from the zip."""
    if store.exists():
        store.unlink()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "build",
            str(zip_path),
            "--store",
            str(store),
            "--quiet",
        ],
        cwd=ROOT,
        check=True,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) * 1024


def _pandas_view(sites, trials, params: dict, origin) -> int:  # noqa: ANN001
    """The baseline: the same filter as a pandas pass over every site (what the store replaces)."""
    import numpy as np

    from dashboard.geo import distances_km
    from dashboard.ui.portfolio_view import parse_portfolio_params

    f, _, _ = parse_portfolio_params(params)
    keep = np.ones(len(sites), dtype=bool)
    t = trials
    if f.condition:
        tk = np.ones(len(t), dtype=bool)
        for word in f.condition.lower().split():
            tk &= t["search_text"].str.contains(word, regex=False).to_numpy()
        t = t[tk]
    if f.statuses:
        t = t[t["status"].isin(f.statuses)]
    if f.phases:
        t = t[t["phases"].map(lambda p: any(x in f.phases for x in p))]
    if len(t) != len(trials):
        keep &= sites["nct_id"].isin(t["nct_id"]).to_numpy()
    if f.countries:
        keep &= sites["country_code"].isin(f.countries).to_numpy()
    view = sites[keep]
    if origin is not None:
        d = distances_km(
            origin.latitude,
            origin.longitude,
            view["latitude"].to_numpy(),
            view["longitude"].to_numpy(),
        )
        if f.radius_km is not None:
            view = view[d <= f.radius_km]
        view.groupby("nct_id").size()
    view.groupby("country_code").agg(n=("nct_id", "size"), trials=("nct_id", "nunique"))
    return len(view)


def _rerun_mix(con, label: str, n_sites: int) -> dict[str, float]:  # noqa: ANN001
    """Time the mix through the store's queries and through the pandas baseline."""
    from dashboard.geocoding.place_search import search_places
    from dashboard.places.index import load_gazetteer
    from dashboard.portfolio.query import Origin, portfolio_view
    from dashboard.ui.portfolio_view import deck_bytes, parse_portfolio_params, portfolio_deck

    g = load_gazetteer()
    sites = con.execute("SELECT nct_id, country_code, latitude, longitude, status FROM sites").df()
    trials = con.execute("SELECT nct_id, status, phases, search_text FROM trials").df()
    store_ms: list[float] = []  # the whole rerun: place lookup, queries, deck as JSON
    query_ms: list[float] = []  # the store's queries alone
    pandas_ms: list[float] = []
    biggest = 0
    for params in MIX:
        for _ in range(REPEATS):
            start = time.perf_counter()
            f, _, _ = parse_portfolio_params(params)
            origin = None
            if f.near:
                best = search_places(f.near, g, ("US", "FR")).best
                origin = Origin(best.label, best.latitude, best.longitude)
            queried = time.perf_counter()
            view = portfolio_view(con, f, origin)
            query_ms.append((time.perf_counter() - queried) * 1000)
            size = deck_bytes(portfolio_deck(view, "app/static/countries.json"))
            store_ms.append((time.perf_counter() - start) * 1000)
            biggest = max(biggest, size)
            start = time.perf_counter()
            _pandas_view(sites, trials, params, origin)
            pandas_ms.append((time.perf_counter() - start) * 1000)
    p50, p95 = statistics.median(store_ms), _p95(store_ms)
    q50, b50 = statistics.median(query_ms), statistics.median(pandas_ms)
    target = RERUN_TARGET_MS.get(n_sites)
    goal = f" (target <= {target:.0f} ms)" if target else ""
    print(
        f"{label}: rerun (place lookup + store queries + deck as JSON) p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms, max {max(store_ms):.0f} ms{goal}"
    )
    print(
        f"{label}: the queries alone p50 {q50:.0f} ms; the same filters as a pandas pass over "
        f"the sites in memory p50 {b50:.0f} ms; ratio store/pandas {q50 / b50:.2f}x"
    )
    print(f"{label}: largest deck sent {biggest / 1e6:.2f} MB (target <= 2 MB)")
    return {"p50": p50, "p95": p95, "pandas_p50": b50, "deck": biggest}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


APPTEST_CHILD = r"""
import json, os, resource, statistics, sys, time
sys.path.insert(0, {root!r})
from streamlit.testing.v1 import AppTest
mix = json.loads({mix!r})
at = AppTest.from_file({app!r}, default_timeout=900)
for k, v in mix[0].items():
    at.query_params[k] = v
if {portfolio!r}:
    at.query_params["view"] = "all"
t = time.perf_counter(); at.run(); first = time.perf_counter() - t
assert not at.exception, at.exception
times = []
if {portfolio!r}:
    for params in mix[1:] * 2:
        at.text_input(key="pf_condition").set_value(params.get("cond", ""))
        at.multiselect(key="pf_status").set_value(params.get("pstatus", []))
        at.text_input(key="pf_near").set_value(params.get("near", ""))
        t = time.perf_counter(); at.run(); times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
else:
    for c in (["France"], [], ["Germany"], []) * 2:
        at.multiselect(key="country").set_value(c)
        t = time.perf_counter(); at.run(); times.append(time.perf_counter() - t)
# VmHWM is this process's own peak (ru_maxrss would carry the parent's across fork and exec).
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({{"first": first, "p50": statistics.median(times),
                   "rss": int(hwm.split()[1]) * 1024}}))
"""


def _apptest(data_dir: Path, portfolio: bool) -> dict[str, float]:
    code = APPTEST_CHILD.format(
        root=str(ROOT),
        mix=json.dumps(MIX),
        app=str(ROOT / "dashboard" / "app.py"),
        portfolio=portfolio,
    )
    env = {**os.environ, "TRIAL_SITES_DATA": str(data_dir)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Build, time the mix at 1M and 100k sites, measure the page's memory; print it all."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200_000)
    parser.add_argument("--sites", type=int, default=1_000_000)
    parser.add_argument("--skip-build", action="store_true", help="reuse the store if present")
    args = parser.parse_args()

    from dashboard.portfolio.store import load_in_memory

    work = _cache() / f"portfolio-{args.studies}-{args.sites}"
    zip_path = work / "data" / "portfolio.zip"
    store = work / "data" / "portfolio.duckdb"
    _ensure_portfolio(zip_path, args.studies, args.sites)
    baseline = _baseline_load_s()
    if not (args.skip_build and store.exists()):
        seconds, peak = _build(zip_path, store)
        print(
            f"build of {zip_path.name} ({zip_path.stat().st_size / 1e6:.0f} MB zip): "
            f"{seconds:.0f} s, peak RSS {peak / 1e6:.0f} MB (target <= {BUILD_TARGET_S:.0f} s)"
        )
        print(f"  baseline json.load(cities500): {baseline:.2f} s; ratio {seconds / baseline:.0f}x")
    con = load_in_memory(store)
    n_trials, n_sites = con.execute(
        "SELECT (SELECT count(*) FROM trials), (SELECT count(*) FROM sites)"
    ).fetchone()
    print(f"store: {n_trials:,} trials, {n_sites:,} sites; {store.stat().st_size / 1e6:.0f} MB")
    _rerun_mix(con, f"{n_sites:,} sites", 1_000_000 if n_sites >= 900_000 else n_sites)
    # 100,000 sites: a sample of the studies (whole studies, so trials keep all their sites).
    con.execute(
        "CREATE TABLE sample AS SELECT tid FROM trials USING SAMPLE 10 PERCENT (reservoir, 7)"
    )
    # Fresh tables (as a store of that size would hold), not deletions: deleted rows would
    # still be scanned.
    for table in ("trials", "sites", "trial_countries"):
        con.execute(
            f"CREATE TABLE {table}_kept AS SELECT * FROM {table} "
            "WHERE tid IN (SELECT tid FROM sample)"
        )
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}_kept RENAME TO {table}")
    small = con.execute("SELECT count(*) FROM sites").fetchone()[0]
    _rerun_mix(con, f"{small:,} sites (10% of studies)", 100_000)
    con.close()

    # The real page, through AppTest, on the store (the app finds it up to date).
    seed_dir = work / "seed-data"
    if not seed_dir.exists():
        seed_dir.mkdir(parents=True)
        for name in ("NCT04270409.txt", "NCT04270409.sites.csv", "overrides.csv"):
            shutil.copy2(ROOT / "data" / name, seed_dir / name)
    page = _apptest(work / "data", True)
    seed = _apptest(seed_dir, False)
    print(
        f"page (AppTest, ?view=all, {n_sites:,} sites): first run {page['first']:.1f} s, "
        f"rerun p50 {page['p50'] * 1000:.0f} ms, peak RSS {page['rss'] / 1e6:.0f} MB "
        f"(target <= {MEMORY_TARGET_BYTES / 1e6:.0f} MB)"
    )
    print(
        f"  seed view in the same harness: rerun p50 {seed['p50'] * 1000:.0f} ms, peak RSS "
        f"{seed['rss'] / 1e6:.0f} MB; memory ratio {page['rss'] / seed['rss']:.2f}x"
    )


if __name__ == "__main__":
    main()
