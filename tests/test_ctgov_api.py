"""Tests for dashboard.ctgov_api against a local HTTP server on 127.0.0.1 (never the internet).

The body deadline is tested through the `opener` and `clock` seams, on a fake clock.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from paths import CTGOV_FIXTURES, ROOT

from dashboard import cli, ctgov_api
from dashboard.ctgov_api import fetch_study, normalise_nct_id, save_study, study_url
from dashboard.errors import FetchError

STUDY_ID = "NCT06323538"
STUDY_BODY = (CTGOV_FIXTURES / f"{STUDY_ID}.json").read_bytes()
SLOW_ID = "NCT00000001"
SHORT_TIMEOUT = 0.3  # seconds the client waits on the slow route
SLOW_HOLD = 10.0  # the slow route's longest stall; released at teardown
CLI_TIMEOUT = 60

# NCT ID -> (status, body) the fake registry answers with.
ROUTES: dict[str, tuple[int, bytes]] = {
    STUDY_ID: (200, STUDY_BODY),
    "NCT00000404": (404, b'{"message": "not found"}'),
    "NCT00000429": (429, b"Too Many Requests"),
    "NCT00000403": (403, b"<html>Forbidden</html>"),
    "NCT00000500": (500, b"Internal Server Error"),
    "NCT00000503": (503, b"Service Unavailable"),
    "NCT00000002": (200, b"<!DOCTYPE html><html><body>maintenance</body></html>"),
    "NCT00000003": (200, b'{"foo": 1}'),
    "NCT00000004": (200, b"\xff\xfe\x00garbage"),
    "NCT00000005": (200, json.dumps({"protocolSection": {"identificationModule": {}}}).encode()),
}


class FakeRegistry:
    """A ThreadingHTTPServer on 127.0.0.1 that serves ROUTES under /api/v2/studies/."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                owner.requests.append({"path": self.path, **dict(self.headers)})
                nct_id = self.path.split("?")[0].rsplit("/", 1)[-1]
                if nct_id == SLOW_ID:
                    owner.release.wait(SLOW_HOLD)  # bounded, and let go at teardown
                    return
                status, body = ROUTES.get(nct_id, (404, b"{}"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status == 429:
                    self.send_header("Retry-After", "30")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass  # keep test output clean

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/v2"

    def __enter__(self) -> FakeRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeRegistry]:
    """One local registry for the module's tests."""
    with FakeRegistry() as server:
        yield server


@pytest.fixture(autouse=True)
def no_proxy_for_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's HTTP(S)_PROXY must not swallow requests to 127.0.0.1 (subprocesses too)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: stands in for "no network"."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Fetching


def test_fetch_returns_the_study_and_asks_politely(fake: FakeRegistry) -> None:
    study = fetch_study(STUDY_ID, base_url=fake.base_url, timeout=5)
    assert study == json.loads(STUDY_BODY)
    request = fake.requests[-1]
    assert request["path"] == f"/api/v2/studies/{STUDY_ID}?format=json"
    assert request["User-Agent"].startswith("trial-sites-dashboard/")
    assert request["Accept"] == "application/json"


def test_fetch_accepts_a_lowercase_id_with_spaces(fake: FakeRegistry) -> None:
    assert fetch_study(f" {STUDY_ID.lower()} ", base_url=fake.base_url, timeout=5)


@pytest.mark.parametrize(
    ("nct_id", "message"),
    [
        ("NCT00000404", "NCT00000404 not found on ClinicalTrials.gov (HTTP 404)"),
        ("NCT00000429", "limiting requests (HTTP 429): wait 30 s"),  # Retry-After honoured
        ("NCT00000403", "refused the request (HTTP 403)"),
        ("NCT00000500", "server error (HTTP 500)"),
        ("NCT00000503", "server error (HTTP 503)"),  # any 5xx, not only 500
        ("NCT00000002", "not JSON"),  # an HTML maintenance page with status 200
        ("NCT00000004", "not JSON"),  # bytes that are not even text
        ("NCT00000003", "JSON that is not a study"),  # valid JSON, wrong thing
    ],
)
def test_fetch_failures_are_fetch_errors_with_a_hint(
    fake: FakeRegistry, nct_id: str, message: str
) -> None:
    with pytest.raises(FetchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fetch_study(nct_id, base_url=fake.base_url, timeout=5)


def test_a_slow_registry_times_out_within_bounds(fake: FakeRegistry) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within 0.3 s"):
        fetch_study(SLOW_ID, base_url=fake.base_url, timeout=SHORT_TIMEOUT)
    assert time.monotonic() - started < SLOW_HOLD / 2  # the timeout fired, not the server


def test_no_network_says_check_your_connection(closed_port: int) -> None:
    with pytest.raises(FetchError, match=r"cannot reach ClinicalTrials.gov \(127.0.0.1:\d+: .*"):
        fetch_study(STUDY_ID, base_url=f"http://127.0.0.1:{closed_port}/api/v2", timeout=2)
    with pytest.raises(FetchError, match="check your connection"):
        fetch_study(STUDY_ID, base_url=f"http://127.0.0.1:{closed_port}/api/v2", timeout=2)


@pytest.mark.parametrize(
    "nct_id",
    [
        "",  # nothing
        "NCT123",  # too short
        "NCT042704090",  # nine digits
        "04270409",  # digits without the prefix
        "NCT0427040X",  # a letter among the digits
        "NCT04270409/../x",  # path tricks never reach the URL
    ],
)
def test_bad_nct_ids_are_refused_before_any_request(nct_id: str) -> None:
    with pytest.raises(FetchError, match="expected an NCT ID like NCT04270409"):
        fetch_study(nct_id, base_url="http://127.0.0.1:9/never-used")


@pytest.mark.parametrize("timeout", [0, -1.0])  # socket timeouts must be positive
def test_a_timeout_that_is_not_positive_is_refused(timeout: float) -> None:
    with pytest.raises(FetchError, match="expected a timeout above 0 seconds"):
        fetch_study(STUDY_ID, base_url="http://127.0.0.1:9/never-used", timeout=timeout)


def test_normalise_and_url() -> None:
    assert normalise_nct_id("nct04270409\n") == "NCT04270409"
    assert study_url("NCT04270409", "https://x.test/api/v2/") == (
        "https://x.test/api/v2/studies/NCT04270409?format=json"
    )
    assert ctgov_api.API_BASE == "https://clinicaltrials.gov/api/v2"


def test_a_body_over_the_limit_is_refused(
    fake: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctgov_api, "MAX_BODY_BYTES", 1000)
    monkeypatch.setattr(ctgov_api, "CHUNK_BYTES", 100)
    with pytest.raises(FetchError, match="more than 1,000 bytes"):
        fetch_study(STUDY_ID, base_url=fake.base_url, timeout=5)


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it: no real waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class TrickleResponse(io.BytesIO):
    """A 200 response whose body arrives `chunk` bytes per read, each after `gap_s` (fake) s."""

    def __init__(self, body: bytes, clock: FakeClock, gap_s: float, chunk: int = 1) -> None:
        super().__init__(body)
        self.clock = clock
        self.gap_s = gap_s
        self.chunk = chunk
        self.reads = 0

    def read1(self, size: int = -1) -> bytes:
        self.clock.sleep(self.gap_s)
        self.reads += 1
        return super().read1(min(size, self.chunk))


def _trickle_opener(response: TrickleResponse, seen: list[float]):
    def opener(request, timeout):
        seen.append(timeout)
        return response

    return opener


def test_a_trickled_body_stops_at_the_deadline_on_a_fake_clock() -> None:
    """120 bytes at one per 0.2 s: each gap is under the 0.5 s timeout, the whole (24 s) is far
    past the 3 x 0.5 s body deadline; the fetch must stop at the deadline, not when the body ends.
    """
    clock = FakeClock()
    body = b"{" + b" " * 118 + b"}"
    response = TrickleResponse(body, clock, gap_s=0.2)
    seen: list[float] = []
    with pytest.raises(FetchError, match=r"took longer than 1\.5 s to send .*raise --timeout"):
        fetch_study(STUDY_ID, timeout=0.5, opener=_trickle_opener(response, seen), clock=clock)
    assert seen == [0.5]  # the socket timeout still goes to the opener
    # It gave up on the first read past the deadline (8 x 0.2 s = 1.6 s), long before the end.
    assert response.reads == 8 < len(body)


def test_a_body_that_trickles_in_within_the_deadline_is_read() -> None:
    """The same trickle, with the whole body inside the deadline: the study comes back whole."""
    clock = FakeClock()
    chunk = len(STUDY_BODY) // 50 + 1
    response = TrickleResponse(STUDY_BODY, clock, gap_s=0.02, chunk=chunk)
    study = fetch_study(STUDY_ID, timeout=0.5, opener=_trickle_opener(response, []), clock=clock)
    assert study == json.loads(STUDY_BODY)
    assert clock.now - 1000.0 <= 3 * 0.5


# ---------------------------------------------------------------------------------------------
# Saving and the `fetch` command


def _fetch(base_url: str, out_dir: Path, nct_id: str = STUDY_ID) -> int:
    """`python -m dashboard fetch`, in process: the exit code."""
    argv = ["fetch", nct_id, "--out-dir", str(out_dir), "--base-url", base_url, "--timeout", "5"]
    return cli.main(argv)


def test_fetch_command_saves_the_study_and_says_where(
    fake: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nested" / "data"
    assert _fetch(fake.base_url, out) == 0
    saved = out / f"{STUDY_ID}.json"
    assert json.loads(saved.read_text(encoding="utf-8")) == json.loads(STUDY_BODY)
    assert [p.name for p in out.iterdir()] == [saved.name]  # no temp file left behind
    printed = capsys.readouterr().out
    assert f"saved {saved}" in printed
    assert "8 sites in 2 countries" in printed


def test_fetch_command_refuses_a_study_that_does_not_read(
    fake: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _fetch(fake.base_url, tmp_path, "NCT00000005") == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: the downloaded study does not read as a trial")
    assert captured.err.count("\n") == 1
    assert captured.out == ""
    assert not list(tmp_path.iterdir())


def test_fetch_command_leaves_an_existing_file_alone_on_failure(
    fake: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "NCT00000500.json"
    existing.write_text("old", encoding="utf-8")
    assert _fetch(fake.base_url, tmp_path, "NCT00000500") == 1
    assert capsys.readouterr().err.startswith("error: ClinicalTrials.gov had a server error")
    assert existing.read_text(encoding="utf-8") == "old"


def test_save_is_atomic_and_cleans_up_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "NCT00000001.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(TypeError):
        save_study({"not json": object()}, target)  # type: ignore[dict-item]
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "fetch", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CLI_TIMEOUT,
    )


def test_cli_fetch_saves_a_file_that_parse_reads(fake: FakeRegistry, tmp_path: Path) -> None:
    result = _cli(STUDY_ID, "--base-url", fake.base_url, "--out-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    saved = tmp_path / f"{STUDY_ID}.json"
    assert f"saved {saved}" in result.stdout
    parsed = subprocess.run(
        [sys.executable, "-m", "dashboard", "parse", str(saved)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CLI_TIMEOUT,
    )
    assert parsed.returncode == 0, parsed.stderr
    assert json.loads(parsed.stdout)["nct_id"] == STUDY_ID


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["NCT00000404"], "error: NCT00000404 not found on ClinicalTrials.gov (HTTP 404)"),
        (["NCT1"], "error: expected an NCT ID like NCT04270409, found 'NCT1'"),
    ],
)
def test_cli_fetch_failure_is_one_error_line_and_exit_1(
    fake: FakeRegistry, tmp_path: Path, argv: list[str], line: str
) -> None:
    result = _cli(*argv, "--base-url", fake.base_url, "--out-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(line)
    assert result.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_cli_fetch_without_network_exits_1(closed_port: int, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port}/api/v2"
    result = _cli(STUDY_ID, "--base-url", base, "--out-dir", str(tmp_path), "--timeout", "2")
    assert result.returncode == 1
    assert "cannot reach ClinicalTrials.gov" in result.stderr
    assert "check your connection" in result.stderr
