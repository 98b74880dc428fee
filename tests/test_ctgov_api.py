"""Tests for dashboard.ctgov_api against a local HTTP server on 127.0.0.1 (never the internet).

The body deadline is tested through the `opener` and `clock` seams, on a fake clock. Searches
page through three recorded result pages (`tests/fixtures/search_pages/`, provenance in its
README) served by `faultserver.FaultServer` by page token; waits (pacing, Retry-After) go to a
fake clock, so no test sleeps for them.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from faultserver import Fault, FaultServer, Seen
from paths import CTGOV_FIXTURES, FIXTURES, ROOT

from dashboard import cli, ctgov_api
from dashboard.ctgov_api import (
    PageDone,
    Search,
    check_page_size,
    download_search,
    fetch_study,
    normalise_nct_id,
    parse_statuses,
    save_study,
    state_path,
    study_url,
)
from dashboard.errors import Diagnostic, FetchError

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
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
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


# ---------------------------------------------------------------------------------------------
# Searching: `fetch --query/--cond/--status` pages through GET /studies (recorded pages)

PAGES_DIR = FIXTURES / "search_pages"
PAGES = [json.loads((PAGES_DIR / f"page{n}.json").read_text(encoding="utf-8")) for n in (1, 2, 3)]
# The pageToken that asks for each page: none for the first, then each page's nextPageToken.
TOKENS = [None, PAGES[0]["nextPageToken"], PAGES[1]["nextPageToken"]]
PAGE_IDS = [
    [s["protocolSection"]["identificationModule"]["nctId"] for s in p["studies"]] for p in PAGES
]
ALL_IDS = sorted(nct for ids in PAGE_IDS for nct in ids)
COND = "COVID-19"


class RecordedSearch:
    """Answers GET /studies as the registry did, from the three recorded pages, by pageToken.

    `faults[n]` lists answers to give, one per request, before page n is served normally; a
    token the registry never sent is refused with HTTP 400, as the real API does.
    """

    def __init__(self, faults: dict[int, list[Fault]] | None = None) -> None:
        self.faults = {page: list(answers) for page, answers in (faults or {}).items()}
        self.asked: list[int] = []  # the page each request asked for, in order

    def __call__(self, seen: Seen) -> Fault:
        if seen.route != "/studies":
            return Fault.status_code(404)
        token = seen.params.get("pageToken")
        if token not in TOKENS:
            return Fault("bad token", 400, b"Invalid pageToken", "text/plain")
        page = TOKENS.index(token) + 1
        self.asked.append(page)
        if self.faults.get(page):
            return self.faults[page].pop(0)
        return Fault.recorded(PAGES_DIR / f"page{page}.json")


def _search(server: FaultServer) -> Search:
    return Search(cond=COND, base_url=server.url)


def _download(server: FaultServer, out: Path, clock: FakeClock | None = None, **kw):
    """download_search of the recorded search, 3 per page, on a fake clock: (result, events)."""
    events: list[PageDone | Diagnostic] = []
    result = download_search(
        _search(server),
        out,
        page_size=3,
        timeout=5,
        clock=clock or FakeClock(),
        progress=events.append,
        notify=events.append,
        **kw,
    )
    return result, events


def _saved(out: Path) -> dict[str, object]:
    """Every study file in `out` (NCT ID -> JSON); nothing else may be there but state files."""
    found = {}
    for path in out.iterdir():
        if path.name.startswith(".fetch-") and path.name.endswith(".state"):
            continue
        assert path.suffix == ".json" and not path.name.startswith("."), path  # no temp files
        found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _count_saves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the NCT ID of every study written from now on (through save_study)."""
    written: list[str] = []
    real = ctgov_api.save_study

    def counting(study, target):
        written.append(Path(target).stem)
        return real(study, target)

    monkeypatch.setattr(ctgov_api, "save_study", counting)
    return written


def test_search_url_uses_the_api_v2_parameter_names() -> None:
    search = Search(
        term="multiple myeloma",
        cond="smoldering",
        statuses=("recruiting", "Not yet recruiting"),
        base_url="https://x.test/api/v2/",
    )
    # the first page asks for the total count; later pages send the token instead
    assert search.url(100) == (
        "https://x.test/api/v2/studies?query.term=multiple%20myeloma&query.cond=smoldering"
        "&filter.overallStatus=NOT_YET_RECRUITING%7CRECRUITING&pageSize=100&countTotal=true"
        "&format=json"
    )
    assert search.url(1000, "NF0g5/+=") == (
        "https://x.test/api/v2/studies?query.term=multiple%20myeloma&query.cond=smoldering"
        "&filter.overallStatus=NOT_YET_RECRUITING%7CRECRUITING&pageSize=1000"
        "&pageToken=NF0g5%2F%2B%3D&format=json"
    )


def test_the_same_search_always_keeps_the_same_state_file(tmp_path: Path) -> None:
    one = Search(term=" myeloma ", statuses=("RECRUITING,completed",))
    same = Search(term="myeloma", statuses=("COMPLETED", "recruiting"))  # order, case, spaces
    other = Search(term="myeloma", statuses=("RECRUITING",))
    assert state_path(one, tmp_path) == state_path(same, tmp_path)
    assert state_path(one, tmp_path) != state_path(other, tmp_path)
    # not *.json: a folder of records globbed with Path.glob("*.json") must not pick it up
    assert state_path(one, tmp_path).name.startswith(".fetch-")
    assert state_path(one, tmp_path).suffix == ".state"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["RECRUITING"], ("RECRUITING",)),
        (["recruiting,not yet recruiting"], ("NOT_YET_RECRUITING", "RECRUITING")),  # comma list
        (["ACTIVE_NOT_RECRUITING", "recruiting"], ("ACTIVE_NOT_RECRUITING", "RECRUITING")),
        (["enrolling-by-invitation"], ("ENROLLING_BY_INVITATION",)),  # hyphens read as spaces
        (["RECRUITING,", "RECRUITING"], ("RECRUITING",)),  # a stray comma, a repeat
    ],
)
def test_statuses_are_read_leniently(values: list[str], expected: tuple[str, ...]) -> None:
    assert parse_statuses(values) == expected


def test_an_unknown_status_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(FetchError, match="unknown overall status 'open': expected one of .*"):
        parse_statuses(["recruiting", "open"])


@pytest.mark.parametrize(
    "size",
    [
        0,  # nothing per page
        -5,
        1001,  # over the API's ceiling of 1,000 (it would silently cut it)
        2.5,  # not a whole number
        True,  # a bool is an int to Python, never a page size
    ],
)
def test_a_bad_page_size_is_refused_before_any_request(size, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="expected"):
        check_page_size(size)
    with pytest.raises(FetchError, match="expected"):
        download_search(Search(cond=COND, base_url="http://127.0.0.1:9"), tmp_path, page_size=size)
    assert not list(tmp_path.iterdir())


def test_a_search_with_nothing_to_search_for_is_refused() -> None:
    with pytest.raises(FetchError, match="a search needs a query, a condition or a status"):
        Search(term="  ")


def test_a_search_pages_through_three_recorded_pages(tmp_path: Path) -> None:
    clock = FakeClock()
    with FaultServer(route=RecordedSearch()) as server:
        result, events = _download(server, tmp_path / "portfolio", clock)
        asked = [seen.params for seen in server.requests]
    # the real API v2 shape: query.cond, pageSize, countTotal on the first page, then pageToken
    assert asked == [
        {"query.cond": COND, "pageSize": "3", "countTotal": "true", "format": "json"},
        {"query.cond": COND, "pageSize": "3", "pageToken": TOKENS[1], "format": "json"},
        {"query.cond": COND, "pageSize": "3", "pageToken": TOKENS[2], "format": "json"},
    ]
    assert server.requests[0].headers["User-Agent"].startswith("trial-sites-dashboard/")
    # every study saved once, as the registry sent it, under its NCT ID
    saved = _saved(tmp_path / "portfolio")
    assert sorted(saved) == ALL_IDS
    for page in PAGES:
        for study in page["studies"]:
            assert saved[study["protocolSection"]["identificationModule"]["nctId"]] == study
    # progress per page, with the registry's total from the first page
    assert events == [PageDone(1, 3, 0, 3, 8), PageDone(2, 3, 0, 6, 8), PageDone(3, 2, 0, 8, 8)]
    assert (result.complete, result.capped, result.saved, result.total, result.pages) == (
        True,
        False,
        8,
        8,
        3,
    )
    assert result.resumed_at is None
    # a finished search leaves no state behind, and the pages were paced (on the fake clock)
    assert not result.state_file.exists()
    assert clock.sleeps == [pytest.approx(ctgov_api.PAGE_INTERVAL_S)] * 2


def _state(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


PAGE_2_FAULTS = [
    # a page that is not JSON: a proxy's or the registry's own HTML error page
    ("html", Fault.html(), "not JSON"),
    # binary junk
    ("garbage", Fault.garbage(), "not JSON"),
    # JSON, but not a page of results
    ("json not a page", Fault.json({"message": "maintenance"}), "not a page of search results"),
    # the connection drops mid-run (not retried: rerunning the command continues)
    ("hang up", Fault.hang_up(), "broke off"),
    # refused outright (no retry helps)
    ("403", Fault.status_code(403), "refused the request (HTTP 403)"),
]


@pytest.mark.parametrize(
    ("name", "fault", "says"), PAGE_2_FAULTS, ids=[f[0] for f in PAGE_2_FAULTS]
)
def test_a_fetch_that_fails_on_page_2_keeps_its_work_and_resumes_there(
    name: str, fault: Fault, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = _count_saves(monkeypatch)
    route = RecordedSearch({2: [fault]})
    with FaultServer(route=route) as server:
        with pytest.raises(FetchError) as failed:
            _download(server, tmp_path)
        message = str(failed.value)
        assert says in message and "\n" not in message
        assert "stopped at page 2 with 3 studies saved; run the same command again" in message
        # page 1's studies are saved and intact; the state file points at page 2
        assert sorted(_saved(tmp_path)) == PAGE_IDS[0]
        state_file = state_path(_search(server), tmp_path)
        state = _state(state_file)
        assert (state["page"], state["next_page_token"], state["saved"], state["total"]) == (
            2,
            TOKENS[1],
            3,
            8,
        )
        # the rerun starts at page 2 (no request without a token) and finishes the search
        route.asked.clear()
        result, events = _download(server, tmp_path)
    assert route.asked == [2, 3]
    assert result.resumed_at == 2 and result.complete and result.saved == 8
    assert any("continuing" in str(e) and "from page 2" in str(e) for e in events)
    assert sorted(_saved(tmp_path)) == ALL_IDS
    assert sorted(written) == ALL_IDS  # every study written exactly once over both runs
    assert not state_file.exists()


def test_an_interrupted_fetch_resumes_at_the_next_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while page 3 downloads: the state says page 3; the rerun asks only for page 3."""
    written = _count_saves(monkeypatch)
    route = RecordedSearch()
    with FaultServer(route=route) as server:
        calls = []

        def interrupting(request, timeout):
            calls.append(request.full_url)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return urllib.request.urlopen(request, timeout=timeout)

        with pytest.raises(KeyboardInterrupt):
            _download(server, tmp_path, opener=interrupting)
        state_file = state_path(_search(server), tmp_path)
        assert _state(state_file)["page"] == 3
        assert sorted(_saved(tmp_path)) == sorted(PAGE_IDS[0] + PAGE_IDS[1])
        route.asked.clear()
        result, _ = _download(server, tmp_path)
    assert route.asked == [3]
    assert result.resumed_at == 3 and result.saved == 8 and result.pages == 1
    assert sorted(written) == ALL_IDS
    assert not state_file.exists()


def test_a_429_with_retry_after_is_honoured_on_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    too_many = Fault.status_code(429, ("Retry-After", "7"))
    route = RecordedSearch({2: [too_many]})
    with FaultServer(route=route) as server:
        result, events = _download(server, tmp_path, clock)
    assert route.asked == [1, 2, 2, 3]
    assert 7.0 in clock.sleeps  # waited as asked, on the fake clock: no real sleeping
    assert any("HTTP 429; trying again in 7 s" in str(e) for e in events)
    assert result.complete and sorted(_saved(tmp_path)) == ALL_IDS


@pytest.mark.parametrize(
    ("faults", "waits"),
    [
        # 503 without Retry-After: a doubling back-off
        ([Fault.status_code(503)] * 2, [5.0, 10.0]),
        # a Retry-After given as an HTTP date in the past: try again at once
        ([Fault.status_code(429, ("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"))], [0.0]),
    ],
)
def test_busy_answers_are_retried_after_a_wait(faults, waits, tmp_path: Path) -> None:
    clock = FakeClock()
    with FaultServer(route=RecordedSearch({1: faults})) as server:
        result, _ = _download(server, tmp_path, clock)
    assert clock.sleeps[: len(waits)] == waits
    assert result.complete


def test_a_long_retry_after_stops_the_run_resumably(tmp_path: Path) -> None:
    clock = FakeClock()
    route = RecordedSearch({2: [Fault.status_code(429, ("Retry-After", "3600"))]})
    with FaultServer(route=route) as server:
        with pytest.raises(FetchError, match=r"limiting requests \(HTTP 429\): wait 3600 s"):
            _download(server, tmp_path, clock)
        assert 3600 not in clock.sleeps
        assert _state(state_path(_search(server), tmp_path))["page"] == 2


def test_retries_give_up_after_a_few_tries(tmp_path: Path) -> None:
    clock = FakeClock()
    route = RecordedSearch({1: [Fault.status_code(500)] * 10})
    server = FaultServer(route=route)
    with server, pytest.raises(FetchError, match=r"server error \(HTTP 500\)"):
        _download(server, tmp_path, clock)
    assert route.asked == [1] * (1 + ctgov_api.SEARCH_RETRIES)
    assert not list(tmp_path.iterdir())


def test_max_studies_stops_at_a_page_and_a_higher_cap_continues(tmp_path: Path) -> None:
    route = RecordedSearch()
    with FaultServer(route=route) as server:
        result, _ = _download(server, tmp_path, max_studies=6)
        assert (result.saved, result.capped, result.complete) == (6, True, False)
        assert route.asked == [1, 2]
        # the same cap again: nothing to fetch
        result, _ = _download(server, tmp_path, max_studies=6)
        assert (result.saved, result.pages, route.asked) == (6, 0, [1, 2])
        # a higher cap continues at page 3
        result, _ = _download(server, tmp_path, max_studies=100)
    assert route.asked == [1, 2, 3]
    assert result.complete and sorted(_saved(tmp_path)) == ALL_IDS


def test_the_last_page_under_a_cap_asks_only_for_what_is_left(tmp_path: Path) -> None:
    with FaultServer(route=RecordedSearch()) as server:
        _download(server, tmp_path, max_studies=5)
        sizes = [seen.params["pageSize"] for seen in server.requests]
    # page 2 asks for 2, so the next page token starts right after the fifth study (the
    # recorded server sends its page of 3 anyway; the registry would send 2)
    assert sizes == ["3", "2"]


def test_a_page_token_the_registry_no_longer_accepts_says_restart(tmp_path: Path) -> None:
    route = RecordedSearch()
    with FaultServer(route=route) as server:
        search = _search(server)
        stale = {"page": 2, "next_page_token": "expired", "saved": 3, "skipped": 0, "total": 8}
        ctgov_api.write_state(state_path(search, tmp_path), search, ctgov_api.SearchState(**stale))
        with pytest.raises(FetchError, match=r"HTTP 400: 'Invalid pageToken'.*--restart"):
            _download(server, tmp_path)
        result, _ = _download(server, tmp_path, restart=True)
    assert result.complete and result.resumed_at is None and route.asked == [1, 2, 3]


@pytest.mark.parametrize(
    "content",
    [
        b"not json at all",  # damaged
        b'{"version": 1, "search": {"base_url": "elsewhere"}}',  # another search's (collision)
        b'{"version": 99}',  # a later version of the format
    ],
)
def test_a_state_file_that_cannot_be_used_is_ignored_with_a_note(
    content: bytes, tmp_path: Path
) -> None:
    with FaultServer(route=RecordedSearch()) as server:
        state_path(_search(server), tmp_path).write_bytes(content)
        result, events = _download(server, tmp_path)
    notes = [str(e) for e in events if isinstance(e, Diagnostic)]
    assert any("starting the search from page 1" in n for n in notes), notes
    assert result.complete and result.resumed_at is None


def test_a_study_that_does_not_read_is_skipped_and_reported(tmp_path: Path) -> None:
    broken = {"protocolSection": {"identificationModule": {"nctId": "NCT123"}}}
    page = {"totalCount": 4, "studies": [*PAGES[2]["studies"], broken, {"no": "study"}]}
    with FaultServer([Fault.json(page)]) as server:
        result, events = _download(server, tmp_path)
    warnings = [str(e) for e in events if isinstance(e, Diagnostic)]
    assert len(warnings) == 2
    assert "page 1, study 3: expected an NCT ID like NCT01234567, found 'NCT123'" in warnings[0]
    assert events[-1] == PageDone(1, 2, 2, 2, 4)
    assert (result.saved, result.skipped, result.complete) == (2, 2, True)
    assert sorted(_saved(tmp_path)) == PAGE_IDS[2]


def test_a_next_page_token_that_repeats_is_not_followed_forever(tmp_path: Path) -> None:
    looping = {"studies": PAGES[2]["studies"], "nextPageToken": TOKENS[1]}
    route = RecordedSearch({2: [Fault.json(looping)] * 3})
    server = FaultServer(route=route)
    with server, pytest.raises(FetchError, match="sent page 2's own token as the next page's"):
        _download(server, tmp_path)


# ---------------------------------------------------------------------------------------------
# The `fetch --query/--cond/--status` command


@pytest.fixture
def no_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process command runs use the real clock: do not wait between the local pages."""
    monkeypatch.setattr(ctgov_api, "PAGE_INTERVAL_S", 0.0)


def _search_cli(server_url: str, out_dir: Path, *more: str) -> int:
    argv = ["fetch", "--cond", COND, "--page-size", "3", "--out-dir", str(out_dir)]
    return cli.main([*argv, "--base-url", server_url, "--timeout", "5", *more])


def test_fetch_search_command_saves_every_study_and_shows_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_pacing: None
) -> None:
    with FaultServer(route=RecordedSearch()) as server:
        assert _search_cli(server.url, tmp_path) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "page 1: 3 studies saved (3 of 8)",
        "page 2: 3 studies saved (6 of 8)",
        "page 3: 2 studies saved (8 of 8)",
    ]
    assert captured.out == f"saved 8 of 8 studies in {tmp_path}\n"
    assert sorted(_saved(tmp_path)) == ALL_IDS
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_fetch_search_command_saves_under_data_portfolio_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_pacing: None
) -> None:
    monkeypatch.chdir(tmp_path)
    with FaultServer(route=RecordedSearch()) as server:
        argv = ["fetch", "--cond", COND, "--page-size", "3", "--base-url", server.url]
        assert cli.main(argv) == 0
    assert sorted(_saved(tmp_path / "data" / "portfolio")) == ALL_IDS


def test_fetch_search_command_skips_a_study_that_does_not_read_as_a_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_pacing: None
) -> None:
    """The command's check is the trial reader itself: a study without its NCT ID is skipped."""
    broken = {"protocolSection": {"identificationModule": {"briefTitle": "no ID"}}}
    page = {"studies": [broken, *PAGES[2]["studies"]]}  # no totalCount: "so far"
    with FaultServer([Fault.json(page)]) as server:
        assert _search_cli(server.url, tmp_path) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith(
        "warning: skipped a study that does not read as a trial: page 1, study 1"
    )
    assert lines[1] == "page 1: 2 studies saved, 1 skipped (2 so far)"
    assert captured.out == f"saved 2 studies in {tmp_path}; 1 did not read as trials\n"
    assert sorted(_saved(tmp_path)) == PAGE_IDS[2]


def test_fetch_search_command_ctrl_c_exits_130_and_the_rerun_continues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_pacing
) -> None:
    real = urllib.request.urlopen
    calls: list[str] = []

    def interrupting(request, timeout):
        calls.append(request.full_url)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(request, timeout=timeout)

    route = RecordedSearch()
    with FaultServer(route=route) as server:
        monkeypatch.setattr(urllib.request, "urlopen", interrupting)
        assert _search_cli(server.url, tmp_path) == 130
        err = capsys.readouterr().err
        assert err.splitlines()[-1] == (
            "error: interrupted after page 2: run the same command again to continue"
        )
        monkeypatch.setattr(urllib.request, "urlopen", real)
        route.asked.clear()
        assert _search_cli(server.url, tmp_path) == 0
    captured = capsys.readouterr()
    assert route.asked == [3]
    assert captured.err.splitlines()[0].startswith(
        f"note: continuing query.cond='{COND}' from page 3"
    )
    assert captured.err.splitlines()[1] == "page 3: 2 studies saved (8 of 8)"
    assert sorted(_saved(tmp_path)) == ALL_IDS


def test_fetch_search_command_max_studies_says_how_to_continue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_pacing: None
) -> None:
    with FaultServer(route=RecordedSearch()) as server:
        assert _search_cli(server.url, tmp_path, "--max-studies", "3") == 0
    out = capsys.readouterr().out
    assert out == (
        f"saved 3 of 8 studies in {tmp_path}: stopped at --max-studies 3; "
        "a higher --max-studies continues the search\n"
    )


def test_fetch_search_command_not_json_is_one_error_line_and_keeps_the_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_pacing: None
) -> None:
    with FaultServer(route=RecordedSearch({2: [Fault.html()]})) as server:
        assert _search_cli(server.url, tmp_path) == 1
        state_file = state_path(_search(server), tmp_path)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "page 1: 3 studies saved (3 of 8)"
    assert err[1].startswith("error: ClinicalTrials.gov sent something that is not JSON for ")
    assert err[1].endswith(
        "(stopped at page 2 with 3 studies saved; run the same command again to continue)"
    )
    assert len(err) == 2
    assert sorted(_saved(tmp_path)) == PAGE_IDS[0]
    assert _state(state_file)["next_page_token"] == TOKENS[1]


def test_fetch_search_command_refuses_a_state_path_that_is_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    search = Search(cond=COND, base_url="http://127.0.0.1:9")
    state_path(search, tmp_path).mkdir()
    assert _search_cli("http://127.0.0.1:9", tmp_path) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {state_path(search, tmp_path)}: a directory, expected")
    assert err.count("\n") == 1


def test_fetch_search_without_network_is_one_line_and_exit_1(
    closed_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _search_cli(f"http://127.0.0.1:{closed_port}", tmp_path) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach ClinicalTrials.gov (127.0.0.1:{closed_port}: ")
    assert "check your connection" in err
    assert "(stopped at page 1 with 0 studies saved; run the same command again to continue)" in err
    assert err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_cli_fetch_search_in_a_fresh_process(tmp_path: Path) -> None:
    """The whole command as a user runs it, real clock and pacing included (about 2.5 s)."""
    with FaultServer(route=RecordedSearch()) as server:
        result = _cli(
            "--cond", COND, "--status", "recruiting", "--page-size", "3",
            "--base-url", server.url, "--out-dir", str(tmp_path),
        )  # fmt: skip
        asked = server.requests[0].params
    assert result.returncode == 0, result.stderr
    assert asked["filter.overallStatus"] == "RECRUITING"
    assert result.stderr.splitlines()[-1] == "page 3: 2 studies saved (8 of 8)"
    assert result.stdout == f"saved 8 of 8 studies in {tmp_path}\n"
    assert sorted(_saved(tmp_path)) == ALL_IDS
