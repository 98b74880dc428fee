"""Fixtures for the browser tests (the helpers live in browser_support.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, streamlit_server


@pytest.fixture(scope="module")
def serve_app() -> Iterator[Callable[[Path], str]]:
    """Start a server on a data dir (`serve_app(path) -> url`); stopped when the module ends."""
    with contextlib.ExitStack() as stack:
        yield lambda data_dir: stack.enter_context(streamlit_server(data_dir))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, with background traffic off (one per test module)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
