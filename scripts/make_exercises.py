#!/usr/bin/env python
"""Generate the exercise notebooks (``notebooks/``) from the solved ones (``solutions/``).

``solutions/NN_topic.ipynb`` is the source a teacher edits: complete and runnable. In its code
cells, each exercise's answer sits between two marker lines, at any indentation::

    def discriminator_loss(real_logits, fake_logits):
        \"\"\"...\"\"\"
        ### BEGIN SOLUTION
        return F.binary_cross_entropy_with_logits(...) + ...
        ### END SOLUTION

``notebooks/NN_topic.ipynb`` gets the same cells with each marked region (markers included)
replaced, at the marker's indentation, by::

        # TODO: your code here
        raise NotImplementedError("Exercise: discriminator_loss")

The short text is what follows ``### BEGIN SOLUTION`` on its line if anything does (``### BEGIN
SOLUTION: write the loss``), else the name of the enclosing function. Markers belong inside
function bodies: the check cells catch ``NotImplementedError`` and the notebook runs on.

A whole cell, code or markdown, whose metadata has ``"tags": ["solution"]`` (an instructor's worked
answer to a question, say) is left out of ``notebooks/NN_topic.ipynb`` altogether. Nothing after it
may depend on it: the exercise notebook must still run to the end.

Outputs and execution counts are cleared in both notebooks (the solutions are stripped in place)
and cell ids and metadata are kept, so running the script twice writes the same bytes.

Usage::

    python scripts/make_exercises.py           # regenerate notebooks/ from every solutions/*.ipynb
    python scripts/make_exercises.py --check   # write nothing; exit 1 if anything is out of date

Exit status: 0 up to date, 1 ``--check`` found differences, 2 badly placed markers.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SOLUTION_TAG = "solution"  # a cell with this tag is dropped from the exercise notebook
TODO_LINE = "# TODO: your code here"
REPO = Path(__file__).resolve().parent.parent


class MarkerError(ValueError):
    """Solution markers that do not pair up: a BEGIN without END, an END without BEGIN, or nesting."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook as nbformat 4, giving any cell without an id a stable one.

    nbformat 4.5 requires cell ids, and nbformat would invent *random* ones for cells that lack
    them, so the generated notebook would change on every run; ids derived from the position are
    stable instead (and are written back into the solutions the first time).
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("nbformat") == 4 and data.get("nbformat_minor", 0) >= 5:
        for index, cell in enumerate(data.get("cells", [])):
            cell.setdefault("id", f"cell-{index}")
    return nbformat.reads(json.dumps(data), as_version=4)


def dumps(nb: nbformat.NotebookNode) -> str:
    """The exact text ``nbformat.write`` produces (what Jupyter saves), ending with a newline."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    """True if any code cell carries outputs or an execution count."""
    return any(
        cell.get("outputs") or cell.get("execution_count") is not None for cell in nb.cells if cell.cell_type == "code"
    )


def strip_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy with every code cell's outputs, execution count and execution timings removed."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)  # run timings, written by some front ends: they change every run
    return nb


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _enclosing_function(lines: list[str], indent: str) -> str | None:
    """The name of the nearest ``def`` above, indented less than the marker."""
    for line in reversed(lines):
        stripped = line.strip()
        if stripped.startswith(("def ", "async def ")) and len(_indent(line)) < len(indent):
            return stripped.split("def ", 1)[1].split("(", 1)[0].strip()
    return None


def exercise_source(source: str, where: str) -> str:
    """``source`` with each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region replaced by a stub.

    ``where`` names the notebook and cell in errors.
    """
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    opened: int | None = None  # line number of the BEGIN marker of the region we are inside
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if opened is not None:
                raise MarkerError(
                    f"{where}, line {number}: {BEGIN!r} inside the solution opened on line {opened} "
                    f"(markers cannot nest; close the first with {END!r})"
                )
            opened = number
            indent = _indent(line)
            text = stripped[len(BEGIN) :].strip(" :-—") or _enclosing_function(lines[: number - 1], indent)
            message = json.dumps(f"Exercise: {text or 'complete this cell'}", ensure_ascii=False)
            out += [f"{indent}{TODO_LINE}\n", f"{indent}raise NotImplementedError({message})\n"]
        elif stripped.startswith(END):
            if opened is None:
                raise MarkerError(f"{where}, line {number}: {END!r} without a {BEGIN!r} before it")
            opened = None
        elif opened is None:
            out.append(line)
    if opened is not None:
        raise MarkerError(f"{where}, line {opened}: {BEGIN!r} without a matching {END!r}")
    result = "".join(out)
    if result.endswith("\n") and not source.endswith("\n"):
        result = result[:-1]  # Jupyter stores sources without a final newline: keep the cell's shape
    return result


def is_solution_cell(cell: nbformat.NotebookNode) -> bool:
    """True for a cell tagged ``solution``: it belongs to the solved notebook only."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def make_exercise(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The exercise notebook for a (stripped) solution notebook; ``name`` is used in errors.

    Cells tagged ``solution`` are dropped (their markers are still checked, so that a badly placed one is
    reported wherever it is); in the other code cells each marked region becomes a stub.
    """
    exercise = copy.deepcopy(solution)
    for index, cell in enumerate(exercise.cells):
        if cell.cell_type == "code":
            cell.source = exercise_source(cell.source, f"solutions/{name}, cell {index}")
    exercise.cells = [cell for cell in exercise.cells if not is_solution_cell(cell)]
    return exercise


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return True


def run(root: Path = REPO, check: bool = False) -> list[str]:
    """Regenerate (or with ``check``, only compare) every notebook under ``root``; return the problems found.

    Without ``check``: strips the solutions' outputs in place and writes ``notebooks/``; the
    problems returned are only exercise notebooks with no solution (left alone).
    With ``check``: writes nothing; a problem is a solution carrying outputs, or an exercise
    notebook that is missing, differs from what would be generated, or has no solution.
    Raises :class:`MarkerError` for markers that do not pair up.
    """
    solutions_dir, notebooks_dir = root / "solutions", root / "notebooks"
    problems: list[str] = []
    sources = sorted(solutions_dir.glob("*.ipynb"))
    for path in sources:
        solution = read_notebook(path)
        stripped = strip_outputs(solution)
        exercise_text = dumps(make_exercise(stripped, path.name))
        target = notebooks_dir / path.name
        if check:
            if has_outputs(solution):
                problems.append(
                    f"solutions/{path.name}: carries outputs or execution counts (run the script to strip them)"
                )
            if not target.exists():
                problems.append(f"notebooks/{path.name}: missing (run the script to generate it)")
            elif target.read_text(encoding="utf-8") != exercise_text:
                problems.append(
                    f"notebooks/{path.name}: differs from what solutions/{path.name} generates "
                    "(edit the solution and regenerate; never edit notebooks/ by hand)"
                )
        else:
            if _write_if_changed(path, dumps(stripped)):
                print(f"stripped outputs: solutions/{path.name}")
            if _write_if_changed(target, exercise_text):
                print(f"wrote notebooks/{path.name}")
    names = {path.name for path in sources}
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        if path.name not in names:
            problems.append(f"notebooks/{path.name}: has no source solutions/{path.name} to generate it from")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate notebooks/ (exercises) from solutions/ (solved).")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if notebooks/ is out of date")
    parser.add_argument("--root", type=Path, default=REPO, help="the repository root (default: this checkout)")
    args = parser.parse_args(argv)
    try:
        problems = run(args.root, check=args.check)
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.check and problems:
        print(f"{len(problems)} problem(s): run python scripts/make_exercises.py", file=sys.stderr)
        return 1
    if args.check:
        print("notebooks/ is up to date with solutions/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
