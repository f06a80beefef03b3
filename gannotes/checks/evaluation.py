"""Checks for the evaluation exercises: mode coverage on the 2-D mixtures (08), the Fréchet distance (10).

Table checks (:func:`~gannotes.checks.core.check_against_table`) on inputs where the usual shortcuts give
other numbers: samples at every distance from their modes, and covariances that do not commute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import metrics
from ..mixtures import GaussianMixture2D, grid_of_gaussians, ring_of_gaussians
from .core import Raised, check_against_table, exercise_check, observe_call, wrong_versions

_KEYS = ("modes_covered", "high_quality_share")


def _observe_cases(fn: Callable[..., Any], cases: list[tuple], result: Callable[[Any], Any]) -> list:
    """For each case: ``result`` of what ``fn`` returns, and whether it left its tensor inputs unchanged."""
    seen = []
    for case in cases:
        inputs = [x.clone() if isinstance(x, torch.Tensor) else x for x in case]
        out = observe_call(fn, *inputs)
        unchanged = all(not isinstance(x, torch.Tensor) or torch.equal(x, y) for x, y in zip(inputs, case, strict=True))
        seen.append((result(out), unchanged))
    return seen


def _number(value: Any) -> Any:
    """One number as a float64 tensor (a float, a 0-d tensor, a numpy scalar compare alike), else what it is."""
    if isinstance(value, Raised):
        return value
    if not isinstance(value, torch.Tensor | np.ndarray | np.generic | int | float | complex):
        return f"a {type(value).__name__}"
    value = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else np.asarray(value))
    if value.is_complex():
        return "a complex number"
    return value.double().reshape(()) if value.numel() == 1 else f"{value.numel()} numbers, not one"


# --------------------------------------------------------------------------------------------
# Mode coverage


def mode_metrics(samples: torch.Tensor, means: torch.Tensor, std: float) -> dict[str, float | int]:
    """The reference with the exercise's signature: :func:`gannotes.metrics.mode_metrics` on ``means`` and ``std``."""
    return metrics.mode_metrics(samples, GaussianMixture2D("exercise", means.float(), float(std)))


def _poor_samples(mixture: GaussianMixture2D, seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Samples as a poor generator draws them: a third of the modes empty, the others twice as wide, 30 strays."""
    g = torch.Generator().manual_seed(seed)
    kept = torch.randperm(mixture.num_modes, generator=g)[: 2 * mixture.num_modes // 3]
    modes = kept[torch.randint(len(kept), (300,), generator=g)]
    samples = mixture.means[modes] + 2 * mixture.std * torch.randn(300, 2, generator=g)
    strays = (2 * torch.rand(30, 2, generator=g) - 1) * mixture.means.abs().max()
    return torch.cat([samples, strays]), mixture.means.clone(), mixture.std


def _mode_result(out: Any) -> Any:
    if not isinstance(out, dict):
        return out if isinstance(out, Raised) else f"a {type(out).__name__}, not a dict"
    missing = [key for key in _KEYS if key not in out]
    return f"a dict without {missing}" if missing else [_number(out[key]) for key in _KEYS]


def _observe_modes(fn: Callable[..., Any]) -> list:
    return _observe_cases(
        fn, [_poor_samples(ring_of_gaussians(), 1), _poor_samples(grid_of_gaussians(), 2)], _mode_result
    )


def _modes(
    samples, means, std, *, radius=(3.0, 1), box=False, count="modes", share="fraction", keys=_KEYS, in_place=False
):
    """Mode metrics with one ingredient changed; high quality: within ``radius[0] * std ** radius[1]``."""
    if in_place:  # the right numbers, but the caller's tensors change
        samples /= std
        means /= std
        std = 1.0
    differences = samples[:, None] - means[None]
    distance, nearest = differences.norm(dim=2).min(dim=1)
    good = distance < radius[0] * std ** radius[1]
    covered = nearest[good].unique().numel()
    if box:  # |dx| < 3 std and |dy| < 3 std
        inside = (differences.abs() < 3 * std).all(dim=2)
        good, covered = inside.any(dim=1), inside.any(dim=0).sum()
    counts = {"modes": covered, "all": nearest.unique().numel(), "samples": good.sum()}
    shares = {"fraction": good.float().mean(), "all": 1.0, "count": good.sum(), "percent": 100 * good.float().mean()}
    shares["covered"] = torch.isin(nearest, nearest[good]).float().mean()
    values = (int(counts[count]), float(shares[share]))
    return values if keys is None else dict(zip(keys, values, strict=True))


_MODES = (
    "for each sample find its nearest mean and the distance to it; high quality: distance < 3 * std; covered: the "
    'distinct nearest modes of the high-quality samples; return {"modes_covered": ..., "high_quality_share": ...}.'
)
MODE_MISTAKES = wrong_versions(
    _modes,
    _MODES,
    {
        "modes_covered counts the nearest modes of all samples, even one more than 3 std away.": {"count": "all"},
        "the threshold is 3 * std**2 (3 variances), not 3 standard deviations.": {"radius": (3.0, 2)},
        "you compare the SQUARED distance with 3 * std: a threshold of sqrt(3 * std), not 3 std.": {
            "radius": (3**0.5, 0.5)
        },
        "you compare the squared distance with 3 * std**2: a threshold of sqrt(3) = 1.7 std.": {"radius": (3**0.5, 1)},
        "the threshold is 1 std, not 3.": {"radius": (1.0, 1)},
        "you test each coordinate separately (|dx|, |dy| < 3 std): a square, not the Euclidean distance.": {
            "box": True
        },
        "the high-quality share counts every sample (it is 1): leave out the low-quality ones.": {"share": "all"},
        "the share counts every sample whose nearest mode is covered, low-quality ones too.": {"share": "covered"},
        "high_quality_share is a count of samples, not a share: divide by the number of samples.": {"share": "count"},
        "high_quality_share is a percentage (0..100): return the fraction (0..1).": {"share": "percent"},
        "modes_covered counts high-quality SAMPLES, not distinct modes: use .unique().numel().": {"count": "samples"},
        "your function should return a dict, got tuple.": {"keys": None},
        "your dict has no key 'modes_covered'.": {"keys": ("modes", "high_quality_share")},
        "your function changed its inputs in place (samples /= std): compute new tensors instead.": {"in_place": True},
    },
)


@exercise_check("mode_metrics")
def check_mode_metrics(fn: Callable[[torch.Tensor, torch.Tensor, float], dict]) -> str:
    """Check ``fn(samples (N, 2), means (K, 2), std) -> {"modes_covered": int, "high_quality_share": float}``."""
    passed = "matches the VEEGAN/PacGAN protocol on samples around the 2D-ring and the 2D-grid (empty modes, strays)."
    return check_against_table(fn, mode_metrics, _observe_modes, MODE_MISTAKES, passed, _MODES)


# --------------------------------------------------------------------------------------------
# The Fréchet distance between two Gaussians
