"""`python -m gannotes start`: learners work on copies, so their work never turns the tests red or gets lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from gannotes.__main__ import main

REPO = Path(__file__).resolve().parent.parent


def test_start_copies_the_exercises_once_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    assert main(["start", "--work", str(work), "--no-lab"]) == 0
    names = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in work.glob("*.ipynb")) == names
    assert f"({len(names)} new;" in capsys.readouterr().out

    mine = work / names[0]
    mine.write_text('{"a learner\'s": "work"}')
    (work / names[1]).unlink()  # a learner who wants one notebook fresh deletes it and starts again
    assert main(["start", "--work", str(work), "--no-lab"]) == 0
    assert mine.read_text() == '{"a learner\'s": "work"}'
    assert (work / names[1]).read_bytes() == (REPO / "notebooks" / names[1]).read_bytes()
    assert "(1 new;" in capsys.readouterr().out
