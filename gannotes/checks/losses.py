"""Checks for the loss exercises: the BCE game (02), the WGAN critic and its gradient penalty (07), ACGAN (06).

Every learner function here takes **logits** (or critic scores), like :mod:`gannotes.losses`, and
returns a scalar tensor. Each check compares with the package's reference on three random batches,
then names the usual mistake the values match (a flipped sign, a missing term, a sum for a mean,
probabilities where logits are expected...), checks that the loss can be backpropagated, and where
it matters that it stays exact at large logits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from .core import (
    ErrorHint,
    Mistake,
    call_learner,
    diagnose,
    exercise_check,
    fail,
    fmt,
    same_values,
    scalar_output,
)

BATCH = 8
NUM_CLASSES = 10
# Large logits: 1 - sigmoid(l) rounds to exactly 0 in float32 from l ~ 17 on, and sigmoid(l) itself
# underflows to 0 below l ~ -104 (down to there it survives as a subnormal number), so that
# log(sigmoid(.)) overflows to inf on one of them and clamped versions give visibly wrong numbers.
LARGE_REAL = torch.tensor([100.0, -100.0, 200.0, -200.0, 30.0, -30.0, 0.0, 5.0])
LARGE_FAKE = torch.tensor([-100.0, 100.0, -200.0, 200.0, -30.0, 30.0, 0.0, -5.0])

# Errors torch raises for the usual confusions, and what they mean here.
PROBABILITY_ERRORS = (
    ErrorHint(
        "between 0 and 1",
        "F.binary_cross_entropy (or nn.BCELoss) was given the logits, but it expects probabilities in [0, 1]: "
        "the inputs here are logits, not probabilities.",
        "use F.binary_cross_entropy_with_logits, which applies the sigmoid inside, stably.",
    ),
    ErrorHint(
        "target size",
        "the targets' shape differs from the logits' shape (B,).",
        "build targets with torch.ones_like(real_logits) and torch.zeros_like(fake_logits).",
    ),
)
NOT_PROBABILITIES_HINT = (
    "D(x) = sigmoid(logit); compute -ln D(x) stably as F.softplus(-logit), or use F.binary_cross_entropy_with_logits."
)
UNSTABLE_HINT = (
    "compute from the logits without forming the probability: -ln D(x) = F.softplus(-logit), "
    "-ln(1 - D(x)) = F.softplus(logit), or F.binary_cross_entropy_with_logits."
)


def _randn(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    """Fixed random numbers from a private generator (the check's inputs never depend on global state)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def _logit_cases(n_inputs: int, seed: int) -> list[tuple[torch.Tensor, ...]]:
    """Three batches of ``n_inputs`` logit vectors ``(B,)``, spread like a discriminator's in training."""
    return [tuple(_randn(BATCH, seed=seed + 10 * case + i, scale=2.5) for i in range(n_inputs)) for case in range(3)]


def _values(fn: Callable, cases: Sequence[tuple], context: str) -> torch.Tensor:
    """The learner's scalar on each case, stacked: ``(len(cases),)``.

    Inputs are cloned, so a function that edits them in place cannot change the next comparison.
    """
    outs = []
    for case in cases:
        out = call_learner(fn, *(x.clone() for x in case), context=context, hints=PROBABILITY_ERRORS)
        outs.append(scalar_output(out, "your loss", batch=BATCH).detach().float())
    return torch.stack(outs)


def _stack(formula: Callable[..., torch.Tensor], cases: Sequence[tuple]) -> torch.Tensor:
    return torch.stack([formula(*case).detach().float() for case in cases])


def _check_gradients(fn: Callable, reference: Callable, case: tuple, names: Sequence[str], context: str) -> None:
    """The loss must be differentiable, with the reference's gradient w.r.t. every float input."""
    inputs = [x.clone().requires_grad_(x.is_floating_point()) for x in case]
    out = call_learner(fn, *inputs, context=context, hints=PROBABILITY_ERRORS)
    if not out.requires_grad:
        fail(
            "your loss is not connected to the logits: backward() could not train anything with it.",
            "keep to torch operations on the inputs; .item(), .detach(), float(), numpy or torch.tensor(...) "
            "break the graph.",
        )
    floats = [(name, x) for name, x in zip(names, inputs, strict=True) if x.is_floating_point()]
    got = torch.autograd.grad(out, [x for _, x in floats], allow_unused=True)
    expected_inputs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in case]
    expected_floats = [x for x in expected_inputs if x.is_floating_point()]
    expected = torch.autograd.grad(reference(*expected_inputs), expected_floats)
    for (name, x), g, e in zip(floats, got, expected, strict=True):
        if not same_values(torch.zeros_like(x) if g is None else g, e, rtol=1e-3, atol=1e-6):
            fail(
                f"the value is right but the gradient with respect to {name} is not: part of the computation "
                "is detached or not differentiable.",
                "avoid .detach(), .item(), .data and in-place tricks on the way from the inputs to the loss.",
            )


def _check_large_logits(fn: Callable, case: tuple, expected: torch.Tensor, context: str) -> None:
    """Logits of +-100 are where log(sigmoid(.)) overflows: the learner's loss must stay exact there."""
    out = call_learner(fn, *(x.clone() for x in case), context=context, hints=PROBABILITY_ERRORS)
    got = scalar_output(out, "your loss", batch=BATCH).detach()
    if not torch.isfinite(got):
        fail(
            f"numerically unstable: your loss is {got.item()} for logits like ±100 ({fmt(case[0])}): in float32 "
            "sigmoid(l) rounds to exactly 1.0 from l ≈ 17 and to 0.0 below l ≈ -104, so log(1 - sigmoid(l)) or "
            "log(sigmoid(l)) becomes log(0).",
            UNSTABLE_HINT,
        )
    if not same_values(got, expected, rtol=1e-3, atol=1e-4):
        fail(
            f"not exact for large logits: your loss is {fmt(got)} on logits like ±30 and ±100, "
            f"expected {fmt(expected)}: "
            "the probability rounded to 0 or 1 and was clamped (an epsilon or BCELoss's clamp hides the inf "
            "but gives the wrong number).",
            UNSTABLE_HINT,
        )


def _check_not_nan(got: torch.Tensor, case: tuple) -> None:
    if torch.isnan(got).any():
        fail(
            f"your loss is nan on ordinary logits such as {fmt(case[0])}: the log was taken of a negative number "
            "or of 1 minus a number above 1 — the inputs are logits, not probabilities.",
            NOT_PROBABILITIES_HINT,
        )


def _sum(x: torch.Tensor) -> torch.Tensor:
    return x.sum()


def _mean(x: torch.Tensor) -> torch.Tensor:
    return x.mean()


# ----------------------------------------------------------------------------------------------
# 02: the BCE game


def discriminator_mistakes(cases: Sequence[tuple]) -> list[Mistake]:
    """What the usual discriminator-loss mistakes give on ``cases`` of ``(real_logits, fake_logits)``."""

    def real_term(r: torch.Tensor, reduce: Callable = _mean) -> torch.Tensor:  # -ln D(x)
        return reduce(F.softplus(-r))

    def fake_term(f: torch.Tensor, reduce: Callable = _mean) -> torch.Tensor:  # -ln(1 - D(G(z)))
        return reduce(F.softplus(f))

    def m(problem: str, hint: str, formula: Callable[..., torch.Tensor]) -> Mistake:
        return Mistake(problem, hint, _stack(formula, cases))

    return [
        m(
            "sign flipped: your loss is minus the reference (it is negative; a sum of negative log-likelihoods "
            "is not).",
            "-ln D(x) and -ln(1 - D(G(z))) are both >= 0; D minimises their sum (2 ln 2 ≈ 1.386 when D outputs 0.5).",
            lambda r, f: -(real_term(r) + fake_term(f)),
        ),
        m(
            "the real term mean(-ln D(x)) is missing: your loss only scores the fake logits.",
            "add the loss on real_logits with target 1: F.binary_cross_entropy_with_logits(real_logits, "
            "torch.ones_like(real_logits)).",
            lambda r, f: fake_term(f),
        ),
        m(
            "the fake term mean(-ln(1 - D(G(z)))) is missing: your loss only scores the real logits.",
            "add the loss on fake_logits with target 0: F.binary_cross_entropy_with_logits(fake_logits, "
            "torch.zeros_like(fake_logits)).",
            lambda r, f: real_term(r),
        ),
        m(
            "real and fake targets are swapped: your loss pushes D(x) towards 0 and D(G(z)) towards 1.",
            "real samples get target 1, generated samples target 0.",
            lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(),
        ),
        m(
            "the fake term has the wrong sign: you subtract mean(-ln(1 - D(G(z)))) instead of adding it.",
            "both terms are negative log-likelihoods and are added.",
            lambda r, f: real_term(r) - fake_term(f),
        ),
        m(
            "the real term has the wrong sign: you subtract mean(-ln D(x)) instead of adding it.",
            "both terms are negative log-likelihoods and are added.",
            lambda r, f: fake_term(f) - real_term(r),
        ),
        m(
            "probabilities passed where logits are expected: the sigmoid is applied twice (torch.sigmoid, then a "
            "loss that applies the sigmoid itself).",
            "pass the logits straight to F.binary_cross_entropy_with_logits (or F.softplus): it expects logits, "
            "not probabilities.",
            lambda r, f: F.softplus(-torch.sigmoid(r)).mean() + F.softplus(torch.sigmoid(f)).mean(),
        ),
        m(
            f"your loss sums over the batch instead of averaging: it is {BATCH} times too large.",
            "use .mean() (reduction='mean', the default of F.binary_cross_entropy_with_logits), so the loss and its "
            "gradients do not grow with the batch size.",
            lambda r, f: real_term(r, _sum) + fake_term(f, _sum),
        ),
        m(
            "your loss is half the reference: it averages the real and fake terms over all 2B outputs together "
            "instead of adding the two batch means.",
            "compute mean(-ln D(x)) and mean(-ln(1 - D(G(z)))) separately and add them.",
            lambda r, f: (real_term(r) + fake_term(f)) / 2,
        ),
    ]


@exercise_check("discriminator_loss")
def check_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(real_logits (B,), fake_logits (B,)) -> scalar`` = ``mean(-ln D(x)) + mean(-ln(1 - D(G(z))))``."""
    context = f"called with real_logits and fake_logits of shape ({BATCH},)"
    cases = _logit_cases(2, seed=100)
    got = _values(fn, cases, context)
    expected = _stack(losses.discriminator_loss, cases)
    if not same_values(got, expected):
        _check_not_nan(got, cases[0])
        diagnose(got, discriminator_mistakes(cases))
        fail(
            f"your loss is {fmt(got)} on three random batches, expected {fmt(expected)}.",
            "the loss is mean(-ln D(x)) + mean(-ln(1 - D(G(z)))) with D = sigmoid(logit): "
            "F.binary_cross_entropy_with_logits with target 1 on real_logits plus target 0 on fake_logits.",
        )
    _check_gradients(fn, losses.discriminator_loss, cases[0], ("real_logits", "fake_logits"), context)
    large = (LARGE_REAL, LARGE_FAKE)
    _check_large_logits(fn, large, losses.discriminator_loss(*large), context)
    return "matches mean(-ln D(x)) + mean(-ln(1 - D(G(z)))) on random logits, backpropagates, and stays exact at ±100."


def generator_loss_mistakes(cases: Sequence[tuple], asked: str) -> list[Mistake]:
    """Mistakes for either generator loss; ``asked`` is ``"saturating"`` or ``"non_saturating"``."""
    formulas = {
        "saturating": lambda f: -F.softplus(f).mean(),  # mean ln(1 - D(G(z)))
        "non_saturating": lambda f: F.softplus(-f).mean(),  # mean -ln D(G(z))
    }
    reference = formulas[asked]
    mistakes = []
    if asked == "saturating":
        mistakes += [
            Mistake(
                "this is the non-saturating loss mean(-ln D(G(z))), but this exercise asks for the saturating "
                "(minimax) one, mean ln(1 - D(G(z))).",
                "the minimax generator minimises the discriminator's fake term with its sign flipped: "
                "ln(1 - sigmoid(l)) = -F.softplus(l).",
                _stack(formulas["non_saturating"], cases),
            ),
            Mistake(
                "sign flipped: mean(-ln(1 - D(G(z)))) is what D minimises; the minimax G minimises "
                "mean ln(1 - D(G(z))).",
                "ln(1 - sigmoid(l)) = -F.softplus(l) is negative.",
                _stack(lambda f: F.softplus(f).mean(), cases),
            ),
            Mistake(
                "this is mean ln D(G(z)): the non-saturating loss with its sign flipped, not ln(1 - D(G(z))).",
                "the saturating loss is ln(1 - sigmoid(l)) = -F.softplus(l).",
                _stack(lambda f: -F.softplus(-f).mean(), cases),
            ),
        ]
    else:
        mistakes += [
            Mistake(
                "this is the saturating (minimax) loss mean ln(1 - D(G(z))), but this exercise asks for the "
                "non-saturating one, mean(-ln D(G(z))).",
                "the non-saturating loss labels the fakes as real (target 1): -ln sigmoid(l) = F.softplus(-l).",
                _stack(formulas["saturating"], cases),
            ),
            Mistake(
                "sign flipped: your loss is mean ln D(G(z)); minimising it would make D(G(z)) smaller.",
                "-ln D(G(z)) = F.softplus(-l) is positive.",
                _stack(lambda f: -F.softplus(-f).mean(), cases),
            ),
            Mistake(
                "this is mean(-ln(1 - D(G(z)))), the discriminator's loss on fakes (target 0): G's non-saturating "
                "loss uses target 1.",
                "-ln D(G(z)) = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)).",
                _stack(lambda f: F.softplus(f).mean(), cases),
            ),
        ]
    sign = -1.0 if asked == "saturating" else 1.0
    mistakes += [
        Mistake(
            "probabilities passed where logits are expected: the sigmoid is applied twice (torch.sigmoid, then a "
            "loss that applies the sigmoid itself).",
            "apply the with-logits formula (F.softplus or F.binary_cross_entropy_with_logits) to the logits directly.",
            _stack(lambda f: F.softplus(-sign * torch.sigmoid(f)).mean() * sign, cases),
        ),
        Mistake(
            f"your loss sums over the batch instead of averaging: it is {BATCH} times too large.",
            "use .mean(), so the loss and its gradients do not grow with the batch size.",
            _stack(lambda f: reference(f) * f.numel(), cases),
        ),
    ]
    return mistakes


def _check_generator_loss(fn: Callable, asked: str) -> str:
    reference = losses.generator_loss_saturating if asked == "saturating" else losses.generator_loss_non_saturating
    context = f"called with fake_logits of shape ({BATCH},)"
    cases = _logit_cases(1, seed=200)
    got = _values(fn, cases, context)
    expected = _stack(reference, cases)
    formula = "mean ln(1 - D(G(z)))" if asked == "saturating" else "mean(-ln D(G(z)))"
    if not same_values(got, expected):
        _check_not_nan(got, cases[0])
        diagnose(got, generator_loss_mistakes(cases, asked))
        fail(
            f"your loss is {fmt(got)} on three random batches, expected {fmt(expected)}.",
            f"the loss is {formula} with D = sigmoid(logit), averaged over the batch.",
        )
    _check_gradients(fn, reference, cases[0], ("fake_logits",), context)
    _check_large_logits(fn, (LARGE_FAKE,), reference(LARGE_FAKE), context)
    return f"matches {formula} on random logits, backpropagates, and stays exact at ±100."


@exercise_check("generator_loss_saturating")
def check_generator_loss_saturating(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(fake_logits (B,)) -> scalar`` = ``mean ln(1 - D(G(z)))`` (the minimax generator loss)."""
    return _check_generator_loss(fn, "saturating")


@exercise_check("generator_loss_non_saturating")
def check_generator_loss_non_saturating(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(fake_logits (B,)) -> scalar`` = ``mean(-ln D(G(z)))`` (the non-saturating generator loss)."""
    return _check_generator_loss(fn, "non_saturating")


# ----------------------------------------------------------------------------------------------
# 07: the Wasserstein critic


def _critic_mistakes(cases: Sequence[tuple]) -> list[Mistake]:
    not_logits = "a WGAN critic outputs unbounded scores, not logits: no sigmoid, no log, just the means."

    def m(problem: str, hint: str, formula: Callable[..., torch.Tensor]) -> Mistake:
        return Mistake(problem, hint, _stack(formula, cases))

    return [
        m(
            "sign flipped: mean f(x) - mean f(G(z)) is the Wasserstein estimate the critic maximises; "
            "the loss to minimise is its negative.",
            "critic loss = fake_scores.mean() - real_scores.mean().",
            lambda r, f: r.mean() - f.mean(),
        ),
        m(
            "this is the BCE discriminator loss (sigmoid and log on the scores): the scores are not logits here.",
            not_logits,
            losses.discriminator_loss,
        ),
        m(
            "you applied a sigmoid to the scores: they are not logits.",
            not_logits,
            lambda r, f: torch.sigmoid(f).mean() - torch.sigmoid(r).mean(),
        ),
        m(
            "you took log(sigmoid(.)) of the scores: they are not logits.",
            not_logits,
            lambda r, f: F.logsigmoid(f).mean() - F.logsigmoid(r).mean(),
        ),
        m(
            "the real term is missing: your loss is mean f(G(z)) only.",
            "subtract real_scores.mean().",
            lambda r, f: f.mean(),
        ),
        m(
            "the fake term is missing: your loss is -mean f(x) only.",
            "add fake_scores.mean().",
            lambda r, f: -r.mean(),
        ),
        m(
            f"your loss sums over the batch instead of averaging: it is {BATCH} times too large.",
            "use .mean() on each batch of scores.",
            lambda r, f: f.sum() - r.sum(),
        ),
    ]


@exercise_check("critic_loss")
def check_critic_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(real_scores (B,), fake_scores (B,)) -> scalar`` = ``mean f(G(z)) - mean f(x)`` (minimised)."""
    context = f"called with real_scores and fake_scores of shape ({BATCH},)"
    cases = _logit_cases(2, seed=300)
    got = _values(fn, cases, context)
    expected = _stack(losses.critic_loss, cases)
    if not same_values(got, expected):
        if torch.isnan(got).any():
            fail(
                f"your loss is nan on scores such as {fmt(cases[0][0])}: a log of a negative score — critic scores "
                "are unbounded real numbers, not probabilities.",
                "no sigmoid, no log: fake_scores.mean() - real_scores.mean().",
            )
        diagnose(got, _critic_mistakes(cases))
        fail(
            f"your loss is {fmt(got)} on three random batches, expected {fmt(expected)}.",
            "the critic minimises mean f(G(z)) - mean f(x): fake_scores.mean() - real_scores.mean().",
        )
    _check_gradients(fn, losses.critic_loss, cases[0], ("real_scores", "fake_scores"), context)
    return "matches mean f(G(z)) - mean f(x) on random scores and backpropagates."


# ----------------------------------------------------------------------------------------------
# 07: the gradient penalty

GP_BATCH = 16


class _RecordingCritic(nn.Module):
    """Base for the test critics: records every input it is called on (detached copies)."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[tuple[torch.Tensor, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append((x.detach().clone(), x.requires_grad))
        return self.score(x)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("subclasses define the score")  # not NotImplementedError: that means "learner pending"


class _LinearCritic(_RecordingCritic):
    """``f(x) = <w, x>``: its gradient is ``w`` at every ``x``, so the penalty is exactly ``(||w|| - 1)^2``."""

    def __init__(self, norm: float, seed: int) -> None:
        super().__init__()
        w = _randn(1, 1, 28, 28, seed=seed)
        self.weight = nn.Parameter(w * (norm / w.norm()))

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weight).flatten(1).sum(1)


class _MLPCritic(_RecordingCritic):
    """A small nonlinear critic: its gradient depends on ``x`` and on every weight but the last bias."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 16), nn.Tanh(), nn.Linear(16, 1))

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def _penalty_from_grad(grad: torch.Tensor) -> torch.Tensor:
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def _gp_mistakes(grads: Sequence[torch.Tensor]) -> list[Mistake]:
    """Penalty mistakes, as functions of the critic's gradient at ``x_hat`` (one ``(B, 1, 28, 28)`` per case)."""

    def m(problem: str, hint: str, formula: Callable[[torch.Tensor], torch.Tensor]) -> Mistake:
        return Mistake(problem, hint, torch.stack([formula(g).detach() for g in grads]))

    def norms(g: torch.Tensor) -> torch.Tensor:
        return g.flatten(1).norm(2, dim=1)

    square_hint = (
        "take the 2-norm per sample, then penalise its distance to 1: ((grad.flatten(1).norm(2, dim=1) - 1) ** 2)."
    )
    return [
        m(
            "your penalty is (||g||^2 - 1)^2 on the squared norm: WGAN-GP penalises (||g|| - 1)^2, the norm itself.",
            square_hint,
            lambda g: ((norms(g) ** 2 - 1) ** 2).mean(),
        ),
        m(
            "your penalty is ||g||^2, the squared gradient norm: WGAN-GP penalises the distance of the norm to 1, "
            "(||g|| - 1)^2.",
            square_hint,
            lambda g: (norms(g) ** 2).mean(),
        ),
        m(
            "your penalty is ||g|| - 1 without the square (it can be negative).",
            square_hint,
            lambda g: (norms(g) - 1).mean(),
        ),
        m(
            "your penalty is |  ||g|| - 1 | without the square.",
            square_hint,
            lambda g: (norms(g) - 1).abs().mean(),
        ),
        m(
            "your penalty is one-sided, max(0, ||g|| - 1)^2: WGAN-GP also penalises norms below 1.",
            square_hint,
            lambda g: ((norms(g) - 1).clamp(min=0) ** 2).mean(),
        ),
        m(
            f"your penalty sums over the batch instead of averaging: it is {GP_BATCH} times too large.",
            "average the per-sample penalties with .mean().",
            lambda g: ((norms(g) - 1) ** 2).sum(),
        ),
        m(
            "the norm is taken over the whole batch at once, not per sample.",
            "flatten each sample's gradient and take its norm: grad.flatten(1).norm(2, dim=1), shape (B,).",
            lambda g: (g.norm(2) - 1) ** 2,
        ),
        m(
            "the norm is taken over the channel dimension only (dim=1), not over each sample's pixels.",
            "flatten each sample's gradient first: grad.flatten(1).norm(2, dim=1), shape (B,).",
            lambda g: ((g.norm(2, dim=1) - 1) ** 2).mean(),
        ),
    ]


GP_ERRORS = (
    ErrorHint(
        "does not require grad",
        "torch.autograd.grad was asked for a gradient with respect to x_hat, but x_hat does not require grad.",
        "make the interpolates a leaf that tracks gradients: "
        "x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True).",
    ),
    ErrorHint(
        "must match the size",
        "a shape mismatch while interpolating: the interpolation weights do not broadcast over (B, 1, 28, 28).",
        "draw one weight per sample with shape (B, 1, 1, 1): torch.rand(real.shape[0], 1, 1, 1).",
    ),
    ErrorHint(
        "grad can be implicitly created only for scalar",
        "torch.autograd.grad was given the (B,) scores without grad_outputs.",
        "differentiate scores.sum() (each score depends on its own sample only), "
        "or pass grad_outputs=torch.ones_like(scores).",
    ),
)


def _interpolates(critic: _RecordingCritic) -> torch.Tensor:
    """The ``x_hat`` the learner's function evaluated the critic on (the call whose input required grad)."""
    calls = [x for x, requires_grad in critic.inputs if requires_grad]
    if not critic.inputs:
        fail("your function never called the critic.", "score the interpolates with critic(x_hat).")
    if not calls:
        fail(
            "the critic was never called on an input that requires grad, so there is no gradient to penalise.",
            "x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True); scores = critic(x_hat).",
        )
    return calls[-1]


def _check_interpolation(x_hat: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> None:
    """Recover the interpolation weights from the recorded ``x_hat``: one per sample, within [0, 1]."""
    if x_hat.shape != real.shape:
        fail(
            f"the critic was called on shape {tuple(x_hat.shape)}, "
            f"expected the interpolates of shape {tuple(real.shape)}.",
            "x_hat = eps * real + (1 - eps) * fake, with eps of shape (B, 1, 1, 1).",
        )
    # real - fake is at least 0.4 in every pixel (see the inputs), so the weights are well determined.
    eps = ((x_hat - fake) / (real - fake)).flatten(1)
    spread = (eps.max(dim=1).values - eps.min(dim=1).values).max().item()
    if spread > 1e-3:
        fail(
            "one interpolation weight per pixel: within one sample, x_hat mixes real and fake in different "
            "proportions in different pixels, so it is not on the segment between them.",
            "draw one weight per sample: eps = torch.rand(real.shape[0], 1, 1, 1) (not torch.rand_like(real)).",
        )
    per_sample = eps[:, 0]
    if per_sample.min() < -1e-4 or per_sample.max() > 1 + 1e-4:
        fail(
            f"interpolation weights outside [0, 1] (from {per_sample.min().item():.2f} to "
            f"{per_sample.max().item():.2f}): they look drawn from a normal distribution, so x_hat leaves the "
            "segment between real and fake.",
            "use a uniform distribution on [0, 1]: torch.rand, not torch.randn.",
        )
    if per_sample.max() - per_sample.min() < 1e-4:
        value = per_sample[0].item()
        where = {0.0: " (the fake samples)", 1.0: " (the real samples)"}.get(round(value, 4), "")
        fail(
            f"every sample uses the same interpolation weight {value:.3f}{where}: the penalty is evaluated on a "
            "single mixture instead of random points between real and fake.",
            "draw a fresh weight per sample: eps = torch.rand(real.shape[0], 1, 1, 1).",
        )


def _gradient_at(critic: _RecordingCritic, x_hat: torch.Tensor) -> torch.Tensor:
    """The reference gradient of the critic's scores at ``x_hat``, differentiable w.r.t. the weights."""
    x = x_hat.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic.score(x).sum(), x, create_graph=True)
    return grad


def _check_backprop(penalty: torch.Tensor, expected: torch.Tensor, critic: nn.Module) -> None:
    """The penalty must carry gradients to the critic's weights: ``create_graph=True``."""
    hint = "pass create_graph=True to torch.autograd.grad, and do not detach the gradient or the penalty."
    if not penalty.requires_grad:
        fail(
            "your penalty cannot be backpropagated to the critic's weights (it has no grad_fn): "
            "the gradient was computed without create_graph=True, or detached.",
            hint,
        )
    params = list(critic.parameters())
    got = torch.autograd.grad(penalty, params, allow_unused=True, retain_graph=True)
    want = torch.autograd.grad(expected, params, allow_unused=True)
    for g, w, p in zip(got, want, params, strict=True):
        g = torch.zeros_like(p) if g is None else g
        w = torch.zeros_like(p) if w is None else w
        if not same_values(g, w, rtol=1e-3, atol=1e-6):
            fail("your penalty's gradient with respect to the critic's weights differs from the reference's.", hint)


@exercise_check("gradient_penalty")
def check_gradient_penalty(
    fn: Callable[[Callable[[torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor],
) -> str:
    """Check ``fn(critic, real (B,1,28,28), fake (B,1,28,28)) -> scalar`` = ``mean (||grad f(x_hat)|| - 1)^2``.

    Linear critics ``f(x) = <w, x>`` have the gradient ``w`` everywhere, so their penalty is exactly
    ``(||w|| - 1)^2`` whatever the interpolation; a recording critic shows where the learner
    interpolated; a small MLP critic checks the value and ``create_graph`` on a nonlinear critic.
    """
    # Real pixels in [0.2, 1], fake ones in [-1, -0.2]: real - fake >= 0.4 everywhere.
    shape = (GP_BATCH, 1, 28, 28)
    real = 0.2 + 0.8 * torch.rand(*shape, generator=torch.Generator().manual_seed(500))
    fake = -0.2 - 0.8 * torch.rand(*shape, generator=torch.Generator().manual_seed(501))
    context = f"called with a critic and real, fake of shape {shape}"

    def penalty(critic: _RecordingCritic) -> torch.Tensor:
        out = call_learner(fn, critic, real.clone(), fake.clone(), context=context, hints=GP_ERRORS)
        return scalar_output(out, "your penalty", batch=GP_BATCH)

    # 1. Linear critics: the value is known exactly, whatever the interpolation weights.
    critics = [_LinearCritic(3.0, seed=502), _LinearCritic(0.3, seed=503)]
    outs = [penalty(c) for c in critics]
    x_hat = _interpolates(critics[0])
    _check_interpolation(x_hat, real, fake)
    got = torch.stack([o.detach() for o in outs])
    grads = [c.weight.detach().expand(shape) for c in critics]
    expected = torch.stack([_penalty_from_grad(g) for g in grads])  # (3 - 1)^2 = 4 and (0.3 - 1)^2 = 0.49
    if not same_values(got, expected):
        diagnose(got, _gp_mistakes(grads))
        fail(
            f"on linear critics f(x) = <w, x> with ||w|| = 3 and 0.3, your penalty is {fmt(got)}, "
            f"expected (||w|| - 1)^2 = {fmt(expected)}.",
            "the gradient of <w, x> is w: the penalty is mean over samples of (||grad|| - 1)^2.",
        )
    _check_backprop(outs[0], _penalty_from_grad(_gradient_at(critics[0], x_hat)), critics[0])

    # 2. A nonlinear critic: compare at the x_hat the learner's function drew.
    mlp = _MLPCritic(seed=504)
    out = penalty(mlp)
    x_hat = _interpolates(mlp)
    _check_interpolation(x_hat, real, fake)
    grad = _gradient_at(mlp, x_hat)
    expected = _penalty_from_grad(grad)
    if not same_values(out.detach(), expected.detach(), rtol=1e-3, atol=1e-6):
        diagnose(out.detach().unsqueeze(0), _gp_mistakes([grad]), rtol=1e-3, atol=1e-6)
        fail(
            f"on a small MLP critic, your penalty is {fmt(out)}, expected {fmt(expected)} at the same x_hat.",
            "the gradient must be taken at x_hat, of the critic's scores: "
            "torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True).",
        )
    _check_backprop(out, expected, mlp)
    return (
        "exact on linear critics ((||w|| - 1)^2), matches on a nonlinear critic, one uniform weight per sample, "
        "and backpropagates to the critic's weights (create_graph=True)."
    )


# ----------------------------------------------------------------------------------------------
# 06: ACGAN


def _acgan_cases() -> list[tuple[torch.Tensor, ...]]:
    cases = []
    for case in range(3):
        seed = 600 + 10 * case
        labels = torch.randint(0, NUM_CLASSES, (2, BATCH), generator=torch.Generator().manual_seed(seed))
        cases.append(
            (
                _randn(BATCH, seed=seed + 1, scale=2.5),
                _randn(BATCH, NUM_CLASSES, seed=seed + 2, scale=2.0),
                labels[0],
                _randn(BATCH, seed=seed + 3, scale=2.5),
                _randn(BATCH, NUM_CLASSES, seed=seed + 4, scale=2.0),
                labels[1],
            )
        )
    return cases


def _acgan_mistakes(cases: Sequence[tuple]) -> list[Mistake]:
    def m(problem: str, hint: str, formula: Callable[..., torch.Tensor]) -> Mistake:
        return Mistake(problem, hint, _stack(formula, cases))

    bce, ce = losses.discriminator_loss, F.cross_entropy
    both_hint = (
        "add F.cross_entropy(real_class_logits, real_labels) and F.cross_entropy(fake_class_logits, fake_labels)."
    )
    return [
        m(
            "the class loss is applied to real images only: ACGAN's D also classifies the generated images, by the "
            "label G was asked for (fake_labels).",
            both_hint,
            lambda r, rc, rl, f, fc, fl: bce(r, f) + ce(rc, rl),
        ),
        m(
            "the class loss is applied to generated images only: D must also classify the real images.",
            both_hint,
            lambda r, rc, rl, f, fc, fl: bce(r, f) + ce(fc, fl),
        ),
        m(
            "the class loss is missing: your loss is only the real/fake BCE.",
            both_hint,
            lambda r, rc, rl, f, fc, fl: bce(r, f),
        ),
        m(
            "the real-image term of the real/fake loss, mean(-ln D(x)), is missing.",
            "the real/fake part is discriminator_loss(real_logits, fake_logits).",
            lambda r, rc, rl, f, fc, fl: F.softplus(f).mean() + ce(rc, rl) + ce(fc, fl),
        ),
        m(
            "the generated-image term of the real/fake loss, mean(-ln(1 - D(G(z)))), is missing.",
            "the real/fake part is discriminator_loss(real_logits, fake_logits).",
            lambda r, rc, rl, f, fc, fl: F.softplus(-r).mean() + ce(rc, rl) + ce(fc, fl),
        ),
        m(
            "sign flipped: your loss is minus the reference.",
            "every term is a negative log-likelihood that D minimises: add them, all with a + sign.",
            lambda r, rc, rl, f, fc, fl: -losses.acgan_discriminator_loss(r, rc, rl, f, fc, fl),
        ),
        m(
            "the real/fake part has its sign flipped.",
            "add discriminator_loss(real_logits, fake_logits), do not subtract it.",
            lambda r, rc, rl, f, fc, fl: -bce(r, f) + ce(rc, rl) + ce(fc, fl),
        ),
        m(
            "the class terms have their sign flipped: D minimises the cross-entropy of the right class.",
            both_hint,
            lambda r, rc, rl, f, fc, fl: bce(r, f) - ce(rc, rl) - ce(fc, fl),
        ),
        m(
            "the generated images are classified against real_labels: their class is the label G was asked for.",
            "use F.cross_entropy(fake_class_logits, fake_labels).",
            lambda r, rc, rl, f, fc, fl: bce(r, f) + ce(rc, rl) + ce(fc, rl),
        ),
        m(
            "the two class losses are averaged instead of added.",
            both_hint,
            lambda r, rc, rl, f, fc, fl: bce(r, f) + (ce(rc, rl) + ce(fc, fl)) / 2,
        ),
        m(
            "softmax applied before F.cross_entropy, which applies log-softmax itself: the class logits went "
            "through softmax twice.",
            "pass the raw class logits to F.cross_entropy.",
            lambda r, rc, rl, f, fc, fl: bce(r, f) + ce(rc.softmax(1), rl) + ce(fc.softmax(1), fl),
        ),
        m(
            "your loss sums over the batch instead of averaging.",
            "use the mean (the default reduction of F.cross_entropy and F.binary_cross_entropy_with_logits).",
            lambda r, rc, rl, f, fc, fl: BATCH * losses.acgan_discriminator_loss(r, rc, rl, f, fc, fl),
        ),
    ]


@exercise_check("acgan_discriminator_loss")
def check_acgan_discriminator_loss(fn: Callable[..., torch.Tensor]) -> str:
    """Check ``fn(real_logits, real_class_logits, real_labels, fake_logits, fake_class_logits, fake_labels) -> scalar``.

    Shapes: logits ``(B,)``, class logits ``(B, K)``, labels ``(B,)`` int64. The loss is the BCE
    discriminator loss plus the class cross-entropy on **both** real and generated images.
    """
    context = (
        f"called with logits ({BATCH},), class logits ({BATCH}, {NUM_CLASSES}) and int64 labels ({BATCH},) "
        "for real then fake images"
    )
    cases = _acgan_cases()
    got = _values(fn, cases, context)
    expected = _stack(losses.acgan_discriminator_loss, cases)
    if not same_values(got, expected):
        _check_not_nan(got, cases[0])
        diagnose(got, _acgan_mistakes(cases))
        fail(
            f"your loss is {fmt(got)} on three random batches, expected {fmt(expected)}.",
            "ACGAN's D loss = discriminator_loss(real_logits, fake_logits) + cross-entropy of the class on real "
            "images + cross-entropy of the class on generated images.",
        )
    names = ("real_logits", "real_class_logits", "real_labels", "fake_logits", "fake_class_logits", "fake_labels")
    _check_gradients(fn, losses.acgan_discriminator_loss, cases[0], names, context)
    return "matches the real/fake BCE plus the class loss on real and generated images, and backpropagates."
