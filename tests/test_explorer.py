"""The latent-space explorer: its pure functions, and its widget's controls redrawing the figure."""

import base64
import math

import numpy as np
import pytest
import torch
from torch import nn

from gannotes import MLPGenerator, sample
from gannotes.explorer import (
    LatentExplorer,
    class_means,
    generate,
    latent_arithmetic,
    lerp,
    nearest_images,
    plane_directions,
    plane_point,
    slerp,
)


def test_lerp_and_slerp_start_and_end_at_the_two_points() -> None:
    z0, z1 = torch.randn(2, 16, generator=torch.Generator().manual_seed(0))
    for path in (lerp, slerp):
        ends = path(z0, z1, torch.tensor([0.0, 1.0]))
        assert ends.shape == (2, 16)
        torch.testing.assert_close(ends[0], z0)
        torch.testing.assert_close(ends[1], z1)
        assert path(z0, z1, 0.5).shape == (16,)  # a number gives one point


def test_slerp_keeps_the_norm_where_lerp_shortens_it() -> None:
    z0, z1 = torch.randn(2, 64, generator=torch.Generator().manual_seed(1))
    z1 = z1 * z0.norm() / z1.norm()  # equal norms
    t = torch.linspace(0, 1, 11)
    torch.testing.assert_close(slerp(z0, z1, t).norm(dim=1), z0.norm().expand(11), rtol=1e-5, atol=1e-5)
    middle = lerp(z0, z1, 0.5).norm()
    assert middle < 0.8 * z0.norm()  # two near-orthogonal vectors: the chord's middle is about 1/sqrt(2) as long


def test_slerp_of_parallel_vectors_is_the_straight_line() -> None:
    z0 = torch.randn(8, generator=torch.Generator().manual_seed(2))
    t = torch.linspace(0, 1, 5)
    for z1 in (3 * z0, z0.clone()):
        path = slerp(z0, z1, t)
        assert torch.isfinite(path).all()
        torch.testing.assert_close(path, lerp(z0, z1, t))


def test_plane_directions_are_orthonormal_and_plane_point_adds_them() -> None:
    d = plane_directions(32, seed=3)
    assert d.shape == (2, 32)
    torch.testing.assert_close(d @ d.T, torch.eye(2), atol=1e-5, rtol=0)
    base = torch.randn(32)
    torch.testing.assert_close(plane_point(base, d, 2.0, -0.5), base + 2.0 * d[0] - 0.5 * d[1])
    a, b = torch.tensor([[0.0], [1.0]]), torch.tensor([[1.0], [0.0]])
    torch.testing.assert_close(plane_point(base, d, a, b), torch.stack([base + d[1], base + d[0]]))


def test_nearest_images_finds_a_planted_copy_across_chunks() -> None:
    images = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(4)) * 2 - 1
    queries = torch.stack([images[321], images[7] + 0.01])
    distances, where = nearest_images(queries, images, k=3, chunk=64)
    assert where.shape == distances.shape == (2, 3)
    assert where[:, 0].tolist() == [321, 7]
    assert distances[0, 0] < 0.05  # 0 up to float rounding (random images are about 16 apart)
    assert torch.all(distances[:, 1:] >= distances[:, :-1])  # nearest first
    assert distances[0, 1] > 1.0  # random images are far apart


class SignGenerator(nn.Module):
    """A fake G whose image is z's first coordinate painted everywhere: a classifier can read the sign of z_0."""

    z_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # sample() finds the device through G's parameters

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, :1, None, None].expand(-1, 1, 28, 28).clamp(-1, 1)


def test_class_means_average_z_per_class_the_classifier_reads() -> None:
    G = SignGenerator()

    def classify(images: torch.Tensor) -> torch.Tensor:  # class 1 for a positive z_0, else 0; class 2 never
        return (images[:, 0, 0, 0] > 0).long()

    means, counts = class_means(G, classify, n=300, num_classes=3, seed=5)
    z = torch.randn(300, 4, generator=torch.Generator().manual_seed(5))  # the same draw
    positive = z[:, 0] > 0
    assert counts.tolist() == [int((~positive).sum()), int(positive.sum()), 0]
    torch.testing.assert_close(means[1], z[positive].mean(dim=0))
    torch.testing.assert_close(means[0], z[~positive].mean(dim=0))
    assert torch.isnan(means[2]).all()  # a class never read has no average
    torch.testing.assert_close(latent_arithmetic(means, 1, 0, 1), 2 * means[1] - means[0])


def test_generate_feeds_a_class_vector_in_place_of_the_label_embedding() -> None:
    torch.manual_seed(6)
    G = MLPGenerator(z_dim=4, hidden=8, num_classes=3)
    z = torch.randn(5, 4)
    torch.testing.assert_close(
        generate(G, z, label=1, class_vector=G.embed.weight[2]), sample(G, z=z, labels=torch.full((5,), 2))
    )
    torch.testing.assert_close(generate(G, z, label=1), sample(G, z=z, labels=torch.ones(5, dtype=torch.long)))
    assert not G.embed._forward_hooks  # the substitution is undone


@pytest.fixture
def train_images() -> torch.Tensor:
    return torch.rand(60, 1, 28, 28, generator=torch.Generator().manual_seed(7)) * 2 - 1


def shown(explorer: LatentExplorer, panel: int) -> np.ndarray:
    return np.array(explorer.shown[panel].get_array())


def test_moving_a_slider_changes_the_rendered_sample_and_the_image(train_images) -> None:
    torch.manual_seed(8)
    G = MLPGenerator(z_dim=8, hidden=16)
    explorer = LatentExplorer(G, train_images, classify=lambda images: (images.mean(dim=(1, 2, 3)) > 0).long())
    png, sample_tiles, plane_tiles = bytes(explorer.image.value), shown(explorer, 1), shown(explorer, 0)
    assert png.startswith(b"\x89PNG")
    explorer.controls["a"].value = 2.0
    assert bytes(explorer.image.value) != png
    assert not np.array_equal(shown(explorer, 1), sample_tiles)  # a new sample (and its neighbours)
    np.testing.assert_array_equal(shown(explorer, 0), plane_tiles)  # the plane itself stays; its red square moves
    assert explorer.here[0].get_x() == pytest.approx(2.0 - explorer.extent / 4)


def test_t_and_the_path_toggle_move_the_marker_on_the_interpolation(train_images) -> None:
    explorer = LatentExplorer(MLPGenerator(z_dim=8, hidden=16), train_images)
    size = 28 + 2
    explorer.controls["path"].value = "linear"
    explorer.controls["t"].value = 0.0
    assert (explorer.here[1].get_x(), explorer.here[1].get_y()) == (0.5, 0.5)
    explorer.controls["path"].value = "spherical"
    explorer.controls["t"].value = 1.0
    assert (explorer.here[1].get_x(), explorer.here[1].get_y()) == (7 * size + 0.5, size + 0.5)
    assert "first" not in explorer.controls  # no classifier: no class averages, no arithmetic controls


def test_a_conditional_generator_gets_a_class_picker_and_arithmetic_on_its_label_vectors(train_images) -> None:
    torch.manual_seed(9)
    G = MLPGenerator(z_dim=8, hidden=16, num_classes=3)
    explorer = LatentExplorer(G, train_images)
    torch.testing.assert_close(explorer.table, G.embed.weight.detach())
    plane, arithmetic = shown(explorer, 0), shown(explorer, 2)
    explorer.controls["label"].value = 2
    assert not np.array_equal(shown(explorer, 0), plane)
    explorer.controls["minus"].value = 2
    assert not np.array_equal(shown(explorer, 2), arithmetic)


def test_displaying_the_explorer_gives_the_widgets_and_a_png_for_static_copies(train_images) -> None:
    explorer = LatentExplorer(MLPGenerator(z_dim=8, hidden=16), train_images)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == bytes(explorer.image.value)
    assert math.isclose(explorer.controls["t"].value, 3 / 7)
