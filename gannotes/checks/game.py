"""Checks for notebook 02's exercises on the game itself: the optimal discriminator's logit (derived, not copied),
the two generator losses' gradients (derived with the chain rule), and the generator's step written the way Keras
tutorials write it (an "adversarial model", G then a frozen D, trained on labels that all say "real").

Each exercise's reference is here too, under the exercise's name: a notebook falls back on it until the learner's
version passes. Table checks (:func:`~gannotes.checks.core.check_against_table`): the learner's function, the
reference and each wrong version run through the same scenario and are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models import MLPDiscriminator, MLPGenerator
from .core import Raised, WrongVersion, check_against_table, describe, exercise_check, fail, observe_call, seeded

# ----------------------------------------------------------------------------------------------
# The optimal discriminator's logit, from the two log-densities


def optimal_discriminator_logit(log_p_data: Tensor, log_p_g: Tensor) -> Tensor:
    """The reference: the logit of ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``, which is ``ln p_data - ln p_g``.

    In log space, so that densities far too small for floating point (log-densities of -1000) still work.
    """
    return log_p_data - log_p_g


# Log-densities like a model's on ordinary data, then far in the tails, where exp() underflows to 0.
_LOG_DENSITIES = (
    (torch.tensor([-0.5, -1.2, -3.0, -0.9, -6.0, -2.2]), torch.tensor([-2.5, -0.3, -1.0, -0.9, -0.7, -4.1])),
    (torch.tensor([-1000.0, -1150.0, -20.0]), torch.tensor([-1003.0, -1100.0, -900.0])),
)
_LOG_SPACE = "stay in log space: ln(p_data / p_g) = log_p_data - log_p_g, never exp() of a log-density."


def _observe_logit(f: Callable[..., Any]) -> list[Any]:
    """``f``'s result on each pair of log-densities, NaN replaced by a number no logit reaches (NaN != NaN)."""
    seen = []
    for log_p_data, log_p_g in _LOG_DENSITIES:
        out = observe_call(f, log_p_data.clone(), log_p_g.clone())
        if isinstance(out, Raised):
            seen.append(out)
            continue
        if not isinstance(out, Tensor) or out.shape != log_p_data.shape:
            got = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else describe(out)
            fail(
                f"your function should return a tensor of shape {tuple(log_p_data.shape)}, one logit per point; "
                f"got {got}.",
                "work element by element on the two tensors, with torch operations.",
            )
        seen.append(out.detach().double().nan_to_num(nan=-1e30))
    return seen


_LOGIT_HINT = "D* = a / (a + b) with a = p_data(x), b = p_g(x); its logit is ln(D* / (1 - D*)): simplify it."
LOGIT_MISTAKES = (
    WrongVersion(
        lambda a, b: b - a,
        "the sign is flipped: your logit is ln p_g - ln p_data, so D* would call 'real' the points where the "
        "generator's samples are denser.",
        _LOGIT_HINT,
    ),
    WrongVersion(
        lambda a, b: torch.sigmoid(a - b),
        "you return D*(x) itself, a probability in (0, 1); the exercise asks for its logit, the number D outputs "
        "before the sigmoid.",
        _LOGIT_HINT,
    ),
    WrongVersion(
        lambda a, b: a - torch.logaddexp(a, b),
        "you return ln D*(x), the log of the probability, not its logit ln(D* / (1 - D*)).",
        _LOGIT_HINT,
    ),
    WrongVersion(
        lambda a, b: torch.exp(a - b),
        "you return the density ratio p_data / p_g; the logit is its logarithm.",
        _LOGIT_HINT,
    ),
    WrongVersion(
        lambda a, b: torch.exp(a) - torch.exp(b),
        "you return the difference of the densities, p_data - p_g; the logit is the log of their ratio.",
        _LOGIT_HINT,
    ),
    WrongVersion(
        lambda a, b: a,
        "your logit is ln p_data alone: D* compares the two densities, so p_g must appear.",
        _LOGIT_HINT,
    ),
    WrongVersion(
        lambda a, b: torch.log(torch.exp(a) / torch.exp(b)),
        "numerically unstable: your logit is nan at log-densities like -1000, where exp() is exactly 0 and the "
        "ratio is 0 / 0.",
        _LOG_SPACE,
    ),
)


@exercise_check("optimal_discriminator_logit")
def check_optimal_discriminator_logit(fn: Callable[[Tensor, Tensor], Tensor]) -> str:
    """Check ``fn(log_p_data (N,), log_p_g (N,)) -> (N,)``: the logit of the optimal discriminator at N points."""
    return check_against_table(
        fn,
        optimal_discriminator_logit,
        _observe_logit,
        LOGIT_MISTAKES,
        "your logit is ln p_data - ln p_g, the log of the density ratio, exact also at log-densities of -1000.",
        _LOGIT_HINT.removesuffix(": simplify it.") + ", simplified; " + _LOG_SPACE,
    )


# ----------------------------------------------------------------------------------------------
# The two generator losses' derivatives with respect to the logit, as functions of D(G(z))


def generator_loss_gradients(d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """The reference: the derivatives with respect to the logit ``l`` of one sample's two generator losses,
    as functions of ``D = sigmoid(l)``: ``d/dl ln(1 - D) = -D`` (saturating), ``d/dl (-ln D) = -(1 - D)``.
    """
    return -d_fake, -(1 - d_fake)


# Verdicts of a D that rejects the fakes (1e-4), is unsure (0.5) or is fooled (0.9999).
_VERDICTS = torch.tensor([1e-4, 0.01, 0.2, 0.5, 0.8, 0.9999])
_CHAIN_HINT = "with D = sigmoid(l), dD/dl = D (1 - D); multiply each loss's derivative with respect to D by it."


def _observe_gradients(f: Callable[..., Any]) -> Any:
    out = observe_call(f, _VERDICTS.clone())
    if isinstance(out, Raised):
        return out
    if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, Tensor) for t in out)):
        fail(
            f"your function should return a pair of tensors (saturating, non_saturating); got {describe(out)}"
            + (f" of length {len(out)}." if isinstance(out, (tuple, list)) else "."),
            "return saturating_gradient, non_saturating_gradient: two tensors shaped like d_fake.",
        )
    if any(t.shape != _VERDICTS.shape for t in out):
        fail(
            f"each derivative should have d_fake's shape {tuple(_VERDICTS.shape)}, one per sample; got "
            f"{tuple(out[0].shape)} and {tuple(out[1].shape)}.",
            "compute element by element from d_fake, without summing or averaging.",
        )
    return tuple(t.detach().double().nan_to_num(nan=-1e30) for t in out)


GRADIENT_MISTAKES = (
    WrongVersion(
        lambda d: (-(1 - d), -d),
        "the two derivatives are swapped: yours say the saturating loss is the steep one when D(G(z)) is near 0.",
        "ln(1 - D) is the saturating loss, -ln D the non-saturating one; " + _CHAIN_HINT,
    ),
    WrongVersion(
        lambda d: (-1 / (1 - d), -1 / d),
        "these are the derivatives with respect to D(G(z)), not with respect to the logit: the chain rule's "
        "factor dD/dl is missing.",
        _CHAIN_HINT,
    ),
    WrongVersion(
        lambda d: (d, 1 - d),
        "both have the wrong sign (or you returned their sizes): raising the logit raises D(G(z)), which lowers "
        "both losses, so both derivatives are negative.",
        "keep the signs: " + _CHAIN_HINT,
    ),
    WrongVersion(
        lambda d: (d, -(1 - d)),
        "the saturating loss's derivative has the wrong sign: ln(1 - D) falls as D rises, so its derivative is "
        "negative.",
        _CHAIN_HINT,
    ),
    WrongVersion(
        lambda d: (torch.log(1 - d), -torch.log(d)),
        "you return the losses ln(1 - D) and -ln D themselves, not their derivatives with respect to the logit.",
        _CHAIN_HINT,
    ),
    WrongVersion(
        lambda d: (-d * (1 - d), -d * (1 - d)),
        "both are dD/dl = D (1 - D), the sigmoid's derivative, with a minus sign: the derivative of each loss "
        "with respect to D is missing.",
        "d/dD ln(1 - D) = -1 / (1 - D) and d/dD (-ln D) = -1 / D; " + _CHAIN_HINT,
    ),
)


@exercise_check("generator_loss_gradients")
def check_generator_loss_gradients(fn: Callable[[Tensor], tuple[Tensor, Tensor]]) -> str:
    """Check ``fn(d_fake (N,)) -> (saturating (N,), non_saturating (N,))``: each generator loss's derivative with
    respect to the logit, as a function of ``D(G(z))``."""
    return check_against_table(
        fn,
        generator_loss_gradients,
        _observe_gradients,
        GRADIENT_MISTAKES,
        "-D(G(z)) for the saturating loss and -(1 - D(G(z))) for the non-saturating one, from D = 1e-4 to 0.9999.",
        _CHAIN_HINT,
    )


# ----------------------------------------------------------------------------------------------
# The generator's step, Keras style: an "adversarial model" G -> frozen D, trained on labels "real"


def adversarial_g_step(G: nn.Module, D: nn.Module, g_optimizer: torch.optim.Optimizer, z: Tensor) -> Tensor:
    """The reference: one update of G through the adversarial model ``D(G(z))`` with D frozen, a binary
    cross-entropy against labels that all say "real" (1); returns the loss, detached."""
    adversarial = nn.Sequential(G, D)  # G followed by D: noise in, D's logit out
    D.requires_grad_(False)  # frozen: the gradient flows through D to G, D's weights get none
    logits = adversarial(z)
    loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))  # every fake labelled "real"
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)  # trainable again for D's own step
    return loss.detach()


_Z_DIM, _BATCH, _LR = 4, 16, 0.1


def _keras_step(
    G: nn.Module,
    D: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    z: Tensor,
    label: float = 1.0,
    sign: float = 1.0,
    freeze: bool = True,
    unfreeze: bool = True,
    zero_grad: bool = True,
    update: bool = True,
    detach: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """The adversarial-model step with one of the usual mistakes switched on by its keyword."""
    D.requires_grad_(not freeze)
    fake = G(z).detach() if detach else G(z)
    logits = D(fake)
    loss = sign * F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label), reduction=reduction)
    if zero_grad:
        g_optimizer.zero_grad()
    loss.backward()
    if update:
        g_optimizer.step()
    if unfreeze:
        D.requires_grad_(True)
    return loss.detach()


def _observe_step(f: Callable[..., Any]) -> Any:
    """One call of the step on 1-D data, D confident that the fakes are fake (D(G(z)) near 0.05, where the saturating
    and non-saturating gradients differ), G's gradients holding a stale 1 (a forgotten zero_grad adds it).

    Returns what it returned, G's and D's weights after, whether D got gradients and whether D is trainable again.
    """
    with seeded(900):
        G = MLPGenerator(z_dim=_Z_DIM, out_shape=(1,), hidden=16, tanh=False, depth=1)
        D = MLPDiscriminator(in_shape=(1,), hidden=16, depth=1)
        z = torch.randn(_BATCH, _Z_DIM)
    with torch.no_grad():
        D.net[-1].bias.fill_(-3.0)  # logits near -3: D(G(z)) near 0.05
    for p in G.parameters():
        p.grad = torch.ones_like(p)
    out = observe_call(f, G, D, torch.optim.SGD(G.parameters(), lr=_LR), z)
    if isinstance(out, Raised):
        return out
    if isinstance(out, Tensor) and out.numel() == 1:
        out = out.detach().float().reshape(())
    elif isinstance(out, (int, float)):
        out = torch.tensor(float(out))
    else:
        fail(f"your step should return the loss, a scalar tensor; it returned {describe(out)}.", "return loss.detach()")
    flat = [torch.cat([p.detach().flatten() for p in model.parameters()]) for model in (G, D)]
    d_grads = any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in D.parameters())
    d_trainable = all(p.requires_grad for p in D.parameters())
    return out, *flat, d_grads, d_trainable


_LABELS_HINT = (
    "logits = nn.Sequential(G, D)(z); loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))."
)
STEP_MISTAKES = (
    WrongVersion(
        lambda G, D, opt, z: _keras_step(G, D, opt, z, label=0.0),
        "your labels say 'fake' (0): G is trained to make D reject its samples, the opposite of its goal.",
        "the adversarial model is trained on labels that all say 'real' (1): that is the label flip. " + _LABELS_HINT,
    ),
    WrongVersion(
        lambda G, D, opt, z: _keras_step(G, D, opt, z, label=0.0, sign=-1.0),
        "you flipped the sign of D's loss on the fakes instead of the labels: -BCE(D(G(z)), 0) = ln(1 - D(G(z))) is "
        "the saturating minimax loss, whose gradient vanishes while D rejects the fakes.",
        "flip the labels, not the sign: BCE(D(G(z)), 1) = -ln D(G(z)). " + _LABELS_HINT,
    ),
    WrongVersion(
        lambda G, D, opt, z: _keras_step(G, D, opt, z, freeze=False),
        "D is not frozen: backward() also computed gradients for D's weights, work the generator's step must not do "
        "(Keras: discriminator.trainable = False).",
        "D.requires_grad_(False) before the forward pass, D.requires_grad_(True) after the update.",
    ),
    WrongVersion(
        lambda G, D, opt, z: _keras_step(G, D, opt, z, unfreeze=False),
        "D is still frozen after your step: its own next update would compute no gradients and learn nothing.",
        "end the step with D.requires_grad_(True).",
    ),
    WrongVersion(
        lambda G, D, opt, z: _keras_step(G, D, opt, z, zero_grad=False),
        "G's old gradients were added to the new ones: PyTorch accumulates .grad across backward() calls.",
        "call g_optimizer.zero_grad() before loss.backward().",
    ),
    WrongVersion(
        lambda G, D, opt, z: _keras_step(G, D, opt, z, update=False),
        "G's weights did not change: the step computes the gradients but never applies them.",
        "call g_optimizer.step() after loss.backward().",
    ),
    WrongVersion(
        lambda G, D, opt, z: _keras_step(G, D, opt, z, detach=True),
        "the fakes were detached from G, so the loss has no path back to G's weights: backward() has nothing to do.",
        "keep the graph: logits = nn.Sequential(G, D)(z), without .detach() or torch.no_grad().",
    ),
    WrongVersion(
        lambda G, D, opt, z: _keras_step(G, D, opt, z, reduction="sum"),
        f"your loss sums over the batch instead of averaging: it and G's update are {_BATCH} times too large.",
        "F.binary_cross_entropy_with_logits averages by default (reduction='mean').",
    ),
)


@exercise_check("adversarial_g_step")
def check_adversarial_g_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, g_optimizer, z (B, z_dim)) -> loss``: one Keras-style generator update through
    ``nn.Sequential(G, D)`` with D frozen, labels all "real"."""
    return check_against_table(
        fn,
        adversarial_g_step,
        _observe_step,
        STEP_MISTAKES,
        "one update of G through the frozen D, on labels that all say 'real'; D untouched and trainable again.",
        "freeze D, BCE of nn.Sequential(G, D)(z) against ones, zero_grad / backward / step, unfreeze D.",
    )
