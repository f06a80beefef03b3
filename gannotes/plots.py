"""Figures for the course: image grids, training curves, 2-D samples, interpolations, class histograms.

Every function returns a :class:`matplotlib.figure.Figure` and never calls ``plt.show()``: end a
notebook cell with the call (or ``display(fig)``) to see it, or ``fig.savefig(path)``. Figures made
here are detached from pyplot at once (``plt.close``), so a notebook shows each one exactly once and a
loop that draws hundreds does not pile up open figures. Functions that draw one panel take ``ax=`` to
draw into an existing figure instead, which is then left to its owner.

A training *history* is the trainer's dict of lists, one entry per logged step: ``step``, ``d_loss``,
``g_loss``, ``d_real`` and ``d_fake`` (mean ``D(x)`` and ``D(G(z))``, or critic scores for a WGAN),
``wasserstein`` (WGAN only), ``d_grad_norm``, ``g_grad_norm``, ``sec_per_step``, and ``samples``: a
list of ``(step, images)`` with images ``(n, 1, 28, 28)`` in ``[-1, 1]`` drawn from fixed noise. Every
key is optional: what is missing is left out (an empty panel says so).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from torch import nn

from .mixtures import GaussianMixture2D
from .models import sample

_PADDING = 2  # pixels between images in a grid


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure with one axes, detached from pyplot (see the module docstring)."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig, ax


def _values(history: dict, key: str) -> list[float]:
    """``history[key]`` as floats (0-d tensors accepted), None as NaN; [] when the key is missing."""
    return [math.nan if v is None else float(v) for v in history.get(key) or []]


def _plot_series(ax: Axes, history: dict, series: dict[str, str]) -> int:
    """Plot each ``key: legend label`` of ``series`` found in ``history`` against its step; the number plotted."""
    steps = _values(history, "step")
    plotted = 0
    for key, label in series.items():
        values = _values(history, key)
        if not values:
            continue
        # A history being filled in may have one more step than values; with no steps, use the entry index.
        x = steps[: len(values)] if len(steps) >= len(values) else list(range(len(values)))
        ax.plot(x, values, label=label, linewidth=1)
        plotted += 1
    if not plotted:
        ax.text(0.5, 0.5, "nothing logged yet", transform=ax.transAxes, ha="center", va="center", color="gray")
    return plotted


def _is_wgan(history: dict) -> bool:
    return bool(history.get("wasserstein"))


# --------------------------------------------------------------------------------------------
# Images


def _grid(images: torch.Tensor, nrow: int) -> np.ndarray:
    """``images (N, 1, H, W)`` in ``[-1, 1]`` -> one grayscale grid ``(rows, cols)`` in ``[0, 1]``, white gaps."""
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"Expected images of shape (N, 1, H, W), got {tuple(images.shape)}.")
    from torchvision.utils import make_grid  # imported here: importing gannotes stays light

    images = (images.detach().float().cpu().clamp(-1, 1) + 1) / 2
    return make_grid(images, nrow=nrow, padding=_PADDING, pad_value=1.0)[0].numpy()


def _draw_images(ax: Axes, images: torch.Tensor, nrow: int, title: str, xlabel: str) -> None:
    ax.imshow(_grid(images, nrow), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.set_xlabel(xlabel)


def show_images(
    images: torch.Tensor,
    nrow: int = 8,
    title: str = "Samples",
    labels: torch.Tensor | Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A grid of ``images (N, 1, H, W)`` in ``[-1, 1]``, ``nrow`` per row (black = -1, white = 1).

    ``labels (N,)``, if given, are written in each image's corner (as ``class_names[label]`` when given).
    """
    n = images.shape[0]
    nrow = max(1, min(nrow, n))
    rows = math.ceil(n / nrow)
    fig, ax = _axes(ax, figsize=(max(3.0, 0.7 * nrow), 0.7 * rows + 0.8))
    _draw_images(ax, images, nrow, title, f"{n} images, {nrow} per row")
    if labels is not None:
        step_y, step_x = images.shape[2] + _PADDING, images.shape[3] + _PADDING
        for i, label in enumerate(torch.as_tensor(labels).tolist()):
            row, col = divmod(i, nrow)
            text = class_names[label] if class_names is not None else str(label)
            ax.text(col * step_x + 3, row * step_y + 3, text, color="yellow", fontsize=7, va="top")
    return fig


def plot_sample_strip(history: dict, max_snapshots: int = 8) -> Figure:
    """The fixed-noise sample grids of ``history["samples"]`` side by side, at most ``max_snapshots``.

    Snapshots are taken evenly from the first to the last, so the strip spans the whole run.
    """
    snapshots = list(history.get("samples") or [])
    if len(snapshots) > max_snapshots:
        keep = np.unique(np.linspace(0, len(snapshots) - 1, max_snapshots).round().astype(int))
        snapshots = [snapshots[i] for i in keep]
    if not snapshots:
        fig, ax = _axes(None, figsize=(3.0, 2.8))
        ax.text(0.5, 0.5, "no samples logged", transform=ax.transAxes, ha="center", va="center", color="gray")
        ax.set(title="The same noise z through training", xlabel="samples", xticks=[], yticks=[])
        return fig
    fig, axes = plt.subplots(
        1, len(snapshots), figsize=(2.2 * len(snapshots), 2.8), squeeze=False, layout="constrained"
    )
    plt.close(fig)
    for ax, (step, images) in zip(axes[0], snapshots, strict=True):
        if images.dim() == 2 and images.shape[1] == 2:  # a 2-D GAN's samples are points, not images
            ax.scatter(images[:, 0], images[:, 1], s=4, alpha=0.6)
            ax.set(title=f"step {step}", xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
            continue
        if images.dim() != 4:
            raise ValueError(f"Snapshots must be images (N, C, H, W) or 2-D points (N, 2), got {tuple(images.shape)}.")
        _draw_images(ax, images, math.ceil(math.sqrt(images.shape[0])), f"step {step}", f"{images.shape[0]} samples")
    fig.suptitle("The same noise z through training")
    return fig


# --------------------------------------------------------------------------------------------
# Training curves


def plot_losses(history: dict, ax: Axes | None = None, title: str = "Losses") -> Figure:
    """``d_loss`` and ``g_loss`` (and a WGAN's ``wasserstein`` estimate) against the training step.

    For the BCE losses, dotted lines mark their values when D outputs 1/2 everywhere (equilibrium):
    ``2 ln 2`` for D, ``ln 2`` for the non-saturating G loss.
    """
    fig, ax = _axes(ax)
    d_name = "critic" if _is_wgan(history) else "discriminator"
    series = {"d_loss": d_name, "g_loss": "generator", "wasserstein": "Wasserstein estimate"}
    if _plot_series(ax, history, series):
        if not _is_wgan(history):
            ax.axhline(2 * math.log(2), color="C0", linestyle=":", linewidth=1, label="D at equilibrium: 2 ln 2")
            ax.axhline(math.log(2), color="C1", linestyle=":", linewidth=1, label="G at equilibrium: ln 2")
        ax.legend(fontsize=8)
    ax.set(title=title, xlabel="training step", ylabel="loss (critic units)" if _is_wgan(history) else "loss (nats)")
    return fig


def plot_discriminator_outputs(history: dict, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Mean ``D(x)`` on real and ``D(G(z))`` on generated samples against the step, with a dashed line at 1/2.

    For a WGAN (``history["wasserstein"]`` non-empty) these are unbounded critic scores: no 1/2 line.
    """
    fig, ax = _axes(ax)
    if _is_wgan(history):
        series = {"d_real": "critic on real, f(x)", "d_fake": "critic on generated, f(G(z))"}
        ylabel, title = "mean critic score", title or "Critic scores"
    else:
        series = {"d_real": "real, D(x)", "d_fake": "generated, D(G(z))"}
        ylabel, title = "mean D output (probability 'real')", title or "Discriminator outputs"
    if _plot_series(ax, history, series):
        if not _is_wgan(history):
            ax.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="1/2: D cannot tell")
            ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8)
    ax.set(title=title, xlabel="training step", ylabel=ylabel)
    return fig


# --------------------------------------------------------------------------------------------
# 2-D samples, interpolation, class histogram


def _in_eval_mode(model: nn.Module, run: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``run()`` with ``model`` in eval mode and without gradients; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return run()
    finally:
        model.train(was_training)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters(), torch.empty(0)).device


def _plot_limits(points: torch.Tensor, mixture: GaussianMixture2D | None) -> tuple[float, float, float, float]:
    """A square window around the modes and the bulk of the samples (1%..99% quantiles: strays are cut)."""
    finite = points[torch.isfinite(points).all(dim=1)]
    corners = [finite.quantile(0.01, dim=0), finite.quantile(0.99, dim=0)] if len(finite) else []
    if mixture is not None:
        corners += [mixture.means.min(dim=0).values, mixture.means.max(dim=0).values]
    if not corners:
        return -1.0, 1.0, -1.0, 1.0
    low, high = torch.stack(corners).min(dim=0).values, torch.stack(corners).max(dim=0).values
    (cx, cy), half = ((low + high) / 2).tolist(), max(float((high - low).max()) / 2 * 1.15, 0.5)
    return cx - half, cx + half, cy - half, cy + half


def plot_2d_samples(
    samples: torch.Tensor,
    mixture: GaussianMixture2D | None = None,
    discriminator: nn.Module | None = None,
    ax: Axes | None = None,
    title: str = "Generated samples",
    resolution: int = 150,
) -> Figure:
    """A scatter of 2-D ``samples (N, 2)`` over the mixture's mode centres and their 3-std circles.

    With a ``discriminator`` (``(B, 2) -> logits (B,)``), its belief ``D(x) = sigmoid(logit)`` that a
    point is real is drawn beneath as a filled contour over the window, ``resolution`` points a side.
    """
    points = samples.detach().float().cpu()
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"Expected samples of shape (N, 2), got {tuple(points.shape)}.")
    fig, ax = _axes(ax, figsize=(6.0, 5.0))
    x0, x1, y0, y1 = _plot_limits(points, mixture)
    if discriminator is not None:
        gx, gy = torch.meshgrid(torch.linspace(x0, x1, resolution), torch.linspace(y0, y1, resolution), indexing="xy")
        grid = torch.stack([gx.flatten(), gy.flatten()], dim=1).to(_device_of(discriminator))
        logits = _in_eval_mode(discriminator, lambda: discriminator(grid))
        belief = torch.sigmoid(logits.float().cpu()).view(resolution, resolution)
        filled = ax.contourf(gx, gy, belief, levels=np.linspace(0, 1, 11), cmap="coolwarm", alpha=0.5)
        fig.colorbar(filled, ax=ax, label="D(x) = sigmoid(logit)")
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.4, color="black", label=f"{len(points)} samples")
    if mixture is not None:
        means = mixture.means.cpu()
        ax.scatter(means[:, 0], means[:, 1], marker="x", color="red", label="mode centres")
        for i, mean in enumerate(means.tolist()):
            circle = Circle(
                mean, 3 * mixture.std, fill=False, color="red", linewidth=0.8, label="3 std" if i == 0 else None
            )
            ax.add_patch(circle)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal", title=title, xlabel="$x_1$", ylabel="$x_2$")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_interpolation(
    generator: nn.Module,
    z_start: torch.Tensor,
    z_end: torch.Tensor,
    steps: int = 10,
    labels: int | torch.Tensor | None = None,
    title: str = "Latent interpolation",
) -> Figure:
    """Images ``G(z)`` along the straight line ``z = (1 - t) z_start + t z_end``, ``t`` from 0 to 1.

    ``z_start``, ``z_end``: ``(z_dim,)``. ``labels``: for a conditional generator, one class for the
    whole row (an int) or one per step (``(steps,)``). Mid-way, a straight line between two Gaussian
    ``z`` (of norm about ``sqrt(z_dim)``) passes closer to 0 than typical noise does, so the middle
    images can look blander; spherical interpolation would avoid that.
    """
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    z = (1 - t) * z_start.detach().cpu().reshape(1, -1) + t * z_end.detach().cpu().reshape(1, -1)
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long).expand(steps)
    images = sample(generator, z=z, labels=labels)
    fig, ax = _axes(None, figsize=(max(4.0, 0.9 * steps), 2.0))
    _draw_images(ax, images, steps, title, "t, from z_start (t = 0) to z_end (t = 1)")
    width = images.shape[3] + _PADDING
    ax.set_xticks(
        [_PADDING + i * width + images.shape[3] / 2 for i in range(steps)], [f"{v:.2f}" for v in t[:, 0].tolist()]
    )
    return fig


def plot_class_histogram(
    predicted: torch.Tensor | Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    title: str = "Predicted classes",
    *,
    counts: torch.Tensor | Sequence[int] | None = None,
    xlabel: str = "predicted class",
    ax: Axes | None = None,
) -> Figure:
    """Bar chart of how many samples fall in each class, with the uniform share dashed (mode collapse shows).

    Pass predicted labels ``(N,)`` (e.g. ``evaluator.predict(images)``) or ``counts=`` per class
    (e.g. ``evaluator.evaluate(images)["class_counts"]``); ``xlabel`` says what the classes are (``"label"``
    for a dataset's own labels).
    """
    if (predicted is None) == (counts is None):
        raise ValueError("Pass either predicted labels or counts=, not both or neither.")
    num_classes = len(class_names) if class_names is not None else 0
    if counts is None:
        counts = torch.bincount(torch.as_tensor(predicted, dtype=torch.long).flatten(), minlength=num_classes)
    counts = torch.as_tensor(counts).flatten()
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(counts))]
    if len(names) != len(counts):
        raise ValueError(f"{len(counts)} classes counted but {len(names)} class names given.")
    fig, ax = _axes(ax)
    ax.bar(range(len(counts)), counts.tolist(), color="C0")
    uniform = counts.sum().item() / len(counts)
    ax.axhline(uniform, color="gray", linestyle="--", linewidth=1, label=f"uniform: {uniform:.0f} per class")
    long_names = max(map(len, names)) > 3  # Fashion-MNIST's names overlap unless slanted
    ax.set_xticks(range(len(counts)), names, rotation=40 if long_names else 0, ha="right" if long_names else "center")
    ax.set(title=title, xlabel=xlabel, ylabel="samples")
    ax.legend(fontsize=8)
    return fig
