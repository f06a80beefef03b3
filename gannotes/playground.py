"""The GAN playground: a GAN learning 2-D data, watched as it trains (after Kahng et al.'s GAN Lab, 2019).

A learner sees the real and generated samples, D's verdict over the whole plane as a heat map (a probability, or a
critic's score), G's gradient on each generated sample as an arrow, the losses and D's mean verdicts over time, and,
for the ring and the grid, notebook 08's mode metrics. Training is the course's own: :func:`gannotes.train.fit` with
the step functions of :mod:`gannotes.steps`, or the learner's. :class:`Playground` holds the run and computes what
is drawn (no plotting, so it is unit-tested); :class:`PlaygroundFigure` draws it, fast enough to animate;
:meth:`Playground.widget` adds ipywidgets controls, and :meth:`Playground.snapshots` is the static version for
notebooks executed without a live kernel.
"""

from __future__ import annotations

import copy
import io
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import PIL.Image
import torch
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor, nn
from torch.optim import Optimizer

from . import losses, plots, steps
from .metrics import mode_metrics
from .mixtures import GaussianMixture2D, grid_of_gaussians, ring_of_gaussians
from .models import MLPDiscriminator, MLPGenerator, sample
from .train import TrainConfig, TrainingDiverged, fit, start

StepPair = tuple[Callable[..., Any], Callable[..., Any]]  # (d_step, g_step), as in gannotes.steps
N_POINTS = 10_000  # training points drawn from a named data set
N_SHOWN = 500  # real points drawn on the plane
N_MEASURED = 2500  # generated points per mode measurement, as in VEEGAN and PacGAN


def saturating_g_step(G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: Tensor) -> steps.Stats:
    """``steps.gan_g_step`` with the minimax loss ``ln(1 - D(G(z)))``, whose gradient vanishes where D wins."""
    D.requires_grad_(False)
    loss = losses.generator_loss_saturating(D(fake))
    g_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


LOSSES: dict[str, StepPair] = {
    "non-saturating": (steps.gan_d_step, steps.gan_g_step),
    "saturating": (steps.gan_d_step, saturating_g_step),
    "WGAN-GP": (steps.wgan_gp_d_step, steps.wgan_g_step),
}


def two_moons(n: int, noise: float = 0.06, generator: torch.Generator | None = None) -> Tensor:
    """``(n, 2)`` points on two interleaved half circles (scikit-learn's ``make_moons``) plus Gaussian noise."""
    t = torch.rand(n, generator=generator) * math.pi
    lower = torch.rand(n, generator=generator) < 0.5
    moons = torch.stack([torch.where(lower, 1 - t.cos(), t.cos()), torch.where(lower, 0.5 - t.sin(), t.sin())], 1)
    return moons + noise * torch.randn(n, 2, generator=generator)


def spiral(n: int, noise: float = 0.04, generator: torch.Generator | None = None) -> Tensor:
    """``(n, 2)`` points along a spiral of two turns, from the origin out to radius 1, plus Gaussian noise."""
    t = torch.rand(n, generator=generator).sqrt() * 4 * math.pi  # sqrt: about as many points per unit of length
    arm = (t / (4 * math.pi))[:, None] * torch.stack([t.cos(), t.sin()], 1)
    return arm + noise * torch.randn(n, 2, generator=generator)


DATA = {"ring": ring_of_gaussians, "grid": grid_of_gaussians, "moons": two_moons, "spiral": spiral}


def training_points(data: str | Tensor | GaussianMixture2D) -> tuple[Tensor, GaussianMixture2D | None, str]:
    """The float32 ``(N, 2)`` training points of ``data``, its mixture (for the mode metrics) or None, and a name."""
    generator = torch.Generator().manual_seed(0)
    if isinstance(data, str) and data in DATA:
        made = DATA[data]() if data in ("ring", "grid") else DATA[data](N_POINTS, generator=generator)
        return training_points(made) if isinstance(made, GaussianMixture2D) else (made, None, data)
    if isinstance(data, GaussianMixture2D):
        return data.sample(N_POINTS, generator=generator), data, data.name
    if isinstance(data, Tensor) and data.dim() == 2 and data.shape[1] == 2 and len(data) >= 2:
        if not torch.isfinite(data).all():
            raise ValueError("The data tensor holds NaN or infinite values: pass finite (N, 2) points.")
        return data.detach().float().cpu(), None, f"your {len(data)} points"
    got = f"a tensor of shape {tuple(data.shape)}" if isinstance(data, Tensor) else repr(data)
    names = ", ".join(map(repr, DATA))
    raise ValueError(f"data must be one of {names}, a GaussianMixture2D or an (N, 2) tensor; got {got}.")


class Playground:
    """A small GAN (MLPs, no tanh) training on 2-D ``data``: ``step``, ``set`` and ``view`` are what a figure needs.

    ``loss``: a name of :data:`LOSSES`, or of ``more_losses`` (name -> ``(d_step, g_step)`` with the contract of
    :mod:`gannotes.steps`: a learner's own steps). Adam with ``betas`` for both players; ``n_critic``
    D steps per G step. The run is ``self.run`` (:func:`gannotes.train.start`), so ``self.run.G``, ``self.run.D``,
    ``self.run.history`` (one record per step) are the usual ones.
    """

    def __init__(
        self,
        data: str | Tensor | GaussianMixture2D = "ring",
        loss: str = "non-saturating",
        *,
        lr_g: float = 1e-3,
        lr_d: float = 1e-3,
        n_critic: int = 1,
        betas: tuple[float, float] = (0.5, 0.999),
        batch_size: int = 128,
        z_dim: int = 2,
        hidden: int = 64,
        seed: int = 0,
        more_losses: dict[str, StepPair] | None = None,
        resolution: int = 64,
    ) -> None:
        self.losses = {**LOSSES, **(more_losses or {})}
        self.points, self.mixture, self.name = training_points(data)
        self.settings = dict(lr_g=lr_g, lr_d=lr_d, n_critic=n_critic, betas=betas, batch_size=batch_size, z_dim=z_dim)
        self.settings["seed"] = seed
        self.hidden, self.resolution = hidden, resolution
        low, high = self.points.min(0).values, self.points.max(0).values
        (cx, cy), half = ((low + high) / 2).tolist(), float((high - low).max()) * 0.65 + 0.1  # a square, with a margin
        self.extent = (cx - half, cx + half, cy - half, cy + half)
        xs, ys = (torch.linspace(c - half, c + half, resolution) for c in (cx, cy))
        self.grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).view(-1, 2)  # row-major from the bottom
        self.shown = self.points[torch.randperm(len(self.points), generator=torch.Generator().manual_seed(1))[:N_SHOWN]]
        self.set(loss=loss)
        self.reset()

    def reset(self) -> Playground:
        """New networks and optimisers from ``seed``, at step 0 (the controls keep their values)."""
        torch.manual_seed(self.settings["seed"])
        G = MLPGenerator(self.settings["z_dim"], (2,), self.hidden, tanh=False)  # no tanh: the grid reaches +-4
        D = MLPDiscriminator((2,), self.hidden)
        settings = dict(arch="mlp", log_every=1, sample_every=10**9, device="cpu", **self.settings)
        config = TrainConfig.for_model("gan", **settings)
        self.run = start(config, self.points, G=G, D=D)
        self.fake = sample(G, config.batch_size, seed=0)  # until the first step: G's samples, no gradient yet
        self.arrows = torch.zeros_like(self.fake)
        return self

    def set(self, **controls: Any) -> Playground:
        """Change ``loss``, ``lr_g``, ``lr_d`` or ``n_critic``: from the next step on, without restarting training."""
        for name, value in controls.items():
            if name == "loss":
                if value not in self.losses:
                    raise ValueError(f"Unknown loss {value!r}: choose one of {', '.join(map(repr, self.losses))}.")
                self.loss = value
            elif name in ("lr_g", "lr_d", "n_critic"):
                if not value > 0 or (name == "n_critic" and int(value) != value):
                    raise ValueError(f"{name} must be positive (n_critic: a whole number), got {value}.")
                value = int(value) if name == "n_critic" else float(value)
                self.settings[name] = value
                setattr(self.run.config, name, value)
                if name != "n_critic":  # the optimiser keeps its moments: only its step size changes
                    for group in (self.run.g_optimizer if name == "lr_g" else self.run.d_optimizer).param_groups:
                        group["lr"] = value
            else:
                raise ValueError(f"Unknown control {name!r}: the controls are loss, lr_g, lr_d and n_critic.")
        return self

    def step(self, n: int = 1) -> Playground:
        """Train ``n`` steps (each: ``n_critic`` D steps, then one G step) with the chosen loss's two steps."""
        if n < 0:
            raise ValueError(f"Cannot train a negative number of steps ({n}).")
        history = self.run.history
        before = {key: len(values) for key, values in history.items()}
        fit(self.run, self.losses[self.loss][0], self._g_step, steps=self.run.step + n, progress=False)
        history["samples"].clear()  # fit's sample grids: the plane draws its own samples
        added = len(history["step"]) - before["step"]
        for key, values in history.items():  # after a change of loss, keep every series aligned with the steps
            if key != "samples" and len(values) == before.get(key, 0) and added:
                values.extend([math.nan] * added)
            elif key not in before:
                values[:0] = [math.nan] * before["step"]
        return self

    def _g_step(self, G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: Tensor) -> Any:
        """The chosen G step, keeping its fakes and the gradient its loss sent into them (the arrows)."""
        if fake.requires_grad:
            fake.retain_grad()
        stats = self.losses[self.loss][1](G, D, g_optimizer, fake)
        self.fake = fake.detach()
        self.arrows = torch.zeros_like(self.fake) if fake.grad is None else -fake.grad.detach()
        return stats

    @property
    def critic(self) -> bool:
        """Whether D gives scores, not logits: the last step logged a Wasserstein estimate (at step 0: WGAN-GP)."""
        if not self.run.step:
            return self.loss == "WGAN-GP"
        return math.isfinite(self.run.history.get("wasserstein", [math.nan])[-1])

    def view(self) -> dict[str, Any]:
        """What the figure draws, computed without plotting (all tensors on the CPU).

        ``real (N_SHOWN, 2)``; ``fake (B, 2)``: the last G step's fakes; ``arrows (B, 2)``: ``-d L_G / d fake``, the
        exact gradient that step's loss sent into them (0 before the first step); ``heat (R, R)``: D(x) in [0, 1], or
        the critic's score, on an R x R grid over ``extent`` (x0, x1, y0, y1), row 0 at the bottom; ``history``;
        ``metrics``: :func:`gannotes.metrics.mode_metrics` of 2500 samples, or None for data without known modes.
        """
        with torch.no_grad():
            scores = self.run.D(self.grid).view(self.resolution, self.resolution)
        metrics = mode_metrics(sample(self.run.G, N_MEASURED, seed=0), self.mixture) if self.mixture else None
        return {
            "step": self.run.step,
            "title": f"{self.name}, {self.loss}",
            "real": self.shown,
            "fake": self.fake,
            "arrows": self.arrows,
            "heat": scores if self.critic else torch.sigmoid(scores),
            "critic": self.critic,
            "extent": self.extent,
            "history": self.run.history,
            "metrics": metrics,
            "modes": self.mixture.num_modes if self.mixture else 0,
        }

    def status(self) -> str:
        """One line: the step and the last D outputs."""
        h = self.run.history
        if not self.run.step:
            return f"step 0 on the {self.name}: press play or one step"
        real, fake = (f"{h.get(key, [math.nan])[-1]:.2f}" for key in ("d_real", "d_fake"))
        said = f"f(x) {real}, f(G(z)) {fake}" if self.critic else f"D(x) {real}, D(G(z)) {fake}"
        return f"step {self.run.step} ({self.loss}, n_critic {self.run.config.n_critic}): {said}"

    def snapshots(self, at: Sequence[int]) -> Figure:
        """Train to each step of ``at`` (increasing) and draw the plane there, the history below: the static view."""
        fig = plt.figure(figsize=(3.6 * len(at), 7.4), layout="constrained")
        plt.close(fig)  # detached from pyplot, as in gannotes.plots
        grid = fig.add_gridspec(2, 2 * len(at), height_ratios=[1.15, 1])
        for i, stop in enumerate(at):
            self.step(stop - self.run.step)
            PlanePanel(fig.add_subplot(grid[0, 2 * i : 2 * i + 2]), self.view(), colorbar=i == len(at) - 1)
        plots.plot_losses(self.run.history, ax=fig.add_subplot(grid[1, : len(at)]))
        plots.plot_discriminator_outputs(self.run.history, ax=fig.add_subplot(grid[1, len(at) :]))
        fig.suptitle(f"The playground without a live kernel: {self.name}, {self.loss} loss, at {len(at)} moments")
        return fig

    def widget(self, interval_ms: int = 100, steps_per_frame: int = 5) -> Any:
        """The live view: the figure as an image, play / pause, one step, reset, speed and the training controls.

        ``ipywidgets.Play`` ticks in the browser every ``interval_ms``; each tick trains ``steps_per_frame`` steps
        and redraws. When a frame takes longer, the interval grows to match, so that ticks never queue up.
        """
        import ipywidgets as w  # here: only the live view needs it

        figure = PlaygroundFigure(self.view())
        image, status = w.Image(value=figure.png(), format="png"), w.HTML(self.status())
        play = w.Play(interval=interval_ms, max=10**9, description="play")
        one, reset = w.Button(description="one step"), w.Button(description="reset")
        speed = w.IntSlider(steps_per_frame, min=1, max=50, description="steps/frame")
        cfg = self.run.config
        controls = {
            "loss": w.Dropdown(options=list(self.losses), value=self.loss, description="loss"),
            "lr_g": w.FloatLogSlider(cfg.lr_g, min=-5, max=-1, description="lr G", readout_format=".0e"),
            "lr_d": w.FloatLogSlider(cfg.lr_d, min=-5, max=-1, description="lr D", readout_format=".0e"),
            "n_critic": w.IntSlider(cfg.n_critic, min=1, max=10, description="n_critic"),
        }

        def redraw() -> None:
            image.value, status.value = figure.update(self.view()), self.status()

        def advance(n: int) -> None:
            began = time.perf_counter()
            try:
                self.step(n)
            except TrainingDiverged as err:
                play.playing, status.value = False, f"{err} Press reset."
                return
            redraw()
            play.interval = max(interval_ms, round(1200 * (time.perf_counter() - began)))

        play.observe(lambda change: change["new"] > change["old"] and advance(speed.value), names="value")
        one.on_click(lambda _: advance(1))
        reset.on_click(lambda _: (self.reset(), redraw()))
        for name, control in controls.items():
            control.observe(lambda change, name=name: (self.set(**{name: change["new"]}), redraw()), names="value")
        status.add_class("gannotes-playground-status")
        box = w.VBox([w.HBox([play, one, reset, speed]), w.HBox(list(controls.values())), status, image])
        box.add_class("gannotes-playground")
        return box

    def show(self, snapshots_at: Sequence[int]) -> None:
        """Display the live widget, then a fresh copy's :meth:`snapshots` (what a run without a kernel shows)."""
        from IPython.display import display

        display(self.widget())
        display(copy.copy(self).reset().snapshots(snapshots_at))


class PlanePanel:
    """One axes of the plane: D's heat map, real and generated samples, G's gradient arrows; ``update`` moves them.

    ``animated``: the artists that change are left out of a full draw, for :class:`PlaygroundFigure` to blit.
    """

    def __init__(self, ax: Axes, view: dict[str, Any], colorbar: bool = True, animated: bool = False) -> None:
        (x0, x1, y0, y1), self.ax, self.width = view["extent"], ax, view["extent"][1] - view["extent"][0]
        self.heat = ax.imshow(view["heat"].numpy(), extent=view["extent"], origin="lower", cmap="PiYG", alpha=0.8)
        self.real = ax.scatter(*view["real"].numpy().T, s=3, color="darkgreen", label="real samples")
        fake = view["fake"].numpy()
        self.fake = ax.scatter(*fake.T, s=5, color="indigo", label="generated, G(z)")
        self.arrows = ax.quiver(*fake.T, *fake.T, angles="xy", scale_units="xy", scale=1, width=0.004)
        self.title = ax.text(0.5, 1.02, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=9)
        ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal", xlabel="$x_1$", ylabel="$x_2$")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
        self.colorbar = ax.figure.colorbar(self.heat, ax=ax, shrink=0.8) if colorbar else None
        self.artists = [self.heat, self.real, self.fake, self.arrows, self.title]  # in drawing order
        for artist in self.artists:
            artist.set_animated(animated)
        self.update(view)

    def update(self, view: dict[str, Any]) -> None:
        heat, critic = view["heat"], view["critic"]
        low, high = heat.min().item(), heat.max().item()
        # A critic's scores have no fixed range: drawn from the lowest (0) to the highest (1) in the window.
        self.heat.set_data(((heat - low) / max(high - low, 1e-12) if critic else heat).numpy())
        self.heat.set_clim(0, 1)
        if self.colorbar is not None:
            self.colorbar.set_label("critic score f(x), lowest to highest" if critic else "D(x): probability 'real'")
        arrows, longest = view["arrows"], view["arrows"].norm(dim=1).max().item()
        drawn = arrows * (0.15 * self.width / longest) if longest > 0 else arrows  # the longest: 15% of the width
        self.fake.set_offsets(view["fake"].numpy())
        self.arrows.set_offsets(view["fake"].numpy())
        self.arrows.set_UVC(*drawn.numpy().T)
        lines = [f"{view['title']}: step {view['step']}", f"longest arrow {longest:.1e}"]
        if critic:
            lines[1] += f", f(x) {low:.2g} to {high:.2g}"
        if view["metrics"]:
            metrics = view["metrics"]
            lines.append(f"{metrics['modes_covered']} / {view['modes']} modes, {metrics['high_quality_share']:.0%} HQ")
        self.title.set_text("\n".join(lines))


class PlaygroundFigure:
    """The live figure: the plane, the losses and D's mean outputs over the steps, drawn fast enough to animate.

    Axes, ticks, labels and legends are drawn once (again only when an axis must grow, or D becomes a critic or
    stops being one); each frame copies that background and draws the changing artists over it (blitting).
    """

    SERIES = {"d_loss": "D / critic loss", "g_loss": "G loss", "d_real": "on real", "d_fake": "on generated"}

    def __init__(self, view: dict[str, Any], dpi: int = 72) -> None:
        self.figure = Figure(figsize=(13, 5), dpi=dpi, layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        plane, losses_ax, outputs_ax = self.figure.subplots(1, 3, width_ratios=[1.3, 1, 1])
        self.plane = PlanePanel(plane, view, animated=True)
        self.axes = {"d_loss": losses_ax, "g_loss": losses_ax, "d_real": outputs_ax, "d_fake": outputs_ax}
        self.lines = {k: ax.plot([], [], label=self.SERIES[k], lw=1, animated=True)[0] for k, ax in self.axes.items()}
        self.half = outputs_ax.axhline(0.5, color="gray", linestyle=":", linewidth=1, label="1/2: D cannot tell")
        losses_ax.set(title="Losses", xlabel="training step", ylabel="loss (nats; critic: score units)", ylim=(0, 2))
        outputs_ax.set(title="D's mean output", xlabel="training step", ylim=(0, 1))
        for ax in (losses_ax, outputs_ax):
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=8, frameon=False)
        self.critic = None
        self.move(view)

    def move(self, view: dict[str, Any]) -> None:
        """Move every artist to ``view``; draw the background again if an axis had to change."""
        self.plane.update(view)
        history, again = view["history"], view["critic"] != self.critic
        steps = history["step"]
        for key, line in self.lines.items():
            line.set_data(steps, history.get(key) or [math.nan] * len(steps))
        for ax in set(self.axes.values()):  # grow the axes in jumps, so that the background rarely changes
            values = [v for k, line in self.lines.items() if self.axes[k] is ax for v in line.get_ydata()]
            values = [v for v in values if math.isfinite(v)]
            (low, high), right = ax.get_ylim(), ax.get_xlim()[1]
            if values and (min(values) < low or max(values) > high):
                span = max(values) - min(values) or 1.0
                ax.set_ylim(min(low, min(values) - 0.25 * span), max(high, max(values) + 0.25 * span))
                again = True
            if steps and steps[-1] > right or right < 10:
                ax.set_xlim(0, max(100, 2 ** math.ceil(math.log2(max(steps[-1] if steps else 1, 1) + 1))))
                again = True
        if again:
            self.critic = view["critic"]
            self.half.set_visible(not self.critic)
            ylabel = "mean critic score" if self.critic else "mean D output (probability 'real')"
            self.axes["d_real"].set_ylabel(ylabel)
            self.canvas.draw()  # without the animated artists
            self.figure.set_layout_engine("none")  # keep the first layout: laying out again costs a frame's time
            self.background = self.canvas.copy_from_bbox(self.figure.bbox)

    def update(self, view: dict[str, Any]) -> bytes:
        """Move every artist to ``view`` and return the figure as PNG bytes."""
        self.move(view)
        return self.png()

    def png(self) -> bytes:
        """The figure as PNG bytes: the background, then the changing artists over it."""
        self.canvas.restore_region(self.background)
        for artist in [*self.plane.artists, *self.lines.values()]:
            self.figure.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = PIL.Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="png", compress_level=1)  # fast: a frame is sent at once
        return buffer.getvalue()
