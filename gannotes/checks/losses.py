"""Checks for the loss exercises: the BCE game (02), WGAN-GP's gradient penalty (07), ACGAN's D loss (06).

Table checks (:func:`~gannotes.checks.core.check_against_table`): the learner's loss, the reference
(:mod:`gannotes.losses`) and each wrong version run on the same inputs, three random batches (and, for the
BCE losses, logits of ±100, where ``log(sigmoid(.))`` overflows), compared by value and by gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from .core import Raised, WrongVersion, check_against_table, exercise_check, fail, observe_call, scalar_output

BATCH, CLASSES, GP_BATCH = 8, 10, 16
# 1 - sigmoid(l) rounds to 0 in float32 from l ~ 17 on, sigmoid(l) to 0 below l ~ -104: log(sigmoid(.)) is
# then log(0), and a clamped version (BCELoss, an epsilon) gives visibly wrong numbers.
LARGE = torch.tensor([100.0, -100.0, 200.0, -200.0, 30.0, -30.0, 0.0, 5.0])
STABLE_HINT = "compute from the logits: -ln D(x) = F.softplus(-logit), -ln(1 - D(x)) = F.softplus(logit)."


def _randn(*shape: int, seed: int, scale: float = 2.5) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _scalar(out: Any, what: str, to: str, hint: str) -> torch.Tensor:
    """The learner's result as a scalar tensor with a graph back ``to`` its inputs, or a failure saying why not."""
    loss = scalar_output(out, what, batch=BATCH)
    if not loss.requires_grad:
        fail(f"{what} cannot be backpropagated to {to} (it has no grad_fn): backward() could not train anything.", hint)
    return loss


def _observe(f: Callable[..., Any], cases: Sequence[tuple[torch.Tensor, ...]]) -> list[Any]:
    """``f``'s value on each case and its gradients with respect to the float inputs, or what it raised.

    NaN is replaced by a number no loss reaches: NaN never equals NaN, yet a NaN mistake must match.
    """
    seen = []
    for case in cases:
        inputs = [x.clone().requires_grad_(x.is_floating_point()) for x in case]
        out = observe_call(f, *inputs)
        if not isinstance(out, Raised):
            hint = "keep to torch operations on the inputs: .item(), .detach() or torch.tensor(...) break the graph."
            loss = _scalar(out, "your loss", "the logits", hint)
            grads = torch.autograd.grad(loss, [x for x in inputs if x.requires_grad], materialize_grads=True)
            out = [t.detach().nan_to_num(nan=-1e30, posinf=torch.inf, neginf=-torch.inf) for t in (loss, *grads)]
        seen.append(out)
    return seen


# ----------------------------------------------------------------------------------------------
# 02: the BCE game. Each loss is written with a per-sample -ln p(target | logit), ``nll``, and a
# reduction, so that the usual numerical mistakes and a sum for a mean are one argument away.


def _stable(logits: torch.Tensor, target: int) -> torch.Tensor:
    return F.softplus(-logits if target else logits)


def _logged(p: torch.Tensor, target: int) -> torch.Tensor:
    return -torch.log(p if target else 1 - p)


def _bce_loss(p: torch.Tensor, target: int) -> torch.Tensor:
    return F.binary_cross_entropy(p, torch.full_like(p, target), reduction="none")


def _d_loss(r: torch.Tensor, f: torch.Tensor, nll: Callable = _stable, reduce: Callable = torch.mean) -> torch.Tensor:
    return reduce(nll(r, 1)) + reduce(nll(f, 0))


def _formula_mistakes(loss: Callable[..., torch.Tensor], formula: str) -> tuple[WrongVersion, ...]:
    """A flipped sign, the sigmoid applied twice, a sum for a mean; ``formula`` is ``loss`` in words."""
    return (
        WrongVersion(
            lambda *inputs: -loss(*inputs),
            f"sign flipped: your loss is minus {formula}.",
            "-ln D and -ln(1 - D) are >= 0, their negatives <= 0: check each term's sign.",
        ),
        WrongVersion(
            partial(loss, nll=lambda logits, t: _stable(torch.sigmoid(logits), t)),
            "probabilities passed where logits are expected: the sigmoid is applied twice.",
            "pass the logits straight to F.binary_cross_entropy_with_logits (or F.softplus).",
        ),
        WrongVersion(
            partial(loss, reduce=torch.sum),
            f"your loss sums over the batch instead of averaging: it is {BATCH} times too large.",
            "use .mean(), so that the loss and its gradients do not grow with the batch size.",
        ),
    )


def _probability_mistakes(loss: Callable[..., torch.Tensor]) -> tuple[WrongVersion, ...]:
    """The logits taken for probabilities."""
    return (
        WrongVersion(
            partial(loss, nll=_logged),
            "your loss is nan on ordinary logits: it takes the log of logits, not probabilities.",
            "D(x) = sigmoid(logit); -ln D(x) = F.softplus(-logit), or F.binary_cross_entropy_with_logits.",
        ),
        WrongVersion(
            partial(loss, nll=_bce_loss),
            "F.binary_cross_entropy (nn.BCELoss) expects probabilities in [0, 1]: these are logits, not probabilities.",
            "use F.binary_cross_entropy_with_logits, which applies the sigmoid inside, stably.",
        ),
    )


def _overflow_mistakes(loss: Callable[..., torch.Tensor]) -> tuple[WrongVersion, ...]:
    """The probability formed before the log: exact on ordinary logits, not at ±100."""
    return (
        WrongVersion(
            partial(loss, nll=lambda logits, t: _logged(torch.sigmoid(logits), t)),
            "numerically unstable: your loss is inf at logits like ±100, where sigmoid(l) is exactly 0 or 1 in "
            "float32, so log(sigmoid(l)) or log(1 - sigmoid(l)) is log(0).",
            STABLE_HINT,
        ),
        WrongVersion(
            partial(loss, nll=lambda logits, t: _bce_loss(torch.sigmoid(logits), t)),
            "not exact for large logits (±30, ±100): sigmoid rounded to 0 or 1, and BCELoss clamped the log: "
            "no inf, but the wrong number.",
            STABLE_HINT,
        ),
    )


D_FORMULA = "mean(-ln D(x)) + mean(-ln(1 - D(G(z))))"
D_TERM_MISTAKES = (
    WrongVersion(
        lambda r, f: F.softplus(f).mean(),
        "the real term mean(-ln D(x)) is missing: your loss does not score the real logits.",
        "add F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)).",
    ),
    WrongVersion(
        lambda r, f: F.softplus(-r).mean(),
        "the fake term mean(-ln(1 - D(G(z)))) is missing: your loss does not score the fake logits.",
        "add F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)).",
    ),
    WrongVersion(
        lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(),
        "real and fake targets are swapped: your loss pushes D(x) towards 0 and D(G(z)) towards 1.",
        "real samples get target 1, generated samples target 0.",
    ),
    WrongVersion(
        lambda r, f: _d_loss(r, f) / 2,
        "your loss is half the reference: it averages over all 2B outputs instead of adding the two batch means.",
        "compute mean(-ln D(x)) and mean(-ln(1 - D(G(z)))) separately and add them.",
    ),
)
D_LOSS_MISTAKES = (*_formula_mistakes(_d_loss, D_FORMULA), *D_TERM_MISTAKES)


def _check_bce(fn: Callable, n: int, reference: Callable, loss: Callable, formula: str, mistakes: Sequence) -> str:
    """Compare on three batches of ``n`` logit vectors ``(B,)``, spread like a discriminator's, and on ±100."""
    cases = [tuple(_randn(BATCH, seed=100 * n + 10 * case + i) for i in range(n)) for case in range(3)]
    return check_against_table(
        fn,
        reference,
        partial(_observe, cases=[*cases, (LARGE, -LARGE)[:n]]),
        (*mistakes, *_probability_mistakes(loss), *_overflow_mistakes(loss)),
        f"matches {formula} on random logits, backpropagates, and stays exact at ±100.",
        f"the loss is {formula} with D = sigmoid(logit), averaged over the batch; " + STABLE_HINT,
    )


@exercise_check("discriminator_loss")
def check_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(real_logits (B,), fake_logits (B,)) -> scalar`` = ``mean(-ln D(x)) + mean(-ln(1 - D(G(z))))``."""
    return _check_bce(fn, 2, losses.discriminator_loss, _d_loss, D_FORMULA, D_LOSS_MISTAKES)


# ----------------------------------------------------------------------------------------------
# 07: the gradient penalty, on linear critics f(x) = <w, x>: their gradient is w everywhere, so the
# penalty is exactly (||w|| - 1)^2 wherever it is taken. Real pixels lie in [0.2, 1], fake ones in
# [-1, -0.2], so the weight eps of each x_hat = eps * real + (1 - eps) * fake can be read back.

REAL = 0.2 + 0.8 * torch.rand(GP_BATCH, 1, 28, 28, generator=torch.Generator().manual_seed(500))
FAKE = -0.2 - 0.8 * torch.rand(GP_BATCH, 1, 28, 28, generator=torch.Generator().manual_seed(501))


class _LinearCritic(nn.Module):
    """``f(x) = <w, x>`` with ``||w|| = norm``; it keeps the inputs it is called on."""

    def __init__(self, norm: float) -> None:
        super().__init__()
        w = _randn(1, 1, 28, 28, seed=502)
        self.weight = nn.Parameter(w * norm / w.norm())
        self.inputs: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.detach())
        return (x * self.weight).flatten(1).sum(1)


def _observe_gp(f: Callable[..., Any]) -> Any:
    """For ``||w||`` = 3 and 0.3: the penalty, and the interpolation weights of the critic's last input, one per
    pixel (as ``min(eps, 1 - eps)``: either end of the segment may be called eps)."""
    seen = []
    for norm in (3.0, 0.3):
        critic = _LinearCritic(norm)
        out = observe_call(f, critic, REAL.clone(), FAKE.clone())
        if isinstance(out, Raised):
            return out
        hint = "pass create_graph=True to torch.autograd.grad, and do not detach the gradient or the penalty."
        penalty = _scalar(out, "your penalty", "the critic's weights", hint)
        x_hat = critic.inputs[-1] if critic.inputs else None
        eps = None if x_hat is None or x_hat.shape != REAL.shape else ((x_hat - FAKE) / (REAL - FAKE)).flatten(1)
        seen.append((penalty.detach(), None if eps is None else torch.minimum(eps, 1 - eps)))
    return seen


def _norms(grad: torch.Tensor) -> torch.Tensor:
    return grad.flatten(1).norm(2, dim=1)  # one gradient norm per sample


def _of_gradient(grad: torch.Tensor) -> torch.Tensor:
    return ((_norms(grad) - 1) ** 2).mean()


def _penalty(critic, real, fake, eps=lambda: torch.rand(GP_BATCH, 1, 1, 1), of_grad=_of_gradient, track=True):
    """The gradient penalty with its weights drawn by ``eps()`` and computed from the gradient by ``of_grad``."""
    e = eps()
    x_hat = (e * real + (1 - e) * fake).requires_grad_(track)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return of_grad(grad)


_SQUARE_HINT = "penalise each sample's gradient norm's distance to 1: ((grad.flatten(1).norm(2, dim=1) - 1) ** 2)."
GP_MISTAKES = (
    WrongVersion(
        partial(_penalty, eps=lambda: torch.rand(REAL.shape)),
        "one interpolation weight per pixel: x_hat then mixes real and fake in different proportions in each pixel.",
        "draw one weight per sample: eps = torch.rand(real.shape[0], 1, 1, 1), not torch.rand_like(real).",
    ),
    WrongVersion(
        partial(_penalty, eps=lambda: torch.randn(GP_BATCH, 1, 1, 1)),
        "interpolation weights from a normal distribution: x_hat leaves the segment between real and fake.",
        "use a uniform distribution on [0, 1]: torch.rand, not torch.randn.",
    ),
    WrongVersion(
        partial(_penalty, eps=lambda: torch.rand(1)),
        "every sample uses the same interpolation weight: the penalty is taken on one mixture, not random points.",
        "draw a weight per sample: eps = torch.rand(real.shape[0], 1, 1, 1).",
    ),
    WrongVersion(
        partial(_penalty, eps=lambda: torch.rand(GP_BATCH, 1)),
        "the interpolation weights of shape (B, 1) do not broadcast over images of shape (B, 1, 28, 28).",
        "draw them with shape (B, 1, 1, 1): torch.rand(real.shape[0], 1, 1, 1).",
    ),
    WrongVersion(
        partial(_penalty, track=False),
        "torch.autograd.grad was asked for a gradient with respect to x_hat, but x_hat does not require grad.",
        "x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True).",
    ),
    WrongVersion(
        partial(_penalty, of_grad=lambda g: ((_norms(g) ** 2 - 1) ** 2).mean()),
        "your penalty is (||g||^2 - 1)^2, on the squared norm: WGAN-GP penalises (||g|| - 1)^2.",
        _SQUARE_HINT,
    ),
    WrongVersion(
        partial(_penalty, of_grad=lambda g: (_norms(g) ** 2).mean()),
        "your penalty is ||g||^2, the squared gradient norm: WGAN-GP penalises its distance to 1, (||g|| - 1)^2.",
        _SQUARE_HINT,
    ),
    WrongVersion(
        partial(_penalty, of_grad=lambda g: ((_norms(g) - 1).clamp(min=0) ** 2).mean()),
        "your penalty is one-sided, max(0, ||g|| - 1)^2: WGAN-GP also penalises norms below 1.",
        _SQUARE_HINT,
    ),
    WrongVersion(
        partial(_penalty, of_grad=lambda g: ((_norms(g) - 1) ** 2).sum()),
        f"your penalty sums over the batch instead of averaging: it is {GP_BATCH} times too large.",
        "average the per-sample penalties with .mean().",
    ),
    WrongVersion(
        partial(_penalty, of_grad=lambda g: (g.norm(2) - 1) ** 2),
        "the norm is taken over the whole batch at once, not per sample.",
        "one norm per sample: grad.flatten(1).norm(2, dim=1), shape (B,).",
    ),
)


@exercise_check("gradient_penalty")
def check_gradient_penalty(fn: Callable[[Callable, torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check ``fn(critic, real (B,1,28,28), fake (B,1,28,28)) -> scalar`` = ``mean (||grad f(x_hat)|| - 1)^2``."""
    return check_against_table(
        fn,
        losses.gradient_penalty,
        _observe_gp,
        GP_MISTAKES,
        "exact on linear critics ((||w|| - 1)^2), one uniform weight per sample, and backpropagates to the "
        "critic's weights (create_graph=True).",
        "eps = torch.rand(B, 1, 1, 1); x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True); the gradient of "
        "critic(x_hat).sum() with create_graph=True; ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean().",
    )


# ----------------------------------------------------------------------------------------------
# 06: ACGAN's discriminator loss: the real/fake loss (with D's mistakes) plus the class losses


def _acgan_loss(r, rc, rl, f, fc, fl, nll: Callable = _stable, reduce: Callable = torch.mean) -> torch.Tensor:
    ce = partial(F.cross_entropy, reduction="none")
    return _d_loss(r, f, nll, reduce) + reduce(ce(rc, rl)) + reduce(ce(fc, fl))


def _with_classes(d_loss: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    return lambda r, rc, rl, f, fc, fl: d_loss(r, f) + F.cross_entropy(rc, rl) + F.cross_entropy(fc, fl)


def _acgan_case(seed: int) -> tuple[torch.Tensor, ...]:
    labels = torch.randint(0, CLASSES, (2, BATCH), generator=torch.Generator().manual_seed(seed))
    real = (_randn(BATCH, seed=seed + 1), _randn(BATCH, CLASSES, seed=seed + 2, scale=2.0), labels[0])
    return (*real, _randn(BATCH, seed=seed + 3), _randn(BATCH, CLASSES, seed=seed + 4, scale=2.0), labels[1])


_BOTH = "add F.cross_entropy(real_class_logits, real_labels) and F.cross_entropy(fake_class_logits, fake_labels)."
ACGAN_MISTAKES = (
    *(WrongVersion(_with_classes(wrong.fn), wrong.problem, wrong.hint) for wrong in D_TERM_MISTAKES),
    WrongVersion(
        lambda r, rc, rl, f, fc, fl: _d_loss(r, f) + F.cross_entropy(rc, rl),
        "the class loss is applied to real images only: D also classifies the generated ones, by fake_labels.",
        _BOTH,
    ),
    WrongVersion(
        lambda r, rc, rl, f, fc, fl: _d_loss(r, f),
        "the class loss is missing: your loss is only the real/fake BCE.",
        _BOTH,
    ),
    WrongVersion(
        lambda r, rc, rl, f, fc, fl: _d_loss(r, f) + F.cross_entropy(rc, rl) + F.cross_entropy(fc, rl),
        "the generated images are classified against real_labels: their class is the label G was asked for.",
        "use F.cross_entropy(fake_class_logits, fake_labels).",
    ),
)


@exercise_check("acgan_discriminator_loss")
def check_acgan_discriminator_loss(fn: Callable[..., torch.Tensor]) -> str:
    """Check ``fn(real_logits, real_class_logits, real_labels, fake_logits, fake_class_logits, fake_labels)``.

    Logits ``(B,)``, class logits ``(B, K)``, labels ``(B,)`` int64: the BCE discriminator loss plus the class
    cross-entropy on real **and** generated images.
    """
    formula = "the real/fake BCE plus the class cross-entropy on real and on generated images"
    return check_against_table(
        fn,
        losses.acgan_discriminator_loss,
        partial(_observe, cases=[_acgan_case(600 + 10 * case) for case in range(3)]),
        (*ACGAN_MISTAKES, *_formula_mistakes(_acgan_loss, formula), *_probability_mistakes(_acgan_loss)),
        f"matches {formula}, and backpropagates.",
        "discriminator_loss(real_logits, fake_logits) + F.cross_entropy on each batch of class logits.",
    )
