"""Checks for the training-step exercises (03, 04): one discriminator update, one generator update.

The learner's step runs on small MLP models from :mod:`gannotes.models`; the reference step
(:mod:`gannotes.checks.reference`) runs on identical copies. Both use plain SGD, so every mistake
shows in the parameters: a missing ``zero_grad`` adds the stale gradients left in ``.grad`` (the
check fills them with garbage first), a missing ``step`` leaves the parameters as they were, a
missing ``detach`` leaves gradients in G.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ..models import MLPDiscriminator, MLPGenerator
from . import reference
from .core import (
    ErrorHint,
    call_learner,
    diagnose,
    exercise_check,
    fail,
    fmt,
    has_gradient,
    parameters_equal,
    same_values,
    scalar_output,
    seeded,
)
from .losses import discriminator_mistakes, generator_loss_mistakes

BATCH, Z_DIM, LR = 8, 8, 0.1
_STEP_ORDER = "the order is optimizer.zero_grad(), loss.backward(), optimizer.step()."
STEP_ERRORS = (
    ErrorHint(
        "modified by an inplace operation",
        "the parameters changed between computing the loss and loss.backward(): optimizer.step() was called "
        "before loss.backward().",
        _STEP_ORDER,
    ),
)


def _setup(seed: int) -> tuple[nn.Module, nn.Module, torch.Tensor, torch.Tensor]:
    """Tiny MLP models (no batch norm, so a batch's composition cannot change the logits), real images, noise."""
    with seeded(seed):
        G = MLPGenerator(z_dim=Z_DIM, hidden=16, depth=1)
        D = MLPDiscriminator(hidden=16, depth=1)
        real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
        z = torch.randn(BATCH, Z_DIM)
    return G, D, real, z


def _fill_grads(model: nn.Module, value: float = 1.0) -> None:
    """Stale gradients, as a previous step would leave them: a step that forgets zero_grad adds them."""
    for p in model.parameters():
        p.grad = torch.full_like(p, value)


def _sgd_step(model: nn.Module, grads: list[torch.Tensor]) -> nn.Module:
    """A copy of ``model`` after one SGD step with the given gradients (to build the mistakes' results)."""
    stepped = copy.deepcopy(model)
    with torch.no_grad():
        for p, g in zip(stepped.parameters(), grads, strict=True):
            p -= LR * g
    return stepped


def _grads(loss: torch.Tensor, model: nn.Module) -> list[torch.Tensor]:
    found = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(found, model.parameters(), strict=True)]


def _max_difference(a: nn.Module, b: nn.Module) -> float:
    return max(
        (pa.detach() - pb.detach()).abs().max().item() for pa, pb in zip(a.parameters(), b.parameters(), strict=True)
    )


def step_loss(value: object, key: str) -> torch.Tensor:
    """The loss a step returns: the tensor itself, or the ``key`` entry of a dict of stats (as
    :func:`gannotes.train.fit` accepts: ``{"d_loss": ..., "d_real": ..., "d_fake": ...}``)."""
    what = "the loss your step returns"
    if isinstance(value, dict):
        if key not in value:
            keys = ", ".join(map(repr, value)) or "none"
            fail(
                f"your step returned a dict without a {key!r} entry (its keys: {keys}).",
                f"return the loss itself, or a dict holding it under {key!r}, e.g. {{{key!r}: loss.detach(), ...}}.",
            )
        value, what = value[key], f"the {key!r} your step returns"
    return scalar_output(value, what, batch=BATCH).detach()


def check_verdicts(stats: object, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> None:
    """When a D step's dict reports ``d_real`` / ``d_fake``, they must be D's mean probabilities on the
    real and the fake batch, ``sigmoid(logits).mean()``, computed before the update."""
    if not isinstance(stats, dict):
        return
    for key, logits, batch in (("d_real", real_logits, "real images"), ("d_fake", fake_logits, "fakes")):
        if key not in stats:
            continue
        got = scalar_output(stats[key], f"the {key!r} your step returns").detach()
        expected = torch.sigmoid(logits.detach().float()).mean()
        if not same_values(got, expected):
            raw = " (that is the logits' mean, not a probability)" if same_values(got, logits.mean()) else ""
            fail(
                f"the {key!r} your step returns is {fmt(got)}, expected {fmt(expected)}{raw}.",
                f"{key} is D's mean verdict on the {batch}: torch.sigmoid(logits.detach()).mean(), with the logits "
                "of the loss (before the update).",
            )


@exercise_check("discriminator_step")
def check_discriminator_step(
    fn: Callable[[nn.Module, nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor], torch.Tensor],
) -> str:
    """Check ``fn(G, D, d_optimizer, real_images (B,1,28,28), z (B, z_dim)) -> loss``: one BCE update of D.

    The fakes are ``G(z)`` detached; the loss is ``discriminator_loss(D(real), D(fake))``; then
    ``zero_grad``, ``backward``, ``step``. G must receive no gradient and stay unchanged. The step may
    return the loss or a dict holding it under ``"d_loss"``; a dict's ``"d_real"`` and ``"d_fake"``,
    if there, must be the mean ``sigmoid`` of D's logits on the real images and on the fakes.
    """
    G, D, real, z = _setup(seed=700)
    G_mine, D_mine = copy.deepcopy(G), copy.deepcopy(D)
    _fill_grads(D_mine)
    optimizer = torch.optim.SGD(D_mine.parameters(), lr=LR)
    context = f"called with MLP models, an SGD optimizer, real_images {tuple(real.shape)} and z {tuple(z.shape)}"
    out = call_learner(fn, G_mine, D_mine, optimizer, real.clone(), z.clone(), context=context, hints=STEP_ERRORS)
    loss = step_loss(out, "d_loss")

    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    _fill_grads(D_ref)
    expected = reference.discriminator_step(G_ref, D_ref, torch.optim.SGD(D_ref.parameters(), lr=LR), real, z)

    if not parameters_equal(G_mine, G):
        fail(
            "G's parameters changed: a discriminator step must update only D.",
            "step only d_optimizer; G is updated in the generator step.",
        )
    if has_gradient(G_mine):
        fail(
            "fake images not detached: D's loss sent gradients into G (G's .grad is filled), wasted work that "
            "also pollutes G's next update.",
            "generate the fakes with fake = G(z).detach(), so that backward() stops at D's input.",
        )
    logits = (D(real).detach(), D(G(z)).detach())
    if not same_values(loss, expected):
        diagnose(loss.unsqueeze(0), discriminator_mistakes([logits]))
        fail(
            f"the loss your step returns is {fmt(loss)}, expected {fmt(expected)}.",
            "fakes from the z you are given: loss = discriminator_loss(D(real_images), D(G(z).detach())), computed "
            "before the update, and return it.",
        )
    check_verdicts(out, *logits)

    grads = _grads(reference.discriminator_loss(D(real), D(G(z).detach())), D)
    stale = [torch.ones_like(g) for g in grads]
    if parameters_equal(D_mine, D):
        fail(
            "D's parameters did not change: d_optimizer.step() was never called, or called before loss.backward().",
            _STEP_ORDER,
        )
    if parameters_equal(D_mine, D_ref):
        return (
            "returns the right loss, updates D exactly like the reference (zero_grad, backward, step), and leaves G "
            "untouched (fakes detached)."
        )
    if parameters_equal(D_mine, _sgd_step(D, [g + s for g, s in zip(grads, stale, strict=True)])):
        fail(
            "zero_grad missing: the gradients already in D's .grad were added to this step's (PyTorch accumulates "
            "gradients across backward() calls).",
            "call d_optimizer.zero_grad() before loss.backward(); " + _STEP_ORDER,
        )
    if parameters_equal(D_mine, _sgd_step(D, stale)):
        fail("d_optimizer.step() was called before loss.backward(): it used the previous gradients.", _STEP_ORDER)
    fail(
        f"D's parameters after your step differ from the reference's "
        f"(max difference {_max_difference(D_mine, D_ref):.3g}).",
        "one update: " + _STEP_ORDER + " Call d_optimizer.step() exactly once.",
    )


@exercise_check("generator_step")
def check_generator_step(
    fn: Callable[[nn.Module, nn.Module, torch.optim.Optimizer, torch.Tensor], torch.Tensor],
) -> str:
    """Check ``fn(G, D, g_optimizer, z (B, z_dim)) -> loss``: one non-saturating update of G through a frozen D.

    The step may return the loss or a dict holding it under ``"g_loss"``.

    Required: the loss is ``generator_loss_non_saturating(D(G(z)))``; G's parameters match the
    reference update; D's parameters are unchanged and D is trainable again afterwards. D's
    ``.grad`` filling up is allowed (the next D step clears it) but noted: freezing D avoids it.
    """
    G, D, _, z = _setup(seed=800)
    G_mine, D_mine = copy.deepcopy(G), copy.deepcopy(D)
    _fill_grads(G_mine)
    optimizer = torch.optim.SGD(G_mine.parameters(), lr=LR)
    context = f"called with MLP models, an SGD optimizer and z {tuple(z.shape)}"
    out = call_learner(fn, G_mine, D_mine, optimizer, z.clone(), context=context, hints=STEP_ERRORS)
    loss = step_loss(out, "g_loss")

    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    _fill_grads(G_ref)
    expected = reference.generator_step(G_ref, D_ref, torch.optim.SGD(G_ref.parameters(), lr=LR), z)

    if not parameters_equal(D_mine, D):
        fail(
            "D's parameters changed: the generator step must update only G.",
            "freeze D with D.requires_grad_(False) during the step and step only g_optimizer.",
        )
    if not all(p.requires_grad for p in D_mine.parameters()):
        fail(
            "D is still frozen after your step: the next discriminator step would not train it.",
            "set D.requires_grad_(True) again at the end of the generator step.",
        )
    fake_logits = D(G(z)).detach()
    if not same_values(loss, expected):
        diagnose(loss.unsqueeze(0), generator_loss_mistakes([(fake_logits,)], "non_saturating"))
        fail(
            f"the loss your step returns is {fmt(loss)}, expected {fmt(expected)}.",
            "loss = generator_loss_non_saturating(D(G(z))) with the z you are given, computed before the update.",
        )

    if not has_gradient(G_mine) and parameters_equal(G_mine, G):
        fail(
            "G received no gradient: the fakes were detached (or made under torch.no_grad()), so D's verdict "
            "cannot flow back into G.",
            "in the generator step, do not detach: loss = generator_loss_non_saturating(D(G(z))).",
        )
    if parameters_equal(G_mine, G):
        fail(
            "G's parameters did not change: g_optimizer.step() was never called, or called before backward().",
            _STEP_ORDER,
        )
    notes = ""
    if has_gradient(D_mine):
        notes = (
            " (note: D's .grad was filled — harmless, the next D step clears it, but D.requires_grad_(False) "
            "during the G step saves that work)"
        )
    if parameters_equal(G_mine, G_ref):
        return (
            "returns the non-saturating loss, updates G exactly like the reference and leaves D unchanged and "
            "trainable" + notes + "."
        )
    grads = _grads(reference.generator_loss_non_saturating(D(G(z))), G)
    if parameters_equal(G_mine, _sgd_step(G, [g + 1.0 for g in grads])):
        fail(
            "zero_grad missing: the gradients already in G's .grad were added to this step's.",
            "call g_optimizer.zero_grad() before loss.backward(); " + _STEP_ORDER,
        )
    fail(
        f"G's parameters after your step differ from the reference's "
        f"(max difference {_max_difference(G_mine, G_ref):.3g}).",
        "one update with the non-saturating loss: " + _STEP_ORDER + " Call g_optimizer.step() exactly once.",
    )
