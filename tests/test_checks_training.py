"""Notebook 03's step checks (and notebook 04's, which reuse them): the fakes are made once in the D step
and returned, the G step trains G on them. Right answers pass; each wrong version of the tables, and each
mistake written as a learner would, is rejected with a message that names it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from check_runner import not_implemented, run

from gannotes import losses, steps
from gannotes.checks import check_discriminator_step, check_generator_step, training
from gannotes.checks.core import WrongVersion, same_observation, seeded
from gannotes.checks.steps_scenario import observe_d, observe_g
from gannotes.checks.training import D_STEP_MISTAKES, G_STEP_MISTAKES


# The notebooks' solutions, written as a learner would.
def nb03_d_step(G, D, d_optimizer, real, z):
    fake = G(z)
    loss = losses.discriminator_loss(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    return fake, loss.detach()


def nb03_g_step(G, D, g_optimizer, fake):
    D.requires_grad_(False)
    loss = losses.generator_loss_non_saturating(D(fake))
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return loss.detach()


def nb04_d_step(G, D, d_optimizer, real, z):
    fake = G(z)
    real_logits, fake_logits = D(real), D(fake.detach())
    loss = losses.discriminator_loss(real_logits, fake_logits)
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    return fake, {
        "d_loss": loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def g_step_not_frozen(G, D, g_optimizer, fake):
    loss = losses.generator_loss_non_saturating(D(fake))
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    return {"g_loss": loss.detach()}


def broken(*args):
    raise ValueError("boom in the learner's code")


RIGHT = [
    (check_discriminator_step, steps.gan_d_step),
    (check_discriminator_step, nb03_d_step),
    (check_discriminator_step, nb04_d_step),
    (check_generator_step, steps.gan_g_step),
    (check_generator_step, nb03_g_step),
]


@pytest.mark.parametrize(("check", "fn"), RIGHT, ids=lambda p: getattr(p, "__name__", "fn"))
def test_right_answers_pass(check, fn, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check, fn, capsys)
    assert passed, out
    assert out.startswith("✅ ") and " Hint: " not in out


def test_generator_step_without_freezing_d_passes_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_generator_step, g_step_not_frozen, capsys)
    assert passed, out
    assert "note: D's .grad was filled" in out


@pytest.mark.parametrize("check", [check_discriminator_step, check_generator_step])
def test_not_implemented_is_pending(check, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check, not_implemented, capsys)
    assert not passed
    assert out.endswith("not implemented yet — the notebook will use the reference for now.")


@pytest.mark.parametrize("check", [check_discriminator_step, check_generator_step])
def test_exception_in_learner_code_is_reported(check, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check, broken, capsys)
    assert not passed
    assert out.startswith("❌ ") and "ValueError" in out and "boom in the learner's code" in out
    assert "Hint:" in out


@pytest.mark.parametrize("check", [check_discriminator_step, check_generator_step])
def test_not_a_function_is_reported(check, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check, 3.0, capsys)
    assert not passed and "expected a function" in out


def test_the_checks_leave_the_random_state_alone(capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with torch.no_grad():  # a notebook cell may run a check inside no_grad: it still works
        assert check_discriminator_step(steps.gan_d_step)
        assert check_generator_step(steps.gan_g_step)
    assert torch.equal(torch.get_rng_state(), state)
    capsys.readouterr()


# ----------------------------------------------------------------------------------------------
# The tables: each wrong version is rejected with its own message


def _name(wrong: WrongVersion) -> str:
    return wrong.problem[:40]


@pytest.mark.parametrize("wrong", D_STEP_MISTAKES, ids=_name)
def test_each_wrong_d_step_is_rejected_with_its_message(wrong: WrongVersion, capsys) -> None:
    passed, out = run(check_discriminator_step, wrong.fn, capsys)
    assert not passed, out
    assert out == f"❌ discriminator_step failed: {wrong.problem} Hint: {wrong.hint}"


@pytest.mark.parametrize("wrong", G_STEP_MISTAKES, ids=_name)
def test_each_wrong_g_step_is_rejected_with_its_message(wrong: WrongVersion, capsys) -> None:
    passed, out = run(check_generator_step, wrong.fn, capsys)
    assert not passed, out
    assert out == f"❌ generator_step failed: {wrong.problem} Hint: {wrong.hint}"


def test_the_required_mistakes_are_in_the_tables() -> None:
    d_problems = " ".join(w.problem for w in D_STEP_MISTAKES)
    for required in (
        "returns are detached",  # G's step could not train G
        "not G(z) of the z",  # fakes from other noise
        "D judged were not detached",
        "zero_grad missing",
        "was not updated",
    ):
        assert required in d_problems, required
    g_problems = " ".join(w.problem for w in G_STEP_MISTAKES)
    for required in ("G received no gradient", "D's parameters changed", "still frozen", "zero_grad"):
        assert required in g_problems, required


GAMES = [
    (observe_d, training.GAN, D_STEP_MISTAKES),
    (observe_g, training.GAN, G_STEP_MISTAKES),
    (observe_d, training.CGAN, training.CGAN_D_STEP_MISTAKES),
    (observe_g, training.CGAN, training.CGAN_G_STEP_MISTAKES),
    (observe_d, training.WGAN, training.WGAN_D_STEP_WRONG_VERSIONS),
    (observe_g, training.WGAN, training.WGAN_G_STEP_WRONG_VERSIONS),
    (observe_d, training.WGAN_GP, training.WGAN_GP_D_STEP_WRONG_VERSIONS),
]


@pytest.mark.parametrize(("observe", "game", "table"), GAMES, ids=range(len(GAMES)))
def test_the_wrong_versions_are_told_apart(observe, game, table) -> None:
    """Each wrong version behaves differently from the reference and from every other one with another message:
    otherwise the table would give a learner the first one's message for the second one's mistake."""

    def seen(fn):
        with seeded(0):
            return observe(game, fn)

    reference = seen(game.d_step if observe is observe_d else game.g_step)
    observed = [seen(wrong.fn) for wrong in table]
    for i, wrong in enumerate(table):
        assert not same_observation(observed[i], reference), wrong.problem
        for j, other in enumerate(table[:i]):
            if other.problem != wrong.problem:
                assert not same_observation(observed[i], observed[j]), (other.problem, wrong.problem)


# ----------------------------------------------------------------------------------------------
# Mistakes written as a learner would: what a step returns, the loss formula, a known error, and mistakes
# that come with others (the first observation that differs from the reference's names them)


def d_step(
    *,
    noise: Callable = lambda G, z: z,
    detach_returned: bool = False,
    no_grad: bool = False,
    detach_input: bool = True,
    zero_grad: bool = True,
    step_first: bool = False,
    loss_fn: Callable = losses.discriminator_loss,
    returns: Callable = lambda fake, loss: (fake, loss.detach()),
):
    """A D step with some ingredients changed."""

    def step(G, D, d_optimizer, real, z):
        with torch.set_grad_enabled(not no_grad):
            fake = G(noise(G, z))
        seen = fake.detach() if detach_input else fake
        loss = loss_fn(D(real), D(seen))
        if zero_grad:
            d_optimizer.zero_grad()
        if step_first:
            d_optimizer.step()
        loss.backward()
        if not step_first:
            d_optimizer.step()
        return returns(fake.detach() if detach_returned else fake, loss)

    return step


def with_stats(change: Callable[[dict], dict]) -> Callable:
    def step(G, D, d_optimizer, real, z):
        fake, stats = steps.gan_d_step(G, D, d_optimizer, real, z)
        return fake, change(stats)

    return step


def g_step(*, regenerate: bool = False, freeze: bool = True, step_first: bool = False, loss_fn=None):
    """A G step with some ingredients changed."""

    def step(G, D, g_optimizer, fake):
        if regenerate:
            fake = G(torch.randn(fake.shape[0], G.z_dim))
        if freeze:
            D.requires_grad_(False)
        loss = (loss_fn or losses.generator_loss_non_saturating)(D(fake))
        g_optimizer.zero_grad()
        if step_first:
            g_optimizer.step()
        loss.backward()
        if not step_first:
            g_optimizer.step()
        D.requires_grad_(True)
        return loss.detach()

    return step


def made_twice(G, D, d_optimizer, real, z):
    loss = losses.discriminator_loss(D(real), D(G(z).detach()))
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    return G(z), loss.detach()


def g_step_old_signature(G, D, g_optimizer, z):
    """Notebook 03's g_step before the fakes were made once: it is now given the fakes as its z."""
    D.requires_grad_(False)
    loss = losses.generator_loss_non_saturating(D(G(z)))
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return loss.detach()


_RETURNS = "it differs from the reference in what it returns: "
_FAKE_AND_STATS = ", not (tensor (8, 1, 28, 28), stats)."
OTHER_MISTAKES = [
    # What the D step returns
    (
        check_discriminator_step,
        d_step(returns=lambda fake, loss: loss.detach()),
        _RETURNS + "tensor ()" + _FAKE_AND_STATS,
    ),
    (
        check_discriminator_step,
        d_step(returns=lambda fake, loss: {"d_loss": loss}),
        _RETURNS + "dict" + _FAKE_AND_STATS,
    ),
    (check_discriminator_step, d_step(returns=lambda fake, loss: None), _RETURNS + "None" + _FAKE_AND_STATS),
    (
        check_discriminator_step,
        d_step(returns=lambda fake, loss: [fake, loss]),
        "returns: [tensor (8, 1, 28, 28), tensor ()]",
    ),
    (
        check_discriminator_step,
        d_step(returns=lambda fake, loss: (loss, fake)),
        "returns: (tensor (), tensor (8, 1, 28, 28))",
    ),
    (check_discriminator_step, d_step(returns=lambda fake, loss: (fake, loss.item())), "(tensor (8, 1, 28, 28), float"),
    (check_discriminator_step, with_stats(lambda s: {"loss": s["d_loss"]}), "a dict without 'd_loss'"),
    (check_discriminator_step, with_stats(lambda s: {**s, "d_real": s["d_fake"]}), "'d_real' your step returns"),
    # The fakes made twice: once for D, again for G's step
    (check_discriminator_step, made_twice, "made once, by the D step): 2, not 1"),
    # The loss formula, named by its value
    (check_discriminator_step, d_step(loss_fn=lambda r, f: -losses.discriminator_loss(r, f)), "sign flipped"),
    (check_discriminator_step, d_step(loss_fn=lambda r, f: losses.discriminator_loss(f, r)), "targets are swapped"),
    # A known error
    (check_discriminator_step, d_step(zero_grad=False, step_first=True), "before loss.backward()"),
    # The new contract's mistakes, alone (the table's messages) and with another (what differs first is named)
    (check_discriminator_step, d_step(no_grad=True), "returns are detached"),
    (check_discriminator_step, d_step(detach_returned=True, zero_grad=False), "whether the fakes keep their graph"),
    (check_discriminator_step, d_step(noise=lambda G, z: torch.randn(len(z), G.z_dim)), "not G(z) of the z"),
    (check_discriminator_step, d_step(noise=lambda G, z: z + 0.5, zero_grad=False), "in the fakes it returns"),
    (check_discriminator_step, d_step(detach_input=False), "D judged were not detached"),
    (check_discriminator_step, d_step(detach_input=False, zero_grad=False), "whether G got gradients: True"),
    # The G step
    (check_generator_step, g_step(loss_fn=losses.generator_loss_saturating), "this is the saturating (minimax) loss"),
    (check_generator_step, g_step(loss_fn=lambda f: -losses.generator_loss_non_saturating(f)), "sign flipped"),
    (check_generator_step, g_step(step_first=True), "before loss.backward()"),
    (check_generator_step, g_step(regenerate=True), "made once, by the D step): 1, not 0"),
    (check_generator_step, g_step(regenerate=True, freeze=False), "made once, by the D step): 1, not 0"),
    (check_generator_step, g_step_old_signature, "made once, by the D step): 1, not 0"),
]


@pytest.mark.parametrize(
    ("check", "mistake", "diagnosis"),
    OTHER_MISTAKES,
    ids=[f"{i}-{d[:25]}" for i, (_, _, d) in enumerate(OTHER_MISTAKES)],
)
def test_other_mistakes_are_named(check, mistake, diagnosis: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check, mistake, capsys)
    assert not passed, out
    assert out.startswith("❌ ") and " Hint: " in out, out
    assert diagnosis in out, out


def test_an_unknown_mistake_gets_the_general_hint(capsys: pytest.CaptureFixture[str]) -> None:
    def twice_the_update(G, D, d_optimizer, real, z):
        fake, stats = steps.gan_d_step(G, D, d_optimizer, real, z)
        d_optimizer.step()  # a second update with the same gradients
        return fake, stats

    passed, out = run(check_discriminator_step, twice_the_update, capsys)
    assert not passed
    assert "differs from the reference in D's parameters" in out and "d_optimizer.step(), once" in out, out


# ----------------------------------------------------------------------------------------------
# What the checks protect: the D step's fakes train G in the G step


def test_the_reference_steps_train_g_on_the_d_steps_fakes() -> None:
    torch.manual_seed(0)
    G, D = steps_models()
    d_opt, g_opt = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (D, G))
    before = [p.detach().clone() for p in G.parameters()]
    fake, _ = steps.gan_d_step(G, D, d_opt, torch.rand(8, 1, 28, 28) * 2 - 1, torch.randn(8, 8))
    steps.gan_g_step(G, D, g_opt, fake)
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters(), strict=True))


def test_fakes_not_detached_in_ds_loss_break_the_g_step() -> None:
    """Why the check rejects D(fake) without .detach(): D's backward frees G's graph, which G's step needs."""
    torch.manual_seed(0)
    G, D = steps_models()
    d_opt, g_opt = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (D, G))
    wrong = next(w for w in D_STEP_MISTAKES if "D judged were not detached" in w.problem)
    fake, _ = wrong.fn(G, D, d_opt, torch.rand(8, 1, 28, 28) * 2 - 1, torch.randn(8, 8))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        steps.gan_g_step(G, D, g_opt, fake)


def steps_models():
    from gannotes.models import MLPDiscriminator, MLPGenerator

    return MLPGenerator(z_dim=8, hidden=16, depth=1), MLPDiscriminator(hidden=16, depth=1)
