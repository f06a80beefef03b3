"""Notebook 05's checks: the conditional D and G steps pass, a stub is pending, and each wrong version
of their tables is rejected with its own message."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from check_runner import not_implemented, run

from gannotes import TrainConfig, fit, losses, start, steps
from gannotes.checks import check_cgan_d_step, check_cgan_g_step, check_discriminator_step, check_generator_step
from gannotes.checks.core import WrongVersion
from gannotes.checks.training import CGAN_D_STEP_MISTAKES as D_STEP_MISTAKES
from gannotes.checks.training import CGAN_G_STEP_MISTAKES as G_STEP_MISTAKES


# The notebook's solutions, written as a learner would.
def learner_d_step(G, D, d_optimizer, real, labels, z):
    fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)
    fake = G(z, fake_labels)
    real_logits = D(real, labels)
    fake_logits = D(fake.detach(), fake_labels)
    loss = losses.discriminator_loss(real_logits, fake_logits)
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    return (fake, fake_labels), {
        "d_loss": loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def learner_g_step(G, D, g_optimizer, fake, fake_labels):
    D.requires_grad_(False)
    loss = losses.generator_loss_non_saturating(D(fake, fake_labels))
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return loss.detach()  # a bare loss is fine for a G step


def detached_once(G, D, d_optimizer, real, labels, z):
    """Detaching once into a second name, and returning the undetached fakes, is right too."""
    fake_labels = steps.random_labels(G, len(z), z.device)
    fake = G(z, fake_labels)
    for_d = fake.detach()
    real_logits, fake_logits = D(real, labels), D(for_d, fake_labels)
    loss = losses.discriminator_loss(real_logits, fake_logits)
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    real_p, fake_p = torch.sigmoid(real_logits.detach()).mean(), torch.sigmoid(fake_logits.detach()).mean()
    return (fake, fake_labels), {"d_loss": loss.detach(), "d_real": real_p, "d_fake": fake_p}


@pytest.mark.parametrize(
    ("check", "fn"),
    [
        (check_cgan_d_step, steps.cgan_d_step),
        (check_cgan_d_step, learner_d_step),
        (check_cgan_d_step, detached_once),
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
    assert "D judged the fakes with the real batch's labels" in d_problems
    assert "not detached" in d_problems
    # The fakes travel with their labels, once made, with their graph, to G's step.
    assert "returns the fakes with other labels than G made them from" in d_problems
    assert "returns are detached" in d_problems
    g_problems = " ".join(w.problem for w in G_STEP_MISTAKES)
    assert "generator step does not condition D" in g_problems
    assert "labels it drew again" in g_problems  # relabelling the fakes


def cgan_d_step_returning(change: Callable) -> Callable:
    """The notebook's D step, returning ``change(fake, fake_labels, stats)`` instead."""

    def step(*args):
        (fake, fake_labels), stats = learner_d_step(*args)
        return change(fake, fake_labels, stats)

    return step


def made_again(G, D, d_optimizer, real, labels, z):
    (fake, fake_labels), stats = learner_d_step(G, D, d_optimizer, real, labels, z)
    return (G(z, fake_labels), fake_labels), stats  # the same fakes, at twice the generator's cost


def made_from_other_noise(G, D, d_optimizer, real, labels, z):
    (fake, fake_labels), stats = learner_d_step(G, D, d_optimizer, real, labels, z)
    return (G(torch.randn_like(z), fake_labels), fake_labels), stats


def labels_drawn_again_and_returned(G, D, d_optimizer, real, labels, z):
    fake_labels = torch.randint(G.num_classes, (len(z),))
    fake = G(z, fake_labels)
    again = torch.randint(G.num_classes, (len(z),))
    real_logits, fake_logits = D(real, labels), D(fake.detach(), again)
    loss = losses.discriminator_loss(real_logits, fake_logits)
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    stats = {"d_loss": loss.detach(), "d_real": real_logits.sigmoid().mean(), "d_fake": fake_logits.sigmoid().mean()}
    return (fake, again), stats


def returns_labels_drawn_again(G, D, d_optimizer, real, labels, z):
    (fake, fake_labels), stats = learner_d_step(G, D, d_optimizer, real, labels, z)
    return (fake, torch.randint(G.num_classes, (len(z),))), stats


def g_step_with_fresh_noise(G, D, g_optimizer, fake, fake_labels):
    return learner_g_step(G, D, g_optimizer, G(torch.randn(len(fake), G.z_dim), fake_labels), fake_labels)


def g_step_with_new_labels(G, D, g_optimizer, fake, fake_labels):
    """The old contract's G step: labels and noise of its own."""
    new_labels = torch.randint(G.num_classes, (len(fake),))
    return learner_g_step(G, D, g_optimizer, G(torch.randn(len(fake), G.z_dim), new_labels), new_labels)


_FAKES = "(tensor (8, 1, 28, 28), tensor (8,))"
OTHER_MISTAKES = [
    (
        check_cgan_d_step,
        cgan_d_step_returning(lambda f, y, s: (f, s)),
        f"returns: (tensor (8, 1, 28, 28), stats), not ({_FAKES}, stats)",
    ),
    (check_cgan_d_step, cgan_d_step_returning(lambda f, y, s: s), f"returns: dict, not ({_FAKES}, stats)"),
    (
        check_cgan_d_step,
        cgan_d_step_returning(lambda f, y, s: (f, y)),
        "returns: (tensor (8, 1, 28, 28), tensor (8,)), not",
    ),
    (
        check_cgan_d_step,
        cgan_d_step_returning(lambda f, y, s: (f, y, s)),
        "returns: (tensor (8, 1, 28, 28), tensor (8,), dict)",
    ),
    (check_cgan_d_step, cgan_d_step_returning(lambda f, y, s: (s, (f, y))), f"returns: (dict, {_FAKES}), not"),
    (check_cgan_d_step, cgan_d_step_returning(lambda f, y, s: ((f.detach(), y), s)), "returns are detached"),
    (check_cgan_d_step, made_again, "made once, by the D step): 2, not 1"),
    (check_cgan_d_step, made_from_other_noise, "made once, by the D step): 2, not 1"),
    (check_cgan_d_step, labels_drawn_again_and_returned, "drawn twice"),
    (check_cgan_d_step, returns_labels_drawn_again, "differs from the reference in the labels it returns"),
    (check_cgan_g_step, g_step_with_new_labels, "made once, by the D step): 1, not 0"),
    (check_cgan_g_step, g_step_with_fresh_noise, "made once, by the D step): 1, not 0"),
]


@pytest.mark.parametrize(("check", "mistake", "diagnosis"), OTHER_MISTAKES, ids=range(len(OTHER_MISTAKES)))
def test_other_mistakes_are_named(check, mistake, diagnosis: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check, mistake, capsys)
    assert not passed, out
    assert out.startswith("❌ ") and " Hint: " in out, out
    assert diagnosis in out, out


def test_g_step_without_freezing_d_passes_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    def no_freeze(G, D, g_optimizer, fake, fake_labels):
        loss = losses.generator_loss_non_saturating(D(fake, fake_labels))
        g_optimizer.zero_grad()
        loss.backward()
        g_optimizer.step()
        return {"g_loss": loss.detach()}

    passed, out = run(check_cgan_g_step, no_freeze, capsys)
    assert passed, out
    assert "note: D's .grad was filled" in out


def test_g_step_calling_g_otherwise_is_told_not_to(capsys: pytest.CaptureFixture[str]) -> None:
    def remade_from_zeros(G, D, g_optimizer, fake, fake_labels):
        return steps.cgan_g_step(G, D, g_optimizer, G(torch.zeros(len(fake), G.z_dim), fake_labels), fake_labels)

    passed, out = run(check_cgan_g_step, remade_from_zeros, capsys)
    assert not passed
    assert "G is not called here" in out, out


def test_g_step_with_the_old_signature_is_told_the_new_one(capsys: pytest.CaptureFixture[str]) -> None:
    def old_signature(G, D, g_optimizer, z):
        fake_labels = steps.random_labels(G, len(z), z.device)
        return steps.cgan_g_step(G, D, g_optimizer, G(z, fake_labels), fake_labels)

    passed, out = run(check_cgan_g_step, old_signature, capsys)
    assert not passed
    assert "could not be called as cgan_g_step(G, D, g_optimizer, fake, fake_labels)" in out, out


def test_d_step_returning_only_the_loss_as_stats_is_told_to_return_the_stats(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def loss_only(*args):
        fakes, stats = steps.cgan_d_step(*args)
        return fakes, stats["d_loss"]

    passed, out = run(check_cgan_d_step, loss_only, capsys)
    assert not passed
    assert f"returns: ({_FAKES}, tensor ()), not ({_FAKES}, stats)" in out and "'d_real'" in out, out


def test_d_step_returning_another_form_is_shown_the_expected_one(capsys: pytest.CaptureFixture[str]) -> None:
    def as_list(*args):
        fakes, stats = steps.cgan_d_step(*args)
        return list(fakes), stats

    passed, out = run(check_cgan_d_step, as_list, capsys)
    assert not passed
    assert f"returns: ([tensor (8, 1, 28, 28), tensor (8,)], stats), not ({_FAKES}, stats)" in out, out


def test_d_step_with_wrong_verdicts_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    def logits_not_probabilities(G, D, d_optimizer, real, labels, z):
        fake_labels = torch.randint(G.num_classes, (len(z),), device=z.device)
        fake = G(z, fake_labels)
        real_logits, fake_logits = D(real, labels), D(fake.detach(), fake_labels)
        loss = losses.discriminator_loss(real_logits, fake_logits)
        d_optimizer.zero_grad()
        loss.backward()
        d_optimizer.step()
        verdicts = {"d_real": real_logits.detach().mean(), "d_fake": fake_logits.detach().mean()}
        return (fake, fake_labels), {"d_loss": loss.detach(), **verdicts}

    passed, out = run(check_cgan_d_step, logits_not_probabilities, capsys)
    assert not passed
    assert "'d_real'" in out and "a probability" in out, out


def test_d_step_raising_an_unknown_error_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    def broken(G, D, d_optimizer, real, labels, z):
        raise RuntimeError("something else")

    passed, out = run(check_cgan_d_step, broken, capsys)
    assert not passed
    assert "RuntimeError: something else" in out, out


def test_the_steps_work_with_fit() -> None:
    """The notebook's steps, as the checks accept them, train a tiny CGAN through fit."""
    config = TrainConfig.for_model("cgan", arch="mlp", g_width=8, d_width=8, batch_size=4, steps=2, log_every=1)
    images, labels = torch.rand(16, 1, 28, 28) * 2 - 1, torch.arange(16) % 10
    run_ = start(config, images, labels)
    history = fit(run_, learner_d_step, learner_g_step, progress=False)
    assert run_.step == 2 and len(history["d_loss"]) == 2 and len(history["g_loss"]) == 2


# Notebook 04's steps return dicts of stats: the plain GAN checks accept them and still reject mistakes.
def test_plain_gan_checks_accept_the_steps_dicts(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(check_discriminator_step, steps.gan_d_step, capsys)[0]
    assert run(check_generator_step, steps.gan_g_step, capsys)[0]


def test_plain_d_step_dict_without_its_loss_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    def no_loss(G, D, d_optimizer, real, z):
        fake, stats = steps.gan_d_step(G, D, d_optimizer, real, z)
        return fake, {"loss": stats.pop("d_loss"), **stats}

    passed, out = run(check_discriminator_step, no_loss, capsys)
    assert not passed
    assert "a dict without 'd_loss'" in out, out


def test_plain_d_step_dict_with_swapped_verdicts_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    def swapped(G, D, d_optimizer, real, z):
        fake, stats = steps.gan_d_step(G, D, d_optimizer, real, z)
        return fake, {**stats, "d_real": stats["d_fake"], "d_fake": stats["d_real"]}

    passed, out = run(check_discriminator_step, swapped, capsys)
    assert not passed
    assert "'d_real' your step returns" in out, out
