"""Download a study from ClinicalTrials.gov (API v2) and save it as JSON.

All HTTP goes through one `opener` (urllib's `urlopen` by default) and deadlines read one
`Clock`, so tests replace both instead of waiting on a slow server.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from dashboard.errors import FetchError
from dashboard.io import SYSTEM_CLOCK, Clock, atomic_write
from dashboard.model import is_nct_id

API_BASE = "https://clinicaltrials.gov/api/v2"
DEFAULT_TIMEOUT = 20.0  # seconds for connecting and for each read
DEADLINE_FACTOR = 3  # the whole body must arrive within this many timeouts
MAX_BODY_BYTES = 50 * 1024 * 1024  # the biggest studies with results are a few MB
CHUNK_BYTES = 64 * 1024
PROJECT = "trial-sites-dashboard"
SNIPPET_CHARS = 60  # how much of a garbage body an error message quotes


Opener = Callable[..., Any]  # urllib.request.urlopen's shape: (request, timeout=...) -> response


def user_agent() -> str:
    """A User-Agent that names the project and its version, as API etiquette asks."""
    try:
        version = metadata.version(PROJECT)
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"{PROJECT}/{version} (clinical-trial site map; Python urllib)"


def normalise_nct_id(nct_id: str) -> str:
    """'nct04270409 ' -> 'NCT04270409'; FetchError unless it is NCT + 8 digits."""
    cleaned = nct_id.strip().upper()
    if not is_nct_id(cleaned):
        raise FetchError(f"expected an NCT ID like NCT04270409, found {nct_id!r}")
    return cleaned


def study_url(nct_id: str, base_url: str = API_BASE) -> str:
    """The API v2 address of one study as JSON."""
    return f"{base_url.rstrip('/')}/studies/{urllib.parse.quote(nct_id)}?format=json"


def _http_error(exc: urllib.error.HTTPError, nct_id: str, url: str) -> FetchError:
    """An HTTP error status -> a FetchError that says what to do next."""
    code = exc.code
    if code == 404:
        return FetchError(f"{nct_id} not found on ClinicalTrials.gov (HTTP 404): check the NCT ID")
    if code == 429:
        wait = exc.headers.get("Retry-After") if exc.headers else None
        hint = f"wait {wait} s" if wait else "wait a minute"
        return FetchError(
            f"ClinicalTrials.gov is limiting requests (HTTP 429): {hint} and try again"
        )
    if code == 403:
        return FetchError(
            "ClinicalTrials.gov refused the request (HTTP 403): the API may be blocking this "
            "network or proxy; try again later or from another connection"
        )
    if code >= 500:
        return FetchError(
            f"ClinicalTrials.gov had a server error (HTTP {code}): try again in a few minutes"
        )
    return FetchError(f"ClinicalTrials.gov answered HTTP {code} {exc.reason} for {url}")


def _read_body(response: Any, timeout: float, url: str, clock: Clock = SYSTEM_CLOCK) -> bytes:
    """The body, refusing one that is too big or trickles in past the deadline."""
    deadline = clock.monotonic() + DEADLINE_FACTOR * timeout
    chunks: list[bytes] = []
    size = 0
    while True:
        # read1 returns what one recv brings, so a body trickled in byte by byte still meets
        # the deadline check below (read(n) would block until all n bytes had arrived).
        chunk = response.read1(CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise FetchError(
                f"ClinicalTrials.gov sent more than {MAX_BODY_BYTES:,} bytes for {url}: "
                "not a single study"
            )
        if clock.monotonic() > deadline:
            raise FetchError(
                f"ClinicalTrials.gov took longer than {DEADLINE_FACTOR * timeout:g} s to send "
                f"{url}: try again or raise --timeout"
            )
        chunks.append(chunk)


def fetch_study(
    nct_id: str,
    *,
    base_url: str = API_BASE,
    timeout: float = DEFAULT_TIMEOUT,
    opener: Opener | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, Any]:
    """GET {base}/studies/{nctId}?format=json and return the decoded study object.

    `opener` is urllib's `urlopen` unless a test passes its own; `clock` keeps the deadline.
    """
    nct_id = normalise_nct_id(nct_id)
    if not timeout > 0:
        raise FetchError(f"expected a timeout above 0 seconds, found {timeout:g}")
    url = study_url(nct_id, base_url)
    host = urllib.parse.urlsplit(url).netloc or url
    request = urllib.request.Request(
        url, headers={"User-Agent": user_agent(), "Accept": "application/json"}
    )
    opener = opener or urllib.request.urlopen
    try:
        with opener(request, timeout=timeout) as response:
            body = _read_body(response, timeout, url, clock)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, nct_id, url) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FetchError(
                f"ClinicalTrials.gov did not answer within {timeout:g} s ({host}): "
                "check your connection or raise --timeout"
            ) from exc
        raise FetchError(
            f"cannot reach ClinicalTrials.gov ({host}: {exc.reason}): check your connection"
        ) from exc
    except TimeoutError as exc:
        raise FetchError(
            f"ClinicalTrials.gov did not answer within {timeout:g} s ({host}): "
            "try again or raise --timeout"
        ) from exc
    except (http.client.HTTPException, ConnectionError) as exc:
        raise FetchError(
            f"the connection to ClinicalTrials.gov ({host}) broke off ({exc!r}): try again"
        ) from exc
    return _decode(body, url)


def _decode(body: bytes, url: str) -> dict[str, Any]:
    """Body bytes -> the study dict, or a FetchError quoting what came instead."""
    snippet = body[:SNIPPET_CHARS].decode("utf-8", "replace").strip()
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(
            f"ClinicalTrials.gov sent something that is not JSON for {url} "
            f"(it starts {snippet!r}): try again later"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("protocolSection"), dict):
        raise FetchError(
            f"ClinicalTrials.gov sent JSON that is not a study for {url} (it starts {snippet!r})"
        )
    return data


def save_study(study: dict[str, Any], target: Path) -> Path:
    """Write the study as indented UTF-8 JSON atomically (temp file in place, fsync, rename)."""
    data = (json.dumps(study, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return atomic_write(target, lambda fh: fh.write(data))
