"""Score the offline geocoder on the holdout set: real API v2 records never used to tune it.

This reuses `tests/places/eval/evaluate.py` unchanged: it points that module's `RECORDS` and
`REVIEWED` at this folder and calls its `evaluate()`. Truth is each site's registry point unless
`reviewed.csv` here says otherwise. Run as a script to print the figures and the disagreements
still to review:

    .venv/bin/python tests/places/holdout/evaluate.py [--disagreements]
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDS = HERE / "records"
REVIEWED = HERE / "reviewed.csv"
EVAL = HERE.parent / "eval" / "evaluate.py"


def _eval_module():
    """The evaluation set's module, loaded under its own name (this file is also `evaluate`)."""
    spec = importlib.util.spec_from_file_location("places_eval_evaluate", EVAL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


_base = _eval_module()
WITHIN_KM = _base.WITHIN_KM
Figures = _base.Figures


def evaluate(limit: int | None = None) -> dict:
    """Figures for text, json and registry points on the holdout, and open disagreements."""
    _base.RECORDS = RECORDS
    _base.REVIEWED = REVIEWED
    return _base.evaluate(limit)


def load_reviewed() -> dict[str, tuple[float, float] | None]:
    """site_id -> the reviewed true point (None: the site cannot be placed; left out)."""
    _base.REVIEWED = REVIEWED
    return _base.load_reviewed()


def main() -> None:
    """Print the figures (and the open disagreements with --disagreements)."""
    sys.path.insert(0, str(HERE.parents[2]))
    result = evaluate()
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
