"""Checks for notebook 05's exercises: the conditional GAN's discriminator step and generator step.

Both are table checks (:func:`~gannotes.checks.core.check_against_table`): the learner's step, the
reference (:mod:`gannotes.steps`) and each wrong version of the tables below run through the same
scenario, under the same seed, so the fake labels that ``torch.randint`` draws are the same for all.
The scenario: tiny conditional MLPs (no batch norm), a batch of real images with their labels, and
plain SGD, with stale gradients left in ``.grad`` first. The D step makes the fakes and returns them
with their labels, ``(fake, fake_labels), stats``; the G step gets those fakes, still holding their
graph, and their labels. Every mistake then shows in what is compared: the form of what the step
returns, the fakes and labels it returns and whether the fakes still lead back to G, the loss, both
networks' parameters after it, how often it called G, whether G received gradients in D's step, and
which parameters are still trainable. Each wrong version is a plain wrong implementation, mapped to
one message saying what is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import nn

from .. import losses, steps
from .core import Raised, WrongVersion, check_against_table, exercise_check, fail, has_gradient, seeded
from .steps_scenario import BATCH, Z_DIM, form, loss_seen, models_after, run_step, tiny_models
from .training import check_verdicts, step_loss

CLASSES = 10
_DRAW = "fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)"
_UPDATE = "d_optimizer.zero_grad(), loss.backward(), d_optimizer.step()"
_RETURN = "return (fake, fake_labels), stats"


def _scenario(seed: int) -> tuple[nn.Module, nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tiny conditional models, real images with their labels, noise."""
    with seeded(seed):
        G, D = tiny_models(num_classes=CLASSES)
        real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
        labels = torch.randint(CLASSES, (BATCH,))
        z = torch.randn(BATCH, Z_DIM)
    return G, D, real, labels, z


# --------------------------------------------------------------------------------------------
# The discriminator step

_D_FORM = "((tensor, tensor), dict)"  # (fake, fake_labels), stats


def _run_d_step(step: Callable[..., Any]) -> tuple[Any, nn.Module, nn.Module, int]:
    G, D, real, labels, z = _scenario(seed=500)
    out, calls = run_step(step, G, D, D, real, labels, z)
    return out, G, D, calls


def _d_parts(out: Any) -> tuple[Any, Any, Any]:
    """``fake, fake_labels, stats`` from ``(fake, fake_labels), stats``; ``None`` for what is not there."""
    if isinstance(out, Raised):
        return None, None, out
    fakes, stats = out if isinstance(out, tuple) and len(out) == 2 else (None, out)
    fake, fake_labels = fakes if isinstance(fakes, tuple) and len(fakes) == 2 else (fakes, None)
    return (
        fake if isinstance(fake, torch.Tensor) else None,
        fake_labels if isinstance(fake_labels, torch.Tensor) else None,
        stats,
    )


def _observe_d_step(step: Callable[..., Any]) -> dict[str, Any]:
    out, G, D, calls = _run_d_step(step)
    fake, fake_labels, stats = _d_parts(out)
    return {
        "returned": form(out),
        "fake": None if fake is None else fake.detach().float(),
        "fake leads back to G": None if fake is None else fake.requires_grad,
        "fake_labels": fake_labels,
        "loss": loss_seen(stats, "d_loss"),
        "G calls": calls,
        **models_after(G, D),
    }


def _d_step(
    G: nn.Module,
    D: nn.Module,
    d_optimizer: torch.optim.Optimizer,
    real: torch.Tensor,
    labels: torch.Tensor,
    z: torch.Tensor,
    *,
    g_labels: str = "random",
    real_with: str = "labels",
    fake_with: str = "fake_labels",
    detach: bool = True,
    freeze_g: bool = False,
    zero_grad: bool = True,
    update: bool = True,
    swap_loss: bool = False,
    returned_fake: str = "same",
    returned_labels: str = "fake_labels",
    returned: str = "fakes and stats",
) -> Any:
    """A conditional D step with one ingredient changed (the keywords' defaults give the reference)."""
    fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device) if g_labels == "random" else labels
    if freeze_g:
        G.requires_grad_(False)
    fake = G(z) if g_labels == "none" else G(z, fake_labels)
    judged = fake.detach() if detach else fake
    chosen = {"labels": labels, "fake_labels": fake_labels}
    if "again" in (fake_with, returned_labels):
        chosen["again"] = torch.randint(G.num_classes, (len(z),), device=z.device)
    real_logits = D(real) if real_with == "none" else D(real, chosen[real_with])
    fake_logits = D(judged) if fake_with == "none" else D(judged, chosen[fake_with])
    loss = (
        losses.discriminator_loss(fake_logits, real_logits)
        if swap_loss
        else losses.discriminator_loss(real_logits, fake_logits)
    )
    if zero_grad:
        d_optimizer.zero_grad()
    loss.backward()
    if update:
        d_optimizer.step()
    stats = {
        "d_loss": loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }
    if returned_fake == "detached":
        fake = fake.detach()
    elif returned_fake == "made again":
        fake = G(z, fake_labels)
    elif returned_fake == "other noise":
        fake = G(torch.randn_like(z), fake_labels)
    fakes = (fake, chosen[returned_labels])
    return {
        "fakes and stats": (fakes, stats),
        "fake without labels": (fake, stats),
        "stats only": stats,
        "fakes only": fakes,
        "three things": (*fakes, stats),
        "stats first": (stats, fakes),
    }[returned]


_PAIRS = "D(real, labels) and D(fake.detach(), fake_labels)"
_ONCE = "make the fakes once, fake = G(z, fake_labels), judge D(fake.detach(), fake_labels), and " + _RETURN
_STATS = "{'d_loss': loss.detach(), 'd_real': ..., 'd_fake': ...}"
D_STEP_MISTAKES = (
    # Where the labels go
    WrongVersion(
        partial(_d_step, real_with="none", fake_with="none"),
        "D was called without labels (D(real), D(fake)): a conditional discriminator judges pairs, 'is x a real "
        "image of class y?'. Without the label, nothing would punish G for drawing another digit than asked.",
        f"give D each batch's labels: {_PAIRS}.",
    ),
    WrongVersion(
        partial(_d_step, g_labels="none"),
        "G was called without labels, G(z): a conditional generator must be told which digit to draw.",
        f"draw the fakes' labels, {_DRAW}, and make the fakes with fake = G(z, fake_labels).",
    ),
    WrongVersion(
        partial(_d_step, real_with="fake_labels"),
        "the real images were judged with the labels drawn for the fakes, D(real, fake_labels): D then learns that "
        "real images come with random labels, and stops checking whether image and label agree.",
        f"real images go with their own labels, the ones the step receives: {_PAIRS}.",
    ),
    WrongVersion(
        partial(_d_step, real_with="fake_labels", fake_with="labels"),
        "the labels are swapped: the real images were paired with the generator's labels, D(real, fake_labels), "
        "and the fakes with the real batch's, D(fake, labels).",
        f"each image is judged with its own label: {_PAIRS}.",
    ),
    WrongVersion(
        partial(_d_step, fake_with="labels"),
        "D judged the fakes with the real batch's labels, D(fake, labels), not with the labels G was asked for: "
        "D would punish G for drawing the very digit it was asked to draw.",
        "judge each fake with the label it was made from: D(fake.detach(), fake_labels), the tensor you gave G.",
    ),
    WrongVersion(
        partial(_d_step, fake_with="again"),
        "the fake labels were drawn twice, once for G and again for D: D judged each fake against a label G was "
        "not asked for.",
        "draw fake_labels once, and use that same tensor in G(z, fake_labels), D(fake.detach(), fake_labels) and "
        "the return.",
    ),
    WrongVersion(
        partial(_d_step, fake_with="again", returned_labels="again"),
        "the fake labels were drawn twice, once for G and again for D, and the second draw was returned with the "
        "fakes: D judges each fake against a label G was not asked for, here and in G's step.",
        "draw fake_labels once, and use that same tensor in G(z, fake_labels), D(fake.detach(), fake_labels) and "
        "the return.",
    ),
    WrongVersion(
        partial(_d_step, g_labels="real"),
        "the fakes were made with the real batch's labels, G(z, labels): this step draws their labels at random, "
        "uniformly over the classes, as the CGAN game does (y ~ Uniform{0..K-1}).",
        f"{_DRAW}; fake = G(z, fake_labels); then D(fake.detach(), fake_labels), and {_RETURN}.",
    ),
    # The fakes: made once, detached where D judges them, returned with their graph and their labels
    WrongVersion(
        partial(_d_step, detach=False),
        "the fakes D judged were not detached, D(fake, fake_labels): D's loss sent gradients into G (G's .grad is "
        "filled), wasted work that also pollutes G's next update.",
        "detach them where D judges them, D(fake.detach(), fake_labels), and return fake itself, with its graph, "
        "for G's step.",
    ),
    WrongVersion(
        partial(_d_step, freeze_g=True),
        "G is still frozen after your discriminator step (G.requires_grad_(False) was never undone): the "
        "generator step would not train it, and the fakes you return carry no graph back to G.",
        "do not freeze G here: D(fake.detach(), fake_labels) is what keeps D's loss out of G.",
    ),
    WrongVersion(
        partial(_d_step, returned_fake="detached"),
        "the fakes your step returns are detached (made under torch.no_grad() or with .detach()): G's step gets "
        "them without the graph that leads back to G's weights, so it cannot train G.",
        "keep the graph: fake = G(z, fake_labels); detach only where D judges them, D(fake.detach(), fake_labels); "
        f"{_RETURN}.",
    ),
    WrongVersion(
        partial(_d_step, returned_fake="made again"),
        "your step made the fakes twice, once for D and again for the return: the same images at twice the "
        "generator's cost, the very work that handing the fakes to G's step saves.",
        f"{_ONCE}.",
    ),
    WrongVersion(
        partial(_d_step, returned_fake="other noise"),
        "the fakes your step returns were made from other noise than the ones D judged: G's step would train G "
        "on fakes D never saw, and the generator runs twice per step.",
        f"{_ONCE}.",
    ),
    WrongVersion(
        partial(_d_step, returned_labels="labels"),
        "your step returns the fakes with the real batch's labels, (fake, labels): G's step would then ask D "
        "about each fake with a label G was not asked for.",
        f"return the labels G was given, the ones you drew: {_RETURN}.",
    ),
    WrongVersion(
        partial(_d_step, returned_labels="again"),
        "your step returns the fakes with labels drawn again, not the ones G made them from: G's step would then "
        "ask D about each fake with a label G was not asked for.",
        f"draw fake_labels once, and return that same tensor with the fakes: {_RETURN}.",
    ),
    # D's update
    WrongVersion(
        partial(_d_step, zero_grad=False),
        "zero_grad missing: the gradients already in D's .grad were added to this step's (PyTorch accumulates "
        "gradients across backward() calls).",
        f"one update, in this order: {_UPDATE}.",
    ),
    WrongVersion(
        partial(_d_step, update=False),
        "D's parameters did not change: d_optimizer.step() was never called.",
        f"one update, in this order: {_UPDATE}.",
    ),
    WrongVersion(
        partial(_d_step, swap_loss=True),
        "real and fake are swapped in the loss, discriminator_loss(fake_logits, real_logits): D learns to call "
        "the fakes real.",
        "losses.discriminator_loss(real_logits, fake_logits): the real pairs' logits first.",
    ),
    # What the step returns
    WrongVersion(
        partial(_d_step, returned="fake without labels"),
        "your step returns the fakes without their labels, (fake, stats): G's step needs them to ask D about "
        "(fake, label) pairs, and fit hands it only what this step returns.",
        f"return the fakes with their labels, as one tuple: {_RETURN}.",
    ),
    WrongVersion(
        partial(_d_step, returned="stats only"),
        "your step returns only its stats, no fakes: fit hands G's step the fakes and their labels that this "
        "step returns, so that the fakes are made once per step.",
        f"{_RETURN}, with stats = {_STATS}.",
    ),
    WrongVersion(
        partial(_d_step, returned="fakes only"),
        "your step returns the fakes and their labels but no stats: fit logs D's loss and verdicts from them.",
        f"{_RETURN}, with stats = {_STATS}.",
    ),
    WrongVersion(
        partial(_d_step, returned="three things"),
        "your step returns three things, (fake, fake_labels, stats): fit expects a pair, the fakes with their "
        "labels in one tuple, then the stats.",
        f"group the fakes with their labels: {_RETURN}.",
    ),
    WrongVersion(
        partial(_d_step, returned="stats first"),
        "your step returns the stats first, (stats, (fake, fake_labels)): fit expects the fakes first.",
        f"{_RETURN}.",
    ),
)


def _check_stats(stats: Any) -> None:
    """The stats a D step returns are the dict that :func:`gannotes.train.fit` logs: fail clearly on anything else."""
    if not isinstance(stats, dict):
        step_loss(stats, "d_loss")  # fails on what is not a scalar tensor, with its own message
        fail(
            "the stats your step returns are only the loss; this step returns a dict of stats for the history.",
            "return (fake, fake_labels), {'d_loss': loss.detach(), 'd_real': torch.sigmoid(real_logits.detach())"
            ".mean(), 'd_fake': torch.sigmoid(fake_logits.detach()).mean()}.",
        )
    step_loss(stats, "d_loss")
    for key in ("d_real", "d_fake"):
        if key not in stats:
            fail(
                f"the dict your step returns has no {key!r}: D's mean verdict on the "
                f"{'real' if key == 'd_real' else 'fake'} pairs, which the history plots.",
                f"add {key!r}: torch.sigmoid(logits.detach()).mean(), with the logits of the loss.",
            )


@exercise_check("cgan_d_step")
def check_cgan_d_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real (B,1,28,28), labels (B,), z (B, z_dim)) -> ((fake, fake_labels), stats)``.

    As :func:`gannotes.steps.cgan_d_step`: draw ``fake_labels`` with ``torch.randint(G.num_classes,
    (len(z),), device=z.device)``, make ``fake = G(z, fake_labels)`` once (with its graph), judge
    ``D(real, labels)`` and ``D(fake.detach(), fake_labels)`` with ``losses.discriminator_loss``,
    update D once, and return the fakes with their labels and ``{"d_loss", "d_real", "d_fake"}``
    (the mean sigmoid of each batch's logits).
    """
    with seeded(0):
        out, _, _, _ = _run_d_step(fn)
    well_formed = isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], tuple)
    if well_formed:
        _check_stats(out[1])
    passed = check_against_table(
        fn,
        steps.cgan_d_step,
        _observe_d_step,
        D_STEP_MISTAKES,
        "draws the fake labels once, judges real images with their own labels and detached fakes with the labels G "
        "was given, returns the fakes with their graph and those labels, leaves G untouched, and updates D exactly "
        "like the reference.",
        f"{_DRAW}; fake = G(z, fake_labels); loss = losses.discriminator_loss({_PAIRS.replace(' and ', ', ')}); "
        f"then {_UPDATE}; {_RETURN}"
        + ("" if form(out) == _D_FORM else f" (your step returns {form(out)}, expected {_D_FORM})")
        + ".",
    )
    # Same seed: the same fake labels as the learner's step drew, so the same logits it saw.
    G, D, real, labels, z = _scenario(seed=500)
    with seeded(0), torch.no_grad():
        fake_labels = torch.randint(G.num_classes, (len(z),))
        check_verdicts(out[1], D(real, labels), D(G(z, fake_labels), fake_labels))
    return passed


# --------------------------------------------------------------------------------------------
# The generator step


def _run_g_step(step: Callable[..., Any]) -> tuple[Any, nn.Module, nn.Module, int]:
    """The G step on fakes as the reference D step returns them: made from fake_labels, with their graph."""
    G, D, _, _, z = _scenario(seed=600)
    with seeded(600):
        fake_labels = torch.randint(CLASSES, (BATCH,))
    out, calls = run_step(step, G, D, G, G(z, fake_labels), fake_labels)
    return out, G, D, calls


def _observe_g_step(step: Callable[..., Any]) -> dict[str, Any]:
    out, G, D, calls = _run_g_step(step)
    return {"loss": loss_seen(out, "g_loss"), "G calls": calls, **models_after(G, D, g_gradients=False)}


def _g_step(
    G: nn.Module,
    D: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    *,
    d_labels: str = "given",
    remake: str = "no",
    detach: bool = False,
    freeze: bool = True,
    unfreeze: bool = True,
    zero_grad: bool = True,
    loss_fn: Callable[[torch.Tensor], torch.Tensor] = losses.generator_loss_non_saturating,
) -> dict[str, torch.Tensor]:
    """A conditional G step with one ingredient changed (the keywords' defaults give the reference)."""
    if freeze:
        D.requires_grad_(False)
    if remake == "with new labels":  # the old contract's G step: its own labels, its own noise
        fake_labels = torch.randint(G.num_classes, (len(fake),), device=fake.device)
    if remake != "no":
        fake = G(torch.randn(len(fake), G.z_dim, device=fake.device), fake_labels)
    if detach:
        fake = fake.detach()
    if d_labels == "again":
        fake_labels = torch.randint(G.num_classes, (len(fake),), device=fake.device)
    logits = D(fake) if d_labels == "none" else D(fake, fake_labels)
    loss = loss_fn(logits)
    if zero_grad:
        g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    if unfreeze:
        D.requires_grad_(True)
    return {"g_loss": loss.detach()}


_G_LOSS = "loss = losses.generator_loss_non_saturating(D(fake, fake_labels))"
_NO_G = "use the fakes and labels the step receives, as they are (G is not called here)"
G_STEP_MISTAKES = (
    WrongVersion(
        partial(_g_step, d_labels="none"),
        "the generator step does not condition D: D(fake) without labels. G's loss must ask D 'is this a real "
        "image of the class G was asked for?', or G is never pushed to obey its label.",
        f"{_G_LOSS}.",
    ),
    WrongVersion(
        partial(_g_step, d_labels="again"),
        "the generator step judged the fakes against labels it drew again, not the fake_labels they were made "
        "from: G is pushed towards random classes, so it learns to ignore its label.",
        f"ask D about the fakes with the labels that come with them: {_G_LOSS}.",
    ),
    WrongVersion(
        partial(_g_step, remake="with fresh noise"),
        "the generator step made new fakes from fresh noise, G(torch.randn(...), fake_labels), instead of using "
        "the ones it was given: the generator runs twice per step, and G is trained on other samples than D "
        "just judged.",
        f"{_NO_G}: {_G_LOSS}.",
    ),
    WrongVersion(
        partial(_g_step, remake="with new labels"),
        "the generator step drew new labels and new noise and made its own fakes, instead of using the fakes and "
        "labels it was given: the generator runs twice per step, on other samples than D just judged.",
        f"{_NO_G}: {_G_LOSS}.",
    ),
    WrongVersion(
        partial(_g_step, detach=True),
        "the fakes were detached in the generator step: D's verdict cannot flow back into G, so there is no "
        "gradient to train it (backward() fails when D is frozen too).",
        f"no .detach() and no torch.no_grad() here: {_G_LOSS}.",
    ),
    WrongVersion(
        partial(_g_step, detach=True, freeze=False, unfreeze=False),
        "the fakes were detached in the generator step: D's verdict cannot flow back into G, so G did not change.",
        f"no .detach() and no torch.no_grad() here: {_G_LOSS}.",
    ),
    WrongVersion(
        partial(_g_step, unfreeze=False),
        "D is still frozen after your generator step: the next discriminator step would not train it.",
        "set D.requires_grad_(True) again at the end of the generator step.",
    ),
    WrongVersion(
        partial(_g_step, zero_grad=False),
        "zero_grad missing: the gradients already in G's .grad were added to this step's.",
        "one update, in this order: g_optimizer.zero_grad(), loss.backward(), g_optimizer.step().",
    ),
    WrongVersion(
        partial(_g_step, loss_fn=losses.generator_loss_saturating),
        "this is the saturating (minimax) loss, ln(1 - D(G(z, y), y)): its gradient vanishes while D easily "
        "rejects the fakes, early in training.",
        f"use the non-saturating loss: {_G_LOSS}.",
    ),
)


@exercise_check("cgan_g_step")
def check_cgan_g_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, g_optimizer, fake (B,1,28,28), fake_labels (B,)) -> loss or {"g_loss": loss}``.

    As :func:`gannotes.steps.cgan_g_step`: the fakes come from the D step with their graph, made
    from ``fake_labels``; freeze D, minimise ``generator_loss_non_saturating(D(fake, fake_labels))``
    with one update of G, and make D trainable again. G is not called: the fakes lead back to it.
    """
    with seeded(0):
        out, _, D, calls = _run_g_step(fn)
    if isinstance(out, Raised) and "positional argument" in out.error:
        fail(
            f"your step could not be called as cgan_g_step(G, D, g_optimizer, fake, fake_labels): {out.error}.",
            "the generator step receives the fakes the discriminator step made, with their labels: "
            "def cgan_g_step(G, D, g_optimizer, fake, fake_labels).",
        )
    if not isinstance(out, Raised):
        step_loss(out, "g_loss")  # a scalar tensor, or a dict holding one
    passed = check_against_table(
        fn,
        steps.cgan_g_step,
        _observe_g_step,
        G_STEP_MISTAKES,
        "judges the fakes it was given with their own labels, updates G exactly like the reference, and leaves D "
        "unchanged and trainable",
        f"D.requires_grad_(False); {_G_LOSS}; zero_grad, backward, step; D.requires_grad_(True)"
        + (f"; {_NO_G}" if calls else "")
        + ".",
    )
    if has_gradient(D):
        passed += (
            " (note: D's .grad was filled — harmless, the next D step clears it, but D.requires_grad_(False) during "
            "the G step saves that work)"
        )
    return passed + "."
