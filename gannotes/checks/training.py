"""Checks for the training-step exercises (03, 04): one discriminator update, one generator update.

The contract is pytorch/examples' DCGAN loop, "(1) Update D, (2) Update G", with the fakes made once:
``d_step(G, D, d_optimizer, real, z)`` makes ``fake = G(z)``, updates D on ``D(real)`` and
``D(fake.detach())`` and returns ``(fake, stats)``; ``g_step(G, D, g_optimizer, fake)`` updates G
through a frozen D on those same fakes and returns its loss (or a dict of stats).

Both checks are table checks (:func:`~gannotes.checks.core.check_against_table`): the learner's step,
the reference (:mod:`gannotes.steps`) and each wrong version of the tables below run through the same
scenario under the same seed: tiny MLP models (no batch norm, so a batch's composition cannot change
the logits), plain SGD, and stale gradients left in the updated network's ``.grad`` first. SGD moves
each parameter by ``lr * grad``, so every mistake shows in what is compared: what the step returns
(the fakes, whether they still carry G's graph, the loss), how many times G ran, both networks'
parameters after the step, whether D's step sent gradients into G, and which parameters are still
trainable. Before the table, a check rejects what is not the contract's shape (a bare loss where the
pair ``(fake, loss)`` is due, a float) and names a wrong loss formula by the value it gives; after it,
a version that matches no wrong version of the table is told what differs from the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

import torch
from torch import nn

from .. import losses, steps
from .core import (
    CheckFailure,
    ErrorHint,
    Raised,
    WrongVersion,
    check_against_table,
    describe,
    diagnose,
    exercise_check,
    fail,
    fmt,
    has_gradient,
    same_values,
    scalar_output,
    seeded,
)
from .losses import discriminator_mistakes, generator_loss_mistakes
from .steps_scenario import (
    BATCH,
    LR,
    Z_DIM,
    form,
    loss_seen,
    models_after,
    parameters,
    run_step,
    tiny_models,
    trainable,
)

_STEP_ORDER = "the order is optimizer.zero_grad(), loss.backward(), optimizer.step()."
_D_UPDATE_ONCE = "one update: " + _STEP_ORDER + " Call d_optimizer.step() exactly once."
_G_UPDATE_ONCE = "one update with the non-saturating loss: " + _STEP_ORDER + " Call g_optimizer.step() exactly once."
STEP_ERRORS = (
    ErrorHint(
        "modified by an inplace operation",
        "the parameters changed between computing the loss and loss.backward(): optimizer.step() was called "
        "before loss.backward().",
        _STEP_ORDER,
    ),
)
_D_RECIPE = (
    "fake = G(z); loss = losses.discriminator_loss(D(real), D(fake.detach())); d_optimizer.zero_grad(), "
    "loss.backward(), d_optimizer.step(); return fake, loss.detach()"
)
_D_PASSED = (
    "makes the fakes G(z) once, returns them with their graph for G's step, returns the right loss, updates D "
    "exactly like the reference (zero_grad, backward, step) and leaves G untouched (D saw the fakes detached)."
)
_G_RECIPE = (
    "D.requires_grad_(False); loss = losses.generator_loss_non_saturating(D(fake)); g_optimizer.zero_grad(), "
    "loss.backward(), g_optimizer.step(); D.requires_grad_(True); return loss.detach()"
)
_G_PASSED = (
    "returns the non-saturating loss on the fakes it is given, updates G exactly like the reference without "
    "running G again, and leaves D unchanged and trainable"
)


# --------------------------------------------------------------------------------------------
# What both checks share


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


def _same(a: nn.Module, b: nn.Module) -> bool:
    """True when two models of one architecture hold the same parameter values."""
    return all(same_values(x, y) for x, y in zip(parameters(a), parameters(b), strict=True))


def _expect_loss(loss: torch.Tensor, expected: torch.Tensor, hint: str) -> None:
    """Fail when the loss a step returned is not the ``expected`` one."""
    if not same_values(loss, expected):
        fail(f"the loss your step returns is {fmt(loss)}, expected {fmt(expected)}.", hint)


def _differs(name: str, after: nn.Module, reference: nn.Module, hint: str) -> NoReturn:
    """Fail: the parameters of ``name`` after the step differ from those after the reference step."""
    diff = max((x - y).abs().max().item() for x, y in zip(parameters(after), parameters(reference), strict=True))
    fail(f"{name}'s parameters after your step differ from the reference's (max difference {diff:.3g}).", hint)


def _known_error(out: Any) -> None:
    """A step that raised a known error (``optimizer.step()`` before ``backward()``) gets its diagnosis."""
    if isinstance(out, Raised):
        for known in STEP_ERRORS:
            if known.contains.lower() in out.error.lower():
                fail(known.problem, known.hint)


def _table_then(
    fn: Callable[..., Any],
    reference: Callable[..., Any],
    observe: Callable[[Callable[..., Any]], Any],
    wrong_versions: tuple[WrongVersion, ...],
    passed: str,
    hint: str,
    explain: Callable[[], None],
) -> str:
    """:func:`check_against_table`; when ``fn`` matches none of the wrong versions, ``explain()`` says what
    differs from the reference (it fails when it finds something) before the table's general message."""
    try:
        return check_against_table(fn, reference, observe, wrong_versions, passed, hint)
    except CheckFailure as failure:
        if failure.problem not in {wrong.problem for wrong in wrong_versions}:
            explain()
        raise


# --------------------------------------------------------------------------------------------
# The discriminator step


def _d_scenario() -> tuple[nn.Module, nn.Module, torch.Tensor, torch.Tensor]:
    with seeded(700):
        G, D = tiny_models()
        real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
        z = torch.randn(BATCH, Z_DIM)
    return G, D, real, z


def _run_d_step(step: Callable[..., Any]) -> tuple[Any, nn.Module, nn.Module, int]:
    """One ``step(G, D, d_optimizer, real, z)`` from the scenario; what it returned, the models after it, and
    how many times G ran."""
    G, D, real, z = _d_scenario()
    out, passes = run_step(step, G, D, D, real, z)
    return out, G, D, passes


def _returned(out: Any) -> str:
    """What a D step returned instead of the pair ``(fakes, stats)``, in words."""
    if isinstance(out, torch.Tensor):
        return "a tensor, not a pair"
    if isinstance(out, dict):
        return "a dict, not a pair"
    if isinstance(out, list):
        return "a list"
    return describe(out)


def _is_pair(out: Any) -> bool:
    return isinstance(out, tuple) and len(out) == 2


def _observe_d_step(step: Callable[..., Any]) -> Any:
    out, G, D, passes = _run_d_step(step)
    if isinstance(out, Raised):
        return out
    if not _is_pair(out):
        return {"returns": form(out)}
    fake, stats = out
    return {
        "fakes": fake.detach().float() if isinstance(fake, torch.Tensor) else describe(fake),
        "fakes keep G's graph": isinstance(fake, torch.Tensor) and fake.grad_fn is not None,
        "G's forward passes": passes,
        "loss": loss_seen(stats, "d_loss"),
        **models_after(G, D),
    }


def _d_step(
    G: nn.Module,
    D: nn.Module,
    d_optimizer: torch.optim.Optimizer,
    real: torch.Tensor,
    z: torch.Tensor,
    *,
    noise: str = "z",
    twice: bool = False,
    make: str = "graph",
    detach_input: bool = True,
    zero_grad: bool = True,
    update: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A D step with one ingredient changed (the keywords' defaults give the reference)."""
    if make == "no_grad":
        with torch.no_grad():
            fake = G(z)
    else:
        fake = G(z if noise == "z" else torch.randn_like(z))
        if make == "detached":
            fake = fake.detach()
    seen = G(z).detach() if twice else fake.detach() if detach_input else fake
    loss = losses.discriminator_loss(D(real), D(seen))
    if zero_grad:
        d_optimizer.zero_grad()
    loss.backward()
    if update:
        d_optimizer.step()
    return fake, loss.detach()


_RETURN_PAIR = (
    "end your step with: return fake, loss.detach() (the fakes G(z) it made, with their graph, and the loss)."
)
_FAKES_WITHOUT_GRAPH = (
    "the fakes your step returns are detached (made with G(z).detach() or under torch.no_grad()): the generator's "
    "step gets fakes with no graph back to G, so it cannot train G."
)
_KEEP_GRAPH = (
    "make fake = G(z) with its graph and detach only what D sees: D(fake.detach()); return fake, loss.detach()."
)
_NOT_FROM_Z = (
    "the fakes are not G(z) of the z your step is given (did it draw noise of its own?). The loop draws the noise "
    "(fit, or notebook 03's loop), and the fakes your step returns are the ones G's step learns from."
)
_MADE_TWICE = (
    "G ran twice in your step: the fakes must be made once, fake = G(z), and used twice, detached for D's loss and "
    "as they are for G's step. A generator's forward pass is a large part of a training step."
)
_NOT_DETACHED = (
    "fake images not detached in D's loss: its loss.backward() ran on into G, computing gradients G does not need "
    "(G's .grad is filled) and freeing the graph of G's forward pass, which the generator's step needs: g_step on "
    "these fakes would fail with 'Trying to backward through the graph a second time'."
)
_D_ZERO_GRAD = (
    "zero_grad missing: the gradients already in D's .grad were added to this step's (PyTorch accumulates "
    "gradients across backward() calls)."
)
_D_NO_STEP = "D's parameters did not change: d_optimizer.step() was never called, or called before loss.backward()."

D_STEP_MISTAKES = (
    WrongVersion(partial(_d_step, make="detached"), _FAKES_WITHOUT_GRAPH, _KEEP_GRAPH),
    WrongVersion(partial(_d_step, noise="fresh"), _NOT_FROM_Z, "fake = G(z), with the z argument."),
    WrongVersion(
        partial(_d_step, twice=True), _MADE_TWICE, "fake = G(z) once; D(fake.detach()) in D's loss; return fake, ..."
    ),
    WrongVersion(
        partial(_d_step, detach_input=False),
        _NOT_DETACHED,
        "D(fake.detach()) in D's loss; the fakes you return keep their graph, for G's step.",
    ),
    WrongVersion(partial(_d_step, zero_grad=False), _D_ZERO_GRAD, "call d_optimizer.zero_grad() first; " + _STEP_ORDER),
    WrongVersion(partial(_d_step, update=False), _D_NO_STEP, _STEP_ORDER),
)


def _check_d_output(out: Any) -> tuple[torch.Tensor, Any] | None:
    """The pair ``(fake, stats)`` a D step must return, or a failure saying what came instead
    (``None`` if it raised: the table tells which mistake raises like this)."""
    _known_error(out)
    if isinstance(out, Raised):
        return None
    if isinstance(out, torch.Tensor):
        fail("your step returns only the loss: no fakes for G's step.", _RETURN_PAIR)
    if isinstance(out, dict):
        fail(
            "your step returns only its dict of stats: no fakes for G's step.",
            "end your step with: return fake, {'d_loss': loss.detach(), ...}: the fakes G(z) it made, then the stats.",
        )
    if not _is_pair(out):
        fail(f"your step returns {_returned(out)}; it must return the pair (fake, loss), a tuple.", _RETURN_PAIR)
    fake, stats = out
    shape = (BATCH, 1, 28, 28)
    if not isinstance(fake, torch.Tensor) or tuple(fake.shape) != shape:
        got = describe(fake) if not isinstance(fake, torch.Tensor) else f"shape {tuple(fake.shape)}"
        fail(
            f"the first thing your step returns should be the fakes G(z), of shape {shape}, got {got}.",
            "the order is (fakes, stats): " + _RETURN_PAIR,
        )
    step_loss(stats, "d_loss")
    return fake, stats


@exercise_check("discriminator_step")
def check_discriminator_step(
    fn: Callable[[nn.Module, nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor], tuple[torch.Tensor, Any]],
) -> str:
    """Check ``fn(G, D, d_optimizer, real_images (B,1,28,28), z (B, z_dim)) -> (fake, loss)``: one BCE update of D.

    As :func:`gannotes.steps.gan_d_step`: the fakes are ``G(z)``, made once and kept with their graph;
    the loss is ``discriminator_loss(D(real), D(fake.detach()))``; then ``zero_grad``, ``backward``,
    ``step``. G must receive no gradient and stay unchanged. The step returns ``(fake, loss)``, the loss
    a detached scalar or a dict holding it under ``"d_loss"``; a dict's ``"d_real"`` and ``"d_fake"``, if
    there, must be the mean ``sigmoid`` of D's logits on the real images and on the fakes.
    """
    with seeded(0):
        out, G_after, D_after, passes = _run_d_step(fn)
    returned = _check_d_output(out)
    G, D, real, z = _d_scenario()  # as they were before the step
    with torch.no_grad():
        expected_fake = G(z)
        real_logits, fake_logits = D(real), D(expected_fake)
    if returned is not None:
        fake, stats = returned
        with torch.no_grad():  # D's verdicts on the fakes the step made, whichever they are
            logits = (real_logits, D(fake.detach()))
        loss = step_loss(stats, "d_loss")
        if not same_values(loss, losses.discriminator_loss(*logits)):
            diagnose(loss.unsqueeze(0), discriminator_mistakes([logits]))

    def explain() -> None:
        if returned is None:
            return
        if fake.grad_fn is None:
            fail(_FAKES_WITHOUT_GRAPH, _KEEP_GRAPH)
        if not same_values(fake, expected_fake):
            fail(_NOT_FROM_Z, "fake = G(z), with the z argument.")
        if passes > 1:
            fail(_MADE_TWICE, "fake = G(z) once; D(fake.detach()) in D's loss; return fake, ...")
        if has_gradient(G_after):
            fail(_NOT_DETACHED, "D(fake.detach()) in D's loss; the fakes you return keep their graph, for G's step.")
        if not _same(G_after, G):
            fail("G's parameters changed: a discriminator step must update only D.", "step only d_optimizer.")
        if not all(trainable(G_after, D_after)):
            fail(
                "G or D is left frozen (requires_grad False) after your step: the next steps could not train it.",
                "do not freeze anything in D's step: detach the fakes D sees, D(fake.detach()).",
            )
        _expect_loss(
            loss,
            losses.discriminator_loss(real_logits, fake_logits),
            "loss = losses.discriminator_loss(D(real), D(fake.detach())), computed before the update, and return it.",
        )
        if _same(D_after, D):
            fail(_D_NO_STEP, _STEP_ORDER)
        _differs("D", D_after, _run_d_step(steps.gan_d_step)[2], _D_UPDATE_ONCE)

    passed = _table_then(fn, steps.gan_d_step, _observe_d_step, D_STEP_MISTAKES, _D_PASSED, _D_RECIPE + ".", explain)
    check_verdicts(out[1], real_logits, fake_logits)
    return passed


# --------------------------------------------------------------------------------------------
# The generator step


def _g_scenario() -> tuple[nn.Module, nn.Module, torch.Tensor]:
    with seeded(800):
        G, D = tiny_models()
        z = torch.randn(BATCH, Z_DIM)
    return G, D, z


def _run_g_step(step: Callable[..., Any]) -> tuple[Any, nn.Module, nn.Module, int]:
    """One ``step(G, D, g_optimizer, fake)`` on fakes ``G(z)`` made with their graph, as D's step returns
    them; what it returned, the models after it, and how many times G ran inside it."""
    G, D, z = _g_scenario()
    out, passes = run_step(step, G, D, G, G(z))
    return out, G, D, passes


def _observe_g_step(step: Callable[..., Any]) -> Any:
    out, G, D, passes = _run_g_step(step)
    if isinstance(out, Raised):
        return out
    return {"loss": loss_seen(out, "g_loss"), "G's forward passes": passes, **models_after(G, D)}


def _g_step(
    G: nn.Module,
    D: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    fake: torch.Tensor,
    *,
    regenerate: bool = False,
    detach: bool = False,
    freeze: bool = True,
    unfreeze: bool = True,
    zero_grad: bool = True,
    update: bool = True,
    update_d: bool = False,
) -> torch.Tensor:
    """A G step with one ingredient changed (the keywords' defaults give the reference)."""
    if regenerate:
        fake = G(torch.randn(len(fake), G.z_dim, device=fake.device))
    if freeze:
        D.requires_grad_(False)
    loss = losses.generator_loss_non_saturating(D(fake.detach() if detach else fake))
    if zero_grad:
        g_optimizer.zero_grad()
    loss.backward()
    if update:
        g_optimizer.step()
    if update_d:
        with torch.no_grad():
            for p in D.parameters():
                if p.grad is not None:
                    p -= LR * p.grad
    if unfreeze:
        D.requires_grad_(True)
    return loss.detach()


_REGENERATED = (
    "your generator step ran G: it made fakes of its own instead of using the ones it is given. The fakes come from "
    "D's step, made once, so G learns from the very fakes D was just trained on."
)
_G_NO_GRADIENT = (
    "G received no gradient: the fakes were detached (or made under torch.no_grad()) in the generator step, so D's "
    "verdict cannot flow back into G"
)
_USE_FAKE = "use the fakes as they are given, with their graph: loss = losses.generator_loss_non_saturating(D(fake))."
_D_CHANGED = "D's parameters changed: the generator step must update only G."
_D_FROZEN = "D is still frozen after your generator step: the next discriminator step would not train it."

G_STEP_MISTAKES = (
    WrongVersion(partial(_g_step, regenerate=True), _REGENERATED, _USE_FAKE + " Do not call G in g_step."),
    WrongVersion(
        partial(_g_step, detach=True), _G_NO_GRADIENT + " (backward() fails when D is frozen too).", _USE_FAKE
    ),
    WrongVersion(
        partial(_g_step, detach=True, freeze=False, unfreeze=False), _G_NO_GRADIENT + ": G did not change.", _USE_FAKE
    ),
    WrongVersion(
        partial(_g_step, freeze=False, unfreeze=False, update_d=True),
        _D_CHANGED,
        "freeze D with D.requires_grad_(False) during the step and step only g_optimizer.",
    ),
    WrongVersion(
        partial(_g_step, unfreeze=False),
        _D_FROZEN,
        "set D.requires_grad_(True) again at the end of the generator step.",
    ),
    WrongVersion(
        partial(_g_step, zero_grad=False),
        "zero_grad missing: the gradients already in G's .grad were added to this step's.",
        "call g_optimizer.zero_grad() before loss.backward(); " + _STEP_ORDER,
    ),
    WrongVersion(
        partial(_g_step, update=False),
        "G's parameters did not change: g_optimizer.step() was never called, or called before loss.backward().",
        _STEP_ORDER,
    ),
)


@exercise_check("generator_step")
def check_generator_step(
    fn: Callable[[nn.Module, nn.Module, torch.optim.Optimizer, torch.Tensor], Any],
) -> str:
    """Check ``fn(G, D, g_optimizer, fake (B,1,28,28)) -> loss``: one non-saturating update of G through a
    frozen D, on the fakes D's step made (with their graph back to G).

    As :func:`gannotes.steps.gan_g_step`: the loss is ``generator_loss_non_saturating(D(fake))``; G's
    parameters match the reference update; G is not called again; D's parameters are unchanged and D is
    trainable again afterwards. D's ``.grad`` filling up is allowed (the next D step clears it) but noted:
    freezing D avoids it. The step may return the loss or a dict holding it under ``"g_loss"``.
    """
    with seeded(0):
        out, G_after, D_after, passes = _run_g_step(fn)
    _known_error(out)
    if isinstance(out, Raised) and passes:
        fail(
            f"your generator step ran G and raised {out.error}: it makes fakes of its own, as if it were given z.",
            "g_step gets the fakes D's step made, g_step(G, D, g_optimizer, fake), and does not call G: "
            "loss = losses.generator_loss_non_saturating(D(fake)).",
        )
    G, D, z = _g_scenario()  # as they were before the step
    with torch.no_grad():
        fake_logits = D(G(z))
    expected = losses.generator_loss_non_saturating(fake_logits)
    loss = None
    if not isinstance(out, Raised):
        loss = step_loss(out, "g_loss")
        if not same_values(loss, expected):
            diagnose(loss.unsqueeze(0), generator_loss_mistakes([(fake_logits,)], "non_saturating"))

    def explain() -> None:
        if loss is None:
            return
        if passes:
            fail(_REGENERATED, _USE_FAKE + " Do not call G in g_step.")
        if not _same(D_after, D):
            fail(_D_CHANGED, "freeze D with D.requires_grad_(False) during the step and step only g_optimizer.")
        if not all(trainable(D_after)):
            fail(_D_FROZEN, "set D.requires_grad_(True) again at the end of the generator step.")
        _expect_loss(
            loss,
            expected,
            "loss = losses.generator_loss_non_saturating(D(fake)) with the fakes you are given, computed before "
            "the update.",
        )
        if _same(G_after, G):
            if not has_gradient(G_after):
                fail(_G_NO_GRADIENT + ": G did not change.", _USE_FAKE)
            fail(
                "G's parameters did not change: g_optimizer.step() was never called, or called before loss.backward().",
                _STEP_ORDER,
            )
        _differs("G", G_after, _run_g_step(steps.gan_g_step)[1], _G_UPDATE_ONCE)

    passed = _table_then(fn, steps.gan_g_step, _observe_g_step, G_STEP_MISTAKES, _G_PASSED, _G_RECIPE + ".", explain)
    if has_gradient(D_after):
        passed += (
            " (note: D's .grad was filled — harmless, the next D step clears it, but D.requires_grad_(False) "
            "during the G step saves that work)"
        )
    return passed + "."
