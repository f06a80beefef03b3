"""Every figure draws from small fake inputs, with a title and labelled axes, and tolerates missing history keys."""

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: no window, no display needed

import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gannotes import models, plots  # noqa: E402
from gannotes.mixtures import ring_of_gaussians  # noqa: E402


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _history(wgan: bool = False) -> dict:
    steps = list(range(0, 50, 10))
    history = {
        "step": steps,
        "d_loss": [1.4, 1.2, 1.1, 1.3, 1.25],
        "g_loss": [0.7, 0.9, 1.0, 0.8, 0.85],
        "d_real": [0.5, 0.7, 0.65, 0.6, 0.55],
        "d_fake": [0.5, 0.3, 0.35, 0.4, 0.45],
        "d_grad_norm": [1.0, 0.5, 0.3, torch.tensor(0.4), None],  # 0-d tensors and gaps are accepted
        "g_grad_norm": [2.0, 1.5, 1.0, 1.1, 1.2],
        "sec_per_step": [0.01] * 5,
        "samples": [(s, _images(16, seed=s)) for s in steps],
        "wasserstein": [0.1, 0.5, 0.4, 0.3, 0.2] if wgan else [],
    }
    return history


def _assert_labelled(fig: Figure, ylabel: bool = True) -> None:
    assert isinstance(fig, Figure) and fig.axes
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        assert ax.get_title(), "every panel has a title"
        assert ax.get_xlabel(), "every panel has an x label"
        if ylabel:
            assert ax.get_ylabel(), "every chart has a y label"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_figures_are_detached_from_pyplot() -> None:
    plots.plot_losses(_history())
    assert not plt.get_fignums()  # a notebook shows the returned figure once, not twice


def test_show_images_with_labels() -> None:
    fig = plots.show_images(_images(10), nrow=5, title="Real digits", labels=torch.arange(10))
    _assert_labelled(fig, ylabel=False)
    ax = fig.axes[0]
    assert ax.get_title() == "Real digits" and len(ax.texts) == 10
    assert ax.images[0].get_array().shape == (2 * 30 + 2, 5 * 30 + 2, 3)  # 28 px images, 2 px gaps, as RGB


def test_show_images_draws_colour_images_in_colour() -> None:
    red = torch.full((4, 3, 32, 32), -1.0)
    red[:, 0] = 1.0
    fig = plots.show_images(red, nrow=2, title="Red squares")
    pixel = fig.axes[0].images[0].get_array()[10, 10]  # inside the first image
    assert pixel.tolist() == [1.0, 0.0, 0.0]
    assert fig.axes[0].get_xlabel() == "4 images, 2 per row"


@pytest.mark.parametrize("wgan", [False, True])
def test_training_curves(wgan: bool) -> None:
    history = _history(wgan)
    for plot in (plots.plot_losses, plots.plot_discriminator_outputs):
        fig = plot(history)
        _assert_labelled(fig)
        assert fig.axes[0].get_lines()
    labels = [line.get_label() for line in plots.plot_discriminator_outputs(history).axes[0].get_lines()]
    assert any("1/2" in label for label in labels) is not wgan  # 1/2 only means something for a probability


def test_plots_tolerate_missing_keys() -> None:
    for history in ({}, {"step": [0, 1], "d_loss": [1.0, 1.1]}):
        for plot in (plots.plot_losses, plots.plot_discriminator_outputs):
            _assert_labelled(plot(history))
        _assert_labelled(plots.plot_sample_strip(history), ylabel=False)


def test_sample_strip_spans_the_run() -> None:
    history = _history()
    fig = plots.plot_sample_strip(history, max_snapshots=3)
    _assert_labelled(fig, ylabel=False)
    assert [ax.get_title() for ax in fig.axes] == ["step 0", "step 20", "step 40"]


def test_2d_samples_with_mixture() -> None:
    ring = ring_of_gaussians()
    samples = ring.sample(200, generator=torch.Generator().manual_seed(0))
    fig = plots.plot_2d_samples(samples, ring)
    _assert_labelled(fig)
    assert len(fig.axes[0].patches) == 8  # one 3-std circle per mode
    _assert_labelled(plots.plot_2d_samples(samples))


def test_interpolation_row() -> None:
    generator = models.DCGANGenerator(z_dim=8, width=4).train()
    fig = plots.plot_interpolation(generator, torch.zeros(8), torch.ones(8), steps=5)
    _assert_labelled(fig, ylabel=False)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert generator.training
    conditional = models.DCGANGenerator(z_dim=8, width=4, num_classes=10)
    _assert_labelled(plots.plot_interpolation(conditional, torch.zeros(8), torch.ones(8), steps=4, labels=3), False)


def test_class_histogram_of_counts() -> None:
    fig = plots.plot_class_histogram(counts=[0, 3, 0, 0, 0, 0, 0, 1, 0, 0], class_names=[str(d) for d in range(10)])
    _assert_labelled(fig)
    assert [bar.get_height() for bar in fig.axes[0].patches] == [0, 3, 0, 0, 0, 0, 0, 1, 0, 0]
    assert fig.axes[0].get_xlabel() == "predicted class"
    fig = plots.plot_class_histogram(counts=[5, 0, 2], title="Collapsed", xlabel="label")  # a dataset's own labels
    assert fig.axes[0].get_title() == "Collapsed" and len(fig.axes[0].patches) == 3
    assert fig.axes[0].get_xlabel() == "label"
    with pytest.raises(ValueError, match="class names"):
        plots.plot_class_histogram(counts=[5, 0, 2], class_names=["a", "b"])


def test_sample_strip_rejects_what_is_not_images() -> None:
    with pytest.raises(ValueError, match="images"):
        plots.plot_sample_strip({"samples": [(0, torch.randn(50, 2))]})
