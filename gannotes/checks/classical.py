"""Checks for the classical-models exercise (01): a generative classifier's posterior by Bayes' rule.

The learner's function works on NumPy arrays, like notebook 01: ``log_posterior(log_likelihood (N, K),
log_prior (K,)) -> (N, K)``, the log of ``p(y = k | x_n)``. The check compares it with the reference on
three random batches of log-likelihoods of the size a Gaussian per class gives 8x8 digits, names the
usual mistake the values match (the prior forgotten, no normalisation, the max-shift of log-sum-exp
half done, probabilities returned, the wrong axis...), then feeds it log-likelihoods of the size
MNIST's 784 pixels give (thousands of nats, and large positive ones), where normalising in probability
space underflows or overflows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .core import ErrorHint, Mistake, call_learner, describe, diagnose, exercise_check, fail, fmt, same_values

NUM_IMAGES, NUM_CLASSES = 6, 4
#: A prior far from uniform, so that forgetting it changes every posterior.
PRIOR = np.array([0.1, 0.2, 0.3, 0.4])
#: Log-likelihoods like MNIST's: exp() of these is exactly 0 (rows 0-1) or inf (row 2) in float64.
EXTREME_LOG_LIKELIHOOD = np.array(
    [
        [-1000.0, -1001.0, -1005.0, -1010.0],
        [-3000.0, -2990.0, -2995.0, -3010.0],
        [750.0, 748.0, 700.0, 745.0],
        [-12.0, -10.0, -11.0, -15.0],
    ]
)

NUMPY_INPUT_ERRORS = (
    ErrorHint(
        "must be Tensor",
        "a torch function was given NumPy arrays: log_likelihood and log_prior are NumPy arrays here.",
        "use NumPy (np.max, np.exp, np.log, .sum(axis=1, keepdims=True)), or convert with torch.from_numpy first.",
    ),
    ErrorHint(
        "could not be broadcast",
        "the shapes do not broadcast: log_likelihood is (N, K) and log_prior is (K,).",
        "log_likelihood + log_prior adds the prior to every row; reduce over the classes with axis=1, "
        "keepdims=True so that the (N, 1) result broadcasts back against (N, K).",
    ),
)
LOG_SUM_EXP_HINT = (
    "stay in log space: with a = log_likelihood + log_prior and m = a.max(axis=1, keepdims=True), "
    "return a - (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))."
)


def log_posterior(log_likelihood: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """The reference: ``ln p(y = k | x_n)`` from ``ln p(x_n | y = k)`` ``(N, K)`` and ``ln p(y = k)`` ``(K,)``.

    Bayes' rule in log space, normalised over the classes with a stable log-sum-exp.
    """
    joint = np.asarray(log_likelihood, dtype=np.float64) + np.asarray(log_prior, dtype=np.float64)
    m = joint.max(axis=1, keepdims=True)
    return joint - (m + np.log(np.exp(joint - m).sum(axis=1, keepdims=True)))


def _normalise(a: np.ndarray, axis: int = 1) -> np.ndarray:
    """``a`` minus its stable log-sum-exp along ``axis``."""
    m = a.max(axis=axis, keepdims=True)
    return a - (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True)))


def _forget_max(a: np.ndarray) -> np.ndarray:
    """``a`` minus the log of the shifted sum, without adding the shift ``m`` back (a half-done log-sum-exp)."""
    return a - np.log(np.exp(a - a.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))


def _cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Three batches of log-likelihoods spread like a diagonal Gaussian's on 8x8 digits (tens of nats)."""
    rng = np.random.default_rng(1000)
    log_prior = np.log(PRIOR)
    return [(rng.normal(-60.0, 6.0, size=(NUM_IMAGES, NUM_CLASSES)), log_prior) for _ in range(3)]


def _stack(formula: Callable[[np.ndarray, np.ndarray], np.ndarray], cases: list) -> torch.Tensor:
    with np.errstate(all="ignore"):
        return torch.stack([torch.as_tensor(formula(ll, lp), dtype=torch.float64) for ll, lp in cases])


def _output(value: object, shape: tuple[int, int]) -> torch.Tensor:
    """The learner's result as a float64 tensor of ``shape``, or a failure saying what came back instead."""
    if isinstance(value, torch.Tensor):
        out = value.detach().cpu().double()
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        out = torch.from_numpy(value.astype(np.float64))
    else:
        fail(
            f"your function should return an array of shape {shape}, got {describe(value)}.",
            "return the (N, K) array of log posteriors (a NumPy array, or a torch tensor).",
        )
    if tuple(out.shape) != shape:
        reduced = out.dim() < 2 or tuple(out.shape) in {(shape[0], 1), (shape[0],)}
        fail(
            f"your result has shape {tuple(out.shape)}, expected {shape}: one log posterior per image and class"
            + (" (the classes were summed or maxed away)." if reduced else "."),
            "keep every class: normalise each row by subtracting its log-sum-exp, computed with keepdims=True.",
        )
    return out


def _values(fn: Callable, cases: list, context: str) -> tuple[torch.Tensor, bool]:
    """The learner's outputs on every case ``(cases, N, K)``, and whether it left its inputs untouched."""
    outs, untouched = [], True
    for ll, lp in cases:
        ll_in, lp_in = ll.copy(), lp.copy()
        with np.errstate(all="ignore"):  # naive versions warn on exp overflow or 0/0: the check reports it
            out = call_learner(fn, ll_in, lp_in, context=context, hints=NUMPY_INPUT_ERRORS)
        outs.append(_output(out, ll.shape))
        untouched &= np.array_equal(ll_in, ll) and np.array_equal(lp_in, lp)
    return torch.stack(outs), untouched


def _mistakes(cases: list) -> list[Mistake]:
    def m(problem: str, hint: str, formula: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Mistake:
        return Mistake(problem, hint, _stack(formula, cases))

    return [
        m(
            "the prior is missing: your posterior normalises the likelihoods alone, as if every class were "
            "equally common.",
            "Bayes' rule multiplies by the prior: add log_prior to log_likelihood before normalising.",
            lambda ll, lp: _normalise(ll),
        ),
        m(
            "the prior is subtracted instead of added: p(x | y) p(y) is a product, so its log is a sum.",
            "a = log_likelihood + log_prior.",
            lambda ll, lp: _normalise(ll - lp),
        ),
        m(
            "the prior was added as a probability, not as a log-probability.",
            "log_prior is already ln p(y); add it as it is: a = log_likelihood + log_prior.",
            lambda ll, lp: _normalise(ll + np.exp(lp)),
        ),
        m(
            "not normalised: you return ln p(x | y) + ln p(y), the log joint; its exponentials do not sum to 1 "
            "over the classes.",
            "divide by the evidence p(x) = sum over k of p(x | k) p(k): in log space, subtract the row's log-sum-exp.",
            lambda ll, lp: ll + lp,
        ),
        m(
            "only the stabilising shift: you subtract each row's maximum, which makes the largest log posterior "
            "0, but the row is not normalised.",
            "after the shift, also subtract np.log(np.exp(a - m).sum(axis=1, keepdims=True)).",
            lambda ll, lp: (ll + lp) - (ll + lp).max(axis=1, keepdims=True),
        ),
        m(
            "the maximum is not added back: log-sum-exp(a) = m + ln sum exp(a - m), and your version leaves out m.",
            "subtract m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)), not just the log of the sum.",
            lambda ll, lp: _forget_max(ll + lp),
        ),
        m(
            "you return probabilities p(y | x), not their logs.",
            "return the log posterior itself; take np.exp only where you need probabilities.",
            lambda ll, lp: np.exp(_normalise(ll + lp)),
        ),
        m(
            "normalised over the images (axis 0) instead of over the classes: each column sums to 1, not each row.",
            "reduce with axis=1 (the classes), keepdims=True.",
            lambda ll, lp: _normalise(ll + lp, axis=0),
        ),
        m(
            "the likelihoods are normalised first and the prior added after: the result is not normalised.",
            "add the prior first, then normalise: a = log_likelihood + log_prior, then subtract its log-sum-exp.",
            lambda ll, lp: _normalise(ll) + lp,
        ),
    ]


@exercise_check("log_posterior")
def check_log_posterior(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> str:
    """Check ``fn(log_likelihood (N, K), log_prior (K,)) -> (N, K)`` = ``ln p(y = k | x_n)``, stable in log space."""
    context = (
        f"called with a NumPy log_likelihood of shape ({NUM_IMAGES}, {NUM_CLASSES}) and log_prior ({NUM_CLASSES},)"
    )
    cases = _cases()
    got, untouched = _values(fn, cases, context)
    expected = _stack(log_posterior, cases)
    if not untouched:
        fail(
            "your function changed its input arrays in place (e.g. log_likelihood += log_prior): the caller's "
            "log-likelihoods are now wrong too.",
            "build new arrays, a = log_likelihood + log_prior, instead of updating the arguments.",
        )
    if not same_values(got, expected, rtol=1e-5, atol=1e-4):  # float32 work passes
        if not torch.isfinite(got).all():
            fail(
                f"your result contains {fmt(got[~torch.isfinite(got)][0])} on ordinary log-likelihoods (around -60).",
                LOG_SUM_EXP_HINT,
            )
        diagnose(got, _mistakes(cases), rtol=1e-5, atol=1e-4)
        rows = got.exp().sum(dim=2)
        normalised = bool(torch.allclose(rows, torch.ones_like(rows), atol=1e-6))
        fail(
            f"your log posteriors are {fmt(got[0, 0])} for the first image, expected {fmt(expected[0, 0])}"
            + ("" if normalised else f"; and their exponentials sum to {fmt(rows[0, 0])}, not 1, over the classes")
            + ".",
            "ln p(y | x) = ln p(x | y) + ln p(y) - ln sum_k p(x | k) p(k); " + LOG_SUM_EXP_HINT,
        )
    extreme = [(EXTREME_LOG_LIKELIHOOD, np.log(PRIOR))]
    extreme_context = f"called with log-likelihoods like -1000 and +750, shape {EXTREME_LOG_LIKELIHOOD.shape}"
    got_extreme, _ = _values(fn, extreme, extreme_context)
    expected_extreme = _stack(log_posterior, extreme)
    if not torch.isfinite(got_extreme).all():
        fail(
            "numerically unstable: with log-likelihoods like -1000 or +750 (MNIST's 784 pixels give such numbers) "
            f"your result contains {fmt(got_extreme[~torch.isfinite(got_extreme)][0])}: exp(-1000) is exactly 0 and "
            "exp(750) is inf in floating point, so normalising in probability space gives 0/0 or inf/inf.",
            LOG_SUM_EXP_HINT,
        )
    if not same_values(got_extreme, expected_extreme, rtol=1e-5, atol=1e-3):  # float32 rounds -3000 by ~1e-4
        fail(
            f"not exact for large log-likelihoods (like -1000 or +750): your first row is {fmt(got_extreme[0, 0])}, "
            f"expected {fmt(expected_extreme[0, 0])}: an epsilon or a clip hides the underflow but changes the answer.",
            LOG_SUM_EXP_HINT,
        )
    return "matches ln p(x | y) + ln p(y) - log-sum-exp over the classes, and stays exact at log-likelihoods of ±1000."
