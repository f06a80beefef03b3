"""Each GAN variant's reference discriminator (critic) step and generator step, as the notebooks write them.

As in pytorch/examples' DCGAN, the fakes are made once: ``d_step(G, D, d_optimizer, real, [labels,] z)`` makes
``G(z)``, updates D on ``real`` and the detached fakes and returns ``(fakes, stats)``; ``g_step(G, D, g_optimizer,
*fakes)`` updates G through D on those same fakes (``fakes``: the batch, or ``(fake, fake_labels)`` if conditional).
``stats``: detached scalars to log (``d_loss`` / ``g_loss``, D's mean verdicts ``d_real``, ``d_fake``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from . import losses

Stats = dict[str, Tensor]
Fakes = Tensor | tuple[Tensor, Tensor]


def _update(optimizer: Optimizer, loss: Tensor) -> None:
    """zero_grad, backward, step: the three lines every step ends with."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _d_stats(loss: Tensor, real_out: Tensor, fake_out: Tensor, critic: bool = False) -> Stats:
    """The loss and D's mean verdicts: a critic's mean scores, or the mean probabilities D(x) and D(G(z))."""
    real, fake = real_out.detach().float(), fake_out.detach().float()
    if critic:
        real_mean, fake_mean = real.mean(), fake.mean()
        return {"d_loss": loss.detach(), "d_real": real_mean, "d_fake": fake_mean, "wasserstein": real_mean - fake_mean}
    return {"d_loss": loss.detach(), "d_real": torch.sigmoid(real).mean(), "d_fake": torch.sigmoid(fake).mean()}


def random_labels(G: nn.Module, n: int, device: torch.device) -> Tensor:
    """``(n,)`` classes drawn uniformly from the conditional generator's ``G.num_classes``."""
    return torch.randint(G.num_classes, (n,), device=device)


# GAN and DCGAN (notebooks 03 and 04): the BCE game
def gan_d_step(G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: Tensor, z: Tensor) -> tuple[Tensor, Stats]:
    """(1) Update D: minimise ``-ln D(x) - ln(1 - D(G(z)))``; return the fakes for G's step."""
    fake = G(z)  # with its graph: the generator's step reuses these fakes
    real_logits, fake_logits = D(real), D(fake.detach())  # detached: D's loss sends no gradient into G
    loss = losses.discriminator_loss(real_logits, fake_logits)
    _update(d_optimizer, loss)
    return fake, _d_stats(loss, real_logits, fake_logits)


def gan_g_step(G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: Tensor) -> Stats:
    """(2) Update G through a frozen D: minimise the non-saturating ``-ln D(G(z))`` on the same fakes."""
    D.requires_grad_(False)  # gradients flow through D to its input, not into D's weights
    loss = losses.generator_loss_non_saturating(D(fake))
    _update(g_optimizer, loss)
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


# CGAN (notebook 05): both players see the label
def cgan_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: Tensor, labels: Tensor, z: Tensor
) -> tuple[Fakes, Stats]:
    """Update D on (real image, its own label) pairs against (G(z, y), y) pairs, y drawn at random."""
    fake_labels = random_labels(G, len(z), z.device)
    fake = G(z, fake_labels)
    real_logits, fake_logits = D(real, labels), D(fake.detach(), fake_labels)
    loss = losses.discriminator_loss(real_logits, fake_logits)
    _update(d_optimizer, loss)
    return (fake, fake_labels), _d_stats(loss, real_logits, fake_logits)


def cgan_g_step(G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: Tensor, fake_labels: Tensor) -> Stats:
    """Update G: make G(z, y) pass as a real image *of class y*."""
    D.requires_grad_(False)
    loss = losses.generator_loss_non_saturating(D(fake, fake_labels))
    _update(g_optimizer, loss)
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


# ACGAN (notebook 06): D does not see the label, it predicts it
def acgan_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: Tensor, labels: Tensor, z: Tensor
) -> tuple[Fakes, Stats]:
    """Update D: real/fake BCE, and the class loss that trains D's class head on the real images only.

    The paper's loss (:func:`gannotes.losses.acgan_discriminator_loss`) with the generated images' class logits
    detached: that term stays in the logged loss but sends no gradient into D, so the class head learns real digits
    only and cannot learn to read G's wrong drawings of a class as that class (notebook 06 measures both versions).
    """
    fake_labels = random_labels(G, len(z), z.device)
    fake = G(z, fake_labels)
    (real_logits, real_classes), (fake_logits, fake_classes) = D(real), D(fake.detach())
    fake_classes = fake_classes.detach()  # the generated images' class term: a constant to D
    loss = losses.acgan_discriminator_loss(real_logits, real_classes, labels, fake_logits, fake_classes, fake_labels)
    _update(d_optimizer, loss)
    return (fake, fake_labels), _d_stats(loss, real_logits, fake_logits)


def acgan_g_step(G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: Tensor, fake_labels: Tensor) -> Stats:
    """Update G: look real, and look like the class asked for to D's class head."""
    D.requires_grad_(False)
    logits, class_logits = D(fake)
    loss = losses.acgan_generator_loss(logits, class_logits, fake_labels)
    _update(g_optimizer, loss)
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


# WGAN and WGAN-GP (notebook 07): a critic's score instead of a probability
def wgan_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: Tensor, z: Tensor, clip: float = 0.01
) -> tuple[Tensor, Stats]:
    """Update the critic on ``mean f(G(z)) - mean f(x)``, then clip every weight into ``[-clip, clip]``."""
    fake = G(z)
    real_scores, fake_scores = D(real), D(fake.detach())
    loss = losses.critic_loss(real_scores, fake_scores)
    _update(d_optimizer, loss)
    with torch.no_grad():  # after the update, so the critic every later step sees is the clipped one
        for p in D.parameters():
            p.clamp_(-clip, clip)
    return fake, _d_stats(loss, real_scores, fake_scores, critic=True)


def wgan_gp_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: Tensor, z: Tensor, gp_weight: float = 10.0
) -> tuple[Tensor, Stats]:
    """Update the critic on ``mean f(G(z)) - mean f(x) + lambda * gradient penalty`` (no clipping)."""
    fake = G(z)
    real_scores, fake_scores = D(real), D(fake.detach())
    penalty = losses.gradient_penalty(D, real, fake.detach())
    loss = losses.critic_loss(real_scores, fake_scores) + gp_weight * penalty
    _update(d_optimizer, loss)
    return fake, _d_stats(loss, real_scores, fake_scores, critic=True)


def wgan_g_step(G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: Tensor) -> Stats:
    """Update G: raise the critic's score on its samples, ``-mean f(G(z))`` (both WGANs)."""
    D.requires_grad_(False)
    loss = losses.critic_generator_loss(D(fake))
    _update(g_optimizer, loss)
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


#: The reference (d_step, g_step) of each model name of :class:`gannotes.train.TrainConfig`.
STEPS: dict[str, tuple[Callable[..., tuple[Fakes, Stats]], Callable[..., Stats]]] = {
    "gan": (gan_d_step, gan_g_step),
    "dcgan": (gan_d_step, gan_g_step),
    "cgan": (cgan_d_step, cgan_g_step),
    "acgan": (acgan_d_step, acgan_g_step),
    "wgan": (wgan_d_step, wgan_g_step),
    "wgan-gp": (wgan_gp_d_step, wgan_g_step),
}
