"""Uploads on a shared server: one geocoding per content, a bounded number at once, a quota."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard.ui.uploads import (
    SharedResults,
    TooManyUploads,
    check_session_quota,
    content_digest,
)


def test_same_content_is_computed_once_and_shared():
    shared: SharedResults[list[int]] = SharedResults(slots=1)
    calls = []

    def make():
        calls.append(1)
        return [1, 2, 3]

    a = shared.compute("k", make)
    b = shared.compute("k", make)
    assert a is b  # one object for every session: no per-session copy
    assert calls == [1]


def test_only_slots_computations_run_at_once_and_waiters_are_told():
    shared: SharedResults[int] = SharedResults(slots=1)
    running = 0
    peak = 0
    lock = threading.Lock()
    told = []

    def make(i):
        def run():
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return i

        return run

    threads = [
        threading.Thread(
            target=lambda i=i: shared.compute(f"k{i}", make(i), lambda: told.append(i))
        )
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert peak == 1
    assert len(told) >= 1  # somebody had to wait, and was told so before waiting


def test_a_failed_computation_is_not_kept_and_frees_its_slot():
    shared: SharedResults[int] = SharedResults(slots=1)

    def boom():
        raise RuntimeError("geocoder broke")

    with pytest.raises(RuntimeError):
        shared.compute("k", boom)
    assert shared.get("k") is None
    assert shared.compute("k", lambda: 7) == 7  # the slot was released


def test_old_results_are_dropped_beyond_the_limit():
    shared: SharedResults[int] = SharedResults(slots=1, kept=2)
    for i in range(3):
        shared.compute(f"k{i}", lambda i=i: i)
    assert shared.get("k0") is None and shared.get("k2") == 2


def test_session_quota_counts_distinct_uploads():
    seen: set[str] = set()
    for i in range(3):
        check_session_quota(seen, f"d{i}", limit=3)
    check_session_quota(seen, "d0", limit=3)  # the same upload again is free
    with pytest.raises(TooManyUploads, match="already geocoded 3 uploads"):
        check_session_quota(seen, "d3", limit=3)


def test_content_digest_is_by_bytes():
    assert content_digest(b"a") == content_digest(b"a") != content_digest(b"b")
