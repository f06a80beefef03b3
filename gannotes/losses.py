"""GAN losses, one formula per function, named after it. Every loss is a mean over the batch.

They take **logits** ``l`` (``D(x) = sigmoid(l)``) or critic scores ``f(x)``. Working from logits is
numerically stable: ``-ln sigmoid(l) = softplus(-l)`` and ``-ln(1 - sigmoid(l)) = softplus(l)`` never
take the log of a number that has rounded to 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The discriminator's binary cross-entropy ``mean(-ln D(x)) + mean(-ln(1 - D(G(z))))``.

    ``real_logits`` and ``fake_logits`` are ``(B,)``. ``2 ln 2 ~ 1.386`` when D outputs 0.5 everywhere.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss_saturating(fake_logits: Tensor) -> Tensor:
    """The minimax generator loss ``mean ln(1 - D(G(z)))`` (= ``-softplus(l)``), minimised by G.

    Its gradient vanishes exactly when G is bad (``D(G(z))`` near 0), early in training.
    """
    return -F.softplus(fake_logits).mean()


def generator_loss_non_saturating(fake_logits: Tensor) -> Tensor:
    """The non-saturating generator loss ``mean -ln D(G(z))`` (= ``softplus(-l)``).

    Same fixed point as the minimax loss, but strong gradients when ``D(G(z))`` is near 0.
    """
    return F.softplus(-fake_logits).mean()


def critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """WGAN critic loss ``mean f(G(z)) - mean f(x)``: minimising it maximises the Wasserstein estimate."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_estimate(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """``mean f(x) - mean f(G(z))``: the critic's estimate of the Wasserstein-1 distance (up to scale)."""
    return real_scores.mean() - fake_scores.mean()


def critic_generator_loss(fake_scores: Tensor) -> Tensor:
    """WGAN generator loss ``-mean f(G(z))``: raise the critic's score on generated samples."""
    return -fake_scores.mean()


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP's penalty ``mean (||grad_x f(x_hat)||_2 - 1)^2`` (Gulrajani et al., 2017); multiply it by lambda = 10.

    ``x_hat = eps * real + (1 - eps) * fake`` with **one** ``eps ~ U[0, 1]`` per sample: on a real-fake segment.
    ``critic`` maps ``(B, ...)`` samples to ``(B,)`` scores (wrap a conditional one in a lambda); ``fake`` is
    detached from G. ``create_graph=True`` keeps the penalty differentiable in the critic's weights.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def auxiliary_class_loss(class_logits: Tensor, labels: Tensor) -> Tensor:
    """ACGAN's class loss: cross-entropy ``mean -ln P(class = label | x)`` from ``(B, K)`` logits."""
    return F.cross_entropy(class_logits, labels)


def acgan_discriminator_loss(
    real_logits: Tensor,
    real_class_logits: Tensor,
    real_labels: Tensor,
    fake_logits: Tensor,
    fake_class_logits: Tensor,
    fake_labels: Tensor,
) -> Tensor:
    """ACGAN discriminator loss (Odena et al., 2017): real/fake BCE plus the class loss on **both** real and fakes.

    ``-ln D(x) - ln(1 - D(G(z, c))) - ln P(y | x) - ln P(c | G(z, c))``: ``y`` the real label, ``c`` the one asked of G.
    """
    return (
        discriminator_loss(real_logits, fake_logits)
        + auxiliary_class_loss(real_class_logits, real_labels)
        + auxiliary_class_loss(fake_class_logits, fake_labels)
    )


def acgan_generator_loss(fake_logits: Tensor, fake_class_logits: Tensor, fake_labels: Tensor) -> Tensor:
    """ACGAN generator loss ``-ln D(G(z, c)) - ln P(class = c | G(z, c))``: look real, and of class ``c``."""
    return generator_loss_non_saturating(fake_logits) + auxiliary_class_loss(fake_class_logits, fake_labels)
