"""The course's training loop, notebook 03's loop promoted: :func:`fit` calls a variant's two steps.

A GAN variant is a pair of step functions (:mod:`gannotes.steps`, or the notebook's own); everything
that stays the same lives here:

- :class:`TrainConfig`, one small dataclass, and :data:`SETTINGS`, each model's published settings
  and the laptop settings the notebooks, the benchmark and the command line use;
- :func:`start` builds a :class:`Run`: the two networks, their optimisers, the data stream, the
  fixed noise for sample grids, the step count and the history;
- :func:`fit` trains it: ``n_critic`` D steps and one G step per step, with a progress bar, a
  history to plot, sample grids, a clear stop on NaN/inf, and checkpoints that resume exactly
  (:func:`save`, :func:`resume`).

Typical use::

    config = TrainConfig.for_model("dcgan", steps=2800)   # the laptop settings
    run = start(config, course.train.images)
    history = fit(run, steps.gan_d_step, steps.gan_g_step)
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .data import IMAGE_SHAPE, BatchSource
from .device import get_device, seed_everything
from .models import ACGANDiscriminator, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, sample
from .settings import save_atomically

CHECKPOINT_FORMAT = "gannotes-checkpoint-v2"

#: Each model's settings on top of :class:`TrainConfig`'s defaults. "published": the papers' (DCGAN:
#: Radford et al., 2016; WGAN: Arjovsky et al., 2017, RMSprop 5e-5 and 5 critic steps; WGAN-GP:
#: Gulrajani et al., 2017, Adam 1e-4, betas (0, 0.9), 5 critic steps, no batch norm in the critic).
#: "laptop": our changes for a 2-core CPU, measured in benchmarks/README.md: a generator half as wide,
#: lr 5e-4, and a 16-channel discriminator with a third block at 7x7 (sharper digits at a cheaper step).
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
CHOICES = {
    "model": MODELS,
    "arch": ("mlp", "dcgan"),
    "d_norm": ("batch", "layer", "none"),
    "optimizer": ("adam", "rmsprop"),
    "amp": ("auto", "on", "off"),
}


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite: training cannot continue from here."""


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, truncated, or not one this package wrote."""


def _help(text: str, default: Any) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass
class TrainConfig:
    """Everything that defines a training run. Build one with :meth:`for_model`."""

    model: str = _help("which GAN: gan, dcgan, cgan, acgan, wgan, wgan-gp", "dcgan")
    arch: str = _help("mlp or dcgan (convolutional, 28x28 images)", "dcgan")
    z_dim: int = _help("noise dimensions", 64)
    g_width: int = _help("generator width: channels of its last block, or MLP hidden units", 32)
    d_width: int = _help("discriminator width: channels of its first block, or MLP hidden units", 32)
    d_depth: int = _help("convolutional blocks of the DCGAN discriminator: 2, or 3 (a 7x7 block)", 2)
    d_norm: str = _help("batch, layer or none (no batch norm in a gradient-penalty critic)", "batch")
    num_classes: int = _help("classes of a conditional model (cgan, acgan)", 10)
    batch_size: int = _help("real samples per discriminator step", 64)
    steps: int = _help("generator updates in all", 1000)
    n_critic: int = _help("discriminator updates per generator update", 1)
    optimizer: str = _help("adam or rmsprop", "adam")
    lr_g: float = _help("generator learning rate", 2e-4)
    lr_d: float = _help("discriminator learning rate", 2e-4)
    betas: tuple[float, float] = _help("Adam's beta1 and beta2", (0.5, 0.999))
    seed: int = _help("random seed", 0)
    log_every: int = _help("steps between two history records", 25)
    sample_every: int = _help("steps between two sample grids", 100)
    checkpoint_every: int = _help("steps between two checkpoints (with an output folder)", 500)
    amp: str = _help("bf16 autocast: auto (CUDA with bf16), on or off", "auto")
    device: str | None = _help("cpu, cuda, cuda:N or mps (default: the best available)", None)

    @classmethod
    def for_model(cls, model: str, settings: str = "laptop", **overrides: Any) -> TrainConfig:
        """``model``'s published settings, then (``settings="laptop"``) our laptop changes, then ``overrides``."""
        if model not in MODELS:
            raise ValueError(f"Unknown model {model!r}. Choose one of: {', '.join(MODELS)}.")
        if settings not in SETTINGS:
            raise ValueError(f"Unknown settings {settings!r}. Choose one of: {', '.join(SETTINGS)}.")
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"Unknown TrainConfig field(s): {', '.join(sorted(unknown))}.")
        chosen = {**SETTINGS["published"][model], **SETTINGS[settings].get(model, {}), **overrides}
        config = cls(model=model, **chosen)
        config.validate()
        return config

    @property
    def conditional(self) -> bool:
        """True when both players see labels (cgan, acgan)."""
        return self.model in ("cgan", "acgan")

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that makes no sense, and how to fix it."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"TrainConfig.{name} = {getattr(self, name)!r}; choose one of {', '.join(allowed)}.")
        positive = ("z_dim", "g_width", "d_width", "num_classes", "batch_size", "steps", "n_critic")
        for name in (*positive, "log_every", "sample_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be at least 1, got {getattr(self, name)}.")
        if self.model == "wgan-gp" and self.d_norm == "batch":
            raise ValueError("A gradient-penalty critic must not use batch norm: set d_norm='layer' or 'none'.")
        if self.d_depth not in (2, 3):
            raise ValueError(f"TrainConfig.d_depth must be 2 or 3 (DCGAN discriminator blocks), got {self.d_depth}.")
        if self.model == "acgan" and self.arch != "dcgan":
            raise ValueError("acgan needs arch='dcgan' (its discriminator has a class head).")


def build_models(config: TrainConfig, sample_shape: tuple[int, ...] = IMAGE_SHAPE) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator (or critic) that ``config`` describes, on the CPU."""
    k = config.num_classes if config.conditional else 0
    k_d = k if config.model == "cgan" else 0  # ACGAN's D predicts the label instead of reading it
    if config.arch == "mlp":
        return MLPGenerator(config.z_dim, sample_shape, config.g_width, num_classes=k), MLPDiscriminator(
            sample_shape, config.d_width, num_classes=k_d
        )
    if tuple(sample_shape) != IMAGE_SHAPE:
        raise ValueError(f"arch='dcgan' makes 1x28x28 images, but the data has shape {sample_shape}: use arch='mlp'.")
    generator = DCGANGenerator(config.z_dim, config.g_width, num_classes=k)
    if config.model == "acgan":
        return generator, ACGANDiscriminator(config.d_width, config.num_classes, config.d_norm, config.d_depth)
    return generator, DCGANDiscriminator(config.d_width, num_classes=k_d, norm=config.d_norm, depth=config.d_depth)


def make_optimizer(model: nn.Module, lr: float, config: TrainConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``model``'s parameters (which must already be on their device)."""
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=lr, foreach=True)
    # The fused kernel updates every parameter in one call: the same Adam, about twice as fast on a
    # CPU for these small models, and a few kernels instead of dozens per step on a GPU.
    fused = next(model.parameters()).device.type in ("cpu", "cuda")
    return torch.optim.Adam(model.parameters(), lr=lr, betas=config.betas, fused=fused)


@dataclass
class Run:
    """A training run's state: what :func:`fit` advances and :func:`save` writes. Make one with :func:`start`."""

    config: TrainConfig
    G: nn.Module
    D: nn.Module
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    batches: BatchSource
    fixed_z: torch.Tensor  # (64, z_dim): the same noise for every sample grid, so grids show progress, not luck
    step: int = 0
    history: dict[str, list] = field(default_factory=lambda: {"step": [], "samples": []})
    log_sums: dict[str, torch.Tensor] = field(default_factory=dict)  # stats since the last history record

    @property
    def device(self) -> torch.device:
        return self.batches.device

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
    """A fresh :class:`Run`: models (``config``'s, or ``G`` and ``D``) on the device, optimisers, data.

    Args:
        samples: training data ``(N, ...)``, e.g. images ``(N, 1, 28, 28)`` in ``[-1, 1]``, or points ``(N, 2)``.
        labels: ``(N,)`` classes, for conditional models only: each real batch then carries them, and
            the D step receives ``(real, labels, z)`` instead of ``(real, z)``.
        G, D: your own networks instead of :func:`build_models`'s (either or both).
        g_optimizer, d_optimizer: functions ``model -> optimizer`` replacing ``config.optimizer``.
    """
    config.validate()
    if config.conditional and labels is None:
        raise ValueError(f"{config.model} is conditional: pass the labels of the training samples.")
    device = get_device(config.device)
    seed_everything(config.seed)
    if G is None or D is None:
        built_g, built_d = build_models(config, tuple(samples.shape[1:]))
        G, D = (G if G is not None else built_g), (D if D is not None else built_d)
    # Channels-last weights let a CPU's convolutions (oneDNN) skip layout conversions; same numbers.
    layout = torch.channels_last if device.type == "cpu" and samples.dim() == 4 else torch.preserve_format
    G, D = G.to(device, memory_format=layout), D.to(device, memory_format=layout)
    tensors = (samples,) if labels is None else (samples, labels)
    fixed = torch.Generator().manual_seed(config.seed + 1)
    return Run(
        config,
        G.train(),
        D.train(),
        (g_optimizer or (lambda m: make_optimizer(m, config.lr_g, config)))(G),
        (d_optimizer or (lambda m: make_optimizer(m, config.lr_d, config)))(D),
        BatchSource(*tensors, batch_size=config.batch_size, device=device, seed=config.seed),
        torch.randn(64, G.z_dim, generator=fixed).to(device),
    )


def fit(
    run: Run,
    d_step: Callable[..., Any],
    g_step: Callable[..., Any],
    *,
    steps: int | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, list]:
    """Train ``run`` with a variant's steps to ``steps`` in all (default: ``config.steps``); return the history.

    Each step: ``n_critic`` times ``fakes, stats = d_step(G, D, d_optimizer, *real_batch, z)``, then once
    ``g_step(G, D, g_optimizer, *fakes)`` on the last D step's fakes (:mod:`gannotes.steps` states the
    contract; a real batch is ``(images,)``, or ``(images, labels)`` when the run has labels). The history gets the
    steps' stats averaged over every ``log_every`` steps, the gradient norms of the last updates, the
    seconds per step, and a sample grid from the fixed noise every ``sample_every`` steps. With
    ``out_dir``, ``checkpoint.pt`` is written every ``checkpoint_every`` steps, at the end, and on
    Ctrl-C (which is then raised again, so that nothing after the cell treats the run as finished).
    """
    cfg, G, D = run.config, run.G, run.D
    target = cfg.steps if steps is None else steps
    if target < run.step:
        raise ValueError(f"This run is already at step {run.step}; ask for at least that many steps, not {target}.")
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
                    # Only the last D step's fakes go to G's step: the others need no graph back into G.
                    G.requires_grad_(i == cfg.n_critic - 1)
                    real_batch = next(run.batches)
                    z = torch.randn(cfg.batch_size, G.z_dim, device=run.device)
                    fakes, stats = _fakes_and_stats(d_step(G, D, run.d_optimizer, *real_batch, z))
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
                run.history["samples"].append((run.step, sample(G, z=run.fixed_z)))
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


def _fakes_and_stats(out: Any) -> tuple[Any, Any]:
    """A D step's ``(fakes, stats)``, or a clear error for anything else (e.g. notebook 03's bare loss)."""
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"A discriminator step must return (fakes, stats): the fakes G(z) it made, for the generator's step, "
            f"and its loss or a dict of numbers to log; this one returned {type(out).__name__}. "
            "End your step with: return fake, loss.detach()"
        )
    return out


def _accumulate(sums: dict[str, Any], stats: Any, loss_name: str) -> None:
    """Add a step's stats (its loss, or a dict of scalars) to the running sums, which stay on the device."""
    for key, value in (stats if isinstance(stats, dict) else {loss_name: stats}).items():
        sums[key] = sums.get(key, 0.0) + torch.as_tensor(value).detach().float()
        sums[key + "/n"] = sums.get(key + "/n", 0) + 1


def _grad_norm(model: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def _record(run: Run, sec_per_step: float) -> None:
    """Append the means since the last record to the history: the one host synchronisation per interval."""
    names = [k for k in run.log_sums if not k.endswith("/n")]
    means = [run.log_sums[k].to(run.device) / run.log_sums[k + "/n"] for k in names]
    # The last updates' gradients are still in .grad (each step clears them first): their norms say
    # how hard each player was pushed.
    names += ["d_grad_norm", "g_grad_norm"]
    means += [_grad_norm(run.D).to(run.device), _grad_norm(run.G).to(run.device)]
    run.log_sums = {}
    run.history["step"].append(run.step)
    for name, value in zip(names, torch.stack(means).tolist(), strict=True):
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"{name} became {value} by step {run.step}: training diverged. Try lower learning rates "
                f"(lr_d={run.config.lr_d}, lr_g={run.config.lr_g}), or resume from an earlier checkpoint."
            )
        run.history.setdefault(name, []).append(value)
    run.history.setdefault("sec_per_step", []).append(sec_per_step)


# --------------------------------------------------------------------------------------------
# Checkpoints


def save(run: Run, path: str | Path) -> Path:
    """Write everything needed to continue exactly where ``run`` is, atomically (see :func:`resume`)."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": dataclasses.asdict(run.config),
        "step": run.step,
        "generator": run.G.state_dict(),
        "discriminator": run.D.state_dict(),
        "g_optimizer": run.g_optimizer.state_dict(),
        "d_optimizer": run.d_optimizer.state_dict(),
        "batches": run.batches.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if run.device.type == "cuda" else [],
        "fixed_z": run.fixed_z.cpu(),
        "history": run.history,
        "log_sums": {k: torch.as_tensor(v).cpu() for k, v in run.log_sums.items()},
        "sample_shape": tuple(run.batches.tensors[0].shape[1:]),
    }
    return save_atomically(state, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``) and check it is one of ours."""
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
    return state


def config_from_checkpoint(state: dict[str, Any]) -> TrainConfig:
    """The :class:`TrainConfig` stored in a checkpoint read by :func:`load_checkpoint`."""
    values = dict(state["config"])
    values["betas"] = tuple(values["betas"])
    config = TrainConfig(**values)
    config.validate()
    return config


def resume(
    path: str | Path,
    samples: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    device: str | None = None,
    **models_and_optimizers: Any,
) -> Run:
    """The :class:`Run` saved at ``path``, ready for :func:`fit` to continue as if never interrupted.

    Pass the same training data (``labels`` are used only if the run's model is conditional), and the
    same custom ``G``, ``D`` and optimiser functions if the run had them, as keywords of :func:`start`.
    """
    state = load_checkpoint(path)
    config = config_from_checkpoint(state)
    if device is not None:
        config.device = device
    run = start(config, samples, labels if config.conditional else None, **models_and_optimizers)
    try:
        run.G.load_state_dict(state["generator"])
        run.D.load_state_dict(state["discriminator"])
        run.g_optimizer.load_state_dict(state["g_optimizer"])
        run.d_optimizer.load_state_dict(state["d_optimizer"])
        run.batches.load_state_dict(state["batches"])
    except (RuntimeError, KeyError, ValueError) as err:
        raise CheckpointError(
            f"{path} does not match these models or data ({type(err).__name__}). Resume with the same models, "
            "config and training data as the run that wrote it."
        ) from None
    torch.set_rng_state(state["rng_cpu"])
    if run.device.type == "cuda" and state["rng_cuda"]:
        torch.cuda.set_rng_state_all(state["rng_cuda"])
    run.step, run.history = int(state["step"]), state["history"]
    run.fixed_z = state["fixed_z"].to(run.device)
    run.log_sums = {k: v.to(run.device) for k, v in state["log_sums"].items()}
    return run


def generator_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, TrainConfig]:
    """The trained generator (eval mode) and config stored in a checkpoint, for sampling and evaluating."""
    state = load_checkpoint(path, map_location=device)
    config = config_from_checkpoint(state)
    generator, _ = build_models(config, tuple(state["sample_shape"]))
    generator.load_state_dict(state["generator"])
    return generator.to(device).eval(), config


def reuse(
    path: str | Path, config: TrainConfig, samples: torch.Tensor, labels: torch.Tensor | None = None
) -> Run | None:
    """The run saved at ``path`` (by an earlier notebook) if it was trained to the end with exactly ``config``.

    Returns None, and says why, when there is no such file or it was trained otherwise: then train it.
    """
    path = Path(path)
    if not path.is_file():
        print(f"No saved run at {path}: training it here.")
        return None
    try:
        run = resume(path, samples, labels, device=config.device)
    except CheckpointError as err:
        print(f"Not reusing {path}: {err}")
        return None
    if dataclasses.replace(run.config, device=config.device) != config or run.step != config.steps:
        print(f"Not reusing {path}: it was trained with other settings (or not to the end); training it here.")
        return None
    print(f"Reusing the run saved at {path} ({run.step} steps).")
    return run
