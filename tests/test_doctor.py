"""`python -m gannotes doctor` and the test suite's own data check: one clear line per problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gannotes import data, doctor

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A laptop without the dataset: every data folder empty."""
    monkeypatch.setenv("GANNOTES_DATA", str(tmp_path / "shared"))
    monkeypatch.setattr(data, "repo_data_dir", lambda: tmp_path / "repo-data")


def test_ready_machine_reports_no_problem(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("GANNOTES_TRAIN_SPLIT", "test")  # only the test split is needed then
    assert doctor.main(probe=False) == 0
    out = capsys.readouterr().out
    assert "MNIST test split: found, md5 verified" in out and "torch " in out and "device: " in out
    assert out.rstrip().endswith("Ready for the course.")


def test_missing_data_is_one_line_with_the_fix(no_data: None, capsys: pytest.CaptureFixture) -> None:
    assert doctor.main(probe=False) == 2  # the train and the test split
    problems = [line for line in capsys.readouterr().out.splitlines() if line.startswith("PROBLEM:")]
    assert len(problems) == 2
    assert all("not in any data folder searched. Fix: copy" in line for line in problems)
    assert "t10k-images-idx3-ubyte.gz" in problems[1]


def test_damaged_file_is_named(no_data: None, tmp_path: Path) -> None:
    folder = tmp_path / "shared" / "mnist"
    folder.mkdir(parents=True)
    for name in data.split_files("test"):
        (folder / name).write_bytes(b"not a dataset")
    (problem,) = doctor.data_problems(("test",))
    assert problem.startswith("MNIST's test split is damaged:") and "t10k-images-idx3-ubyte.gz" in problem


def test_speed_probe_measures_training_steps() -> None:
    assert doctor.probe_steps_per_second(seconds=0.5) > 0


def test_command_exit_status_says_whether_the_machine_is_ready() -> None:
    env = {**os.environ, "GANNOTES_TRAIN_SPLIT": "test"}
    ready = subprocess.run([sys.executable, "-m", "gannotes", "doctor", "--no-probe"], env=env, capture_output=True)
    assert ready.returncode == 0, ready.stdout.decode()


def test_pytest_without_data_stops_at_once_with_the_fix(tmp_path: Path) -> None:
    """The whole suite, offline and without MNIST: one message and exit status 4, before any test runs."""
    script = f"""
import socket, sys
import pytest
from gannotes import data
data.repo_data_dir = lambda: __import__("pathlib").Path({str(tmp_path / "repo-data")!r})
def refuse(*args, **kwargs):
    raise OSError("network is unreachable")
socket.create_connection = socket.getaddrinfo = refuse
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "tests/test_losses.py"]))
"""
    env = {**os.environ, "GANNOTES_DATA": str(tmp_path / "shared")}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    out = result.stdout + result.stderr
    assert result.returncode == 4, out
    assert "The tests need MNIST's test split." in out and "Fix: copy" in out, out
    assert "passed" not in out and "failed" not in out, out
