"""What makes each GAN what it is: one discriminator (critic) step and one generator step per variant.

These are the package's reference versions. The notebooks write them out (03 the plain GAN's, 05 the
conditional ones, 06 ACGAN's, 07 the critic's with clipping, then with the gradient penalty);
:func:`gannotes.train.fit` calls whichever pair it is given, ``n_critic`` D steps then one G step.
The command line, the benchmark and notebook 10 use :data:`STEPS`.

The contract, for every pair (``B`` samples per batch), as in pytorch/examples' DCGAN ("(1) Update D,
(2) Update G", with the fakes made once):

- ``d_step(G, D, d_optimizer, real, z)``, or ``d_step(G, D, d_optimizer, real, labels, z)`` when the
  training data has labels: ``real`` is a batch of training samples, ``labels (B,)`` their classes,
  ``z (B, z_dim)`` fresh noise. It makes the fakes ``G(z)`` (keeping their graph), updates D once on
  the real batch and the *detached* fakes, and returns ``(fakes, stats)``: ``fakes`` is what the G step
  is called with, the fake images, or a tuple ``(fake images, their labels)`` for a conditional model.
- ``g_step(G, D, g_optimizer, fake)``, or ``g_step(G, D, g_optimizer, fake, fake_labels)``: one update
  of G through D's verdict on those same fakes (D frozen, so it does not change). With ``n_critic``
  D steps, the last one's fakes are used.
- ``stats`` (and what the G step returns) is the loss as a detached scalar tensor, or a dict of
  detached scalars to log: ``d_loss`` / ``g_loss``, and D's mean verdicts ``d_real`` and ``d_fake``
  (probabilities for a discriminator, scores for a critic), which
  :func:`gannotes.plots.plot_discriminator_outputs` draws.

Discriminators return logits (or critic scores), never probabilities: see :mod:`gannotes.losses`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.optim import Optimizer

from . import losses

Stats = dict[str, torch.Tensor]
Fakes = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def _update(optimizer: Optimizer, loss: torch.Tensor) -> None:
    """zero_grad, backward, step: the three lines every step ends with."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _verdicts(real_logits: torch.Tensor, fake_logits: torch.Tensor, loss: torch.Tensor) -> Stats:
    """What a BCE discriminator step reports: its loss, and the mean D(x) and D(G(z))."""
    return {
        "d_loss": loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),
    }


def random_labels(G: nn.Module, n: int, device: torch.device) -> torch.Tensor:
    """``(n,)`` classes drawn uniformly from the conditional generator's ``G.num_classes``."""
    return torch.randint(G.num_classes, (n,), device=device)


# --------------------------------------------------------------------------------------------
# GAN and DCGAN (notebooks 03 and 04): the BCE game


def gan_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: torch.Tensor, z: torch.Tensor
) -> tuple[torch.Tensor, Stats]:
    """(1) Update D: minimise ``-ln D(x) - ln(1 - D(G(z)))``; return the fakes for G's step."""
    fake = G(z)  # with its graph: the generator's step reuses these fakes
    real_logits, fake_logits = D(real), D(fake.detach())  # detached: D's loss sends no gradient into G
    loss = losses.discriminator_loss(real_logits, fake_logits)
    _update(d_optimizer, loss)
    return fake, _verdicts(real_logits, fake_logits, loss)


def gan_g_step(G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: torch.Tensor) -> Stats:
    """(2) Update G through a frozen D: minimise the non-saturating ``-ln D(G(z))`` on the same fakes."""
    D.requires_grad_(False)  # gradients flow through D to its input, not into D's weights
    loss = losses.generator_loss_non_saturating(D(fake))
    _update(g_optimizer, loss)
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


# --------------------------------------------------------------------------------------------
# CGAN (notebook 05): both players see the label


def cgan_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: torch.Tensor, labels: torch.Tensor, z: torch.Tensor
) -> tuple[Fakes, Stats]:
    """Update D on (real image, its own label) pairs against (G(z, y), y) pairs, y drawn at random."""
    fake_labels = random_labels(G, len(z), z.device)
    fake = G(z, fake_labels)
    real_logits, fake_logits = D(real, labels), D(fake.detach(), fake_labels)
    loss = losses.discriminator_loss(real_logits, fake_logits)
    _update(d_optimizer, loss)
    return (fake, fake_labels), _verdicts(real_logits, fake_logits, loss)


def cgan_g_step(
    G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: torch.Tensor, fake_labels: torch.Tensor
) -> Stats:
    """Update G: make G(z, y) pass as a real image *of class y*."""
    D.requires_grad_(False)
    loss = losses.generator_loss_non_saturating(D(fake, fake_labels))
    _update(g_optimizer, loss)
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


# --------------------------------------------------------------------------------------------
# ACGAN (notebook 06): D does not see the label, it predicts it


def acgan_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: torch.Tensor, labels: torch.Tensor, z: torch.Tensor
) -> tuple[Fakes, Stats]:
    """Update D: real/fake BCE plus the class loss on real images *and* on generated ones."""
    fake_labels = random_labels(G, len(z), z.device)
    fake = G(z, fake_labels)
    (real_logits, real_classes), (fake_logits, fake_classes) = D(real), D(fake.detach())
    loss = losses.acgan_discriminator_loss(real_logits, real_classes, labels, fake_logits, fake_classes, fake_labels)
    _update(d_optimizer, loss)
    return (fake, fake_labels), _verdicts(real_logits, fake_logits, loss)


def acgan_g_step(
    G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: torch.Tensor, fake_labels: torch.Tensor
) -> Stats:
    """Update G: look real, and look like the class asked for to D's class head."""
    D.requires_grad_(False)
    logits, class_logits = D(fake)
    loss = losses.acgan_generator_loss(logits, class_logits, fake_labels)
    _update(g_optimizer, loss)
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


# --------------------------------------------------------------------------------------------
# WGAN and WGAN-GP (notebook 07): a critic's score instead of a probability


def _critic_scores(real_scores: torch.Tensor, fake_scores: torch.Tensor, loss: torch.Tensor) -> Stats:
    real_mean, fake_mean = real_scores.detach().float().mean(), fake_scores.detach().float().mean()
    return {"d_loss": loss.detach(), "d_real": real_mean, "d_fake": fake_mean, "wasserstein": real_mean - fake_mean}


def wgan_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: torch.Tensor, z: torch.Tensor, clip: float = 0.01
) -> tuple[torch.Tensor, Stats]:
    """Update the critic on ``mean f(G(z)) - mean f(x)``, then clip every weight into ``[-clip, clip]``."""
    fake = G(z)
    real_scores, fake_scores = D(real), D(fake.detach())
    loss = losses.critic_loss(real_scores, fake_scores)
    _update(d_optimizer, loss)
    with torch.no_grad():  # after the update, so the critic every later step sees is the clipped one
        for p in D.parameters():
            p.clamp_(-clip, clip)
    return fake, _critic_scores(real_scores, fake_scores, loss)


def wgan_gp_d_step(
    G: nn.Module, D: nn.Module, d_optimizer: Optimizer, real: torch.Tensor, z: torch.Tensor, gp_weight: float = 10.0
) -> tuple[torch.Tensor, Stats]:
    """Update the critic on ``mean f(G(z)) - mean f(x) + lambda * gradient penalty`` (no clipping)."""
    fake = G(z)
    real_scores, fake_scores = D(real), D(fake.detach())
    penalty = losses.gradient_penalty(D, real, fake.detach())
    loss = losses.critic_loss(real_scores, fake_scores) + gp_weight * penalty
    _update(d_optimizer, loss)
    return fake, _critic_scores(real_scores, fake_scores, loss)


def wgan_g_step(G: nn.Module, D: nn.Module, g_optimizer: Optimizer, fake: torch.Tensor) -> Stats:
    """Update G: raise the critic's score on its samples, ``-mean f(G(z))`` (both WGANs)."""
    D.requires_grad_(False)
    loss = losses.critic_generator_loss(D(fake))
    _update(g_optimizer, loss)
    D.requires_grad_(True)
    return {"g_loss": loss.detach()}


StepPair = tuple[Callable[..., Stats], Callable[..., Stats]]
#: The reference (d_step, g_step) of each model name of :class:`gannotes.train.TrainConfig`.
STEPS: dict[str, StepPair] = {
    "gan": (gan_d_step, gan_g_step),
    "dcgan": (gan_d_step, gan_g_step),
    "cgan": (cgan_d_step, cgan_g_step),
    "acgan": (acgan_d_step, acgan_g_step),
    "wgan": (wgan_d_step, wgan_g_step),
    "wgan-gp": (wgan_gp_d_step, wgan_g_step),
}
