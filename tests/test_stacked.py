"""Stacked networks (gannotes.stacked): M independent members in one module, trained exactly as if alone."""

import pytest
import torch
from torch import nn

from gannotes.stacked import StackedLinear, stacked_mlp


def test_stacked_linear_maps_each_member_with_its_own_weights() -> None:
    layer = StackedLinear(members=3, in_features=4, out_features=5)
    x = torch.randn(3, 7, 4)
    out = layer(x)
    assert out.shape == (3, 7, 5)
    for i in range(3):
        assert torch.allclose(out[i], x[i] @ layer.weight[i] + layer.bias[i], atol=1e-6)
        assert torch.allclose(out[i], layer.member(i)(x[i]), atol=1e-6)


def test_stacked_linear_rejects_inputs_of_the_wrong_shape() -> None:
    layer = StackedLinear(members=3, in_features=4, out_features=5)
    for bad in (torch.randn(2, 7, 4), torch.randn(3, 7, 3), torch.randn(7, 4)):
        with pytest.raises(ValueError, match=r"\(3, B, 4\)"):
            layer(bad)


def test_members_start_from_different_weights_within_the_linear_bound() -> None:
    layer = StackedLinear(members=4, in_features=9, out_features=6)
    bound = 1 / 9**0.5
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound
    assert not torch.equal(layer.weight[0], layer.weight[1])


def test_member_copies_do_not_touch_the_random_state() -> None:
    layer = StackedLinear(members=2, in_features=3, out_features=2)
    state = torch.get_rng_state()
    layer.member(1)
    assert torch.equal(torch.get_rng_state(), state)


def test_stacked_mlp_puts_the_activation_between_layers_only() -> None:
    net = stacked_mlp(5, [2, 8, 8, 1], nn.ReLU)
    kinds = [type(layer).__name__ for layer in net]
    assert kinds == ["StackedLinear", "ReLU", "StackedLinear", "ReLU", "StackedLinear"]
    assert net(torch.randn(5, 11, 2)).shape == (5, 11, 1)


def test_a_summed_loss_gives_each_member_only_its_own_gradient() -> None:
    net = stacked_mlp(3, [2, 6, 1], nn.Tanh)
    x = torch.randn(3, 10, 2)
    (net(x) ** 2).mean(dim=(1, 2)).sum().backward()
    full = [p.grad.clone() for p in net.parameters()]
    # Change member 2's inputs only: members 0 and 1 must get exactly the same gradients as before.
    net.zero_grad()
    x[2] = torch.randn(10, 2)
    (net(x) ** 2).mean(dim=(1, 2)).sum().backward()
    for before, after in zip(full, (p.grad for p in net.parameters()), strict=True):
        assert torch.equal(before[:2], after[:2])
        assert not torch.equal(before[2], after[2])


def test_one_step_updates_every_member_as_if_it_were_trained_alone() -> None:
    torch.manual_seed(0)
    stack = stacked_mlp(4, [3, 5, 2], nn.LeakyReLU).double()
    x, target = torch.randn(4, 8, 3, dtype=torch.float64), torch.randn(4, 8, 2, dtype=torch.float64)
    alone = [nn.Sequential(stack[0].member(i), nn.LeakyReLU(), stack[2].member(i)).double() for i in range(4)]
    before = [p.detach().clone() for p in stack.parameters()]

    optimizer = torch.optim.Adam(stack.parameters(), lr=1e-2)
    ((stack(x) - target) ** 2).mean(dim=(1, 2)).sum().backward()
    optimizer.step()
    for i, net in enumerate(alone):
        single = torch.optim.Adam(net.parameters(), lr=1e-2)
        ((net(x[i]) - target[i]) ** 2).mean().backward()
        single.step()
        assert torch.allclose(stack[0].weight[i], net[0].weight.T, atol=1e-12)
        assert torch.allclose(stack[2].bias[i, 0], net[2].bias, atol=1e-12)
    for p, p0 in zip(stack.parameters(), before, strict=True):
        assert (p - p0).flatten(1).abs().amax(dim=1).min() > 0  # every member moved


def test_a_member_trained_in_a_stack_matches_a_plainly_trained_network() -> None:
    """A tiny GAN-like case: 30 Adam steps on member 1 of a stack of 3, and on a plain copy of it, agree."""
    torch.manual_seed(1)
    stack = stacked_mlp(3, [2, 8, 8, 1], lambda: nn.LeakyReLU(0.2)).double()
    plain = nn.Sequential(
        stack[0].member(1), nn.LeakyReLU(0.2), stack[2].member(1), nn.LeakyReLU(0.2), stack[4].member(1)
    ).double()
    stacked_optimizer = torch.optim.Adam(stack.parameters(), lr=5e-3, betas=(0.5, 0.999))
    plain_optimizer = torch.optim.Adam(plain.parameters(), lr=5e-3, betas=(0.5, 0.999))
    for _ in range(30):
        real, fake = torch.randn(3, 16, 2, dtype=torch.float64), torch.randn(3, 16, 2, dtype=torch.float64) + 1
        stacked_loss = (
            nn.functional.softplus(-stack(real)).mean(dim=(1, 2)) + nn.functional.softplus(stack(fake)).mean(dim=(1, 2))
        ).sum()
        stacked_optimizer.zero_grad()
        stacked_loss.backward()
        stacked_optimizer.step()
        plain_loss = nn.functional.softplus(-plain(real[1])).mean() + nn.functional.softplus(plain(fake[1])).mean()
        plain_optimizer.zero_grad()
        plain_loss.backward()
        plain_optimizer.step()
    probe = torch.randn(50, 2, dtype=torch.float64)
    assert torch.allclose(stack(probe.expand(3, 50, 2))[1], plain(probe), atol=1e-10)
    assert not torch.allclose(stack(probe.expand(3, 50, 2))[0], plain(probe), atol=1e-3)
