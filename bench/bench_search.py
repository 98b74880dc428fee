"""How fast the "near" box answers: `search_places` on a realistic mix of entries, once the
place index is loaded, next to the time of loading that index (same run, same process).

Every entry is asked once in turn (its first time: nothing of it is cached; the first
misspelled name in a country also lists that country's names for the fuzzy step, once per
server), then the whole mix again REPEATS times; p50, p95 and max are printed for the first
calls, the later ones and all of them. Entries are read as the page reads them: the seed
trial's countries (most sites first) are preferred. Target: every answer within 50 ms.

Run: `.venv/bin/python bench/bench_search.py` (or `make bench`).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "NCT04270409.txt"
REPEATS = 20
TARGET_MS = 50.0
# What people type: ZIP and ZIP+4, a code valid in two countries (Paris and Texas), a city
# with its state or country, ambiguous names, coordinates, nonsense, a misspelled town, and
# forms a patient abroad would use.
QUERIES = (
    "02115",
    "02115-1234",
    "75013",
    "69003",
    "Boston MA",
    "Lyon France",
    "Cambridge, MA",
    "Saint Louis",
    "Springfield",
    "48.85, 2.35",
    "qwxzv plorb",
    "Grenobel",
    "Bostn MA",
    "SW1A 1AA",
    "M5G",
    "113-8655",
    "Sao Paulo Brazil",
    "91, 200",  # out of range: refused with a reason, which must be quick too
)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, nearest rank."""
    ranked = sorted(values)
    k = max(0, min(len(ranked) - 1, round(q / 100 * len(ranked) + 0.5) - 1))
    return ranked[k]


def ask(search, query: str) -> tuple[float, str]:
    """Seconds one search took, and what it answered (for the printout)."""
    start = time.perf_counter()
    try:
        found = search(query)
        answer = found.best.label if found.best else "not found"
    except ValueError as exc:  # an entry that cannot name a place says why
        answer = f"refused: {exc}"
    return time.perf_counter() - start, answer


def main() -> int:
    """Load the index, time the searches, print the figures and the ratios."""
    sys.path.insert(0, str(ROOT))
    from dashboard.geocoding.place_search import search_places
    from dashboard.ingest import load_trial
    from dashboard.sites.build import ensure_table
    from dashboard.ui.state import prepare_table

    prefer = prepare_table(ensure_table(load_trial(SEED), SEED.parent).table).prefer
    from dashboard.places.index import load_gazetteer

    start = time.perf_counter()
    gazetteer = load_gazetteer()  # the first load in this process: read from the cache file
    load_s = time.perf_counter() - start

    def search(query: str):
        return search_places(query, gazetteer, prefer)

    first: dict[str, float] = {}
    for query in QUERIES:
        elapsed, answer = ask(search, query)
        first[query] = elapsed
        print(f"    {query!r:22} {elapsed * 1000:7.2f} ms  -> {answer[:70]}")
    calls = list(first.values())
    for _ in range(REPEATS):
        calls += [ask(search, q)[0] for q in QUERIES]

    again = calls[len(QUERIES) :]
    firsts = list(first.values())
    slowest = max(first, key=first.__getitem__)
    worst = max(calls)
    print(f"place search, {len(QUERIES)} entries x {REPEATS + 1} ({len(calls)} calls)")
    print(f"    loading the place index (baseline): {load_s * 1000:8.1f} ms")
    for label, values in (
        ("first time asked", firsts),
        ("asked again     ", again),
        ("every call      ", calls),
    ):
        p50, p95, top = statistics.median(values), percentile(values, 95), max(values)
        print(
            f"    {label}: p50 {p50 * 1000:6.2f} ms, p95 {p95 * 1000:6.2f} ms, "
            f"max {top * 1000:6.2f} ms  (max / index load {top / load_s:.3f}x)"
        )
    print(f"    slowest first call: {slowest!r} {first[slowest] * 1000:.2f} ms")
    verdict = "ok" if worst * 1000 <= TARGET_MS else "over target"
    print(f"    max vs target {TARGET_MS:.0f} ms: {worst * 1000 / TARGET_MS:.2f}x ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
