"""The diagrams: each shows what it must; the shape tables are the modules' real shapes; the step graphs mark
where the gradient stops."""

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: no window, no display needed

import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from gannotes import diagrams  # noqa: E402
from gannotes.models import (  # noqa: E402
    ACGANDiscriminator,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPGenerator,
    count_parameters,
)


def _texts(fig: Figure) -> str:
    """Every piece of text in the figure (boxes, arrow labels, titles, captions, legends), joined."""
    assert isinstance(fig, Figure) and fig.axes
    return "\n".join(t.get_text() for t in fig.findobj(Text))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    assert not plt.get_fignums(), "the diagrams are detached from pyplot: a notebook shows each once"
    plt.close("all")


@pytest.mark.parametrize(
    ("diagram", "must_show"),
    [
        (diagrams.GAN_PIPELINE, ["noise z", "generator G", "fakes G(z)", "real data x", "D's loss", "−ln D(G(z))"]),
        (diagrams.D_STEP, ["(1) Update D", "fake.detach()", "no gradient reaches it", "no gradient flows back"]),
        (diagrams.G_STEP, ["(2) Update G", "requires_grad_(False)", "not detached", "weights get no gradient"]),
        (diagrams.CGAN, ["label y", "G(z, y)", "D(image, label)", "the same y", "(x, its label)"]),
        (diagrams.ACGAN, ["class c", "G(z, c)", "no label in", "real/fake head", "class head", "10 logits"]),
    ],
)
def test_each_diagram_shows_its_labels_with_a_title_and_caption(diagram, must_show) -> None:
    fig = diagrams.draw(diagram)
    text = _texts(fig)
    for label in must_show:
        assert label in text, f"{diagram.title} should show {label!r}"
    (ax,) = fig.axes
    assert ax.get_title() and ax.get_xlabel()


def _gradient_reaches(diagram: diagrams.Diagram, start: str, end: str) -> bool:
    """Whether ``end`` is reachable from ``start`` along arrows that let the gradient flow (backward: end to start)."""
    reached, frontier = {start}, [start]
    while frontier:
        here = frontier.pop()
        for arrow in diagram.arrows:
            if arrow.start == here and arrow.gradient and arrow.end not in reached:
                reached.add(arrow.end)
                frontier.append(arrow.end)
    return end in reached


def test_the_discriminator_step_cuts_the_gradient_between_the_fakes_and_d() -> None:
    step = diagrams.D_STEP
    assert {(a.start, a.end) for a in step.arrows if not a.gradient} == {("fake", "D")}
    kinds = {box.name: box.kind for box in step.boxes}
    assert (kinds["D"], kinds["G"]) == ("updated", "idle")
    assert _gradient_reaches(step, "D", "loss") and _gradient_reaches(step, "real", "loss")
    assert not _gradient_reaches(step, "G", "loss"), "D's loss must not reach G"


def test_the_generator_step_lets_the_gradient_through_the_frozen_d_into_g() -> None:
    step = diagrams.G_STEP
    assert all(a.gradient for a in step.arrows), "nothing is detached in G's step"
    kinds = {box.name: box.kind for box in step.boxes}
    assert (kinds["G"], kinds["D"]) == ("updated", "idle")
    assert _gradient_reaches(step, "G", "loss")


def test_every_arrow_joins_two_boxes_of_known_kinds() -> None:
    for diagram in (diagrams.GAN_PIPELINE, diagrams.D_STEP, diagrams.G_STEP, diagrams.CGAN, diagrams.ACGAN):
        names = [box.name for box in diagram.boxes]
        assert len(names) == len(set(names)), diagram.title
        assert all(box.kind in diagrams.KINDS for box in diagram.boxes), diagram.title
        assert all(a.start in names and a.end in names for a in diagram.arrows), diagram.title


@pytest.mark.parametrize(
    ("image_shape", "generator_maps", "discriminator_maps"),
    [
        ((1, 28, 28), [(128, 7, 7), (64, 14, 14), (32, 28, 28), (1, 28, 28)], [(32, 14, 14), (64, 7, 7)]),
        ((3, 64, 64), [(256, 4, 4), (128, 8, 8), (64, 16, 16), (32, 32, 32), (3, 64, 64)],
         [(32, 32, 32), (64, 16, 16), (128, 8, 8), (256, 4, 4)]),
    ],
)  # fmt: skip
def test_the_shape_tables_are_the_modules_real_shapes(image_shape, generator_maps, discriminator_maps) -> None:
    G, D = DCGANGenerator(z_dim=64, width=32, image_shape=image_shape), DCGANDiscriminator(image_shape=image_shape)
    G_layers = diagrams.layer_shapes(G, torch.zeros(2, 64))
    D_layers = diagrams.layer_shapes(D, torch.zeros(2, *image_shape))
    # The convolutions' outputs are the feature maps the models' docstrings promise, in order.
    assert [layer.shape for layer in G_layers if "Conv" in layer.kind] == generator_maps
    assert [layer.shape for layer in D_layers if layer.kind == "Conv2d"] == discriminator_maps
    # The last rows are what the models really return, and the rows count every parameter.
    assert G_layers[-1] == ("to_image.1", "Tanh", tuple(G(torch.zeros(2, 64)).shape[1:]), 0)
    assert D_layers[-1][:3] == ("head", "Linear", (1,))
    assert sum(layer.parameters for layer in G_layers) == count_parameters(G)
    assert sum(layer.parameters for layer in D_layers) == count_parameters(D)


def test_measuring_shapes_leaves_the_model_as_it_was() -> None:
    G = DCGANGenerator(z_dim=8, width=4, num_classes=10)
    state = {k: v.clone() for k, v in G.state_dict().items()}
    diagrams.layer_shapes(G, torch.zeros(2, 8), torch.zeros(2, dtype=torch.long))
    assert G.training and not G.project[1]._forward_hooks, "back in training mode, hooks removed"
    assert all(torch.equal(state[k], v) for k, v in G.state_dict().items()), "batch norm's statistics untouched"


def test_the_shape_figure_draws_both_tables_from_the_models() -> None:
    G, D = DCGANGenerator(z_dim=16, width=8, num_classes=10), ACGANDiscriminator(width=8, num_classes=10)
    text = _texts(diagrams.network_shapes(G, D))
    for label in ["Generator: DCGANGenerator", "Discriminator: ACGANDiscriminator", "embed", "(8, 28, 28)",
                  "class_head", "(10,)", f"{count_parameters(G):,} parameters"]:  # fmt: skip
        assert label in text, label
    assert "(784,)" in _texts(diagrams.network_shapes(MLPGenerator(z_dim=4, hidden=8), D))  # any course model


def _histogram_mean(bars) -> float:
    """The mean of the values a matplotlib histogram counted, from its bars (bin centre times count)."""
    counts = torch.tensor([bar.get_height() for bar in bars])
    centres = torch.tensor([bar.get_x() + bar.get_width() / 2 for bar in bars])
    return float((counts * centres).sum() / counts.sum())


def test_the_gradient_penalty_picture_trains_its_critic_towards_norm_one_and_keeps_the_random_stream() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fig = diagrams.gradient_penalty_points(steps=200, n=128)
    assert torch.equal(torch.rand(3), expected), "the notebook's random numbers are the same as without the picture"
    text = _texts(fig)
    for label in ["critic score f(x)", "real x", "generated G(z)", "x_hat", "the penalty's target: 1"]:
        assert label in text, label
    right = fig.axes[1]
    untrained, trained = (_histogram_mean(bars) for bars in right.containers)
    assert abs(trained - 1) < min(0.2, abs(untrained - 1)), (untrained, trained)
