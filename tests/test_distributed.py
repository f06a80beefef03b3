"""Training on several processes (DistributedDataParallel, gloo on the CPU, 2 processes): the same run as on one
process, resumable with another number of processes, the right gradients for every model, and a bad launch is one
clear error. The 2-process work runs once, in one spawned session (the module fixture), to keep the tests short."""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gannotes import steps
from gannotes.__main__ import main
from gannotes.data import BatchSource
from gannotes.mixtures import ring_of_gaussians
from gannotes.train import MODELS, Run, TrainConfig, fit, resume, start

# Measured (torch 2.14, x86 CPU): after 8 steps the 2-process run's weights differ from the 1-process run's by
# 1.5e-8 at most and its logged stats by 1.2e-7, and the runs resumed with the other number of processes by as
# little (float32 sums in another order: each process averages its half of the batch, DDP averages the halves).
# The tolerance leaves room for other CPUs' rounding; other noise or another data order differ by 7e-3 and 2e-2.
TOLERANCE = 1e-5
POINTS = ring_of_gaussians().sample(256, generator=torch.Generator().manual_seed(0))  # a small MLP GAN: no batch norm
IMAGES = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
LABELS = torch.arange(64) % 10
TRACKED = ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm")


def _config(**overrides) -> TrainConfig:
    # n_critic=2: the first D step of each step runs G frozen, through DDP too.
    small = dict(z_dim=8, g_width=16, d_width=16, batch_size=16, steps=8, n_critic=2, log_every=2, checkpoint_every=4)
    return TrainConfig.for_model("gan", **{**small, "device": "cpu", **overrides})


def _fit(run: Run, **kwargs) -> Run:
    fit(run, *steps.STEPS[run.config.model], progress=False, **kwargs)
    return run


def _state(run: Run) -> dict:
    """What two runs must agree on: the step, the weights, the history."""
    weights = [t.detach().clone() for m in (run.G, run.D) for t in m.state_dict().values()]
    return {"step": run.step, "weights": weights, "history": {k: run.history[k] for k in TRACKED}}


def _gap(a: dict, b: dict) -> float:
    """The largest difference between two states, or infinity if they are not at the same step."""
    if a["step"] != b["step"] or a["history"].keys() != b["history"].keys():
        return float("inf")
    gaps = [(x - y).abs().max().item() for x, y in zip(a["weights"], b["weights"], strict=True)]
    gaps += [abs(x - y) for k in TRACKED for x, y in zip(a["history"][k], b["history"][k], strict=True)]
    return max(gaps)


def _gradients(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters()])


def _gradient_gaps(model: str, rank: int, world: int) -> tuple[float, float, float]:
    """One D step and one G step of ``model``, through DDP and through plain copies of the networks: how far DDP's
    gradients of D and of G are from the mean of the processes' own, and how far the processes' own are apart."""
    config = TrainConfig.for_model(model, g_width=4, d_width=4, d_depth=2, batch_size=8, device="cpu")
    run = start(config, IMAGES, LABELS if config.conditional else None)
    d_step, g_step = steps.STEPS[model]
    real_batch, z = next(run.batches), torch.randn(4, config.z_dim)
    own, ddp = (copy.deepcopy(run.G), copy.deepcopy(run.D)), run.ddp
    found = []
    for G, D in (own, ddp):
        torch.manual_seed(100 + rank)  # the same draws inside the steps (fake labels, the penalty's mixing weights)
        no_update = [torch.optim.SGD(m.parameters(), lr=0.0) for m in (G, D)]
        fakes, _ = d_step(G, D, no_update[1], *real_batch, z)
        d_grad = _gradients(D)
        g_step(G, D, no_update[0], *(fakes if isinstance(fakes, tuple) else (fakes,)))
        found.append((d_grad, _gradients(G)))
    means = [g.clone() for g in found[0]]
    for mean in means:
        dist.all_reduce(mean)
        mean /= world
    (own_d, _), (ddp_d, ddp_g) = found
    spread = (own_d - means[0]).abs().max().item()
    return (ddp_d - means[0]).abs().max().item(), (ddp_g - means[1]).abs().max().item(), spread


def _worker(rank: int, world: int, port: int, folder: str) -> None:
    """Everything the tests need from 2 processes, written to ``folder/rank<N>.pt``."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    folder_path, found = Path(folder), {}
    try:
        found["straight"] = _state(_fit(start(_config(), POINTS)))
        found["one_then_two"] = _state(_fit(resume(folder_path / "one" / "checkpoint.pt", POINTS)))
        _fit(start(_config(), POINTS), steps=4, out_dir=folder_path / "two")  # the parent goes on with one process
        found["gradients"] = {model: _gradient_gaps(model, rank, world) for model in MODELS}
        try:
            start(_config(sync_bn="on"), POINTS)
        except ValueError as err:
            found["sync_bn"] = str(err)
        printed = io.StringIO()
        args = ["train", "--model", "gan", "--out", str(folder_path / "cli"), "--steps", "2", "--no-eval"]
        with contextlib.redirect_stdout(printed):
            found["cli"] = main([*args, "--batch-size", "16", "--g-width", "8", "--d-width", "8", "--device", "cpu"])
        found["printed"] = printed.getvalue()
    finally:
        torch.save(found, folder_path / f"rank{rank}.pt")
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The 1-process references, then one session of 2 processes; both ranks' findings, and the references."""
    folder = tmp_path_factory.mktemp("distributed")
    one = {"straight": _state(_fit(start(_config(), POINTS)))}
    _fit(start(_config(), POINTS), steps=4, out_dir=folder / "one")  # the 2 processes go on from here
    mp.spawn(_worker, args=(2, _free_port(), str(folder)), nprocs=2)
    one["two_then_one"] = _state(_fit(resume(folder / "two" / "checkpoint.pt", POINTS)))
    ranks = [torch.load(folder / f"rank{r}.pt", weights_only=False) for r in range(2)]
    return {"one": one, "ranks": ranks, "folder": folder}


def test_two_processes_train_like_one_with_the_same_global_batch(two: dict) -> None:
    reference, (rank0, rank1) = two["one"]["straight"], two["ranks"]
    assert rank0["straight"]["step"] == 8
    assert _gap(rank0["straight"], reference) < TOLERANCE
    assert _gap(rank1["straight"], rank0["straight"]) == 0  # the processes agree exactly, history included


def test_resuming_with_another_number_of_processes_matches_the_uninterrupted_run(two: dict) -> None:
    reference = two["one"]["straight"]
    assert _gap(two["ranks"][0]["one_then_two"], reference) < TOLERANCE  # 4 steps on 1 process, then 4 on 2
    assert _gap(two["one"]["two_then_one"], reference) < TOLERANCE  # 4 steps on 2 processes, then 4 on 1


@pytest.mark.parametrize("model", MODELS)
def test_ddp_gradients_are_the_mean_of_each_process_gradients(model: str, two: dict) -> None:
    # Covers what DDP might get wrong with our steps: G's step through a frozen D, WGAN-GP's double backward,
    # batch norm (every model but gan and wgan-gp has it).
    d_gap, g_gap, spread = two["ranks"][0]["gradients"][model]
    assert d_gap < 1e-6 and g_gap < 1e-6
    assert spread > 1e-3  # the processes' own gradients differ: the mean is not trivially one of them


def test_sync_batch_norm_on_cpu_processes_is_a_clear_error(two: dict) -> None:
    assert "sync_bn='on' needs GPUs" in two["ranks"][0]["sync_bn"]


def test_command_line_prints_and_writes_from_rank_0_only(two: dict) -> None:
    rank0, rank1 = two["ranks"]
    assert rank0["cli"] == rank1["cli"] == 0
    assert "Training gan on 2 processes (cpu), batch 16 (8 each), from step 0 to 2" in rank0["printed"]
    assert rank1["printed"] == ""
    out = two["folder"] / "cli"
    assert {p.name for p in out.iterdir()} == {"checkpoint.pt", "samples.png", "metrics.json", "data.json"}


def test_batch_slices_do_not_depend_on_the_number_of_processes() -> None:
    x = torch.arange(50)
    whole = BatchSource(x, batch_size=8, seed=3)
    halves = [BatchSource(x, batch_size=8, seed=3, rank=r, world_size=2) for r in range(2)]
    for _ in range(12):  # across epoch boundaries
        (expected,) = next(whole)
        assert torch.equal(torch.cat([next(h)[0] for h in halves]), expected)
    with pytest.raises(ValueError, match=r"batch size \(6\) is the global batch.*4 processes: make it a multiple"):
        BatchSource(x, batch_size=6, rank=0, world_size=4)


def test_bad_launch_is_one_clear_error(tmp_path: Path) -> None:
    """A global batch that does not split between the processes: torchrun with 2 processes and a batch of 3."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "gannotes", "train"]
    command += ["--model", "gan", "--batch-size", "3", "--out", str(tmp_path / "run"), "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert output.count("error: The batch size (3) is the global batch") == 1, output
    # torchrun adds its own summary of the failed processes; our code shows no traceback, from any process: no frame
    # in a module of the package (gannotes/*.py or gannotes/checks/*.py), wherever the checkout's folder is.
    assert not re.search(r'File "[^"]*[/\\]gannotes[/\\](checks[/\\])?[^"/\\]+\.py"', output), output
