"""Accuracy on a holdout: 425 public ClinicalTrials.gov API v2 records (2,788 sites with registry
points, 33 countries; provenance in holdout/SOURCES.csv) collected after the geocoder's rules
were fixed and never used to tune them. Truth is reviewed where the registry and this geocoder
disagree (holdout/reviewed.csv, holdout/README.md). Prints its figures."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from paths import PLACES

from dashboard.ingest import load_trial

HOLDOUT = PLACES / "holdout"


def _holdout_module():
    # Loaded under its own name: test_eval.py imports the evaluation set's module as `evaluate`.
    spec = importlib.util.spec_from_file_location(
        "places_holdout_evaluate", HOLDOUT / "evaluate.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


holdout = _holdout_module()

# The bars this geocoder meets on the holdout today (text and JSON 100.00%, none wrong), rounded
# down to 0.1 point; a change that lowers one fails here. The targets are text >= 99.3%, JSON
# >= 99.8% and <= 0.1% wrong and not flagged. Text: no registry point; JSON: registry points
# cross-checked.
TEXT_MIN_SHARE = 0.999
JSON_MIN_SHARE = 0.999
MAX_WRONG_UNFLAGGED_SHARE = 0.001


@pytest.fixture(scope="module")
def result():
    return holdout.evaluate()


def test_the_holdout_is_large_and_real(result):
    assert result["records"] >= 20
    assert result["text"].sites >= 1_500
    assert result["countries"] >= 30


def test_every_holdout_record_parses():
    paths = sorted(holdout.RECORDS.glob("*.json"))
    assert len(paths) >= 20
    for path in paths:
        trial = load_trial(path)
        assert trial.sites, path.name
        assert any(site.geo_point is not None for site in trial.sites), path.name


def test_text_layout_accuracy(result):
    t = result["text"]
    print("\n" + t.line("text"))
    assert t.share >= TEXT_MIN_SHARE
    assert t.wrong_unflagged / t.sites <= MAX_WRONG_UNFLAGGED_SHARE


def test_json_accuracy_beats_the_registry(result):
    j, r = result["json"], result["registry"]
    print("\n" + j.line("json") + "\n" + r.line("registry"))
    assert j.share >= JSON_MIN_SHARE
    assert j.share >= r.share
    assert j.wrong_unflagged / j.sites <= MAX_WRONG_UNFLAGGED_SHARE


def test_every_disagreement_was_reviewed(result):
    # A change that makes the geocoder disagree with the registry somewhere new must come
    # with a reviewed decision for that site (run holdout/evaluate.py --disagreements).
    assert result["disagreements"] == []
