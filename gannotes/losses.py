"""GAN losses, each named after and tied to its formula. All take **logits** (or critic scores).

Notation: ``D(x) = sigmoid(l)`` where ``l`` is the discriminator's logit. Working from logits is
numerically stable: ``-ln sigmoid(l) = softplus(-l)`` and ``-ln(1 - sigmoid(l)) = softplus(l)``
never take the log of a number that has rounded to 0. Every loss is a mean over the batch.

==================================  =========================================================
``discriminator_loss``               ``-ln D(x) - ln(1 - D(G(z)))``
``generator_loss_saturating``        ``ln(1 - D(G(z)))``            (the minimax original)
``generator_loss_non_saturating``    ``-ln D(G(z))``                (what everyone uses)
``critic_loss``                      ``mean f(G(z)) - mean f(x)``   (WGAN critic, minimised)
``wasserstein_estimate``             ``mean f(x) - mean f(G(z))``   (what the critic estimates)
``critic_generator_loss``            ``-mean f(G(z))``
``gradient_penalty``                 ``mean (||grad f(x_hat)||_2 - 1)^2``   (WGAN-GP)
``auxiliary_class_loss``             ``-ln P(class = c | x)``       (ACGAN)
==================================  =========================================================
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's binary cross-entropy: ``mean(-ln D(x)) + mean(-ln(1 - D(G(z))))``.

    Args:
        real_logits: ``(B,)`` logits on real samples.
        fake_logits: ``(B,)`` logits on generated samples.

    Returns:
        A scalar; ``2 ln 2 ~ 1.386`` when D outputs 0.5 everywhere.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax generator loss ``mean ln(1 - D(G(z)))`` (= ``-softplus(l)``), minimised by G.

    Its gradient vanishes exactly when G is bad (``D(G(z))`` near 0), early in training.
    """
    return -F.softplus(fake_logits).mean()


def generator_loss_non_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss ``mean -ln D(G(z))`` (= ``softplus(-l)``).

    Same fixed point as the minimax loss, but strong gradients when ``D(G(z))`` is near 0.
    """
    return F.softplus(-fake_logits).mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss ``mean f(G(z)) - mean f(x)``: minimising it maximises the Wasserstein estimate."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_estimate(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """``mean f(x) - mean f(G(z))``: the critic's estimate of the Wasserstein-1 distance (up to scale)."""
    return real_scores.mean() - fake_scores.mean()


def critic_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss ``-mean f(G(z))``: raise the critic's score on generated samples."""
    return -fake_scores.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP's penalty ``mean (||grad_x f(x_hat)||_2 - 1)^2`` (Gulrajani et al., 2017).

    ``x_hat = eps * real + (1 - eps) * fake`` with **one** ``eps ~ U[0, 1]`` per sample, so each
    ``x_hat`` lies on the segment between a real and a generated sample. ``create_graph=True``
    keeps the penalty differentiable with respect to the critic's weights. Multiply by the
    penalty weight (lambda = 10) yourself.

    Args:
        critic: maps ``(B, ...)`` samples to ``(B,)`` scores (wrap a conditional critic in a lambda).
        real, fake: ``(B, ...)`` samples of the same shape; ``fake`` should be detached from G.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def auxiliary_class_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ACGAN's class loss: cross-entropy ``mean -ln P(class = label | x)`` from ``(B, K)`` logits."""
    return F.cross_entropy(class_logits, labels)


def acgan_discriminator_loss(
    real_logits: torch.Tensor,
    real_class_logits: torch.Tensor,
    real_labels: torch.Tensor,
    fake_logits: torch.Tensor,
    fake_class_logits: torch.Tensor,
    fake_labels: torch.Tensor,
) -> torch.Tensor:
    """ACGAN discriminator loss: real/fake BCE plus the class loss on **both** real and fake images.

    Odena et al. (2017): D maximises ``L_S + L_C``, where ``L_C`` is the log-likelihood of the correct
    class for real images and for generated ones (the label G was asked for).
    """
    return (
        discriminator_loss(real_logits, fake_logits)
        + auxiliary_class_loss(real_class_logits, real_labels)
        + auxiliary_class_loss(fake_class_logits, fake_labels)
    )


def acgan_generator_loss(fake_logits: torch.Tensor, fake_class_logits: torch.Tensor, fake_labels: torch.Tensor):
    """ACGAN generator loss: look real (non-saturating) and look like the requested class."""
    return generator_loss_non_saturating(fake_logits) + auxiliary_class_loss(fake_class_logits, fake_labels)
