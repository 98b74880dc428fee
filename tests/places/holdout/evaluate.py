"""Score the offline geocoder on the holdout set: real API v2 records never used to tune it.

This is `tests/places/eval/evaluate.py` run on this folder's records and `reviewed.csv`
(tests/places/test_eval.py scores both sets). Truth is each site's registry point unless
`reviewed.csv` here says otherwise. Run as a script to print the figures and the disagreements
still to review:

    .venv/bin/python tests/places/holdout/evaluate.py [--disagreements]
"""

from __future__ import annotations

import importlib.util
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


def evaluate(limit: int | None = None) -> dict:
    """Figures for text, json and registry points on the holdout, and open disagreements."""
    return _base.evaluate(limit, RECORDS, REVIEWED)


def load_reviewed() -> dict[str, tuple[float, float] | None]:
    """site_id -> the reviewed true point (None: the site cannot be placed; left out)."""
    return _base.load_reviewed(REVIEWED)


if __name__ == "__main__":
    _base.main(RECORDS, REVIEWED)
