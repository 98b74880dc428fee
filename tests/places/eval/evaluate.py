"""Score the offline geocoder on the evaluation set: real API v2 records, reviewed truth.

Each site's truth is the registry's own point unless `reviewed.csv` says otherwise (a review of
every site where the registry and this geocoder disagree by more than 25 km). Two runs:
- text: the site as the text layout gives it (no registry point), geocoded offline;
- json: the site with its registry point, cross-checked as the app does.
The registry's own points are scored against the same truth. Run as a script to print the
figures and the disagreements still to review:

    .venv/bin/python tests/places/eval/evaluate.py [--disagreements]
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDS = HERE / "records"
REVIEWED = HERE / "reviewed.csv"
WITHIN_KM = 25.0


@dataclass
class Figures:
    """How one source of points did on the sites with a truth."""

    sites: int = 0
    within: int = 0
    wrong_flagged: int = 0
    wrong_unflagged: int = 0
    right_flagged: int = 0
    countries: int = 0

    @property
    def share(self) -> float:
        return self.within / self.sites if self.sites else 0.0

    def line(self, name: str) -> str:
        return (
            f"{name:9s}: {self.within}/{self.sites} within {WITHIN_KM:g} km ({self.share:.2%}); "
            f"wrong and flagged {self.wrong_flagged}, wrong and NOT flagged {self.wrong_unflagged} "
            f"({self.wrong_unflagged / max(self.sites, 1):.2%}); right but flagged "
            f"{self.right_flagged}"
        )


def load_reviewed(path: Path = REVIEWED) -> dict[str, tuple[float, float] | None]:
    """site_id -> the reviewed true point (None: the site cannot be placed; left out)."""
    out: dict[str, tuple[float, float] | None] = {}
    if not path.exists():
        return out
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["true_lat"] and row["true_lon"]:
                out[row["site_id"]] = (float(row["true_lat"]), float(row["true_lon"]))
            else:
                out[row["site_id"]] = None
    return out


def evaluate(
    limit: int | None = None, records: Path = RECORDS, reviewed_csv: Path = REVIEWED
) -> dict:
    """Figures for text, json and registry points, and the list of open disagreements, on the
    records in `records` with the reviewed truths of `reviewed_csv` (this set's by default)."""
    from dashboard.geo import distance_km
    from dashboard.geocoding.sources import GazetteerGeocoder, RegistryCheckedGeocoder
    from dashboard.ingest import load_trial
    from dashboard.places.index import load_gazetteer

    gaz = GazetteerGeocoder(load_gazetteer())
    checked = RegistryCheckedGeocoder(gaz, gaz)
    reviewed = load_reviewed(reviewed_csv)
    text, js, registry = Figures(), Figures(), Figures()
    countries: Counter[str] = Counter()
    disagreements = []
    paths = sorted(records.glob("*.json"))[:limit]
    for path in paths:
        trial = load_trial(path)
        for site in trial.sites:
            if site.geo_point is None and site.site_id not in reviewed:
                continue
            truth = reviewed.get(site.site_id, site.geo_point)
            if truth is None:
                continue
            countries[site.country_code or site.country] += 1
            bare = dataclasses.replace(site, geo_point=None)
            t = gaz.geocode(bare)
            j = checked.geocode(site)
            for figures, res in ((text, t), (js, j)):
                figures.sites += 1
                d = distance_km(res.latitude, res.longitude, *truth) if res else float("inf")
                if d <= WITHIN_KM:
                    figures.within += 1
                    figures.right_flagged += bool(res is not None and res.needs_review)
                elif res is not None and res.needs_review:
                    figures.wrong_flagged += 1
                else:
                    figures.wrong_unflagged += 1
            if site.geo_point is not None:
                registry.sites += 1
                if distance_km(*site.geo_point, *truth) <= WITHIN_KM:
                    registry.within += 1
                else:
                    registry.wrong_unflagged += 1
                if site.site_id not in reviewed and t is not None:
                    d = distance_km(*site.geo_point, t.latitude, t.longitude)
                    if d > WITHIN_KM:
                        disagreements.append(
                            {
                                "site_id": site.site_id,
                                "facility": site.facility,
                                "city": site.city,
                                "state": site.state,
                                "zip": site.zip,
                                "country": site.country,
                                "registry": site.geo_point,
                                "ours": (t.latitude, t.longitude),
                                "ours_name": t.matched_name,
                                "km": round(d),
                            }
                        )
    for f in (text, js, registry):
        f.countries = len(countries)
    return {
        "records": len(paths),
        "countries": len(countries),
        "text": text,
        "json": js,
        "registry": registry,
        "disagreements": disagreements,
    }


def main(records: Path = RECORDS, reviewed_csv: Path = REVIEWED) -> None:
    """Print the figures (and the open disagreements with --disagreements)."""
    sys.path.insert(0, str(HERE.parents[2]))
    result = evaluate(records=records, reviewed_csv=reviewed_csv)
    print(f"records {result['records']}, countries {result['countries']}")
    for name in ("text", "json", "registry"):
        print(result[name].line(name))
    print(
        f"open disagreements (registry vs text > {WITHIN_KM:g} km): {len(result['disagreements'])}"
    )
    if "--disagreements" in sys.argv:
        for d in result["disagreements"]:
            print(json.dumps(d, ensure_ascii=False))


if __name__ == "__main__":
    main()
