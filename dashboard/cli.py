"""The command line: `python -m dashboard parse|build|fetch ...`.

All argument handling lives here; the work is done by the core (`ingest`, `sites`,
`ctgov_api`), which returns results and diagnostics that this module prints.

Every path argument is checked (`dashboard.io.check_*`, with `os.stat` only) before anything is
opened. A failure is one `error:` line on stderr, never a traceback: exit 2 for bad input (a
record or overrides file that is missing, unreadable, not a regular file or not a record), 1 for
anything else (an output that cannot be used or written, the network, a full disk), 130 for
Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from dashboard.errors import Diagnostic, FetchError, PathError, RecordError, TableError
from dashboard.io import check_input_file, check_output_dir, check_output_file

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
PROGRESS_WIDTH = 30
MAX_WARNINGS = 20  # unreadable records listed by a portfolio build (the rest are counted)
# What each path argument must be, as the `error: PATH: <what it is>, expected <what>` line says.
RECORD_FILE = "a trial record file (a regular file of at most {mb} MB)"
OVERRIDES_CSV = "an overrides CSV file (a regular file)"
TABLE_FILE = "a site table file (a regular file, or a new file in an existing directory)"
STUDY_DIR = "a directory (existing, or a new one under an existing directory)"
STUDY_FILE = "a study JSON file (a regular file, or a new file in the directory)"


class CommandError(Exception):
    """A command stops with one `error:` line and this exit code (raised inside a command)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _input_error(exc: OSError, path: str) -> CommandError:
    """An input file that cannot be used or read: bad input (exit 2), in the CLI's usual words."""
    if isinstance(exc, PathError):
        return CommandError(str(exc), EXIT_BAD_INPUT)
    if isinstance(exc, FileNotFoundError):
        words = "no such file"
    elif isinstance(exc, PermissionError):
        words = "permission denied"
    elif isinstance(exc, IsADirectoryError):
        words = "is a directory"
    else:
        words = exc.strerror or str(exc)
    return CommandError(f"{path}: {words}", EXIT_BAD_INPUT)


def _output_error(exc: OSError, path: str | os.PathLike[str]) -> CommandError:
    """An output that cannot be used or written (EROFS, ENOSPC, EACCES, ...): exit 1."""
    if isinstance(exc, PathError):
        return CommandError(str(exc), EXIT_FAILURE)
    return CommandError(f"{os.fspath(path)}: {exc.strerror or exc}", EXIT_FAILURE)


def _record_file(path: str) -> str:
    """The record argument, checked (without opening it) to be a regular file."""
    from dashboard.ingest import MAX_RECORD_BYTES

    return _input_file(path, RECORD_FILE.format(mb=MAX_RECORD_BYTES // (1024 * 1024)))


def _input_file(path: str, expected: str) -> str:
    """`path`, checked (without opening it) to be a regular file to read; else CommandError."""
    try:
        check_input_file(path, expected)
    except OSError as exc:
        raise _input_error(exc, path) from exc
    return path


@contextmanager
def _reading(path: str) -> Iterator[None]:
    """Turn an OSError while reading the input file `path` into bad input (exit 2)."""
    try:
        yield
    except OSError as exc:
        raise _input_error(exc, path) from exc


@contextmanager
def _writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an OSError while reading or writing the output `path` into one line, exit 1."""
    try:
        yield
    except OSError as exc:
        raise _output_error(exc, path) from exc


def _output_file(path: str | os.PathLike[str], expected: str, *, create_parent: bool) -> Path:
    """Where to write `path` (a regular file or a new one), checked first; else CommandError."""
    try:
        return check_output_file(path, expected, create_parent=create_parent)
    except OSError as exc:
        raise _output_error(exc, path) from exc


def _output_dir(path: str) -> Path:
    """`path` checked to be a directory to write in (or a new one); else CommandError."""
    try:
        return check_output_dir(path, STUDY_DIR)
    except OSError as exc:
        raise _output_error(exc, path) from exc


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

    record = _record_file(args.record)
    # Suspicious but readable input (e.g. a site number naming another country) is reported,
    # not fatal: one `warning: ...` line each on stderr, exit code still 0.
    with _reading(record):
        loaded = load_record(record)
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
    """`build`: geocode a record's sites into its table (only a finished table is written); a
    folder or zip of records is built into the portfolio store instead."""
    if os.path.isdir(args.record) or args.record.lower().endswith(".zip"):
        return _cmd_build_portfolio(args)
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

    # Every path is checked before anything is opened: a device, FIFO, directory or /proc file
    # is refused with one line, never read, truncated or renamed.
    record = _record_file(args.record)
    overrides_path: str | None = args.overrides
    if overrides_path is None:
        default = DEFAULT_DATA_DIR / OVERRIDES_FILE
        overrides_path = os.fspath(default) if os.path.lexists(default) else None
    if overrides_path is not None:
        _input_file(overrides_path, OVERRIDES_CSV)
    out = _output_file(args.out, TABLE_FILE, create_parent=False) if args.out else None
    with _reading(record):
        trial = load_trial(record)
    if out is None:
        # The default `data/<NCT ID>.sites.csv`: `data/` itself may still be created.
        out = _output_file(table_path(trial, DEFAULT_DATA_DIR), TABLE_FILE, create_parent=True)
    if overrides_path is None:
        overrides = load_overrides(None)
    else:
        with _reading(overrides_path):
            overrides = load_overrides(overrides_path)
    existing = None
    if not args.force:
        with _writing(out):
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
    with _writing(out):
        write_table(built.table, out)
    for diagnostic in built.diagnostics:
        _warn(diagnostic)
    s = built.stats
    print(
        f"{out}: {s.rows} rows, {s.geocoded} geocoded now ({s.lookups} lookups), "
        f"{s.cached} from cache, {s.overridden} overridden, "
        f"{s.needs_review} need review",
        file=sys.stderr,
    )
    return EXIT_OK


def _cmd_build_portfolio(args: argparse.Namespace) -> int:
    """`build DIR|ZIP`: build or update the portfolio store from every record in it."""
    from dashboard.geocoding.sources import LazyGeocoder, offline_geocoder
    from dashboard.portfolio.store import build_portfolio, dump_summary, store_path
    from dashboard.sites.build import OVERRIDES_FILE

    if args.out or args.geocoder != "offline" or args.force:
        raise CommandError("--out, --geocoder and --force apply to one record; use --store", 2)
    root = Path(args.record)
    if root.is_file():
        root_path = _input_file(args.record, "a zip of ClinicalTrials.gov JSON studies")
        root = Path(root_path)
    base = root if root.is_dir() else root.parent
    store = Path(args.store) if args.store else store_path(base)
    store = _output_file(store, "a portfolio store file", create_parent=True)
    overrides_path: str | None = args.overrides
    if overrides_path is None and (base / OVERRIDES_FILE).is_file():
        # The folder's own corrections, as the app applies them to its portfolio.
        overrides_path = os.fspath(base / OVERRIDES_FILE)
    if overrides_path is not None:
        _input_file(overrides_path, OVERRIDES_CSV)
    show = not args.quiet and sys.stderr.isatty()
    with _writing(store):
        store.parent.mkdir(parents=True, exist_ok=True)
        stats = build_portfolio(
            [root],
            store,
            geocoder=LazyGeocoder(offline_geocoder),
            overrides_path=overrides_path,
            progress=_progress_bar(sys.stderr) if show else None,
        )
    for diagnostic in stats.diagnostics[:MAX_WARNINGS]:
        _warn(diagnostic)
    if len(stats.diagnostics) > MAX_WARNINGS:
        _warn(f"... and {len(stats.diagnostics) - MAX_WARNINGS} more unreadable records")
    print(f"{store}: {dump_summary(stats)}", file=sys.stderr)
    return EXIT_OK


def _print_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _cmd_fetch(args: argparse.Namespace) -> int:
    """`fetch NCT...`: download, check it reads as a trial, save, report; `fetch --query ...`
    (or `--cond`, `--status`) pages through a search instead."""
    from dashboard.ctgov_api import (
        API_BASE,
        DEFAULT_TIMEOUT,
        fetch_study,
        normalise_nct_id,
        save_study,
    )
    from dashboard.ingest.ctgov_json import trial_from_study

    searching = bool(args.query or args.cond or args.status)
    if args.nct_id and searching:
        args.usage_error("give an NCT ID or a search (--query, --cond, --status), not both")
    if not args.nct_id and not searching:
        args.usage_error(
            "give an NCT ID (e.g. NCT04270409) or a search: --query, --cond or --status"
        )
    if searching:
        return _fetch_search(args)
    for flag, value in (("--page-size", args.page_size), ("--max-studies", args.max_studies)):
        if value is not None:
            args.usage_error(f"{flag} applies to a search (--query, --cond, --status)")
    if args.restart:
        args.usage_error("--restart applies to a search (--query, --cond, --status)")
    out_dir = _output_dir(args.out_dir or "data")
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
    target = out_dir / f"{trial.nct_id}.json"
    target = _output_file(target, STUDY_FILE, create_parent=True)
    with _writing(target):
        save_study(study, target)
    print(
        f"saved {target} ({trial.nct_id}: {len(trial.sites)} sites in "
        f"{len(trial.countries)} countries)"
    )
    return EXIT_OK


def _fetch_search(args: argparse.Namespace) -> int:
    """`fetch --query/--cond/--status`: page through the search, saving each study; resumable."""
    from dashboard.ctgov_api import (
        API_BASE,
        DEFAULT_PAGE_SIZE,
        DEFAULT_TIMEOUT,
        PageDone,
        Search,
        check_page_size,
        download_search,
        parse_statuses,
    )
    from dashboard.ingest.ctgov_json import trial_from_study

    try:
        search = Search(
            term=args.query or "",
            cond=args.cond or "",
            statuses=parse_statuses(args.status or ()),
            base_url=args.base_url or API_BASE,
        )
        page_size = check_page_size(DEFAULT_PAGE_SIZE if args.page_size is None else args.page_size)
    except FetchError as exc:
        args.usage_error(str(exc))
    if args.max_studies is not None and args.max_studies < 1:
        args.usage_error(f"--max-studies must be at least 1, found {args.max_studies}")
    out_dir = _output_dir(args.out_dir or os.path.join("data", "portfolio"))
    reached = [0]  # the last page saved, for the message if Ctrl-C stops the run

    def read(study: object, where: str) -> str:
        # Only a study that reads as a trial is saved; a RecordError (a ValueError) skips it.
        return trial_from_study(study, where).nct_id  # type: ignore[arg-type]

    def show(done: PageDone) -> None:
        reached[0] = done.page
        skipped = f", {done.skipped:,} skipped" if done.skipped else ""
        of = f" of {done.total:,}" if done.total is not None else " so far"
        print(
            f"page {done.page}: {done.saved:,} studies saved{skipped} ({done.saved_total:,}{of})",
            file=sys.stderr,
            flush=True,
        )

    try:
        result = download_search(
            search,
            out_dir,
            read=read,
            page_size=page_size,
            max_studies=args.max_studies,
            restart=bool(args.restart),
            timeout=DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
            progress=show,
            notify=lambda d: print(f"{d.kind}: {d}", file=sys.stderr, flush=True),
        )
    except OSError as exc:
        # A study or the state file that cannot be written (or a state path that is a FIFO):
        # one line naming that file; the studies and state saved before it stay.
        raise _output_error(exc, exc.filename or out_dir) from exc
    except KeyboardInterrupt:
        after = f" after page {reached[0]}" if reached[0] else ""
        raise CommandError(
            f"interrupted{after}: run the same command again to continue", EXIT_INTERRUPTED
        ) from None
    skipped = f"; {result.skipped:,} did not read as trials" if result.skipped else ""
    of = f" of {result.total:,}" if result.total is not None else ""
    if result.complete:
        print(f"saved {result.saved:,}{of} studies in {out_dir}{skipped}")
    else:
        print(
            f"saved {result.saved:,}{of} studies in {out_dir}{skipped}: stopped at "
            f"--max-studies {args.max_studies}; a higher --max-studies continues the search"
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

    b = sub.add_parser(
        "build",
        help="geocode a record's sites into the cached table, or a folder/zip into the portfolio",
    )
    b.add_argument(
        "record",
        help="a trial record (text layout or ClinicalTrials.gov JSON); or a folder of records "
        "or the registry's zip of JSON studies, built into the portfolio store",
    )
    b.add_argument("--store", help="the portfolio store to build (default: DIR/portfolio.duckdb)")
    b.add_argument("--out", help="the table to write (default: data/<NCT ID>.sites.csv)")
    b.add_argument("--geocoder", choices=["offline", "nominatim"], default="offline")
    b.add_argument("--overrides", help="human corrections (default: data/overrides.csv)")
    b.add_argument("--force", action="store_true", help="geocode every row again")
    b.add_argument("--user-agent", help="User-Agent for Nominatim (its usage policy needs one)")
    b.add_argument("--timeout", type=float, default=10.0, help="seconds per online request")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_cmd_build)

    f = sub.add_parser(
        "fetch",
        help="download a study, or every study a search finds, from ClinicalTrials.gov (API v2)",
        description="Download one study by NCT ID, or page through a search of ClinicalTrials.gov "
        "(API v2 /studies) and save every study it finds as <NCT ID>.json. A search keeps its "
        "progress in a .fetch-<hash>.state file in the output folder: run the same command "
        "again after an interruption and it continues from the page it had reached.",
    )
    f.add_argument("nct_id", nargs="?", help="one study to download, e.g. NCT04270409")
    f.add_argument("--query", metavar="TEXT", help="search: words anywhere in a study (query.term)")
    f.add_argument("--cond", metavar="TEXT", help="search: a condition or disease (query.cond)")
    f.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help="search: overall status, e.g. RECRUITING; repeat it or give a comma list "
        "(filter.overallStatus)",
    )
    f.add_argument(
        "--page-size",
        type=int,
        default=None,
        metavar="N",
        help="search: studies per page, 1 to 1000 (default: 100)",
    )
    f.add_argument(
        "--max-studies",
        type=int,
        default=None,
        metavar="N",
        help="search: stop after this many studies (default: all)",
    )
    f.add_argument(
        "--restart", action="store_true", help="search: start from page 1, ignoring saved progress"
    )
    f.add_argument(
        "--out-dir",
        default=None,
        help="where to save the JSON (default: data/ for one study, data/portfolio/ for a search)",
    )
    f.add_argument("--base-url", default=None, help="API root (default: ClinicalTrials.gov)")
    f.add_argument("--timeout", type=float, default=None, help="seconds (default: 20)")
    f.set_defaults(func=_cmd_fetch, usage_error=f.error)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as exc:
        return _fail(exc.message, exc.code)
    except RecordError as exc:
        return _fail(exc.one_line())
    except (TableError, FetchError) as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (e.g. `parse ... | head`): not an error of ours. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except PathError as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except FileNotFoundError as exc:
        # A file the program itself reads (e.g. its place index) is gone: exit 2, as always.
        return _fail(_os_error_line(exc, "no such file"))
    except PermissionError as exc:
        return _fail(_os_error_line(exc, "permission denied"))
    except OSError as exc:
        # Anything else the system refused (a full disk, the network, ...): one line, no traceback.
        return _fail(_os_error_line(exc), EXIT_FAILURE)


def _os_error_line(exc: OSError, words: str | None = None) -> str:
    """An OSError as `PATH: what went wrong` (just what went wrong when it names no file)."""
    words = words or exc.strerror or str(exc)
    return f"{exc.filename}: {words}" if exc.filename is not None else words
