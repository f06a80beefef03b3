"""The evaluation checks (notebooks 08 and 10): right answers pass, and each usual mistake is named.

Each mistake is a small function written the way a learner would get the metric wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from check_runner import assert_rejected, run

from gannotes import metrics
from gannotes.checks import evaluation
from gannotes.checks.core import WrongVersion
from gannotes.checks.evaluation import check_mode_metrics, mode_metrics
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
# The checks' own tables: each wrong version is rejected with its own message (none hides another)

TABLES = [(check_mode_metrics, wrong) for wrong in evaluation.MODE_MISTAKES]


@pytest.mark.parametrize(("check", "wrong"), TABLES, ids=[w.problem[:40] for _, w in TABLES])
def test_each_wrong_version_in_the_tables_gets_its_message(
    check: Callable, wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(check, wrong.fn, capsys)
    assert_rejected(passed, out, wrong.problem, wrong.hint)
