"""Many small networks trained as one, for notebook 08's 2-D experiments (seeds and mixtures side by side).

A **stack** holds ``M`` independent networks of one architecture, its *members*, and runs them all in one call:
inputs and outputs carry the members first, ``(M, B, features)``, and each layer is one batched matrix product
(``torch.baddbmm``) over the members. Nothing is shared but the code. A loss that is the **sum** of the members' own
losses gives each member exactly the gradient of its own loss, and an element-wise optimiser (SGD, Adam) then updates
each member as if it were trained alone. For networks this small, a step of ``M`` members costs far less than ``M``
steps of one: one network cannot keep the processor busy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn


class StackedLinear(nn.Module):
    """``M`` independent linear layers: ``x (M, B, in) -> x[i] @ weight[i] + bias[i]``, ``(M, B, out)``.

    ``weight (M, in, out)`` and ``bias (M, 1, out)``; each member is initialised as ``nn.Linear`` is (uniform in
    ``+-1/sqrt(in)``), from its own draws.
    """

    def __init__(self, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(members, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[0] != self.weight.shape[0] or x.shape[2] != self.weight.shape[1]:
            members, in_features = self.weight.shape[:2]
            raise ValueError(f"Expected input of shape ({members}, B, {in_features}), got {tuple(x.shape)}.")
        return torch.baddbmm(self.bias, x, self.weight)

    def member(self, i: int) -> nn.Linear:
        """Member ``i`` as a plain ``nn.Linear`` with a copy of its current weights."""
        in_features, out_features = self.weight.shape[1:]
        layer = nn.utils.skip_init(
            nn.Linear, in_features, out_features, device=self.weight.device, dtype=self.weight.dtype
        )
        with torch.no_grad():
            layer.weight.copy_(self.weight[i].T)
            layer.bias.copy_(self.bias[i, 0])
        return layer


def stacked_mlp(members: int, sizes: list[int], activation: Callable[[], nn.Module]) -> nn.Sequential:
    """``members`` MLPs through ``sizes`` (e.g. ``[2, 64, 64, 1]``): stacked linear layers, ``activation()`` between."""
    layers: list[nn.Module] = []
    for i, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers += [StackedLinear(members, size_in, size_out)] + ([activation()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)
