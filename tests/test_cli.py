"""The command line, tried as a new user would: train, resume, sample, interrupt, and clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gannotes import __version__, data
from gannotes.__main__ import main
from gannotes.train import load_checkpoint

TINY = ["--batch-size", "16", "--g-width", "8", "--d-width", "8", "--device", "cpu"]


def test_train_resume_and_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--model", "cgan", "--out", str(out), "--no-eval", "--steps", "4", *TINY]) == 0
    assert {p.name for p in out.iterdir()} == {"checkpoint.pt", "samples.png", "metrics.json", "data.json"}
    report = json.loads((out / "metrics.json").read_text())
    assert report["model"] == "cgan" and report["steps"] == 4 and report["images_per_second"] > 0
    assert "test split, images 0..7999" in report["data"]  # smoke mode says what it trained on
    assert report["config"]["lr_g"] == 5e-4 and report["config"]["d_depth"] == 3  # the notebooks' laptop settings

    assert main(["train", "--model", "cgan", "--out", str(out), "--no-eval", "--steps", "4", *TINY]) == 1
    assert "already exists: pass --resume" in capsys.readouterr().err
    # --resume --steps N trains to N in all, even beyond the planned total (the model is the checkpoint's) ...
    assert main(["train", "--out", str(out), "--resume", "--steps", "6", "--no-eval"]) == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 6
    # ... and says why not when N is behind the checkpoint, or when settings would be silently ignored.
    assert main(["train", "--model", "cgan", "--out", str(out), "--resume", "--steps", "3", "--no-eval"]) == 1
    assert "already at step 6: ask for at least 6 steps, not 3." in capsys.readouterr().err
    assert main(["train", "--model", "cgan", "--out", str(out), "--resume", "--lr-g", "0.1", "--no-eval"]) == 1
    assert "drop lr_g." in capsys.readouterr().err
    assert main(["train", "--model", "dcgan", "--out", str(out), "--resume", "--no-eval"]) == 1
    assert "is a cgan run, not dcgan: pass --model cgan." in capsys.readouterr().err

    png = tmp_path / "threes.png"
    assert main(["sample", "--checkpoint", str(out / "checkpoint.pt"), "--label", "3", "--out", str(png)]) == 0
    assert png.stat().st_size > 0
    assert main(["sample", "--checkpoint", str(out / "checkpoint.pt"), "--label", "12"]) == 1
    assert "--label must be between 0 and 9" in capsys.readouterr().err


def test_resume_continues_on_the_data_the_run_started_with(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shapes = data.write_shapes_folder(tmp_path / "shapes")
    out = tmp_path / "run"
    flags = ["--out", str(out), "--no-eval", "--device", "cpu"]
    first = ["train", "--model", "dcgan", "--dataset", f"folder:{shapes}", "--steps", "2", *flags, *TINY[:6]]
    assert main(first) == 0
    assert main(["train", "--resume", "--steps", "3", *flags]) == 0  # no --dataset: the run's own
    report = json.loads((out / "metrics.json").read_text())
    assert report["dataset"] == f"folder:{shapes}" and report["image_size"] == 32 and report["steps"] == 3
    assert main(["train", "--resume", "--dataset", "mnist", "--steps", "4", *flags]) == 1
    assert f"was trained with --dataset folder:{shapes}: drop --dataset mnist" in capsys.readouterr().err


def test_published_settings_on_request(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--model", "dcgan", "--settings", "published", "--out", str(out), "--no-eval", "--steps", "2"]
    assert main([*args, "--batch-size", "16", "--device", "cpu"]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert (config["lr_g"], config["g_width"], config["d_depth"]) == (2e-4, 32, 2)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--model", "stylegan"], "invalid choice: 'stylegan'"),
        (["train", "--model", "dcgan", "--steps", "0"], "--steps: must be at least 1, got 0"),
        (["train", "--model", "dcgan", "--optimizer", "sgd"], "invalid choice: 'sgd'"),
        (["sample", "--checkpoint", "x.pt", "--n", "0"], "--n: must be at least 1, got 0"),
        (["sample", "--checkpoint", "x.pt", "--n", "-5"], "--n: must be at least 1, got -5"),
    ],
)
def test_bad_arguments_are_one_clear_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and "Traceback" not in err


def test_bad_files_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    assert main(["sample", "--checkpoint", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "not a readable checkpoint" in err and err.rstrip().endswith(".")  # whole sentences, never cut
    assert main(["sample", "--checkpoint", str(tmp_path / "missing.pt")]) == 1
    assert "No checkpoint at" in capsys.readouterr().err
    assert main(["train", "--model", "dcgan", "--out", str(tmp_path / "x"), "--resume"]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "x")]) == 1
    assert "Choose a model with --model" in capsys.readouterr().err


def test_help_names_the_environment_and_version_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in ("GANNOTES_DATA", "GANNOTES_DEVICE", "GANNOTES_SMOKE", "--lr-g", "--betas"))
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"gannotes {__version__}"


def test_sigterm_saves_says_how_to_continue_and_exits_non_zero(tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gannotes", "train", "--model", "dcgan", "--out", str(out), "--steps", "100000"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([*command, *TINY, "--no-eval"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for line in process.stdout:  # wait until training has begun
            if line.startswith(b"Training dcgan"):
                break
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr.decode()
    step = load_checkpoint(out / "checkpoint.pt")["step"]
    assert 0 < step < 500  # saved at the step it was stopped at, not at the last periodic checkpoint
    assert f"Interrupted at step {step} of 100000; checkpoint saved to" in stdout.decode()
    assert f"Continue with: python -m gannotes train --out {out} --resume" in stderr.decode()
    assert not (out / "samples.png").exists() and not (out / "metrics.json").exists()  # not treated as finished


def test_missing_dataset_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], offline: None
) -> None:
    monkeypatch.setenv("GANNOTES_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "repo_data_dir", lambda: tmp_path / "repo-data")
    assert main(["train", "--model", "dcgan", "--out", str(tmp_path / "run"), "--steps", "4", *TINY]) == 1
    err = capsys.readouterr().err
    assert "MNIST (test split) is not on this machine" in err and "Traceback" not in err


def test_prepare_saves_the_run_a_notebook_then_loads_instead_of_training(capsys: pytest.CaptureFixture[str]) -> None:
    """`prepare 04_dcgan` runs notebook 04 (smoke mode here), which saves its run; with USE_SAVED_RUN the notebook's
    `reuse(...) or run` loads it, and `fit` then has nothing left to train."""
    from gannotes import TrainConfig, course_data, fit, reuse, runs_dir, scaled, steps

    saved = runs_dir() / "04_dcgan.pt"
    before = saved.stat().st_mtime_ns if saved.exists() else 0
    # As an instructor runs it (in a process of its own: it starts a notebook kernel).
    done = subprocess.run(
        [sys.executable, "-m", "gannotes", "prepare", "04_dcgan"], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0 and "04_dcgan: done in" in done.stdout, done.stdout + done.stderr
    assert saved.stat().st_mtime_ns > before

    config = TrainConfig.for_model("dcgan", steps=scaled(2800, 10))  # notebook 04's
    run = reuse(saved, config, course_data("mnist").train.images)
    assert run is not None and run.step == config.steps
    weights = [p.clone() for p in run.G.parameters()]
    history = fit(run, steps.gan_d_step, steps.gan_g_step, progress=False)
    assert run.step == config.steps and history["step"][-1] == config.steps
    assert all(torch.equal(a, b) for a, b in zip(weights, run.G.parameters(), strict=True))
    # Other settings: not loaded, and it says why.
    assert reuse(saved, TrainConfig.for_model("dcgan", steps=config.steps + 1), run.batches.tensors[0]) is None
    assert "other settings" in capsys.readouterr().out


def test_prepare_names_the_notebooks_it_knows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", "99_nothing"]) == 1
    err = capsys.readouterr().err
    assert "no notebook 99_nothing" in err and "04_dcgan" in err and "Traceback" not in err
