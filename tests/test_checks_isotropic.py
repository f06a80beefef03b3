"""The isotropic Fréchet distance check (notebook 10): right answers pass, and each slip in the derivation is named.

Each mistake below is written the way a learner would get the derivation wrong; the table's own wrong versions are
each proved to be rejected with their own message.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from check_runner import assert_rejected
from check_runner import run as run_check

from gannotes import metrics
from gannotes.checks import check_isotropic_frechet_distance
from gannotes.checks.core import WrongVersion
from gannotes.checks.isotropic import WRONG_VERSIONS, isotropic_frechet_distance


def run(fn, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    return run_check(check_isotropic_frechet_distance, fn, capsys)


# ----------------------------------------------------------------------------------------------
# Right answers


def as_tensor(mu1, s1, mu2, s2):
    return ((mu1 - mu2) ** 2).sum() + len(mu1) * (s1 - s2) ** 2


def expanded(mu1, s1, mu2, s2):
    dim = mu1.shape[0]
    return float(torch.dot(mu1 - mu2, mu1 - mu2) + dim * s1**2 + dim * s2**2 - 2 * dim * s1 * s2)


def with_numpy(mu1, s1, mu2, s2):
    a, b = mu1.numpy(), mu2.numpy()
    return np.sum((a - b) ** 2) + a.size * (s1 - s2) ** 2


def general_formula(mu1, s1, mu2, s2):
    eye = torch.eye(len(mu1), dtype=torch.float64)
    return metrics.frechet_distance(mu1, s1**2 * eye, mu2, s2**2 * eye)


@pytest.mark.parametrize(
    "fn",
    [isotropic_frechet_distance, as_tensor, expanded, with_numpy, general_formula],
    ids=lambda f: f.__name__,
)
def test_right_answers_pass(fn, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(fn, capsys)
    assert passed, out
    assert out.startswith("✅ isotropic_frechet_distance passed: ")


def test_reference_agrees_with_the_general_formula() -> None:
    g = torch.Generator().manual_seed(0)
    for dim in (1, 4, 128):
        mu1, mu2 = torch.randn(2, dim, generator=g, dtype=torch.float64)
        eye = torch.eye(dim, dtype=torch.float64)
        general = metrics.frechet_distance(mu1, 0.7**2 * eye, mu2, 1.9**2 * eye)
        assert math.isclose(isotropic_frechet_distance(mu1, 0.7, mu2, 1.9), general, rel_tol=1e-9)


def test_not_implemented_is_pending(capsys: pytest.CaptureFixture[str]) -> None:
    def stub(mu1, s1, mu2, s2):
        raise NotImplementedError("Exercise: isotropic_frechet_distance")

    passed, out = run(stub, capsys)
    assert not passed and out.startswith("⏳ isotropic_frechet_distance pending: not implemented yet")


def test_not_a_function(capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(3.0, capsys)
    assert not passed and "expected a function" in out


# ----------------------------------------------------------------------------------------------
# The usual slips, written as a learner would


def no_dimension(mu1, s1, mu2, s2):
    return float(((mu1 - mu2) ** 2).sum() + (s1 - s2) ** 2)


def variances(mu1, s1, mu2, s2):
    return float(((mu1 - mu2) ** 2).sum() + len(mu1) * (s1**2 - s2**2) ** 2)


def forgot_root(mu1, s1, mu2, s2):
    dim = len(mu1)
    return float(((mu1 - mu2) ** 2).sum() + dim * (s1**2 + s2**2) - 2 * dim * s1**2 * s2**2)


def forgot_two(mu1, s1, mu2, s2):
    dim = len(mu1)
    return float(((mu1 - mu2) ** 2).sum() + dim * (s1**2 + s2**2 - s1 * s2))


def plus(mu1, s1, mu2, s2):
    return float(((mu1 - mu2) ** 2).sum() + len(mu1) * (s1 + s2) ** 2)


def norm_not_squared(mu1, s1, mu2, s2):
    return float((mu1 - mu2).norm() + len(mu1) * (s1 - s2) ** 2)


def mean_over_dimensions(mu1, s1, mu2, s2):
    return float(((mu1 - mu2) ** 2).mean() + len(mu1) * (s1 - s2) ** 2)


def square_root(mu1, s1, mu2, s2):
    return math.sqrt(((mu1 - mu2) ** 2).sum() + len(mu1) * (s1 - s2) ** 2)


def per_dimension(mu1, s1, mu2, s2):
    return (mu1 - mu2) ** 2 + (s1 - s2) ** 2


def means_only(mu1, s1, mu2, s2):
    return float(((mu1 - mu2) ** 2).sum())


def in_place(mu1, s1, mu2, s2):
    mu1 -= mu2
    return float((mu1**2).sum() + len(mu1) * (s1 - s2) ** 2)


def returns_a_string(mu1, s1, mu2, s2):
    return f"{isotropic_frechet_distance(mu1, s1, mu2, s2):.3f}"


def raises(mu1, s1, mu2, s2):
    return (mu1 - mu2).sum(dim=1)


MISTAKES = [
    (no_dimension, "no factor D"),
    (variances, "you used the variances"),
    (forgot_root, "the square root is missing"),
    (forgot_two, "the factor 2 of the cross term is missing"),
    (plus, "the cross term is added"),
    (norm_not_squared, "not its square"),
    (mean_over_dimensions, "averages (mu1 - mu2)^2 over the dimensions"),
    (square_root, "you return d, the square root"),
    (per_dimension, "one number per dimension"),
    (means_only, "the spread term is missing"),
    (in_place, "changed mu1 in place"),
    (returns_a_string, "does not do what the exercise asks"),
    (raises, "your function raised IndexError"),
]


@pytest.mark.parametrize(("mistake", "diagnosis"), MISTAKES, ids=[m.__name__ for m, _ in MISTAKES])
def test_mistake_is_diagnosed(mistake, diagnosis: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(mistake, capsys)
    assert_rejected(passed, out, diagnosis, name="isotropic_frechet_distance")


@pytest.mark.parametrize("wrong", WRONG_VERSIONS, ids=[w.problem[:40] for w in WRONG_VERSIONS])
def test_each_wrong_version_of_the_table_gets_its_own_message(
    wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(wrong.fn, capsys)
    assert_rejected(passed, out, wrong.problem, wrong.hint)


def test_the_wrong_versions_are_told_apart() -> None:
    """Every wrong version gives other numbers than the reference and than every other wrong version."""
    from gannotes.checks.core import same_observation, seeded
    from gannotes.checks.isotropic import _observe

    def seen(fn):
        with seeded(0):
            return _observe(fn)

    observations = [seen(isotropic_frechet_distance)] + [seen(w.fn) for w in WRONG_VERSIONS]
    for i, a in enumerate(observations):
        for b in observations[i + 1 :]:
            assert not same_observation(a, b)
