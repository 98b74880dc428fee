"""Online faults: a misbehaving Nominatim or ClinicalTrials.gov never crashes or hangs us.

`tests/faultserver.py` plays each service on 127.0.0.1 and misbehaves on script: answers after
the client's timeout, 429 / 403 / 500, a garbage or HTML body, a dropped connection, a body
trickled byte by byte. Geocoding must fall back to the offline gazetteer with one warning line;
fetching must end in one FetchError (CLI: one `error:` line, exit 1) and save nothing.

No test here asserts a duration: each call runs in a thread with a generous hang guard, and a
call still running when the guard expires fails the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from faultserver import Fault, FaultServer
from paths import CTGOV_FIXTURES, ROOT

from dashboard.errors import FetchError
from dashboard.model import Site

STUDY = CTGOV_FIXTURES / "NCT05594173.json"
NCT = "NCT05594173"
CLIENT_TIMEOUT_S = 0.5
HANG_GUARD_S = 30.0  # several client timeouts and retries; far below "forever"
LYON = Site("Hôpital Édouard Herriot", "Lyon", "France", "FR")
NOMINATIM_LYON = [
    {
        "place_id": 1,
        "lat": "45.7578137",
        "lon": "4.8320114",
        "display_name": "Lyon, Métropole de Lyon, Rhône, France",
        "class": "boundary",
        "type": "administrative",
        "addresstype": "city",
        "address": {"city": "Lyon", "country": "France", "country_code": "fr"},
    }
]

OUTCOMES: Counter[str] = Counter()  # one per fault test that ended as it must; printed at the end


@pytest.fixture(autouse=True)
def no_proxy_for_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's HTTP(S)_PROXY must not swallow requests to 127.0.0.1."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def guarded(fn, *args, **kwargs):
    """Run fn in a thread; fail if it is still running after HANG_GUARD_S (a hang, not slowness).

    Returns fn's result, or the exception it raised.
    """
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed back to the test to judge
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_S)
    assert not thread.is_alive(), f"{fn.__name__} still running after {HANG_GUARD_S} s: a hang"
    return box.get("error", box.get("result"))


# ----------------------------------------------------------------------------- Nominatim

GEOCODE_FAULTS = [
    # answers only after the client gave up: a read timeout, then the offline fallback
    ("slow", Fault.slow(3)),
    # Nominatim's answer to more than one request a second: back off to offline, do not loop
    ("429", Fault.status_code(429, ("Retry-After", "1"))),
    # what Nominatim sends a missing or generic User-Agent: permanent, so fall back at once
    ("403", Fault.status_code(403)),
    # the server is down
    ("500", Fault.status_code(500)),
    # a 200 whose body is binary junk (a broken proxy)
    ("garbage", Fault.garbage()),
    # a 200 HTML page (a captive portal or a bot check)
    ("html", Fault.html()),
    # the connection drops without an answer
    ("hang up", Fault.hang_up()),
]


@pytest.fixture(scope="module")
def gazetteer_geocoder():
    from dashboard.geocoding.sources import GazetteerGeocoder
    from dashboard.places.index import load_gazetteer

    return GazetteerGeocoder(load_gazetteer())


def nominatim_against(server: FaultServer, fallback, warnings: list[str]):
    """The project's NominatimGeocoder talking to the fault server (geopy's own domain seam)."""
    from geopy.geocoders import Nominatim

    from dashboard.geocoding.sources import NominatimGeocoder

    geolocator = Nominatim(
        domain=server.netloc,
        scheme="http",
        user_agent="trial-sites-dashboard-tests/0.1",
        timeout=CLIENT_TIMEOUT_S,
    )
    geocoder = NominatimGeocoder(
        fallback,
        geolocator=geolocator,
        timeout=CLIENT_TIMEOUT_S,
        min_delay_seconds=0,
        warn=warnings.append,
    )
    # RateLimiter waits through its `_sleep` seam; record the waits instead of sleeping them.
    waits: list[float] = []
    geocoder.rate_limited._sleep = waits.append
    return geocoder, waits


def test_nominatim_valid_answer_is_used(gazetteer_geocoder) -> None:
    warnings: list[str] = []
    with FaultServer([Fault.json(NOMINATIM_LYON)]) as server:
        geocoder, _ = nominatim_against(server, gazetteer_geocoder, warnings)
        result = guarded(geocoder.geocode, LYON)
    assert result.geocoder == "nominatim"
    assert result.latitude == pytest.approx(45.7578, abs=1e-3)
    assert warnings == []
    seen = server.requests[0]
    assert seen.path.startswith("/search?")
    assert "countrycodes=fr" in seen.path
    # Nominatim's usage policy: a real User-Agent on every request
    assert seen.headers["User-Agent"] == "trial-sites-dashboard-tests/0.1"
    OUTCOMES["nominatim valid -> nominatim"] += 1


@pytest.mark.parametrize(("name", "fault"), GEOCODE_FAULTS, ids=[f[0] for f in GEOCODE_FAULTS])
def test_nominatim_fault_falls_back_to_gazetteer_with_one_warning(
    gazetteer_geocoder, name, fault, capfd
) -> None:
    warnings: list[str] = []
    with FaultServer([fault]) as server:
        geocoder, waits = nominatim_against(server, gazetteer_geocoder, warnings)
        first = guarded(geocoder.geocode, LYON)
        # once offline, the rest of the run asks nobody
        asked = len(server.requests)
        second = guarded(geocoder.geocode, LYON)
        assert len(server.requests) == asked
    assert not isinstance(first, BaseException), repr(first)
    assert first.geocoder == "gazetteer"
    assert first.latitude == pytest.approx(45.75, abs=0.1)
    assert second == first
    assert geocoder.offline
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("warning: Nominatim unreachable")
    assert "\n" not in warnings[0]
    # retries are bounded: one retry after one wait, then give up
    assert len(waits) <= 1
    out = capfd.readouterr()
    assert "Traceback" not in out.err
    OUTCOMES[f"nominatim {name} -> gazetteer, 1 warning, {asked} request(s)"] += 1


def test_nominatim_unreachable_port_falls_back(gazetteer_geocoder, closed_port) -> None:
    """Nothing listening (no network): connection refused, offline fallback."""
    from geopy.geocoders import Nominatim

    from dashboard.geocoding.sources import NominatimGeocoder

    warnings: list[str] = []
    geocoder = NominatimGeocoder(
        gazetteer_geocoder,
        geolocator=Nominatim(
            domain=f"127.0.0.1:{closed_port}", scheme="http", user_agent="tests/0.1", timeout=0.5
        ),
        min_delay_seconds=0,
        warn=warnings.append,
    )
    geocoder.rate_limited._sleep = lambda _s: None
    result = guarded(geocoder.geocode, LYON)
    assert result.geocoder == "gazetteer"
    assert len(warnings) == 1
    OUTCOMES["nominatim refused -> gazetteer, 1 warning"] += 1


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- ClinicalTrials.gov

FETCH_FAULTS = [
    # answers after the client's timeout
    ("slow", Fault.slow(3), "did not answer within"),
    # rate limited: says how long to wait, from Retry-After
    ("429", Fault.status_code(429, ("Retry-After", "30")), "wait 30 s"),
    # blocked network or proxy
    ("403", Fault.status_code(403), "HTTP 403"),
    # no such study
    ("404", Fault.status_code(404), "not found"),
    # server error
    ("500", Fault.status_code(500), "server error"),
    # a 200 of binary junk
    ("garbage", Fault.garbage(), "not JSON"),
    # a 200 HTML page
    ("html", Fault.html(), "not JSON"),
    # valid JSON that is not a study
    ("json not a study", Fault.json({"error": "maintenance"}), "not a study"),
    # the connection drops
    ("hang up", Fault.hang_up(), "broke off"),
    # 120 bytes at one per 0.2 s: each gap is under the socket timeout, the whole (24 s) is far
    # past the body deadline; must stop at the deadline, not when the server is done
    ("trickle", Fault.trickle(b"{" + b" " * 118 + b"}", 0.2), "took longer than"),
]


@pytest.mark.parametrize(("name", "fault", "says"), FETCH_FAULTS, ids=[f[0] for f in FETCH_FAULTS])
def test_fetch_fault_is_one_clear_fetch_error(name, fault, says) -> None:
    from dashboard.ctgov_api import fetch_study

    with FaultServer([fault]) as server:
        got = guarded(fetch_study, NCT, base_url=server.url, timeout=CLIENT_TIMEOUT_S)
    assert isinstance(got, FetchError), repr(got)
    message = str(got)
    assert says in message, message
    assert "\n" not in message
    OUTCOMES[f"fetch {name} -> FetchError"] += 1


def test_fetch_valid_answer_returns_the_study() -> None:
    from dashboard.ctgov_api import fetch_study

    study = json.loads(STUDY.read_text(encoding="utf-8"))
    with FaultServer([Fault.json(study)]) as server:
        got = guarded(fetch_study, NCT, base_url=server.url, timeout=CLIENT_TIMEOUT_S)
    assert got == study
    assert server.requests[0].path == f"/studies/{NCT}?format=json"
    OUTCOMES["fetch valid -> study"] += 1


def run_fetch_cli(server: FaultServer, out_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "fetch",
            NCT,
            "--base-url",
            server.url,
            "--out-dir",
            str(out_dir),
            "--timeout",
            str(CLIENT_TIMEOUT_S),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        env={**__import__("os").environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
    )


@pytest.mark.parametrize(
    ("name", "fault"),
    [
        # the two faults a user meets most: rate limiting and a dead server
        ("429", Fault.status_code(429)),
        ("500", Fault.status_code(500)),
        # and a body that stops arriving
        ("slow", Fault.slow(3)),
    ],
    ids=["429", "500", "slow"],
)
def test_fetch_cli_fault_is_one_error_line_and_saves_nothing(name, fault, tmp_path) -> None:
    with FaultServer([fault]) as server:
        done = run_fetch_cli(server, tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file left behind
    OUTCOMES[f"fetch CLI {name} -> exit 1, nothing saved"] += 1


def test_fetch_cli_retry_after_a_fault_saves_the_study(tmp_path) -> None:
    """First a 500, then (the user runs it again) a valid answer: saved once, readable."""
    study = json.loads(STUDY.read_text(encoding="utf-8"))
    with FaultServer([Fault.status_code(500), Fault.json(study)]) as server:
        first = run_fetch_cli(server, tmp_path)
        second = run_fetch_cli(server, tmp_path)
    assert first.returncode == 1
    assert second.returncode == 0, second.stderr
    saved = tmp_path / f"{NCT}.json"
    assert json.loads(saved.read_text(encoding="utf-8")) == study
    assert [p.name for p in tmp_path.iterdir()] == [saved.name]
    OUTCOMES["fetch CLI 500 then valid -> saved"] += 1


@pytest.mark.parametrize(
    "answered_id",
    [
        # a hostile or broken server answers with a path instead of an ID: the saved file's
        # name comes from this, so it must never leave --out-dir
        "../../escaped",
        "NCT0559417/../../x",
    ],
)
def test_fetch_cli_never_writes_outside_out_dir(answered_id, tmp_path) -> None:
    study = json.loads(STUDY.read_text(encoding="utf-8"))
    study["protocolSection"]["identificationModule"]["nctId"] = answered_id
    out_dir = tmp_path / "deep" / "out"
    out_dir.mkdir(parents=True)
    with FaultServer([Fault.json(study)]) as server:
        done = run_fetch_cli(server, out_dir)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("error: ") and "expected an NCT ID" in done.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    OUTCOMES["fetch CLI path in answered ID -> refused, nothing written"] += 1


def test_every_fault_tried_was_handled(request: pytest.FixtureRequest, capsys) -> None:
    """The figures: faults tried and what each ended in (shown in the pytest output).

    Runs last in the module: every other test of it that this run selected must have ended as
    it should (each records one outcome when it does), so none failed, hung or was skipped.
    """
    items = request.session.items
    mine = items.index(request.node)
    tried = [i for i in items if i.module is request.module and i is not request.node]
    assert all(items.index(i) < mine for i in tried), "must run after the fault tests"
    with capsys.disabled():
        print(f"\nfaults tried: {len(tried)}, handled: {sum(OUTCOMES.values())}")
        for outcome, n in sorted(OUTCOMES.items()):
            print(f"  {n} x {outcome}")
    assert tried, "no fault tests ran"
    assert sum(OUTCOMES.values()) == len(tried), sorted(OUTCOMES)
