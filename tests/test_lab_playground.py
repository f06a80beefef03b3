"""JupyterLab in a real browser: run notebook 02 (exercise version, smoke mode) and use its GAN playground.

The playground must render as a widget (not as the text "VBox(...)"), and its "one step" button must train a step:
the status line's step count goes up and the figure is redrawn.
"""

from __future__ import annotations

from pathlib import Path

from browser import notebook_run, on_screen

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02_minimax_loss.ipynb"


def test_the_playgrounds_step_button_trains_and_redraws(lab: str, browser, tmp_path: Path) -> None:
    with notebook_run(browser, lab, tmp_path) as page:
        playground = on_screen(page.locator(".gannotes-playground"))
        status, image = playground.locator(".gannotes-playground-status"), playground.locator("img").first
        image.wait_for(timeout=30_000)
        assert status.inner_text().startswith("step 0")
        before = image.get_attribute("src")
        playground.locator("button", has_text="one step").click()
        page.wait_for_function(
            """(before) => {
                const box = document.querySelector('.gannotes-playground');
                const status = box.querySelector('.gannotes-playground-status').textContent;
                return status.includes('step 1 ') && box.querySelector('img').getAttribute('src') !== before;
            }""",
            arg=before,
            timeout=60_000,
        )
