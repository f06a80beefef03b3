"""JupyterLab in a real browser: run notebook 04 (exercise version, smoke mode) and use its widget.

nbval proves the notebooks execute; this proves what a learner sees: JupyterLab loads, "Run All Cells" runs the
notebook to the end without an error shown in any cell, the latent explorer's sliders render as widgets (not as
the text "FloatSlider(...)"), and moving one redraws the explorer's image.
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
from pathlib import Path

import pytest
from browser import launch_browser

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "04_dcgan.ipynb"
RUN_TIMEOUT_MS = 600_000  # the whole notebook in smoke mode, on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(folder: Path) -> None:
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server on a copy of the notebook (running it saves outputs, which must not touch the repo)."""
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / "notebooks" / NOTEBOOK)
    write_settings(root / "settings")
    port, token = free_port(), secrets.token_hex(16)
    # As a learner's JupyterLab: the tests' MPLBACKEND=Agg would turn every figure into "<Figure size ...>".
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    env.update(GANNOTES_SMOKE="1", JUPYTER_RUNTIME_DIR=str(root / "runtime"))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={root / 'settings'}",
            f"--LabApp.workspaces_dir={root / 'workspaces'}",
            # CI containers run as root; JupyterLab refuses to unless told this is intended.
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "server.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start; its log:\n{(root / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield f"{url}/lab/tree/notebooks/{NOTEBOOK}?token={token}"
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launch_browser()


def test_notebook_runs_and_its_slider_redraws_the_image(lab: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        run_notebook_and_move_slider(page, lab)
    except Exception:
        page.screenshot(path=tmp_path / "failure.png")
        print(f"screenshot of the page at the failure: {tmp_path / 'failure.png'}")
        raise


def run_notebook_and_move_slider(page, url: str) -> None:
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
        timeout=RUN_TIMEOUT_MS,
    )

    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    shown = [text for text in errors.all_inner_texts() if "Traceback" in text or "Error" in text]
    assert not shown, f"a cell shows an error: {shown[0][:1500]}"

    slider = page.locator(".widget-slider").first
    slider.wait_for(timeout=30_000)
    slider.scroll_into_view_if_needed()  # JupyterLab renders a widget's output once it is on screen
    image = page.locator("img.widget-image").first  # the explorer's figure, an ipywidgets.Image
    image.wait_for(timeout=30_000)
    before = image.get_attribute("src")
    slider.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        """(before) => {
            const img = document.querySelector('img.widget-image');
            return img !== null && img.getAttribute('src') !== before;
        }""",
        arg=before,
        timeout=60_000,
    )
