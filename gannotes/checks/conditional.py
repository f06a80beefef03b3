"""Checks for notebook 05's exercises: the conditional GAN's discriminator step and generator step.

Both are table checks (:func:`~gannotes.checks.core.check_against_table`): the learner's step, the
reference (:mod:`gannotes.steps`) and each wrong version of the tables below run through the same
scenario, under the same seed, so the fake labels that ``torch.randint`` draws are the same for all.
The scenario: tiny conditional MLPs (no batch norm), a batch of real images with their labels, and
plain SGD, with stale gradients left in ``.grad`` first. Every mistake then shows in what is
compared: the loss the step returns, both networks' parameters after it, whether G received
gradients in D's step, and which parameters are still trainable. Each wrong version is a plain
wrong implementation, mapped to one message saying what is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .. import losses, steps
from ..models import MLPDiscriminator, MLPGenerator
from .core import Raised, WrongVersion, check_against_table, exercise_check, fail, has_gradient, observe_call, seeded
from .training import check_verdicts, step_loss

BATCH, Z_DIM, CLASSES, LR = 8, 8, 10, 0.1
_DRAW = "fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)"
_UPDATE = "d_optimizer.zero_grad(), loss.backward(), d_optimizer.step()"


def _scenario(seed: int) -> tuple[nn.Module, nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tiny conditional models, real images with their labels, noise; D and G hold stale gradients."""
    with seeded(seed):
        G = MLPGenerator(z_dim=Z_DIM, hidden=16, depth=1, num_classes=CLASSES)
        D = MLPDiscriminator(hidden=16, depth=1, num_classes=CLASSES)
        real = torch.rand(BATCH, 1, 28, 28) * 2 - 1
        labels = torch.randint(CLASSES, (BATCH,))
        z = torch.randn(BATCH, Z_DIM)
    return G, D, real, labels, z


def _stale(model: nn.Module) -> None:
    """Gradients as a previous step leaves them: a step that forgets zero_grad adds them to its own."""
    for p in model.parameters():
        p.grad = torch.ones_like(p)


def _loss(out: Any, key: str) -> Any:
    """What a step returned, reduced to its loss (a tensor), or what it was instead, to compare."""
    if isinstance(out, Raised):
        return out
    if isinstance(out, dict):
        out = out.get(key)
    return out.detach().float() if isinstance(out, torch.Tensor) else type(out).__name__


def _parameters(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _trainable(*models: nn.Module) -> list[bool]:
    return [p.requires_grad for model in models for p in model.parameters()]


# --------------------------------------------------------------------------------------------
# The discriminator step


def _run_d_step(step: Callable[..., Any]) -> tuple[Any, nn.Module, nn.Module]:
    G, D, real, labels, z = _scenario(seed=500)
    _stale(D)
    out = observe_call(step, G, D, torch.optim.SGD(D.parameters(), lr=LR), real, labels, z)
    return out, G, D


def _observe_d_step(step: Callable[..., Any]) -> dict[str, Any]:
    out, G, D = _run_d_step(step)
    return {
        "loss": _loss(out, "d_loss"),
        "D after": _parameters(D),
        "G after": _parameters(G),
        "G got gradients": has_gradient(G),
        "trainable": _trainable(G, D),
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
) -> dict[str, torch.Tensor]:
    """A conditional D step with one ingredient changed (the keywords' defaults give the reference)."""
    fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device) if g_labels == "random" else labels
    if freeze_g:
        G.requires_grad_(False)
    fake = G(z) if g_labels == "none" else G(z, fake_labels)
    if detach:
        fake = fake.detach()
    chosen = {"labels": labels, "fake_labels": fake_labels}
    if fake_with == "again":
        chosen["again"] = torch.randint(G.num_classes, (len(z),), device=z.device)
    real_logits = D(real) if real_with == "none" else D(real, chosen[real_with])
    fake_logits = D(fake) if fake_with == "none" else D(fake, chosen[fake_with])
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
    return {
        "d_loss": loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def _d_version(**change: Any) -> Callable[..., dict[str, torch.Tensor]]:
    def step(G, D, d_optimizer, real, labels, z):  # noqa: ANN001, ANN202 - a learner's signature
        return _d_step(G, D, d_optimizer, real, labels, z, **change)

    return step


_PAIRS = "D(real, labels) and D(fake, fake_labels)"
D_STEP_MISTAKES = (
    WrongVersion(
        _d_version(real_with="none", fake_with="none"),
        "D was called without labels (D(real), D(fake)): a conditional discriminator judges pairs, 'is x a real "
        "image of class y?'. Without the label, nothing would punish G for drawing another digit than asked.",
        f"give D each batch's labels: {_PAIRS}.",
    ),
    WrongVersion(
        _d_version(g_labels="none"),
        "G was called without labels, G(z): a conditional generator must be told which digit to draw.",
        f"draw the fakes' labels, {_DRAW}, and make the fakes with G(z, fake_labels).",
    ),
    WrongVersion(
        _d_version(real_with="fake_labels"),
        "the real images were judged with the labels drawn for the fakes, D(real, fake_labels): D then learns that "
        "real images come with random labels, and stops checking whether image and label agree.",
        f"real images go with their own labels, the ones the step receives: {_PAIRS}.",
    ),
    WrongVersion(
        _d_version(real_with="fake_labels", fake_with="labels"),
        "the labels are swapped: the real images were paired with the generator's labels, D(real, fake_labels), "
        "and the fakes with the real batch's, D(fake, labels).",
        f"each image is judged with its own label: {_PAIRS}.",
    ),
    WrongVersion(
        _d_version(fake_with="labels"),
        "D judged the fakes with the real batch's labels, D(fake, labels), not with the labels G was asked for: "
        "D would punish G for drawing the very digit it was asked to draw.",
        "judge each fake with the label it was made from: D(fake, fake_labels), the tensor you gave G.",
    ),
    WrongVersion(
        _d_version(fake_with="again"),
        "the fake labels were drawn twice, once for G and again for D: D judged each fake against a label G was "
        "not asked for.",
        "draw fake_labels once, and use that same tensor in G(z, fake_labels) and D(fake, fake_labels).",
    ),
    WrongVersion(
        _d_version(g_labels="real"),
        "the fakes were made with the real batch's labels, G(z, labels): this step draws their labels at random, "
        "uniformly over the classes, as the CGAN game does (y ~ Uniform{0..K-1}).",
        f"{_DRAW}; fake = G(z, fake_labels).detach(); then D(fake, fake_labels).",
    ),
    WrongVersion(
        _d_version(detach=False),
        "the fakes were not detached: D's loss sent gradients into G (G's .grad is filled), wasted work that "
        "also pollutes G's next update.",
        "fake = G(z, fake_labels).detach(), or make the fakes under torch.no_grad().",
    ),
    WrongVersion(
        _d_version(freeze_g=True),
        "G is still frozen after your discriminator step (G.requires_grad_(False) was never undone): the "
        "generator step would not train it.",
        "do not freeze G here: detach the fakes instead, fake = G(z, fake_labels).detach().",
    ),
    WrongVersion(
        _d_version(zero_grad=False),
        "zero_grad missing: the gradients already in D's .grad were added to this step's (PyTorch accumulates "
        "gradients across backward() calls).",
        f"one update, in this order: {_UPDATE}.",
    ),
    WrongVersion(
        _d_version(update=False),
        "D's parameters did not change: d_optimizer.step() was never called.",
        f"one update, in this order: {_UPDATE}.",
    ),
    WrongVersion(
        _d_version(swap_loss=True),
        "real and fake are swapped in the loss, discriminator_loss(fake_logits, real_logits): D learns to call "
        "the fakes real.",
        "losses.discriminator_loss(real_logits, fake_logits): the real pairs' logits first.",
    ),
)


def _check_stats(out: Any) -> None:
    """A D step returns the dict that :func:`gannotes.train.fit` logs: fail clearly on anything else."""
    if isinstance(out, Raised):
        return  # the table tells which mistake raises like this
    if not isinstance(out, dict):
        step_loss(out, "d_loss")  # fails on what is not a scalar tensor, with its own message
        fail(
            "your step returns only the loss; this step returns a dict of stats for the history.",
            "return {'d_loss': loss.detach(), 'd_real': torch.sigmoid(real_logits.detach()).mean(), "
            "'d_fake': torch.sigmoid(fake_logits.detach()).mean()}.",
        )
    step_loss(out, "d_loss")
    for key in ("d_real", "d_fake"):
        if key not in out:
            fail(
                f"the dict your step returns has no {key!r}: D's mean verdict on the "
                f"{'real' if key == 'd_real' else 'fake'} pairs, which the history plots.",
                f"add {key!r}: torch.sigmoid(logits.detach()).mean(), with the logits of the loss.",
            )


@exercise_check("cgan_d_step")
def check_cgan_d_step(
    fn: Callable[
        [nn.Module, nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor, torch.Tensor], dict[str, torch.Tensor]
    ],
) -> str:
    """Check ``fn(G, D, d_optimizer, real (B,1,28,28), labels (B,), z (B, z_dim)) -> dict``: one update of D.

    As :func:`gannotes.steps.cgan_d_step`: draw ``fake_labels`` with ``torch.randint(G.num_classes,
    (len(z),), device=z.device)``, make ``G(z, fake_labels)`` detached, judge ``D(real, labels)`` and
    ``D(fake, fake_labels)`` with ``losses.discriminator_loss``, update D once, and return
    ``{"d_loss", "d_real", "d_fake"}`` (the mean sigmoid of each batch's logits).
    """
    with seeded(0):
        out, _, _ = _run_d_step(fn)
    _check_stats(out)
    passed = check_against_table(
        fn,
        steps.cgan_d_step,
        _observe_d_step,
        D_STEP_MISTAKES,
        "draws the fake labels once, judges real images with their own labels and fakes with the labels G was "
        "given, leaves G untouched, and updates D exactly like the reference.",
        f"{_DRAW}; fake = G(z, fake_labels).detach(); loss = losses.discriminator_loss({_PAIRS.replace(' and ', ', ')})"
        f"; then {_UPDATE}.",
    )
    # Same seed: the same fake labels as the learner's step drew, so the same logits it saw.
    G, D, real, labels, z = _scenario(seed=500)
    with seeded(0), torch.no_grad():
        fake_labels = torch.randint(G.num_classes, (len(z),))
        check_verdicts(out, D(real, labels), D(G(z, fake_labels), fake_labels))
    return passed


# --------------------------------------------------------------------------------------------
# The generator step


def _run_g_step(step: Callable[..., Any]) -> tuple[Any, nn.Module, nn.Module]:
    G, D, _, _, z = _scenario(seed=600)
    _stale(G)
    out = observe_call(step, G, D, torch.optim.SGD(G.parameters(), lr=LR), z)
    return out, G, D


def _observe_g_step(step: Callable[..., Any]) -> dict[str, Any]:
    out, G, D = _run_g_step(step)
    return {
        "loss": _loss(out, "g_loss"),
        "G after": _parameters(G),
        "D after": _parameters(D),
        "trainable": _trainable(G, D),
    }


def _g_step(
    G: nn.Module,
    D: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    z: torch.Tensor,
    *,
    g_labels: bool = True,
    d_labels: str = "same",
    detach: bool = False,
    freeze: bool = True,
    unfreeze: bool = True,
    zero_grad: bool = True,
    loss_fn: Callable[[torch.Tensor], torch.Tensor] = losses.generator_loss_non_saturating,
) -> dict[str, torch.Tensor]:
    """A conditional G step with one ingredient changed (the keywords' defaults give the reference)."""
    fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)
    if freeze:
        D.requires_grad_(False)
    fake = G(z, fake_labels) if g_labels else G(z)
    if detach:
        fake = fake.detach()
    if d_labels == "again":
        fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)
    logits = D(fake) if d_labels == "none" else D(fake, fake_labels)
    loss = loss_fn(logits)
    if zero_grad:
        g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    if unfreeze:
        D.requires_grad_(True)
    return {"g_loss": loss.detach()}


def _g_version(**change: Any) -> Callable[..., dict[str, torch.Tensor]]:
    def step(G, D, g_optimizer, z):  # noqa: ANN001, ANN202 - a learner's signature
        return _g_step(G, D, g_optimizer, z, **change)

    return step


_G_LOSS = "loss = losses.generator_loss_non_saturating(D(G(z, fake_labels), fake_labels))"
G_STEP_MISTAKES = (
    WrongVersion(
        _g_version(d_labels="none"),
        "the generator step does not condition D: D(fake) without labels. G's loss must ask D 'is this a real "
        "image of the class G was asked for?', or G is never pushed to obey its label.",
        f"{_G_LOSS}.",
    ),
    WrongVersion(
        _g_version(g_labels=False),
        "G was called without labels, G(z): a conditional generator must be told which digit to draw.",
        f"{_DRAW}, then {_G_LOSS}.",
    ),
    WrongVersion(
        _g_version(d_labels="again"),
        "D judged the fakes against labels drawn again, not the ones G was asked for: G is pushed towards random "
        "classes, so it learns to ignore its label.",
        "draw fake_labels once, and use that same tensor in G(z, fake_labels) and D(..., fake_labels).",
    ),
    WrongVersion(
        _g_version(detach=True),
        "the fakes were detached in the generator step: D's verdict cannot flow back into G, so there is no "
        "gradient to train it (backward() fails when D is frozen too).",
        f"no .detach() and no torch.no_grad() here: {_G_LOSS}.",
    ),
    WrongVersion(
        _g_version(detach=True, freeze=False, unfreeze=False),
        "the fakes were detached in the generator step: D's verdict cannot flow back into G, so G did not change.",
        f"no .detach() and no torch.no_grad() here: {_G_LOSS}.",
    ),
    WrongVersion(
        _g_version(unfreeze=False),
        "D is still frozen after your generator step: the next discriminator step would not train it.",
        "set D.requires_grad_(True) again at the end of the generator step.",
    ),
    WrongVersion(
        _g_version(zero_grad=False),
        "zero_grad missing: the gradients already in G's .grad were added to this step's.",
        "one update, in this order: g_optimizer.zero_grad(), loss.backward(), g_optimizer.step().",
    ),
    WrongVersion(
        _g_version(loss_fn=losses.generator_loss_saturating),
        "this is the saturating (minimax) loss, ln(1 - D(G(z, y))): its gradient vanishes while D easily rejects "
        "the fakes, early in training.",
        f"use the non-saturating loss: {_G_LOSS}.",
    ),
)


@exercise_check("cgan_g_step")
def check_cgan_g_step(fn: Callable[[nn.Module, nn.Module, torch.optim.Optimizer, torch.Tensor], Any]) -> str:
    """Check ``fn(G, D, g_optimizer, z (B, z_dim)) -> loss or {"g_loss": loss}``: one update of G.

    As :func:`gannotes.steps.cgan_g_step`: draw ``fake_labels`` with ``torch.randint(G.num_classes,
    (len(z),), device=z.device)``, freeze D, minimise ``generator_loss_non_saturating(D(G(z,
    fake_labels), fake_labels))`` with one update of G, and make D trainable again.
    """
    with seeded(0):
        out, _, D = _run_g_step(fn)
    if not isinstance(out, Raised):
        step_loss(out, "g_loss")  # a scalar tensor, or a dict holding one
    passed = check_against_table(
        fn,
        steps.cgan_g_step,
        _observe_g_step,
        G_STEP_MISTAKES,
        "asks G and D for the same random labels, updates G exactly like the reference, and leaves D unchanged and "
        "trainable",
        f"{_DRAW}; D.requires_grad_(False); {_G_LOSS}; zero_grad, backward, step; D.requires_grad_(True).",
    )
    if has_gradient(D):
        passed += (
            " (note: D's .grad was filled — harmless, the next D step clears it, but D.requires_grad_(False) during "
            "the G step saves that work)"
        )
    return passed + "."
