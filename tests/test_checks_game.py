"""The checks of notebook 02's game exercises: the references pass, a stub is pending, an exception is reported,
each wrong version of each table is rejected with its own message, and right answers written other ways pass."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from check_runner import not_implemented, run
from torch import nn

from gannotes import losses, steps
from gannotes.checks import (
    check_adversarial_g_step,
    check_generator_loss_gradients,
    check_optimal_discriminator_logit,
    game,
)
from gannotes.checks.core import WrongVersion

CHECKS: dict[str, tuple[Callable[[Callable], bool], Callable, tuple[WrongVersion, ...]]] = {
    "optimal_discriminator_logit": (
        check_optimal_discriminator_logit,
        game.optimal_discriminator_logit,
        game.LOGIT_MISTAKES,
    ),
    "generator_loss_gradients": (
        check_generator_loss_gradients,
        game.generator_loss_gradients,
        game.GRADIENT_MISTAKES,
    ),
    "adversarial_g_step": (check_adversarial_g_step, game.adversarial_g_step, game.STEP_MISTAKES),
}
TABLE = [(name, wrong) for name, (_, _, mistakes) in CHECKS.items() for wrong in mistakes]


def broken(*args):
    raise ValueError("boom in the learner's code")


@pytest.mark.parametrize("name", list(CHECKS))
def test_reference_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    check, reference, _ = CHECKS[name]
    passed, out = run(check, reference, capsys)
    assert passed, out
    assert out.startswith(f"✅ {name} passed: ")


@pytest.mark.parametrize("name", list(CHECKS))
def test_not_implemented_is_pending(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(CHECKS[name][0], not_implemented, capsys)
    assert not passed
    assert out == f"⏳ {name} pending: not implemented yet — the notebook will use the reference for now."


@pytest.mark.parametrize("name", list(CHECKS))
def test_exception_in_learner_code_is_reported(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(CHECKS[name][0], broken, capsys)
    assert not passed
    assert out.startswith(f"❌ {name} failed: ") and "ValueError" in out and "boom in the learner's code" in out
    assert "Hint:" in out


@pytest.mark.parametrize(("name", "wrong"), TABLE, ids=[f"{n}: {w.problem[:40]}" for n, w in TABLE])
def test_each_wrong_version_gets_its_own_message(name: str, wrong: WrongVersion, capsys) -> None:
    passed, out = run(CHECKS[name][0], wrong.fn, capsys)
    assert not passed, out
    assert out.startswith(f"❌ {name} failed: {wrong.problem}") and f"Hint: {wrong.hint}" in out, out


# ----------------------------------------------------------------------------------------------
# Right answers written other ways pass; wrong results of the wrong form get a clear message


def logit_from_log_probabilities(log_p_data, log_p_g):
    log_d, log_not_d = torch.log_softmax(torch.stack([log_p_data, log_p_g]), dim=0)  # ln D*, ln(1 - D*)
    return log_d - log_not_d


def gradients_by_autograd(d_fake):
    logits = torch.logit(d_fake.double()).requires_grad_(True)
    saturating = -F.softplus(logits)  # ln(1 - sigmoid(l)), per sample
    non_saturating = F.softplus(-logits)  # -ln sigmoid(l), per sample
    (g_sat,) = torch.autograd.grad(saturating.sum(), logits)
    (g_non,) = torch.autograd.grad(non_saturating.sum(), logits)
    return g_sat.float(), g_non.float()


def course_loss_step(G, D, g_optimizer, z):
    """The course's generator step (frozen D, the non-saturating loss on G(z)): the same update."""
    return steps.gan_g_step(G, D, g_optimizer, G(z))["g_loss"]


def keras_style_with_unfrozen_trainable_flag(G, D, g_optimizer, z):
    adversarial = nn.Sequential(G, D)
    for p in D.parameters():
        p.requires_grad = False
    logits = adversarial(z)
    loss = nn.BCEWithLogitsLoss()(logits, torch.ones_like(logits))
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    for p in D.parameters():
        p.requires_grad = True
    return loss.item()


@pytest.mark.parametrize(
    ("check", "fn"),
    [
        (check_optimal_discriminator_logit, logit_from_log_probabilities),
        (check_generator_loss_gradients, gradients_by_autograd),
        (check_adversarial_g_step, course_loss_step),
        (check_adversarial_g_step, keras_style_with_unfrozen_trainable_flag),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_right_answers_written_other_ways_pass(check: Callable, fn: Callable, capsys) -> None:
    passed, out = run(check, fn, capsys)
    assert passed, out


def test_non_saturating_loss_is_the_adversarial_models_loss() -> None:
    """What notebook 02 shows: the labels-say-real BCE is the non-saturating generator loss."""
    logits = torch.linspace(-30, 30, 61)
    bce = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    assert torch.allclose(bce, losses.generator_loss_non_saturating(logits))


def test_the_logit_through_a_rounded_probability_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    """sigmoid(880) rounds to 1: a logit taken back from D* itself is inf at the check's far-apart densities."""

    def through_probability(log_p_data, log_p_g):
        return torch.logit(torch.sigmoid(log_p_data - log_p_g))

    passed, out = run(check_optimal_discriminator_logit, through_probability, capsys)
    assert not passed and "stay in log space" in out, out


@pytest.mark.parametrize(
    ("check", "fn", "message"),
    [
        (check_optimal_discriminator_logit, lambda a, b: (a - b).sum(), "shape (6,), one logit per point"),
        (check_optimal_discriminator_logit, lambda a, b: (a - b).tolist(), "got list"),
        (check_generator_loss_gradients, lambda d: -d, "a pair of tensors"),
        (check_generator_loss_gradients, lambda d: (-d, -(1 - d), d), "of length 3"),
        (check_generator_loss_gradients, lambda d: (-d.mean(), -(1 - d).mean()), "d_fake's shape (6,)"),
        (check_adversarial_g_step, lambda G, D, opt, z: None, "it returned None"),
    ],
    ids=["logit-summed", "logit-list", "gradients-single", "gradients-triple", "gradients-averaged", "step-none"],
)
def test_results_of_the_wrong_form_are_named(check: Callable, fn: Callable, message: str, capsys) -> None:
    passed, out = run(check, fn, capsys)
    assert not passed and message in out and "Hint:" in out, out


def test_check_leaves_random_state_and_grad_mode_alone(capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(3)
    state = torch.get_rng_state()
    with torch.no_grad():
        assert check_adversarial_g_step(game.adversarial_g_step)
    assert torch.equal(torch.get_rng_state(), state)
    capsys.readouterr()
