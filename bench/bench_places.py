"""Accuracy of the offline geocoder on the reviewed place sets in tests/places/."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLACES = ROOT / "tests" / "places"
WITHIN_KM = (10, 25)


def main() -> None:
    """Print the share of reviewed places within 10 and 25 km, and the lookup rate."""
    sys.path.insert(0, str(ROOT))
    from dashboard.geo import distance_km
    from dashboard.geocoding.sources import GazetteerGeocoder
    from dashboard.ingest.countries import country_code
    from dashboard.model import Site
    from dashboard.places.index import load_gazetteer

    geocoder = GazetteerGeocoder(load_gazetteer())
    rows = []
    for f in sorted(PLACES.glob("*.csv")):
        with open(f, encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh))
    t = time.perf_counter()
    dists = []
    review = 0
    for r in rows:
        site = Site(
            facility="",
            city=r["city"],
            state=r["state"],
            country=r["country"],
            country_code=country_code(r["country"]),
        )
        res = geocoder.geocode(site)
        review += res.needs_review
        dists.append(
            distance_km(res.latitude, res.longitude, float(r["latitude"]), float(r["longitude"]))
        )
    elapsed = time.perf_counter() - t
    for km in WITHIN_KM:
        n = sum(d <= km for d in dists)
        print(f"within {km:>2} km: {n}/{len(rows)} ({n / len(rows):.1%})")
    print(f"flagged for review: {review}; {len(rows) / elapsed:.0f} places/s")


if __name__ == "__main__":
    main()
