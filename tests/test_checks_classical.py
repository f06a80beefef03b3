"""The classical-models check (notebook 01): the reference passes, and each usual mistake is named.

Each mistake is a small function written the way a learner would get Bayes' rule wrong.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from check_runner import assert_rejected
from check_runner import run as run_check

from gannotes.checks.classical import WRONG_VERSIONS, check_log_posterior, log_posterior
from gannotes.checks.core import WrongVersion


def run(fn, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    return run_check(check_log_posterior, fn, capsys)


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1, keepdims=True)
    return m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))


# ----------------------------------------------------------------------------------------------
# Right answers, written different ways


def with_torch(log_likelihood, log_prior):
    joint = torch.from_numpy(log_likelihood) + torch.from_numpy(log_prior)
    return joint - torch.logsumexp(joint, dim=1, keepdim=True)


def with_float32(log_likelihood, log_prior):
    joint = (log_likelihood + log_prior).astype(np.float32)
    return joint - logsumexp_rows(joint)


@pytest.mark.parametrize("fn", [log_posterior, with_torch, with_float32], ids=lambda f: f.__name__)
def test_right_answers_pass(fn: Callable, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(fn, capsys)
    assert passed, out
    assert out.startswith("✅ log_posterior passed: ")


def test_reference_is_normalised_and_exact_on_extreme_inputs() -> None:
    log_likelihood = np.array([[-1000.0, -1000.0 - np.log(3.0)], [800.0, 800.0]])
    result = log_posterior(log_likelihood, np.log([0.5, 0.5]))
    np.testing.assert_allclose(np.exp(result).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(result[0]), [0.75, 0.25])
    np.testing.assert_allclose(np.exp(result[1]), [0.5, 0.5])


def test_not_implemented_is_pending(capsys: pytest.CaptureFixture[str]) -> None:
    def stub(log_likelihood, log_prior):
        raise NotImplementedError("Exercise: write this function")

    passed, out = run(stub, capsys)
    assert not passed
    assert out == "⏳ log_posterior pending: not implemented yet — the notebook will use the reference for now."


def test_exception_in_learner_code_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    def broken(log_likelihood, log_prior):
        raise ValueError("boom in the learner's code")

    passed, out = run(broken, capsys)
    assert not passed
    assert out.startswith("❌ log_posterior failed: ") and "boom in the learner's code" in out and "Hint:" in out


def test_check_leaves_random_state_alone(capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(5)  # noqa: NPY002 - the legacy global generator is what a notebook's seed_everything sets
    torch.manual_seed(5)
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state()  # noqa: NPY002
    assert check_log_posterior(log_posterior)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)
    capsys.readouterr()


# ----------------------------------------------------------------------------------------------
# The usual mistakes


def no_prior(ll, lp):
    return ll - logsumexp_rows(ll)


def prior_subtracted(ll, lp):
    a = ll - lp
    return a - logsumexp_rows(a)


def prior_as_probability(ll, lp):
    a = ll + np.exp(lp)
    return a - logsumexp_rows(a)


def not_normalised(ll, lp):
    return ll + lp


def only_max_shift(ll, lp):
    a = ll + lp
    return a - a.max(axis=1, keepdims=True)


def max_not_added_back(ll, lp):
    a = ll + lp
    m = a.max(axis=1, keepdims=True)
    return a - np.log(np.exp(a - m).sum(axis=1, keepdims=True))


def returns_probabilities(ll, lp):
    return np.exp(log_posterior(ll, lp))


def wrong_axis(ll, lp):
    a = ll + lp
    m = a.max(axis=0, keepdims=True)
    return a - (m + np.log(np.exp(a - m).sum(axis=0, keepdims=True)))


def prior_after_normalising(ll, lp):
    return ll - logsumexp_rows(ll) + lp


def probability_space(ll, lp):
    p = np.exp(ll) * np.exp(lp)
    return np.log(p / p.sum(axis=1, keepdims=True))


def probability_space_with_epsilon(ll, lp):
    p = np.exp(ll + lp)
    return np.log((p + 1e-300) / (p.sum(axis=1, keepdims=True) + 1e-300))


def probability_space_clipped(ll, lp):
    p = np.exp(np.clip(ll + lp, -700, 700))
    return np.log(p / p.sum(axis=1, keepdims=True))


def in_place(ll, lp):
    ll += lp
    return ll - logsumexp_rows(ll)


def reduced_to_the_evidence(ll, lp):
    return logsumexp_rows(ll + lp)


def torch_on_numpy(ll, lp):
    joint = ll + lp
    return joint - torch.logsumexp(joint, dim=1, keepdim=True)


def returns_a_list(ll, lp):
    return log_posterior(ll, lp).tolist()


MISTAKES = [
    (no_prior, "the prior is missing"),
    (prior_subtracted, "subtracted instead of added"),
    (prior_as_probability, "as a probability"),
    (not_normalised, "not normalised"),
    (only_max_shift, "only the stabilising shift"),
    (max_not_added_back, "not added back"),
    (returns_probabilities, "probabilities p(y | x), not their logs"),
    (wrong_axis, "over the images (axis 0)"),
    (prior_after_normalising, "prior added after"),
    (probability_space, "numerically unstable"),
    (probability_space_with_epsilon, "numerically unstable"),
    (probability_space_clipped, "not exact for large log-likelihoods"),
    (in_place, "in place"),
    (reduced_to_the_evidence, "summed or maxed away"),
    (torch_on_numpy, "NumPy arrays"),
    (returns_a_list, "got list"),
]


@pytest.mark.parametrize(("mistake", "diagnosis"), MISTAKES, ids=[f.__name__ for f, _ in MISTAKES])
def test_mistake_is_diagnosed(mistake: Callable, diagnosis: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(mistake, capsys)
    assert_rejected(passed, out, diagnosis, name="log_posterior")


@pytest.mark.parametrize("wrong", WRONG_VERSIONS, ids=[w.problem[:40] for w in WRONG_VERSIONS])
def test_each_wrong_version_of_the_table_gets_its_own_message(
    wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(wrong.fn, capsys)
    assert_rejected(passed, out, wrong.problem, wrong.hint)
