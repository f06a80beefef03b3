"""The 2-D benchmark mixtures: means and spreads as published (VEEGAN / PacGAN)."""

import math

import torch

from gannotes.mixtures import grid_of_gaussians, ring_of_gaussians


def _nearest_mode(points: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    return torch.cdist(points, means).argmin(dim=1)


def test_ring_means_and_spread() -> None:
    ring = ring_of_gaussians()
    assert ring.num_modes == 8 and ring.std == 0.01
    assert torch.allclose(ring.means.norm(dim=1), torch.ones(8), atol=1e-6)
    angles = torch.arange(1, 9) * 2 * math.pi / 8
    expected = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    assert torch.allclose(ring.means, expected, atol=1e-6)
    points = ring.sample(40_000, generator=torch.Generator().manual_seed(0))
    modes = _nearest_mode(points, ring.means)
    residual = points - ring.means[modes]
    assert abs(residual.std(dim=0).mean().item() - 0.01) < 0.0005
    share = torch.bincount(modes, minlength=8).float() / 40_000
    assert (share - 1 / 8).abs().max().item() < 0.01


def test_grid_means_and_spread() -> None:
    grid = grid_of_gaussians()
    assert grid.num_modes == 25 and grid.std == 0.05
    xs = sorted({round(v, 6) for v in grid.means[:, 0].tolist()})
    assert xs == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(m) for m in grid.means.tolist()}) == 25
    points = grid.sample(50_000, generator=torch.Generator().manual_seed(0))
    modes = _nearest_mode(points, grid.means)
    residual = points - grid.means[modes]
    assert abs(residual.std(dim=0).mean().item() - 0.05) < 0.002
    assert torch.bincount(modes, minlength=25).min().item() > 1700  # ~2000 each


def test_sampling_is_reproducible() -> None:
    ring = ring_of_gaussians()
    a = ring.sample(10, generator=torch.Generator().manual_seed(3))
    b = ring.sample(10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
