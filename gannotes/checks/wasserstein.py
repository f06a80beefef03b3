"""Checks for the WGAN steps (07): the critic step with weight clipping, the generator step, and the
critic step with the gradient penalty.

Each check is a table (:func:`~gannotes.checks.core.check_against_table`): the learner's step, the
reference step of :mod:`gannotes.steps` and each wrong version below run through one fixed scenario
on tiny models with plain SGD, and what is compared is everything a step leaves behind: the loss it
returns (and a critic step's Wasserstein estimate), the parameters of G and of the critic after the
step, whether gradients reached G, and whether both networks are still trainable. SGD moves each
parameter by ``lr * grad``, so a wrong loss, a missing ``zero_grad`` (the scenario leaves stale
gradients in ``.grad`` first), a clip before the update or on the wrong network all leave different
parameters. Each wrong version is a wrong implementation, the way a learner would get it wrong
(written with one helper, :func:`_critic_step`, whose switches are the usual mistakes), with one message.

The scenario's critic starts with weights wider than ``c = 0.01`` (PyTorch's default initialisation),
so clipping changes it. The gradient-penalty step runs on a *linear* critic ``f(x) = <w, x> + b``:
its gradient with respect to the input is ``w`` everywhere, so the penalty ``(||w|| - 1)^2`` does
not depend on where between real and fake it is measured, and any correct ``gradient_penalty``
(the learner's, or the package's) gives the same update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .. import losses, steps
from ..models import MLPDiscriminator, MLPGenerator
from .core import (
    Raised,
    WrongVersion,
    check_against_table,
    describe,
    exercise_check,
    has_gradient,
    observe_call,
    seeded,
)

BATCH, Z_DIM, LR = 8, 8, 0.1
CLIP, GP_WEIGHT = 0.01, 10.0  # the defaults of steps.wgan_d_step and steps.wgan_gp_d_step
STALE = 0.5  # the gradient a previous step leaves in .grad: a step that forgets zero_grad adds it

_ORDER = "the order is optimizer.zero_grad(), loss.backward(), optimizer.step()"
_NOT_LOGITS = (
    "a critic's outputs are scores, not logits: no sigmoid, no log, no BCE; the critic loss is "
    "D(fake).mean() - D(real).mean()."
)


# --------------------------------------------------------------------------------------------
# The scenario


def _models(linear_critic: bool = False) -> tuple[nn.Module, nn.Module]:
    """A tiny generator and critic (no batch norm): an MLP critic, or a linear one (``depth=0``)."""
    G = MLPGenerator(z_dim=Z_DIM, hidden=16, depth=1)
    D = MLPDiscriminator(hidden=16, depth=0 if linear_critic else 1)
    return G, D


def _stale(model: nn.Module) -> None:
    for p in model.parameters():
        p.grad = torch.full_like(p, STALE)


def _loss(value: Any, key: str) -> Any:
    """What a step returned, as something to compare: its loss as a float tensor, or a description."""
    if isinstance(value, dict):
        if key not in value:
            return f"a dict without {key!r}"
        value = value[key]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value))
    if isinstance(value, torch.Tensor) and value.dim() == 0 and value.is_floating_point():
        return value.detach().float()
    return describe(value)


def _parameters(model: nn.Module) -> tuple[torch.Tensor, ...]:
    return tuple(p.detach().clone() for p in model.parameters())


def _trainable(model: nn.Module) -> bool:
    return all(p.requires_grad for p in model.parameters())


def _estimate(value: Any) -> Any:
    """The Wasserstein estimate a critic step returned (``"wasserstein"`` in its dict), or what stands instead."""
    if not isinstance(value, dict) or "wasserstein" not in value:
        return "no 'wasserstein' returned"
    return _loss(value, "wasserstein")


def _observe_d_step(fn: Callable[..., Any], linear_critic: bool) -> dict[str, Any]:
    """One critic step ``fn(G, D, d_optimizer, real, z)`` from a fixed start, and what it left."""
    with seeded(900):
        G, D = _models(linear_critic)
        real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
        z = torch.randn(BATCH, Z_DIM)
    _stale(D)
    optimizer = torch.optim.SGD(D.parameters(), lr=LR)
    out = observe_call(fn, G, D, optimizer, real, z)
    return {
        "loss": out if isinstance(out, Raised) else _loss(out, "d_loss"),
        "wasserstein": out if isinstance(out, Raised) else _estimate(out),
        "D": _parameters(D),
        "G": _parameters(G),
        "G has gradients": has_gradient(G),
        "trainable": (_trainable(G), _trainable(D)),
    }


def _observe_g_step(fn: Callable[..., Any]) -> dict[str, Any]:
    """One generator step ``fn(G, D, g_optimizer, z)`` from a fixed start, and what it left."""
    with seeded(910):
        G, D = _models()
        z = torch.randn(BATCH, Z_DIM)
    _stale(G)
    optimizer = torch.optim.SGD(G.parameters(), lr=LR)
    out = observe_call(fn, G, D, optimizer, z)
    return {
        "loss": out if isinstance(out, Raised) else _loss(out, "g_loss"),
        "G": _parameters(G),
        "G has gradients": has_gradient(G),
        "D": _parameters(D),
        "trainable": (_trainable(G), _trainable(D)),
    }


# --------------------------------------------------------------------------------------------
# Pieces of the wrong versions


def _fakes(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return G(z)


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def _clip(model: nn.Module, c: float = CLIP) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.clamp_(-c, c)


def _stats(loss: torch.Tensor, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> dict[str, torch.Tensor]:
    """What a critic step returns: its loss and the Wasserstein estimate mean f(x) - mean f(G(z))."""
    return {"d_loss": loss.detach(), "wasserstein": (real_scores.mean() - fake_scores.mean()).detach()}


def _penalty_without_graph(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The gradient penalty with the gradient taken without ``create_graph=True``: a constant for autograd."""
    eps = torch.rand(real.shape[0], 1, 1, 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def _critic_step(
    G,
    D,
    opt,
    real,
    z,
    *,
    loss_of=lambda r, f: f.mean() - r.mean(),
    penalty=0.0,
    penalty_fn=losses.gradient_penalty,
    detach=True,
    zero_grad=True,
    step_first=False,
    clip_before=(),
    clip_after=(),
    clip_grads=None,
    returns="stats",
):
    """A critic step with one or more of the usual mistakes switched on (the defaults: WGAN's, unclipped)."""
    for model in clip_before:
        _clip(model)
    fake = _fakes(G, z) if detach else G(z)
    real_scores, fake_scores = D(real), D(fake)
    loss = loss_of(real_scores, fake_scores)
    if penalty:
        loss = loss + penalty * penalty_fn(D, real, fake)
    if zero_grad:
        opt.zero_grad()
    if step_first:
        opt.step()
    loss.backward()
    if clip_grads is not None:
        clip_grads(D.parameters(), CLIP)
    if not step_first:
        opt.step()
    for model in clip_after:
        _clip(model)
    if returns == "stats":
        return _stats(loss, real_scores, fake_scores)
    if returns == "loss only":
        return loss.detach()
    if returns == "estimate as loss":  # "wasserstein": the loss, i.e. fake minus real
        return {"d_loss": loss.detach(), "wasserstein": loss.detach()}
    return None


# --------------------------------------------------------------------------------------------
# The critic step with weight clipping


def _d_no_return(G, D, opt, real, z):
    _critic_step(G, D, opt, real, z, clip_after=[D], returns=None)


def _d_loss_only(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, clip_after=[D], returns="loss only")


def _d_estimate_sign(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, clip_after=[D], returns="estimate as loss")


def _d_sign_flipped(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, loss_of=lambda r, f: r.mean() - f.mean(), clip_after=[D])


def _d_bce(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, loss_of=losses.discriminator_loss, clip_after=[D])


def _d_sigmoid(G, D, opt, real, z):
    sigmoid_loss = lambda r, f: torch.sigmoid(f).mean() - torch.sigmoid(r).mean()  # noqa: E731
    return _critic_step(G, D, opt, real, z, loss_of=sigmoid_loss, clip_after=[D])


def _d_sum(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, loss_of=lambda r, f: f.sum() - r.sum(), clip_after=[D])


def _d_no_clip(G, D, opt, real, z):
    stats = _critic_step(G, D, opt, real, z)
    for p in D.parameters():
        p = p.clamp(-CLIP, CLIP)  # noqa: PLW2901 - rebinds the name p: the parameter itself is unchanged
    return stats


def _d_clip_before(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, clip_before=[D])


def _d_clip_g(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, clip_after=[G])


def _d_clip_both(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, clip_after=[D, G])


def _d_clip_grad_value(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, clip_grads=nn.utils.clip_grad_value_)


def _d_clip_grad_norm(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, clip_grads=nn.utils.clip_grad_norm_)


def _d_clip_weights_only(G, D, opt, real, z):
    stats = _critic_step(G, D, opt, real, z)
    with torch.no_grad():
        for name, p in D.named_parameters():
            if "weight" in name:
                p.clamp_(-CLIP, CLIP)
    return stats


def _d_no_zero_grad(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, zero_grad=False, clip_after=[D])


def _d_step_before_backward(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, step_first=True, clip_after=[D])


def _d_not_detached(G, D, opt, real, z):
    return _critic_step(G, D, opt, real, z, detach=False, clip_after=[D])


def _d_g_left_frozen(G, D, opt, real, z):
    G.requires_grad_(False)
    return _critic_step(G, D, opt, real, z, detach=False, clip_after=[D])


_RETURN_STATS = 'return {"d_loss": loss.detach(), "wasserstein": (real_scores.mean() - fake_scores.mean()).detach()}'
_NO_RETURN = (
    "your step returns None: the training loop records the loss it returns.",
    "end the step with return loss.detach().",
)
_NO_STATS = (
    "your step returns None: the training loop records the loss and the Wasserstein estimate it returns.",
    "end the step with " + _RETURN_STATS + ".",
)
_LOSS_ONLY = (
    "your step returns the loss only: the training loop also needs the critic's Wasserstein estimate, the "
    "number to watch during training.",
    _RETURN_STATS + ", with the scores computed before the update.",
)
_ESTIMATE_SIGN = (
    "the Wasserstein estimate you return has the wrong sign: it is mean f(x) - mean f(G(z)), real minus "
    "generated, the opposite of the critic's loss.",
    _RETURN_STATS + ".",
)
_CLIP_MISSING = (
    "the critic's parameters were not clipped: after your step they lie outside [-c, c] = [-0.01, 0.01]. "
    "(A loop like `for p in D.parameters(): p = p.clamp(-c, c)` only rebinds the name p.)",
    "after d_optimizer.step(), clip in place: with torch.no_grad(): for p in D.parameters(): p.clamp_(-clip, clip).",
)
_CLIP_GRADIENTS = (
    "you clipped the critic's gradients, not its weights: WGAN's constraint bounds the weights themselves.",
    "drop the gradient clipping; after d_optimizer.step(), clamp every parameter: p.clamp_(-clip, clip) "
    "under torch.no_grad().",
)

WGAN_D_STEP_WRONG_VERSIONS = (
    WrongVersion(_d_no_return, *_NO_STATS),
    WrongVersion(_d_loss_only, *_LOSS_ONLY),
    WrongVersion(_d_estimate_sign, *_ESTIMATE_SIGN),
    WrongVersion(
        _d_sign_flipped,
        "sign flipped: your critic minimises mean f(x) - mean f(G(z)), the Wasserstein estimate it should "
        "maximise, so it learns to score generated images above real ones.",
        "loss = D(fake).mean() - D(real).mean().",
    ),
    WrongVersion(_d_bce, "your critic step uses the BCE discriminator loss (sigmoid and log).", _NOT_LOGITS),
    WrongVersion(_d_sigmoid, "you applied a sigmoid to the critic's scores.", _NOT_LOGITS),
    WrongVersion(
        _d_sum,
        f"your critic loss sums the scores over the batch instead of averaging them: it is {BATCH} times too large.",
        "use .mean() on each batch of scores.",
    ),
    WrongVersion(_d_no_clip, *_CLIP_MISSING),
    WrongVersion(
        _d_clip_before,
        "you clipped before the optimiser update: the update then moves the weights out of [-c, c] again, and "
        "the critic that scores the next batch is not clipped.",
        "clip after d_optimizer.step(), as the last thing the step does.",
    ),
    WrongVersion(
        _d_clip_g,
        "you clipped G's weights instead of the critic's: the Lipschitz constraint is on the critic, and G must "
        "not change in the critic's step.",
        "clip D.parameters(), not G.parameters().",
    ),
    WrongVersion(
        _d_clip_both,
        "you clipped G's weights as well as the critic's: only the critic must be Lipschitz, and G must not "
        "change in the critic's step.",
        "clip D.parameters() only.",
    ),
    WrongVersion(_d_clip_grad_value, *_CLIP_GRADIENTS),
    WrongVersion(_d_clip_grad_norm, *_CLIP_GRADIENTS),
    WrongVersion(
        _d_clip_weights_only,
        "only the weights were clipped, not the biases: WGAN clips every parameter of the critic.",
        "loop over all of D.parameters(), without filtering by name.",
    ),
    WrongVersion(
        _d_no_zero_grad,
        "zero_grad missing: the gradients already in the critic's .grad were added to this step's (PyTorch "
        "accumulates gradients across backward() calls).",
        "call d_optimizer.zero_grad() before loss.backward(); " + _ORDER + ".",
    ),
    WrongVersion(
        _d_step_before_backward,
        "the critic was clipped but not updated: d_optimizer.step() ran before loss.backward(), when there were "
        "no gradients yet.",
        _ORDER + ", then the clip.",
    ),
    WrongVersion(
        _d_not_detached,
        "fake images not detached: the critic's loss sent gradients into G (G's .grad is filled), wasted work that "
        "also pollutes G's next update.",
        "make the fakes under torch.no_grad(), or with G(z).detach().",
    ),
    WrongVersion(
        _d_g_left_frozen,
        "G is left frozen (requires_grad False) after your critic step: the generator step would not train it.",
        "do not freeze G here: make the fakes under torch.no_grad() (or G(z).detach()) instead.",
    ),
)


@exercise_check("wgan_d_step")
def check_wgan_d_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real, z) -> {"d_loss", "wasserstein"}``: one critic update on
    ``mean f(G(z)) - mean f(x)``, then every critic parameter clipped into ``[-0.01, 0.01]`` (the default
    ``clip``); it returns the loss and the estimate ``mean f(x) - mean f(G(z))``, both from before the update."""
    return check_against_table(
        fn,
        steps.wgan_d_step,
        lambda f: _observe_d_step(f, linear_critic=False),
        WGAN_D_STEP_WRONG_VERSIONS,
        "returns the critic loss mean f(G(z)) - mean f(x) and the Wasserstein estimate, updates the critic like "
        "the reference (zero_grad, backward, step), clips every critic parameter into [-c, c] after the update, "
        "and leaves G untouched.",
        "fakes under torch.no_grad(); loss = D(fake).mean() - D(real).mean(); zero_grad, backward, step; then "
        "clamp every parameter of D into [-clip, clip] in place; " + _RETURN_STATS + ".",
    )


# --------------------------------------------------------------------------------------------
# The generator step (WGAN and WGAN-GP)


def _g_frozen(D: nn.Module, loss_of_scores: Callable[[torch.Tensor], torch.Tensor], G, opt, z) -> torch.Tensor:
    D.requires_grad_(False)
    loss = loss_of_scores(D(G(z)))
    _update(opt, loss)
    D.requires_grad_(True)
    return loss.detach()


def _g_no_return(G, D, opt, z):
    _g_frozen(D, losses.critic_generator_loss, G, opt, z)


def _g_sign_flipped(G, D, opt, z):
    return _g_frozen(D, lambda s: s.mean(), G, opt, z)


def _g_bce(G, D, opt, z):
    return _g_frozen(D, losses.generator_loss_non_saturating, G, opt, z)


def _g_sum(G, D, opt, z):
    return _g_frozen(D, lambda s: -s.sum(), G, opt, z)


def _g_penalty_at_fakes(G, D, opt, z):
    D.requires_grad_(False)
    fake = G(z)
    loss = -D(fake).mean() + GP_WEIGHT * losses.gradient_penalty(D, fake, fake)
    _update(opt, loss)
    D.requires_grad_(True)
    return loss.detach()


def _g_detached(G, D, opt, z):
    return _g_frozen(D, losses.critic_generator_loss, lambda z: G(z).detach(), opt, z)


def _g_detached_not_frozen(G, D, opt, z):
    loss = -D(G(z).detach()).mean()
    _update(opt, loss)
    return loss.detach()


def _g_no_zero_grad(G, D, opt, z):
    D.requires_grad_(False)
    loss = -D(G(z)).mean()
    loss.backward()
    opt.step()
    D.requires_grad_(True)
    return loss.detach()


def _g_step_before_backward(G, D, opt, z):
    D.requires_grad_(False)
    loss = -D(G(z)).mean()
    opt.zero_grad()
    opt.step()
    loss.backward()
    D.requires_grad_(True)
    return loss.detach()


def _g_d_left_frozen(G, D, opt, z):
    D.requires_grad_(False)
    loss = -D(G(z)).mean()
    _update(opt, loss)
    return loss.detach()


def _g_clip_g(G, D, opt, z):
    loss = _g_frozen(D, losses.critic_generator_loss, G, opt, z)
    _clip(G)
    return loss


def _g_clip_d(G, D, opt, z):
    loss = _g_frozen(D, losses.critic_generator_loss, G, opt, z)
    _clip(D)
    return loss


_PENALTY_IN_G = (
    "you added a gradient penalty to the generator's loss: the penalty constrains the critic and belongs in "
    "the critic's loss only.",
    "the generator's loss is just -D(G(z)).mean(), for WGAN and WGAN-GP alike.",
)

_G_DETACHED = (
    "G received no gradient: the fakes were detached (or made under torch.no_grad()), so the critic's score "
    "cannot flow back into G.",
    "in the generator step, do not detach: loss = -D(G(z)).mean().",
)

WGAN_G_STEP_WRONG_VERSIONS = (
    WrongVersion(_g_no_return, *_NO_RETURN),
    WrongVersion(
        _g_sign_flipped,
        "sign flipped: your generator minimises mean f(G(z)), so it makes its images score *lower*, less like "
        "real ones.",
        "loss = -D(G(z)).mean().",
    ),
    WrongVersion(
        _g_bce,
        "your generator step uses the non-saturating BCE loss -ln sigmoid(f(G(z))): the critic's outputs are "
        "scores, not logits.",
        "loss = -D(G(z)).mean(), no sigmoid, no log.",
    ),
    WrongVersion(
        _g_sum,
        f"your generator loss sums the scores over the batch instead of averaging them: it is {BATCH} times too large.",
        "loss = -D(G(z)).mean().",
    ),
    WrongVersion(_g_penalty_at_fakes, *_PENALTY_IN_G),
    WrongVersion(_g_detached, *_G_DETACHED),
    WrongVersion(_g_detached_not_frozen, *_G_DETACHED),
    WrongVersion(
        _g_no_zero_grad,
        "zero_grad missing: the gradients already in G's .grad were added to this step's.",
        "call g_optimizer.zero_grad() before loss.backward(); " + _ORDER + ".",
    ),
    WrongVersion(
        _g_step_before_backward,
        "G did not change: g_optimizer.step() ran before loss.backward(), when there were no gradients yet.",
        _ORDER + ".",
    ),
    WrongVersion(
        _g_d_left_frozen,
        "the critic is still frozen after your step: the next critic step would not train it.",
        "set D.requires_grad_(True) again at the end of the generator step.",
    ),
    WrongVersion(
        _g_clip_g,
        "you clipped G's weights: clipping is the critic's Lipschitz constraint, and G is never clipped.",
        "remove the clipping from the generator step; the critic step clips the critic.",
    ),
    WrongVersion(
        _g_clip_d,
        "your generator step clipped the critic: the generator step must leave the critic unchanged, and it is "
        "shared with WGAN-GP, whose critic must not be clipped at all.",
        "clip only in wgan_d_step, after the critic's update.",
    ),
)


@exercise_check("wgan_g_step")
def check_wgan_g_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, g_optimizer, z) -> loss``: one update of G on ``-mean f(G(z))`` through a frozen critic."""
    return check_against_table(
        fn,
        steps.wgan_g_step,
        _observe_g_step,
        WGAN_G_STEP_WRONG_VERSIONS,
        "returns -mean f(G(z)), updates G like the reference, and leaves the critic unchanged and trainable.",
        "D.requires_grad_(False); loss = -D(G(z)).mean(); zero_grad, backward, step; D.requires_grad_(True); "
        "return loss.detach().",
    )


# --------------------------------------------------------------------------------------------
# The critic step with the gradient penalty


def _gp_step(G, D, opt, real, z, **mistakes):
    return _critic_step(G, D, opt, real, z, **{"penalty": GP_WEIGHT, **mistakes})


def _gp_no_return(G, D, opt, real, z):
    _gp_step(G, D, opt, real, z, returns=None)


def _gp_loss_only(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, returns="loss only")


def _gp_estimate_with_penalty(G, D, opt, real, z):
    stats = _gp_step(G, D, opt, real, z)
    return {"d_loss": stats["d_loss"], "wasserstein": -stats["d_loss"]}


def _gp_sign_flipped(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, loss_of=lambda r, f: r.mean() - f.mean())


def _gp_bce(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, loss_of=losses.discriminator_loss)


def _gp_missing(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, penalty=0.0)


def _gp_weight_missing(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, penalty=1.0)


def _gp_subtracted(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, penalty=-GP_WEIGHT)


def _gp_no_graph(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, penalty_fn=_penalty_without_graph)


def _gp_and_clip(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, clip_after=[D])


def _gp_no_zero_grad(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, zero_grad=False)


def _gp_step_before_backward(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, step_first=True)


def _gp_not_detached(G, D, opt, real, z):
    return _gp_step(G, D, opt, real, z, detach=False)


WGAN_GP_D_STEP_WRONG_VERSIONS = (
    WrongVersion(_gp_no_return, *_NO_STATS),
    WrongVersion(_gp_loss_only, *_LOSS_ONLY),
    WrongVersion(
        _gp_estimate_with_penalty,
        "the Wasserstein estimate you return includes the penalty: the estimate is the critic's term only, "
        "mean f(x) - mean f(G(z)).",
        _RETURN_STATS + ".",
    ),
    WrongVersion(
        _gp_sign_flipped,
        "sign flipped: your critic minimises mean f(x) - mean f(G(z)) (plus the penalty), so it learns to score "
        "generated images above real ones.",
        "loss = D(fake).mean() - D(real).mean() + gp_weight * gradient_penalty(D, real, fake).",
    ),
    WrongVersion(_gp_bce, "your critic step uses the BCE discriminator loss (sigmoid and log).", _NOT_LOGITS),
    WrongVersion(
        _gp_missing,
        "the gradient penalty is missing: nothing keeps this critic Lipschitz (and there is no clipping here).",
        "add gp_weight * gradient_penalty(D, real, fake) to the critic loss.",
    ),
    WrongVersion(
        _gp_weight_missing,
        f"the penalty weight is missing: the penalty enters the loss with weight 1, not lambda = {GP_WEIGHT:g}.",
        "loss = critic loss + gp_weight * gradient_penalty(D, real, fake).",
    ),
    WrongVersion(
        _gp_subtracted,
        "you subtracted the penalty: the critic would then be rewarded for gradients far from norm 1.",
        "add it: loss = critic loss + gp_weight * gradient_penalty(D, real, fake).",
    ),
    WrongVersion(
        _gp_no_graph,
        "the penalty is in the loss's value but not in its gradient, so it does not train the critic: it was "
        "detached (.item(), .detach()), or its input gradient was computed without create_graph=True.",
        "use the tensor gradient_penalty returns as it is (it is computed with create_graph=True) and add it to "
        "the loss.",
    ),
    WrongVersion(
        _gp_and_clip,
        "you clipped the critic's weights as well: the gradient penalty replaces weight clipping, and clipping "
        "would squeeze the critic's gradients far below the norm 1 the penalty asks for.",
        "remove the clipping from the gradient-penalty step.",
    ),
    WrongVersion(
        _gp_no_zero_grad,
        "zero_grad missing: the gradients already in the critic's .grad were added to this step's.",
        "call d_optimizer.zero_grad() before loss.backward(); " + _ORDER + ".",
    ),
    WrongVersion(
        _gp_step_before_backward,
        "the critic did not change: d_optimizer.step() ran before loss.backward(), when there were no gradients yet.",
        _ORDER + ".",
    ),
    WrongVersion(
        _gp_not_detached,
        "fake images not detached: the critic's loss sent gradients into G (G's .grad is filled), wasted work that "
        "also pollutes G's next update.",
        "make the fakes under torch.no_grad(), or with G(z).detach(), and pass those to the penalty too.",
    ),
)


@exercise_check("wgan_gp_d_step")
def check_wgan_gp_d_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real, z) -> {"d_loss", "wasserstein"}``: one critic update on
    ``mean f(G(z)) - mean f(x) + 10 * gradient_penalty``, with no clipping; it returns that loss and the
    estimate ``mean f(x) - mean f(G(z))`` (without the penalty)."""
    return check_against_table(
        fn,
        steps.wgan_gp_d_step,
        lambda f: _observe_d_step(f, linear_critic=True),
        WGAN_GP_D_STEP_WRONG_VERSIONS,
        "returns mean f(G(z)) - mean f(x) + 10 * penalty and the Wasserstein estimate, and updates the critic like "
        "the reference (the penalty trains it), without clipping and without touching G.",
        "fakes under torch.no_grad(); loss = D(fake).mean() - D(real).mean() + gp_weight * "
        "gradient_penalty(D, real, fake); zero_grad, backward, step; " + _RETURN_STATS + ".",
    )
