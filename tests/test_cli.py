"""The command line: train, resume, sample, and clear errors for bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gannotes import data
from gannotes.__main__ import main

TINY = ["--steps", "4", "--batch-size", "16", "--g-width", "8", "--d-width", "8", "--device", "cpu"]


def test_train_resume_and_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--model", "cgan", "--out", str(out), "--no-eval", *TINY]) == 0
    assert {p.name for p in out.iterdir()} >= {"checkpoint.pt", "samples.png", "metrics.json"}
    report = json.loads((out / "metrics.json").read_text())
    assert report["model"] == "cgan" and report["steps"] == 4 and report["images_per_second"] > 0
    assert "test split, images 0..7999" in report["data"]  # smoke mode says what it trained on

    assert main(["train", "--model", "cgan", "--out", str(out), "--no-eval", *TINY]) == 1
    assert "already exists: pass --resume" in capsys.readouterr().err
    assert main(["train", "--model", "cgan", "--out", str(out), "--resume", "--steps", "6", "--no-eval"]) == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 6

    png = tmp_path / "threes.png"
    assert main(["sample", "--checkpoint", str(out / "checkpoint.pt"), "--label", "3", "--out", str(png)]) == 0
    assert png.stat().st_size > 0
    assert main(["sample", "--checkpoint", str(out / "checkpoint.pt"), "--label", "12"]) == 1
    assert "--label must be between 0 and 9" in capsys.readouterr().err


def test_bad_arguments_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "stylegan"])
    assert exit_info.value.code == 2 and "invalid choice: 'stylegan'" in capsys.readouterr().err

    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    assert main(["sample", "--checkpoint", str(broken)]) == 1
    assert "not a readable checkpoint" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(tmp_path / "missing.pt")]) == 1
    assert "No checkpoint at" in capsys.readouterr().err
    assert main(["train", "--model", "dcgan", "--out", str(tmp_path / "x"), "--resume"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_missing_dataset_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], offline: None
) -> None:
    monkeypatch.setenv("GANNOTES_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "repo_data_dir", lambda: tmp_path / "repo-data")
    assert main(["train", "--model", "dcgan", "--out", str(tmp_path / "run"), *TINY]) == 1
    err = capsys.readouterr().err
    assert "MNIST (test split) is not on this machine" in err and "Traceback" not in err
