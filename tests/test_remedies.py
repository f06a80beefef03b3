"""The pieces against mode collapse in gannotes.models: minibatch standard deviation and packing."""

import pytest
import torch
from torch import nn

from gannotes.mixtures import ring_of_gaussians
from gannotes.models import MinibatchStdDev, MLPDiscriminator, MLPGenerator, PackedDiscriminator
from gannotes.steps import gan_d_step, gan_g_step
from gannotes.train import TrainConfig, fit, start


def test_minibatch_stddev_appends_the_batch_spread_to_features() -> None:
    x = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    out = MinibatchStdDev()(x)
    spread = torch.tensor([0.0, 2.0, 4.0]).std(unbiased=False) / 2  # feature 0 varies, feature 1 does not
    assert out.shape == (3, 3)
    assert torch.equal(out[:, :2], x)
    assert torch.allclose(out[:, 2], spread.expand(3))


def test_minibatch_stddev_on_images_adds_one_constant_channel() -> None:
    images = torch.randn(5, 4, 7, 7)
    out = MinibatchStdDev()(images)
    assert out.shape == (5, 5, 7, 7)
    expected = images.std(dim=0, unbiased=False).mean()
    assert torch.allclose(out[:, 4], expected.expand(5, 7, 7))


def test_minibatch_stddev_tells_a_collapsed_batch_from_a_varied_one() -> None:
    collapsed = torch.full((16, 2), 0.5) + 1e-3 * torch.randn(16, 2)
    varied = torch.randn(16, 2)
    layer = MinibatchStdDev()
    assert layer(collapsed)[0, 2] < 0.01 < 0.5 < layer(varied)[0, 2]


def test_minibatch_stddev_passes_gradients_through_the_spread() -> None:
    x = torch.randn(8, 3, requires_grad=True)
    MinibatchStdDev()(x)[:, 3].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_minibatch_stddev_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        MinibatchStdDev()(torch.randn(1, 4))


def test_packed_discriminator_scores_consecutive_groups() -> None:
    inner = MLPDiscriminator((6,), hidden=8)
    packed = PackedDiscriminator(inner, packing=3)
    x = torch.randn(12, 2)
    out = packed(x)
    assert out.shape == (4,)
    assert torch.allclose(out[1], inner(x[3:6].reshape(1, 6))[0])


def test_packed_discriminator_rejects_a_batch_that_does_not_divide() -> None:
    packed = PackedDiscriminator(MLPDiscriminator((4,), hidden=8), packing=2)
    with pytest.raises(ValueError, match="packs of 2"):
        packed(torch.randn(5, 2))
    with pytest.raises(ValueError, match="at least 1"):
        PackedDiscriminator(nn.Identity(), packing=0)


def test_packed_discriminator_of_one_is_the_discriminator() -> None:
    inner = MLPDiscriminator((2,), hidden=8)
    x = torch.randn(6, 2)
    assert torch.equal(PackedDiscriminator(inner, packing=1)(x), inner(x))


@pytest.mark.parametrize("remedy", ["packing", "minibatch_std"])
def test_remedies_train_with_the_package_loop(remedy: str) -> None:
    ring = ring_of_gaussians()
    points = ring.sample(512, generator=torch.Generator().manual_seed(0))
    if remedy == "packing":
        discriminator, batch = PackedDiscriminator(MLPDiscriminator((4,), hidden=16), packing=2), 32
    else:
        discriminator = nn.Sequential(
            nn.Linear(2, 16), nn.LeakyReLU(0.2), MinibatchStdDev(), nn.Linear(17, 1), nn.Flatten(0)
        )
        batch = 16
    generator = MLPGenerator(z_dim=2, out_shape=(2,), hidden=16, tanh=False)
    config = TrainConfig.for_model("gan", z_dim=2, batch_size=batch, steps=5, log_every=5, device="cpu")
    history = fit(start(config, points, G=generator, D=discriminator), gan_d_step, gan_g_step, progress=False)
    assert len(history["d_loss"]) == 1 and all(torch.isfinite(torch.tensor(history["d_loss"])))
