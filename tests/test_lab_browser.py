"""JupyterLab in a real browser: run notebook 04 (exercise version, smoke mode) and use its widget.

nbval proves the notebooks execute; this proves what a learner sees: JupyterLab loads, "Run All Cells" runs the
notebook to the end without an error shown in any cell, the latent explorer's sliders render as widgets (not as
the text "FloatSlider(...)"), and moving one redraws the explorer's image.
"""

from __future__ import annotations

from pathlib import Path

from browser import notebook_run, on_screen

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04_dcgan.ipynb"


def test_notebook_runs_and_its_slider_redraws_the_image(lab: str, browser, tmp_path: Path) -> None:
    with notebook_run(browser, lab, tmp_path) as page:
        slider = on_screen(page.locator(".widget-slider"))
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
