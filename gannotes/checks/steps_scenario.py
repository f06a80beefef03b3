"""What the training-step checks share (03, 05, 07): one scenario, observer and wrong-step builder per step.

A check runs the learner's step, the reference (:mod:`gannotes.steps`) and each wrong version of its table (the
builder with one of the usual mistakes) on tiny MLPs with SGD and stale gradients, and compares what each leaves.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from .. import losses, steps
from ..models import MLPDiscriminator, MLPGenerator
from . import core
from .core import Raised, WrongVersion, check_against_table, fail, has_gradient, observe_call, seeded

BATCH, Z_DIM, CLASSES, LR, CLIP = 8, 8, 10, 0.1, 0.01
IMAGES = (BATCH, 1, 28, 28)
_RUNS = "how many times G ran (the fakes are made once, by the D step)"
ORDER = "the order is optimizer.zero_grad(), loss.backward(), optimizer.step()."
STAT_HINTS = {
    "d_real": "d_real is D's mean verdict on the real batch, a probability: torch.sigmoid(real_logits).mean().",
    "d_fake": "d_fake is D's mean verdict on the fakes, a probability: torch.sigmoid(fake_logits).mean().",
    "wasserstein": "the estimate is real_scores.mean() - fake_scores.mean(), without the penalty.",
}


@dataclass(frozen=True)
class Game:
    """A GAN variant's reference steps, and what its checks expect of a learner's (the properties: as text)."""

    d_step: Callable[..., Any]
    g_step: Callable[..., Any]
    conditional: bool = False
    critic: bool = False  # scores and the Wasserstein losses instead of logits and BCE
    clip: bool = False  # the critic's parameters clipped into [-CLIP, CLIP] after its update
    gp_weight: float = 0.0  # the gradient penalty's weight in the critic's loss

    @property
    def stats(self) -> tuple[str, ...]:  # what a D step's stats must hold besides "d_loss"
        return ("wasserstein",) if self.critic else ("d_real", "d_fake") if self.conditional else ()

    @property
    def labels(self) -> str:
        return ", fake_labels" if self.conditional else ""

    @property
    def d_loss(self) -> str:
        if not self.critic:
            return f"losses.discriminator_loss(D(real{', labels' * self.conditional}), D(fake.detach(){self.labels}))"
        penalty = " + gp_weight * gradient_penalty(D, real, fake.detach())" if self.gp_weight else ""
        return "D(fake.detach()).mean() - D(real).mean()" + penalty

    @property
    def g_loss(self) -> str:
        return "-D(fake).mean()" if self.critic else f"losses.generator_loss_non_saturating(D(fake{self.labels}))"

    @property
    def ret(self) -> str:
        stats = (
            "{" + ", ".join(f"{key!r}: ..." for key in ("d_loss", *self.stats)) + "}" if self.stats else "loss.detach()"
        )
        return f"return {'(fake, fake_labels)' if self.conditional else 'fake'}, {stats}"


# The scenario and what a step leaves


def run(game: Game, step: Callable[..., Any], d: bool) -> tuple[Any, int, nn.Module, nn.Module]:
    """``step(G, D, d_optimizer, real, [labels,] z)`` if ``d``, else ``step(G, D, g_optimizer, fake, [fake_labels])``
    on fakes with their graph; the trained network's ``.grad`` first holds a stale 1 (a step that forgets
    ``zero_grad`` adds it). Returns what it returned (:class:`Raised` if it raised), how often G ran, G and D."""
    with seeded(700):
        classes = CLASSES if game.conditional else 0
        G = MLPGenerator(z_dim=Z_DIM, hidden=16, depth=1, num_classes=classes)
        # WGAN-GP's critic is linear: its input gradient is the same everywhere, so any correct penalty gives the
        # same update wherever it draws its points between real and fake.
        D = MLPDiscriminator(hidden=16, depth=0 if game.gp_weight else 1, num_classes=classes)
        labels = [torch.randint(CLASSES, (BATCH,))] if game.conditional else []
        z = torch.randn(BATCH, Z_DIM)
        inputs = (torch.rand(IMAGES) * 2 - 1, *labels, z) if d else (G(z, *labels), *labels)
    trained = D if d else G
    for p in trained.parameters():
        p.grad = torch.ones_like(p)
    calls = []
    handle = G.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        return observe_call(step, G, D, torch.optim.SGD(trained.parameters(), lr=LR), *inputs), len(calls), G, D
    finally:
        handle.remove()


def _through_smooth_critic(step: Callable[..., Any]) -> bool:
    """Whether a critic step sends gradients into G with a smooth (tanh) critic, whose input gradient varies."""
    with seeded(701):
        G = MLPGenerator(z_dim=Z_DIM, hidden=16, depth=1)
        D = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))
        real, z = torch.rand(IMAGES) * 2 - 1, torch.randn(BATCH, Z_DIM)
    observe_call(step, G, D, torch.optim.SGD(D.parameters(), lr=LR), real, z)
    return has_gradient(G)


def _form(value: Any) -> str:
    """What a step returned, e.g. ``(tensor (8, 1, 28, 28), float 0.6931)``."""
    if isinstance(value, (tuple, list)):
        inside = ", ".join(map(_form, value))
        return f"({inside})" if isinstance(value, tuple) else f"[{inside}]"
    if isinstance(value, torch.Tensor):
        return f"tensor {tuple(value.shape)}"
    return "dict" if isinstance(value, dict) else core.describe(value)


def _stats(value: Any, required: tuple[str, ...]) -> str:
    """ "stats" if the training loop takes ``value`` as a step's stats: a dict with the ``required`` entries, or the
    loss alone as a scalar tensor (when nothing else is required); else what it is."""
    if isinstance(value, dict):
        missing = [key for key in required if key not in value]
        return f"a dict without {missing[0]!r}" if missing else "stats"
    scalar = isinstance(value, torch.Tensor) and value.shape == () and value.is_floating_point()
    return "stats" if scalar and len(required) == 1 else _form(value)


def _networks(G: nn.Module, D: nn.Module) -> dict[str, Any]:
    trainable = [name for name, net in (("G", G), ("D", D)) if all(p.requires_grad for p in net.parameters())]
    return {"whether G got gradients": has_gradient(G), "what stays trainable": " and ".join(trainable) or "none"}


def _loss_and_parameters(G: nn.Module, D: nn.Module, stats: Any, key: str) -> dict[str, Any]:
    """The loss in a step's stats (the tensor, or ``stats[key]``), and both networks' parameters after it."""
    loss = torch.as_tensor(stats[key] if isinstance(stats, dict) else stats).detach().float()
    if not torch.isfinite(loss).all():  # what else the step did is beside the point
        return {"the loss it returns": "nan"}
    return {
        "the loss it returns": loss,
        "G's parameters": tuple(p.detach().clone() for p in G.parameters()),
        "D's parameters": tuple(p.detach().clone() for p in D.parameters()),
    }


# What a step leaves, in the order a difference from the reference is reported: the first observations name a
# mistake even when it comes with others.


def observe_d(game: Game, step: Callable[..., Any]) -> Any:
    out, calls, G, D = run(game, step, d=True)
    if isinstance(out, Raised):
        return out
    pair = isinstance(out, tuple) and len(out) == 2
    returned = f"({_form(out[0])}, {_stats(out[1], ('d_loss', *game.stats))})" if pair else _form(out)
    seen = {_RUNS: calls, "what it returns": returned}
    expected = f"((tensor {IMAGES}, tensor {(BATCH,)}), stats)" if game.conditional else f"(tensor {IMAGES}, stats)"
    if seen != {_RUNS: 1, "what it returns": expected}:
        return seen
    fake, *labels = out[0] if game.conditional else (out[0],)
    seen |= _networks(G, D) | {"whether the fakes keep their graph": fake.requires_grad}
    seen |= {"the fakes it returns": fake.detach(), "the labels it returns": labels}
    if game.gp_weight:  # a linear critic's penalty does not depend on the fakes: a smooth critic's does
        seen["whether G got gradients through a smooth critic"] = _through_smooth_critic(step)
    return seen | _loss_and_parameters(G, D, out[1], "d_loss")


def observe_g(game: Game, step: Callable[..., Any]) -> Any:
    out, calls, G, D = run(game, step, d=False)
    if isinstance(out, Raised) and not calls:  # a G step that ran G and raised is observed by that count
        return out
    seen = {_RUNS: calls, "what it returns": _stats(out, ("g_loss",))}
    if seen != {_RUNS: 0, "what it returns": "stats"}:
        return seen
    return seen | _networks(G, D) | _loss_and_parameters(G, D, out, "g_loss")


# Wrong versions: the reference steps with one of the usual mistakes

# A conditional D step's labels: those G gets, those the real images and the fakes are judged with, those returned.
_ROUTES = {
    "D without labels": ("fake", "none", "none", "fake"),
    "G without labels": ("none", "real", "fake", "fake"),
    "real with fake labels": ("fake", "fake", "fake", "fake"),
    "labels swapped": ("fake", "fake", "real", "fake"),
    "fakes with real labels": ("fake", "real", "real", "fake"),
    "labels drawn again": ("fake", "real", "again", "fake"),
    "labels drawn again, returned": ("fake", "real", "again", "again"),
    "G with real labels": ("real", "real", "fake", "fake"),
    "returns real labels": ("fake", "real", "fake", "real"),
}
_PENALTIES = {"no penalty": 0.0, "penalty weight 1": 1.0, "penalty subtracted": -10.0}
_UNCLIPPED = ("not clipped", "clipped before", "clipped grad values", "clipped grad norm")


def _clip(model: nn.Module, weights_only: bool = False) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not weights_only or "weight" in name:
                p.clamp_(-CLIP, CLIP)


def _loss(game: Game, mistake: str, *outputs: torch.Tensor) -> torch.Tensor:
    """A D step's loss on D's real and fake ``outputs``, or a G step's on the fakes', or a usual wrong one."""
    bce = not game.critic or mistake == "BCE"  # BCE on a critic's scores is the mistake
    if len(outputs) == 2:
        right = losses.discriminator_loss if bce else losses.critic_loss
    else:
        right = losses.generator_loss_saturating if mistake == "saturating" else losses.generator_loss_non_saturating
        right = right if bce else losses.critic_generator_loss
    if mistake in ("sigmoid", "log"):
        outputs = tuple(map(torch.sigmoid if mistake == "sigmoid" else torch.log, outputs))
    if mistake == "real term missing":
        return outputs[1].mean()
    scale = {"sign flipped": -1, "summed": BATCH}.get(mistake, 1)
    return scale * right(*(outputs[::-1] if mistake == "targets swapped" else outputs))


def d_step(game, G, D, d_optimizer, real, *labels_z, mistake=""):
    """``game``'s D step with ``mistake`` (named as the tables name it)."""
    *real_labels, z = labels_z
    draws = {"real": real_labels, "none": [], "fake": [], "again": []}
    if game.conditional:
        draws["fake"] = [steps.random_labels(G, len(z), z.device)]
        draws["again"] = [steps.random_labels(G, len(z), z.device)]
    to_g, to_real, to_fake, returned = _ROUTES.get(mistake, ("fake", "real", "fake", "fake"))
    G.requires_grad_(mistake != "G frozen")
    if mistake == "clipped before":
        _clip(D)
    fake = G(torch.randn_like(z) if mistake == "other noise" else z, *draws[to_g])
    if mistake == "fakes detached":
        fake = fake.detach()
    real_out = D(real, *draws[to_real])
    fake_out = D(fake if mistake == "judged not detached" else fake.detach(), *draws[to_fake])
    loss = _loss(game, mistake, real_out, fake_out)
    weight = _PENALTIES.get(mistake, game.gp_weight)
    if weight:
        penalty = losses.gradient_penalty(D, real, fake if mistake == "penalty not detached" else fake.detach())
        loss = loss + weight * (penalty.detach() if mistake == "penalty without graph" else penalty)
    if mistake != "no zero_grad":
        d_optimizer.zero_grad()
    loss.backward()
    if mistake.startswith("clipped grad"):
        clip_grads = nn.utils.clip_grad_value_ if mistake == "clipped grad values" else nn.utils.clip_grad_norm_
        clip_grads(D.parameters(), CLIP)
    if mistake != "no update":
        d_optimizer.step()
    if mistake == "clipped G":
        _clip(G)
    elif (game.clip and mistake not in _UNCLIPPED) or mistake == "clipped":
        _clip(D, weights_only=mistake == "clipped weights only")
    real_out, fake_out = real_out.detach(), fake_out.detach()
    if game.critic:
        stats = {"d_loss": loss.detach(), "wasserstein": real_out.mean() - fake_out.mean()}
    else:
        stats = {"d_loss": loss.detach(), "d_real": real_out.sigmoid().mean(), "d_fake": fake_out.sigmoid().mean()}
    return ((fake, *draws[returned]) if game.conditional else fake), stats


def g_step(game, G, D, g_optimizer, fake, *fake_labels, mistake=""):
    """``game``'s G step with ``mistake`` (named as the tables name it)."""
    D.requires_grad_(mistake in ("detached, D not frozen", "D updated"))
    if mistake == "labels drawn again":
        fake_labels = (steps.random_labels(G, len(fake), fake.device),)
    elif mistake == "D without labels":
        fake_labels = ()
    loss = _loss(game, mistake, D(fake.detach() if mistake.startswith("detached") else fake, *fake_labels))
    if mistake == "penalty":
        loss = loss + 10.0 * losses.gradient_penalty(D, fake, fake)
    if mistake != "no zero_grad":
        g_optimizer.zero_grad()
    loss.backward()
    if mistake != "no update":
        g_optimizer.step()
    if mistake == "D updated":
        with torch.no_grad():
            for p in D.parameters():
                p -= LR * p.grad
    D.requires_grad_(mistake != "D left frozen")
    if mistake in ("clipped G", "clipped D"):
        _clip(G if mistake == "clipped G" else D)
    return loss.detach()


def table(step: Callable[..., Any], game: Game, own: dict[str, tuple[str, str]]) -> tuple[WrongVersion, ...]:
    """The wrong versions of ``game``'s :func:`d_step` or :func:`g_step`: the mistakes every game shares, then its
    ``own``, ``{mistake: (problem, hint)}``."""
    shared = _d_mistakes(game) if step is d_step else _g_mistakes(game)
    return tuple(WrongVersion(partial(step, game, mistake=name), *texts) for name, texts in (shared | own).items())


def _d_mistakes(game: Game) -> dict[str, tuple[str, str]]:
    """The D step's mistakes every game shares, in ``game``'s words."""
    make, judged = f"fake = G(z{game.labels})", f"D(fake.detach(){game.labels})"
    return {
        "judged not detached": (
            "the fakes D judged were not detached: its backward() ran on into G (G's .grad is filled) and "
            "freed the fakes' graph, which G's step needs ('Trying to backward through the graph a second time').",
            f"{judged} in the loss; return fake itself, with its graph, for G's step.",
        ),
        "G frozen": (
            "G is left frozen (requires_grad False) after your step: the generator step could not train it.",
            f"do not freeze G here: {judged} is what keeps D's loss out of G.",
        ),
        "fakes detached": (
            "the fakes your step returns are detached (.detach() or torch.no_grad()): they have no graph back to "
            "G, so G's step cannot train G.",
            f"make {make} with its graph, let D judge {judged}, and {game.ret}.",
        ),
        "other noise": (
            f"the fakes your step returns are not G(z{game.labels}) of the z it is given (did it draw noise of its "
            "own?): the loop draws the noise.",
            f"{make}, with the z argument.",
        ),
        "no zero_grad": (
            "zero_grad missing: the gradients already in D's .grad were added to this step's (PyTorch adds them up).",
            "call d_optimizer.zero_grad() before loss.backward(); " + ORDER,
        ),
        "no update": ("D was not updated: d_optimizer.step() never ran, or ran before loss.backward().", ORDER),
    }


def _g_mistakes(game: Game) -> dict[str, tuple[str, str]]:
    """The G step's mistakes every game shares, in ``game``'s words."""
    use = f"use the fakes as they are given, with their graph: loss = {game.g_loss}."
    detached = "G received no gradient: the fakes were detached in the generator step, so D's verdict "
    return {
        "detached": (detached + "cannot reach G (backward() fails as D is frozen).", use),
        "detached, D not frozen": (detached + "did not change G.", use),
        "D updated": (
            "D's parameters changed: the generator step must update only G.",
            "freeze D with D.requires_grad_(False) during the step and step only g_optimizer.",
        ),
        "D left frozen": (
            "D is still frozen after your generator step: the next D step would not train it.",
            "set D.requires_grad_(True) again at the end of the generator step.",
        ),
        "no zero_grad": (
            "zero_grad missing: the gradients already in G's .grad were added to this step's.",
            "call g_optimizer.zero_grad() before loss.backward(); " + ORDER,
        ),
        "no update": ("G was not updated: g_optimizer.step() never ran, or ran before loss.backward().", ORDER),
    }


# The checks: what a step returns, then the table, then the stats it reports


def _table(fn: Callable, reference: Callable, observe: Callable, table: tuple, passed: str, recipe: str) -> str:
    """:func:`check_against_table`; when ``fn`` is none of the wrong versions, a known error, or else the first of
    its observations that differs from the reference's, says what is wrong."""
    try:
        return check_against_table(fn, reference, observe, table, passed, recipe)
    except core.CheckFailure as failure:
        with seeded(0):
            mine = observe(fn)
        if isinstance(mine, Raised) and "modified by an inplace operation" in mine.error:
            fail("the parameters changed before loss.backward(): optimizer.step() ran before loss.backward().", ORDER)
        if isinstance(mine, Raised) and "positional argument" in mine.error:
            signature = f"{reference.__name__}({', '.join(inspect.signature(reference).parameters)})"
            fail(f"your step could not be called as {signature}: {mine.error}.", f"define it as def {signature}.")
        if isinstance(mine, Raised) or failure.problem in {wrong.problem for wrong in table}:
            raise
    with seeded(0):
        theirs = observe(reference)
    key = next(key for key in mine if not core.same_observation(mine[key], theirs.get(key)))
    values = f": {mine[key]}, not {theirs[key]}" if isinstance(mine[key], (int, str)) else ""
    fail(f"your step does not do what the exercise asks: it differs from the reference in {key}{values}.", recipe)


def check_d_step(game: Game, fn: Callable[..., Any], table: tuple[WrongVersion, ...]) -> str:
    """The body of a D step's check: the table, then the stats it reports besides its loss."""
    clip = "; then clamp every parameter of D into [-clip, clip], in place" if game.clip else ""
    draw = "fake_labels = steps.random_labels(G, len(z), z.device); " if game.conditional else ""
    recipe = (
        f"{draw}fake = G(z{game.labels}); loss = {game.d_loss}; d_optimizer.zero_grad(), loss.backward(), "
        f"d_optimizer.step(), once{clip}; {game.ret}."
    )
    passed = "makes the fakes once, returns them with their graph and the right stats, updates D as it should."
    passed = _table(fn, game.d_step, partial(observe_d, game), table, passed, recipe)
    with seeded(0):
        stats = run(game, fn, d=True)[0][1]
    with seeded(0):
        expected = run(game, game.d_step, d=True)[0][1]
    for key in ("wasserstein",) if game.critic else ("d_real", "d_fake"):
        got = stats.get(key, expected[key]) if isinstance(stats, dict) else expected[key]
        if not core.same_values(torch.as_tensor(got), expected[key]):
            fail(f"the {key!r} your step returns is {core.fmt(got)}, not {core.fmt(expected[key])}.", STAT_HINTS[key])
    return passed


def check_g_step(game: Game, fn: Callable[..., Any], table: tuple[WrongVersion, ...]) -> str:
    """The body of a G step's check: the table, and a note if D's gradients were computed for nothing."""
    recipe = (
        f"G is not called here. D.requires_grad_(False); loss = {game.g_loss}; g_optimizer.zero_grad(), "
        "loss.backward(), g_optimizer.step(), once; D.requires_grad_(True); return loss.detach()."
    )
    passed = "returns the right loss and updates G through the fakes it is given, leaving D unchanged"
    passed = _table(fn, game.g_step, partial(observe_g, game), table, passed, recipe)
    with seeded(0):
        D = run(game, fn, d=False)[3]
    if has_gradient(D):  # harmless: the next D step clears it
        passed += " (note: D's .grad was filled; D.requires_grad_(False) during the G step saves that work)"
    return passed + "."
