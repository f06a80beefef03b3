"""The rendered course: `python scripts/build_site.py --smoke` builds it, and a real browser reads it.

The build executes every solved notebook (smoke mode) and renders it; the browser opens the contents page,
follows every link, and checks what a reader would notice: every figure loads, formulas are typeset (offline),
and no cell shows an error.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "scripts/build_site.py", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert build.returncode == 0, f"the site build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    return out


def test_contents_page_links_every_notebook_in_order(site: Path) -> None:
    index = (site / "index.html").read_text()
    links = re.findall(r'<li><a href="([^"]+)">', index)
    assert links == [f"{name}.html" for name in NOTEBOOKS]
    for link in links:
        assert (site / link).is_file(), link


def test_pages_carry_their_figures_inline_and_a_way_back(site: Path) -> None:
    for name in NOTEBOOKS:
        page = (site / f"{name}.html").read_text()
        assert '<nav class="course-nav"' in page and 'href="index.html"' in page, name
        assert re.search(r'<img [^>]*src="data:image/png;base64,', page), f"{name} shows no figure"


def test_every_page_reads_without_a_broken_figure_or_an_error(site: Path, browser) -> None:
    page = browser.new_page()
    page.goto((site / "index.html").as_uri())
    hrefs = page.eval_on_selector_all("li a", "links => links.map(a => a.href)")
    assert len(hrefs) == len(NOTEBOOKS)
    for href in hrefs:
        page.goto(href)
        images = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
        assert images and all(complete and width > 0 for complete, width in images), f"{href}: a figure is broken"
        if "minimax" in href:  # a page full of formulas: MathJax, from the site itself, typeset them
            page.wait_for_selector(".MathJax, .MathJax_CHTML, .MathJax_SVG", timeout=30_000)
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        errors = [text for text in outputs if "Traceback (most recent call last)" in text]
        assert not errors, f"{href} shows an error: {errors[0][:1000]}"
