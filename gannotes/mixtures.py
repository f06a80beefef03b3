"""The 2-D Gaussian mixtures that the mode-collapse literature benchmarks on.

Both follow the set-up of VEEGAN (Srivastava et al., 2017, "VEEGAN: Reducing Mode Collapse in GANs
using Implicit Variational Learning", Sec. 5.1) as restated precisely in PacGAN (Lin et al., 2018,
"PacGAN: The power of two samples in generative adversarial networks", Sec. 5.1):

- **2D-ring**: 8 spherical Gaussians with means ``(cos(2*pi*i/8), sin(2*pi*i/8))``, i = 1..8 (a ring
  of radius 1), and variance 1e-4 per dimension (standard deviation 0.01).
- **2D-grid**: 25 spherical Gaussians with means ``(-4 + 2i, -4 + 2j)``, i, j = 0..4, and variance
  0.0025 per dimension (standard deviation 0.05).

Modes are drawn with equal probability. The matching metrics (modes covered, share of high-quality
samples within 3 standard deviations of a mode) are in :mod:`gannotes.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of spherical 2-D Gaussians.

    - ``means``: float32 ``(K, 2)``, the modes' centres
    - ``std``: the standard deviation of every mode, per dimension
    """

    name: str
    means: torch.Tensor
    std: float

    @property
    def num_modes(self) -> int:
        return self.means.shape[0]

    def sample(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """``n`` points, float32 ``(n, 2)``, drawn on the CPU (for reproducibility) then moved to ``device``."""
        modes = torch.randint(self.num_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return (self.means[modes] + self.std * noise).to(device)


def ring_of_gaussians(num_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """The 2D-ring: ``num_modes`` Gaussians evenly spaced on a circle (defaults: VEEGAN/PacGAN)."""
    angles = torch.arange(1, num_modes + 1, dtype=torch.float64) * (2 * math.pi / num_modes)
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture2D(f"ring of {num_modes}", means.float(), std)


def grid_of_gaussians(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """The 2D-grid: ``side x side`` Gaussians on a square grid centred at 0 (defaults: VEEGAN/PacGAN)."""
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    means = torch.cartesian_prod(coords, coords)
    return GaussianMixture2D(f"grid of {side * side}", means, std)
