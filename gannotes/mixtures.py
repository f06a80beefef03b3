"""The 2-D Gaussian mixtures of the mode-collapse literature, introduced by VEEGAN (Srivastava et al., 2017) and
reused by PacGAN (Lin et al., 2018), whose released configuration (github.com/fjxmlzn/PacGAN) these match; their
metrics are in :mod:`gannotes.metrics`. Every mode has the same weight.

- **2D-ring**: 8 Gaussians with means ``(cos(2*pi*i/8), sin(2*pi*i/8))``, i = 1..8 (the same 8 points as PacGAN's
  i = 0..7), standard deviation 0.01.
- **2D-grid**: 25 Gaussians with means ``(-4 + 2i, -4 + 2j)``, i, j = 0..4, standard deviation 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of spherical 2-D Gaussians: float32 ``means`` ``(K, 2)``, one ``std`` per dimension."""

    name: str
    means: torch.Tensor
    std: float

    @property
    def num_modes(self) -> int:
        return self.means.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points, float32 ``(n, 2)``, on the CPU: a mode drawn uniformly, plus Gaussian noise."""
        modes = torch.randint(self.num_modes, (n,), generator=generator)
        return self.means[modes] + self.std * torch.randn(n, 2, generator=generator)


def ring_of_gaussians(num_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """The 2D-ring: ``num_modes`` Gaussians evenly spaced on a circle (defaults: VEEGAN/PacGAN)."""
    angles = torch.arange(1, num_modes + 1, dtype=torch.float64) * (2 * math.pi / num_modes)
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture2D(f"ring of {num_modes}", means.float(), std)


def grid_of_gaussians(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """The 2D-grid: ``side x side`` Gaussians on a square grid centred at 0 (defaults: VEEGAN/PacGAN)."""
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    return GaussianMixture2D(f"grid of {side * side}", torch.cartesian_prod(coords, coords), std)
