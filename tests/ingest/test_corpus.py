"""Bad inputs from tests/corpus/: each is refused with one clear line, never a traceback or a hang.

Every bad file goes through both ways in: the command line (`python -m dashboard parse`, as a
subprocess, so what is checked is what a user sees) and the app's upload path (`read_record`,
the pure function `app.py` calls on uploaded bytes, plus the page itself through AppTest).
Readable-but-unusual encodings (Latin-1, UTF-8 with a BOM, UTF-16) must be *read*, and read to
the same trial as the UTF-8 original.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from paths import APP, CORPUS, HOSTILE, ROOT, SEED

from dashboard.errors import RecordError
from dashboard.ingest import MAX_RECORD_BYTES, load_trial, read_record
from dashboard.model import trial_to_dict

HANG_GUARD_S = 60  # a subprocess still running after this has hung: fail instead of waiting
APP_TIMEOUT_S = 90  # the app's first run loads the place index
BIG_BYTES = 100 * 1024 * 1024
ONE_MB = 1024 * 1024


# ----------------------------------------------------------------------------- file makers
# Each maker gets a scratch directory and returns the path to hand to the command line.


def corpus(name: str) -> Callable[[Path], Path]:
    """A committed corpus file."""
    return lambda _tmp: CORPUS / name


def big_file(tmp: Path) -> Path:
    """100 MB of a real record repeated: text all the way, so only the size can refuse it."""
    path = tmp / "big.txt"
    seed = SEED.read_bytes()
    with open(path, "wb") as fh:
        for _ in range(BIG_BYTES // len(seed) + 1):
            fh.write(seed)
    return path


def deep_json(tmp: Path) -> Path:
    """JSON nested far deeper than Python's recursion limit."""
    path = tmp / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def directory(tmp: Path) -> Path:
    """A directory where a record file was expected."""
    path = tmp / "records.txt"
    path.mkdir()
    return path


def missing(tmp: Path) -> Path:
    """A path to nothing."""
    return tmp / "NCT00000000.txt"


def utf16(tmp: Path) -> Path:
    """The seed saved as UTF-16 with a BOM (what Windows Notepad calls "Unicode")."""
    path = tmp / "utf16.txt"
    path.write_bytes(SEED.read_text(encoding="utf-8").encode("utf-16"))
    return path


# name, maker, words the error line must contain
BAD_INPUTS = [
    # nothing at all: the most common accident (an interrupted download, `touch`)
    ("empty", corpus("empty.txt"), "empty"),
    # binary bytes behind a .txt name: the extension is not trusted
    ("binary", corpus("binary.txt"), "binary"),
    # a NUL in otherwise good text: a corrupted copy, still refused as binary, with its line
    ("nul in text", corpus("nul_in_text.txt"), "binary"),
    # an HTML page saved instead of the record (a login wall or a bot check)
    ("html", corpus("page.html"), "HTML"),
    # plain text that is not a trial: must say what it expected
    ("not a trial", corpus("not_a_trial.txt"), "NCT ID"),
    # a real record cut off inside a site block: refused, not read as fewer sites
    ("truncated mid-site", corpus("truncated_mid_site.txt"), "Site Status"),
    # well-formed JSON of another kind
    ("json not a study", corpus("not_a_study.json"), "protocolSection"),
    # a real API v2 study cut off after 700 bytes: the error names a line
    ("broken json", corpus("broken.json"), "expected JSON"),
    # the classic API's format, retired in 2024 but still in people's folders
    ("classic api json", corpus("classic_api.json"), "classic API"),
    # a search that found nothing
    ("empty search", corpus("empty_search.json"), "empty search"),
    # nesting deep enough to blow Python's recursion limit inside json.loads
    ("deep json", deep_json, "nesting"),
    # 100 MB: refused by size without reading it all (the limit is MAX_RECORD_BYTES)
    ("100 MB", big_file, "at most"),
    # an endless device: the bounded read stops at the size limit
    ("/dev/zero", lambda _tmp: Path("/dev/zero"), "at most"),
    # a directory named like a record
    ("directory", directory, "directory"),
    # a path to nothing
    ("missing", missing, "no such file"),
]

# name, maker: these are records in an unusual encoding, and must parse like the original
GOOD_ENCODINGS = [
    # the seed saved by an old Windows/European editor (≤ ≥ spelled <= >=, which Latin-1 lacks)
    ("latin-1", corpus("latin1.txt")),
    # the seed with a UTF-8 byte-order mark, as Notepad writes it
    ("utf-8 bom", corpus("utf8_bom.txt")),
    # the seed as UTF-16 with a BOM
    ("utf-16", utf16),
]


def run_cli(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """`python -m dashboard ...` as a user runs it (with a hang guard, not a timing check)."""
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )


def comparable(trial) -> dict:
    """A parsed trial without the fields that only say which file it came from."""
    data = trial_to_dict(trial)
    for key in ("source", "path", "source_path"):
        data.pop(key, None)
    return data


def latin1_reference() -> dict:
    """The Latin-1 corpus file's text, parsed from UTF-8."""
    text = SEED.read_text(encoding="utf-8").replace("≤", "<=").replace("≥", ">=")
    return comparable(read_record(text.encode("utf-8"), "reference.txt"))


# ----------------------------------------------------------------------------- command line


@pytest.mark.parametrize(("name", "make", "says"), BAD_INPUTS, ids=[r[0] for r in BAD_INPUTS])
def test_cli_refuses_bad_input_with_one_error_line(name, make, says, tmp_path) -> None:
    path = make(tmp_path)
    done = run_cli("parse", path)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}"), lines[0]
    assert says.lower() in lines[0].lower(), lines[0]
    assert done.stdout == ""


@pytest.mark.parametrize(("name", "make"), GOOD_ENCODINGS, ids=[r[0] for r in GOOD_ENCODINGS])
def test_cli_reads_unusual_encodings_like_utf8(name, make, tmp_path) -> None:
    done = run_cli("parse", make(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    parsed = json.loads(done.stdout)
    assert parsed["nct_id"] == "NCT04270409"
    assert len(parsed["sites"]) == 105


@pytest.mark.parametrize(("name", "make"), GOOD_ENCODINGS, ids=[r[0] for r in GOOD_ENCODINGS])
def test_unusual_encodings_parse_to_the_same_trial(name, make, tmp_path) -> None:
    got = comparable(load_trial(make(tmp_path)))
    want = latin1_reference() if name == "latin-1" else comparable(load_trial(SEED))
    assert got == want
    # the accented names survive the round trip (Latin-1 read as UTF-8 would mangle them)
    cities = {s["city"] for s in got["sites"]}
    assert any(any(ord(ch) > 127 for ch in c) for c in cities), cities


# ----------------------------------------------------------------------------- upload path

# The app hands read_record the uploaded bytes and the file's name; files are bytes there, so
# the directory, missing-path and device rows do not apply.
UPLOADABLE = [r for r in BAD_INPUTS if r[0] not in {"directory", "missing", "/dev/zero"}]


@pytest.mark.parametrize(("name", "make", "says"), UPLOADABLE, ids=[r[0] for r in UPLOADABLE])
def test_upload_path_refuses_bad_bytes_with_a_record_error(name, make, says, tmp_path) -> None:
    path = make(tmp_path)
    data = path.read_bytes()
    with pytest.raises(RecordError) as caught:
        read_record(data, path.name)
    line = caught.value.one_line()
    assert line.startswith(path.name)
    assert "\n" not in line
    assert says.lower() in line.lower()


def test_upload_path_refuses_oversize_bytes_before_parsing() -> None:
    """One byte over the limit, made of good record text: only the size can refuse it."""
    seed = SEED.read_bytes()
    data = (seed * (MAX_RECORD_BYTES // len(seed) + 2))[: MAX_RECORD_BYTES + 1]
    with pytest.raises(RecordError, match="at most"):
        read_record(data, "big.txt")


@pytest.mark.parametrize(("name", "make"), GOOD_ENCODINGS, ids=[r[0] for r in GOOD_ENCODINGS])
def test_upload_path_reads_unusual_encodings(name, make, tmp_path) -> None:
    path = make(tmp_path)
    trial = read_record(path.read_bytes(), path.name)
    assert trial.nct_id == "NCT04270409"
    assert len(trial.sites) == 105


# ----------------------------------------------------------------------------- the page


def _town(i: int) -> str:
    """A made-up town name, letters only (digits would read as a postcode)."""
    letters = ""
    for _ in range(4):
        i, r = divmod(i, 26)
        letters += chr(ord("a") + r)
    return "Zq" + letters


def many_sites_record(n_sites: int = 2_001) -> bytes:
    """A readable record with `n_sites` sites in made-up towns (each one a slow fuzzy lookup)."""
    base = HOSTILE.read_text(encoding="utf-8")
    end = base.index("Countries\n")
    head = base[: base.index("Clinic <img")]  # through the Locations heading and intro
    blocks = [
        f"Site {i} Site Number : 250{i:04d}\n\n{_town(i)}, , France\n\nSite Status\n\n"
        for i in range(n_sites)
    ]
    tail = base[end:].replace("France United States", "France")
    return (head + "".join(blocks) + tail).encode("utf-8")


APP_UPLOADS = [
    # binary bytes: one sidebar error, the listed trial still shown
    ("binary", lambda: (CORPUS / "binary.txt").read_bytes(), "binary.txt", "binary"),
    # an HTML page
    ("html", lambda: (CORPUS / "page.html").read_bytes(), "page.txt", "HTML"),
    # broken JSON
    ("broken json", lambda: (CORPUS / "broken.json").read_bytes(), "broken.json", "JSON"),
    # a cut-off record
    (
        "truncated",
        lambda: (CORPUS / "truncated_mid_site.txt").read_bytes(),
        "cut.txt",
        "Site Status",
    ),
    # over the app's own upload limit (the server's limit is the same; AppTest skips it)
    ("6 MB", lambda: b"x" * (6 * ONE_MB), "big.txt", "larger than"),
    # readable, 180 kB, but 2,001 sites in unknown towns: geocoding it on the server would
    # take minutes, so the upload is refused before any geocoding
    ("too many sites", many_sites_record, "many.txt", "at most 2,000 sites"),
]


@pytest.fixture(scope="module")
def app_test():
    """A fresh AppTest factory."""
    from streamlit.testing.v1 import AppTest

    def make() -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S)
        at.run()
        assert not at.exception, at.exception
        return at

    return make


@pytest.mark.parametrize(
    ("name", "data", "filename", "says"), APP_UPLOADS, ids=[r[0] for r in APP_UPLOADS]
)
def test_page_shows_one_error_for_a_bad_upload_and_keeps_working(
    app_test, name, data, filename, says
) -> None:
    at = app_test()
    title = at.title[0].value
    at.file_uploader(key="upload").set_value((filename, data(), "text/plain")).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1, errors
    assert says.lower() in errors[0].lower(), errors[0]
    assert "Traceback" not in errors[0]
    # the page falls back to the listed trial rather than going blank
    assert at.title[0].value == title


def test_page_reads_a_latin1_upload(app_test) -> None:
    at = app_test()
    data = (CORPUS / "latin1.txt").read_bytes()
    at.file_uploader(key="upload").set_value(("latin1.txt", data, "text/plain")).run()
    assert not at.exception, at.exception
    assert not at.sidebar.error
    assert any("uploaded record" in m.value for m in at.markdown)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Sites shown"] == "105 of 105", shown
