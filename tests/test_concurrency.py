"""Nothing is lost: concurrent builds, corrupt caches, failing builds, many app sessions at once.

- Two `python -m dashboard build` processes writing the same table end with a valid table.
- A corrupt or foreign table is set aside (with a diagnostic, a `warning:` line on the command
  line) and rebuilt, by `ensure_table` (the app's path) and by `build` (the command line).
- A build that fails part-way writes nothing: the table on disk is byte-for-byte the same.
- At least 20 AppTest sessions changing filters at the same time each see exactly their own
  result, and the cached site table is never changed in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from paths import APP, OVERRIDES, ROOT, SEED, SEED_TABLE

from dashboard.errors import TableError

N_SITES = 105
HANG_GUARD_S = 120  # a build still running after this has hung
CONCURRENT_BUILDS = 2
BUILD_ROUNDS = 2


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    """Temporary files a write left behind (atomic writes use `.<name>.*.tmp`)."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def seed_trial():
    from dashboard.ingest import load_trial

    return load_trial(SEED)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A scratch data/ with the seed record and its committed table."""
    d = tmp_path / "data"
    d.mkdir()
    shutil.copy(SEED, d / SEED.name)
    shutil.copy(SEED_TABLE, d / SEED_TABLE.name)
    shutil.copy(OVERRIDES, d / OVERRIDES.name)  # the committed table applies them
    return d


def build_cli(*args: str | os.PathLike[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dashboard", "build", *map(str, args), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ----------------------------------------------------------------------------- two builds at once


@pytest.mark.parametrize(
    "start",
    [
        # no table yet: both geocode everything and race to create it
        "missing",
        # a corrupt table: both detect it and race to set it aside
        "corrupt",
    ],
)
def test_two_builds_on_one_table_leave_a_valid_table(start, tmp_path) -> None:
    from dashboard.sites.table import read_table

    out = tmp_path / "t.sites.csv"
    for _ in range(BUILD_ROUNDS):
        if start == "corrupt":
            out.write_bytes(b"\x00\x01garbage\xff" * 100)
        else:
            out.unlink(missing_ok=True)
        procs = [build_cli(SEED, "--out", out, "--force") for _ in range(CONCURRENT_BUILDS)]
        results = [p.communicate(timeout=HANG_GUARD_S) for p in procs]
        for p, (_, err) in zip(procs, results, strict=True):
            assert p.returncode == 0, err
            assert "Traceback" not in err
        table = read_table(out)
        assert len(table) == N_SITES
        assert table["site_id"].is_unique
        assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- corrupt tables


def _seed_table_bytes() -> bytes:
    return SEED_TABLE.read_bytes()


def _truncated() -> bytes:
    """The committed table cut off in the middle of a row (a write that died half-way)."""
    data = _seed_table_bytes()
    return data[: len(data) // 2 + 17]


def _other_columns() -> bytes:
    return b"name,lat,lng\nLyon,45.75,4.85\nParis,48.85,2.35\n"


def _out_of_range() -> bytes:
    lines = _seed_table_bytes().decode("utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("34.05223", "134.05223")
    return "".join(lines).encode("utf-8")


BAD_TABLES = [
    # random bytes where the CSV was (disk trouble, a wrong file copied over it)
    ("garbage", lambda: b"\x00\x01\x02garbage\xff\xfe" * 50),
    # somebody else's CSV under our name
    ("other columns", _other_columns),
    # cut off mid-row: must not be read as a shorter table with a half-written last row
    ("truncated", _truncated),
    # an empty file (a write that never happened)
    ("empty", lambda: b""),
    # our columns but a latitude of 134: a hand edit gone wrong
    ("out of range", _out_of_range),
    # Latin-1 bytes in a UTF-8 file
    ("bad encoding", lambda: _seed_table_bytes().replace(b"Los Angeles", b"Los \xc1ngeles")),
]


@pytest.mark.parametrize(("name", "make"), BAD_TABLES, ids=[b[0] for b in BAD_TABLES])
def test_read_table_detects_a_bad_table(name, make, tmp_path) -> None:
    from dashboard.sites.table import read_table

    path = tmp_path / "t.sites.csv"
    path.write_bytes(make())
    with pytest.raises(TableError):
        read_table(path)


@pytest.mark.parametrize(("name", "make"), BAD_TABLES, ids=[b[0] for b in BAD_TABLES])
def test_ensure_table_sets_a_bad_table_aside_and_rebuilds(name, make, data_dir, seed_trial) -> None:
    from dashboard.sites.build import ensure_table, table_path
    from dashboard.sites.table import read_table

    path = table_path(seed_trial, data_dir)
    bad = make()
    path.write_bytes(bad)
    built = ensure_table(seed_trial, data_dir)
    assert [d.kind for d in built.diagnostics] == ["warning"]
    assert "rebuilding" in built.diagnostics[0].message
    assert len(built.table) == N_SITES
    assert len(read_table(path)) == N_SITES
    aside = [p for p in data_dir.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert aside[0].read_bytes() == bad  # kept as it was, for a human to look at
    assert leftovers(data_dir) == []


# The command line's own check runs the same code; three kinds keep the subprocesses few.
CLI_BAD_TABLES = [b for b in BAD_TABLES if b[0] in {"garbage", "other columns", "truncated"}]


@pytest.mark.parametrize(("name", "make"), CLI_BAD_TABLES, ids=[b[0] for b in CLI_BAD_TABLES])
def test_build_cli_sets_a_bad_table_aside_and_rebuilds(name, make, tmp_path) -> None:
    from dashboard.sites.table import read_table

    out = tmp_path / "t.sites.csv"
    bad = make()
    out.write_bytes(bad)
    proc = build_cli(SEED, "--out", out)
    _, err = proc.communicate(timeout=HANG_GUARD_S)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert sum(line.startswith("warning:") for line in err.splitlines()) == 1, err
    assert len(read_table(out)) == N_SITES
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert [p.read_bytes() for p in aside] == [bad]


@pytest.mark.parametrize(
    "entry",
    [
        # the app's path: one session sets the bad table aside while another reads it
        "ensure_table",
        # the command line's path: two builds started on the same bad table
        "cli build",
    ],
)
def test_a_table_that_vanishes_while_being_set_aside_is_not_an_error(
    entry, data_dir, seed_trial, monkeypatch
) -> None:
    """Another process (or app session) set the bad table aside first: just rebuild."""
    import dashboard.sites.build as build
    from dashboard.sites.table import read_table

    path = build.table_path(seed_trial, data_dir)
    path.write_bytes(b"garbage")
    real_read = build.read_table

    def read_then_lose_the_race(p):
        try:
            return real_read(p)
        finally:
            if Path(p).exists():
                os.replace(p, data_dir / "taken-by-the-other-process")

    monkeypatch.setattr(build, "read_table", read_then_lose_the_race)
    if entry == "ensure_table":
        built = build.ensure_table(seed_trial, data_dir)
        assert len(built.table) == N_SITES
    else:
        assert run_build_in_process(path, force=False) == 0
    assert len(read_table(path)) == N_SITES


# ----------------------------------------------------------------------------- failing builds


class FailingGeocoder:
    """Answers like the offline geocoder for a few sites, then fails."""

    def __init__(self, exc: BaseException, after: int) -> None:
        from dashboard.geocoding.sources import offline_geocoder

        self.inner = offline_geocoder()
        self.exc = exc
        self.after = after
        self.calls = 0

    def geocode(self, site):
        self.calls += 1
        if self.calls > self.after:
            raise self.exc
        return self.inner.geocode(site)


FAILURES = [
    # the network geocoder gives up for good (a ConnectionError is an OSError)
    ("network error", lambda: OSError("Nominatim unreachable")),
    # a bug in the geocoder
    ("bug", lambda: RuntimeError("unexpected")),
    # the user presses Ctrl-C half-way
    ("interrupted", lambda: KeyboardInterrupt()),
]


def run_build_in_process(out: Path, *, force: bool = True) -> int:
    """`build SEED --out OUT --quiet --timeout 1 [--force]` through `cli.main`; the exit code."""
    from dashboard.cli import main

    argv = ["build", str(SEED), "--out", str(out), "--quiet", "--timeout", "1"]
    return main([*argv, "--force"] if force else argv)


@pytest.mark.parametrize(("name", "make_exc"), FAILURES, ids=[f[0] for f in FAILURES])
def test_build_failing_mid_way_leaves_the_table_byte_for_byte(
    name, make_exc, tmp_path, monkeypatch, capsys
) -> None:
    import dashboard.geocoding.sources as sources

    out = tmp_path / "t.sites.csv"
    shutil.copy(SEED_TABLE, out)
    before = sha256(out)
    exc = make_exc()
    failing = FailingGeocoder(exc, after=30)
    monkeypatch.setattr(sources, "offline_geocoder", lambda: failing)
    if isinstance(exc, KeyboardInterrupt):
        # the command line turns Ctrl-C into one `error:` line and exit code 130
        assert run_build_in_process(out) == 130
        assert capsys.readouterr().err == "error: interrupted\n"
    elif isinstance(exc, OSError):
        # any OSError becomes one `error:` line and exit code 1, never a traceback
        assert run_build_in_process(out) == 1
        assert capsys.readouterr().err.startswith("error: ")
    else:
        with pytest.raises(type(exc)):
            run_build_in_process(out)
    assert failing.calls > 30  # it really failed part-way
    assert sha256(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_build_failing_while_writing_leaves_the_table_byte_for_byte(
    tmp_path, monkeypatch, capsys
) -> None:
    """The disk fills up during the write: the temp file goes, the old table stays."""
    import dashboard.io

    out = tmp_path / "t.sites.csv"
    shutil.copy(SEED_TABLE, out)
    before = sha256(out)

    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dashboard.io.os, "fsync", disk_full)
    assert run_build_in_process(out) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert sha256(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_build_cli_geocoder_failure_is_one_error_line_and_no_change(tmp_path) -> None:
    """Through the command line: one `error:` line, no traceback, table unchanged (sha256).

    The geocoder loses access to its place index part-way (a PermissionError): the command line
    reports it as one line with exit code 2.
    """
    out = tmp_path / "t.sites.csv"
    shutil.copy(SEED_TABLE, out)
    before = sha256(out)
    # A geocoder that fails part-way, injected by a wrapper script (the CLI has no such switch).
    script = tmp_path / "fail_build.py"
    script.write_text(
        "import sys\n"
        "import dashboard.geocoding.sources as sources\n"
        "from dashboard.cli import main\n"
        "inner = sources.offline_geocoder\n"
        "class Failing:\n"
        "    def __init__(self):\n"
        "        self.inner, self.n = inner(), 0\n"
        "    def geocode(self, site):\n"
        "        self.n += 1\n"
        "        if self.n > 30:\n"
        "            raise PermissionError(13, 'Permission denied', 'gazetteer.npz')\n"
        "        return self.inner.geocode(site)\n"
        "sources.offline_geocoder = Failing\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), "build", str(SEED), "--out", str(out), "--force", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["error: gazetteer.npz: permission denied"]
    assert sha256(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, script.name])


# ----------------------------------------------------------------------------- many sessions

SESSIONS = 24
SESSION_TIMEOUT_S = 180  # per AppTest run; the machine is shared, a hang is far longer
NEAR_QUERIES = [
    # (place, radius, units): different places, radii and units so no two sessions agree;
    # radii are the page's presets (20, 50, 100, 200, 500 in either unit)
    ("Lyon, France", 500.0, "km"),
    ("Boston", 500.0, "mi"),
    ("35.68, 139.69", 200.0, "km"),
    ("Sydney, Australia", 500.0, "mi"),
    ("Madrid", 500.0, "km"),
    ("Toronto, Canada", 200.0, "mi"),
]


def _expected(table, countries: tuple[str, ...], near: tuple[str, float, str] | None):
    """What a session with these filters must show: facilities in order, and the count."""
    from dashboard.geo import to_km
    from dashboard.geocoding.place_search import resolve_place
    from dashboard.places.index import load_gazetteer
    from dashboard.ui import state as flt

    f = flt.Filters(countries=countries)
    view = flt.filter_sites(table, f)
    if near is not None:
        place, radius, units = near
        match = resolve_place(place, load_gazetteer())
        assert match is not None, place
        view = flt.within_radius(
            flt.add_distances(view, match.latitude, match.longitude, units),
            to_km(radius, units),
        )
    return view["facility"].tolist()


def _cached_table_hash(data_dir: Path) -> int:
    """A content hash of the DataFrame the page's cache hands out for the seed record.

    `dashboard.ui.page` is the module the page runs from, so its cached loader is the very
    function (and cache entry) the sessions use.
    """
    from dashboard.ui import page

    path = data_dir / SEED.name
    _, table, _ = page.trial_and_table(str(path), path.stat().st_mtime)
    return int(pd.util.hash_pandas_object(table.astype(str), index=True).sum())


@contextlib.contextmanager
def shared_test_runtime() -> Iterator[None]:
    """Let AppTests run in parallel threads, as sessions do on one server.

    Each `AppTest.run()` installs a mock `Runtime` singleton and sets it back to None when it
    ends, which pulls the runtime from under any other AppTest still running ("Runtime hasn't
    been created!"). A real server has one Runtime for all sessions; so here, while the
    sessions run, `Runtime.instance()` keeps answering with the last mock installed, and the
    script is compiled by one thread at a time, as a server's single script cache does.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    lock = threading.Lock()
    last: list[object] = []
    real_instance = Runtime.__dict__["instance"]
    real_exists = Runtime.__dict__["exists"]

    def instance(cls):
        with lock:
            if cls._instance is not None:
                last[:] = [cls._instance]
            if not last:
                raise RuntimeError("Runtime hasn't been created!")
            return last[0]

    def exists(cls) -> bool:
        return cls._instance is not None or bool(last)

    # A server compiles the script once, in one lock-guarded ScriptCache; each AppTest run
    # makes its own and compiles again, and CPython 3.11's ast.parse is not safe to run in
    # parallel threads (python/cpython#106905: "AST constructor recursion depth mismatch").
    compile_lock = threading.Lock()
    real_get_bytecode = ScriptCache.get_bytecode

    def get_bytecode(self, script_path: str):
        with compile_lock:
            return real_get_bytecode(self, script_path)

    # Each run also patches `config.get_option` to say `global.appTest` for its duration and
    # restores it when it ends: with runs overlapping, the first to end switches the option off
    # under the others, whose widgets then miss their test hooks (KeyError on a widget ID).
    # A server's option never flips, so here it is set once for all the sessions.
    from streamlit.testing.v1 import app_test
    from streamlit.testing.v1.util import patch_config_options

    real_patch = app_test.patch_config_options

    Runtime.instance = classmethod(instance)
    Runtime.exists = classmethod(exists)
    ScriptCache.get_bytecode = get_bytecode
    app_test.patch_config_options = lambda _overrides: contextlib.nullcontext()
    try:
        with patch_config_options({"global.appTest": True}):
            yield
    finally:
        Runtime.instance = real_instance
        Runtime.exists = real_exists
        ScriptCache.get_bytecode = real_get_bytecode
        app_test.patch_config_options = real_patch


def site_table(at) -> pd.DataFrame:
    """The page's site list (AppTest does not report a dataframe's key unless it selects)."""
    for frame in at.dataframe:
        if {"facility", "city", "country"} <= set(frame.value.columns):
            return frame.value
    shown = [e.value for e in at.error] + [w.value for w in at.warning]
    raise AssertionError(f"no site table on the page; it says {shown}")


def test_many_sessions_at_once_each_see_their_own_result(data_dir, monkeypatch, capsys) -> None:
    from streamlit.testing.v1 import AppTest

    from dashboard.sites.table import read_table

    monkeypatch.setenv("TRIAL_SITES_DATA", str(data_dir))
    table_file = data_dir / SEED_TABLE.name
    table = read_table(table_file)
    countries = sorted(set(table["country"]))
    file_before = sha256(table_file)
    cache_before = _cached_table_hash(data_dir)

    # Each session: first one or two countries, then (some) a "near" search, then clear.
    plans = []
    for i in range(SESSIONS):
        chosen = (countries[i % len(countries)],)
        if i % 3 == 1:
            chosen += (countries[(i * 7 + 3) % len(countries)],)
        near = NEAR_QUERIES[i % len(NEAR_QUERIES)] if i % 2 == 0 else None
        plans.append((tuple(sorted(set(chosen))), near))

    barrier = threading.Barrier(SESSIONS)
    errors: list[str] = []
    mismatches: list[str] = []
    reruns = Counter()

    def check(i: int, at, step: str, countries_: tuple[str, ...], near) -> None:
        reruns[i] += 1
        if at.exception:
            errors.append(f"session {i} {step}: {[e.value for e in at.exception]}")
            return
        shown = site_table(at)["facility"].tolist()
        want = _expected(table, countries_, near)
        if shown != want:
            mismatches.append(f"session {i} {step}: {len(shown)} shown, {len(want)} expected")
        metric = {m.label: m.value for m in at.metric}.get("Sites shown")
        if metric != f"{len(want)} of {len(table)}":
            mismatches.append(f"session {i} {step}: metric {metric!r}")

    def session(i: int) -> None:
        chosen, near = plans[i]
        try:
            at = AppTest.from_file(str(APP), default_timeout=SESSION_TIMEOUT_S)
            at.run()
            check(i, at, "open", (), None)
            barrier.wait(timeout=SESSION_TIMEOUT_S)  # every session changes filters together
            at.multiselect(key="country").set_value(list(chosen)).run()
            check(i, at, "countries", chosen, None)
            if near is not None:
                place, radius, units = near
                at.radio(key="units").set_value(units)
                at.text_input(key="near").set_value(place)
                at.selectbox(key="radius").set_value(f"{radius:g}").run()
                check(i, at, "near", chosen, near)
            at.multiselect(key="country").set_value([]).run()
            check(i, at, "cleared", (), near)
        except Exception as exc:  # reported with the others, so one failure shows them all
            errors.append(f"session {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(SESSIONS)]
    with shared_test_runtime():
        for t in threads:
            t.start()
        for t in threads:
            t.join(SESSION_TIMEOUT_S * 5)
    hung = sum(t.is_alive() for t in threads)

    cache_after = _cached_table_hash(data_dir)
    with capsys.disabled():
        print(
            f"\nsessions: {SESSIONS}, reruns: {sum(reruns.values())}, errors: {len(errors)}, "
            f"cross-talk mismatches: {len(mismatches)}, hung: {hung}, "
            f"cached table unchanged: {cache_after == cache_before}, "
            f"table file unchanged: {sha256(table_file) == file_before}"
        )
    assert hung == 0
    assert errors == []
    assert mismatches == []
    assert sum(reruns.values()) >= 3 * SESSIONS
    assert cache_after == cache_before
    assert sha256(table_file) == file_before


def test_ensure_table_failing_mid_build_leaves_the_table_byte_for_byte(data_dir) -> None:
    """The app's path: a stale table being rebuilt when the geocoder fails stays as it was."""
    from dashboard.ingest import load_trial
    from dashboard.sites.build import ensure_table

    record = data_dir / SEED.name
    # move one site so the saved table is stale and must be rebuilt
    record.write_text(
        record.read_text(encoding="utf-8").replace("Denver, Colorado", "Boulder, Colorado", 1),
        encoding="utf-8",
    )
    table_file = data_dir / SEED_TABLE.name
    before = sha256(table_file)
    failing = FailingGeocoder(OSError("gazetteer unavailable"), after=0)
    with pytest.raises(OSError, match="gazetteer unavailable"):
        ensure_table(load_trial(record), data_dir, geocoder=failing)
    assert failing.calls == 1
    assert sha256(table_file) == before
    assert leftovers(data_dir) == []
