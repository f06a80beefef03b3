"""The evaluation checks (notebooks 08 and 10): right answers pass, and each usual mistake is named.

Each mistake is a small function written the way a learner would get the metric wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from check_runner import assert_rejected, run

from gannotes import metrics
from gannotes.checks import evaluation
from gannotes.checks.core import WrongVersion
from gannotes.checks.evaluation import check_frechet_distance, check_mode_metrics, mode_metrics
from gannotes.mixtures import ring_of_gaussians

# ----------------------------------------------------------------------------------------------
# mode_metrics: right answers


def with_cdist(samples, means, std):
    distance, nearest = torch.cdist(samples, means).min(dim=1)
    good = distance < 3 * std
    return {"modes_covered": int(nearest[good].unique().numel()), "high_quality_share": good.float().mean().item()}


def with_loops(samples, means, std):
    covered, good = set(), 0
    for point in samples.tolist():
        distances = [math.dist(point, mean) for mean in means.tolist()]
        best = min(range(len(distances)), key=distances.__getitem__)
        if distances[best] < 3 * std:
            covered.add(best)
            good += 1
    return {"modes_covered": len(covered), "high_quality_share": good / len(samples)}


def with_tensors_returned(samples, means, std):
    distance, nearest = torch.cdist(samples, means).min(dim=1)
    good = distance**2 < 9 * std**2
    return {"modes_covered": nearest[good].unique().numel(), "high_quality_share": good.float().mean()}


@pytest.mark.parametrize("fn", [mode_metrics, with_cdist, with_loops, with_tensors_returned], ids=lambda f: f.__name__)
def test_mode_metrics_right_answers_pass(fn: Callable, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_mode_metrics, fn, capsys)
    assert passed, out
    assert out.startswith("✅ mode_metrics passed: ")


def test_reference_matches_the_package() -> None:
    ring = ring_of_gaussians()
    samples = ring.sample(500, generator=torch.Generator().manual_seed(0))
    assert mode_metrics(samples, ring.means, ring.std) == metrics.mode_metrics(samples, ring)


def test_mode_metrics_not_implemented_is_pending(capsys: pytest.CaptureFixture[str]) -> None:
    def stub(samples, means, std):
        raise NotImplementedError("Exercise: mode_metrics")

    passed, out = run(check_mode_metrics, stub, capsys)
    assert not passed and out.startswith("⏳ mode_metrics pending: not implemented yet")


# ----------------------------------------------------------------------------------------------
# mode_metrics: the usual mistakes


def _nearest(samples, means):
    return torch.cdist(samples, means).min(dim=1)


def covered_by_far_samples(samples, means, std):
    distance, nearest = _nearest(samples, means)
    return {"modes_covered": nearest.unique().numel(), "high_quality_share": (distance < 3 * std).float().mean().item()}


def variance_threshold(samples, means, std):
    distance, nearest = _nearest(samples, means)
    good = distance < 3 * std**2
    return {"modes_covered": nearest[good].unique().numel(), "high_quality_share": good.float().mean().item()}


def squared_distance_vs_std(samples, means, std):
    distance, nearest = _nearest(samples, means)
    good = distance**2 < 3 * std
    return {"modes_covered": nearest[good].unique().numel(), "high_quality_share": good.float().mean().item()}


def sqrt3_threshold(samples, means, std):
    distance, nearest = _nearest(samples, means)
    good = distance**2 < 3 * std**2
    return {"modes_covered": nearest[good].unique().numel(), "high_quality_share": good.float().mean().item()}


def per_coordinate_box(samples, means, std):
    inside = ((samples[:, None, :] - means[None]).abs() < 3 * std).all(dim=2)
    return {
        "modes_covered": int(inside.any(dim=0).sum()),
        "high_quality_share": inside.any(dim=1).float().mean().item(),
    }


def counts_low_quality_samples(samples, means, std):
    distance, nearest = _nearest(samples, means)
    good = distance < 3 * std
    return {"modes_covered": nearest[good].unique().numel(), "high_quality_share": 1.0}


def share_of_samples_at_covered_modes(samples, means, std):
    distance, nearest = _nearest(samples, means)
    covered = nearest[distance < 3 * std].unique()
    return {"modes_covered": covered.numel(), "high_quality_share": torch.isin(nearest, covered).float().mean().item()}


def count_instead_of_share(samples, means, std):
    distance, nearest = _nearest(samples, means)
    good = distance < 3 * std
    return {"modes_covered": nearest[good].unique().numel(), "high_quality_share": int(good.sum())}


def percentage(samples, means, std):
    distance, nearest = _nearest(samples, means)
    good = distance < 3 * std
    return {"modes_covered": nearest[good].unique().numel(), "high_quality_share": 100 * good.float().mean().item()}


def counts_samples_not_modes(samples, means, std):
    distance, _ = _nearest(samples, means)
    good = distance < 3 * std
    return {"modes_covered": int(good.sum()), "high_quality_share": good.float().mean().item()}


def returns_a_tuple(samples, means, std):
    result = mode_metrics(samples, means, std)
    return result["modes_covered"], result["high_quality_share"]


def wrong_key(samples, means, std):
    result = mode_metrics(samples, means, std)
    return {"modes": result["modes_covered"], "high_quality_share": result["high_quality_share"]}


def in_place(samples, means, std):
    samples -= 0  # harmless
    means += 0.5
    return mode_metrics(samples, means - 0.5, std)


def sub_one_std(samples, means, std):
    distance, nearest = _nearest(samples, means)
    good = distance < std
    return {"modes_covered": nearest[good].unique().numel(), "high_quality_share": good.float().mean().item()}


MODE_MISTAKES = [
    (covered_by_far_samples, "even one more than 3 std away"),
    (variance_threshold, "3 * std**2 (3 variances)"),
    (squared_distance_vs_std, "SQUARED distance with 3 * std"),
    (sqrt3_threshold, "sqrt(3) = 1.7 std"),
    (per_coordinate_box, "each coordinate separately"),
    (counts_low_quality_samples, "counts every sample (it is 1)"),
    (share_of_samples_at_covered_modes, "whose nearest mode is covered"),
    (count_instead_of_share, "a count of samples, not a share"),
    (percentage, "percentage"),
    (counts_samples_not_modes, "counts high-quality SAMPLES"),
    (returns_a_tuple, "should return a dict, got tuple"),
    (wrong_key, "no key 'modes_covered'"),
    (in_place, "in place"),
    (sub_one_std, "1 std, not 3"),
]


@pytest.mark.parametrize(("mistake", "diagnosis"), MODE_MISTAKES, ids=[f.__name__ for f, _ in MODE_MISTAKES])
def test_mode_metrics_mistake_is_diagnosed(mistake: Callable, diagnosis: str, capsys: pytest.CaptureFixture) -> None:
    passed, out = run(check_mode_metrics, mistake, capsys)
    assert_rejected(passed, out, diagnosis, name="mode_metrics")


# ----------------------------------------------------------------------------------------------
# frechet_distance: right answers


def with_scipy(mu1, sigma1, mu2, sigma2):
    """FID's usual code (scipy is not a dependency of the package: this one is tested only where it is installed)."""
    import scipy.linalg

    covmean = scipy.linalg.sqrtm(sigma1.numpy() @ sigma2.numpy()).real
    return float(((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * np.trace(covmean))


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def with_eigenvalues(mu1, sigma1, mu2, sigma2):
    eigenvalues = torch.linalg.eigvals(sigma1 @ sigma2).real.clamp(min=0)
    return (mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * eigenvalues.sqrt().sum()


def with_numpy(mu1, sigma1, mu2, sigma2):
    s1, s2 = sigma1.numpy(), sigma2.numpy()
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(w.clip(min=0))) @ v.T
    middle = np.linalg.eigvalsh(root @ s2 @ root).clip(min=0)
    return np.sum((mu1.numpy() - mu2.numpy()) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(middle).sum()


@pytest.mark.parametrize("fn", [metrics.frechet_distance, with_eigenvalues, with_numpy], ids=lambda f: f.__name__)
def test_frechet_right_answers_pass(fn: Callable, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_frechet_distance, fn, capsys)
    assert passed, out
    assert out.startswith("✅ frechet_distance passed: ")


def test_frechet_with_scipy_passes(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("scipy")
    passed, out = run(check_frechet_distance, with_scipy, capsys)
    assert passed, out


def test_frechet_not_implemented_is_pending(capsys: pytest.CaptureFixture[str]) -> None:
    def stub(mu1, sigma1, mu2, sigma2):
        raise NotImplementedError("Exercise: frechet_distance")

    passed, out = run(check_frechet_distance, stub, capsys)
    assert not passed and out.startswith("⏳ frechet_distance pending: not implemented yet")


# ----------------------------------------------------------------------------------------------
# frechet_distance: the usual mistakes


def _trace_sqrt(s1, s2):
    return torch.linalg.eigvals(s1 @ s2).real.clamp(min=0).sqrt().sum()


def means_only(mu1, sigma1, mu2, sigma2):
    return ((mu1 - mu2) ** 2).sum().item()


def no_cross_term(mu1, sigma1, mu2, sigma2):
    return (((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace()).item()


def no_factor_two(mu1, sigma1, mu2, sigma2):
    return (((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - _trace_sqrt(sigma1, sigma2)).item()


def elementwise_sqrt(mu1, sigma1, mu2, sigma2):
    return (((mu1 - mu2) ** 2).sum() + torch.trace(sigma1 + sigma2 - 2 * torch.sqrt(sigma1 * sigma2))).item()


def elementwise_sqrt_of_product(mu1, sigma1, mu2, sigma2):
    covmean = torch.sqrt(sigma1 @ sigma2)  # NaN off the diagonal where the product is negative
    return (((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * covmean.trace()).item()


def product_of_roots(mu1, sigma1, mu2, sigma2):
    cross = (_sqrt_psd(sigma1) @ _sqrt_psd(sigma2)).trace()
    return (((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * cross).item()


def norm_not_squared(mu1, sigma1, mu2, sigma2):
    return ((mu1 - mu2).norm() + sigma1.trace() + sigma2.trace() - 2 * _trace_sqrt(sigma1, sigma2)).item()


def square_root_of_result(mu1, sigma1, mu2, sigma2):
    return math.sqrt(metrics.frechet_distance(mu1, sigma1, mu2, sigma2))


def complex_result(mu1, sigma1, mu2, sigma2):
    eigenvalues = np.linalg.eigvals(sigma1.numpy() @ sigma2.numpy()).astype(complex)  # what sqrtm often returns
    return (
        ((mu1 - mu2) ** 2).sum().item() + sigma1.trace().item() + sigma2.trace().item() - 2 * np.sqrt(eigenvalues).sum()
    )


def returns_a_vector(mu1, sigma1, mu2, sigma2):
    return (mu1 - mu2) ** 2


FRECHET_MISTAKES = [
    (means_only, "only the means are compared"),
    (no_cross_term, "cross term -2 Tr((S1 S2)^(1/2)) is missing"),
    (no_factor_two, "factor 2"),
    (elementwise_sqrt, "entry by entry"),
    (elementwise_sqrt_of_product, "square root of the diagonal entries"),
    (product_of_roots, "sqrt(S1) @ sqrt(S2)"),
    (norm_not_squared, "not its square"),
    (square_root_of_result, "square root of the result"),
    (complex_result, "complex"),
    (returns_a_vector, "one number"),
]


@pytest.mark.parametrize(("mistake", "diagnosis"), FRECHET_MISTAKES, ids=[f.__name__ for f, _ in FRECHET_MISTAKES])
def test_frechet_mistake_is_diagnosed(mistake: Callable, diagnosis: str, capsys: pytest.CaptureFixture) -> None:
    passed, out = run(check_frechet_distance, mistake, capsys)
    assert_rejected(passed, out, diagnosis, name="frechet_distance")


# ----------------------------------------------------------------------------------------------
# The checks' own tables: each wrong version is rejected with its own message (none hides another)

TABLES = [(check_mode_metrics, wrong) for wrong in evaluation.MODE_MISTAKES] + [
    (check_frechet_distance, wrong) for wrong in evaluation.FRECHET_MISTAKES
]


@pytest.mark.parametrize(("check", "wrong"), TABLES, ids=[w.problem[:40] for _, w in TABLES])
def test_each_wrong_version_in_the_tables_gets_its_message(
    check: Callable, wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(check, wrong.fn, capsys)
    assert_rejected(passed, out, wrong.problem, wrong.hint)
