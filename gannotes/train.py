"""The course's training loop: :func:`fit` calls a variant's two steps (:mod:`gannotes.steps`, or a notebook's).

:class:`TrainConfig` and :data:`SETTINGS` describe a run, :func:`start` builds it (models, optimisers, data on the
device), :func:`fit` trains it, :func:`save`, :func:`resume` and :func:`reuse` checkpoint it. Typical use:
``run = start(TrainConfig.for_model("dcgan"), images)``, then ``fit(run, steps.gan_d_step, steps.gan_g_step)``.
Under ``torchrun`` (several processes, see the README), :func:`start` wraps both networks in PyTorch's
DistributedDataParallel and gives each process its slice of every batch; the loop and the steps stay the same.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from .data import IMAGE_SHAPE, BatchSource
from .device import get_device, seed_everything
from .models import ACGANDiscriminator, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, sample
from .settings import save_atomically

CHECKPOINT_FORMAT = "gannotes-checkpoint-v3"
#: What a checkpoint holds the state dict of: its key -> the :class:`Run` attribute.
PARTS = dict(generator="G", discriminator="D", g_optimizer="g_optimizer", d_optimizer="d_optimizer", batches="batches")

#: Each model's settings on top of :class:`TrainConfig`'s defaults. "published": the papers' (DCGAN: Radford et al.,
#: 2016; WGAN: Arjovsky et al., 2017; WGAN-GP: Gulrajani et al., 2017). "laptop": ours for a 2-core CPU, measured in
#: benchmarks/README.md: a generator half as wide, lr 5e-4, a 16-channel discriminator with a third block at 7x7.
SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "published": {
        "gan": {"arch": "mlp", "g_width": 256, "d_width": 256},
        "dcgan": {},
        "cgan": {},
        "acgan": {},
        "wgan": {"optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "n_critic": 5},
        "wgan-gp": {"lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.0, 0.9), "n_critic": 5, "d_norm": "layer"},
    },
    "laptop": {
        "dcgan": {"g_width": 16, "d_width": 16, "d_depth": 3, "lr_g": 5e-4, "lr_d": 5e-4},
        "cgan": {"g_width": 16, "d_width": 16, "d_depth": 3, "lr_g": 5e-4, "lr_d": 5e-4},
        "acgan": {"g_width": 16, "d_width": 16, "d_depth": 3, "lr_g": 5e-4, "lr_d": 5e-4},
        "wgan-gp": {"batch_size": 32, "lr_g": 3e-4, "lr_d": 3e-4},
    },
}
MODELS = tuple(SETTINGS["published"])


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite: training cannot continue from here."""


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, truncated, or not one this package wrote."""


def _help(text: str, default: Any, choices: tuple | None = None) -> Any:
    return field(default=default, metadata={"help": text, "choices": choices})


@dataclass
class TrainConfig:
    """Everything that defines a training run (each field is a flag of the command line). See :meth:`for_model`."""

    model: str = _help("which GAN", "dcgan", MODELS)
    arch: str = _help("the networks: mlp, or dcgan (convolutional, 28, 32 or 64 pixels)", "dcgan", ("mlp", "dcgan"))
    z_dim: int = _help("noise dimensions", 64)
    g_width: int = _help("generator width: channels of its last block, or MLP hidden units", 32)
    d_width: int = _help("discriminator width: channels of its first block, or MLP hidden units", 32)
    d_depth: int = _help("DCGAN discriminator: 2 (the paper's) or 3 (one more block at its smallest map)", 2, (2, 3))
    d_norm: str = _help("D's normalisation (wgan-gp: not batch)", "batch", ("batch", "layer", "none"))
    num_classes: int = _help("classes of a conditional model (cgan, acgan)", 10)
    batch_size: int = _help("real samples per discriminator step, over all processes (each takes a slice)", 64)
    steps: int = _help("generator updates in all", 1000)
    n_critic: int = _help("discriminator updates per generator update", 1)
    optimizer: str = _help("the optimiser of both players", "adam", ("adam", "rmsprop"))
    lr_g: float = _help("generator learning rate", 2e-4)
    lr_d: float = _help("discriminator learning rate", 2e-4)
    betas: tuple[float, float] = _help("Adam's beta1 and beta2", (0.5, 0.999))
    seed: int = _help("random seed", 0)
    log_every: int = _help("steps between two history records", 25)
    sample_every: int = _help("steps between two sample grids", 100)
    checkpoint_every: int = _help("steps between two checkpoints (with an output folder)", 500)
    amp: str = _help("bf16 autocast (auto: on CUDA with bf16)", "auto", ("auto", "on", "off"))
    sync_bn: str = _help("several GPUs: batch norm over the whole batch (SyncBatchNorm)", "off", ("on", "off"))
    device: str | None = _help("cpu, cuda, cuda:N or mps (default: the best available)", None)

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def for_model(cls, model: str, settings: str = "laptop", **overrides: Any) -> TrainConfig:
        """``model``'s published settings, then (``settings="laptop"``) our laptop changes, then ``overrides``."""
        if model not in MODELS:
            raise ValueError(f"Unknown model {model!r}. Choose one of: {', '.join(MODELS)}.")
        if settings not in SETTINGS:
            raise ValueError(f"Unknown settings {settings!r}. Choose one of: {', '.join(SETTINGS)}.")
        return cls(model=model, **{**SETTINGS["published"][model], **SETTINGS[settings].get(model, {}), **overrides})

    @property
    def conditional(self) -> bool:
        """True when both players see labels (cgan, acgan)."""
        return self.model in ("cgan", "acgan")

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that makes no sense, and how to fix it."""
        for f in fields(self):
            value, allowed = getattr(self, f.name), f.metadata["choices"]
            if allowed is not None and value not in allowed:
                raise ValueError(f"TrainConfig.{f.name} = {value!r}; choose one of {', '.join(map(str, allowed))}.")
            if f.type == "int" and f.name != "seed" and value < 1:
                raise ValueError(f"TrainConfig.{f.name} must be at least 1, got {value}.")
        if self.model == "wgan-gp" and self.d_norm == "batch":
            raise ValueError("A gradient-penalty critic must not use batch norm: set d_norm='layer' or 'none'.")
        if self.model == "acgan" and self.arch != "dcgan":
            raise ValueError("acgan needs arch='dcgan' (its discriminator has a class head).")


def build_models(config: TrainConfig, sample_shape: tuple[int, ...] = IMAGE_SHAPE) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator (or critic) that ``config`` describes, on the CPU."""
    k = config.num_classes if config.conditional else 0
    k_d = k if config.model == "cgan" else 0  # ACGAN's D predicts the label instead of reading it
    if config.arch == "mlp":
        G = MLPGenerator(config.z_dim, sample_shape, config.g_width, num_classes=k)
        return G, MLPDiscriminator(sample_shape, config.d_width, num_classes=k_d)
    shape = tuple(sample_shape)  # (C, S, S) with S = 28, 32 or 64: the models say so otherwise
    G = DCGANGenerator(config.z_dim, config.g_width, num_classes=k, image_shape=shape)
    d_options = {"norm": config.d_norm, "depth": config.d_depth, "image_shape": shape}
    if config.model == "acgan":
        return G, ACGANDiscriminator(config.d_width, config.num_classes, **d_options)
    return G, DCGANDiscriminator(config.d_width, num_classes=k_d, **d_options)


def make_optimizer(model: nn.Module, lr: float, config: TrainConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``model``'s parameters, which must already be on their device."""
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=lr, foreach=True)
    # Fused Adam updates every parameter in one kernel: the same numbers, fewer kernel launches.
    fused = next(model.parameters()).device.type in ("cpu", "cuda")
    return torch.optim.Adam(model.parameters(), lr=lr, betas=config.betas, fused=fused)


def processes() -> tuple[int, int]:
    """This process's rank and the number of processes: ``(0, 1)`` unless ``torch.distributed`` is initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Replicated(DistributedDataParallel):
    """A network in DistributedDataParallel (DDP) that still answers ``G.z_dim``, ``G.num_classes``... for the steps.

    Its forward is the network's; its backward also averages the gradients over the processes, so the steps run
    unchanged. DDP's defaults fit our steps (tests/test_distributed.py checks its gradients against the mean of the
    processes' own): in G's step D is frozen, so D's weights get no gradient and DDP reduces none for them; WGAN-GP's
    penalty differentiates D with respect to its input only (``autograd.grad``), so D's weights still get their
    whole gradient once, in the step's one ``backward()``, where DDP averages it.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:  # not self.module, which would call this again while DDP is being built
            return getattr(super().__getattr__("module"), name)


@dataclass
class Run:
    """A training run's state: what :func:`fit` advances and :func:`save` writes. Make one with :func:`start`."""

    config: TrainConfig
    G: nn.Module
    D: nn.Module
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    batches: BatchSource
    device: torch.device
    fixed_z: torch.Tensor  # (64, z_dim): the same noise for every sample grid, so grids show progress, not luck
    noise: torch.Generator  # draws each step's z, the same on every process (each takes its slice, as of the data)
    step: int = 0
    history: dict[str, list] = field(default_factory=lambda: {"step": [], "samples": []})
    log_sums: dict[str, torch.Tensor] = field(default_factory=dict)  # stats since the last history record
    ddp: tuple[nn.Module, nn.Module] | None = None  # several processes: G and D as Replicated, for the steps

    def images_per_second(self) -> float:
        """Real images consumed per second of training, from the recorded step times."""
        times = self.history.get("sec_per_step", [])
        return self.config.batch_size * self.config.n_critic * len(times) / sum(times) if times else float("nan")


def start(
    config: TrainConfig,
    samples: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    G: nn.Module | None = None,
    D: nn.Module | None = None,
    g_optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = None,
    d_optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = None,
) -> Run:
    """A fresh :class:`Run` on ``samples (N, ...)``, with their ``labels (N,)`` for conditional models only.

    The models are ``config``'s, or ``G`` and ``D``; the optimisers ``config``'s, or ``g_optimizer(G)`` and
    ``d_optimizer(D)``; models and data go to ``config.device``. Under several processes, each takes its GPU from
    ``LOCAL_RANK`` and its slice of every batch, and ``run.ddp`` holds G and D wrapped for the steps.
    """
    config.validate()  # again: a field may have changed since the config was made
    if config.conditional and labels is None:
        raise ValueError(f"{config.model} is conditional: pass the labels of the training samples.")
    rank, world = processes()
    device = get_device(config.device)
    if world > 1 and device.type == "cuda":  # one GPU per process, numbered on each machine by torchrun
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(device)
    # Each process its own random draws inside the steps (a CGAN's fake labels...); the weights are rank 0's,
    # which DistributedDataParallel copies to every process.
    seed_everything(config.seed + rank)
    if G is None or D is None:
        built_g, built_d = build_models(config, tuple(samples.shape[1:]))
        G, D = (G if G is not None else built_g), (D if D is not None else built_d)
    # Channels-last weights let a CPU's convolutions (oneDNN) skip layout conversions; same numbers. Not under DDP,
    # whose gradient buckets then warn about the strides of the 1-channel convolutions' gradients.
    cpu_images = device.type == "cpu" and samples.dim() == 4 and world == 1
    layout = torch.channels_last if cpu_images else torch.preserve_format
    G, D = G.to(device, memory_format=layout).train(), D.to(device, memory_format=layout).train()
    tensors = (samples,) if labels is None else (samples, labels)
    batches = BatchSource(
        *tensors, batch_size=config.batch_size, device=device, seed=config.seed, rank=rank, world_size=world
    )
    fixed_z = torch.randn(64, G.z_dim, generator=torch.Generator().manual_seed(config.seed + 1)).to(device)
    noise = torch.Generator(device).manual_seed(config.seed + 2)
    ddp = None
    if world > 1:
        if config.sync_bn == "on" and device.type != "cuda":
            raise ValueError("sync_bn='on' needs GPUs: PyTorch's SyncBatchNorm does not run on the CPU.")
        if config.sync_bn == "on":  # batch statistics over the global batch, as in one process (same state dict)
            G, D = nn.SyncBatchNorm.convert_sync_batchnorm(G), nn.SyncBatchNorm.convert_sync_batchnorm(D)
        # forward_sync_buffers=False: no broadcast of batch norm's running statistics before every forward.
        # Training uses each batch's own statistics; the running ones serve sampling only, and rank 0's, which the
        # checkpoint saves, are estimated on its slices (with sync_bn on the whole batches: all processes agree).
        ids = [device.index] if device.type == "cuda" else None
        ddp = tuple(Replicated(m, device_ids=ids, forward_sync_buffers=False) for m in (G, D))
    g_opt = g_optimizer(G) if g_optimizer else make_optimizer(G, config.lr_g, config)
    d_opt = d_optimizer(D) if d_optimizer else make_optimizer(D, config.lr_d, config)
    return Run(config, G, D, g_opt, d_opt, batches, device, fixed_z, noise, ddp=ddp)


def fit(
    run: Run,
    d_step: Callable[..., Any],
    g_step: Callable[..., Any],
    *,
    steps: int | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, list]:
    """Train ``run`` to ``steps`` steps in all (default: ``config.steps``) and return its history.

    Each step: ``n_critic`` D steps, then one G step on the last D step's fakes (:mod:`gannotes.steps` states the
    contract). The history gets the stats' means, gradient norms and seconds per step every ``log_every`` steps, and
    a grid from the fixed noise every ``sample_every``. With ``out_dir``, ``checkpoint.pt`` is saved every
    ``checkpoint_every`` steps, at the end, and on Ctrl-C (raised again). Under several processes every process runs
    this same loop on its slice of each batch, with ``run.ddp``'s networks.
    """
    cfg = run.config
    G, D = run.ddp or (run.G, run.D)  # what the steps get: the networks, or under several processes their wrappers
    target = cfg.steps if steps is None else steps
    if target < run.step:
        raise ValueError(f"The run is already at step {run.step}: ask for at least {run.step} steps, not {target}.")
    cfg.steps = max(cfg.steps, target)
    path = Path(out_dir) / "checkpoint.pt" if out_dir is not None else None
    # bf16 autocast where it pays (CUDA): a step's forward passes run in bf16, its losses in float32.
    amp = cfg.amp == "on" or (cfg.amp == "auto" and run.device.type == "cuda" and torch.cuda.is_bf16_supported())
    G.train()  # sampling, or a learner, may have left a network in eval mode
    D.train()
    bar = tqdm(total=target, initial=run.step, desc=cfg.model, disable=not progress)
    tick, ticked_at = time.perf_counter(), run.step
    try:
        while run.step < target:
            with torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=amp):
                for i in range(cfg.n_critic):  # (1) update D
                    G.requires_grad_(i == cfg.n_critic - 1)  # only the last fakes go on to G's step
                    real_batch = next(run.batches)
                    # Noise for the whole batch, the same on every process, which takes its rows as of the data.
                    z = torch.randn(cfg.batch_size, G.z_dim, device=run.device, generator=run.noise)
                    z = z[run.batches.shard]
                    out = d_step(G, D, run.d_optimizer, *real_batch, z)
                    if not (isinstance(out, tuple) and len(out) == 2):
                        raise TypeError(
                            f"A discriminator step must return (fakes, stats): the fakes G(z) for the generator's "
                            f"step, and its loss or a dict of numbers to log; this one returned {type(out).__name__}. "
                            "End your step with: return fake, loss.detach()"
                        )
                    fakes, stats = out
                    _accumulate(run.log_sums, stats, "d_loss")
                fakes = fakes if isinstance(fakes, tuple) else (fakes,)
                _accumulate(run.log_sums, g_step(G, D, run.g_optimizer, *fakes), "g_loss")  # (2) update G
            run.step += 1
            bar.update(1)
            # Records depend only on the step number, so a resumed run logs exactly like an uninterrupted one.
            if run.step % cfg.log_every == 0 or run.step == cfg.steps:
                now = time.perf_counter()
                _record(run, (now - tick) / (run.step - ticked_at))
                tick, ticked_at = now, run.step
                bar.set_postfix({k: f"{run.history[k][-1]:.3f}" for k in ("d_loss", "g_loss") if k in run.history})
            if run.step % cfg.sample_every == 0 or run.step == cfg.steps:
                run.history["samples"].append((run.step, sample(run.G, z=run.fixed_z)))
            if path is not None and (run.step % cfg.checkpoint_every == 0 or run.step == target):
                save(run, path)
    except KeyboardInterrupt:
        saved = f"; checkpoint saved to {save(run, path)}" if path is not None else ""
        print(f"Interrupted at step {run.step} of {target}{saved}.")
        raise
    finally:
        G.requires_grad_(True)  # trainable again, even if interrupted between two D steps
        bar.close()
    return run.history


def _accumulate(sums: dict[str, Any], stats: Any, loss_name: str) -> None:
    """Add a step's stats (its loss, or a dict of scalars) to the running sums, which stay on the device."""
    for key, value in (stats if isinstance(stats, dict) else {loss_name: stats}).items():
        sums[key] = sums.get(key, 0.0) + torch.as_tensor(value).detach().float()
        sums[key + "/n"] = sums.get(key + "/n", 0) + 1


def _record(run: Run, sec_per_step: float) -> None:
    """Append the means since the last record, and the last updates' gradient norms, to the history."""
    names = [k for k in run.log_sums if not k.endswith("/n")]
    means = [run.log_sums[k].to(run.device) / run.log_sums[k + "/n"] for k in names]
    for model in (run.D, run.G):  # each step clears the gradients first: these are its last update's
        means.append(torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None]))
    run.log_sums = {}
    run.history["step"].append(run.step)
    values = torch.stack(means)
    world = processes()[1]
    if world > 1:  # each process logged the stats of its slice: record their mean, the same on every process
        dist.all_reduce(values)
        values /= world
    # .tolist() is the one host synchronisation per interval.
    for name, value in zip([*names, "d_grad_norm", "g_grad_norm"], values.tolist(), strict=True):
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"{name} became {value} by step {run.step}: training diverged. Try lower learning rates "
                f"(lr_d={run.config.lr_d}, lr_g={run.config.lr_g}), or resume from an earlier checkpoint."
            )
        run.history.setdefault(name, []).append(value)
    run.history.setdefault("sec_per_step", []).append(sec_per_step)


def save(run: Run, path: str | Path) -> Path:
    """Write everything needed to continue exactly where ``run`` is (see :func:`resume`), atomically.

    Under several processes only rank 0 writes: all hold the same weights, optimiser states and data position (the
    stats logged since the last history record are rank 0's own, a small difference for the record after a resume).
    """
    path = Path(path)
    if processes()[0] != 0:
        return path
    state = {key: getattr(run, name).state_dict() for key, name in PARTS.items()}
    state.update(
        format=CHECKPOINT_FORMAT,
        config=asdict(run.config),
        step=run.step,
        rng_cpu=torch.get_rng_state(),
        rng_cuda=torch.cuda.get_rng_state_all() if run.device.type == "cuda" else [],
        noise=run.noise.get_state(),
        noise_device=run.device.type,
        history=run.history,
        log_sums={k: torch.as_tensor(v).cpu() for k, v in run.log_sums.items()},
        sample_shape=tuple(run.batches.tensors[0].shape[1:]),
    )
    return save_atomically(state, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``) and check it is one of ours; its "config" is a TrainConfig."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Train first, or check the path.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated zips, pickles and garbage raise many types
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(err).__name__}). It may be truncated or written by "
            "another program: delete it, or point to another file."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        keys = ", ".join(list(state)[:8]) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{path} is not a gannotes training checkpoint of this version (it holds: {keys}). Train again."
        )
    return {**state, "config": TrainConfig(**state["config"])}


def resume(path: str | Path, samples: torch.Tensor, labels: torch.Tensor | None = None, **kwargs: Any) -> Run:
    """The :class:`Run` saved at ``path``, for :func:`fit` to continue exactly as if it had never stopped.

    Pass the same data (``labels`` are used for conditional models only) and the same keywords ``G``, ``D``,
    ``g_optimizer``, ``d_optimizer`` as to :func:`start`, if any; ``device`` overrides the saved one. The number of
    processes may differ from the run that saved it: the batch is global, and so are the data order and the noise.
    """
    state = load_checkpoint(path)
    config = replace(state["config"], device=kwargs.pop("device", None) or state["config"].device)
    run = start(config, samples, labels if config.conditional else None, **kwargs)
    try:
        for key, name in PARTS.items():
            getattr(run, name).load_state_dict(state[key])
    except (RuntimeError, KeyError, ValueError) as err:
        raise CheckpointError(
            f"{path} does not match these models or data ({type(err).__name__}). Resume with the same models, "
            "config and training data as the run that wrote it."
        ) from None
    run.step, run.history = state["step"], state["history"]
    if state["noise_device"] == run.device.type:  # a generator's state fits only the same kind of device
        run.noise.set_state(state["noise"])
    rank, world = processes()
    if rank == 0:
        torch.set_rng_state(state["rng_cpu"])
        if run.device.type == "cuda" and state["rng_cuda"]:
            torch.cuda.set_rng_state_all(state["rng_cuda"])
    else:  # only rank 0's streams were saved: the others start new ones, not those of their first steps again
        torch.manual_seed(config.seed + rank + world * run.step)
    run.log_sums = {k: v.to(run.device) for k, v in state["log_sums"].items()}
    return run


def generator_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, TrainConfig]:
    """The trained generator (eval mode) and config stored in a checkpoint, for sampling and evaluating."""
    state = load_checkpoint(path, map_location=device)
    generator = build_models(state["config"], state["sample_shape"])[0]
    generator.load_state_dict(state["generator"])
    return generator.to(device).eval(), state["config"]


def reuse(
    path: str | Path, config: TrainConfig, samples: torch.Tensor, labels: torch.Tensor | None = None
) -> Run | None:
    """The run saved at ``path`` if it was trained to the end with exactly ``config``; else None, saying why."""
    try:
        run = resume(path, samples, labels, device=config.device)
    except (FileNotFoundError, CheckpointError) as err:
        print(f"Not reusing a saved run: {err}")
        return None
    if replace(run.config, device=config.device) != config or run.step != config.steps:
        print(f"Not reusing {path}: it was trained with other settings (or not to the end); training it here.")
        return None
    print(f"Reusing the run saved at {path} ({run.step} steps).")
    return run
