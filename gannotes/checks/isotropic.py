"""Check for notebook 10's derive-then-verify exercise: the Fréchet distance between two isotropic Gaussians.

With ``S1 = s1**2 I`` and ``S2 = s2**2 I`` in ``D`` dimensions, ``(S1 S2)^(1/2) = s1 s2 I`` and ``Tr(c I) = c D``, so
``d^2 = ||mu1 - mu2||^2 + D (s1 - s2)^2``. The learner derives this by hand and writes it without any ``D x D``
matrix; the notebook then compares it with the general formula (:func:`gannotes.metrics.frechet_distance`).

A table check: the reference and each wrong version (a slip in the derivation a learner would make) run through
the same cases, chosen so that every slip gives another number.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch

from .core import Raised, check_against_table, exercise_check, observe_call, wrong_versions


def isotropic_frechet_distance(mu1: torch.Tensor, s1: float, mu2: torch.Tensor, s2: float) -> float:
    """The reference: ``||mu1 - mu2||^2 + D (s1 - s2)^2`` between ``N(mu1, s1^2 I)`` and ``N(mu2, s2^2 I)``."""
    return float(((mu1 - mu2) ** 2).sum() + mu1.numel() * (s1 - s2) ** 2)


def _cases() -> list[tuple[torch.Tensor, float, torch.Tensor, float]]:
    """``(mu1, s1, mu2, s2)`` in 3, 7 and 2 dimensions: the spreads differ, are not 1 and are not each other's
    square, so that a variance taken for a standard deviation, a missing square root or a missing factor 2 show."""
    g = torch.Generator().manual_seed(10)
    cases = []
    for dim, s1, s2 in ((3, 0.5, 2.5), (7, 1.5, 0.25), (2, 3.0, 1.25)):
        mu1, mu2 = torch.randn(2, dim, generator=g, dtype=torch.float64)
        cases.append((mu1, s1, mu2, s2))
    return cases


def _number(value: Any) -> Any:
    """A result as one float64 number to compare; anything else as a description of what it is."""
    if isinstance(value, Raised):
        return value
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return f"a tensor of {value.numel()} numbers, not one"
        value = value.detach().item()
    if isinstance(value, complex):
        return "a complex number"
    if not isinstance(value, numbers.Real):  # a float, an int or a numpy scalar; not a string of digits
        return f"a {type(value).__name__}, not a number"
    return torch.tensor(float(value), dtype=torch.float64)


def _observe(fn: Callable[..., Any]) -> list:
    """For each case: the number ``fn`` returns, and whether it left ``mu1`` and ``mu2`` unchanged."""
    seen = []
    for mu1, s1, mu2, s2 in _cases():
        given = (mu1.clone(), s1, mu2.clone(), s2)
        out = observe_call(fn, *given)
        seen.append((_number(out), torch.equal(given[0], mu1) and torch.equal(given[2], mu2)))
    return seen


def _slip(mu1, s1, mu2, s2, *, mean="squared", spread="derived", dim="D", result="d2", in_place=False):
    """``||mu1 - mu2||^2 + D (s1 - s2)^2`` with one step of the derivation done wrong."""
    if in_place:  # the right number, but the caller's mean changes
        mu1 -= mu2
        difference = mu1
    else:
        difference = mu1 - mu2
    if result == "vector":
        return difference**2 + (s1 - s2) ** 2
    means = {
        "squared": (difference**2).sum(),
        "norm": difference.norm(),
        "averaged": (difference**2).mean(),
        "none": 0.0,
    }[mean]
    per_dimension = {  # Tr(S1 + S2 - 2 (S1 S2)^(1/2)) / D, and what it is mistaken for
        "derived": (s1 - s2) ** 2,
        "variances": (s1**2 - s2**2) ** 2,
        "no root": s1**2 + s2**2 - 2 * s1**2 * s2**2,
        "no factor 2": s1**2 + s2**2 - s1 * s2,
        "added": (s1 + s2) ** 2,
        "absolute": abs(s1 - s2),
        "none": 0.0,
    }[spread]
    factor = {"D": difference.numel(), "1": 1, "D squared": difference.numel() ** 2}[dim]
    d2 = means + factor * per_dimension
    return {"d2": d2, "d": d2**0.5}[result]


_HINT = (
    "with S1 = s1^2 I and S2 = s2^2 I, (S1 S2)^(1/2) = s1 s2 I and Tr(c I) = c D, so "
    "d^2 = ||mu1 - mu2||^2 + D (s1 - s2)^2, with D = mu1.numel()."
)
WRONG_VERSIONS = wrong_versions(
    _slip,
    _HINT,
    {
        "the spread term has no factor D: each of the D dimensions adds its own (s1 - s2)^2.": {"dim": "1"},
        "the spread term is multiplied by D^2: the trace of c I in D dimensions is c D.": {"dim": "D squared"},
        "you used the variances, (s1^2 - s2^2)^2: s1 and s2 are standard deviations, the variances are s1^2 and "
        "s2^2.": {"spread": "variances"},
        "the square root is missing: (S1 S2)^(1/2) = s1 s2 I, so the cross term is -2 D s1 s2, not -2 D s1^2 s2^2.": {
            "spread": "no root"
        },
        "the factor 2 of the cross term is missing: s1^2 + s2^2 - 2 s1 s2 = (s1 - s2)^2.": {"spread": "no factor 2"},
        "the cross term is added: the spread term is D (s1 - s2)^2, not D (s1 + s2)^2.": {"spread": "added"},
        "the spread term is D |s1 - s2|: it is a square, D (s1 - s2)^2, like the mean term.": {"spread": "absolute"},
        "the spread term is missing: two Gaussians with the same mean but different spreads are not at distance 0.": {
            "spread": "none"
        },
        "the mean term is missing: ||mu1 - mu2||^2 does not change with the covariances.": {"mean": "none"},
        "the mean term is ||mu1 - mu2||, not its square.": {"mean": "norm"},
        "the mean term averages (mu1 - mu2)^2 over the dimensions: it is the sum, ||mu1 - mu2||^2.": {
            "mean": "averaged"
        },
        "you return d, the square root: the formula (and FID) give d^2.": {"result": "d"},
        "your function returns one number per dimension: sum them into one.": {"result": "vector"},
        "your function changed mu1 in place (mu1 -= mu2): compute a new tensor, mu1 - mu2.": {"in_place": True},
    },
)


@exercise_check("isotropic_frechet_distance")
def check_isotropic_frechet_distance(fn: Callable[[torch.Tensor, float, torch.Tensor, float], float]) -> str:
    """Check ``fn(mu1 (D,), s1, mu2 (D,), s2) -> d^2`` between ``N(mu1, s1^2 I)`` and ``N(mu2, s2^2 I)``."""
    passed = "matches ||mu1 - mu2||^2 + D (s1 - s2)^2 in dimensions 3, 7 and 2."
    return check_against_table(fn, isotropic_frechet_distance, _observe, WRONG_VERSIONS, passed, _HINT)
