"""`python -m dashboard parse` end to end: JSON on stdout, one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

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
    # The seed with a truncated address line (the country is cut off).
    pytest.param(
        lambda seed: seed.replace("Debrecen, , Hungary", "Debrecen, , Hung").encode(),
        True,
        id="truncated-address",
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
