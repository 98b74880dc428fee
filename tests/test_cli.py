"""The command line end to end: `parse` JSON, one-line errors, and paths checked before use.

Bad input (a record or overrides file that is missing or not a regular file) exits 2; an output
that cannot be used or written exits 1. A device, FIFO, directory or /proc file is never opened,
renamed or replaced.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from paths import ROOT, SEED_TABLE

ERROR_LINE = re.compile(r"^error: .+:(\d+: )?.+$")
EXIT_BAD_INPUT = 2


def _parse(path: Path | str) -> subprocess.CompletedProcess[str]:
    """Run the parse command on a path."""
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "parse", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_parse_seed_prints_the_trial_as_json(seed_path: Path) -> None:
    """The seed: exit 0, nothing on stderr, the summary and every site in the JSON."""
    done = _parse(seed_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    data = json.loads(done.stdout)
    assert data["nct_id"] == "NCT04270409"
    assert data["status"] == "ACTIVE_NOT_RECRUITING"
    assert data["phases"] == ["PHASE3"]
    assert data["enrollment"] == 337
    assert data["sponsor"] == "Sanofi"
    assert len(data["sites"]) == 105
    assert len(data["countries"]) == 24
    assert len(data["arms"]) == 2
    assert len(data["eligibility"]["inclusion"]) == 7
    assert data["sites"][0]["country_code"] == "US"


def test_parse_warns_on_site_number_country_mismatch(seed_text: str, tmp_path: Path) -> None:
    """A site number naming another country: a `warning:` line, still exit 0."""
    bad = tmp_path / "mismatch.txt"
    bad.write_text(
        seed_text.replace(
            "Investigational Site Number :0360005", "Investigational Site Number :2500099"
        ),
        encoding="utf-8",
    )
    done = _parse(bad)
    assert done.returncode == 0
    (line,) = done.stderr.splitlines()
    assert re.match(r"^warning: .+mismatch\.txt:\d+: site number 2500099 ", line)
    assert json.loads(done.stdout)["nct_id"] == "NCT04270409"


def _cut_after(text: str, line: str) -> str:
    """The text up to and including the first line equal to `line`."""
    lines = text.splitlines()
    return "\n".join(lines[: lines.index(line) + 1]) + "\n"


def _cut_before(text: str, line: str) -> str:
    """The text up to, not including, the first line equal to `line`."""
    lines = text.splitlines()
    return "\n".join(lines[: lines.index(line)]) + "\n"


BAD_INPUTS = [
    # An empty file (a failed download).
    pytest.param(lambda seed: b"", False, id="empty"),
    # A binary file: the first bytes of a PNG.
    pytest.param(
        lambda seed: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), True, id="binary"
    ),
    # The study's web page saved instead of the record.
    pytest.param(
        lambda seed: b"<!DOCTYPE html>\n<html><head><title>NCT04270409</title></head></html>\n",
        True,
        id="html",
    ),
    # Not a trial record at all: the project's own Makefile.
    pytest.param(lambda seed: (ROOT / "Makefile").read_bytes(), True, id="not-a-record"),
    # The seed cut off right after a facility line: no address follows.
    pytest.param(
        lambda seed: _cut_after(seed, "Investigational Site Number :0360005").encode(),
        True,
        id="cut-mid-site",
    ),
    # The seed cut off after its last site: Locations is not closed by Countries.
    pytest.param(lambda seed: _cut_before(seed, "Countries").encode(), True, id="no-countries"),
    # The seed cut off in its eligibility criteria, long before Locations: no silent half-trial.
    pytest.param(
        lambda seed: _cut_before(seed, "Minimum Eligible Age").encode(), True, id="cut-early"
    ),
]


@pytest.mark.parametrize(("make", "has_line"), BAD_INPUTS)
def test_bad_input_gives_one_error_line(
    make, has_line: bool, seed_text: str, tmp_path: Path
) -> None:
    """Exit 2, one `error: FILE[:LINE]: message` line on stderr, no traceback."""
    bad = tmp_path / "record.txt"
    bad.write_bytes(make(seed_text))
    done = _parse(bad)
    assert done.returncode == EXIT_BAD_INPUT
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert ERROR_LINE.match(line), line
    where = re.match(rf"^error: {re.escape(str(bad))}:(\d+: )?", line)
    assert where, line
    assert bool(where.group(1)) == has_line, line


def test_directory_gives_one_error_line(tmp_path: Path) -> None:
    """A directory instead of a file."""
    done = _parse(tmp_path)
    assert done.returncode == EXIT_BAD_INPUT
    (line,) = done.stderr.splitlines()
    assert ERROR_LINE.match(line), line
    assert "directory" in line


def test_missing_path_gives_one_error_line(tmp_path: Path) -> None:
    """A path that does not exist."""
    done = _parse(tmp_path / "NCT00000000.txt")
    assert done.returncode == EXIT_BAD_INPUT
    (line,) = done.stderr.splitlines()
    assert ERROR_LINE.match(line), line
    assert "no such file" in line
    assert "Traceback" not in done.stderr


def test_parse_into_a_closed_pipe_is_quiet(seed_path: Path) -> None:
    """`parse ... | head -1`: the reader leaves early; no BrokenPipeError traceback, exit 0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "parse", str(seed_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `head` exiting before the JSON is written: every write fails
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in stderr


# ----------------------------------------------------------------------------- paths checked first

HANG_GUARD_S = 20  # a command that opened a FIFO would block forever; this is no timing check
NULL_DEVICE = (1, 3)  # major, minor of /dev/null
ZERO_DEVICE = (1, 5)  # major, minor of /dev/zero


def _run(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """`python -m dashboard ...` in a subprocess that must finish within the hang guard."""
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=HANG_GUARD_S,
        check=False,
    )


def _char_device(path: Path, device: tuple[int, int] = NULL_DEVICE) -> Path:
    """A copy of a character device made with mknod (skips the test where that is not allowed)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(*device))
    except PermissionError:
        pytest.skip("os.mknod needs root (CAP_MKNOD) to make a character device")
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _loop(path: Path) -> Path:
    other = path.with_name(path.name + "-other")
    path.symlink_to(other)
    other.symlink_to(path)
    return path


def _regular(path: Path) -> Path:
    path.write_text("not a directory\n")
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _unchanged(path: Path, kind: Callable[[int], bool]) -> None:
    """`path` is still there, still of its kind, and nothing was set aside or written next to it."""
    assert kind(os.lstat(path).st_mode)
    assert not [p for p in path.parent.iterdir() if ".corrupt-" in p.name or p.suffix == ".tmp"]


@pytest.fixture
def never_opened(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Fails the test if the path given to the returned function is opened (builtins/os/io)."""
    import builtins
    import io as stdlib_io

    guarded: set[str] = set()

    def guard(real: Callable[..., Any]) -> Callable[..., Any]:
        def opener(file: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) in guarded:
                raise AssertionError(f"{file} was opened")
            return real(file, *args, **kwargs)

        return opener

    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(stdlib_io, "open", guard(stdlib_io.open))
    monkeypatch.setattr(os, "open", guard(os.open))
    return lambda path: guarded.add(os.path.abspath(path))


def _one_error_line(err: str, path: Path | str, says: str) -> None:
    """Exactly one `error: PATH: <what it is>, expected <what>` line, no traceback."""
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith(f"error: {path}: "), line
    assert says in line and ", expected " in line, line


# maker of the --out path, the words of the refusal, the kind it must still be afterwards
BAD_OUTS = [
    # a copy of /dev/null: as root, the old build renamed it *.corrupt-<time> and wrote a file
    pytest.param(_char_device, "a character device", stat.S_ISCHR, id="char-device"),
    # two symlinks pointing at each other (the old build gave a traceback)
    pytest.param(_loop, "a symbolic link loop", stat.S_ISLNK, id="symlink-loop"),
    # a directory (the old message was misleading)
    pytest.param(_directory, "a directory", stat.S_ISDIR, id="directory"),
]


@pytest.mark.parametrize(("make", "says", "kind"), BAD_OUTS)
def test_build_refuses_an_out_that_is_not_a_file(
    make, says: str, kind, seed_path: Path, tmp_path: Path, capsys, never_opened
) -> None:
    """Exit 1, one error line; the path is not opened, renamed or replaced."""
    from dashboard import cli

    out = make(tmp_path / "t.sites.csv")
    never_opened(out)
    assert cli.main(["build", str(seed_path), "--out", str(out), "--quiet"]) == 1
    _one_error_line(capsys.readouterr().err, out, says)
    _unchanged(out, kind)
    if kind is stat.S_ISCHR:
        rdev = os.lstat(out).st_rdev
        assert (os.major(rdev), os.minor(rdev)) == NULL_DEVICE
    if kind is stat.S_ISDIR:
        assert list(out.iterdir()) == []


def test_build_refuses_an_out_in_a_missing_directory(seed_path: Path, tmp_path: Path, capsys):
    """`--out nowhere/t.csv`: exit 1, one line, and the directory is not created."""
    from dashboard import cli

    out = tmp_path / "nowhere" / "t.sites.csv"
    assert cli.main(["build", str(seed_path), "--out", str(out), "--quiet"]) == 1
    _one_error_line(capsys.readouterr().err, out, "missing directory")
    assert not out.parent.exists()


def test_build_refuses_proc_self_mem_as_out(seed_path: Path, capsys) -> None:
    """A kernel file that stat calls regular (size 0): refused, exit 1."""
    from dashboard import cli

    assert cli.main(["build", str(seed_path), "--out", "/proc/self/mem", "--quiet"]) == 1
    _one_error_line(capsys.readouterr().err, "/proc/self/mem", "kernel file")


# maker of the record path, the words of the refusal
BAD_RECORDS = [
    # a copy of /dev/zero: the old build read it without limit (10.7 GB in 19 s)
    pytest.param(lambda p: _char_device(p, ZERO_DEVICE), "a character device", id="zero"),
    # a kernel file: "regular", size 0, reading it reads memory (the old build: a traceback)
    pytest.param(lambda p: Path("/proc/self/mem"), "kernel file", id="proc-self-mem"),
    # a symlink loop (the old build: a traceback)
    pytest.param(_loop, "a symbolic link loop", id="symlink-loop"),
]


@pytest.mark.parametrize("command", ["parse", "build"])
@pytest.mark.parametrize(("make", "says"), BAD_RECORDS)
def test_a_record_that_is_not_a_file_is_refused_unread(
    command: str, make, says: str, tmp_path: Path, capsys, never_opened
) -> None:
    """Bad input: exit 2, one error line, and the path is never opened."""
    from dashboard import cli

    record = make(tmp_path / "record.txt")
    never_opened(record)
    argv = [command, str(record)]
    if command == "build":
        argv += ["--out", str(tmp_path / "t.sites.csv"), "--quiet"]
    assert cli.main(argv) == EXIT_BAD_INPUT
    _one_error_line(capsys.readouterr().err, record, says)
    assert not (tmp_path / "t.sites.csv").exists()


# the FIFO's role, the arguments (FIFO, SEED, OUT filled in), the exit code
FIFO_CASES = [
    # the table to write: opening it for the cached rows would wait for a writer forever
    pytest.param(lambda f, s, o: ["build", s, "--out", f], 1, id="out"),
    # the record to build from
    pytest.param(lambda f, s, o: ["build", f, "--out", o], EXIT_BAD_INPUT, id="build-record"),
    # the record to parse
    pytest.param(lambda f, s, o: ["parse", f], EXIT_BAD_INPUT, id="parse-record"),
    # the overrides file
    pytest.param(
        lambda f, s, o: ["build", s, "--out", o, "--overrides", f], EXIT_BAD_INPUT, id="overrides"
    ),
]


@pytest.mark.parametrize(("argv", "code"), FIFO_CASES)
def test_a_fifo_is_refused_promptly_and_left_in_place(
    argv, code: int, seed_path: Path, tmp_path: Path
) -> None:
    """A FIFO with no writer: refused at once (subprocess under a hang guard), still a FIFO."""
    fifo = _fifo(tmp_path / "pipe")
    out = tmp_path / "t.sites.csv"
    done = _run(*argv(str(fifo), str(seed_path), str(out)))
    assert done.returncode == code, done.stderr
    _one_error_line(done.stderr, fifo, "a named pipe (FIFO)")
    _unchanged(fifo, stat.S_ISFIFO)
    assert not out.exists()


# what fails while the table is saved, the errno: one `error: OUT: <strerror>` line, exit 1
WRITE_FAILURES = [
    # a read-only filesystem refuses the rename (root ignores chmod 0o555, so it is simulated)
    pytest.param("os.replace", errno.EROFS, id="erofs-rename"),
    # a read-only directory refuses the temporary file
    pytest.param("tempfile.mkstemp", errno.EROFS, id="erofs-temp-file"),
    # the disk is full when the data is flushed
    pytest.param("os.fsync", errno.ENOSPC, id="enospc"),
    # the directory is not writable for this user
    pytest.param("os.replace", errno.EACCES, id="eacces"),
]


@pytest.mark.parametrize(("where", "code"), WRITE_FAILURES)
def test_an_output_that_cannot_be_written_is_one_error_line(
    where: str, code: int, seed_path: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Exit 1, `error: OUT: <strerror>`, no traceback; the old table stays byte for byte."""
    import dashboard.io
    from dashboard import cli

    out = tmp_path / "t.sites.csv"
    shutil.copy(SEED_TABLE, out)  # every row is cached: the build goes straight to the save
    before = out.read_bytes()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    module, name = where.split(".")
    monkeypatch.setattr(getattr(dashboard.io, module), name, refuse)
    assert cli.main(["build", str(seed_path), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines() == [f"error: {out}: {os.strerror(code)}"]
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_an_os_error_without_a_file_is_one_error_line(
    seed_path: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """The network geocoder's connection fails for good: one line, exit 1, nothing written."""
    import dashboard.geocoding.sources as sources
    from dashboard import cli

    class Unreachable:
        def geocode(self, site: object) -> None:
            raise OSError(errno.ENETUNREACH, os.strerror(errno.ENETUNREACH))

    monkeypatch.setattr(sources, "offline_geocoder", Unreachable)
    out = tmp_path / "t.sites.csv"
    assert cli.main(["build", str(seed_path), "--out", str(out), "--quiet", "--force"]) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: {os.strerror(errno.ENETUNREACH)}"]
    assert not out.exists()


# maker of the --out-dir path, the words of the refusal
BAD_OUT_DIRS = [
    # a regular file where the directory should be
    pytest.param(_regular, "a regular file", id="regular-file"),
    # a copy of /dev/null
    pytest.param(_char_device, "a character device", id="char-device"),
    # a FIFO
    pytest.param(_fifo, "a named pipe (FIFO)", id="fifo"),
    # a symlink loop
    pytest.param(_loop, "a symbolic link loop", id="symlink-loop"),
    # a new directory under a regular file
    pytest.param(lambda p: _regular(p) / "sub", "not a directory", id="under-a-file"),
]


@pytest.mark.parametrize(("make", "says"), BAD_OUT_DIRS)
def test_fetch_refuses_an_out_dir_that_is_not_a_directory(
    make, says: str, tmp_path: Path, capsys
) -> None:
    """Checked before the download: exit 1, one line, the path left as it was."""
    from dashboard import cli

    out_dir = make(tmp_path / "data")
    before = os.lstat(tmp_path / "data")
    # port 9 (discard) on 127.0.0.1: if the check did not stop it, the download would fail instead
    argv = ["fetch", "NCT04270409", "--out-dir", str(out_dir), "--base-url", "http://127.0.0.1:9"]
    assert cli.main([*argv, "--timeout", "1"]) == 1
    _one_error_line(capsys.readouterr().err, out_dir, says)
    after = os.lstat(tmp_path / "data")
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


# `fetch` takes one NCT ID or a search; anything else is a usage error (exit 2), before any
# request (the base URL is port 9 on 127.0.0.1: a request would fail differently) or any write.
FETCH_USAGE_ERRORS = [
    # neither an NCT ID nor a search
    ([], "give an NCT ID (e.g. NCT04270409) or a search"),
    (["--out-dir", "x"], "give an NCT ID (e.g. NCT04270409) or a search"),
    # both
    (["NCT04270409", "--query", "myeloma"], "give an NCT ID or a search"),
    # search options with one NCT ID
    (["NCT04270409", "--page-size", "10"], "--page-size applies to a search"),
    (["NCT04270409", "--max-studies", "10"], "--max-studies applies to a search"),
    (["NCT04270409", "--restart"], "--restart applies to a search"),
    # page sizes the API cannot serve (it would cut 1001 down to 1000 without a word)
    (["--query", "x", "--page-size", "0"], "expected a page size from 1 to 1,000"),
    (["--query", "x", "--page-size", "1001"], "expected a page size from 1 to 1,000"),
    (["--query", "x", "--page-size", "-3"], "expected a page size from 1 to 1,000"),
    (["--query", "x", "--page-size", "ten"], "argument --page-size: invalid int value: 'ten'"),
    (["--query", "x", "--max-studies", "0"], "--max-studies must be at least 1"),
    # a status the API does not know
    (["--cond", "x", "--status", "RECRUITING,open"], "unknown overall status 'open'"),
    # a search of nothing but blanks
    (["--query", "  "], "a search needs a query, a condition or a status"),
]


@pytest.mark.parametrize(("argv", "says"), FETCH_USAGE_ERRORS)
def test_fetch_needs_exactly_one_nct_id_or_search(
    argv: list[str], says: str, tmp_path: Path, capsys
) -> None:
    from dashboard import cli

    base = ["--base-url", "http://127.0.0.1:9", "--timeout", "1"]
    with pytest.raises(SystemExit) as exited:
        cli.main(["fetch", *argv, *base, "--out-dir", str(tmp_path / "out")])
    assert exited.value.code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m dashboard fetch")
    assert f"python -m dashboard fetch: error: {says}" in err
    assert not (tmp_path / "out").exists()


def test_fetch_help_says_where_a_search_saves(capsys) -> None:
    from dashboard import cli

    with pytest.raises(SystemExit):
        cli.main(["fetch", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "data/portfolio/ for a search" in help_text
    for flag in ("--query", "--cond", "--status", "--page-size", "--max-studies", "--restart"):
        assert flag in help_text


def test_an_unknown_country_is_a_warning_not_a_refusal(tmp_path, seed_text, capsys):
    """One site's country cut short ("Hung"): the record loads, the site keeps the text, and
    the command says so in one warning line (issue: never refuse a record for one place)."""
    from dashboard import cli

    record = tmp_path / "r.txt"
    record.write_text(seed_text.replace("Debrecen, , Hungary", "Debrecen, , Hung"), "utf-8")
    assert cli.main(["parse", str(record)]) == 0
    out = capsys.readouterr()
    assert "warning:" in out.err and "unknown country 'Hung'" in out.err
    assert '"country": "Hung"' in out.out
