"""The WGAN step checks (07): right answers pass, and each wrong version is rejected with its own message."""

from __future__ import annotations

import pytest
import torch

from gannotes import losses, steps
from gannotes.checks import check_wgan_d_step, check_wgan_g_step, check_wgan_gp_d_step
from gannotes.checks.core import WrongVersion, has_gradient
from gannotes.checks.training import (
    WGAN_D_STEP_WRONG_VERSIONS,
    WGAN_G_STEP_WRONG_VERSIONS,
    WGAN_GP_D_STEP_WRONG_VERSIONS,
)
from gannotes.models import MLPDiscriminator, MLPGenerator

CHECKS = {
    "wgan_d_step": (check_wgan_d_step, WGAN_D_STEP_WRONG_VERSIONS),
    "wgan_g_step": (check_wgan_g_step, WGAN_G_STEP_WRONG_VERSIONS),
    "wgan_gp_d_step": (check_wgan_gp_d_step, WGAN_GP_D_STEP_WRONG_VERSIONS),
}


def run(check, fn, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    passed = check(fn)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n"), f"a check prints exactly one line, got {out!r}"
    return passed, out.strip()


# ----------------------------------------------------------------------------------------------
# Right answers, written in different ways


def d_step_as_in_the_notebook(G, D, d_optimizer, real, z, clip=0.01):
    fake = G(z)
    real_scores, fake_scores = D(real), D(fake.detach())
    loss = fake_scores.mean() - real_scores.mean()
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    for p in D.parameters():
        p.data.clamp_(-clip, clip)
    return fake, {"d_loss": loss.detach(), "wasserstein": (real_scores.mean() - fake_scores.mean()).detach()}


def d_step_with_floats_and_more_stats(G, D, d_optimizer, real, z):
    fake = G(z)
    detached = fake.detach()
    estimate = losses.wasserstein_estimate(D(real), D(detached))
    loss = -estimate
    D.zero_grad()
    loss.backward()
    d_optimizer.step()
    with torch.no_grad():
        for p in D.parameters():
            p.copy_(p.clamp(-0.01, 0.01))
    return fake, {"d_loss": loss.item(), "wasserstein": estimate.item(), "d_real": 0.0}


def g_step_as_in_the_notebook(G, D, g_optimizer, fake):
    D.requires_grad_(False)
    loss = -D(fake).mean()
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return loss.detach()


def g_step_without_freezing_d(G, D, g_optimizer, fake):
    """Not freezing D costs work (D's .grad fills up) but changes nothing: the next D step clears it."""
    loss = losses.critic_generator_loss(D(fake))
    g_optimizer.zero_grad()
    loss.backward()
    g_optimizer.step()
    return {"g_loss": loss.item()}  # a dict's numbers are logged as they are


def my_gradient_penalty(critic, real, fake):
    """A correct penalty that draws its interpolation weights differently from the package's."""
    eps = torch.rand_like(real)[:, :1, :1, :1]
    x_hat = eps * real + (1 - eps) * fake
    x_hat.requires_grad_(True)
    grad = torch.autograd.grad(critic(x_hat), x_hat, torch.ones(len(real)), create_graph=True)[0]
    return ((grad.view(len(real), -1).norm(dim=1) - 1) ** 2).mean()


def gp_step_as_in_the_notebook(G, D, d_optimizer, real, z, gp_weight=10.0):
    fake = G(z)
    real_scores, fake_scores = D(real), D(fake.detach())
    wasserstein = real_scores.mean() - fake_scores.mean()
    loss = -wasserstein + gp_weight * my_gradient_penalty(D, real, fake.detach())
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    return fake, {"d_loss": loss.detach(), "wasserstein": wasserstein.detach()}


RIGHT_ANSWERS = [
    ("wgan_d_step", steps.wgan_d_step),
    ("wgan_d_step", d_step_as_in_the_notebook),
    ("wgan_d_step", d_step_with_floats_and_more_stats),
    ("wgan_g_step", steps.wgan_g_step),
    ("wgan_g_step", g_step_as_in_the_notebook),
    ("wgan_g_step", g_step_without_freezing_d),
    ("wgan_gp_d_step", steps.wgan_gp_d_step),
    ("wgan_gp_d_step", gp_step_as_in_the_notebook),
]


@pytest.mark.parametrize(("name", "fn"), RIGHT_ANSWERS, ids=lambda x: getattr(x, "__name__", x))
def test_right_answers_pass(name, fn, capsys: pytest.CaptureFixture[str]) -> None:
    check, _ = CHECKS[name]
    passed, out = run(check, fn, capsys)
    assert passed, out
    assert out.startswith(f"✅ {name} passed: ")


def test_the_checks_leave_the_random_state_alone(capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    for check, _ in CHECKS.values():
        check(steps.wgan_d_step)
    assert torch.equal(torch.rand(3), expected)
    capsys.readouterr()


@pytest.mark.parametrize("name", CHECKS)
def test_not_implemented_is_pending(name, capsys: pytest.CaptureFixture[str]) -> None:
    def stub(*args):
        raise NotImplementedError("Exercise: step")

    passed, out = run(CHECKS[name][0], stub, capsys)
    assert not passed and out.startswith(f"⏳ {name} pending: not implemented yet")


@pytest.mark.parametrize("name", CHECKS)
def test_a_crash_is_reported_not_raised(name, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args):
        raise ValueError("boom")

    passed, out = run(CHECKS[name][0], broken, capsys)
    assert not passed
    assert out.startswith(f"❌ {name} failed: your function raised ValueError: boom")


@pytest.mark.parametrize("name", CHECKS)
def test_a_non_function_is_refused(name, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(CHECKS[name][0], 42, capsys)
    assert not passed and "expected a function" in out


# ----------------------------------------------------------------------------------------------
# Every wrong version in each table is rejected with its own message

TABLE = [(name, wrong) for name, (_, table) in CHECKS.items() for wrong in table]


@pytest.mark.parametrize(("name", "wrong"), TABLE, ids=lambda x: x.fn.keywords["mistake"] if hasattr(x, "fn") else x)
def test_each_wrong_version_is_rejected_with_its_message(
    name: str, wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(CHECKS[name][0], wrong.fn, capsys)
    assert not passed
    assert out.startswith(f"❌ {name} failed: {wrong.problem}"), out
    assert f"Hint: {wrong.hint}" in out


def test_the_required_mistakes_are_in_the_tables() -> None:
    names = {(name, w.fn.keywords["mistake"]) for name, (_, table) in CHECKS.items() for w in table}
    for required in (
        ("wgan_d_step", "clipped G"),  # clipping G instead of the critic
        ("wgan_d_step", "clipped before"),  # clipping before the optimiser update
        ("wgan_g_step", "penalty"),  # the gradient penalty in the generator's loss
        ("wgan_d_step", "sign flipped"),
        ("wgan_d_step", "no zero_grad"),
        ("wgan_d_step", "BCE"),
        ("wgan_gp_d_step", "penalty without graph"),  # a penalty that does not train the critic
        ("wgan_gp_d_step", "penalty weight 1"),
        ("wgan_d_step", "fakes detached"),  # fakes returned without their graph: G's step cannot train G
        ("wgan_g_step", "detached"),  # the G step detaching the fakes it is given
        ("wgan_gp_d_step", "penalty not detached"),  # the penalty on the fakes with their graph
    ):
        assert required in names


# ----------------------------------------------------------------------------------------------
# Mistakes written as a learner would, each rejected with a message that names it


def critic_step_with_loss(loss_of):
    """The notebook's critic step with the loss ``loss_of(real_scores, fake_scores)`` instead."""

    def step(G, D, d_optimizer, real, z, clip=0.01):
        fake = G(z)
        real_scores, fake_scores = D(real), D(fake.detach())
        loss = loss_of(real_scores, fake_scores)
        d_optimizer.zero_grad()
        loss.backward()
        d_optimizer.step()
        for p in D.parameters():
            p.data.clamp_(-clip, clip)
        return fake, {"d_loss": loss.detach(), "wasserstein": (real_scores.mean() - fake_scores.mean()).detach()}

    return step


def critic_step_returning(change):
    """The notebook's critic step, returning ``change(fake, stats)`` instead."""

    def step(*args):
        return change(*d_step_as_in_the_notebook(*args))

    return step


def critic_step_making_fakes_again(G, D, d_optimizer, real, z):
    _, stats = d_step_as_in_the_notebook(G, D, d_optimizer, real, z)
    return G(z), stats  # the fakes made again, for the generator's step


def critic_step_clipping_both(G, D, d_optimizer, real, z):
    fake, stats = d_step_as_in_the_notebook(G, D, d_optimizer, real, z)
    for p in [*D.parameters(), *G.parameters()]:
        p.data.clamp_(-0.01, 0.01)
    return fake, stats


def gp_step_detaching_nothing(G, D, d_optimizer, real, z, gp_weight=10.0):
    fake = G(z)
    real_scores, fake_scores = D(real), D(fake)
    loss = fake_scores.mean() - real_scores.mean() + gp_weight * my_gradient_penalty(D, real, fake)
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    return fake, {"d_loss": loss.detach(), "wasserstein": (real_scores.mean() - fake_scores.mean()).detach()}


def g_step_making_its_own_fakes(G, D, g_optimizer, fake):
    return g_step_as_in_the_notebook(G, D, g_optimizer, G(torch.randn(len(fake), G.z_dim)))


def gp_step_with_estimate(estimate_of):
    def step(G, D, d_optimizer, real, z):
        fake, stats = gp_step_as_in_the_notebook(G, D, d_optimizer, real, z)
        return fake, {**stats, "wasserstein": estimate_of(stats)}

    return step


_RETURNS = "it differs from the reference in what it returns: "
LEARNER_MISTAKES = [
    # The critic loss, wrong in each of the usual ways
    ("wgan_d_step", critic_step_with_loss(lambda r, f: r.mean() - f.mean()), "sign flipped"),
    ("wgan_d_step", critic_step_with_loss(losses.discriminator_loss), "BCE discriminator loss"),
    ("wgan_d_step", critic_step_with_loss(lambda r, f: f.sigmoid().mean() - r.sigmoid().mean()), "sigmoid"),
    ("wgan_d_step", critic_step_with_loss(lambda r, f: -(r.log().mean() + (1 - f).log().mean())), "log of the scores"),
    ("wgan_d_step", critic_step_with_loss(lambda r, f: f.mean()), "the real term is missing"),
    ("wgan_d_step", critic_step_with_loss(lambda r, f: f.sum() - r.sum()), "sums the scores"),
    # What the critic step returns
    (
        "wgan_d_step",
        critic_step_returning(lambda fake, stats: None),
        _RETURNS + "None, not (tensor (8, 1, 28, 28), stats)",
    ),
    ("wgan_d_step", critic_step_returning(lambda fake, stats: stats), _RETURNS + "dict, not"),
    (
        "wgan_d_step",
        critic_step_returning(lambda fake, stats: (stats, fake)),
        _RETURNS + "(dict, tensor (8, 1, 28, 28))",
    ),
    (
        "wgan_d_step",
        critic_step_returning(lambda fake, stats: (fake, stats["d_loss"])),
        _RETURNS + "(tensor (8, 1, 28, 28), tensor ())",
    ),
    (
        "wgan_d_step",
        critic_step_returning(lambda fake, stats: (fake, {**stats, "wasserstein": stats["d_loss"]})),
        "'wasserstein'",
    ),
    ("wgan_d_step", critic_step_making_fakes_again, "made once, by the D step): 2, not 1"),
    ("wgan_d_step", critic_step_clipping_both, "differs from the reference in G's parameters"),
    ("wgan_gp_d_step", gp_step_detaching_nothing, "not detached"),
    ("wgan_gp_d_step", gp_step_with_estimate(lambda stats: -stats["d_loss"]), "without the penalty"),
    ("wgan_g_step", g_step_making_its_own_fakes, "made once, by the D step): 1, not 0"),
    ("wgan_g_step", lambda G, D, g_optimizer, fake: None, _RETURNS + "None, not stats"),
]


@pytest.mark.parametrize(("name", "mistake", "diagnosis"), LEARNER_MISTAKES, ids=range(len(LEARNER_MISTAKES)))
def test_learner_mistakes_are_named(name, mistake, diagnosis: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(CHECKS[name][0], mistake, capsys)
    assert not passed, out
    assert out.startswith(f"❌ {name} failed: ") and " Hint: " in out, out
    assert diagnosis in out, out


def test_an_unknown_mistake_gets_the_general_hint(capsys: pytest.CaptureFixture[str]) -> None:
    def wider_clip(G, D, d_optimizer, real, z):  # clips into [-0.02, 0.02]: no wrong version does that
        return steps.wgan_d_step(G, D, d_optimizer, real, z, clip=0.02)

    passed, out = run(check_wgan_d_step, wider_clip, capsys)
    assert not passed
    assert "differs from the reference" in out and "Hint:" in out


def test_the_reference_steps_train_g_through_the_critic_steps_fakes() -> None:
    """What the checks assume of the contract: the critic step's fakes carry G's gradient into G's step."""
    for d_step in (steps.wgan_d_step, steps.wgan_gp_d_step):
        with torch.random.fork_rng():
            torch.manual_seed(0)
            G, D = MLPGenerator(z_dim=8, hidden=16, depth=1), MLPDiscriminator(hidden=16, depth=1)
            real, z = torch.rand(4, 1, 28, 28) * 2 - 1, torch.randn(4, 8)
            fake, stats = d_step(G, D, torch.optim.SGD(D.parameters(), lr=0.1), real, z)
            assert not has_gradient(G) and {"d_loss", "wasserstein"} <= stats.keys()
            before = [p.detach().clone() for p in G.parameters()]
            steps.wgan_g_step(G, D, torch.optim.SGD(G.parameters(), lr=0.1), fake)
            assert any(not torch.equal(b, p) for b, p in zip(before, G.parameters(), strict=True))
