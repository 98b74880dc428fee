"""Small site tables for tests, built through the real schema (`dashboard.sites.table`)."""

from __future__ import annotations

import pandas as pd

from dashboard.sites.table import normalise

PARIS = (48.8566, 2.3522)
LILLE = (50.6292, 3.0573)
NAN = float("nan")


def paris_lille_table(statuses: bool = False) -> pd.DataFrame:
    """Three Paris sites on one point, one in Lille (with a formula for a name), and one in
    Italy without coordinates (with markup in its name); statuses on request."""
    rows = [
        ("Hôpital A", "Paris", "France", "FR", *PARIS),
        ("Hôpital B", "Paris", "France", "FR", *PARIS),
        ("Hôpital C", "Paris", "France", "FR", *PARIS),
        ('=HYPERLINK("http://x")', "Lille", "France", "FR", *LILLE),
        ("<b>Hospital</b> *E*", "Nowhere", "Italy", "IT", NAN, NAN),
    ]
    status = ["RECRUITING", "COMPLETED", "", "RECRUITING", ""] if statuses else [""] * 5
    return normalise(
        pd.DataFrame(
            {
                "nct_id": "NCT04270409",
                "site_id": [f"s{i}" for i in range(len(rows))],
                "facility": [r[0] for r in rows],
                "city": [r[1] for r in rows],
                "country": [r[2] for r in rows],
                "country_code": [r[3] for r in rows],
                "status": status,
                "latitude": [r[4] for r in rows],
                "longitude": [r[5] for r in rows],
                "precision": ["city"] * 4 + [""],
                "geocoder": ["gazetteer"] * 4 + [""],
                "matched_name": ["Paris", "Paris", "Paris", "Lille", ""],
            }
        )
    )
