"""Check for notebook 01's exercise: Bayes' rule in log space, on NumPy arrays.

``log_posterior(log_likelihood (N, K), log_prior (K,)) -> (N, K)`` is compared with the reference on log-likelihoods
of tens of nats (8x8 digits) and of thousands (MNIST's 784 pixels), where probability space under- or overflows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .core import Raised, WrongVersion, check_against_table, describe, exercise_check, fail, observe_call

LOG_PRIOR = np.log([0.1, 0.2, 0.3, 0.4])  # far from uniform, so that forgetting it changes every posterior
LOG_SUM_EXP = "with m = a.max(axis=1, keepdims=True), subtract m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))."


def log_posterior(log_likelihood: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """The reference: ``ln p(y = k | x_n)`` from ``ln p(x_n | y = k)`` ``(N, K)`` and ``ln p(y = k)`` ``(K,)``,
    normalised over the classes with a stable log-sum-exp."""
    return _normalised(np.asarray(log_likelihood, dtype=np.float64) + np.asarray(log_prior, dtype=np.float64))


def _normalised(a: np.ndarray, axis: int = 1) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return a - (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True)))


def _observe(f: Callable[..., Any]) -> list[Any]:
    """``f``'s results on log-likelihoods around -60 (three batches), -3000 and +750, as float64 tensors.

    Each is divided by its inputs' size over 60, so that float32 work (7 digits of its inputs) passes on thousands.
    """
    rng = np.random.default_rng(1000)
    seen = []
    for mean in (-60.0, -60.0, -60.0, -3000.0, 750.0):
        ll = rng.normal(mean, 6.0, size=(6, 4))
        ll_in, lp_in = ll.copy(), LOG_PRIOR.copy()
        with np.errstate(all="ignore"):  # naive versions overflow: the check reports it
            out = observe_call(f, ll_in, lp_in)
        if not (np.array_equal(ll_in, ll) and np.array_equal(lp_in, LOG_PRIOR)):
            fail(
                "your function changed its input arrays in place (e.g. log_likelihood += log_prior).",
                "build new arrays, a = log_likelihood + log_prior, instead of updating the arguments.",
            )
        if isinstance(out, Raised):
            seen.append(out)
            continue
        if isinstance(out, np.ndarray):
            out = torch.as_tensor(out, dtype=torch.float64)
        if not isinstance(out, torch.Tensor) or out.shape != ll.shape:
            got = f"an array of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else describe(out)
            fail(
                f"your function should return an array of shape {ll.shape}, one log posterior per image and class; "
                f"got {got}.",
                "return the (N, K) array, NumPy or torch, with no class summed or maxed away (keepdims=True).",
            )
        if not out.isfinite().all():
            fail(
                f"numerically unstable: your result contains {out[~out.isfinite()][0].item()} for log-likelihoods "
                f"around {mean:g}: their exp() is 0 or inf, so normalising in probability space gives 0/0 or inf/inf.",
                "stay in log space: " + LOG_SUM_EXP,
            )
        seen.append(out.detach().double() / (abs(mean) / 60))
    return seen


_ADD_PRIOR = "Bayes' rule multiplies by the prior: a = log_likelihood + log_prior, then normalise each row."
WRONG_VERSIONS = (
    WrongVersion(
        lambda ll, lp: _normalised(ll), "the prior is missing: every class is treated as equally common.", _ADD_PRIOR
    ),
    WrongVersion(
        lambda ll, lp: _normalised(ll - lp),
        "the prior is subtracted instead of added: p(x | y) p(y) is a product, so its log is a sum.",
        _ADD_PRIOR,
    ),
    WrongVersion(
        lambda ll, lp: _normalised(ll + np.exp(lp)),
        "the prior was added as a probability, not as a log-probability.",
        "log_prior is already ln p(y): " + _ADD_PRIOR,
    ),
    WrongVersion(
        lambda ll, lp: ll + lp,
        "not normalised: you return the log joint ln p(x | y) + ln p(y); its exponentials do not sum to 1.",
        "divide by the evidence p(x) = sum over k of p(x | k) p(k): " + LOG_SUM_EXP,
    ),
    WrongVersion(
        lambda ll, lp: (ll + lp) - (ll + lp).max(axis=1, keepdims=True),
        "only the stabilising shift: subtracting each row's maximum does not normalise it.",
        LOG_SUM_EXP,
    ),
    WrongVersion(
        lambda ll, lp: _normalised(ll + lp) + (ll + lp).max(axis=1, keepdims=True),
        "the maximum is not added back: log-sum-exp(a) = m + ln sum exp(a - m), and your version leaves out m.",
        LOG_SUM_EXP,
    ),
    WrongVersion(
        lambda ll, lp: np.exp(log_posterior(ll, lp)),
        "you return probabilities p(y | x), not their logs.",
        "return the log posterior itself; take np.exp only where you need probabilities.",
    ),
    WrongVersion(
        lambda ll, lp: _normalised(ll + lp, axis=0),
        "normalised over the images (axis 0) instead of over the classes: each column sums to 1, not each row.",
        "reduce with axis=1 (the classes), keepdims=True.",
    ),
    WrongVersion(
        lambda ll, lp: _normalised(ll) + lp,
        "the likelihoods are normalised first and the prior added after: the result is not normalised.",
        "add the prior first, then normalise: " + LOG_SUM_EXP,
    ),
    WrongVersion(
        lambda ll, lp: _normalised(np.clip(ll + lp, -700, 700)),
        "not exact for large log-likelihoods (-3000, +750): the clip hides the overflow but changes the answer.",
        "stay in log space instead: " + LOG_SUM_EXP,
    ),
    WrongVersion(
        lambda ll, lp: (ll + lp) - torch.logsumexp(ll + lp, dim=1, keepdim=True),
        "a torch function was given NumPy arrays: log_likelihood and log_prior are NumPy arrays here.",
        "use NumPy (np.max, np.exp, np.log), or convert with torch.from_numpy first.",
    ),
)


@exercise_check("log_posterior")
def check_log_posterior(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> str:
    """Check ``fn(log_likelihood (N, K), log_prior (K,)) -> (N, K)`` = ``ln p(y = k | x_n)``, stable in log space."""
    return check_against_table(
        fn,
        log_posterior,
        _observe,
        WRONG_VERSIONS,
        "matches ln p(x | y) + ln p(y) - log-sum-exp over the classes, also at log-likelihoods of -3000 and +750.",
        "ln p(y | x) = ln p(x | y) + ln p(y) - ln sum_k p(x | k) p(k): " + LOG_SUM_EXP,
    )
