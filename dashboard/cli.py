"""The command line: `python -m dashboard parse|build|fetch ...`.

All argument handling lives here; the work is done by the core (`ingest`, `sites`,
`ctgov_api`), which returns results and diagnostics that this module prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from dashboard.errors import Diagnostic, FetchError, RecordError, TableError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
PROGRESS_WIDTH = 30


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print one `error: ...` line on stderr and return the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


def _warn(message: str | Diagnostic) -> None:
    """One `warning: ...` line on stderr."""
    print(f"warning: {message}", file=sys.stderr)


def _cmd_parse(args: argparse.Namespace) -> int:
    from dashboard.ingest import load_record
    from dashboard.model import trial_to_dict

    # Suspicious but readable input (e.g. a site number naming another country) is reported,
    # not fatal: one `warning: ...` line each on stderr, exit code still 0.
    loaded = load_record(args.record)
    for diagnostic in loaded.diagnostics:
        _warn(diagnostic)
    json.dump(trial_to_dict(loaded.trial), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def _progress_bar(stream: TextIO):  # noqa: ANN202 - a Progress callback
    """A one-line progress bar on `stream`, redrawn in place."""
    start = time.monotonic()

    def show(done: int, total: int) -> None:
        filled = int(PROGRESS_WIDTH * done / max(total, 1))
        bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
        stream.write(f"\r[{bar}] {done}/{total} {time.monotonic() - start:5.1f}s")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def _cmd_build(args: argparse.Namespace) -> int:
    """`build`: geocode a record's sites into its table (only a finished table is written)."""
    from dashboard.geocoding.sources import (
        Geocoder,
        LazyGeocoder,
        nominatim_geocoder,
        offline_geocoder,
    )
    from dashboard.ingest import load_trial
    from dashboard.sites.build import (
        DEFAULT_DATA_DIR,
        OVERRIDES_FILE,
        build_table,
        load_overrides,
        read_existing,
        table_path,
    )
    from dashboard.sites.table import write_table

    trial = load_trial(args.record)
    out = Path(args.out) if args.out else table_path(trial, DEFAULT_DATA_DIR)
    if args.overrides:
        if not Path(args.overrides).exists():
            raise FileNotFoundError(2, "no such file", args.overrides)
        overrides_path: Path | None = Path(args.overrides)
    else:
        default = DEFAULT_DATA_DIR / OVERRIDES_FILE
        overrides_path = default if default.exists() else None
    overrides = load_overrides(overrides_path)
    existing = None
    if not args.force:
        existing, diagnostics = read_existing(out)
        for diagnostic in diagnostics:
            _warn(diagnostic)
    if args.geocoder == "nominatim":
        geocoder: Geocoder = LazyGeocoder(
            lambda: nominatim_geocoder(args.user_agent, args.timeout, warn=_print_stderr)
        )
    else:
        geocoder = LazyGeocoder(offline_geocoder)
    show = not args.quiet and sys.stderr.isatty()
    built = build_table(
        trial,
        existing=existing,
        geocoder=geocoder,
        overrides=overrides,
        force=bool(args.force),
        progress=_progress_bar(sys.stderr) if show else None,
    )
    # Only a finished table is written, atomically: a failure above leaves the old file as it was.
    write_table(built.table, out)
    s = built.stats
    print(
        f"{out}: {s.rows} rows, {s.geocoded} geocoded now ({s.lookups} lookups), "
        f"{s.cached} from cache, {s.overridden} overridden, "
        f"{s.needs_review} need review",
        file=sys.stderr,
    )
    return EXIT_OK


def _print_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _cmd_fetch(args: argparse.Namespace) -> int:
    """`fetch NCT...`: download, check it reads as a trial, save, report."""
    from dashboard.ctgov_api import (
        API_BASE,
        DEFAULT_TIMEOUT,
        fetch_study,
        normalise_nct_id,
        save_study,
    )
    from dashboard.ingest.ctgov_json import trial_from_study

    nct_id = normalise_nct_id(args.nct_id)
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    study = fetch_study(nct_id, base_url=args.base_url or API_BASE, timeout=timeout)
    try:
        trial = trial_from_study(study, f"{nct_id} from ClinicalTrials.gov")
    except RecordError as exc:
        raise FetchError(f"the downloaded study does not read as a trial: {exc}") from exc
    if trial.nct_id != nct_id:
        # The registry answers an obsolete or duplicate ID with the study it now belongs to.
        print(f"note: {nct_id} is now {trial.nct_id}; saving it under the current ID")
    target = Path(args.out_dir or "data") / f"{trial.nct_id}.json"
    save_study(study, target)
    print(
        f"saved {target} ({trial.nct_id}: {len(trial.sites)} sites in "
        f"{len(trial.countries)} countries)"
    )
    return EXIT_OK


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
    f.add_argument("--timeout", type=float, default=None, help="seconds (default: 20)")
    f.set_defaults(func=_cmd_fetch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except RecordError as exc:
        return _fail(exc.one_line())
    except (TableError, FetchError) as exc:
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
