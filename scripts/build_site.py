#!/usr/bin/env python
"""Build the course as a static website: every solved notebook, executed, rendered to HTML, with a contents page.

The outputs (figures, tables, printed numbers) come from executing ``solutions/NN_*.ipynb`` once, top to bottom in
a fresh kernel, the way a learner runs it. Executed copies are kept in ``build/executed/<mode>/`` with a hash of
the source notebook and the package: a later build re-executes only the notebooks whose source or package changed
(``--force`` re-executes all). The repository keeps its notebooks without outputs.

Usage::

    python scripts/build_site.py             # learner mode: real sizes (about 20 min on a 2-core CPU), site/
    python scripts/build_site.py --smoke     # smoke mode: tiny sizes, a minute or two; what CI builds
    python scripts/build_site.py --out DIR   # write the site somewhere else
    python scripts/build_site.py --smoke 04  # only notebook 04 (the contents page then lists only it)

Open ``site/index.html`` in a browser. Neither the build nor the site needs the internet: nbconvert's templates
come with it, and MathJax (from the ``jupyter-server-mathjax`` package) is copied into the site.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import os
import re
import shutil
import sys
import time
from pathlib import Path

import jupyter_server_mathjax
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "solutions"
NAV_STYLE = "font:15px system-ui,sans-serif;padding:10px 16px;border-bottom:1px solid #ddd;background:#fafafa"


def source_hash(path: Path) -> str:
    """A hash of what the notebook's outputs depend on: its source cells, the package and this script."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    cells = nbformat.read(path, as_version=4).cells
    digest.update("\n".join(cell.source for cell in cells).encode())
    for module in sorted((ROOT / "gannotes").rglob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()


def execute(path: Path, cache: Path, smoke: bool, force: bool, timeout: int) -> nbformat.NotebookNode:
    """The notebook with its outputs: from ``cache`` when its hash matches, else executed now and cached."""
    wanted = source_hash(path)
    cached = cache / path.name
    if cached.exists() and not force:
        notebook = nbformat.read(cached, as_version=4)
        if notebook.metadata.get("gannotes", {}).get("source_hash") == wanted:
            print(f"  {path.name}: outputs from {cached.relative_to(ROOT)} (source unchanged)")
            return notebook
    os.environ["GANNOTES_SMOKE"] = "1" if smoke else "0"  # the kernel inherits this process's environment
    os.environ.pop("MPLBACKEND", None)  # figures inline, as in JupyterLab (a test runner may have set Agg)
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as err:
        sys.exit(f"{path.name} failed while building the site; fix the notebook and build again.\n{err}")
    notebook.metadata["gannotes"] = {"source_hash": wanted, "smoke": smoke}
    cache.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, cached)
    print(f"  {path.name}: executed in {time.perf_counter() - start:.0f} s")
    return notebook


def title_of(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """The notebook's first Markdown heading, e.g. ``03 · A first GAN``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, flags=re.MULTILINE)
            if match:
                return match.group(1).strip()
    return fallback


def nav_bar(pages: list[tuple[str, str]], index: int) -> str:
    """Links to the contents page and to the previous and next notebooks."""
    links = ['<a href="index.html">Contents</a>']
    if index > 0:
        links.append(f'<a href="{pages[index - 1][0]}">&larr; {html.escape(pages[index - 1][1])}</a>')
    if index < len(pages) - 1:
        links.append(f'<a href="{pages[index + 1][0]}">{html.escape(pages[index + 1][1])} &rarr;</a>')
    return f'<nav class="course-nav" style="{NAV_STYLE}">{" &nbsp;|&nbsp; ".join(links)}</nav>'


def contents_page(pages: list[tuple[str, str]], smoke: bool) -> str:
    items = "\n".join(f'<li><a href="{href}">{html.escape(title)}</a></li>' for href, title in pages)
    mode = (
        "smoke mode (tiny sizes: the figures show the code runs, not what it learns)"
        if smoke
        else "learner mode (the sizes a learner runs)"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gannotes: a hands-on course on GANs</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em">
<h1>gannotes: a hands-on course on generative adversarial networks</h1>
<p>Each page is a solved notebook of the course, executed top to bottom in {mode}. To run the course yourself,
see the project's README; the exercise versions are in <code>notebooks/</code>.</p>
<ul style="list-style:none;padding-left:0">
{items}
</ul>
</body></html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="execute in smoke mode (tiny sizes, for tests)")
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="where to write the site (default: site/)")
    parser.add_argument("--force", action="store_true", help="re-execute every notebook, even unchanged ones")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one cell may run (default 1800)")
    parser.add_argument("only", nargs="*", help="build only these notebooks, by number (e.g. 03 04); default: all")
    args = parser.parse_args()

    cache = ROOT / "build" / "executed" / ("smoke" if args.smoke else "learner")
    sources = [p for p in sorted(SOURCES.glob("[0-9][0-9]_*.ipynb")) if not args.only or p.name[:2] in args.only]
    if not sources:
        sys.exit(f"No notebook in {SOURCES} matches {' '.join(args.only)}: give numbers such as 03 04.")
    print(f"Executing {len(sources)} notebooks in {'smoke' if args.smoke else 'learner'} mode:")
    executed = [execute(path, cache, args.smoke, args.force, args.timeout) for path in sources]

    pages = [
        (path.with_suffix(".html").name, title_of(nb, path.stem)) for path, nb in zip(sources, executed, strict=True)
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    # A local MathJax, so the formulas render offline too (a workshop with bad wifi reads the site from a stick).
    mathjax = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(mathjax, args.out / "mathjax", dirs_exist_ok=True)
    exporter = HTMLExporter(
        template_name="lab", mathjax_url="mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
    )
    for i, notebook in enumerate(executed):
        body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": pages[i][1]}})
        nav = nav_bar(pages, i)
        body = re.sub(r"(<body[^>]*>)", lambda m, nav=nav: m.group(1) + nav, body, count=1)
        (args.out / pages[i][0]).write_text(body, encoding="utf-8")
    (args.out / "index.html").write_text(contents_page(pages, args.smoke), encoding="utf-8")
    print(f"Wrote {len(pages)} pages and the contents page to {args.out}/index.html")


if __name__ == "__main__":
    main()
