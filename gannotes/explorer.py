"""The latent-space explorer: walk a generator's latent space, interpolate, do arithmetic, look for copies.

The pure functions take and return CPU tensors; :class:`LatentExplorer` puts them behind sliders (ipywidgets) as
one matplotlib figure redrawn in place, which a notebook without a live kernel shows as a still image.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor, nn

from .models import sample


def lerp(z0: Tensor, z1: Tensor, t: float | Tensor) -> Tensor:
    """The straight line ``(1 - t) z0 + t z1``: ``z0, z1 (D,)``, ``t`` a number or ``(T,)`` -> ``(D,)``, ``(T, D)``."""
    t = torch.as_tensor(t, dtype=z0.dtype)[..., None]
    return (1 - t) * z0 + t * z1


def slerp(z0: Tensor, z1: Tensor, t: float | Tensor) -> Tensor:
    """Spherical interpolation (Shoemake, 1985): along the arc from ``z0`` to ``z1``, shapes as :func:`lerp`.

    For ``|z0| = |z1|`` every point keeps that norm, where the line's middle is shorter: Gaussian noise in many
    dimensions lies near the sphere of radius ``sqrt(D)``, so the arc stays where G was trained. Parallel or
    opposite vectors have no single arc: the straight line is returned.
    """
    t = torch.as_tensor(t, dtype=z0.dtype)[..., None]
    theta = torch.arccos(torch.nn.functional.cosine_similarity(z0, z1, dim=0).clamp(-1, 1))
    if torch.sin(theta) < 1e-6:
        return lerp(z0, z1, t[..., 0])
    return (torch.sin((1 - t) * theta) * z0 + torch.sin(t * theta) * z1) / torch.sin(theta)


def plane_directions(z_dim: int, seed: int = 0) -> Tensor:
    """Two random orthonormal directions ``(2, z_dim)``: unit length, at right angles (QR of Gaussian noise)."""
    q, _ = torch.linalg.qr(torch.randn(z_dim, 2, generator=torch.Generator().manual_seed(seed)))
    return q.T.contiguous()


def plane_point(base: Tensor, directions: Tensor, a: float | Tensor, b: float | Tensor) -> Tensor:
    """``base + a d1 + b d2``: ``base (D,)``, ``directions (2, D)``; ``a, b`` numbers (-> ``(D,)``) or ``(N, 1)``."""
    return base + a * directions[0] + b * directions[1]


def class_means(
    G: nn.Module, classify: Callable[[Tensor], Tensor], n: int = 2000, num_classes: int = 10, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Average latent of each class: draw ``n`` z, let ``classify(images) -> labels (n,)`` read ``G(z)``.

    Returns ``means (num_classes, z_dim)`` (NaN rows for classes never read) and ``counts (num_classes,)``.
    """
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    read = torch.as_tensor(classify(sample(G, z=z))).long().cpu()
    counts = torch.bincount(read, minlength=num_classes)
    sums = torch.zeros(num_classes, G.z_dim).index_add_(0, read, z)
    return sums / counts[:, None], counts  # 0 / 0 = NaN marks a missing class


def latent_arithmetic(table: Tensor, a: int, b: int, c: int) -> Tensor:
    """``table[a] - table[b] + table[c]``: "a is to b as ? is to c" (Radford et al., 2016, on averaged latents)."""
    return table[a] - table[b] + table[c]


def nearest_images(queries: Tensor, images: Tensor, k: int = 1, chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """The ``k`` images closest to each query in pixel space (L2), nearest first: ``(distances, indices)``, ``(Q, k)``.

    ``queries (Q, C, H, W)``, ``images (N, C, H, W)``; ``chunk`` images at a time, so memory stays bounded.
    """
    flat = queries.flatten(1).float().cpu()
    best = torch.empty(len(flat), 0)
    where = torch.empty(len(flat), 0, dtype=torch.long)
    for start in range(0, len(images), chunk):
        block = images[start : start + chunk].flatten(1).float().cpu()
        best = torch.cat([best, torch.cdist(flat, block)], dim=1)
        where = torch.cat([where, torch.arange(start, start + len(block)).expand(len(flat), -1)], dim=1)
        best, keep = best.topk(min(k, best.shape[1]), dim=1, largest=False)
        where = where.gather(1, keep)
    return best, where


def generate(G: nn.Module, z: Tensor, label: int = 0, class_vector: Tensor | None = None) -> Tensor:
    """``G(z)`` for ``z (N, z_dim)``; a conditional G draws class ``label``, or, given ``class_vector``, gets that
    vector where its label embedding (``G.embed``) would be: how arithmetic across classes reaches a CGAN."""
    if not getattr(G, "num_classes", 0):
        return sample(G, z=z)
    labels = torch.full((len(z),), label)
    if class_vector is None:
        return sample(G, z=z, labels=labels)
    hook = G.embed.register_forward_hook(lambda module, inputs, out: class_vector.to(out).expand_as(out))
    try:
        return sample(G, z=z, labels=labels)
    finally:
        hook.remove()


def _tiles(images: Tensor, nrow: int):
    """``images (N, C, H, W)`` in [-1, 1] as one ``(h, w, 3)`` array in [0, 1], ``nrow`` per row, 2-pixel gaps."""
    from torchvision.utils import make_grid  # imported here: importing gannotes stays light

    return make_grid((images.clamp(-1, 1) + 1) / 2, nrow=nrow, padding=2, pad_value=1).permute(1, 2, 0).numpy()


class LatentExplorer:
    """Sliders over G's latent space, drawn as one figure: the plane ``base + a d1 + b d2`` (5 x 5 samples, a red
    square where ``a``, ``b`` point), the sample there beside its 3 nearest ``train_images``, the linear and
    spherical paths from ``z0`` to ``z1`` (``t`` and ``path`` mark one point) with their norms, and arithmetic on
    class latents. Those are, for an unconditional G, :func:`class_means` as read by ``classify`` (e.g.
    ``evaluator.predict``); for a conditional G, whose class is an input, the label embedding rows (exact: nothing
    to average). ``controls`` (name -> widget) drive :meth:`render`; displayed, the explorer is its widgets, or,
    where no kernel runs them (a headless run, the rendered site), the figure as a PNG.
    """

    extent, steps = 3.0, 8  # the plane spans -extent..extent along each direction; steps images per path

    def __init__(self, G: nn.Module, train_images: Tensor, classify: Callable | None = None, seed: int = 0):
        import ipywidgets as widgets

        self.G, self.train_images, extent = G, train_images, self.extent
        self.base, self.z0, self.z1 = torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(seed))
        self.directions = plane_directions(G.z_dim, seed + 1)  # other seeds: draws independent of base, z0, z1
        self.conditional, self.table = bool(getattr(G, "num_classes", 0)), None
        if self.conditional:
            self.table = G.embed.weight.detach().cpu()
        elif classify is not None:
            self.table = class_means(G, classify, seed=seed + 2)[0]
        # Only classes G drew at least once have an average (a barely trained G may draw few).
        classes = [k for k, row in enumerate([] if self.table is None else self.table) if row.isfinite().all()]
        plane = dict(min=-extent, max=extent, step=0.25, continuous_update=False)
        self.controls = {
            "a": widgets.FloatSlider(0.0, description="a (dir. 1)", **plane),
            "b": widgets.FloatSlider(0.0, description="b (dir. 2)", **plane),
            "t": widgets.FloatSlider(3 / 7, min=0, max=1, step=1 / 7, description="t", readout_format=".2f"),
            "path": widgets.ToggleButtons(options=["linear", "spherical"], value="spherical", description="path"),
        }
        narrow = widgets.Layout(width="11em")
        if self.conditional:
            self.controls["label"] = widgets.Dropdown(options=range(G.num_classes), description="class", layout=narrow)
        for i, name in enumerate(("first", "minus", "plus") if classes else ()):
            value = classes[i % len(classes)]
            self.controls[name] = widgets.Dropdown(options=classes, value=value, description=name, layout=narrow)
        self.image = widgets.Image(format="png")
        rows = [widgets.HBox(list(self.controls.values())[i:j]) for i, j in ((0, 3), (3, None))]  # sliders; the rest
        self.widget = widgets.VBox([*rows, self.image])
        self._build_figure()
        for control in self.controls.values():
            control.observe(lambda change: self.redraw(), names="value")
        self.redraw()

    def _build_figure(self) -> None:
        self.figure = Figure(figsize=(12, 6.4), layout="constrained")
        grid = self.figure.add_gridspec(2, 3)
        self.axes = [self.figure.add_subplot(where) for where in (grid[0, 0], grid[0, 1], grid[0, 2], grid[1, :2])]
        self.shown = [ax.imshow([[0]], interpolation="nearest") for ax in self.axes]
        half, e = self.extent / 4, self.extent  # half the spacing of the plane's 5 x 5 samples
        self.shown[0].set_extent((-e - half, e + half, -e - half, e + half))  # the plane's axes in latent units
        self.axes[0].set(xlabel="a (latent units)", ylabel="b (latent units)")
        box = dict(fill=False, color="red", lw=2)
        self.here = [ax.add_patch(Rectangle((0, 0), 2 * half, 2 * half, **box)) for ax in self.axes[::3]]
        ax, t = self.figure.add_subplot(grid[1, 2]), torch.linspace(0, 1, 41)
        ax.plot(t, lerp(self.z0, self.z1, t).norm(dim=1), label="linear")
        ax.plot(t, slerp(self.z0, self.z1, t).norm(dim=1), label="spherical")
        ax.axhline(math.sqrt(self.G.z_dim), color="gray", ls=":", label="sqrt(z_dim): a typical |z|")
        self.t_line = ax.axvline(0.5, color="red", lw=1)
        ax.set(title="Norm along the paths", xlabel="t", ylabel="|z_t| (latent units)")
        ax.legend(fontsize=8)

    def _show(self, i: int, images: Tensor, nrow: int, ticks: list[str], **labels) -> None:
        """Panel ``i`` shows ``images`` as tiles, ``nrow`` a row, with ``ticks`` under the first row's tiles."""
        tiles, size = _tiles(images, nrow), images.shape[-1] + 2  # a tile and its gap, in pixels
        self.shown[i].set_data(tiles)
        self.shown[i].set_extent((-0.5, tiles.shape[1] - 0.5, tiles.shape[0] - 0.5, -0.5))
        self.axes[i].set_xticks([1 + size * (j + 0.5) for j in range(len(ticks))], ticks)
        self.axes[i].set(yticks=[], **labels)

    def render(self) -> Figure:
        """Redraw the figure from the controls' values; returns it."""
        v = {name: control.value for name, control in self.controls.items()}
        a, b, t, label = v["a"], v["b"], v["t"], v.get("label", 0)
        values = torch.linspace(-self.extent, self.extent, 5)[:, None]  # a left to right, b bottom to top
        plane = plane_point(self.base, self.directions, values.repeat(5, 1), values.flip(0).repeat_interleave(5, 0))
        self.shown[0].set_data(_tiles(generate(self.G, plane, label), 5))
        self.here[0].set_xy((a - self.extent / 4, b - self.extent / 4))
        self.axes[0].set_title("The latent plane: base + a d1 + b d2" + f"\nclass {label}" * self.conditional)

        z = plane_point(self.base, self.directions, a, b)[None]
        image = generate(self.G, z, label)
        distances, where = nearest_images(image, self.train_images, k=3)
        ticks = ["G(z)", *(f"{d:.1f}" for d in distances[0].tolist())]
        title = f"The sample at a = {a:.2f}, b = {b:.2f},\nthen its 3 nearest training images"
        neighbours = torch.cat([image, self.train_images[where[0]].cpu()])
        self._show(1, neighbours, 4, ticks, title=title, xlabel="L2 distance in pixel values")

        t_values = torch.linspace(0, 1, self.steps)
        both = torch.cat([lerp(self.z0, self.z1, t_values), slerp(self.z0, self.z1, t_values)])
        ticks, size = [f"{v:.2f}" for v in t_values.tolist()], image.shape[-1] + 2
        self._show(3, generate(self.G, both, label), self.steps, ticks, title="From z0 (t = 0) to z1 (t = 1)")
        self.axes[3].set(xlabel="t", yticks=[1 + size * 0.5, 1 + size * 1.5], yticklabels=["linear", "spherical"])
        column, row = round(t * (self.steps - 1)), int(v["path"] == "spherical")
        self.here[1].set_bounds(column * size + 0.5, row * size + 0.5, size, size)
        self.t_line.set_xdata([t, t])

        if "first" in self.controls:
            first, minus, plus = v["first"], v["minus"], v["plus"]
            vectors = [*self.table[[first, minus, plus]], latent_arithmetic(self.table, first, minus, plus)]
            if self.conditional:  # the label's vector replaced, the style z kept
                images = torch.cat([generate(self.G, z, label, vector) for vector in vectors])
            else:  # an average of many z is short, near 0 where G rarely sees noise: back to the typical norm
                images = generate(self.G, torch.stack([v * math.sqrt(self.G.z_dim) / v.norm() for v in vectors]))
            ticks, what = [str(first), f"- {minus}", f"+ {plus}", "= ?"], ("class-average z", "label vectors")
            xlabel = "G of each latent; the last is first - minus + plus"
            self._show(2, images, 4, ticks, title=f"Arithmetic on {what[self.conditional]}", xlabel=xlabel)
        else:
            self.axes[2].set(title="Arithmetic needs class latents: pass classify=", xticks=[], yticks=[])
        return self.figure

    def redraw(self) -> None:
        """Render, and send the figure as a PNG to the image widget."""
        buffer = io.BytesIO()
        self.render().savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()
        self.figure.set_layout_engine("none")  # keep the first layout: laying out again at each redraw is slow

    def _repr_mimebundle_(self, **kwargs) -> dict:
        # The widgets where a kernel runs them; the figure as a PNG for a static copy (headless runs, the site).
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle
