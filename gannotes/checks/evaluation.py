"""Checks for the evaluation exercises: mode coverage on the 2-D mixtures (08), the Fréchet distance (10).

- ``mode_metrics(samples (N, 2), means (K, 2), std) -> {"modes_covered": int, "high_quality_share": float}``:
  the VEEGAN / PacGAN protocol, compared with :func:`gannotes.metrics.mode_metrics` on hand-made
  sample sets (points at 0.5, 2.5 and 3.5 standard deviations of a mode, a corner of the 3-std box,
  stray points far from every mode) and on random ones.
- ``frechet_distance(mu1, sigma1, mu2, sigma2) -> float``: compared with
  :func:`gannotes.metrics.frechet_distance` on Gaussians whose covariances do not commute, where the
  usual shortcuts (square roots taken entry by entry, ``sqrt(S1) sqrt(S2)``) give other numbers.

Each usual mistake is computed on the same inputs, so a wrong answer is named, not just reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import metrics
from ..mixtures import GaussianMixture2D, grid_of_gaussians, ring_of_gaussians
from .core import Mistake, call_learner, describe, diagnose, exercise_check, fail, fmt, same_values

# --------------------------------------------------------------------------------------------
# Mode coverage


def mode_metrics(samples: torch.Tensor, means: torch.Tensor, std: float) -> dict[str, float | int]:
    """The reference with the exercise's signature: :func:`gannotes.metrics.mode_metrics` on ``means`` and ``std``."""
    return metrics.mode_metrics(samples, GaussianMixture2D("exercise", means.float(), float(std)))


def _along(mean: torch.Tensor, distances: list[float], angle: float) -> torch.Tensor:
    """Points at the given distances from ``mean`` in the direction ``angle`` (radians): ``(len(distances), 2)``."""
    direction = torch.tensor([math.cos(angle), math.sin(angle)])
    return mean + torch.tensor(distances).unsqueeze(1) * direction


def _handmade_case() -> tuple[torch.Tensor, torch.Tensor, float]:
    """The 2D-ring with samples placed where the usual mistakes and the protocol disagree.

    - mode 0: 6 points within 1 std (high quality);
    - mode 1: 4 points at 2.5 std (high quality; a variance or a sqrt(3)-std threshold rejects them);
    - mode 2: 5 points at 3.5 std only (low quality: mode 2 is NOT covered);
    - mode 3: 3 points at 2 std, and 2 in the corners of the 3-std box (2.6 std along each axis,
      3.7 std away: low quality, but inside a per-coordinate test);
    - 10 stray points near the centre of the ring, far from every mode;
    - modes 4..7: nothing.
    """
    ring = ring_of_gaussians()
    means, s = ring.means, ring.std
    parts = [
        _along(means[0], [0.2 * s, 0.5 * s, 0.8 * s, 0.3 * s, 0.9 * s, 0.1 * s], angle=0.7),
        torch.cat([_along(means[1], [2.5 * s], angle=a) for a in (0.0, 1.6, 3.2, 4.8)]),
        _along(means[2], [3.5 * s] * 5, angle=1.3),
        _along(means[3], [2.0 * s] * 3, angle=2.1),
        means[3] + torch.tensor([[2.6 * s, 2.6 * s], [-2.6 * s, 2.6 * s]]),
        torch.tensor([[0.05, 0.02], [-0.1, 0.03], [0.0, -0.2], [0.3, 0.1], [0.12, -0.05]]).repeat(2, 1),
    ]
    return torch.cat(parts), means.clone(), s


def _random_case(seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The 2D-grid with a generator-like mess: modes drawn with 2x their spread, some modes missing, strays."""
    grid = grid_of_gaussians()
    g = torch.Generator().manual_seed(seed)
    kept = torch.randperm(grid.num_modes, generator=g)[:17]  # 8 modes get no samples at all
    modes = kept[torch.randint(len(kept), (300,), generator=g)]
    samples = grid.means[modes] + 2 * grid.std * torch.randn(300, 2, generator=g)
    strays = torch.rand(40, 2, generator=g) * 10 - 5
    return torch.cat([samples, strays]), grid.means.clone(), grid.std


def _mode_cases() -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    return [_handmade_case(), _random_case(1), _random_case(2)]


def _metrics_from(nearest: torch.Tensor, good: torch.Tensor) -> tuple[float, float]:
    """(modes covered, high-quality share) when ``good`` marks the high-quality samples."""
    return float(nearest[good].unique().numel()), good.float().mean().item()


def _mode_mistakes(cases: list) -> list[Mistake]:
    """What each usual mistake returns on every case, as ``(cases, 2)`` = (modes covered, high-quality share)."""

    def outputs(rule: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], tuple[float, float]]) -> torch.Tensor:
        rows = []
        for samples, means, std in cases:
            differences = samples[:, None, :] - means[None, :, :]
            distance, nearest = differences.norm(dim=2).min(dim=1)
            rows.append(torch.tensor(rule(differences, distance, nearest, std), dtype=torch.float64))
        return torch.stack(rows)

    def covered_by_any(differences, distance, nearest, std):
        return float(nearest.unique().numel()), (distance < 3 * std).float().mean().item()

    def variance(differences, distance, nearest, std):
        return _metrics_from(nearest, distance < 3 * std**2)

    def squared_vs_std(differences, distance, nearest, std):
        return _metrics_from(nearest, distance**2 < 3 * std)

    def sqrt3(differences, distance, nearest, std):
        return _metrics_from(nearest, distance**2 < 3 * std**2)

    def one_std(differences, distance, nearest, std):
        return _metrics_from(nearest, distance < std)

    def box(differences, distance, nearest, std):
        inside = (differences.abs() < 3 * std).all(dim=2)  # (N, K): within 3 std along each axis
        good = inside.any(dim=1)
        return float(inside.any(dim=0).sum()), good.float().mean().item()

    def all_samples_counted(differences, distance, nearest, std):
        return _metrics_from(nearest, distance < 3 * std)[0], 1.0

    def share_of_covered(differences, distance, nearest, std):
        covered, _ = _metrics_from(nearest, distance < 3 * std)
        covered_modes = nearest[distance < 3 * std].unique()
        return covered, torch.isin(nearest, covered_modes).float().mean().item()

    def count_not_share(differences, distance, nearest, std):
        good = distance < 3 * std
        return _metrics_from(nearest, good)[0], float(good.sum())

    def percent(differences, distance, nearest, std):
        covered, share = _metrics_from(nearest, distance < 3 * std)
        return covered, 100 * share

    def samples_not_modes(differences, distance, nearest, std):
        good = distance < 3 * std
        return float(good.sum()), good.float().mean().item()

    def share_of_modes(differences, distance, nearest, std):
        covered, share = _metrics_from(nearest, distance < 3 * std)
        return covered / differences.shape[1], share

    threshold_hint = "a sample is of high quality when its Euclidean distance to the nearest mean is < 3 * std."
    return [
        Mistake(
            "a mode is counted as covered when it is the nearest mode of ANY sample, even one more than 3 std away: "
            "a sample far from every mode still 'covers' its nearest one.",
            "count only the nearest modes of HIGH-QUALITY samples: nearest[distance < 3 * std].unique().numel().",
            outputs(covered_by_any),
        ),
        Mistake(
            "the threshold is 3 * std**2 (3 variances), not 3 standard deviations: with std = 0.01 that is 0.0003, "
            "so almost no sample counts.",
            threshold_hint,
            outputs(variance),
        ),
        Mistake(
            "you compare the SQUARED distance with 3 * std: the threshold becomes sqrt(3 * std), 17 std for "
            "std = 0.01.",
            "compare the distance itself with 3 * std (or the squared distance with (3 * std) ** 2).",
            outputs(squared_vs_std),
        ),
        Mistake(
            "you compare the squared distance with 3 * std**2: that is a threshold of sqrt(3) = 1.7 std, not 3 std.",
            "square the whole threshold: distance**2 < (3 * std)**2, i.e. 9 * std**2.",
            outputs(sqrt3),
        ),
        Mistake("the threshold is 1 std, not 3.", threshold_hint, outputs(one_std)),
        Mistake(
            "you test each coordinate separately (|dx| < 3 std and |dy| < 3 std): that is a square box, whose corners "
            "are 4.2 std away; the protocol uses the Euclidean distance (a circle).",
            "use the Euclidean distance: (samples[:, None] - means[None]).norm(dim=2), or torch.cdist(samples, means).",
            outputs(box),
        ),
        Mistake(
            "the high-quality share counts every sample (it is 1): low-quality samples must be left out.",
            "high_quality_share = (distance < 3 * std).float().mean().",
            outputs(all_samples_counted),
        ),
        Mistake(
            "the high-quality share counts every sample whose nearest mode is covered, low-quality ones included.",
            "the share is the fraction of samples that are themselves within 3 std of their nearest mode.",
            outputs(share_of_covered),
        ),
        Mistake(
            "high_quality_share is a count of samples, not a share.",
            "divide by the number of samples: (distance < 3 * std).float().mean().",
            outputs(count_not_share),
        ),
        Mistake(
            "high_quality_share is a percentage (0..100); the package returns a fraction (0..1).",
            "leave out the * 100: return the fraction.",
            outputs(percent),
        ),
        Mistake(
            "modes_covered counts high-quality SAMPLES, not distinct modes.",
            "count distinct nearest modes: nearest[high_quality].unique().numel().",
            outputs(samples_not_modes),
        ),
        Mistake(
            "modes_covered is a fraction of the modes; the protocol reports their number (0..K).",
            "return the count of distinct modes, not divided by K.",
            outputs(share_of_modes),
        ),
    ]


def _number(value: Any, key: str) -> float:
    if (isinstance(value, torch.Tensor) and value.numel() == 1) or isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(
            f'result["{key}"] should be a number, got {describe(value)}.',
            "return plain numbers (int(...) and .item() turn 0-d tensors into numbers).",
        )
    return float(value)


def _mode_output(value: Any) -> torch.Tensor:
    """The learner's dict as a float64 tensor ``(2,)`` = (modes covered, high-quality share), or a failure."""
    keys = ("modes_covered", "high_quality_share")
    if not isinstance(value, dict):
        fail(
            f"your function should return a dict, got {describe(value)}.",
            'return {"modes_covered": ..., "high_quality_share": ...}.',
        )
    missing = [k for k in keys if k not in value]
    if missing:
        fail(
            f"your dict has no key {missing[0]!r} (it has {sorted(map(str, value))}).",
            'return {"modes_covered": ..., "high_quality_share": ...}.',
        )
    return torch.tensor([_number(value[k], k) for k in keys], dtype=torch.float64)


@exercise_check("mode_metrics")
def check_mode_metrics(fn: Callable[[torch.Tensor, torch.Tensor, float], dict]) -> str:
    """Check ``fn(samples (N, 2), means (K, 2), std) -> {"modes_covered": int, "high_quality_share": float}``."""
    cases = _mode_cases()
    got, expected = [], []
    for samples, means, std in cases:
        samples_in, means_in = samples.clone(), means.clone()
        context = f"called with samples {tuple(samples.shape)}, means {tuple(means.shape)} and std = {std}"
        out = _mode_output(call_learner(fn, samples_in, means_in, std, context=context))
        if not (torch.equal(samples_in, samples) and torch.equal(means_in, means)):
            fail(
                "your function changed its inputs in place: the caller's samples or means are now different.",
                "compute new tensors (samples - means[:, None]...) instead of updating the arguments.",
            )
        got.append(out)
        reference = mode_metrics(samples, means, std)
        expected.append(
            torch.tensor([reference["modes_covered"], reference["high_quality_share"]], dtype=torch.float64)
        )
    got_all, expected_all = torch.stack(got), torch.stack(expected)
    if not same_values(got_all, expected_all, rtol=1e-6, atol=1e-6):
        diagnose(got_all, _mode_mistakes(cases), rtol=1e-6, atol=1e-6)
        wrong = int((~torch.isclose(got_all, expected_all, rtol=1e-6, atol=1e-6)).any(dim=1).nonzero()[0])
        samples, means, std = cases[wrong]
        fail(
            f"on {len(samples)} samples around {len(means)} modes of std {std}, you return modes_covered = "
            f"{fmt(got_all[wrong, 0])} and high_quality_share = {fmt(got_all[wrong, 1])}, expected "
            f"{fmt(expected_all[wrong, 0])} and {fmt(expected_all[wrong, 1])}.",
            "for each sample find its nearest mean and the distance to it; high quality: distance < 3 * std; "
            "covered: the distinct nearest modes of the high-quality samples.",
        )
    hand = expected_all[0]
    return (
        f"matches the VEEGAN/PacGAN protocol: on the hand-made ring case {int(hand[0])} of 8 modes covered and "
        f"{hand[1]:.0%} high-quality samples (3.5-std points and box corners rejected), and on two random grid cases."
    )


# --------------------------------------------------------------------------------------------
# The Fréchet distance between two Gaussians


def _covariance(dim: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    """A random, well-conditioned symmetric positive definite ``(dim, dim)`` matrix, float64."""
    g = torch.Generator().manual_seed(seed)
    factor = torch.randn(dim, 2 * dim, generator=g, dtype=torch.float64)
    return scale * (factor @ factor.T / (2 * dim) + 0.1 * torch.eye(dim, dtype=torch.float64))


def _gaussian_cases() -> list[tuple[torch.Tensor, ...]]:
    """Pairs of Gaussians (mu1, S1, mu2, S2) with covariances that do not commute (S1 S2 != S2 S1)."""
    cases = []
    for seed, dim in ((1, 3), (2, 5), (3, 8)):
        g = torch.Generator().manual_seed(100 + seed)
        mu1 = torch.randn(dim, generator=g, dtype=torch.float64)
        mu2 = mu1 + 0.7 * torch.randn(dim, generator=g, dtype=torch.float64)
        cases.append((mu1, _covariance(dim, 10 * seed), mu2, _covariance(dim, 10 * seed + 1, scale=2.0)))
    return cases


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def _frechet_mistakes(cases: list) -> list[Mistake]:
    def outputs(formula: Callable[..., torch.Tensor | float]) -> torch.Tensor:
        with np.errstate(all="ignore"):
            return torch.tensor([float(formula(*case)) for case in cases], dtype=torch.float64)

    def mean_term(mu1, s1, mu2, s2):
        return ((mu1 - mu2) ** 2).sum()

    def trace_sqrt(s1, s2):
        return metrics.frechet_distance(torch.zeros(len(s1)), s1, torch.zeros(len(s1)), s2) - s1.trace() - s2.trace()

    def no_cross_term(mu1, s1, mu2, s2):
        return mean_term(mu1, s1, mu2, s2) + s1.trace() + s2.trace()

    def no_factor_two(mu1, s1, mu2, s2):
        return mean_term(mu1, s1, mu2, s2) + s1.trace() + s2.trace() + trace_sqrt(s1, s2) / 2

    def elementwise(mu1, s1, mu2, s2):
        return mean_term(mu1, s1, mu2, s2) + (s1 + s2 - 2 * (s1 * s2).sqrt()).diagonal().sum()

    def elementwise_of_product(mu1, s1, mu2, s2):
        return mean_term(mu1, s1, mu2, s2) + s1.trace() + s2.trace() - 2 * (s1 @ s2).diagonal().sqrt().sum()

    def product_of_roots(mu1, s1, mu2, s2):
        cross = (_psd_sqrt(s1) @ _psd_sqrt(s2)).trace()
        return mean_term(mu1, s1, mu2, s2) + s1.trace() + s2.trace() - 2 * cross

    def unsquared_mean(mu1, s1, mu2, s2):
        return (mu1 - mu2).norm() + s1.trace() + s2.trace() + trace_sqrt(s1, s2)

    def square_root(mu1, s1, mu2, s2):
        return math.sqrt(metrics.frechet_distance(mu1, s1, mu2, s2))

    def plus_cross(mu1, s1, mu2, s2):
        return mean_term(mu1, s1, mu2, s2) + s1.trace() + s2.trace() - trace_sqrt(s1, s2)

    formula_hint = "d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))."
    return [
        Mistake(
            "only the means are compared: the covariance term Tr(S1 + S2 - 2 (S1 S2)^(1/2)) is missing, so two "
            "Gaussians with the same mean but different spreads would be at distance 0.",
            formula_hint,
            outputs(mean_term),
        ),
        Mistake(
            "the cross term -2 Tr((S1 S2)^(1/2)) is missing: you add Tr(S1) + Tr(S2) only, so identical Gaussians are "
            "not at distance 0.",
            formula_hint,
            outputs(no_cross_term),
        ),
        Mistake(
            "the factor 2 in front of Tr((S1 S2)^(1/2)) is missing.",
            formula_hint + " For identical Gaussians Tr S1 + Tr S1 - 2 Tr S1 = 0.",
            outputs(no_factor_two),
        ),
        Mistake(
            "the square root is taken entry by entry, sqrt(S1 * S2): that is not a matrix square root, and it only "
            "agrees with (S1 S2)^(1/2) for diagonal covariances.",
            "take the MATRIX square root of S1 @ S2 (scipy.linalg.sqrtm, then .real), or sum the square roots of the "
            "eigenvalues of sqrt(S1) S2 sqrt(S1).",
            outputs(elementwise),
        ),
        Mistake(
            "you take the square root of the diagonal entries of S1 @ S2: Tr((S1 S2)^(1/2)) is the trace of the "
            "matrix square root, not the sum of the square roots of the diagonal.",
            "use a matrix square root (scipy.linalg.sqrtm(S1 @ S2).real.trace()) or the eigenvalues of the product.",
            outputs(elementwise_of_product),
        ),
        Mistake(
            "you use sqrt(S1) @ sqrt(S2) for (S1 S2)^(1/2): that is only equal when S1 and S2 commute, which "
            "covariances of real features do not.",
            "take the square root of the product itself: sqrtm(S1 @ S2), or of sqrt(S1) @ S2 @ sqrt(S1) "
            "(same trace, and symmetric).",
            outputs(product_of_roots),
        ),
        Mistake(
            "the mean term is ||mu1 - mu2||, not its square.",
            "use ((mu1 - mu2) ** 2).sum().",
            outputs(unsquared_mean),
        ),
        Mistake(
            "you return the square root of the result: FID and the package report d^2 itself (no outer square root).",
            "return ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) as it is.",
            outputs(square_root),
        ),
        Mistake("the cross term is added instead of subtracted.", formula_hint, outputs(plus_cross)),
    ]


def _distance_output(value: Any) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        if value.is_complex():
            fail(
                "your distance is a complex number: the matrix square root came back complex from rounding.",
                "keep the real part (scipy.linalg.sqrtm(...).real) before taking the trace.",
            )
        return float(value.item())
    if isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1:
        if np.iscomplexobj(value):
            fail(
                "your distance is a complex number: the matrix square root came back complex from rounding.",
                "keep the real part (scipy.linalg.sqrtm(...).real) before taking the trace.",
            )
        return float(np.asarray(value).item())
    if isinstance(value, complex):
        fail(
            "your distance is a complex number: the matrix square root came back complex from rounding.",
            "keep the real part (scipy.linalg.sqrtm(...).real) before taking the trace.",
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(
            f"your function should return one number, got {describe(value)}.",
            "sum everything into a single number: the squared mean difference plus the trace term.",
        )
    return float(value)


@exercise_check("frechet_distance")
def check_frechet_distance(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], float]) -> str:
    """Check ``fn(mu1 (D,), sigma1 (D, D), mu2 (D,), sigma2 (D, D)) -> d^2`` against ``metrics.frechet_distance``."""
    cases = _gaussian_cases()
    got = []
    for case in cases:
        context = f"called with means ({len(case[0])},) and covariances {tuple(case[1].shape)} (float64 tensors)"
        inputs = [x.clone() for x in case]
        got.append(_distance_output(call_learner(fn, *inputs, context=context)))
        if not all(torch.equal(a, b) for a, b in zip(inputs, case, strict=True)):
            fail(
                "your function changed its inputs in place.",
                "compute new tensors instead of updating mu1, sigma1, mu2 or sigma2.",
            )
    got_all = torch.tensor(got, dtype=torch.float64)
    expected = torch.tensor([metrics.frechet_distance(*case) for case in cases], dtype=torch.float64)
    if not same_values(got_all, expected, rtol=1e-5, atol=1e-6):
        if not torch.isfinite(got_all).all():
            fail(
                f"your distance is {fmt(got_all[~torch.isfinite(got_all)][0])} on ordinary Gaussians: a square root "
                "of a negative number (entry by entry?) or of a matrix with negative eigenvalues.",
                "use a matrix square root of S1 @ S2, or the eigenvalues of sqrt(S1) S2 sqrt(S1), clamped at 0.",
            )
        diagnose(got_all, _frechet_mistakes(cases), rtol=1e-5, atol=1e-6)
        fail(
            f"your distances are {fmt(got_all)}, expected {fmt(expected)} (dimensions 3, 5 and 8).",
            "d^2 = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)), with a MATRIX square root.",
        )
    mu, sigma = cases[2][0], cases[2][1]
    same = _distance_output(
        call_learner(
            fn, mu.clone(), sigma.clone(), mu.clone(), sigma.clone(), context="called with two identical Gaussians"
        )
    )
    if abs(same) > 1e-6:
        fail(
            f"two identical Gaussians are at distance {same:.3g}, not 0.",
            "check the trace term: Tr(S + S - 2 (S S)^(1/2)) = 2 Tr S - 2 Tr S = 0.",
        )
    return f"matches ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) in dimensions 3, 5 and 8 (e.g. {expected[0]:.4f})."
