"""Settings read from the environment: where trained runs go in each mode."""

from pathlib import Path

import pytest

from gannotes.settings import runs_dir


def test_runs_dir_keeps_smoke_runs_apart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANNOTES_CACHE", str(tmp_path))
    monkeypatch.setenv("GANNOTES_SMOKE", "0")
    learner = runs_dir()
    monkeypatch.setenv("GANNOTES_SMOKE", "1")
    smoke = runs_dir()
    assert learner == tmp_path / "runs" and smoke == tmp_path / "runs" / "smoke"
    assert learner.is_dir() and smoke.is_dir()
