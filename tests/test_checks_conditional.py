"""Notebook 05's checks: the conditional D and G steps pass, a stub is pending, and each wrong version
of their tables is rejected with its own message."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from gannotes import losses, steps
from gannotes.checks import check_cgan_d_step, check_cgan_g_step, check_discriminator_step, check_generator_step
from gannotes.checks.conditional import D_STEP_MISTAKES, G_STEP_MISTAKES
from gannotes.checks.core import WrongVersion


def run(check: Callable[[Callable], bool], fn: Callable, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    """Run a check; return what it returned and the one line it printed."""
    passed = check(fn)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n"), f"a check prints exactly one line, got {out!r}"
    return passed, out.strip()


def not_implemented(*args):
    raise NotImplementedError("Exercise: write this function")


# The notebook's solutions, written as a learner would.
def learner_d_step(G, D, d_optimizer, real, labels, z):
    fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)
    with torch.no_grad():
        fake = G(z, fake_labels)
    real_logits = D(real, labels)
    fake_logits = D(fake, fake_labels)
    loss = losses.discriminator_loss(real_logits, fake_logits)
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    return {
        "d_loss": loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def learner_g_step(G, D, g_optimizer, z):
    fake_labels = steps.random_labels(G, len(z), z.device)
    D.requires_grad_(False)
    loss = losses.generator_loss_non_saturating(D(G(z, fake_labels), fake_labels))
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return loss.detach()  # a bare loss is fine for a G step


@pytest.mark.parametrize(
    ("check", "fn"),
    [
        (check_cgan_d_step, steps.cgan_d_step),
        (check_cgan_d_step, learner_d_step),
        (check_cgan_g_step, steps.cgan_g_step),
        (check_cgan_g_step, learner_g_step),
    ],
)
def test_reference_and_solution_pass(check: Callable, fn: Callable, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check, fn, capsys)
    assert passed, out
    assert out.startswith("✅ ") and "Hint:" not in out, out


@pytest.mark.parametrize("check", [check_cgan_d_step, check_cgan_g_step])
def test_stub_is_pending(check: Callable, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check, not_implemented, capsys)
    assert not passed
    assert out.startswith("⏳ ") and "not implemented yet" in out, out


def _table(check: Callable, table: tuple[WrongVersion, ...]) -> list:
    return [pytest.param(check, wrong, id=f"{check.__name__}-{i}") for i, wrong in enumerate(table)]


@pytest.mark.parametrize(
    ("check", "wrong"), _table(check_cgan_d_step, D_STEP_MISTAKES) + _table(check_cgan_g_step, G_STEP_MISTAKES)
)
def test_each_wrong_version_gets_its_message(
    check: Callable, wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(check, wrong.fn, capsys)
    assert not passed, out
    assert out.startswith("❌ ") and " Hint: " in out, out
    assert f"{wrong.problem} Hint: {wrong.hint}" in out, out


def test_the_tables_name_the_mistakes_the_notebook_warns_about() -> None:
    d_problems = " ".join(w.problem for w in D_STEP_MISTAKES)
    assert "D was called without labels" in d_problems  # labels given to G but not to D
    assert "D(real, fake_labels)" in d_problems  # fake labels reused for the real batch
    assert "real images were paired with the generator's labels" in d_problems
    assert "not detached" in d_problems
    assert "D judged the fakes with the real batch's labels" in d_problems
    assert "generator step does not condition D" in " ".join(w.problem for w in G_STEP_MISTAKES)


def test_g_step_without_freezing_d_passes_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    def no_freeze(G, D, g_optimizer, z):
        fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)
        loss = losses.generator_loss_non_saturating(D(G(z, fake_labels), fake_labels))
        g_optimizer.zero_grad()
        loss.backward()
        g_optimizer.step()
        return {"g_loss": loss.detach()}

    passed, out = run(check_cgan_g_step, no_freeze, capsys)
    assert passed, out
    assert "note: D's .grad was filled" in out


def test_d_step_returning_only_the_loss_is_told_to_return_the_stats(capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_cgan_d_step, lambda *args: steps.cgan_d_step(*args)["d_loss"], capsys)
    assert not passed
    assert "returns only the loss" in out and "'d_real'" in out, out


def test_d_step_with_wrong_verdicts_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    def logits_not_probabilities(G, D, d_optimizer, real, labels, z):
        fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)
        fake = G(z, fake_labels).detach()
        real_logits, fake_logits = D(real, labels), D(fake, fake_labels)
        loss = losses.discriminator_loss(real_logits, fake_logits)
        d_optimizer.zero_grad()
        loss.backward()
        d_optimizer.step()
        return {"d_loss": loss.detach(), "d_real": real_logits.detach().mean(), "d_fake": fake_logits.detach().mean()}

    passed, out = run(check_cgan_d_step, logits_not_probabilities, capsys)
    assert not passed
    assert "'d_real'" in out and "not a probability" in out, out


def test_d_step_raising_an_unknown_error_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    def broken(G, D, d_optimizer, real, labels, z):
        raise RuntimeError("something else")

    passed, out = run(check_cgan_d_step, broken, capsys)
    assert not passed
    assert "RuntimeError: something else" in out, out


# Notebook 04's steps return dicts of stats: the plain GAN checks accept them and still reject mistakes.
def test_plain_gan_checks_accept_the_steps_dicts(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(check_discriminator_step, steps.gan_d_step, capsys)[0]
    assert run(check_generator_step, steps.gan_g_step, capsys)[0]


def test_plain_d_step_dict_without_its_loss_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    def no_loss(G, D, d_optimizer, real, z):
        stats = steps.gan_d_step(G, D, d_optimizer, real, z)
        return {"loss": stats.pop("d_loss"), **stats}

    passed, out = run(check_discriminator_step, no_loss, capsys)
    assert not passed
    assert "without a 'd_loss' entry" in out, out


def test_plain_d_step_dict_with_swapped_verdicts_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    def swapped(G, D, d_optimizer, real, z):
        stats = steps.gan_d_step(G, D, d_optimizer, real, z)
        return {**stats, "d_real": stats["d_fake"], "d_fake": stats["d_real"]}

    passed, out = run(check_discriminator_step, swapped, capsys)
    assert not passed
    assert "'d_real' your step returns" in out, out
