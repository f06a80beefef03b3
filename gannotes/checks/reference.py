"""Reference solutions under the exercise names and signatures; a notebook falls back on them until the
learner's version passes its check. They depend on the package alone, never on the checks (the training steps'
references are :mod:`gannotes.steps`)."""

from __future__ import annotations

import torch
from torch import nn

from ..losses import (
    acgan_discriminator_loss,
    discriminator_loss,
    gradient_penalty,
)
from ..models import dcgan_weights_init as weights_init
from ..models import generator_block

__all__ = [
    "InstanceNoise",
    "acgan_discriminator_loss",
    "class_vectors",
    "discriminator_loss",
    "generator_block",
    "gradient_penalty",
    "weights_init",
]


class InstanceNoise(nn.Module):
    """The reference: ``discriminator`` with Gaussian noise of standard deviation ``std`` added to its inputs.

    Instance noise (Sønderby et al., 2017; Arjovsky and Bottou, 2017): real and generated samples are
    both blurred, so their distributions overlap and D cannot become perfectly sure, which keeps its
    gradients informative. Noise only in training mode; ``std`` can be lowered during training
    (annealed) by assigning to it.
    """

    def __init__(self, discriminator: nn.Module, std: float) -> None:
        super().__init__()
        self.discriminator = discriminator
        self.std = std

    def forward(self, x: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        if self.training and self.std > 0:
            x = x + self.std * torch.randn_like(x)  # fresh noise for every value of every sample, every call
        return self.discriminator(x, *args)


def class_vectors(first_layer: nn.Linear, z_dim: int) -> torch.Tensor:
    """The vector a linear layer on ``[z, onehot(y)]`` adds for each class: ``T (num_classes, out_features)`` with
    ``first_layer([z, onehot(y)]) == z @ W_z.T + T[y]``, ``W_z = first_layer.weight[:, :z_dim]``.

    A one-hot vector times the weight picks one column of its label part; the bias is added whatever the class.
    """
    return (first_layer.weight[:, z_dim:].T + first_layer.bias).detach()
