"""Checks for the WGAN steps (07): the critic step with weight clipping, the generator step, and the
critic step with the gradient penalty.

The steps follow the contract of :mod:`gannotes.steps`: a critic step makes the fakes ``G(z)`` once,
with their graph, trains the critic on ``D(real)`` and ``D(fake.detach())``, and returns
``(fake, stats)``; the generator step gets those fakes, ``wgan_g_step(G, D, g_optimizer, fake)``,
and trains G through them.

Each check is a table (:func:`~gannotes.checks.core.check_against_table`): the learner's step, the
reference step of :mod:`gannotes.steps` and each wrong version below run through one fixed scenario
on tiny models with plain SGD, and what is compared is everything a step leaves behind: the fakes a
critic step returns (their values, and whether a backward pass through them still reaches G), the
loss it returns (and a critic step's Wasserstein estimate), the parameters of G and of the critic
after the step, whether gradients reached G, and whether both networks are still trainable. SGD
moves each parameter by ``lr * grad``, so a wrong loss, a missing ``zero_grad`` (the scenario leaves
stale gradients in ``.grad`` first), a clip before the update or on the wrong network all leave
different parameters. Each wrong version is a wrong implementation, the way a learner would get it
wrong (written with two helpers, :func:`_critic_step` and :func:`_generator_step`, whose switches
are the usual mistakes), with one message.

The fakes are made once per training step: a critic step runs G exactly once, the generator step
not at all. A step that runs G any other number of times is observed by that count alone (whatever
else it does), so that every way of generating twice, or of regenerating in the generator step, gets
the one message that names it.

The scenario's critic starts with weights wider than ``c = 0.01`` (PyTorch's default initialisation),
so clipping changes it. The gradient-penalty step runs on a *linear* critic ``f(x) = <w, x> + b``:
its gradient with respect to the input is ``w`` everywhere, so the penalty ``(||w|| - 1)^2`` does
not depend on where between real and fake it is measured, and any correct ``gradient_penalty``
(the learner's, or the package's) gives the same update. Because that penalty does not depend on
the fakes at all, the step also runs once more with a smooth (tanh) critic, where only one thing is
observed, whether gradients reached G: that is how fakes passed to the penalty with their graph show.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import nn

from .. import losses, steps
from ..models import MLPGenerator
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
from .steps_scenario import BATCH, LR, Z_DIM, loss_seen, models_after, run_step
from .steps_scenario import tiny_models as _models

CLIP, GP_WEIGHT = 0.01, 10.0  # the defaults of steps.wgan_d_step and steps.wgan_gp_d_step
STALE = 0.5  # the gradient a previous step leaves in .grad: a step that forgets zero_grad adds it

_ORDER = "the order is optimizer.zero_grad(), loss.backward(), optimizer.step()"
_NOT_LOGITS = (
    "a critic's outputs are scores, not logits: no sigmoid, no log, no BCE; the critic loss is "
    "D(fake.detach()).mean() - D(real).mean()."
)


# --------------------------------------------------------------------------------------------
# The scenario


class _SmoothCritic(nn.Module):
    """A critic whose input gradient varies smoothly with its input (tanh, not LeakyReLU): images -> scores."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def _estimate(value: Any) -> Any:
    """The Wasserstein estimate a critic step returned (``"wasserstein"`` in its dict), or what stands instead."""
    if not isinstance(value, dict) or "wasserstein" not in value:
        return "no 'wasserstein' returned"
    return loss_seen(value, "wasserstein")


def _graph_to(G: nn.Module, fake: torch.Tensor) -> str:
    """Whether a backward pass from ``fake`` would still reach G's parameters (what G's step needs)."""
    params = [p for p in G.parameters() if p.requires_grad]
    if not fake.requires_grad or not params:
        return "no graph"
    try:
        grads = torch.autograd.grad(fake.float().sum(), params, allow_unused=True)
    except RuntimeError as err:
        if "second time" in str(err):
            return "graph already used by a backward pass"
        if "inplace" in str(err):
            return "G changed in place since the fakes were made"
        return "backward through the fakes fails"
    return "reaches G" if any(g is not None for g in grads) else "does not reach G"


def _fakes_seen(G: nn.Module, fakes: Any) -> Any:
    """The fakes a critic step returned: their values and where their graph leads, or what stands instead."""
    if not isinstance(fakes, torch.Tensor):
        return describe(fakes)
    return {"values": fakes.detach().float(), "graph": _graph_to(G, fakes)}


def _observe_d_step(fn: Callable[..., Any], linear_critic: bool) -> dict[str, Any]:
    """One critic step ``fn(G, D, d_optimizer, real, z) -> (fake, stats)`` from a fixed start, and what it left."""
    with seeded(900):
        G, D = _models(linear_critic=linear_critic)
        real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
        z = torch.randn(BATCH, Z_DIM)
    out, calls = run_step(fn, G, D, D, real, z, stale=STALE)
    if isinstance(out, Raised):
        return {"raised": out}
    if calls != 1:
        return {"times G ran": calls}
    if isinstance(out, tuple) and len(out) == 2:
        fakes, stats = _fakes_seen(G, out[0]), out[1]
    else:  # the training loop needs a pair: say what came back, and still read the stats from it
        fakes, stats = f"not a pair (fakes, stats) but {describe(out)}", out
    return {"fakes": fakes, "loss": loss_seen(stats, "d_loss"), "wasserstein": _estimate(stats), **models_after(G, D)}


def _observe_gp_d_step(fn: Callable[..., Any]) -> dict[str, Any]:
    """The critic step on the linear critic, and whether gradients reach G when the critic is smooth."""
    seen = _observe_d_step(fn, linear_critic=True)
    with seeded(901):
        G, D = MLPGenerator(z_dim=Z_DIM, hidden=16, depth=1), _SmoothCritic()
        real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
        z = torch.randn(BATCH, Z_DIM)
    observe_call(fn, G, D, torch.optim.SGD(D.parameters(), lr=LR), real, z)
    return {**seen, "G has gradients, smooth critic": has_gradient(G)}


def _observe_g_step(fn: Callable[..., Any]) -> dict[str, Any]:
    """One generator step ``fn(G, D, g_optimizer, fake)`` on fakes made with their graph, and what it left."""
    with seeded(910):
        G, D = _models()
        fake = G(torch.randn(BATCH, Z_DIM))  # as a critic step returns them: with their graph into G
    out, calls = run_step(fn, G, D, G, fake, stale=STALE)
    if calls != 0:  # even if it then raised: G(fake), say, from a step still written for noise z
        return {"times G ran": calls}
    return {"loss": loss_seen(out, "g_loss"), **models_after(G, D)}


# --------------------------------------------------------------------------------------------
# Pieces of the wrong versions


def _clip(model: nn.Module, c: float = CLIP) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.clamp_(-c, c)


def _clip_named(names: str, G: nn.Module, D: nn.Module) -> None:
    """Clip each network named in ``names`` ("D", "G", "DG"), in that order."""
    for name in names:
        _clip({"G": G, "D": D}[name])


def _update(opt, loss, *, zero_grad=True, step_first=False, before_step=None) -> None:
    """``zero_grad``, ``backward``, ``step``, or one of the usual mistakes: no ``zero_grad``, the step
    before ``backward`` (when there are no gradients yet); ``before_step()`` runs between backward and step."""
    if zero_grad:
        opt.zero_grad()
    if step_first:
        opt.step()
    loss.backward()
    if before_step is not None:
        before_step()
    if not step_first:
        opt.step()


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
    freeze_g=False,
    make="with graph",
    score_detached=True,
    penalty_detached=True,
    zero_grad=True,
    step_first=False,
    clip_before="",
    clip_after="",
    clip_grads=None,
    returns="stats",
    returns_fakes="fake",
):
    """A critic step with one or more of the usual mistakes switched on (the defaults: WGAN's, unclipped)."""
    if freeze_g:
        G.requires_grad_(False)
    _clip_named(clip_before, G, D)
    if make == "under no_grad":
        with torch.no_grad():
            fake = G(z)
    elif make == "detached":
        fake = G(z).detach()
    else:
        fake = G(z)
    real_scores, fake_scores = D(real), D(fake.detach() if score_detached else fake)
    loss = loss_of(real_scores, fake_scores)
    if penalty:
        loss = loss + penalty * penalty_fn(D, real, fake.detach() if penalty_detached else fake)
    clipped = None if clip_grads is None else partial(clip_grads, D.parameters(), CLIP)
    _update(opt, loss, zero_grad=zero_grad, step_first=step_first, before_step=clipped)
    _clip_named(clip_after, G, D)
    if returns == "stats":  # the loss and the Wasserstein estimate mean f(x) - mean f(G(z))
        stats = {"d_loss": loss.detach(), "wasserstein": (real_scores.mean() - fake_scores.mean()).detach()}
    elif returns == "loss only":
        stats = loss.detach()
    elif returns == "estimate as loss":  # "wasserstein": the loss, i.e. fake minus real
        stats = {"d_loss": loss.detach(), "wasserstein": loss.detach()}
    elif returns == "estimate with penalty":  # "wasserstein": minus the whole loss, penalty included
        stats = {"d_loss": loss.detach(), "wasserstein": -loss.detach()}
    else:
        return None
    if returns_fakes == "none":
        return stats
    if returns_fakes == "swapped":
        return stats, fake
    if returns_fakes == "detached":
        return fake.detach(), stats
    if returns_fakes == "new":  # fresh fakes from new noise, not the ones the critic scored
        return G(torch.randn_like(z)), stats
    if returns_fakes == "again":  # the same noise through G once more
        return G(z), stats
    return fake, stats


def _generator_step(
    G,
    D,
    opt,
    fake,
    *,
    loss_of=losses.critic_generator_loss,
    penalty=0.0,
    regenerate=False,
    detach=False,
    freeze=True,
    unfreeze=True,
    zero_grad=True,
    step_first=False,
    clip_after="",
    returns=True,
):
    """A generator step with one or more of the usual mistakes switched on (the defaults: WGAN's)."""
    if regenerate:
        fake = G(torch.randn(len(fake), G.z_dim))
    if freeze:
        D.requires_grad_(False)
    loss = loss_of(D(fake.detach() if detach else fake))
    if penalty:
        loss = loss + penalty * losses.gradient_penalty(D, fake, fake)
    _update(opt, loss, zero_grad=zero_grad, step_first=step_first)
    if unfreeze:
        D.requires_grad_(True)
    _clip_named(clip_after, G, D)
    return loss.detach() if returns else None


def _wrong(step: Callable[..., Any], name: str, **mistakes: Any) -> Callable[..., Any]:
    """``step`` with ``mistakes`` switched on: a wrong version, named as the tables list it."""
    version = partial(step, **mistakes)
    version.__name__ = name  # type: ignore[attr-defined]
    return version


_d = partial(_wrong, _critic_step, clip_after="D")  # WGAN's critic step: clipped after the update
_gp = partial(_wrong, _critic_step, penalty=GP_WEIGHT)
_g = partial(_wrong, _generator_step)


_RETURN_STATS = (
    'return fake, {"d_loss": loss.detach(), "wasserstein": (real_scores.mean() - fake_scores.mean()).detach()}'
)
_NO_STATS = (
    "your step returns None: the training loop needs the fakes it made, for the generator's step, and the loss "
    "and the Wasserstein estimate, to record them.",
    "end the step with " + _RETURN_STATS + ".",
)
_NO_FAKES = (
    "your step returns the stats only, not the fakes: the training loop gives the fakes of the critic step to the "
    "generator's step, so a critic step returns the pair (fake, stats).",
    "end the step with " + _RETURN_STATS + ": fake = G(z) as made at the start, with its graph.",
)
_SWAPPED = (
    "your step returns (stats, fake): the training loop expects the pair the other way round, (fake, stats).",
    _RETURN_STATS + ".",
)
_LOSS_ONLY = (
    "your step returns the loss only as its stats: the training loop also needs the critic's Wasserstein "
    "estimate, the number to watch during training.",
    _RETURN_STATS + ", with the scores computed before the update.",
)
_ESTIMATE_SIGN = (
    "the Wasserstein estimate you return has the wrong sign: it is mean f(x) - mean f(G(z)), real minus "
    "generated, the opposite of the critic's loss.",
    _RETURN_STATS + ".",
)
_FAKES_WITHOUT_GRAPH = (
    "the fakes you return carry no graph back to G (detached, or made under torch.no_grad()): the generator's "
    "step gets these fakes, and its loss could not reach G, so G would never be trained.",
    "make fake = G(z) with its graph, let the critic score fake.detach() (the .detach() is for the critic's loss "
    "only), and return fake itself.",
)
_G_TWICE = (
    "your step runs G twice: the fakes are to be made once, fake = G(z), scored by the critic as fake.detach(), "
    "and returned as they are for the generator's step (not generated again, from the same noise or new noise).",
    "call G once at the start, fake = G(z), without torch.no_grad(); use fake.detach() for the critic and return fake.",
)
_NOT_DETACHED = (
    "fake images not detached: the critic's loss sent gradients into G (G's .grad is filled) and its backward "
    "pass used up the fakes' graph, so the generator's step on these same fakes would fail ('Trying to backward "
    "through the graph a second time').",
    "keep fake = G(z) as it is, and let the critic score D(fake.detach()).",
)


def _critic_mistakes(version: Callable[..., Callable[..., Any]], prefix: str) -> tuple[WrongVersion, ...]:
    """The wrong versions both critic steps share, with the same messages: what the step returns, how it makes
    the fakes, a BCE loss. ``version(name, **mistakes)`` makes each (``_d`` or ``_gp``), named ``prefix_...``."""
    return (
        WrongVersion(version(prefix + "_no_return", returns=None), *_NO_STATS),
        WrongVersion(version(prefix + "_no_fakes", returns_fakes="none"), *_NO_FAKES),
        WrongVersion(version(prefix + "_loss_only", returns="loss only"), *_LOSS_ONLY),
        WrongVersion(version(prefix + "_returns_detached", make="detached"), *_FAKES_WITHOUT_GRAPH),
        WrongVersion(version(prefix + "_fakes_no_grad", make="under no_grad"), *_FAKES_WITHOUT_GRAPH),
        WrongVersion(version(prefix + "_generates_twice", make="under no_grad", returns_fakes="again"), *_G_TWICE),
        WrongVersion(
            version(prefix + "_bce", loss_of=losses.discriminator_loss),
            "your critic step uses the BCE discriminator loss (sigmoid and log).",
            _NOT_LOGITS,
        ),
    )


def _update_mistakes(
    version: Callable[..., Callable[..., Any]], prefix: str, net: str, optimizer: str
) -> tuple[WrongVersion, ...]:
    """The update's usual mistakes, as the generator step and the gradient-penalty step name them: ``net``'s
    update ("G", "the critic") with ``optimizer`` ("g_optimizer", "d_optimizer")."""
    return (
        WrongVersion(
            version(prefix + "_no_zero_grad", zero_grad=False),
            f"zero_grad missing: the gradients already in {net}'s .grad were added to this step's.",
            f"call {optimizer}.zero_grad() before loss.backward(); " + _ORDER + ".",
        ),
        WrongVersion(
            version(prefix + "_step_before_backward", step_first=True),
            f"{net} did not change: {optimizer}.step() ran before loss.backward(), when there were no gradients yet.",
            _ORDER + ".",
        ),
    )


# --------------------------------------------------------------------------------------------
# The critic step with weight clipping


def _d_clip_weights_only(G, D, opt, real, z):
    out = _critic_step(G, D, opt, real, z)
    with torch.no_grad():
        for name, p in D.named_parameters():
            if "weight" in name:
                p.clamp_(-CLIP, CLIP)
    return out


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
    *_critic_mistakes(_d, "_d"),
    WrongVersion(_d("_d_swapped", returns_fakes="swapped"), *_SWAPPED),
    WrongVersion(_d("_d_estimate_sign", returns="estimate as loss"), *_ESTIMATE_SIGN),
    WrongVersion(_d("_d_returns_new_fakes", returns_fakes="new"), *_G_TWICE),
    WrongVersion(
        _d("_d_sign_flipped", loss_of=lambda r, f: r.mean() - f.mean()),
        "sign flipped: your critic minimises mean f(x) - mean f(G(z)), the Wasserstein estimate it should "
        "maximise, so it learns to score generated images above real ones.",
        "loss = D(fake.detach()).mean() - D(real).mean().",
    ),
    WrongVersion(
        _d("_d_sigmoid", loss_of=lambda r, f: torch.sigmoid(f).mean() - torch.sigmoid(r).mean()),
        "you applied a sigmoid to the critic's scores.",
        _NOT_LOGITS,
    ),
    WrongVersion(
        _d("_d_sum", loss_of=lambda r, f: f.sum() - r.sum()),
        f"your critic loss sums the scores over the batch instead of averaging them: it is {BATCH} times too large.",
        "use .mean() on each batch of scores.",
    ),
    WrongVersion(_d("_d_no_clip", clip_after=""), *_CLIP_MISSING),  # as `p = p.clamp(-c, c)`: clips nothing
    WrongVersion(
        _d("_d_clip_before", clip_before="D", clip_after=""),
        "you clipped before the optimiser update: the update then moves the weights out of [-c, c] again, and "
        "the critic that scores the next batch is not clipped.",
        "clip after d_optimizer.step(), as the last thing the step does before it returns.",
    ),
    WrongVersion(
        _d("_d_clip_g", clip_after="G"),
        "you clipped G's weights instead of the critic's: the Lipschitz constraint is on the critic, and G must "
        "not change in the critic's step (changing it in place also breaks the graph of the fakes you return).",
        "clip D.parameters(), not G.parameters().",
    ),
    WrongVersion(
        _d("_d_clip_both", clip_after="DG"),
        "you clipped G's weights as well as the critic's: only the critic must be Lipschitz, and G must not "
        "change in the critic's step (changing it in place also breaks the graph of the fakes you return).",
        "clip D.parameters() only.",
    ),
    WrongVersion(_d("_d_clip_grad_value", clip_after="", clip_grads=nn.utils.clip_grad_value_), *_CLIP_GRADIENTS),
    WrongVersion(_d("_d_clip_grad_norm", clip_after="", clip_grads=nn.utils.clip_grad_norm_), *_CLIP_GRADIENTS),
    WrongVersion(
        _d_clip_weights_only,
        "only the weights were clipped, not the biases: WGAN clips every parameter of the critic.",
        "loop over all of D.parameters(), without filtering by name.",
    ),
    WrongVersion(
        _d("_d_no_zero_grad", zero_grad=False),
        "zero_grad missing: the gradients already in the critic's .grad were added to this step's (PyTorch "
        "accumulates gradients across backward() calls).",
        "call d_optimizer.zero_grad() before loss.backward(); " + _ORDER + ".",
    ),
    WrongVersion(
        _d("_d_step_before_backward", step_first=True),
        "the critic was clipped but not updated: d_optimizer.step() ran before loss.backward(), when there were "
        "no gradients yet.",
        _ORDER + ", then the clip.",
    ),
    WrongVersion(_d("_d_not_detached", score_detached=False), *_NOT_DETACHED),
    WrongVersion(
        _d("_d_g_left_frozen", freeze_g=True),
        "G is left frozen (requires_grad False) after your critic step, and the fakes it made carry no graph: "
        "the generator step could not train it.",
        "do not freeze G here: fake = G(z) keeps its graph for G's step, and the critic scores fake.detach().",
    ),
)


@exercise_check("wgan_d_step")
def check_wgan_d_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real, z) -> (fake, {"d_loss", "wasserstein"})``: ``fake = G(z)`` made once
    with its graph, one critic update on ``mean f(fake) - mean f(x)`` with the fakes detached, then every critic
    parameter clipped into ``[-0.01, 0.01]`` (the default ``clip``); it returns the fakes, for G's step, and
    the loss and the estimate ``mean f(x) - mean f(G(z))``, both from before the update."""
    return check_against_table(
        fn,
        steps.wgan_d_step,
        lambda f: _observe_d_step(f, linear_critic=False),
        WGAN_D_STEP_WRONG_VERSIONS,
        "makes the fakes once and returns them with their graph into G, returns the critic loss "
        "mean f(G(z)) - mean f(x) and the Wasserstein estimate, updates the critic like the reference "
        "(zero_grad, backward, step) without sending gradients into G, clips every critic parameter into "
        "[-c, c] after the update, and leaves G untouched.",
        "fake = G(z); loss = D(fake.detach()).mean() - D(real).mean(); zero_grad, backward, step; then "
        "clamp every parameter of D into [-clip, clip] in place; " + _RETURN_STATS + ".",
    )


# --------------------------------------------------------------------------------------------
# The generator step (WGAN and WGAN-GP)


_NO_RETURN = (
    "your step returns None: the training loop records the loss it returns.",
    "end the step with return loss.detach().",
)
_PENALTY_IN_G = (
    "you added a gradient penalty to the generator's loss: the penalty constrains the critic and belongs in "
    "the critic's loss only.",
    "the generator's loss is just -D(fake).mean(), for WGAN and WGAN-GP alike.",
)
_G_DETACHED = (
    "you detached the fakes you were given (fake.detach()): the critic's score cannot flow back into G, so this "
    "step does not train G.",
    "score the fakes as they are, loss = -D(fake).mean(); the .detach() belongs in the critic's step only.",
)

WGAN_G_STEP_WRONG_VERSIONS = (
    WrongVersion(_g("_g_no_return", returns=False), *_NO_RETURN),
    WrongVersion(
        _g("_g_regenerates", regenerate=True),
        "your generator step runs G: it must train G through the fakes it is given (the last critic step's, "
        "made once with their graph), not generate new ones from fresh noise.",
        "do not call G here: loss = -D(fake).mean() on the fake passed in.",
    ),
    WrongVersion(
        _g("_g_sign_flipped", loss_of=lambda s: s.mean()),
        "sign flipped: your generator minimises mean f(G(z)), so it makes its images score *lower*, less like "
        "real ones.",
        "loss = -D(fake).mean().",
    ),
    WrongVersion(
        _g("_g_bce", loss_of=losses.generator_loss_non_saturating),
        "your generator step uses the non-saturating BCE loss -ln sigmoid(f(G(z))): the critic's outputs are "
        "scores, not logits.",
        "loss = -D(fake).mean(), no sigmoid, no log.",
    ),
    WrongVersion(
        _g("_g_sum", loss_of=lambda s: -s.sum()),
        f"your generator loss sums the scores over the batch instead of averaging them: it is {BATCH} times too large.",
        "loss = -D(fake).mean().",
    ),
    WrongVersion(_g("_g_penalty_at_fakes", penalty=GP_WEIGHT), *_PENALTY_IN_G),
    WrongVersion(_g("_g_detached", detach=True), *_G_DETACHED),
    WrongVersion(_g("_g_detached_not_frozen", detach=True, freeze=False, unfreeze=False), *_G_DETACHED),
    *_update_mistakes(_g, "_g", "G", "g_optimizer"),
    WrongVersion(
        _g("_g_d_left_frozen", unfreeze=False),
        "the critic is still frozen after your step: the next critic step would not train it.",
        "set D.requires_grad_(True) again at the end of the generator step.",
    ),
    WrongVersion(
        _g("_g_clip_g", clip_after="G"),
        "you clipped G's weights: clipping is the critic's Lipschitz constraint, and G is never clipped.",
        "remove the clipping from the generator step; the critic step clips the critic.",
    ),
    WrongVersion(
        _g("_g_clip_d", clip_after="D"),
        "your generator step clipped the critic: the generator step must leave the critic unchanged, and it is "
        "shared with WGAN-GP, whose critic must not be clipped at all.",
        "clip only in wgan_d_step, after the critic's update.",
    ),
)


@exercise_check("wgan_g_step")
def check_wgan_g_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, g_optimizer, fake) -> loss``: one update of G on ``-mean f(fake)`` through a frozen
    critic, on the fakes it is given (made by the critic step with their graph into G), without running G."""
    return check_against_table(
        fn,
        steps.wgan_g_step,
        _observe_g_step,
        WGAN_G_STEP_WRONG_VERSIONS,
        "returns -mean f(fake) on the fakes it is given, updates G through them like the reference, and leaves "
        "the critic unchanged and trainable.",
        "D.requires_grad_(False); loss = -D(fake).mean(); zero_grad, backward, step; D.requires_grad_(True); "
        "return loss.detach().",
    )


# --------------------------------------------------------------------------------------------
# The critic step with the gradient penalty


WGAN_GP_D_STEP_WRONG_VERSIONS = (
    *_critic_mistakes(_gp, "_gp"),
    WrongVersion(
        _gp("_gp_estimate_with_penalty", returns="estimate with penalty"),
        "the Wasserstein estimate you return includes the penalty: the estimate is the critic's term only, "
        "mean f(x) - mean f(G(z)).",
        _RETURN_STATS + ".",
    ),
    WrongVersion(
        _gp("_gp_sign_flipped", loss_of=lambda r, f: r.mean() - f.mean()),
        "sign flipped: your critic minimises mean f(x) - mean f(G(z)) (plus the penalty), so it learns to score "
        "generated images above real ones.",
        "loss = D(fake.detach()).mean() - D(real).mean() + gp_weight * gradient_penalty(D, real, fake.detach()).",
    ),
    WrongVersion(
        _gp("_gp_missing", penalty=0.0),
        "the gradient penalty is missing: nothing keeps this critic Lipschitz (and there is no clipping here).",
        "add gp_weight * gradient_penalty(D, real, fake.detach()) to the critic loss.",
    ),
    WrongVersion(
        _gp("_gp_weight_missing", penalty=1.0),
        f"the penalty weight is missing: the penalty enters the loss with weight 1, not lambda = {GP_WEIGHT:g}.",
        "loss = critic loss + gp_weight * gradient_penalty(D, real, fake.detach()).",
    ),
    WrongVersion(
        _gp("_gp_subtracted", penalty=-GP_WEIGHT),
        "you subtracted the penalty: the critic would then be rewarded for gradients far from norm 1.",
        "add it: loss = critic loss + gp_weight * gradient_penalty(D, real, fake.detach()).",
    ),
    WrongVersion(
        _gp("_gp_no_graph", penalty_fn=_penalty_without_graph),
        "the penalty is in the loss's value but not in its gradient, so it does not train the critic: it was "
        "detached (.item(), .detach()), or its input gradient was computed without create_graph=True.",
        "use the tensor gradient_penalty returns as it is (it is computed with create_graph=True) and add it to "
        "the loss.",
    ),
    WrongVersion(
        _gp("_gp_and_clip", clip_after="D"),
        "you clipped the critic's weights as well: the gradient penalty replaces weight clipping, and clipping "
        "would squeeze the critic's gradients far below the norm 1 the penalty asks for.",
        "remove the clipping from the gradient-penalty step.",
    ),
    *_update_mistakes(_gp, "_gp", "the critic", "d_optimizer"),
    WrongVersion(
        _gp("_gp_not_detached", score_detached=False, penalty_detached=False),
        _NOT_DETACHED[0],
        "keep fake = G(z) as it is, and give the critic and the penalty fake.detach().",
    ),
    WrongVersion(
        _gp("_gp_penalty_not_detached", penalty_detached=False),
        "the penalty got the fakes with their graph: through the points between real and fake images, the "
        "critic's loss sent gradients into G (G's .grad is filled) and used up the fakes' graph, so the "
        "generator's step on these same fakes would fail.",
        "pass the detached fakes to the penalty as well: gradient_penalty(D, real, fake.detach()).",
    ),
)


@exercise_check("wgan_gp_d_step")
def check_wgan_gp_d_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real, z) -> (fake, {"d_loss", "wasserstein"})``: ``fake = G(z)`` made
    once with its graph, one critic update on ``mean f(fake) - mean f(x) + 10 * gradient_penalty`` with the
    fakes detached (in the scores and in the penalty), with no clipping; it returns the fakes, for G's step,
    and that loss and the estimate ``mean f(x) - mean f(G(z))`` (without the penalty)."""
    return check_against_table(
        fn,
        steps.wgan_gp_d_step,
        _observe_gp_d_step,
        WGAN_GP_D_STEP_WRONG_VERSIONS,
        "makes the fakes once and returns them with their graph into G, returns mean f(G(z)) - mean f(x) + "
        "10 * penalty and the Wasserstein estimate, and updates the critic like the reference (the penalty trains "
        "it), without clipping and without sending gradients into G.",
        "fake = G(z); loss = D(fake.detach()).mean() - D(real).mean() + gp_weight * "
        "gradient_penalty(D, real, fake.detach()); zero_grad, backward, step; " + _RETURN_STATS + ".",
    )
