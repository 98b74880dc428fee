"""Uploaded records on a shared server: geocoded once per content, a few at a time.

Geocoding an upload holds a core (an unknown town costs tens of ms of fuzzy matching), so the
server lets only `slots` uploads geocode at once; others wait their turn (and are told so),
and each session may geocode only so many distinct uploads. Results are kept once per content
hash and shared by every session that uploads the same bytes: a session holds a reference,
not a copy. Plain Python (no Streamlit): the page keeps one instance per server.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Uploads whose tables are kept (an LRU): a 2,000-site table is about 1 MB.
KEPT_UPLOADS = 16
# Distinct uploads one session may have geocoded; beyond, it is asked to build offline.
UPLOADS_PER_SESSION = 10


def content_digest(data: bytes) -> str:
    """The key an upload is kept under: SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def default_slots() -> int:
    """Uploads geocoded at once: one per core, leaving one core for everyone else's pages."""
    return max(1, (os.cpu_count() or 1) - 1)


class TooManyUploads(RuntimeError):
    """This session has geocoded its share of uploads."""


class SharedResults(Generic[T]):
    """Results of expensive work keyed by content, computed by at most `slots` threads at once."""

    def __init__(self, slots: int | None = None, kept: int = KEPT_UPLOADS) -> None:
        self._slots = threading.BoundedSemaphore(slots or default_slots())
        self._lock = threading.Lock()
        self._kept = kept
        self._done: OrderedDict[str, T] = OrderedDict()

    def get(self, key: str) -> T | None:
        """The kept result for `key`, or None."""
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
        return None

    def compute(
        self, key: str, make: Callable[[], T], on_wait: Callable[[], None] | None = None
    ) -> T:
        """The result for `key`: kept, or made now once a slot is free (`on_wait` if not yet)."""
        hit = self.get(key)
        if hit is not None:
            return hit
        if not self._slots.acquire(blocking=False):
            if on_wait is not None:
                on_wait()
            self._slots.acquire()
        try:
            hit = self.get(key)  # made by another session while this one waited
            if hit is not None:
                return hit
            result = make()
            with self._lock:
                self._done[key] = result
                self._done.move_to_end(key)
                while len(self._done) > self._kept:
                    self._done.popitem(last=False)
            return result
        finally:
            self._slots.release()


def check_session_quota(seen: set[str], digest: str, limit: int = UPLOADS_PER_SESSION) -> None:
    """Record `digest` as geocoded for a session; TooManyUploads past `limit` distinct ones."""
    if digest in seen:
        return
    if len(seen) >= limit:
        raise TooManyUploads(
            f"this session has already geocoded {limit} uploads; build larger sets with "
            "`python -m dashboard build` or reload the page"
        )
    seen.add(digest)
