"""Every loss against its closed form on known logits; the gradient penalty on linear critics."""

import math

import pytest
import torch

from gannotes import losses

LOGITS_REAL = torch.tensor([2.0, -1.0, 0.0, 30.0])
LOGITS_FAKE = torch.tensor([-3.0, 0.5, 0.0, -30.0])


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _neg_log_sigmoid(x: float) -> float:
    """-ln sigmoid(x), computed without cancellation."""
    return math.log1p(math.exp(-x)) if x > 0 else -x + math.log1p(math.exp(x))


def _neg_log_one_minus_sigmoid(x: float) -> float:
    """-ln(1 - sigmoid(x)) = -ln sigmoid(-x)."""
    return _neg_log_sigmoid(-x)


def _mean(values) -> float:
    return sum(values) / len(values)


def test_discriminator_loss_closed_form() -> None:
    expected = _mean([-math.log(_sigmoid(v)) for v in LOGITS_REAL.tolist()]) + _mean(
        [-math.log(1 - _sigmoid(v)) for v in LOGITS_FAKE.tolist()]
    )
    assert losses.discriminator_loss(LOGITS_REAL, LOGITS_FAKE).item() == pytest.approx(expected, rel=1e-5)
    # D(x) = 0.5 everywhere gives 2 ln 2.
    zeros = torch.zeros(8)
    assert losses.discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2), rel=1e-6)


def test_generator_losses_closed_form() -> None:
    sat = _mean([math.log(1 - _sigmoid(v)) for v in LOGITS_FAKE.tolist()])
    nonsat = _mean([-math.log(_sigmoid(v)) for v in LOGITS_FAKE.tolist()])
    assert losses.generator_loss_saturating(LOGITS_FAKE).item() == pytest.approx(sat, rel=1e-5)
    assert losses.generator_loss_non_saturating(LOGITS_FAKE).item() == pytest.approx(nonsat, rel=1e-5)


def test_saturating_gradient_vanishes_where_non_saturating_does_not() -> None:
    # When D confidently rejects fakes (D(G(z)) ~ 0), the minimax loss gives G almost no gradient.
    logits = torch.tensor([-8.0], requires_grad=True)
    (g_sat,) = torch.autograd.grad(losses.generator_loss_saturating(logits), logits)
    (g_nonsat,) = torch.autograd.grad(losses.generator_loss_non_saturating(logits), logits)
    assert abs(g_sat.item()) < 1e-3 and abs(g_nonsat.item()) > 0.99


def test_large_logits_stay_finite() -> None:
    big = torch.tensor([1e4, -1e4])
    for value in (
        losses.discriminator_loss(big, -big),
        losses.generator_loss_saturating(big),
        losses.generator_loss_non_saturating(-big),
    ):
        assert torch.isfinite(value)


def test_wasserstein_losses() -> None:
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    assert losses.wasserstein_estimate(real, fake).item() == pytest.approx(3.0)
    assert losses.critic_loss(real, fake).item() == pytest.approx(-3.0)
    assert losses.critic_generator_loss(fake).item() == pytest.approx(1.0)


@pytest.mark.parametrize("weight_norm", [0.5, 1.0, 3.0])
def test_gradient_penalty_on_a_linear_critic(weight_norm: float) -> None:
    # f(x) = <w, x> has gradient w everywhere, so the penalty is exactly (||w|| - 1)^2.
    torch.manual_seed(0)
    w = torch.randn(1, 28, 28)
    w = w * weight_norm / w.norm()
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.randn(16, 1, 28, 28), torch.randn(16, 1, 28, 28)
    penalty = losses.gradient_penalty(critic, real, fake)
    assert penalty.item() == pytest.approx((weight_norm - 1) ** 2, abs=1e-5)


def test_gradient_penalty_reaches_critic_weights() -> None:
    critic = torch.nn.Linear(2, 1)
    penalty = losses.gradient_penalty(lambda x: critic(x).squeeze(1), torch.randn(8, 2), torch.randn(8, 2))
    penalty.backward()  # needs create_graph=True
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_gradient_penalty_interpolates_per_sample() -> None:
    # A critic that records where it is evaluated: every x_hat must lie on its real-fake segment.
    seen = {}

    def critic(x):
        seen["x"] = x.detach()
        return x.flatten(1).sum(1)

    real, fake = torch.zeros(64, 1, 2, 2), torch.ones(64, 1, 2, 2)
    losses.gradient_penalty(critic, real, fake)
    x_hat = seen["x"]
    per_sample = x_hat.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample))  # one eps per sample
    eps = 1 - per_sample[:, 0]
    assert eps.min() >= 0 and eps.max() <= 1 and eps.std() > 0.2  # uniform on [0, 1], not constant


def test_acgan_losses() -> None:
    class_logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1])
    ce = _mean([-math.log(math.exp(2) / (math.exp(2) + 1)), -math.log(math.e / (1 + math.e))])
    assert losses.auxiliary_class_loss(class_logits, labels).item() == pytest.approx(ce, rel=1e-5)
    d = losses.acgan_discriminator_loss(
        LOGITS_REAL[:2], class_logits, labels, LOGITS_FAKE[:2], class_logits, labels
    ).item()
    assert d == pytest.approx(losses.discriminator_loss(LOGITS_REAL[:2], LOGITS_FAKE[:2]).item() + 2 * ce, rel=1e-5)
    g = losses.acgan_generator_loss(LOGITS_FAKE[:2], class_logits, labels).item()
    assert g == pytest.approx(losses.generator_loss_non_saturating(LOGITS_FAKE[:2]).item() + ce, rel=1e-5)
