"""Download studies from ClinicalTrials.gov (API v2): one by NCT ID, or every study a search finds.

All HTTP goes through one `opener` (urllib's `urlopen` by default) and every wait and deadline
reads one `Clock`, so tests replace both instead of waiting on a slow server. Both downloads
share one request function (`_get`): its error messages, its size and time limits, and its
retries of the answers that mean "come back later" (429, 5xx), honouring `Retry-After`.

A search (`download_search`) pages through `GET /studies` with `pageToken`, saves each study as
`<NCT ID>.json` and, after each page, writes a small state file next to them, so a run that was
interrupted continues from the page it had reached.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from dashboard.errors import Diagnostic, FetchError
from dashboard.io import SYSTEM_CLOCK, Clock, atomic_write, atomic_write_text, check_input_file
from dashboard.model import is_nct_id

API_BASE = "https://clinicaltrials.gov/api/v2"
DEFAULT_TIMEOUT = 20.0  # seconds for connecting and for each read
DEADLINE_FACTOR = 3  # the whole body must arrive within this many timeouts
MAX_BODY_BYTES = 50 * 1024 * 1024  # the biggest studies with results are a few MB
CHUNK_BYTES = 64 * 1024
PROJECT = "trial-sites-dashboard"
SNIPPET_CHARS = 60  # how much of a garbage body an error message quotes

# Searching. The API cuts a larger pageSize down to 1,000; asking for more is a mistake to say.
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
# A page of 1,000 full studies is tens of MB (a study with results can be several MB alone).
MAX_PAGE_BYTES = 256 * 1024 * 1024
# The body deadline grows with the page: DEADLINE_FACTOR timeouts per this many studies.
STUDIES_PER_DEADLINE = 100
# The API publishes no limit; its robots.txt asks for `Crawl-delay: 1` and users report being
# limited near 50 requests a minute, so pages are asked for at most one per 1.2 s.
PAGE_INTERVAL_S = 1.2
SEARCH_RETRIES = 3  # further tries of a page answered 429 or 5xx
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_S = 5.0  # the first wait when the answer gives no Retry-After; doubles each time
MAX_RETRY_WAIT_S = 120.0  # a longer Retry-After stops the run instead (it can be resumed)
STATE_VERSION = 1
STATE_PREFIX = ".fetch-"
# Not `.json`: `Path.glob("*.json")` matches dot files, and this file is no study record.
STATE_SUFFIX = ".state"
STATE_KEY_CHARS = 16  # hex digits of the query's SHA-256 in the state file's name
# filter.overallStatus values the API accepts (its `Status` enum).
OVERALL_STATUSES = (
    "ACTIVE_NOT_RECRUITING",
    "COMPLETED",
    "ENROLLING_BY_INVITATION",
    "NOT_YET_RECRUITING",
    "RECRUITING",
    "SUSPENDED",
    "TERMINATED",
    "WITHDRAWN",
    "AVAILABLE",
    "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING",
    "WITHHELD",
    "UNKNOWN",
)


Opener = Callable[..., Any]  # urllib.request.urlopen's shape: (request, timeout=...) -> response
Notify = Callable[[Diagnostic], None]


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


# ---------------------------------------------------------------------------------------------
# One request: the code both downloads share


def _check_timeout(timeout: float) -> None:
    """FetchError unless `timeout` is a positive number of seconds (sockets need one)."""
    if not timeout > 0:
        raise FetchError(f"expected a timeout above 0 seconds, found {timeout:g}")


def _body_snippet(exc: urllib.error.HTTPError) -> str:
    """The first characters of an error answer's body, or "" (it may be gone or unreadable)."""
    try:
        return exc.read(SNIPPET_CHARS * 4).decode("utf-8", "replace").strip()[:SNIPPET_CHARS]
    except Exception:  # noqa: BLE001 - the body only decorates a message
        return ""


def _http_error(
    exc: urllib.error.HTTPError, url: str, not_found: str, bad_request: str = ""
) -> FetchError:
    """An HTTP error status -> a FetchError that says what to do next."""
    code = exc.code
    if code == 404:
        return FetchError(not_found)
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
    if code == 400:
        said = _body_snippet(exc)
        said = f": {said!r}" if said else ""
        return FetchError(
            f"ClinicalTrials.gov refused the request as malformed (HTTP 400{said}){bad_request}"
        )
    return FetchError(f"ClinicalTrials.gov answered HTTP {code} {exc.reason} for {url}")


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    """Seconds the answer's `Retry-After` asks for (a number or an HTTP date), else None."""
    value = (exc.headers.get("Retry-After") if exc.headers else None) or ""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _retry_wait(exc: urllib.error.HTTPError, attempt: int) -> float | None:
    """How long to wait before trying again after `exc`, or None to give up now."""
    if exc.code not in RETRY_STATUSES:
        return None
    asked = _retry_after(exc)
    wait = asked if asked is not None else BACKOFF_S * 2**attempt
    return wait if wait <= MAX_RETRY_WAIT_S else None


def _read_body(
    response: Any,
    timeout: float,
    url: str,
    clock: Clock = SYSTEM_CLOCK,
    *,
    max_bytes: int | None = None,
    deadline_s: float | None = None,
) -> bytes:
    """The body, refusing one that is too big or trickles in past the deadline."""
    limit = MAX_BODY_BYTES if max_bytes is None else max_bytes
    allowed = DEADLINE_FACTOR * timeout if deadline_s is None else deadline_s
    deadline = clock.monotonic() + allowed
    chunks: list[bytes] = []
    size = 0
    while True:
        # read1 returns what one recv brings, so a body trickled in byte by byte still meets
        # the deadline check below (read(n) would block until all n bytes had arrived).
        chunk = response.read1(CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise FetchError(
                f"ClinicalTrials.gov sent more than {limit:,} bytes for {url}: "
                "more than expected (for a search, try a smaller --page-size)"
            )
        if clock.monotonic() > deadline:
            raise FetchError(
                f"ClinicalTrials.gov took longer than {allowed:g} s to send "
                f"{url}: try again or raise --timeout"
            )
        chunks.append(chunk)


def _get(
    url: str,
    *,
    timeout: float,
    opener: Opener | None,
    clock: Clock,
    not_found: str,
    bad_request: str = "",
    retries: int = 0,
    max_bytes: int | None = None,
    deadline_s: float | None = None,
    notify: Notify | None = None,
) -> bytes:
    """GET `url` and return its body; every failure is one FetchError that says what to do.

    An answer of 429 or 5xx is tried again up to `retries` times, after its `Retry-After` (or a
    doubling back-off), each wait on `clock`; a wait over MAX_RETRY_WAIT_S gives up at once.
    """
    host = urllib.parse.urlsplit(url).netloc or url
    request = urllib.request.Request(
        url, headers={"User-Agent": user_agent(), "Accept": "application/json"}
    )
    opener = opener or urllib.request.urlopen
    attempt = 0
    while True:
        try:
            with opener(request, timeout=timeout) as response:
                return _read_body(
                    response, timeout, url, clock, max_bytes=max_bytes, deadline_s=deadline_s
                )
        except urllib.error.HTTPError as exc:
            wait = _retry_wait(exc, attempt) if attempt < retries else None
            if wait is None:
                raise _http_error(exc, url, not_found, bad_request) from exc
            exc.close()
            attempt += 1
            if notify is not None:
                notify(
                    Diagnostic(
                        f"ClinicalTrials.gov answered HTTP {exc.code}; trying again in "
                        f"{wait:g} s (try {attempt} of {retries})",
                        "note",
                    )
                )
            clock.sleep(wait)
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


def _json(body: bytes, url: str) -> tuple[Any, str]:
    """Body bytes -> (decoded JSON, a snippet for messages), or a FetchError quoting the body."""
    snippet = body[:SNIPPET_CHARS].decode("utf-8", "replace").strip()
    try:
        return json.loads(body.decode("utf-8-sig")), snippet
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(
            f"ClinicalTrials.gov sent something that is not JSON for {url} "
            f"(it starts {snippet!r}): try again later"
        ) from exc


# ---------------------------------------------------------------------------------------------
# One study


def fetch_study(
    nct_id: str,
    *,
    base_url: str = API_BASE,
    timeout: float = DEFAULT_TIMEOUT,
    opener: Opener | None = None,
    clock: Clock = SYSTEM_CLOCK,
    retries: int = 0,
) -> dict[str, Any]:
    """GET {base}/studies/{nctId}?format=json and return the decoded study object.

    `opener` is urllib's `urlopen` unless a test passes its own; `clock` keeps the deadline and
    any wait before a retry (`retries`: how often a 429 or 5xx is tried again; none by default).
    """
    nct_id = normalise_nct_id(nct_id)
    _check_timeout(timeout)
    url = study_url(nct_id, base_url)
    body = _get(
        url,
        timeout=timeout,
        opener=opener,
        clock=clock,
        retries=retries,
        not_found=f"{nct_id} not found on ClinicalTrials.gov (HTTP 404): check the NCT ID",
    )
    return _decode(body, url)


def _decode(body: bytes, url: str) -> dict[str, Any]:
    """Body bytes -> the study dict, or a FetchError quoting what came instead."""
    data, snippet = _json(body, url)
    if not isinstance(data, dict) or not isinstance(data.get("protocolSection"), dict):
        raise FetchError(
            f"ClinicalTrials.gov sent JSON that is not a study for {url} (it starts {snippet!r})"
        )
    return data


def save_study(study: Mapping[str, Any], target: Path) -> Path:
    """Write the study as indented UTF-8 JSON atomically (temp file in place, fsync, rename)."""
    data = (json.dumps(study, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return atomic_write(target, lambda fh: fh.write(data))


# ---------------------------------------------------------------------------------------------
# A search, page by page


def parse_statuses(values: Iterable[str]) -> tuple[str, ...]:
    """'recruiting,not yet recruiting' (repeatable) -> ('NOT_YET_RECRUITING', 'RECRUITING').

    Case, spaces and hyphens are forgiven; anything the API does not know is a FetchError.
    """
    found: set[str] = set()
    for value in values:
        for part in value.split(","):
            name = "_".join(part.replace("-", " ").split()).upper()
            if not name:
                continue
            if name not in OVERALL_STATUSES:
                raise FetchError(
                    f"unknown overall status {part.strip()!r}: expected one of "
                    + ", ".join(OVERALL_STATUSES)
                )
            found.add(name)
    return tuple(sorted(found))


def check_page_size(page_size: int) -> int:
    """`page_size` if the API can serve it (1 to MAX_PAGE_SIZE), else a FetchError."""
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise FetchError(f"expected a whole number of studies per page, found {page_size!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise FetchError(
            f"expected a page size from 1 to {MAX_PAGE_SIZE:,} (the API's limit), "
            f"found {page_size:,}"
        )
    return page_size


@dataclass(frozen=True)
class Search:
    """What a search asks `/studies` for (not how many per page or in all: those may change)."""

    term: str = ""  # query.term: the website's "Other terms", matched anywhere in a study
    cond: str = ""  # query.cond: conditions, titles, keywords
    statuses: tuple[str, ...] = ()  # filter.overallStatus, e.g. ("RECRUITING",)
    base_url: str = API_BASE

    def __post_init__(self) -> None:
        object.__setattr__(self, "term", self.term.strip())
        object.__setattr__(self, "cond", self.cond.strip())
        object.__setattr__(self, "statuses", parse_statuses(self.statuses))
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not (self.term or self.cond or self.statuses):
            raise FetchError("a search needs a query, a condition or a status")

    def params(self, page_size: int, page_token: str | None = None) -> list[tuple[str, str]]:
        """The query string's fields, in the API's names (`countTotal` on the first page only)."""
        params: list[tuple[str, str]] = []
        if self.term:
            params.append(("query.term", self.term))
        if self.cond:
            params.append(("query.cond", self.cond))
        if self.statuses:
            params.append(("filter.overallStatus", "|".join(self.statuses)))
        params.append(("pageSize", str(page_size)))
        if page_token:
            params.append(("pageToken", page_token))
        else:
            params.append(("countTotal", "true"))  # the API counts only on the first page
        params.append(("format", "json"))
        return params

    def url(self, page_size: int, page_token: str | None = None) -> str:
        """GET {base}/studies?query.term=...&pageSize=N[&pageToken=T]&format=json."""
        query = urllib.parse.urlencode(
            self.params(page_size, page_token), quote_via=urllib.parse.quote
        )
        return f"{self.base_url}/studies?{query}"

    def as_dict(self) -> dict[str, Any]:
        """The search as the state file records it."""
        return {
            "base_url": self.base_url,
            "query.term": self.term,
            "query.cond": self.cond,
            "filter.overallStatus": list(self.statuses),
        }

    def key(self) -> str:
        """A short hash of the search: the same question always gets the same state file."""
        text = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:STATE_KEY_CHARS]

    def describe(self) -> str:
        """`query.term='myeloma' filter.overallStatus=RECRUITING`, for messages."""
        parts = [f"query.term={self.term!r}"] if self.term else []
        if self.cond:
            parts.append(f"query.cond={self.cond!r}")
        if self.statuses:
            parts.append(f"filter.overallStatus={'|'.join(self.statuses)}")
        return " ".join(parts)


def state_path(search: Search, out_dir: str | os.PathLike[str]) -> Path:
    """Where a search keeps its progress: `<out-dir>/.fetch-<hash of the search>.state`."""
    return Path(out_dir) / f"{STATE_PREFIX}{search.key()}{STATE_SUFFIX}"


@dataclass(frozen=True)
class SearchState:
    """How far a search has got: what the state file holds between runs."""

    page: int = 1  # the number of the next page to fetch
    next_page_token: str | None = None  # None: the first page
    saved: int = 0  # studies saved so far
    skipped: int = 0  # studies that did not read as trials
    total: int | None = None  # the registry's count of matches (`totalCount`, first page)


def write_state(path: Path, search: Search, state: SearchState) -> None:
    """Write the state file atomically: a reader sees the last page's state or the one before."""
    data = {
        "version": STATE_VERSION,
        "search": search.as_dict(),
        "page": state.page,
        "next_page_token": state.next_page_token,
        "saved": state.saved,
        "skipped": state.skipped,
        "total": state.total,
    }
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_state(path: Path, search: Search) -> SearchState | Diagnostic | None:
    """The saved state of `search`; None if there is none; a Diagnostic if it is unusable.

    The path is checked with `stat` first: anything but a regular file is a PathError.
    """
    if not os.path.lexists(path):
        return None
    check_input_file(path, "a fetch state file (a regular file)")
    ignored = f"ignoring {path}: {{}}; starting the search from page 1"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Diagnostic(ignored.format("not a fetch state file"))
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return Diagnostic(ignored.format("not a fetch state file of this version"))
    if data.get("search") != search.as_dict():
        return Diagnostic(ignored.format("it belongs to another search"))
    token = data.get("next_page_token")
    page, saved, skipped, total = (data.get(k) for k in ("page", "saved", "skipped", "total"))
    if not (
        isinstance(token, str)
        and token
        and _count(page)
        and page >= 2
        and _count(saved)
        and _count(skipped)
        and (total is None or _count(total))
    ):
        return Diagnostic(ignored.format("its fields are damaged"))
    return SearchState(page, token, saved, skipped, total)


@dataclass(frozen=True)
class Page:
    """One page of search results as the API sends it."""

    studies: list[Any]
    next_page_token: str | None
    total: int | None


def _decode_page(body: bytes, url: str) -> Page:
    """Body bytes -> a Page, or a FetchError quoting what came instead."""
    data, snippet = _json(body, url)
    if not isinstance(data, dict) or not isinstance(data.get("studies"), list):
        raise FetchError(
            f"ClinicalTrials.gov sent JSON that is not a page of search results for {url} "
            f"(it starts {snippet!r})"
        )
    token = data.get("nextPageToken")
    if token is not None and not isinstance(token, str):
        raise FetchError(f"ClinicalTrials.gov sent a nextPageToken that is not text for {url}")
    total = data.get("totalCount")
    return Page(data["studies"], token or None, total if _count(total) else None)


def study_nct_id(study: Any, where: str) -> str:
    """The study's `nctId`, or a ValueError saying why there is none (the plainest `read`)."""
    try:
        nct_id = study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        raise ValueError(f"{where}: not a study with an NCT ID") from None
    if not isinstance(nct_id, str) or not is_nct_id(nct_id):
        raise ValueError(f"{where}: expected an NCT ID like NCT01234567, found {nct_id!r}")
    return nct_id


@dataclass(frozen=True)
class PageDone:
    """A page whose studies are saved (and whose state is written): what progress shows."""

    page: int
    saved: int  # studies saved from this page
    skipped: int  # studies of this page that did not read
    saved_total: int  # studies saved by the search so far, earlier runs included
    total: int | None  # the registry's count of matches, if it gave one


@dataclass(frozen=True)
class SearchResult:
    """What a search run did."""

    out_dir: Path
    state_file: Path
    pages: int  # pages fetched in this run
    saved: int  # studies saved in all, earlier runs of the same search included
    skipped: int  # studies that did not read as trials, in all
    total: int | None  # the registry's count of matches, if it gave one
    resumed_at: int | None  # the page this run continued from, if an earlier run had started
    complete: bool  # every page was fetched; the state file is gone
    capped: bool  # stopped at max_studies with pages left; the state file stays


def download_search(
    search: Search,
    out_dir: str | os.PathLike[str],
    *,
    read: Callable[[Any, str], str] = study_nct_id,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_studies: int | None = None,
    restart: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    opener: Opener | None = None,
    clock: Clock = SYSTEM_CLOCK,
    interval_s: float | None = None,
    progress: Callable[[PageDone], None] | None = None,
    notify: Notify | None = None,
) -> SearchResult:
    """Page through `search`, saving each study as `<out_dir>/<NCT ID>.json`; resumable.

    `read(study, where)` returns the NCT ID to save a study under, or raises ValueError (a
    RecordError) for a study that does not read: that study is reported through `notify` and
    skipped. After each page the state file (`state_path`) records the next page token, so a
    run stopped by an error or Ctrl-C continues from that page when called again with the same
    search; a finished search removes it. `restart` ignores a saved state. Pages are asked for at
    most one per `interval_s` (PAGE_INTERVAL_S); a 429 or 5xx is retried as `_get` does.
    """
    check_page_size(page_size)
    _check_timeout(timeout)
    if max_studies is not None and (isinstance(max_studies, bool) or max_studies < 1):
        raise FetchError(f"expected at least 1 study for max_studies, found {max_studies!r}")
    interval = PAGE_INTERVAL_S if interval_s is None else interval_s
    out = Path(out_dir)
    state_file = state_path(search, out)
    loaded = None if restart else read_state(state_file, search)
    state = loaded if isinstance(loaded, SearchState) else SearchState()
    if isinstance(loaded, Diagnostic) and notify is not None:
        notify(loaded)
    resumed_at = state.page if isinstance(loaded, SearchState) else None
    if resumed_at is not None and notify is not None:
        of = f" of {state.total:,}" if state.total is not None else ""
        notify(
            Diagnostic(
                f"continuing {search.describe()} from page {state.page} ({state.saved:,}{of} "
                f"studies saved before; state in {state_file})",
                "note",
            )
        )
    pages = 0
    last_request: float | None = None
    deadline_s = DEADLINE_FACTOR * timeout * math.ceil(page_size / STUDIES_PER_DEADLINE)

    def result(*, complete: bool, capped: bool) -> SearchResult:
        return SearchResult(
            out_dir=out,
            state_file=state_file,
            pages=pages,
            saved=state.saved,
            skipped=state.skipped,
            total=state.total,
            resumed_at=resumed_at,
            complete=complete,
            capped=capped,
        )

    while True:
        if max_studies is not None and state.saved >= max_studies:
            return result(complete=False, capped=True)
        # The last page of a capped search asks for no more than the cap leaves, so the next
        # page token starts exactly after the last study saved.
        size = page_size if max_studies is None else min(page_size, max_studies - state.saved)
        if last_request is not None:
            wait = last_request + interval - clock.monotonic()
            if wait > 0:
                clock.sleep(wait)
        last_request = clock.monotonic()
        url = search.url(size, state.next_page_token)
        try:
            body = _get(
                url,
                timeout=timeout,
                opener=opener,
                clock=clock,
                retries=SEARCH_RETRIES,
                max_bytes=MAX_PAGE_BYTES,
                deadline_s=deadline_s,
                notify=notify,
                not_found=(
                    f"ClinicalTrials.gov has no study search at {search.base_url}/studies "
                    "(HTTP 404): check --base-url"
                ),
                bad_request=(
                    ": if the page token is no longer accepted, start over with --restart"
                    if state.next_page_token
                    else ": check the query"
                ),
            )
            page = _decode_page(body, url)
        except FetchError as exc:
            raise FetchError(
                f"{exc} (stopped at page {state.page} with {state.saved:,} studies saved; "
                "run the same command again to continue)"
            ) from exc
        saved = skipped = 0
        for index, study in enumerate(page.studies, 1):
            where = f"page {state.page}, study {index}"
            try:
                nct_id = read(study, where)
                if not is_nct_id(nct_id):  # it names a file: never anything but NCT + 8 digits
                    raise ValueError(f"{where}: expected an NCT ID, found {nct_id!r}")
            except ValueError as exc:
                skipped += 1
                if notify is not None:
                    notify(Diagnostic(f"skipped a study that does not read as a trial: {exc}"))
                continue
            save_study(study, out / f"{nct_id}.json")
            saved += 1
        token = page.next_page_token
        if token is not None and token == state.next_page_token:
            raise FetchError(
                f"ClinicalTrials.gov sent page {state.page}'s own token as the next page's: "
                "stopping rather than fetching it again"
            )
        state = SearchState(
            page=state.page + 1,
            next_page_token=token,
            saved=state.saved + saved,
            skipped=state.skipped + skipped,
            total=state.total if page.total is None else page.total,
        )
        pages += 1
        if token is None:
            state_file.unlink(missing_ok=True)
        else:
            write_state(state_file, search, state)
        if progress is not None:
            progress(PageDone(state.page - 1, saved, skipped, state.saved, state.total))
        if token is None:
            return result(complete=True, capped=False)
