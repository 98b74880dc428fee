"""Download a study from ClinicalTrials.gov (API v2) and save it under data/ as JSON."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

from dashboard.ctgov import trial_from_study
from dashboard.errors import FetchError, RecordError

API_BASE = "https://clinicaltrials.gov/api/v2"
DEFAULT_TIMEOUT = 20.0  # seconds for connecting and for each read
DEADLINE_FACTOR = 3  # the whole body must arrive within this many timeouts
MAX_BODY_BYTES = 50 * 1024 * 1024  # the biggest studies with results are a few MB
CHUNK_BYTES = 64 * 1024
NCT_ID = re.compile(r"^NCT\d{8}$")
PROJECT = "trial-sites-dashboard"
SNIPPET_CHARS = 60  # how much of a garbage body an error message quotes


def _user_agent() -> str:
    """A User-Agent that names the project and its version, as API etiquette asks."""
    try:
        version = metadata.version(PROJECT)
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"{PROJECT}/{version} (clinical-trial site map; Python urllib)"


USER_AGENT = _user_agent()


def normalise_nct_id(nct_id: str) -> str:
    """'nct04270409 ' -> 'NCT04270409'; FetchError unless it is NCT + 8 digits."""
    cleaned = nct_id.strip().upper()
    if not NCT_ID.match(cleaned):
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


def _read_body(response: Any, timeout: float, url: str) -> bytes:
    """The body, refusing one that is too big or trickles in past the deadline."""
    deadline = time.monotonic() + DEADLINE_FACTOR * timeout
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
        if time.monotonic() > deadline:
            raise FetchError(
                f"ClinicalTrials.gov took longer than {DEADLINE_FACTOR * timeout:g} s to send "
                f"{url}: try again or raise --timeout"
            )
        chunks.append(chunk)


def fetch_study(
    nct_id: str, *, base_url: str = API_BASE, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    """GET {base}/studies/{nctId}?format=json and return the decoded study object."""
    nct_id = normalise_nct_id(nct_id)
    if not timeout > 0:
        raise FetchError(f"expected a timeout above 0 seconds, found {timeout:g}")
    url = study_url(nct_id, base_url)
    host = urllib.parse.urlsplit(url).netloc or url
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = _read_body(response, timeout, url)
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


def save_study(study: dict[str, Any], target: Path) -> None:
    """Write the study as indented UTF-8 JSON atomically (temp file in place, then rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(study, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def run_fetch(args: argparse.Namespace) -> int:
    """`python -m dashboard fetch NCT...`: download, check it reads as a trial, save, report."""
    nct_id = normalise_nct_id(args.nct_id)
    base_url = getattr(args, "base_url", None) or API_BASE
    timeout = getattr(args, "timeout", None)
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    study = fetch_study(nct_id, base_url=base_url, timeout=timeout)
    try:
        trial = trial_from_study(study, f"{nct_id} from ClinicalTrials.gov")
    except RecordError as exc:
        raise FetchError(f"the downloaded study does not read as a trial: {exc}") from exc
    if trial.nct_id != nct_id:
        # The registry answers an obsolete or duplicate ID with the study it now belongs to.
        print(f"note: {nct_id} is now {trial.nct_id}; saving it under the current ID")
    target = Path(getattr(args, "out_dir", None) or "data") / f"{trial.nct_id}.json"
    save_study(study, target)
    print(
        f"saved {target} ({trial.nct_id}: {len(trial.sites)} sites in "
        f"{len(trial.countries)} countries)"
    )
    return 0
