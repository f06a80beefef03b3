"""What the browser tests share: a headless Chromium driven by Playwright.

The browser is the system's Chromium (Debian: ``apt install chromium``), not one Playwright downloads, so the
tests run offline. Without it the browser tests skip and say why, unless ``GANNOTES_REQUIRE_BROWSER=1`` (set in
CI), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_lab_settings(folder: Path) -> None:
    """JupyterLab user settings: render every cell (no virtual scrolling, so all are in the page), no news pop-up."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, values in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@contextmanager
def lab_server(notebook: Path, root: Path) -> Iterator[str]:
    """A JupyterLab server in smoke mode on a copy of ``notebook`` in ``root``; yields the URL that opens it.

    Running the notebook saves outputs, which must not touch the repository: hence the copy.
    """
    (root / "notebooks").mkdir()
    shutil.copy(notebook, root / "notebooks" / notebook.name)
    write_lab_settings(root / "settings")
    port, token = free_port(), secrets.token_hex(16)
    # As a learner's JupyterLab: the tests' MPLBACKEND=Agg would turn every figure into "<Figure size ...>".
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    env.update(GANNOTES_SMOKE="1", JUPYTER_RUNTIME_DIR=str(root / "runtime"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", f"--ServerApp.root_dir={root}"]
    command += [f"--IdentityProvider.token={token}", f"--LabApp.user_settings_dir={root / 'settings'}"]
    command += [f"--LabApp.workspaces_dir={root / 'workspaces'}"]
    command += ["--allow-root"] if os.geteuid() == 0 else []  # CI containers run as root
    log = root / "server.log"
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; its log:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield f"{url}/lab/tree/notebooks/{notebook.name}?token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_all_cells(page, url: str, timeout_ms: int = 600_000) -> None:
    """Open ``url`` in ``page``, wait for the kernel, Run All Cells, wait for every cell, and fail on a shown error."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    # The status bar says "Idle" once the kernel has started and connected: Run All before that can be lost.
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    # Done when every code cell shows an execution number (queued or running cells show [*]).
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=timeout_ms,
    )
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    shown = [text for text in errors.all_inner_texts() if "Traceback" in text or "Error" in text]
    assert not shown, f"a cell shows an error: {shown[0][:1500]}"


@contextmanager
def notebook_run(browser, url: str, failure_folder: Path) -> Iterator:
    """A page of JupyterLab at ``url`` after :func:`run_all_cells`; if the block fails, a screenshot of the page is
    saved in ``failure_folder`` (and its path printed) before the failure is raised."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        run_all_cells(page, url)
        yield page
    except Exception:
        page.screenshot(path=failure_folder / "failure.png")
        print(f"screenshot of the page at the failure: {failure_folder / 'failure.png'}")
        raise


def on_screen(locator, timeout_ms: int = 30_000):
    """The first element of ``locator``, waited for and scrolled to (JupyterLab renders a widget once on screen)."""
    element = locator.first
    element.wait_for(timeout=timeout_ms)
    element.scroll_into_view_if_needed()
    return element
