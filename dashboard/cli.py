"""The command line: `python -m dashboard parse|build|fetch ...`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from dashboard.errors import FetchError, GeocodeError, RecordError, TableError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print one `error: ...` line on stderr and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


def _cmd_parse(args: argparse.Namespace) -> int:
    import warnings

    from dashboard.record import load_trial, trial_to_dict

    # Suspicious but readable input (e.g. a site number naming another country) is reported,
    # not fatal: one `warning: ...` line each on stderr, exit code still 0.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trial = load_trial(args.record)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    json.dump(trial_to_dict(trial), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def _cmd_build(args: argparse.Namespace) -> int:
    from dashboard.build import run_build

    return run_build(args)


def _cmd_fetch(args: argparse.Namespace) -> int:
    from dashboard.registry import run_fetch

    return run_fetch(args)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description="Parse clinical-trial records and geocode their sites.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="print a trial record as JSON")
    p.add_argument("record", help="a trial record (text layout or ClinicalTrials.gov JSON)")
    p.set_defaults(func=_cmd_parse)

    b = sub.add_parser("build", help="geocode a record's sites into the cached table")
    b.add_argument("record", help="a trial record (text layout or ClinicalTrials.gov JSON)")
    b.add_argument("--out", help="the table to write (default: data/<NCT ID>.sites.csv)")
    b.add_argument("--geocoder", choices=["offline", "nominatim"], default="offline")
    b.add_argument("--overrides", help="human corrections (default: data/overrides.csv)")
    b.add_argument("--force", action="store_true", help="geocode every row again")
    b.add_argument("--user-agent", help="User-Agent for Nominatim (its usage policy needs one)")
    b.add_argument("--timeout", type=float, default=10.0, help="seconds per online request")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_cmd_build)

    f = sub.add_parser("fetch", help="download a study from ClinicalTrials.gov (API v2)")
    f.add_argument("nct_id", help="e.g. NCT04270409")
    f.add_argument("--out-dir", default="data", help="where to save the JSON (default: data/)")
    f.add_argument("--base-url", default=None, help="API root (default: ClinicalTrials.gov)")
    f.add_argument("--timeout", type=float, default=20.0)
    f.set_defaults(func=_cmd_fetch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except RecordError as exc:
        return _fail(exc.one_line())
    except (TableError, GeocodeError, FetchError) as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except IsADirectoryError as exc:
        return _fail(f"{exc.filename}: is a directory, expected a trial record file")
    except FileNotFoundError as exc:
        return _fail(f"{exc.filename}: no such file")
    except PermissionError as exc:
        return _fail(f"{exc.filename}: permission denied")
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (e.g. `parse ... | head`): not an error of ours. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
