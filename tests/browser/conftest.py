"""A real headless Chromium (Debian's, driven by Playwright) for the browser tests.

Playwright's own browser download does not work here; ``CARNET_CHROMIUM``
names the executable (default ``/usr/bin/chromium``). Without it, or without
the playwright package, the tests skip, except under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service

CHROMIUM = os.environ.get("CARNET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def browser() -> Iterator[object]:
    available = Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None
    require_service(available, f"Debian's chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service(False, "the playwright package is not installed")
        raise
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
