"""What the browser tests share: a headless Chromium driven by Playwright.

The browser is the system's Chromium (Debian: ``apt install chromium``), not one Playwright downloads, so the
tests run offline. Without it the browser tests skip and say why, unless ``GANNOTES_REQUIRE_BROWSER=1`` (set in
CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest


def chromium_path() -> str | None:
    """The Chromium executable: ``$GANNOTES_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on the PATH."""
    return os.environ.get("GANNOTES_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch_browser() -> Iterator:
    """Yield a headless Chromium browser (a Playwright ``Browser``); skip or fail clearly when there is none."""
    executable = chromium_path()
    missing = None
    if executable is None:
        missing = "no Chromium found: install it (Debian/Ubuntu: apt install chromium) or set GANNOTES_CHROMIUM"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "Playwright is not installed: pip install -r requirements.txt"
    if missing:
        if os.environ.get("GANNOTES_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium refuses to start as root (CI containers) with its sandbox on; the others stop
        # its background calls home, which fail slowly and noisily offline.
        args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
        browser = playwright.chromium.launch(executable_path=executable, args=[*args, "--disable-sync"])
        yield browser
        browser.close()
