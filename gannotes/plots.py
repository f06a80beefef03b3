"""Figures for the course: image grids, training curves, 2-D samples, interpolations, class histograms.

Every function returns a :class:`matplotlib.figure.Figure` detached from pyplot, so a notebook shows it once
and a loop drawing hundreds leaves no open figures; one-panel functions take ``ax=`` to draw into yours.
A *history* is :func:`gannotes.train.fit`'s dict of lists (``step``, ``d_loss``, ``g_loss``, ``d_real``,
``d_fake``, ``wasserstein``, ``samples`` as ``(step, images)``); missing keys are left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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
    """``ax`` and its figure, or a new figure with one axes, detached from pyplot."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig, ax


def _draw_images(ax: Axes, images: torch.Tensor, nrow: int, title: str, xlabel: str) -> None:
    """``images (N, C, H, W)`` in ``[-1, 1]``, C = 1 (grayscale) or 3 (RGB), as one grid, ``nrow`` per row."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"Expected images of shape (N, 1 or 3, H, W), got {tuple(images.shape)}.")
    from torchvision.utils import make_grid  # imported here: importing gannotes stays light

    grid = make_grid((images.detach().float().cpu().clamp(-1, 1) + 1) / 2, nrow=nrow, padding=_PADDING, pad_value=1)
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")  # make_grid gives 3 channels either way
    ax.set(xticks=[], yticks=[], title=title, xlabel=xlabel)


def show_images(
    images: torch.Tensor,
    nrow: int = 8,
    title: str = "Samples",
    labels: torch.Tensor | Sequence[int] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A grid of ``images (N, 1 or 3, H, W)`` in ``[-1, 1]``, ``nrow`` per row (black = -1, white = 1).

    ``labels (N,)``, if given, are written in each image's corner.
    """
    n = images.shape[0]
    nrow = max(1, min(nrow, n))
    fig, ax = _axes(ax, figsize=(max(3.0, 0.7 * nrow), 0.7 * math.ceil(n / nrow) + 0.8))
    _draw_images(ax, images, nrow, title, f"{n} image{'s' * (n != 1)}, {nrow} per row")
    height, width = images.shape[2] + _PADDING, images.shape[3] + _PADDING
    for i, label in enumerate([] if labels is None else torch.as_tensor(labels).tolist()):
        row, col = divmod(i, nrow)
        ax.text(col * width + 3, row * height + 3, str(label), color="yellow", fontsize=7, va="top")
    return fig


def plot_sample_strip(history: dict, max_snapshots: int = 8) -> Figure:
    """The fixed-noise sample grids of ``history["samples"]`` side by side.

    At most ``max_snapshots``, taken evenly from the first to the last, so the strip spans the whole run.
    """
    snapshots = list(history.get("samples") or [])
    index = np.linspace(0, len(snapshots) - 1, min(max_snapshots, len(snapshots))).round().astype(int)
    panels = max(len(index), 1)
    fig, axes = plt.subplots(1, panels, figsize=(max(2.2 * panels, 4.0), 2.8), squeeze=False, layout="constrained")
    plt.close(fig)
    fig.suptitle("The same noise z through training")
    if not snapshots:
        axes[0, 0].set(title="no samples logged", xlabel="samples", xticks=[], yticks=[])
    for ax, i in zip(axes[0], index, strict=False):
        step, images = snapshots[i]
        _draw_images(ax, images, math.ceil(math.sqrt(len(images))), f"step {step}", f"{len(images)} samples")
    return fig


def _plot_history(
    history: dict, ax: Axes | None, title: str, ylabel: str, series: dict[str, str], guides: Sequence[tuple] = ()
) -> Axes:
    """Each ``key: legend label`` of ``series`` found in ``history`` against the step; once something is
    plotted, dotted horizontal ``guides`` of ``(value, colour, label)``."""
    ax = _axes(ax)[1]
    steps = [float(s) for s in history.get("step") or []]
    plotted = 0
    for key, label in series.items():
        values = [math.nan if v is None else float(v) for v in history.get(key) or []]
        if values:
            # A history being filled in may have one more step than values; with no steps, use the entry index.
            x = steps[: len(values)] if len(steps) >= len(values) else list(range(len(values)))
            ax.plot(x, values, label=label, linewidth=1)
            plotted += 1
    if plotted:
        for value, color, label in guides:
            ax.axhline(value, color=color, linestyle=":", linewidth=1, label=label)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "nothing logged yet", transform=ax.transAxes, ha="center", va="center", color="gray")
    ax.set(title=title, xlabel="training step", ylabel=ylabel)
    return ax


def plot_losses(history: dict, ax: Axes | None = None, title: str = "Losses") -> Figure:
    """``d_loss`` and ``g_loss`` (and a WGAN's ``wasserstein`` estimate) against the training step.

    For the BCE losses, dotted lines mark their values when D outputs 1/2 everywhere (equilibrium):
    ``2 ln 2`` for D, ``ln 2`` for the non-saturating G loss.
    """
    if history.get("wasserstein"):
        series = {"d_loss": "critic", "g_loss": "generator", "wasserstein": "Wasserstein estimate"}
        return _plot_history(history, ax, title, "loss (critic units)", series).figure
    series = {"d_loss": "discriminator", "g_loss": "generator"}
    guides = [(2 * math.log(2), "C0", "D at equilibrium: 2 ln 2"), (math.log(2), "C1", "G at equilibrium: ln 2")]
    return _plot_history(history, ax, title, "loss (nats)", series, guides).figure


def plot_discriminator_outputs(history: dict, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Mean ``D(x)`` on real and ``D(G(z))`` on generated samples against the step, with a dotted line at 1/2.

    For a WGAN (``history["wasserstein"]`` non-empty) these are unbounded critic scores: no 1/2 line.
    """
    if history.get("wasserstein"):
        series = {"d_real": "critic on real, f(x)", "d_fake": "critic on generated, f(G(z))"}
        return _plot_history(history, ax, title or "Critic scores", "mean critic score", series).figure
    series = {"d_real": "real, D(x)", "d_fake": "generated, D(G(z))"}
    ylabel, guides = "mean D output (probability 'real')", [(0.5, "gray", "1/2: D cannot tell")]
    ax = _plot_history(history, ax, title or "Discriminator outputs", ylabel, series, guides)
    ax.set_ylim(-0.02, 1.02)
    return ax.figure


def plot_2d_samples(
    samples: torch.Tensor,
    mixture: GaussianMixture2D | None = None,
    ax: Axes | None = None,
    title: str = "Generated samples",
) -> Figure:
    """A scatter of 2-D ``samples (N, 2)`` over the mixture's mode centres and their 3-std circles.

    The window is a square around the modes and the bulk of the samples (1% to 99% quantiles: strays are cut).
    """
    points = samples.detach().float().cpu()
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"Expected samples of shape (N, 2), got {tuple(points.shape)}.")
    fig, ax = _axes(ax, figsize=(6.0, 5.0))
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.4, color="black", label=f"{len(points)} samples")
    finite = points[torch.isfinite(points).all(dim=1)]
    corners = [finite.quantile(0.01, dim=0), finite.quantile(0.99, dim=0)] if len(finite) else []
    if mixture is not None:
        means = mixture.means.cpu()
        corners += [means.min(dim=0).values, means.max(dim=0).values]
        ax.scatter(means[:, 0], means[:, 1], marker="x", color="red", label="mode centres")
        for i, mean in enumerate(means.tolist()):
            label = None if i else "3 std"
            ax.add_patch(Circle(mean, 3 * mixture.std, fill=False, color="red", linewidth=0.8, label=label))
    if corners:
        low, high = torch.stack(corners).min(dim=0).values, torch.stack(corners).max(dim=0).values
        (cx, cy), half = ((low + high) / 2).tolist(), max(float((high - low).max()) / 2 * 1.15, 0.5)
        ax.set(xlim=(cx - half, cx + half), ylim=(cy - half, cy + half))
    ax.set(aspect="equal", title=title, xlabel="$x_1$", ylabel="$x_2$")
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

    ``z_start``, ``z_end``: ``(z_dim,)``. ``labels``: for a conditional generator, one class for the whole
    row (an int) or one per step (``(steps,)``). Mid-way, a straight line between two Gaussian ``z`` (of
    norm about ``sqrt(z_dim)``) passes closer to 0 than typical noise does, so the middle images can look
    blander; spherical interpolation would avoid that.
    """
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    z = (1 - t) * z_start.detach().cpu().reshape(1, -1) + t * z_end.detach().cpu().reshape(1, -1)
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long).expand(steps)
    images = sample(generator, z=z, labels=labels)
    fig, ax = _axes(None, figsize=(max(4.0, 0.9 * steps), 2.0))
    _draw_images(ax, images, steps, title, "t, from z_start (t = 0) to z_end (t = 1)")
    centres = [_PADDING + i * (images.shape[3] + _PADDING) + images.shape[3] / 2 for i in range(steps)]
    ax.set_xticks(centres, [f"{v:.2f}" for v in t[:, 0].tolist()])
    return fig


def plot_class_histogram(
    counts: torch.Tensor | Sequence[int],
    class_names: Sequence[str] | None = None,
    title: str = "Predicted classes",
    *,
    xlabel: str = "predicted class",
    ax: Axes | None = None,
) -> Figure:
    """Bar chart of how many samples fall in each class, with the uniform share dashed (mode collapse shows).

    ``counts`` per class, e.g. ``evaluator.evaluate(images)["class_counts"]``; ``xlabel`` says what the
    classes are (``"label"`` for a dataset's own labels).
    """
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
