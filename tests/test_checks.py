"""The exercise checks: each reference passes, a stub is pending, and every usual mistake is named.

Each mistake is a small function written the way a learner would get it wrong; the test asserts the
check returns False and that its one printed line names that specific mistake.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from check_runner import assert_rejected, not_implemented, run
from torch import nn

from gannotes import losses, steps
from gannotes.checks import (
    check_acgan_discriminator_loss,
    check_discriminator_loss,
    check_generator_block,
    check_generator_step,
    check_gradient_penalty,
    check_weights_init,
    reference,
)
from gannotes.checks import losses as losses_checks
from gannotes.checks.core import WrongVersion

CHECKS: dict[str, Callable[[Callable], bool]] = {
    "discriminator_loss": check_discriminator_loss,
    "gradient_penalty": check_gradient_penalty,
    "acgan_discriminator_loss": check_acgan_discriminator_loss,
    "generator_block": check_generator_block,
    "weights_init": check_weights_init,
}


def broken(*args):
    raise ValueError("boom in the learner's code")


# ----------------------------------------------------------------------------------------------
# Every check: the reference passes, a stub is pending, an exception is reported


@pytest.mark.parametrize("name", list(CHECKS))
def test_reference_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(CHECKS[name], getattr(reference, name), capsys)
    assert passed, out
    assert out.startswith(f"✅ {name} passed: ")


@pytest.mark.parametrize("name", list(CHECKS))
def test_not_implemented_is_pending(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(CHECKS[name], not_implemented, capsys)
    assert not passed
    assert out == f"⏳ {name} pending: not implemented yet — the notebook will use the reference for now."


@pytest.mark.parametrize("name", list(CHECKS))
def test_exception_in_learner_code_is_reported(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(CHECKS[name], broken, capsys)
    assert not passed
    assert out.startswith(f"❌ {name} failed: ") and "ValueError" in out and "boom in the learner's code" in out
    assert "Hint:" in out


def test_checks_leave_random_state_grad_mode_and_threads_alone(capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(123)
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    with torch.no_grad():  # a notebook cell may run a check inside no_grad: it still works
        assert check_gradient_penalty(reference.gradient_penalty)
        assert check_generator_step(steps.gan_g_step)
        assert not torch.is_grad_enabled()
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads
    capsys.readouterr()


def test_not_a_function_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_discriminator_loss, losses.discriminator_loss(torch.zeros(2), torch.zeros(2)), capsys)
    assert not passed and "expected a function" in out


# ----------------------------------------------------------------------------------------------
# The usual mistakes, written as a learner would


def bce(logits: torch.Tensor, target: float, reduction: str = "mean") -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target), reduction=reduction)


def d_loss_flipped(r, f):
    return -(bce(r, 1.0) + bce(f, 0.0))


def d_loss_no_real(r, f):
    return bce(f, 0.0)


def d_loss_no_fake(r, f):
    return bce(r, 1.0)


def d_loss_swapped_targets(r, f):
    return bce(r, 0.0) + bce(f, 1.0)


def d_loss_bce_on_logits(r, f):  # probabilities expected, logits given: torch refuses
    return F.binary_cross_entropy(r, torch.ones_like(r)) + F.binary_cross_entropy(f, torch.zeros_like(f))


def d_loss_forgot_sigmoid(r, f):  # the formula on logits as if they were D(x)
    return -torch.log(r).mean() - torch.log(1 - f).mean()


def d_loss_sigmoid_twice(r, f):
    return bce(torch.sigmoid(r), 1.0) + bce(torch.sigmoid(f), 0.0)


def d_loss_sum(r, f):
    return bce(r, 1.0, "sum") + bce(f, 0.0, "sum")


def d_loss_per_sample(r, f):
    return bce(r, 1.0, "none") + bce(f, 0.0, "none")


def d_loss_concatenated(r, f):
    return F.binary_cross_entropy_with_logits(torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)]))


def d_loss_unstable(r, f):
    return -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean()


def d_loss_clamped(r, f):  # sigmoid then BCELoss: finite (log clamped at -100) but wrong at large logits
    return F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r)) + F.binary_cross_entropy(
        torch.sigmoid(f), torch.zeros_like(f)
    )


def d_loss_detached(r, f):
    return torch.tensor(losses.discriminator_loss(r, f).item())


def d_loss_float(r, f):
    return losses.discriminator_loss(r, f).item()


def make_gp(
    eps_shape: Callable[[torch.Tensor], tuple[int, ...]] = lambda x: (x.shape[0], 1, 1, 1),
    draw: Callable[..., torch.Tensor] = torch.rand,
    penalty: Callable[[torch.Tensor], torch.Tensor] = lambda n: (n - 1) ** 2,
    reduce: Callable[[torch.Tensor], torch.Tensor] = torch.mean,
    create_graph: bool = True,
    requires_grad: bool = True,
) -> Callable:
    """A gradient penalty with one ingredient changed."""

    def gp(critic, real, fake):
        eps = draw(*eps_shape(real))
        x_hat = eps * real + (1 - eps) * fake
        if requires_grad:
            x_hat.requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
        return reduce(penalty(grad.flatten(1).norm(2, dim=1)))

    return gp


def gp_whole_batch_norm(critic, real, fake):
    eps = torch.rand(real.shape[0], 1, 1, 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.norm(2) - 1) ** 2


def acgan_real_only(r, rc, rl, f, fc, fl):
    return losses.discriminator_loss(r, f) + F.cross_entropy(rc, rl)


def acgan_no_class(r, rc, rl, f, fc, fl):
    return losses.discriminator_loss(r, f)


def acgan_no_real_term(r, rc, rl, f, fc, fl):
    return bce(f, 0.0) + F.cross_entropy(rc, rl) + F.cross_entropy(fc, fl)


def acgan_no_fake_term(r, rc, rl, f, fc, fl):
    return bce(r, 1.0) + F.cross_entropy(rc, rl) + F.cross_entropy(fc, fl)


def acgan_flipped(r, rc, rl, f, fc, fl):
    return -losses.acgan_discriminator_loss(r, rc, rl, f, fc, fl)


def acgan_wrong_labels(r, rc, rl, f, fc, fl):
    return losses.discriminator_loss(r, f) + F.cross_entropy(rc, rl) + F.cross_entropy(fc, rl)


def block(kernel=4, stride=2, padding=1, bias=False, norm=True, act: Callable[[], nn.Module] = nn.ReLU):
    """A generator block with one ingredient changed."""

    def make(cin, cout):
        layers = [nn.ConvTranspose2d(cin, cout, kernel, stride, padding, bias=bias)]
        if norm:
            layers.append(nn.BatchNorm2d(cout))
        return nn.Sequential(*layers, act())

    return make


def block_conv2d(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


def block_relu_first(cin, cout):
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.ReLU(), nn.BatchNorm2d(cout))


def block_not_module(cin, cout):
    return lambda x: x


def init(conv_mean=0.0, conv_std=0.02, bn_mean=1.0, types=(nn.Conv2d, nn.ConvTranspose2d), zero_bias=True):
    """A DCGAN initialisation with one ingredient changed."""

    def weights_init(m):
        if isinstance(m, types):
            nn.init.normal_(m.weight, conv_mean, conv_std)
            if zero_bias and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, bn_mean, 0.02)
            nn.init.zeros_(m.bias)

    return weights_init


def init_one_argument(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.02)  # the mean, not the std
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_uniform(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        bound = 0.02 * 3**0.5  # the right std, the wrong distribution
        nn.init.uniform_(m.weight, -bound, bound)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_any_module(m):
    nn.init.normal_(m.weight, 0.0, 0.02)


MISTAKES = [
    (check_discriminator_loss, d_loss_flipped, "sign flipped"),
    (check_discriminator_loss, d_loss_no_real, "real term mean(-ln D(x)) is missing"),
    (check_discriminator_loss, d_loss_no_fake, "fake term mean(-ln(1 - D(G(z)))) is missing"),
    (check_discriminator_loss, d_loss_swapped_targets, "targets are swapped"),
    (check_discriminator_loss, d_loss_bce_on_logits, "logits, not probabilities"),
    (check_discriminator_loss, d_loss_forgot_sigmoid, "logits, not probabilities"),
    (check_discriminator_loss, d_loss_sigmoid_twice, "sigmoid is applied twice"),
    (check_discriminator_loss, d_loss_sum, "sums over the batch"),
    (check_discriminator_loss, d_loss_per_sample, "should be a scalar"),
    (check_discriminator_loss, d_loss_concatenated, "half the reference"),
    (check_discriminator_loss, d_loss_unstable, "numerically unstable"),
    (check_discriminator_loss, d_loss_clamped, "not exact for large logits"),
    (check_discriminator_loss, d_loss_detached, "cannot be backpropagated"),
    (check_discriminator_loss, d_loss_float, "should be a torch tensor"),
    (check_gradient_penalty, make_gp(eps_shape=lambda x: tuple(x.shape)), "one interpolation weight per pixel"),
    (check_gradient_penalty, make_gp(draw=torch.randn), "normal distribution"),
    (check_gradient_penalty, make_gp(eps_shape=lambda x: (1,)), "same interpolation weight"),
    (check_gradient_penalty, make_gp(eps_shape=lambda x: (x.shape[0], 1)), "do not broadcast"),
    (check_gradient_penalty, make_gp(penalty=lambda n: (n**2 - 1) ** 2), "(||g||^2 - 1)^2"),
    (check_gradient_penalty, make_gp(penalty=lambda n: n**2), "squared gradient norm"),
    (check_gradient_penalty, make_gp(penalty=lambda n: (n - 1).clamp(min=0) ** 2), "one-sided"),
    (check_gradient_penalty, make_gp(create_graph=False), "cannot be backpropagated"),
    (check_gradient_penalty, make_gp(reduce=torch.sum), "sums over the batch"),
    (check_gradient_penalty, make_gp(requires_grad=False), "does not require grad"),
    (check_gradient_penalty, gp_whole_batch_norm, "whole batch"),
    (check_acgan_discriminator_loss, acgan_real_only, "real images only"),
    (check_acgan_discriminator_loss, acgan_no_class, "class loss is missing"),
    (check_acgan_discriminator_loss, acgan_no_real_term, "real term mean(-ln D(x)) is missing"),
    (check_acgan_discriminator_loss, acgan_no_fake_term, "fake term mean(-ln(1 - D(G(z)))) is missing"),
    (check_acgan_discriminator_loss, acgan_flipped, "sign flipped"),
    (check_acgan_discriminator_loss, acgan_wrong_labels, "real_labels"),
    (check_generator_block, block(kernel=3, stride=1, padding=1), "stride 1"),
    (check_generator_block, block(kernel=4, stride=1, padding=1), "stride 1"),
    (check_generator_block, block(kernel=3), "-1 pixels"),
    (check_generator_block, block(padding=0), "+2 pixels"),
    (check_generator_block, block(norm=False), "no batch norm"),
    (check_generator_block, block(act=lambda: nn.LeakyReLU(0.2)), "LeakyReLU in place of ReLU"),
    (check_generator_block, block(act=nn.Tanh), "Tanh in place of ReLU"),
    (check_generator_block, block_conv2d, "nn.Conv2d"),
    (check_generator_block, block_relu_first, "in that order"),
    (check_generator_block, block_not_module, "not an nn.Module"),
    (check_weights_init, init(conv_std=1.0), "expected 0.02"),
    (check_weights_init, init_one_argument, "leaves std=1"),
    (check_weights_init, init(conv_std=0.2), "ten times too large"),
    (check_weights_init, init(bn_mean=0.0), "around 0"),
    (check_weights_init, init(types=nn.Conv2d), "ConvTranspose2d weights were not initialised"),
    (check_weights_init, init(zero_bias=False), "biases were left"),
    (check_weights_init, init_uniform, "not normally distributed"),
    (check_weights_init, init_any_module, "touched .weight"),
]


def _mistake_id(param: object) -> str:
    if isinstance(param, str):
        return param.replace(" ", "_")[:30]
    return getattr(param, "__name__", "fn")


@pytest.mark.parametrize(("check", "mistake", "diagnosis"), MISTAKES, ids=_mistake_id)
def test_mistake_is_diagnosed(
    check: Callable[[Callable], bool], mistake: Callable, diagnosis: str, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(check, mistake, capsys)
    assert not passed, out
    assert out.startswith("❌ ") and " Hint: " in out, out
    assert diagnosis in out, out


TABLES = [
    (check_discriminator_loss, losses_checks.D_LOSS_MISTAKES),
    (check_gradient_penalty, losses_checks.GP_MISTAKES),
    (check_acgan_discriminator_loss, losses_checks.ACGAN_MISTAKES),
]


TABLE_ROWS = [(check, wrong) for check, table in TABLES for wrong in table]


@pytest.mark.parametrize(("check", "wrong"), TABLE_ROWS, ids=[w.problem[:40] for _, w in TABLE_ROWS])
def test_each_wrong_version_of_a_table_gets_its_own_message(
    check: Callable[[Callable], bool], wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(check, wrong.fn, capsys)
    assert_rejected(passed, out, wrong.problem, wrong.hint)


def right_d_loss(r, f):
    return (
        F.binary_cross_entropy_with_logits(torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)])) * 2
    )


def right_gp_other_end(critic, real, fake):  # the weight on the fake end, gradient through grad_outputs
    alpha = torch.rand(real.size(0), 1, 1, 1)
    x_hat = fake * alpha + real * (1 - alpha)
    x_hat.requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores, x_hat, grad_outputs=torch.ones_like(scores), create_graph=True)
    return (grad.view(len(grad), -1).norm(dim=1) - 1).pow(2).mean()


@pytest.mark.parametrize(
    ("check", "fn"),
    [
        (check_discriminator_loss, right_d_loss),
        (check_gradient_penalty, right_gp_other_end),
    ],
    ids=["d_loss_concatenated_times_2", "gp_other_end"],
)
def test_right_answers_written_differently_pass(
    check: Callable[[Callable], bool], fn: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(check, fn, capsys)
    assert passed, out


def test_generator_block_with_bias_passes_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_generator_block, block(bias=True), capsys)
    assert passed, out
    assert "note: bias=True" in out


def test_weights_init_leaving_linear_alone_passes_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_weights_init, init(), capsys)
    assert passed, out
    assert "note: Linear layers were left alone" in out


def test_reference_solutions_depend_on_nothing_in_the_checks() -> None:
    import ast
    from pathlib import Path

    import gannotes.checks.reference as module

    imports = [n for n in ast.walk(ast.parse(Path(module.__file__).read_text())) if isinstance(n, ast.ImportFrom)]
    assert imports and all(n.level != 1 for n in imports), [n.module for n in imports if n.level == 1]
