"""The course's diagrams, drawn by code (nothing to fetch; the same in JupyterLab, Colab, headless and on the site).

A box-and-arrow :class:`Diagram` is data (the tables below); :func:`draw` draws any of them. :func:`network_shapes`
measures real modules, :func:`gradient_penalty_points` trains a real critic. Figures are detached from pyplot.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from torch import Tensor, nn

from . import losses
from .mixtures import ring_of_gaussians
from .models import MLPDiscriminator

#: What a box's colour means, by its kind: (fill colour, legend text).
KINDS = {
    "data": ("#dbe9f6", "a batch of data"),
    "network": ("#fde2c4", "a network"),
    "loss": ("#f6cfcf", "a loss"),
    "updated": ("#bfe5ae", "weights updated in this step"),
    "idle": ("#e2e2e2", "weights get no gradient"),
}
_INCH_PER_UNIT = 0.7  # drawing units are square; a box's width follows its longest line


class Box(NamedTuple):
    """A box showing ``label`` (lines split by ``\\n``), centred at ``(x, y)`` in drawing units; ``kind``: of KINDS."""

    name: str
    label: str
    x: float
    y: float
    kind: str = "data"


class Arrow(NamedTuple):
    """The forward pass from box ``start`` to box ``end``. Backward, the gradient flows along it unless
    ``gradient=False`` (a ``.detach()``): then it is drawn dashed and crossed out."""

    start: str
    end: str
    label: str = ""
    gradient: bool = True


class Diagram(NamedTuple):
    title: str
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    note: str = ""  # the caption under the drawing


def _box_size(label: str) -> tuple[float, float]:
    """(width, height) in drawing units of a box that fits ``label``."""
    lines = label.split("\n")
    return 0.085 * max(map(len, lines)) + 0.35, 0.27 * len(lines) + 0.3


def _edge(box: Box, size: tuple[float, float], towards: Box) -> tuple[float, float]:
    """Where the line from ``box``'s centre towards ``towards``'s centre leaves ``box`` (of ``size``)."""
    dx, dy = towards.x - box.x, towards.y - box.y
    t = min(size[0] / 2 / abs(dx) if dx else float("inf"), size[1] / 2 / abs(dy) if dy else float("inf"))
    return box.x + t * dx, box.y + t * dy


def draw(diagram: Diagram, ax: Axes | None = None) -> Figure:
    """Draw ``diagram`` (into ``ax``, or a new figure sized to it), with a legend of the box kinds and arrow styles."""
    sizes = {box.name: _box_size(box.label) for box in diagram.boxes}
    x_low = min(b.x - sizes[b.name][0] / 2 for b in diagram.boxes) - 0.2
    x_high = max(b.x + sizes[b.name][0] / 2 for b in diagram.boxes) + 0.2
    y_low, y_high = min(b.y - sizes[b.name][1] / 2 for b in diagram.boxes) - 1.0, max(b.y for b in diagram.boxes) + 0.7
    if ax is None:
        size = ((x_high - x_low) * _INCH_PER_UNIT, (y_high - y_low) * _INCH_PER_UNIT + 0.8)
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        plt.close(fig)
    boxes, patches = {box.name: box for box in diagram.boxes}, {}
    for box in diagram.boxes:
        width, height = sizes[box.name]
        patches[box.name] = FancyBboxPatch(
            (box.x - width / 2, box.y - height / 2), width, height, boxstyle="round,pad=0.05",
            facecolor=KINDS[box.kind][0], edgecolor="black", linewidth=0.8,
        )  # fmt: skip
        ax.add_patch(patches[box.name])
        ax.text(box.x, box.y, box.label, ha="center", va="center", fontsize=8.5)
    for arrow in diagram.arrows:
        a, b = boxes[arrow.start], boxes[arrow.end]
        ax.add_patch(
            FancyArrowPatch(
                (a.x, a.y), (b.x, b.y), patchA=patches[a.name], patchB=patches[b.name], arrowstyle="-|>",
                mutation_scale=12, linewidth=1.1, color="black" if arrow.gradient else "gray",
                linestyle="-" if arrow.gradient else "--",
            )
        )  # fmt: skip
        (x0, y0), (x1, y1) = _edge(a, sizes[a.name], b), _edge(b, sizes[b.name], a)
        middle = ((x0 + x1) / 2, (y0 + y1) / 2)  # of the arrow's visible part, between the two boxes
        if not arrow.gradient:  # the cross sits on the arrow, its label just above
            ax.plot(*middle, marker="X", color="crimson", markersize=9)
            middle = (middle[0], middle[1] + 0.3)
        if arrow.label:
            background = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.9}
            ax.text(*middle, arrow.label, ha="center", va="center", fontsize=7.5, style="italic", bbox=background)
    kinds = [kind for kind in KINDS if any(box.kind == kind for box in diagram.boxes)]
    handles = [Patch(facecolor=KINDS[k][0], edgecolor="black", label=KINDS[k][1]) for k in kinds]
    handles.append(Line2D([], [], color="black", label="forward pass (the gradient flows back along it)"))
    if not all(arrow.gradient for arrow in diagram.arrows):
        handles.append(
            Line2D([], [], color="gray", linestyle="--", marker="X", markerfacecolor="crimson",
                   markeredgecolor="crimson", label="detached: no gradient flows back")
        )  # fmt: skip
    ax.legend(handles=handles, loc="lower center", ncol=min(len(handles), 3), fontsize=7.5, frameon=False)
    ax.set(xlim=(x_low, x_high), ylim=(y_low, y_high), aspect="equal", xticks=[], yticks=[])
    ax.set_title(diagram.title, fontsize=11)
    ax.set_xlabel(diagram.note, fontsize=8.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax.figure


def _path(*names: str) -> tuple[Arrow, ...]:
    """Arrows along ``names[0] -> names[1] -> ...``, each letting the gradient flow back."""
    return tuple(Arrow(a, b) for a, b in zip(names, names[1:], strict=False))


# The diagrams, as data.
GAN_PIPELINE = Diagram(
    "The GAN game: one batch",
    (
        Box("z", "noise z ~ N(0, I)", 1.2, 1.2),
        Box("G", "generator G", 3.8, 1.2, "network"),
        Box("fake", "fakes G(z)", 6.2, 1.2),
        Box("real", "real data x", 6.2, 3.8),
        Box("D", "discriminator D\nD(·) = σ(logit)", 9.0, 2.5, "network"),
        Box("d_loss", "D's loss\n−ln D(x) − ln(1 − D(G(z)))", 13.0, 3.8, "loss"),
        Box("g_loss", "G's loss (non-saturating)\n−ln D(G(z))", 13.0, 1.2, "loss"),
    ),
    (*_path("z", "G", "fake", "D"), Arrow("real", "D"), Arrow("D", "d_loss", "D(x), D(G(z))"), Arrow("D", "g_loss")),
    "D scores real and generated samples. D's loss asks for D(x) → 1 and D(G(z)) → 0; G's loss asks for D(G(z)) → 1.",
)

D_STEP = Diagram(
    "(1) Update D: the fakes enter D detached",
    (
        Box("z", "noise z", 1.0, 1.2),
        Box("G", "generator G\nno gradient reaches it", 3.6, 1.2, "idle"),
        Box("fake", "fake = G(z)\nkept, with its graph", 6.5, 1.2),
        Box("real", "real images x", 6.5, 4.0),
        Box("D", "discriminator D", 9.9, 2.6, "updated"),
        Box("loss", "D's loss\n−ln D(x) − ln(1 − D(G(z)))", 13.4, 2.6, "loss"),
    ),
    (*_path("z", "G", "fake"), Arrow("fake", "D", "fake.detach()", gradient=False), *_path("real", "D", "loss")),
    "backward() runs from D's loss into D's weights and stops at fake.detach(): G gets nothing,\n"
    "and the fakes keep their graph for G's step. Only d_optimizer steps.",
)

G_STEP = Diagram(
    "(2) Update G: D frozen, the gradient passes through it",
    (
        Box("z", "noise z", 1.2, 1.4),
        Box("G", "generator G", 3.6, 1.4, "updated"),
        Box("fake", "the same fakes\nnot detached", 6.2, 1.4),
        Box("D", "discriminator D, frozen\nrequires_grad_(False)", 9.4, 1.4, "idle"),
        Box("loss", "G's loss\n−ln D(G(z))", 12.5, 1.4, "loss"),
    ),
    _path("z", "G", "fake", "D", "loss"),
    "backward() runs from G's loss through D's layers to the fakes and into G's weights;\n"
    "D's weights get no gradient (frozen). Only g_optimizer steps.",
)

CGAN = Diagram(
    "CGAN: both players get the label",
    (
        Box("z", "noise z", 1.2, 1.2),
        Box("y", "label y\ndrawn from 0..9", 1.2, 3.0),
        Box("G", "G(z, y)\nembedding of y joined to z", 4.3, 2.0, "network"),
        Box("fake", "fake image\nasked to be a y", 7.4, 1.6),
        Box("real", "real image x\nwith its own label", 7.4, 4.4),
        Box("D", "D(image, label)\nlabel: one more channel", 11.0, 3.0, "network"),
        Box("out", "logit: a real pair\nor a fake pair?", 14.3, 3.0, "loss"),
    ),
    (
        *_path("z", "G", "fake"),
        Arrow("y", "G"),
        Arrow("fake", "D", "(G(z, y), y)"),
        Arrow("y", "D", "the same y"),
        Arrow("real", "D", "(x, its label)"),
        Arrow("D", "out"),
    ),
    "D judges (image, label) pairs: a 7 shown as a '2' is easy to reject, so G must draw the class it is given.",
)

ACGAN = Diagram(
    "ACGAN: G gets the class, D predicts it",
    (
        Box("z", "noise z", 1.2, 1.4),
        Box("c", "class c\ndrawn from 0..9", 1.2, 3.0),
        Box("G", "G(z, c)", 3.8, 2.2, "network"),
        Box("fake", "fake image", 6.3, 2.2),
        Box("real", "real image x\n(its label kept aside)", 6.3, 4.2),
        Box("D", "D(image): no label in\none shared trunk", 9.6, 3.0, "network"),
        Box("source", "real/fake head\n1 logit: P(S | x)", 13.0, 4.2, "network"),
        Box("class", "class head\n10 logits: P(C | x)", 13.0, 1.8, "network"),
    ),
    (*_path("z", "G", "fake", "D", "source"), *_path("c", "G"), *_path("real", "D", "class")),
    "D's class head learns from real images and their labels (the paper's D also from fakes and c);\n"
    "G learns to draw a c so clearly that D's class head says c (cross-entropy against c).",
)


class Layer(NamedTuple):
    """One layer's row in a shape table."""

    name: str  # the module's name in its model, e.g. "blocks.0.0"
    kind: str  # its class, e.g. "ConvTranspose2d"
    shape: tuple[int, ...]  # the shape of its output, without the batch dimension
    parameters: int


@torch.no_grad()
def layer_shapes(model: nn.Module, *inputs: Tensor) -> list[Layer]:
    """Each leaf module's output shape and parameter count, in the order ``model(*inputs)`` calls them.

    Measured with forward hooks while ``inputs`` (each with a batch dimension) run through ``model`` in eval mode,
    so batch norm's running statistics stay as they were; ``model`` goes back to its mode after.
    """
    layers: list[Layer] = []

    def record(name: str):
        def hook(module: nn.Module, args: tuple, output: Tensor) -> None:
            size = sum(p.numel() for p in module.parameters())
            layers.append(Layer(name, type(module).__name__, tuple(output.shape[1:]), size))

        return hook

    leaves = [(name, m) for name, m in model.named_modules() if not any(m.children())]
    handles = [module.register_forward_hook(record(name)) for name, module in leaves]
    was_training = model.training
    model.eval()
    try:
        model(*inputs)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return layers


def _example_inputs(model: nn.Module) -> list[Tensor]:
    """Zeros of a course model's input shape, for a batch of 2, with labels 0 if it is conditional."""
    device = next(model.parameters()).device
    inputs = [torch.zeros(2, *model.input_shape, device=device)]
    if getattr(model, "embed", None) is not None:
        inputs.append(torch.zeros(2, dtype=torch.long, device=device))
    return inputs


def _shape_text(layers: list[Layer], input_name: str, input_shape: tuple[int, ...]) -> str:
    """A monospace table: layer, its class, output shape, parameters; a first row for the input."""
    rows = [("layer", "module", "output shape", "parameters"), (input_name, "(input)", str(input_shape), "")]
    rows += [(layer.name, layer.kind, str(layer.shape), f"{layer.parameters:,}") for layer in layers]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d:>{widths[3]}}" for a, b, c, d in rows)


def network_shapes(G: nn.Module, D: nn.Module) -> Figure:
    """The tensor shapes through a course generator and discriminator, side by side, measured by
    :func:`layer_shapes` on the modules themselves (any model of :mod:`gannotes.models` with ``input_shape``)."""
    tables = [(G, "z", "Generator"), (D, "image", "Discriminator")]
    measured = [(model, layer_shapes(model, *_example_inputs(model)), name, title) for model, name, title in tables]
    rows = max(len(layers) for _, layers, _, _ in measured) + 2
    fig, axes = plt.subplots(1, 2, figsize=(12.0, 0.15 * rows + 0.75), layout="constrained")
    plt.close(fig)
    for ax, (model, layers, name, title) in zip(axes, measured, strict=True):
        text = _shape_text(layers, name, model.input_shape)
        ax.text(0.5, 1.0, text, family="monospace", fontsize=9, ha="center", va="top", multialignment="left")
        total = sum(layer.parameters for layer in layers)
        ax.set(xticks=[], yticks=[], title=f"{title}: {type(model).__name__}")
        ax.set_xlabel(f"{total:,} parameters; shapes per sample (the batch dimension left out)", fontsize=8.5)
        for spine in ax.spines.values():
            spine.set_visible(False)
    return fig


def _input_gradients(critic: nn.Module, points: Tensor) -> Tensor:
    """``(N, 2)``: the gradient of the critic's score with respect to each of the ``points (N, 2)``."""
    points = points.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(points).sum(), points)
    return gradient


def gradient_penalty_points(steps: int = 200, n: int = 128, seed: int = 0) -> Figure:
    """WGAN-GP on 2-D points: a small critic trained ``steps`` times with the course's critic loss and gradient
    penalty (lambda = 10) on ``n`` real points (a ring of 8 modes) against ``n`` generated ones (a blob at the centre).

    Left: the critic's score over the plane, the points, a few real-fake segments with their interpolated points
    x_hat and the critic's gradient there. Right: the gradient norms at every x_hat, before and after training.
    Its own random numbers (from ``seed``): the notebook's random stream is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        real, fake = ring_of_gaussians(std=0.05).sample(n), 0.25 * torch.randn(n, 2)
        eps = torch.rand(n, 1)  # one per pair, as in the penalty
        x_hat = eps * real + (1 - eps) * fake
        critic = MLPDiscriminator(in_shape=(2,), hidden=64)
        before = _input_gradients(critic, x_hat).norm(dim=1)
        optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
        for _ in range(steps):
            penalty = losses.gradient_penalty(critic, real, fake)
            loss = losses.critic_loss(critic(real), critic(fake)) + 10.0 * penalty
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    gradient = _input_gradients(critic, x_hat)
    after = gradient.norm(dim=1)
    axis = torch.linspace(-1.6, 1.6, 161)
    with torch.no_grad():  # the score on a grid; cartesian_prod varies x1 slowest, so transpose: rows are x2
        scores = critic(torch.cartesian_prod(axis, axis)).reshape(len(axis), len(axis)).T.numpy()
    real, fake, x_hat, gradient = (t.detach().numpy() for t in (real, fake, x_hat[:12], gradient[:12]))  # 12 shown
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 5.0), layout="constrained", width_ratios=(1.2, 1))
    plt.close(fig)
    image = left.imshow(scores, origin="lower", extent=(-1.6, 1.6, -1.6, 1.6), cmap="RdBu_r", alpha=0.8)
    fig.colorbar(image, ax=left, label="critic score f(x)")
    left.plot([real[:12, 0], fake[:12, 0]], [real[:12, 1], fake[:12, 1]], color="gray", linewidth=0.7)
    left.scatter(*real.T, s=4, color="navy", label="real x")
    left.scatter(*fake.T, s=4, color="darkorange", label="generated G(z)")
    left.scatter(*x_hat.T, s=18, color="black", label="x_hat = ε x + (1 − ε) G(z), on a segment")
    left.quiver(*x_hat.T, *gradient.T, angles="xy", scale_units="xy", scale=4, width=0.004,
                label="∇f(x_hat), drawn a quarter long")  # fmt: skip
    left.set(title=f"The critic after {steps} steps, and where the penalty looks", xlabel="$x_1$", ylabel="$x_2$")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8)
    bins = torch.linspace(0, max(float(before.max()), float(after.max()), 1.5), 40).tolist()
    right.hist(before.tolist(), bins=bins, color="gray", alpha=0.7, label="untrained critic")
    right.hist(after.tolist(), bins=bins, color="C0", alpha=0.7, label=f"after {steps} steps")
    right.axvline(1.0, color="crimson", linestyle=":", label="the penalty's target: 1")
    right.set(title="Gradient norm at the interpolated points", xlabel="‖∇f(x_hat)‖ (score per unit of x)",
              ylabel="interpolated points")  # fmt: skip
    right.legend(fontsize=8)
    return fig
