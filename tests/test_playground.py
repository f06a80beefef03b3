"""The GAN playground's logic and its widget's plumbing, without a browser (tests/test_lab_playground.py has one)."""

from __future__ import annotations

import math

import pytest
import torch

from gannotes import losses, steps
from gannotes.models import sample
from gannotes.playground import LOSSES, Playground, PlaygroundFigure, spiral, two_moons

G_LOSSES = {
    "non-saturating": losses.generator_loss_non_saturating,
    "saturating": losses.generator_loss_saturating,
    "WGAN-GP": losses.critic_generator_loss,
}


def test_one_step_moves_the_samples_and_the_heat_map() -> None:
    playground = Playground("ring")
    before, samples_before = playground.view(), sample(playground.run.G, 100, seed=1)
    assert before["step"] == 0 and before["arrows"].abs().sum() == 0  # no gradient before the first step
    after = playground.step().view()
    assert after["step"] == 1 and playground.run.history["step"] == [1]
    assert not torch.equal(sample(playground.run.G, 100, seed=1), samples_before)
    assert not torch.allclose(after["heat"], before["heat"])
    assert after["heat"].shape == (64, 64) and after["heat"].min() >= 0 and after["heat"].max() <= 1
    assert after["fake"].shape == after["arrows"].shape == (128, 2) and after["arrows"].abs().sum() > 0
    assert 0 <= after["metrics"]["modes_covered"] <= after["modes"] == 8


@pytest.mark.parametrize("loss", list(LOSSES))
def test_the_arrows_are_the_gradient_of_the_generator_loss_on_its_samples(loss: str) -> None:
    playground = Playground("grid", loss=loss).step(3)
    fake = playground.fake.clone().requires_grad_(True)
    # G's step changes G only: D is still the one that step's loss went through.
    (gradient,) = torch.autograd.grad(G_LOSSES[loss](playground.run.D(fake)), fake)
    torch.testing.assert_close(playground.arrows, -gradient)


def counting(calls: dict[str, int]) -> tuple:
    """The reference GAN steps, counting their calls: a learner's steps in the slot."""

    def d_step(*args):
        calls["d"] += 1
        return steps.gan_d_step(*args)

    def g_step(*args):
        calls["g"] += 1
        return steps.gan_g_step(*args)

    return d_step, g_step


def test_the_learners_steps_are_called_n_critic_times_per_generator_step() -> None:
    calls = {"d": 0, "g": 0}
    playground = Playground("moons", loss="yours", more_losses={"yours": counting(calls)})
    playground.step(2)
    assert calls == {"d": 2, "g": 2}
    playground.set(n_critic=3).step(2)
    assert calls == {"d": 8, "g": 4} and playground.run.step == 4


def test_learning_rates_change_the_optimisers_and_keep_training() -> None:
    playground = Playground("spiral").step(1)
    playground.set(lr_g=5e-4, lr_d=2e-3)
    assert [g["lr"] for g in playground.run.g_optimizer.param_groups] == [5e-4]
    assert [g["lr"] for g in playground.run.d_optimizer.param_groups] == [2e-3]
    assert playground.step(1).run.step == 2  # not restarted


def test_a_change_of_loss_takes_effect_and_keeps_the_history_aligned() -> None:
    playground = Playground("ring").step(2)
    assert not playground.critic
    playground.set(loss="WGAN-GP").step(2)
    view = playground.view()
    assert view["critic"] and view["title"] == "ring of 8, WGAN-GP"
    history = playground.run.history
    assert all(len(values) == 4 for key, values in history.items() if key != "samples")
    assert math.isnan(history["wasserstein"][0]) and math.isfinite(history["wasserstein"][-1])
    playground.set(loss="non-saturating").step(1)
    assert not playground.critic and math.isnan(history["wasserstein"][-1]) and len(history["wasserstein"]) == 5
    assert playground.view()["heat"].min() >= 0


def test_reset_returns_to_the_same_start() -> None:
    playground = Playground("moons")
    first = sample(playground.run.G, 50, seed=1)
    playground.step(3).reset()
    assert playground.run.step == 0 and playground.run.history["step"] == []
    torch.testing.assert_close(sample(playground.run.G, 50, seed=1), first)


def test_a_step_that_makes_its_own_fakes_draws_no_arrows() -> None:
    def own_fakes_g_step(G, D, g_optimizer, fake):  # e.g. notebook 02's Keras-style step, from its own noise
        return steps.gan_g_step(G, D, g_optimizer, G(torch.randn(len(fake), G.z_dim)))

    playground = Playground("ring", loss="own", more_losses={"own": (steps.gan_d_step, own_fakes_g_step)}).step(1)
    assert playground.arrows.abs().sum() == 0


def test_any_tensor_of_points_is_data() -> None:
    points = torch.randn(300, 2) * 0.5 + 3
    view = Playground(points, batch_size=64).step(1).view()
    assert view["metrics"] is None and view["extent"][0] < 2 and view["extent"][1] > 4
    assert two_moons(10).shape == spiral(10).shape == (10, 2)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"data": torch.randn(100, 3)}, r"\(N, 2\) tensor; got a tensor of shape \(100, 3\)"),
        ({"data": torch.randn(100)}, r"\(N, 2\) tensor"),
        ({"data": "swiss roll"}, "data must be one of 'ring', 'grid', 'moons', 'spiral'"),
        ({"data": torch.full((10, 2), math.nan)}, "NaN or infinite"),
        ({"loss": "hinge"}, "Unknown loss 'hinge': choose one of 'non-saturating', 'saturating', 'WGAN-GP'"),
    ],
)
def test_bad_data_or_loss_is_a_clear_error(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Playground(**arguments)


@pytest.mark.parametrize(
    ("control", "message"),
    [({"lr_g": -1.0}, "lr_g must be positive"), ({"n_critic": 1.5}, "whole number"), ({"beta": 0.5}, "Unknown")],
)
def test_bad_controls_are_clear_errors(control: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Playground("ring").set(**control)


def test_the_figure_redraws_after_a_step() -> None:
    playground = Playground("ring")
    figure = PlaygroundFigure(playground.view())
    first = figure.png()
    assert first.startswith(b"\x89PNG")
    assert figure.update(playground.step(2).view()) != first
    assert list(figure.lines["d_fake"].get_xdata()) == [1, 2]


def test_the_snapshots_draw_each_moment_and_the_history() -> None:
    fig = Playground("moons").snapshots([0, 2, 4])
    planes = [text.get_text() for ax in fig.axes for text in ax.texts]  # each plane's title is a text
    assert len(planes) == 3 and planes[-1].startswith("moons, non-saturating: step 4\nlongest arrow")
    assert "Losses" in [ax.get_title() for ax in fig.axes]


def test_the_widgets_buttons_and_controls_drive_the_playground() -> None:
    playground = Playground("ring")
    box = playground.widget(steps_per_frame=3)
    widgets = {getattr(w, "description", ""): w for row in box.children[:2] for w in row.children}
    status, image = box.children[2], box.children[3]
    first_image = image.value
    widgets["one step"].click()
    assert playground.run.step == 1 and status.value.startswith("step 1 ")
    assert image.value != first_image
    widgets["play"].value += 1  # a tick of the browser's clock: one frame of steps/frame steps
    assert playground.run.step == 4
    widgets["n_critic"].value, widgets["loss"].value = 2, "saturating"
    assert playground.run.config.n_critic == 2 and playground.loss == "saturating"
    widgets["lr G"].value = 1e-4
    assert playground.run.g_optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    widgets["reset"].click()
    assert playground.run.step == 0 and status.value.startswith("step 0")
