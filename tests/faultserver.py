"""A scripted HTTP server on 127.0.0.1 that plays a misbehaving web service in tests.

Each request takes the next `Fault` from the script (the last one repeats), so a test can say
"the first answer is a 429, the second is valid". It stands in for Nominatim (geopy's
`Nominatim(domain="127.0.0.1:PORT", scheme="http")`) and for the ClinicalTrials.gov API
(`fetch_study(..., base_url=server.url)`). Every wait is bounded, and `close()` cuts short any
sleep still in progress, so a test can never hang on the server.

    with FaultServer([Fault.slow(3), Fault.json({...})]) as server:
        ...  # server.url, server.requests

A server that must answer by what was asked (a page of search results by its `pageToken`)
takes a `route` instead of a script: a function from the request (`Seen`) to its `Fault`.

    with FaultServer(route=lambda seen: pages[seen.params.get("pageToken")]) as server: ...
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
MAX_SLEEP_S = 10.0  # no scripted wait may exceed this, whatever a test asks
GARBAGE = b"\x89PNG\r\n\x1a\n\x00\x00 not json {{{ <html>"


@dataclass(frozen=True)
class Fault:
    """One scripted answer: a status, headers, a body, and how to deliver it."""

    kind: str
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0  # sleep before answering (or between trickled bytes)

    @classmethod
    def json(cls, data: Any) -> Fault:
        """A valid JSON answer."""
        return cls("json", body=json.dumps(data).encode("utf-8"))

    @classmethod
    def recorded(cls, path: Path) -> Fault:
        """A 200 whose body is a recorded answer, byte for byte."""
        return cls("recorded", body=path.read_bytes())

    @classmethod
    def status_code(cls, status: int, *headers: tuple[str, str]) -> Fault:
        """An error status with a short HTML body, as a real proxy or server sends."""
        body = f"<html><body><h1>{status}</h1></body></html>".encode()
        return cls(f"http {status}", status, body, "text/html", tuple(headers))

    @classmethod
    def slow(cls, seconds: float, then: bytes = b"[]") -> Fault:
        """Answer only after `seconds` (bounded by MAX_SLEEP_S): past a client's timeout."""
        return cls("slow", body=then, delay_s=min(seconds, MAX_SLEEP_S))

    @classmethod
    def garbage(cls) -> Fault:
        """A 200 whose body is neither JSON nor text."""
        return cls("garbage", body=GARBAGE)

    @classmethod
    def html(cls) -> Fault:
        """A 200 with an HTML page (a captive portal, a bot check)."""
        return cls("html", body=b"<!DOCTYPE html><html><body>Just a moment...</body></html>")

    @classmethod
    def trickle(cls, body: bytes, every_s: float) -> Fault:
        """A 200 whose body arrives one byte every `every_s` seconds (each gap under a client's
        socket timeout, the whole far over it)."""
        return cls("trickle", body=body, delay_s=min(every_s, MAX_SLEEP_S))

    @classmethod
    def hang_up(cls) -> Fault:
        """Close the connection without answering."""
        return cls("hang up")


@dataclass
class Seen:
    """What the server was asked."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def route(self) -> str:
        """The path without its query string: `/studies`."""
        return urllib.parse.urlsplit(self.path).path

    @property
    def params(self) -> dict[str, str]:
        """The query string's fields, decoded (the last value of a repeated one)."""
        query = urllib.parse.urlsplit(self.path).query
        return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))


class FaultServer:
    """A ThreadingHTTPServer on 127.0.0.1, port 0, answering from a script of `Fault`s (or, with
    `route`, from a function of each request)."""

    def __init__(
        self,
        script: list[Fault] | None = None,
        *,
        route: Callable[[Seen], Fault] | None = None,
    ) -> None:
        if (not script) == (route is None):
            raise ValueError("give a script of at least one Fault, or a route (not both)")
        self.script = list(script or ())
        self.route = route
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep pytest output clean

            def do_GET(self) -> None:  # noqa: N802
                fault = server._next(self)
                server._answer(self, fault)

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving; any scripted sleep still running ends at once."""
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=MAX_SLEEP_S)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def netloc(self) -> str:
        """`127.0.0.1:PORT`, as geopy's `domain=` wants it."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    # ------------------------------------------------------------------ answering
    def _next(self, handler: BaseHTTPRequestHandler) -> Fault:
        with self._lock:
            seen = Seen("GET", handler.path, dict(handler.headers.items()))
            self.requests.append(seen)
            if self.route is not None:
                return self.route(seen)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _answer(self, h: BaseHTTPRequestHandler, fault: Fault) -> None:
        try:
            if fault.kind == "hang up":
                h.close_connection = True
                return
            if fault.kind == "slow" and self._stop.wait(fault.delay_s):
                return
            h.send_response(fault.status)
            h.send_header("Content-Type", fault.content_type)
            h.send_header("Content-Length", str(len(fault.body)))
            for name, value in fault.headers:
                h.send_header(name, value)
            h.end_headers()
            if fault.kind == "trickle":
                for i in range(len(fault.body)):
                    if self._stop.wait(fault.delay_s):
                        return
                    h.wfile.write(fault.body[i : i + 1])
                    h.wfile.flush()
            else:
                h.wfile.write(fault.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first: that is the behaviour under test


def wait_for(predicate, timeout_s: float = 5.0, step_s: float = 0.05) -> bool:
    """Poll `predicate` a bounded number of times; True once it holds."""
    for _ in range(int(timeout_s / step_s)):
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
