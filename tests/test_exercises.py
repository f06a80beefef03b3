"""scripts/make_exercises.py: exercise notebooks generated from the solved ones, and kept in sync."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "make_exercises.py"
_spec = importlib.util.spec_from_file_location("make_exercises", SCRIPT)
make_exercises = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_exercises)

SOLVED_FUNCTION = '''import torch


def discriminator_loss(real_logits, fake_logits):
    """The BCE loss."""
    ### BEGIN SOLUTION
    real = torch.nn.functional.softplus(-real_logits).mean()
    return real + torch.nn.functional.softplus(fake_logits).mean()
    ### END SOLUTION'''

EXERCISE_FUNCTION = '''import torch


def discriminator_loss(real_logits, fake_logits):
    """The BCE loss."""
    # TODO: your code here
    raise NotImplementedError("Exercise: discriminator_loss")'''

SOLVED_METHOD = """class Step:
    def run(self, x):
        if x > 0:
            ### BEGIN SOLUTION: the positive branch
            return x * 2
            ### END SOLUTION
        return 0
"""

EXERCISE_METHOD = """class Step:
    def run(self, x):
        if x > 0:
            # TODO: your code here
            raise NotImplementedError("Exercise: the positive branch")
        return 0
"""


def solution_notebook() -> nbformat.NotebookNode:
    """A small solved notebook with outputs, as a teacher saves it after running it."""
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# 02 The minimax loss\n\n### BEGIN SOLUTION in markdown is just text"),
        new_code_cell(SOLVED_FUNCTION, execution_count=1),
        new_code_cell(SOLVED_METHOD, execution_count=2, outputs=[new_output("stream", name="stdout", text="hi\n")]),
        new_code_cell(
            "print(discriminator_loss)",
            execution_count=3,
            outputs=[new_output("execute_result", data={"text/plain": "1.386"}, execution_count=3)],
            metadata={"tags": ["keep-me"], "execution": {"iopub.execute_input": "2026-01-01T00:00:00"}},
        ),
    ]
    return nb


def make_repo(root: Path, notebooks: dict[str, nbformat.NotebookNode]) -> Path:
    (root / "solutions").mkdir(parents=True)
    (root / "notebooks").mkdir()
    for name, nb in notebooks.items():
        nbformat.write(nb, root / "solutions" / name)
    return root


def cells(path: Path) -> list[nbformat.NotebookNode]:
    return nbformat.read(path, as_version=4).cells


def test_markers_are_replaced_at_their_indentation(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"02_minimax.ipynb": solution_notebook()})
    make_exercises.run(root)
    exercise, solution = cells(root / "notebooks" / "02_minimax.ipynb"), cells(root / "solutions" / "02_minimax.ipynb")
    assert exercise[1].source == EXERCISE_FUNCTION
    assert exercise[2].source == EXERCISE_METHOD
    assert exercise[0].source == solution[0].source  # markdown untouched, even with marker-like text
    assert exercise[3].source == solution[3].source
    assert solution[1].source == SOLVED_FUNCTION  # the solutions keep their answers
    assert [c.id for c in exercise] == [c.id for c in solution]
    assert exercise[3].metadata == {"tags": ["keep-me"]}  # metadata kept, run timings dropped


def test_cells_tagged_solution_are_left_out_of_the_exercise(tmp_path: Path) -> None:
    nb = solution_notebook()
    answer = new_markdown_cell("**Answer.** Because the gradient vanishes.", metadata={"tags": ["solution"]})
    worked = new_code_cell("print(discriminator_loss)", metadata={"tags": ["keep-me", "solution"]})
    nb.cells[2:2] = [answer, worked]
    nb.cells.append(new_markdown_cell("## Answers", metadata={"tags": ["solution"]}))
    root = make_repo(tmp_path, {"02_minimax.ipynb": nb})
    make_exercises.run(root)
    solution = cells(root / "solutions" / "02_minimax.ipynb")
    exercise = cells(root / "notebooks" / "02_minimax.ipynb")
    assert len(solution) == 7  # the solutions keep their answers
    assert [c.id for c in exercise] == [solution[i].id for i in (0, 1, 4, 5)]
    assert exercise[1].source == EXERCISE_FUNCTION and exercise[2].source == EXERCISE_METHOD
    assert exercise[3].metadata == {"tags": ["keep-me"]}  # other tags do not drop a cell
    assert make_exercises.run(root, check=True) == []


def test_markers_in_a_solution_cell_are_still_checked(tmp_path: Path) -> None:
    nb = solution_notebook()
    nb.cells.append(new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1", metadata={"tags": ["solution"]}))
    root = make_repo(tmp_path, {"02_minimax.ipynb": nb})
    with pytest.raises(make_exercises.MarkerError, match="cell 4, line 2"):
        make_exercises.run(root)


def test_outputs_are_cleared_in_both_notebooks(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"02_minimax.ipynb": solution_notebook()})
    make_exercises.run(root)
    for folder in ("solutions", "notebooks"):
        nb = nbformat.read(root / folder / "02_minimax.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), folder


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1", "line 2: '### BEGIN SOLUTION' without a matching"),
        ("def f():\n    return 1\n    ### END SOLUTION", "line 3: '### END SOLUTION' without a '### BEGIN SOLUTION'"),
        (
            "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
            "line 3: '### BEGIN SOLUTION' inside the solution opened on line 2",
        ),
    ],
    ids=["begin-without-end", "end-without-begin", "nested"],
)
def test_unbalanced_markers_are_a_clear_error(
    tmp_path: Path, source: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = solution_notebook()
    nb.cells.append(new_code_cell(source))
    root = make_repo(tmp_path, {"05_cgan.ipynb": nb})
    with pytest.raises(make_exercises.MarkerError) as err:
        make_exercises.run(root)
    assert "solutions/05_cgan.ipynb, cell 4" in str(err.value)
    assert message in str(err.value)
    assert not (root / "notebooks" / "05_cgan.ipynb").exists()
    # The command line says the same, with its own exit status.
    assert make_exercises.main(["--root", str(root)]) == 2
    stderr = capsys.readouterr().err
    assert "cell 4" in stderr and message in stderr


def test_regenerating_is_idempotent_and_byte_stable(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"02_minimax.ipynb": solution_notebook(), "07_wgan.ipynb": solution_notebook()})
    make_exercises.run(root)
    first = {p: p.read_bytes() for p in sorted(root.rglob("*.ipynb"))}
    make_exercises.run(root)
    assert {p: p.read_bytes() for p in sorted(root.rglob("*.ipynb"))} == first
    assert make_exercises.run(root, check=True) == []
    text = first[root / "notebooks" / "02_minimax.ipynb"].decode()
    assert text == make_exercises.dumps(nbformat.reads(text, as_version=4))  # what nbformat/Jupyter would write
    assert text.endswith("}\n") and '\n "cells": [\n  {' in text  # indent=1, trailing newline


def test_cells_without_ids_get_stable_ones(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"02_minimax.ipynb": solution_notebook()})
    path = root / "solutions" / "02_minimax.ipynb"
    path.write_text(re.sub(r'\n   "id": "[^"]+",', "", path.read_text()))
    assert '"id"' not in path.read_text()
    make_exercises.run(root, check=True)  # reading alone must not invent random ids
    make_exercises.run(root)
    first = (root / "notebooks" / "02_minimax.ipynb").read_bytes()
    make_exercises.run(root)
    assert (root / "notebooks" / "02_minimax.ipynb").read_bytes() == first
    assert [c.id for c in cells(root / "notebooks" / "02_minimax.ipynb")] == [f"cell-{i}" for i in range(4)]


def test_check_mode_writes_nothing_and_lists_problems(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"02_minimax.ipynb": solution_notebook()})
    before = (root / "solutions" / "02_minimax.ipynb").read_bytes()
    problems = make_exercises.run(root, check=True)
    assert (root / "solutions" / "02_minimax.ipynb").read_bytes() == before
    assert not (root / "notebooks" / "02_minimax.ipynb").exists()
    assert any(p.startswith("solutions/02_minimax.ipynb: carries outputs") for p in problems)
    assert any(p.startswith("notebooks/02_minimax.ipynb: missing") for p in problems)


def exercise_problems(root: Path) -> list[str]:
    """Problems with the repo's exercise notebooks, as listed by ``make_exercises.py --check``."""
    return make_exercises.run(root, check=True)


def test_repo_notebooks_are_generated_from_solutions() -> None:
    """notebooks/ must be exactly what solutions/ generates (true too while there are no notebooks)."""
    problems = exercise_problems(REPO)
    assert problems == [], "notebooks/ is out of date, run python scripts/make_exercises.py:\n" + "\n".join(problems)


def test_the_repo_check_catches_a_hand_edited_notebook(tmp_path: Path) -> None:
    """The test above can fail: in a copy of the repo's notebooks, a hand edit is reported."""
    root = tmp_path / "repo"
    for folder in ("solutions", "notebooks"):
        shutil.copytree(REPO / folder, root / folder)
    if not list((root / "solutions").glob("*.ipynb")):  # no course notebooks yet: bring a synthetic one
        nbformat.write(solution_notebook(), root / "solutions" / "02_minimax.ipynb")
    make_exercises.run(root)
    assert exercise_problems(root) == []
    edited = sorted((root / "notebooks").glob("*.ipynb"))[0]
    nb = nbformat.read(edited, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.source += "\nprint('edited by hand')"
    nbformat.write(nb, edited)
    assert exercise_problems(root) == [
        f"notebooks/{edited.name}: differs from what solutions/{edited.name} generates "
        "(edit the solution and regenerate; never edit notebooks/ by hand)"
    ]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--root", str(root)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1 and edited.name in result.stderr
    (root / "notebooks" / "99_orphan.ipynb").write_text(edited.read_text())
    assert "notebooks/99_orphan.ipynb: has no source solutions/99_orphan.ipynb" in "\n".join(exercise_problems(root))


_RAISE = re.compile(r"^(?P<indent>\s*)raise\b(?P<rest>.*)$")
_STUB = re.compile(r'^NotImplementedError\("Exercise: [^"\n]+"\)$')


def stub_problems(root: Path) -> list[str]:
    """``raise`` lines the generator put into notebooks/ that are not indented NotImplementedError stubs.

    A raise the exercise notebook has beyond its solution's was introduced by the generator; each
    must be ``raise NotImplementedError("Exercise: ...")`` inside a block (a function body), so
    that the notebook keeps running on the reference until the learner fills it in.
    """

    def raises(path: Path) -> Counter[str]:
        lines = [line for c in cells(path) if c.cell_type == "code" for line in c.source.splitlines()]
        return Counter(line for line in lines if _RAISE.match(line))

    problems = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        solution = root / "solutions" / path.name
        added = raises(path) - (raises(solution) if solution.exists() else Counter())
        for line in added:
            match = _RAISE.match(line)
            if not match["indent"] or not _STUB.match(match["rest"].strip()):
                problems.append(f"notebooks/{path.name}: {line.strip()!r}")
    return problems


def test_repo_exercise_stubs_only_raise_not_implemented() -> None:
    assert stub_problems(REPO) == []


def test_stub_scan_catches_other_raises(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"02_minimax.ipynb": solution_notebook()})
    make_exercises.run(root)
    assert stub_problems(root) == []
    path = root / "notebooks" / "02_minimax.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("NotImplementedError", "ValueError")
    nb.cells.append(new_code_cell('raise NotImplementedError("Exercise: at top level")'))
    nbformat.write(nb, path)
    assert stub_problems(root) == [
        "notebooks/02_minimax.ipynb: 'raise ValueError(\"Exercise: discriminator_loss\")'",
        "notebooks/02_minimax.ipynb: 'raise NotImplementedError(\"Exercise: at top level\")'",
    ]
