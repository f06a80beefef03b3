"""Shapes, ranges, conditioning and input checks of the model family."""

import pytest
import torch
from torch import nn

from gannotes import models


@pytest.mark.parametrize("num_classes", [0, 10])
@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_generators_make_images_in_range(arch: str, num_classes: int) -> None:
    g = (
        models.MLPGenerator(num_classes=num_classes)
        if arch == "mlp"
        else models.DCGANGenerator(num_classes=num_classes)
    )
    labels = torch.arange(6) % 10 if num_classes else None
    images = g(torch.randn(6, g.z_dim), labels)
    assert images.shape == (6, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize("num_classes", [0, 10])
@pytest.mark.parametrize("cls", [models.MLPDiscriminator, models.DCGANDiscriminator])
def test_discriminators_return_one_logit_per_image(cls, num_classes: int) -> None:
    d = cls(num_classes=num_classes)
    labels = torch.arange(5) % 10 if num_classes else None
    assert d(torch.rand(5, 1, 28, 28) * 2 - 1, labels).shape == (5,)


@pytest.mark.parametrize("cls", [models.DCGANDiscriminator, models.ACGANDiscriminator])
def test_a_third_discriminator_block_keeps_7x7_and_doubles_the_channels(cls) -> None:
    shallow, deep = cls(width=8), cls(width=8, depth=3)
    assert shallow.trunk(torch.randn(4, 1, 28, 28)).shape == (4, 16 * 7 * 7)
    assert deep.trunk(torch.randn(4, 1, 28, 28)).shape == (4, 32 * 7 * 7)
    third = deep.features[2][0]
    assert (third.kernel_size, third.stride, third.out_channels) == ((3, 3), (1, 1), 32)
    out = deep(torch.randn(4, 1, 28, 28))
    assert (out[0] if isinstance(out, tuple) else out).shape == (4,)
    with pytest.raises(ValueError, match="depth must be 2 or 3"):
        cls(depth=4)


def test_conditional_discriminator_uses_the_label() -> None:
    d = models.DCGANDiscriminator(num_classes=10)
    x = torch.randn(4, 1, 28, 28)
    assert not torch.allclose(d(x, torch.zeros(4, dtype=torch.long)), d(x, torch.ones(4, dtype=torch.long)))


def test_acgan_discriminator_has_two_heads() -> None:
    logits, class_logits = models.ACGANDiscriminator(num_classes=10)(torch.randn(3, 1, 28, 28))
    assert logits.shape == (3,) and class_logits.shape == (3, 10)


def test_critic_without_batch_norm_scores_samples_independently() -> None:
    critic = models.DCGANDiscriminator(norm="layer")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    x = torch.randn(6, 1, 28, 28)
    alone = critic(x[:1])
    together = critic(x)[:1]
    assert torch.allclose(alone, together, atol=1e-5)


def test_mlp_for_two_dimensional_points() -> None:
    g = models.MLPGenerator(z_dim=2, out_shape=(2,), tanh=False)
    d = models.MLPDiscriminator(in_shape=(2,))
    points = g(torch.randn(7, 2))
    assert points.shape == (7, 2) and d(points).shape == (7,)


def test_dcgan_init() -> None:
    g = models.DCGANGenerator(width=64)
    conv = g.blocks[0][0]
    assert abs(conv.weight.std().item() - 0.02) < 0.002
    bn = g.blocks[0][1]
    assert abs(bn.weight.mean().item() - 1) < 0.01 and bn.bias.abs().max() == 0


def test_wrong_inputs_are_explained() -> None:
    g = models.DCGANGenerator(z_dim=64)
    with pytest.raises(ValueError, match=r"expects input of shape \(B, 64\), got \(2, 100\)"):
        g(torch.randn(2, 100))
    with pytest.raises(ValueError, match="unconditional"):
        g(torch.randn(2, 64), torch.zeros(2, dtype=torch.long))
    cg = models.DCGANGenerator(num_classes=10)
    with pytest.raises(ValueError, match=r"is conditional: pass integer labels of shape \(2,\) \(got None\)"):
        cg(torch.randn(2, cg.z_dim))
    with pytest.raises(
        ValueError, match=r"is conditional: pass integer labels of shape \(2,\) \(got \(2,\) torch.float32\)"
    ):
        cg(torch.randn(2, cg.z_dim), torch.zeros(2))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        models.DCGANDiscriminator()(torch.randn(2, 28, 28))
    with pytest.raises(ValueError, match="norm must be"):
        models.DCGANDiscriminator(norm="instance")


def test_count_parameters() -> None:
    assert models.count_parameters(nn.Linear(3, 2)) == 8
