"""Checks for the training steps, "(1) Update D, (2) Update G" on fakes made once: the GAN's (03, 04), the
conditional GAN's (05) and the WGAN's (07). Each check's table holds the mistakes every game shares
(:mod:`.steps_scenario`), then this game's own, ``{mistake: (problem, hint)}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import steps
from .core import exercise_check
from .steps_scenario import BATCH, Game, check_d_step, check_g_step, d_step, g_step, table

GAN = Game(steps.gan_d_step, steps.gan_g_step)
CGAN = Game(steps.cgan_d_step, steps.cgan_g_step, conditional=True)
WGAN = Game(steps.wgan_d_step, steps.wgan_g_step, critic=True, clip=True)
WGAN_GP = Game(steps.wgan_gp_d_step, steps.wgan_g_step, critic=True, gp_weight=10.0)


_BCE_D = {
    "sign flipped": (
        "sign flipped: your loss is minus the BCE loss (it is negative), so D learns to call the fakes real.",
        "loss = losses.discriminator_loss(real_logits, fake_logits), a sum of negative log-likelihoods (>= 0).",
    ),
    "targets swapped": (
        "real and fake targets are swapped: your loss pushes D(x) towards 0 and D(G(z)) towards 1.",
        "losses.discriminator_loss(real_logits, fake_logits): the real logits first.",
    ),
}
_BCE_G = {
    "saturating": (
        "this is the saturating (minimax) loss, ln(1 - D(G(z))): its gradient vanishes while D rejects the fakes.",
        "use the non-saturating loss, losses.generator_loss_non_saturating.",
    ),
    "sign flipped": (
        "sign flipped: your loss is mean ln D(G(z)); minimising it makes D(G(z)) smaller.",
        "-ln D(G(z)) is positive: use losses.generator_loss_non_saturating.",
    ),
}

# 03, 04: the GAN

D_STEP_MISTAKES = table(d_step, GAN, _BCE_D)
G_STEP_MISTAKES = table(g_step, GAN, _BCE_G)


@exercise_check("discriminator_step")
def check_discriminator_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real (B,1,28,28), z (B, z_dim)) -> (fake, loss)`` as
    :func:`gannotes.steps.gan_d_step`; the loss may be a dict's ``"d_loss"`` (with ``"d_real"``, ``"d_fake"``)."""
    return check_d_step(GAN, fn, D_STEP_MISTAKES)


@exercise_check("generator_step")
def check_generator_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, g_optimizer, fake (B,1,28,28)) -> loss`` as :func:`gannotes.steps.gan_g_step`: one update
    of G through a frozen D on the fakes D's step made, without running G; the loss may be a dict's ``"g_loss"``."""
    return check_g_step(GAN, fn, G_STEP_MISTAKES)


# 05: the conditional GAN: both players see the label, and the fakes travel with theirs

_PAIRS = "D(real, labels) and D(fake.detach(), fake_labels)"
_OTHER_LABEL = "D judges each fake against a label G was not asked for"
_CGAN_G_LOSS = "loss = losses.generator_loss_non_saturating(D(fake, fake_labels))"
_DRAWN_TWICE = (
    f"the fake labels were drawn twice, once for G and again for D: {_OTHER_LABEL}.",
    "draw fake_labels once; use it in G(z, fake_labels), D(fake.detach(), fake_labels) and the return.",
)
_CGAN_D_STEP = {
    "D without labels": (
        "D was called without labels, D(real) and D(fake): a conditional discriminator judges pairs, 'is x a "
        "real image of class y?'; without them nothing punishes G for drawing another digit than asked.",
        f"give D each batch's labels: {_PAIRS}.",
    ),
    "G without labels": (
        "G was called without labels, G(z): a conditional generator must be told which digit to draw.",
        "draw the fakes' labels, fake_labels = steps.random_labels(G, len(z), z.device); G(z, fake_labels).",
    ),
    "real with fake labels": (
        "the real images were judged with the labels drawn for the fakes, D(real, fake_labels): D learns that "
        "real images come with random labels, and stops checking whether image and label agree.",
        f"real images go with their own labels, the ones the step receives: {_PAIRS}.",
    ),
    "labels swapped": (
        "the labels are swapped: the real images were paired with the generator's labels, D(real, "
        "fake_labels), and the fakes with the real batch's, D(fake, labels).",
        f"each image is judged with its own label: {_PAIRS}.",
    ),
    "fakes with real labels": (
        "D judged the fakes with the real batch's labels, D(fake, labels): it punishes G for drawing as asked.",
        "judge each fake with the label it was made from: D(fake.detach(), fake_labels).",
    ),
    "labels drawn again": _DRAWN_TWICE,
    "labels drawn again, returned": _DRAWN_TWICE,
    "G with real labels": (
        "the fakes were made with the real batch's labels, G(z, labels), not with labels drawn uniformly.",
        "fake_labels = steps.random_labels(G, len(z), z.device); fake = G(z, fake_labels).",
    ),
    "returns real labels": (
        f"your step returns the fakes with other labels than G made them from: in G's step, {_OTHER_LABEL}.",
        "return the labels G was given, the ones you drew once: return (fake, fake_labels), stats.",
    ),
}
CGAN_D_STEP_MISTAKES = table(d_step, CGAN, _BCE_D | _CGAN_D_STEP)
_CGAN_G_STEP = {
    "D without labels": (
        "the generator step does not condition D, D(fake): G is never pushed to draw the class it was asked for.",
        f"{_CGAN_G_LOSS}.",
    ),
    "labels drawn again": (
        "the generator step judged the fakes against labels it drew again, not the ones they were made from.",
        f"ask D about the fakes with the labels that come with them: {_CGAN_G_LOSS}.",
    ),
}
CGAN_G_STEP_MISTAKES = table(g_step, CGAN, _BCE_G | _CGAN_G_STEP)


@exercise_check("cgan_d_step")
def check_cgan_d_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real (B,1,28,28), labels (B,), z (B, z_dim)) -> ((fake, fake_labels), stats)``
    as :func:`gannotes.steps.cgan_d_step`, with ``stats = {"d_loss", "d_real", "d_fake"}``."""
    return check_d_step(CGAN, fn, CGAN_D_STEP_MISTAKES)


@exercise_check("cgan_g_step")
def check_cgan_g_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, g_optimizer, fake (B,1,28,28), fake_labels (B,)) -> loss`` as
    :func:`gannotes.steps.cgan_g_step`: one update of G on ``D(fake, fake_labels)``, without running G."""
    return check_g_step(CGAN, fn, CGAN_G_STEP_MISTAKES)


# 07: the WGAN's critic step with weight clipping, its generator step, and the critic step with the penalty

_CRITIC = "loss = D(fake.detach()).mean() - D(real).mean()"
_SCORES = f"a critic's outputs are scores, any real numbers: no sigmoid, no log, no BCE; {_CRITIC}."
_PENALTY = "gp_weight * gradient_penalty(D, real, fake.detach())"
_CRITIC_LOSS = {
    "sign flipped": (
        "sign flipped: your critic minimises mean f(x) - mean f(G(z)), so it learns to score the fakes higher.",
        f"{_CRITIC}: minimising it maximises the Wasserstein estimate.",
    ),
    "BCE": ("your critic step uses the BCE discriminator loss (sigmoid and log) on the scores.", _SCORES),
    "sigmoid": ("you applied a sigmoid to the critic's scores.", _SCORES),
    "log": ("your critic loss is nan: it takes the log of the scores, as if they were probabilities.", _SCORES),
    "real term missing": ("the real term is missing: your critic loss is mean f(G(z)) only.", f"{_CRITIC}."),
    "summed": (
        f"your critic loss sums the scores over the batch instead of averaging them: it is {BATCH} times too big.",
        f"use .mean() on each batch of scores: {_CRITIC}.",
    ),
}
_CLIP_GRADIENTS = (
    "you clipped the critic's gradients, not its weights: WGAN's constraint bounds the weights themselves.",
    "after d_optimizer.step(), clamp every parameter instead: p.clamp_(-clip, clip) under torch.no_grad().",
)
_WGAN_D_STEP = {
    "not clipped": (
        "the critic's parameters were not clipped into [-c, c] (`p = p.clamp(-c, c)` only rebinds the name p).",
        "after d_optimizer.step(): with torch.no_grad(): for p in D.parameters(): p.clamp_(-clip, clip).",
    ),
    "clipped before": (
        "you clipped before the optimiser update, which moves the weights out of [-c, c] again.",
        "clip after d_optimizer.step(), as the last thing the step does before it returns.",
    ),
    "clipped G": (
        "you clipped G's weights: only the critic is clipped, and G must not change in the critic's step.",
        "clip D.parameters() only, not G.parameters().",
    ),
    "clipped grad values": _CLIP_GRADIENTS,
    "clipped grad norm": _CLIP_GRADIENTS,
    "clipped weights only": (
        "only the weights were clipped, not the biases: WGAN clips every parameter of the critic.",
        "loop over all of D.parameters(), without filtering by name.",
    ),
}
WGAN_D_STEP_WRONG_VERSIONS = table(d_step, WGAN, _CRITIC_LOSS | _WGAN_D_STEP)
_WGAN_G_STEP = {
    "sign flipped": (
        "sign flipped: your generator minimises mean f(G(z)), so it makes its images score lower, less real.",
        "loss = -D(fake).mean().",
    ),
    "BCE": (
        "your generator step uses the non-saturating BCE loss -ln sigmoid(f(G(z))) on the critic's scores.",
        "loss = -D(fake).mean(), no sigmoid, no log.",
    ),
    "summed": (
        f"your generator loss sums the scores over the batch instead of averaging: it is {BATCH} times too big.",
        "loss = -D(fake).mean().",
    ),
    "penalty": (
        "you added a gradient penalty to the generator's loss: it constrains the critic, in the critic's loss.",
        "the generator's loss is just -D(fake).mean(), for WGAN and WGAN-GP alike.",
    ),
    "clipped G": (
        "you clipped G's weights: clipping is the critic's Lipschitz constraint, and G is never clipped.",
        "remove the clipping from the generator step; the critic step clips the critic.",
    ),
    "clipped D": (
        "your generator step clipped the critic: it must leave it unchanged (and WGAN-GP's is never clipped).",
        "clip only in wgan_d_step, after the critic's update.",
    ),
}
WGAN_G_STEP_WRONG_VERSIONS = table(g_step, WGAN, _WGAN_G_STEP)
_WGAN_GP_D_STEP = {
    "no penalty": (
        "the gradient penalty is missing: nothing keeps this critic Lipschitz (and there is no clipping here).",
        f"add {_PENALTY} to the critic loss.",
    ),
    "penalty weight 1": (
        "the penalty weight is missing: the penalty enters the loss with weight 1, not lambda = 10.",
        f"loss = critic loss + {_PENALTY}.",
    ),
    "penalty subtracted": (
        "you subtracted the penalty: the critic would then be rewarded for gradients far from norm 1.",
        f"add it: loss = critic loss + {_PENALTY}.",
    ),
    "penalty without graph": (
        "the penalty is in the loss's value but not in its gradient (detached, or computed without "
        "create_graph=True), so it does not train the critic.",
        "add the tensor gradient_penalty returns as it is (it is computed with create_graph=True).",
    ),
    "clipped": (
        "you clipped the critic's weights as well: the gradient penalty replaces weight clipping.",
        "remove the clipping from the gradient-penalty step.",
    ),
    "penalty not detached": (
        "the penalty got the fakes with their graph: the critic's loss sent gradients into G through them.",
        "pass the detached fakes to the penalty as well: gradient_penalty(D, real, fake.detach()).",
    ),
}
WGAN_GP_D_STEP_WRONG_VERSIONS = table(d_step, WGAN_GP, _CRITIC_LOSS | _WGAN_GP_D_STEP)


@exercise_check("wgan_d_step")
def check_wgan_d_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real, z) -> (fake, {"d_loss", "wasserstein"})`` as
    :func:`gannotes.steps.wgan_d_step`: the critic updated, then clipped into ``[-0.01, 0.01]``."""
    return check_d_step(WGAN, fn, WGAN_D_STEP_WRONG_VERSIONS)


@exercise_check("wgan_g_step")
def check_wgan_g_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, g_optimizer, fake) -> loss`` as :func:`gannotes.steps.wgan_g_step`: one update of G on
    ``-mean f(fake)`` through a frozen critic, without running G."""
    return check_g_step(WGAN, fn, WGAN_G_STEP_WRONG_VERSIONS)


@exercise_check("wgan_gp_d_step")
def check_wgan_gp_d_step(fn: Callable[..., Any]) -> str:
    """Check ``fn(G, D, d_optimizer, real, z) -> (fake, {"d_loss", "wasserstein"})`` as
    :func:`gannotes.steps.wgan_gp_d_step`: the critic updated with ``10 * gradient_penalty``, not clipped."""
    return check_d_step(WGAN_GP, fn, WGAN_GP_D_STEP_WRONG_VERSIONS)
