"""Reference solutions under the exercise names, with the exact signatures the notebooks ask for.

A notebook falls back on these until the learner's version passes its check::

    from gannotes.checks import check_discriminator_step, reference

    if not check_discriminator_step(discriminator_step):
        discriminator_step = reference.discriminator_step

Most are the package's own functions; the training steps and the conditioned inputs exist only
here, because the package's trainer and conditional models do the same work inside classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import (
    acgan_discriminator_loss,
    critic_loss,
    discriminator_loss,
    generator_loss_non_saturating,
    generator_loss_saturating,
    gradient_penalty,
)
from ..metrics import frechet_distance
from ..models import dcgan_weights_init as weights_init
from ..models import generator_block
from .tips import InstanceNoise

__all__ = [
    "InstanceNoise",
    "acgan_discriminator_loss",
    "conditioned_inputs",
    "critic_loss",
    "discriminator_loss",
    "discriminator_step",
    "frechet_distance",
    "generator_block",
    "generator_loss_non_saturating",
    "generator_loss_saturating",
    "generator_step",
    "gradient_penalty",
    "weights_init",
]


def discriminator_step(
    G: nn.Module, D: nn.Module, d_optimizer: torch.optim.Optimizer, real_images: torch.Tensor, z: torch.Tensor
) -> torch.Tensor:
    """One update of D with the BCE loss; returns the loss (a detached scalar).

    Args:
        G: the generator, ``z (B, z_dim) -> images (B, 1, 28, 28)`` in ``[-1, 1]``.
        D: the discriminator, ``images -> logits (B,)``.
        d_optimizer: the optimizer over D's parameters.
        real_images: ``(B, 1, 28, 28)`` in ``[-1, 1]``.
        z: ``(B, z_dim)`` noise for the fakes.
    """
    fake = G(z).detach()  # D's loss must not send gradients into G: G is updated in its own step
    loss = discriminator_loss(D(real_images), D(fake))
    d_optimizer.zero_grad()  # gradients accumulate in .grad: clear the previous step's
    loss.backward()
    d_optimizer.step()
    return loss.detach()


def generator_step(G: nn.Module, D: nn.Module, g_optimizer: torch.optim.Optimizer, z: torch.Tensor) -> torch.Tensor:
    """One update of G with the non-saturating loss through a frozen D; returns the loss (detached scalar).

    Args:
        G: the generator, ``z (B, z_dim) -> images (B, 1, 28, 28)``.
        D: the discriminator, ``images -> logits (B,)``; unchanged by this step.
        g_optimizer: the optimizer over G's parameters.
        z: ``(B, z_dim)`` noise.
    """
    # Freeze D: G's update needs gradients through D's input, not for D's weights (it saves the
    # work and leaves D's .grad alone). Restore each flag as it was afterwards.
    trainable = [p.requires_grad for p in D.parameters()]
    D.requires_grad_(False)
    try:
        loss = generator_loss_non_saturating(D(G(z)))
        g_optimizer.zero_grad()
        loss.backward()
        g_optimizer.step()
    finally:
        for p, flag in zip(D.parameters(), trainable, strict=True):
            p.requires_grad_(flag)
    return loss.detach()


def conditioned_inputs(z: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """A conditional generator's input: ``z (B, z_dim)`` then the one-hot labels, ``(B, z_dim + num_classes)``.

    Args:
        z: ``(B, z_dim)`` float noise.
        labels: ``(B,)`` int64 class indices in ``[0, num_classes)``.
        num_classes: the width of the one-hot code (passed explicitly: inferred from the batch, it
            would change with the largest label present).
    """
    return torch.cat([z, F.one_hot(labels, num_classes).to(z.dtype)], dim=1)
