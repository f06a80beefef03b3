"""One explicit training loop for every GAN in the course: gan, dcgan, cgan, acgan, wgan, wgan-gp.

Read :meth:`GANTrainer.train_step` top to bottom: a few discriminator (critic) updates, then one
generator update. Everything else here is bookkeeping a notebook needs: a typed config with each
variant's published defaults, a history to plot, fixed-noise sample grids, a progress bar,
atomic checkpoints that resume exactly, and a clear stop when a loss becomes NaN.

Typical use::

    config = TrainConfig.for_model("dcgan", steps=1500)
    trainer = GANTrainer(config, course.train.images)
    history = trainer.train()
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import losses
from .data import BatchSource
from .device import get_device, seed_everything
from .models import ACGANDiscriminator, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator

MODELS = ("gan", "dcgan", "cgan", "acgan", "wgan", "wgan-gp")
# Overrides of the presets for a laptop CPU: the notebooks' learner settings (04-07, and notebook 10's
# stand-ins). Measured with benchmarks/bench_speed.py (see benchmarks/README.md): a generator half as
# wide (a step costs about half as much), lr 5e-4 (the targets in fewer steps), and a discriminator
# of 16 channels with a third block at 7x7, which sharpened the DCGAN's digits (Fréchet distance
# 69-107 after 2,800 steps on three seeds, against 103 with two blocks of 32) and met all three
# 120-s targets in 2 of 2 runs, at a step about 10% cheaper. The presets keep the published settings.
LEARNER_SETTINGS: dict[str, dict[str, Any]] = {
    "dcgan": {"g_width": 16, "d_width": 16, "d_depth": 3, "lr_g": 5e-4, "lr_d": 5e-4},
    "cgan": {"g_width": 16, "d_width": 16, "d_depth": 3, "lr_g": 5e-4, "lr_d": 5e-4},
    "acgan": {"g_width": 16, "d_width": 16, "d_depth": 3, "lr_g": 5e-4, "lr_d": 5e-4},
    "wgan-gp": {"batch_size": 32, "lr_g": 3e-4, "lr_d": 3e-4},
}
CHECKPOINT_FORMAT = "gannotes-checkpoint-v1"


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite: training cannot continue from here."""


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, truncated, or not one this package wrote."""


@dataclass
class TrainConfig:
    """Everything that defines a training run. Build one with :meth:`for_model`.

    Sizes: ``g_width``/``d_width`` are the channels of the DCGAN's outermost blocks (the inner ones
    have 2x and 4x) or the hidden units of the MLPs. ``steps`` counts generator updates; each one
    follows ``n_critic`` discriminator updates on fresh real batches.
    """

    model: str = "dcgan"
    arch: str = "dcgan"  # "mlp" or "dcgan"
    z_dim: int = 64
    g_width: int = 32
    d_width: int = 32
    d_norm: str = "batch"  # "batch", "layer" or "none"; no batch norm in a gradient-penalty critic
    d_depth: int = 2  # the DCGAN discriminator's convolutional blocks: 2 (DCGAN for 28x28) or 3
    num_classes: int = 10  # used by the conditional models only
    batch_size: int = 64
    steps: int = 1000
    optimizer: str = "adam"  # "adam" or "rmsprop"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    clip_value: float = 0.0  # WGAN weight clipping: every D weight into [-c, c] after each update
    gp_weight: float = 0.0  # WGAN-GP's lambda
    g_loss: str = "non_saturating"  # or "saturating" (BCE models only)
    real_target: float = 1.0  # 0.9 = one-sided label smoothing
    label_flip: float = 0.0  # probability of flipping each D target (noisy labels)
    latent: str = "normal"  # z ~ N(0, 1) ("normal") or U(-1, 1) ("uniform")
    seed: int = 0
    log_every: int = 25
    sample_every: int = 100
    checkpoint_every: int = 500  # when the trainer has an out_dir
    amp: str = "auto"  # bf16 autocast: "auto" (CUDA with bf16 only), "on" or "off"
    device: str | None = None  # None: gannotes.get_device()

    @classmethod
    def for_model(cls, model: str, **overrides: Any) -> TrainConfig:
        """The published defaults of ``model``, with ``overrides`` on top.

        - gan / dcgan / cgan / acgan: Adam, lr 2e-4, betas (0.5, 0.999) (Radford et al., 2016)
        - wgan: RMSprop, lr 5e-5, clip 0.01, n_critic 5 (Arjovsky et al., 2017)
        - wgan-gp: Adam, lr 1e-4, betas (0, 0.9), lambda 10, n_critic 5, no batch norm in the
          critic (Gulrajani et al., 2017)
        """
        if model not in MODELS:
            raise ValueError(f"Unknown model {model!r}. Choose one of: {', '.join(MODELS)}.")
        presets: dict[str, dict[str, Any]] = {
            "gan": {"arch": "mlp", "g_width": 256, "d_width": 256},
            "dcgan": {},
            "cgan": {},
            "acgan": {},
            "wgan": {"optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "clip_value": 0.01, "n_critic": 5},
            "wgan-gp": {
                "lr_g": 1e-4,
                "lr_d": 1e-4,
                "betas": (0.0, 0.9),
                "gp_weight": 10.0,
                "n_critic": 5,
                "d_norm": "layer",
            },
        }
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"Unknown TrainConfig field(s): {', '.join(sorted(unknown))}.")
        config = cls(model=model, **{**presets[model], **overrides})
        config.validate()
        return config

    @property
    def conditional(self) -> bool:
        """True when the generator takes labels (cgan, acgan)."""
        return self.model in ("cgan", "acgan")

    @property
    def wasserstein(self) -> bool:
        return self.model in ("wgan", "wgan-gp")

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that makes no sense."""
        choices = {
            "model": MODELS,
            "arch": ("mlp", "dcgan"),
            "d_norm": ("batch", "layer", "none"),
            "optimizer": ("adam", "rmsprop"),
            "g_loss": ("non_saturating", "saturating"),
            "latent": ("normal", "uniform"),
            "amp": ("auto", "on", "off"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"TrainConfig.{name} = {getattr(self, name)!r}; choose one of {allowed}.")
        for name in (
            "z_dim",
            "g_width",
            "d_width",
            "batch_size",
            "n_critic",
            "log_every",
            "sample_every",
            "checkpoint_every",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be at least 1, got {getattr(self, name)}.")
        if self.steps < 0:
            raise ValueError(f"TrainConfig.steps must be >= 0, got {self.steps}.")
        if self.model == "wgan-gp" and self.d_norm == "batch":
            raise ValueError("A gradient-penalty critic must not use batch norm: set d_norm='layer' or 'none'.")
        if self.d_depth not in (2, 3):
            raise ValueError(f"TrainConfig.d_depth must be 2 or 3 (DCGAN discriminator blocks), got {self.d_depth}.")
        if self.model == "acgan" and self.arch != "dcgan":
            raise ValueError("acgan needs arch='dcgan' (its discriminator has a class head).")


def build_models(config: TrainConfig, sample_shape: tuple[int, ...] = (1, 28, 28)) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator (or critic) that ``config`` describes."""
    k = config.num_classes if config.conditional else 0
    k_d = k if config.model == "cgan" else 0  # ACGAN's D predicts the label instead of reading it
    if config.arch == "mlp":
        generator = MLPGenerator(config.z_dim, sample_shape, config.g_width, num_classes=k)
        discriminator = MLPDiscriminator(sample_shape, config.d_width, num_classes=k_d)
        return generator, discriminator
    if tuple(sample_shape) != (1, 28, 28):
        raise ValueError(f"arch='dcgan' makes 1x28x28 images, but the data has shape {sample_shape}: use arch='mlp'.")
    generator = DCGANGenerator(config.z_dim, config.g_width, num_classes=k)
    if config.model == "acgan":
        return generator, ACGANDiscriminator(
            config.d_width, config.num_classes, norm=config.d_norm, depth=config.d_depth
        )
    return generator, DCGANDiscriminator(config.d_width, num_classes=k_d, norm=config.d_norm, depth=config.d_depth)


class GANTrainer:
    """Trains a generator against a discriminator on a tensor of samples.

    Args:
        config: the run's :class:`TrainConfig`.
        samples: training data, ``(N, ...)``; images ``(N, 1, 28, 28)`` in ``[-1, 1]`` for the
            image models, or anything matching custom models (e.g. ``(N, 2)`` points).
        labels: ``(N,)`` integer class labels; required by cgan and acgan.
        generator, discriminator: custom models to train instead of :func:`build_models`'s
            (they must follow the conventions of :mod:`gannotes.models`).
        out_dir: where ``checkpoint.pt`` is written every ``checkpoint_every`` steps, at the end,
            and when training is interrupted. None: no checkpoints.
    """

    def __init__(
        self,
        config: TrainConfig,
        samples: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        generator: nn.Module | None = None,
        discriminator: nn.Module | None = None,
        out_dir: str | Path | None = None,
    ) -> None:
        config.validate()
        if config.conditional and labels is None:
            raise ValueError(f"{config.model} is conditional: pass the labels of the training samples.")
        self.config = config
        self.device = get_device(config.device)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        seed_everything(config.seed)
        if generator is None or discriminator is None:
            generator, discriminator = build_models(config, tuple(samples.shape[1:]))
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        if self.device.type == "cpu":
            # Channels-last convolution weights let oneDNN skip layout conversions: 1.1-1.2x faster
            # steps for the DCGAN family on a laptop CPU (benchmarks/bench_speed.py). Same numbers.
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        self.g_optimizer = self._optimizer(self.generator, config.lr_g)
        self.d_optimizer = self._optimizer(self.discriminator, config.lr_d)
        tensors = (samples, labels) if labels is not None else (samples,)
        self.batches = BatchSource(*tensors, batch_size=config.batch_size, device=self.device, seed=config.seed)
        self.amp = config.amp == "on" or (
            config.amp == "auto" and self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        )
        # The same noise (and labels) every time we draw samples, so grids show progress, not luck.
        fixed = torch.Generator().manual_seed(config.seed + 1)
        self.fixed_z = self._latent(64, generator=fixed).to(self.device)
        self.fixed_labels = (torch.arange(64) % config.num_classes).to(self.device) if config.conditional else None
        self.step = 0
        self.history: dict[str, list] = {"step": [], "samples": []}
        self._sums: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------------------------------
    # The training step

    def train_step(self, record: bool = False) -> dict[str, torch.Tensor]:
        """One generator update after ``n_critic`` discriminator updates; returns detached stats."""
        cfg, batch = self.config, self.config.batch_size
        for i in range(cfg.n_critic):
            real, real_labels = self._next_batch()
            z, fake_labels = self._latent(batch).to(self.device), self._random_labels(batch)
            # Only the last batch of fakes is reused for the generator's update, so only it keeps
            # the graph back into G; the others are generated without one.
            with torch.set_grad_enabled(i == cfg.n_critic - 1), self._autocast():
                fake = self.generator(z, fake_labels) if cfg.conditional else self.generator(z)
            stats = self.discriminator_step(real, real_labels, fake.detach(), fake_labels, record)
        stats.update(self.generator_step(fake, fake_labels, record))
        self.step += 1
        return stats

    def discriminator_step(
        self,
        real: torch.Tensor,
        real_labels: torch.Tensor | None,
        fake: torch.Tensor,
        fake_labels: torch.Tensor | None,
        record: bool = False,
    ) -> dict[str, torch.Tensor]:
        """One update of D on a real and a (detached) fake batch."""
        cfg = self.config
        with self._autocast():
            real_out = self._discriminate(real, real_labels)
            fake_out = self._discriminate(fake, fake_labels)
            if cfg.model == "acgan":
                (real_logits, real_classes), (fake_logits, fake_classes) = real_out, fake_out
                loss = losses.acgan_discriminator_loss(
                    real_logits, real_classes, real_labels, fake_logits, fake_classes, fake_labels
                )
                real_out, fake_out = real_logits, fake_logits
            elif cfg.wasserstein:
                loss = losses.critic_loss(real_out, fake_out)
                if cfg.gp_weight > 0:
                    critic = (
                        (lambda x: self._discriminate(x, real_labels)) if cfg.model == "cgan" else self._discriminate
                    )
                    loss = loss + cfg.gp_weight * losses.gradient_penalty(critic, real, fake)
            else:
                loss = losses.discriminator_loss(real_out, fake_out, cfg.real_target, cfg.label_flip)
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        stats = {"d_loss": loss.detach()}
        if record:
            stats["d_grad_norm"] = _grad_norm(self.discriminator)
        self.d_optimizer.step()
        if cfg.clip_value > 0:
            with torch.no_grad():
                for p in self.discriminator.parameters():
                    p.clamp_(-cfg.clip_value, cfg.clip_value)
        real_out, fake_out = real_out.detach().float(), fake_out.detach().float()
        if cfg.wasserstein:
            stats.update(
                d_real=real_out.mean(),
                d_fake=fake_out.mean(),
                wasserstein=losses.wasserstein_estimate(real_out, fake_out),
            )
        else:
            stats.update(d_real=torch.sigmoid(real_out).mean(), d_fake=torch.sigmoid(fake_out).mean())
        return stats

    def generator_step(
        self, fake: torch.Tensor, fake_labels: torch.Tensor | None, record: bool = False
    ) -> dict[str, torch.Tensor]:
        """One update of G through the (frozen) discriminator's verdict on ``fake``."""
        cfg = self.config
        # Freeze D: G's update needs gradients through D's input, not for D's weights.
        self.discriminator.requires_grad_(False)
        with self._autocast():
            out = self._discriminate(fake, fake_labels)
            if cfg.model == "acgan":
                loss = losses.acgan_generator_loss(out[0], out[1], fake_labels)
            elif cfg.wasserstein:
                loss = losses.critic_generator_loss(out)
            elif cfg.g_loss == "saturating":
                loss = losses.generator_loss_saturating(out)
            else:
                loss = losses.generator_loss_non_saturating(out)
        self.g_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.discriminator.requires_grad_(True)
        stats = {"g_loss": loss.detach()}
        if record:
            stats["g_grad_norm"] = _grad_norm(self.generator)
        self.g_optimizer.step()
        return stats

    # ------------------------------------------------------------------------------------------
    # The loop around it

    def train(self, steps: int | None = None, progress: bool = True) -> dict[str, list]:
        """Train for ``steps`` more steps (default: until ``config.steps``) and return the history.

        Interrupting (Ctrl-C, or the stop button in Jupyter) saves a checkpoint when there is an
        ``out_dir`` and returns the history so far; call ``train()`` again to continue.
        """
        cfg = self.config
        # Sampling (or a learner) may have left a network in eval mode; batch norm and dropout must train.
        self.generator.train()
        self.discriminator.train()
        target = cfg.steps if steps is None else self.step + steps
        cfg.steps = max(cfg.steps, target)
        bar = tqdm(total=target, initial=self.step, desc=cfg.model, disable=not progress, leave=True)
        tick, ticked_at = time.perf_counter(), self.step
        try:
            while self.step < target:
                # Logging depends only on the step number, so a resumed run logs exactly like an uninterrupted one.
                record = (self.step + 1) % cfg.log_every == 0 or self.step + 1 == cfg.steps
                self._accumulate(self.train_step(record))
                bar.update(1)
                if record:
                    now = time.perf_counter()
                    self._log((now - tick) / (self.step - ticked_at))
                    tick, ticked_at = now, self.step
                    bar.set_postfix(
                        d_loss=f"{self.history['d_loss'][-1]:.3f}", g_loss=f"{self.history['g_loss'][-1]:.3f}"
                    )
                if self.step % cfg.sample_every == 0 or self.step == cfg.steps:
                    self._snapshot()
                if self.out_dir is not None and (self.step % cfg.checkpoint_every == 0 or self.step == target):
                    self.save(self.out_dir / "checkpoint.pt")
        except KeyboardInterrupt:
            where = ""
            if self.out_dir is not None:
                self.save(self.out_dir / "checkpoint.pt")
                where = f"; saved {self.out_dir / 'checkpoint.pt'}"
            print(f"Interrupted at step {self.step}{where}. Call train() again to continue.")
        finally:
            bar.close()
        return self.history

    @torch.no_grad()
    def sample(self, n: int = 64, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` fresh samples on the CPU (generator in eval mode); conditional models need ``labels``."""
        was_training = self.generator.training
        self.generator.eval()
        z = self._latent(n).to(self.device)
        out = self.generator(z, labels.to(self.device)) if self.config.conditional else self.generator(z)
        self.generator.train(was_training)
        return out.float().cpu()

    def images_per_second(self) -> float:
        """Real images consumed per second of training, from the recorded step times."""
        times = self.history.get("sec_per_step", [])
        if not times:
            return float("nan")
        return self.config.batch_size * self.config.n_critic / (sum(times) / len(times))

    # ------------------------------------------------------------------------------------------
    # Checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where we are (models, optimisers, data order, RNG)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "config": dataclasses.asdict(self.config),
            "step": self.step,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "batches": self.batches.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "fixed_z": self.fixed_z.cpu(),
            "history": self.history,
            "log_sums": dict(self._sums),  # stats of steps since the last log line
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.batches.load_state_dict(state["batches"])
        torch.set_rng_state(state["rng_cpu"].cpu())
        if self.device.type == "cuda" and state["rng_cuda"]:
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng_cuda"]])
        self.fixed_z = state["fixed_z"].to(self.device)
        self.history = state["history"]
        self._sums = dict(state.get("log_sums", {}))

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically: to a temporary file first, then renamed over ``path``.

        A crash or Ctrl-C while saving leaves the previous checkpoint intact, never half a file.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            torch.save(self.state_dict(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        samples: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        generator: nn.Module | None = None,
        discriminator: nn.Module | None = None,
        out_dir: str | Path | None = None,
        device: str | None = None,
    ) -> GANTrainer:
        """Rebuild a trainer from :meth:`save`'s file and continue with :meth:`train`.

        Pass the same training samples (and custom models, if any) as the original run.
        """
        state = load_checkpoint(path)
        config = config_from_dict(state["config"])
        if device is not None:
            config.device = device
        trainer = cls(config, samples, labels, generator=generator, discriminator=discriminator, out_dir=out_dir)
        try:
            trainer.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError) as err:
            raise CheckpointError(
                f"{path} does not match these models or data ({type(err).__name__}: {str(err)[:300]}). "
                "Resume with the same models, config and training data as the run that wrote it."
            ) from None
        return trainer

    # ------------------------------------------------------------------------------------------
    # Helpers

    def _optimizer(self, model: nn.Module, lr: float) -> torch.optim.Optimizer:
        cfg = self.config
        if cfg.optimizer == "rmsprop":
            return torch.optim.RMSprop(model.parameters(), lr=lr, foreach=True)
        # The fused kernel updates every parameter in one call: the same Adam, 2x faster on a CPU
        # for these small models, and a few kernels instead of dozens per step on a GPU.
        fused = self.device.type in ("cpu", "cuda")
        return torch.optim.Adam(model.parameters(), lr=lr, betas=cfg.betas, fused=fused)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch = next(self.batches)
        return batch[0], (batch[1] if len(batch) > 1 else None)

    def _latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noise z of shape ``(n, z_dim)``, drawn on the CPU so a seed gives the same z on every device."""
        shape = (n, self.config.z_dim)
        if self.config.latent == "uniform":
            return torch.rand(shape, generator=generator) * 2 - 1
        return torch.randn(shape, generator=generator)

    def _random_labels(self, n: int) -> torch.Tensor | None:
        """Labels the generator is asked for: uniform over classes (conditional models only)."""
        if not self.config.conditional:
            return None
        return torch.randint(self.config.num_classes, (n,)).to(self.device)

    def _discriminate(self, x: torch.Tensor, labels: torch.Tensor | None = None):
        return self.discriminator(x, labels) if self.config.model == "cgan" else self.discriminator(x)

    def _accumulate(self, stats: dict[str, torch.Tensor]) -> None:
        # Sums stay on the device: no host synchronisation until the next log step.
        for key, value in stats.items():
            if key.endswith("grad_norm"):
                self._sums[key] = value.detach().float()
            else:
                self._sums[key] = self._sums.get(key, 0) + value.detach().float()
        self._sums["_count"] = self._sums.get("_count", torch.zeros((), device=self.device)) + 1

    def _log(self, sec_per_step: float) -> None:
        keys = list(self._sums)
        values = dict(zip(keys, torch.stack([self._sums[k] for k in keys]).tolist(), strict=True))
        self._sums = {}  # the .tolist() above is the one host synchronisation per log interval
        count = values.pop("_count")
        self.history["step"].append(self.step)
        for key, value in values.items():
            value = value if key.endswith("grad_norm") else value / count
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"{key} became {value} by step {self.step}: training diverged. Try lower learning rates "
                    f"(lr_d={self.config.lr_d}, lr_g={self.config.lr_g}), or resume from an earlier checkpoint."
                )
            self.history.setdefault(key, []).append(value)
        self.history.setdefault("sec_per_step", []).append(sec_per_step)

    def _snapshot(self) -> None:
        was_training = self.generator.training
        self.generator.eval()
        with torch.no_grad():
            args = (self.fixed_z, self.fixed_labels) if self.config.conditional else (self.fixed_z,)
            images = self.generator(*args).float().cpu()
        self.generator.train(was_training)
        self.history["samples"].append((self.step, images))


def _grad_norm(model: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``) and check it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Train first, or check the path.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated zips, pickles and garbage raise many types
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {str(err)[:200]}). It may be "
            "truncated or written by another program; delete it or point to another file."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        keys = ", ".join(list(state)[:8]) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path} is a PyTorch file but not a gannotes training checkpoint (it holds: {keys}).")
    return state


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from ``dataclasses.asdict`` output (as stored in checkpoints)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    values = {k: v for k, v in values.items() if k in known}
    if "betas" in values:
        values["betas"] = tuple(values["betas"])
    config = TrainConfig(**values)
    config.validate()
    return config


def generator_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, TrainConfig]:
    """The trained generator (eval mode) and config stored in a checkpoint, for sampling."""
    state = load_checkpoint(path, map_location=device)
    config = config_from_dict(state["config"])
    generator, _ = build_models(config, _sample_shape(state))
    generator.load_state_dict(state["generator"])
    return generator.to(device).eval(), config


def _sample_shape(state: dict[str, Any]) -> tuple[int, ...]:
    samples = state["history"].get("samples") or []
    return tuple(samples[-1][1].shape[1:]) if samples else (1, 28, 28)
