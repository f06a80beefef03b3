"""The instance-noise check (notebook 09): right answers pass, and each usual mistake is named.

Each mistake is a small wrapper written the way a learner would get instance noise wrong.
"""

from __future__ import annotations

import pytest
import torch
from check_runner import assert_rejected
from check_runner import run as run_check
from torch import nn

from gannotes.checks import reference
from gannotes.checks.core import WrongVersion
from gannotes.checks.reference import InstanceNoise
from gannotes.checks.tips import WRONG_VERSIONS, check_instance_noise
from gannotes.models import MLPDiscriminator


def run(cls, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    return run_check(check_instance_noise, cls, capsys)


class Wrapper(nn.Module):
    """The notebook's skeleton; subclasses write forward."""

    def __init__(self, discriminator, std):
        super().__init__()
        self.discriminator = discriminator
        self.std = std


# ----------------------------------------------------------------------------------------------
# Right answers


class WithNormalLike(Wrapper):
    def forward(self, x):
        if not self.training:
            return self.discriminator(x)
        return self.discriminator(x + torch.normal(0.0, self.std, size=x.shape))


class AlwaysWhenTraining(Wrapper):
    def forward(self, x):
        noise = torch.randn_like(x) * self.std if self.training else torch.zeros_like(x)
        return self.discriminator(x + noise)


@pytest.mark.parametrize("cls", [InstanceNoise, WithNormalLike, AlwaysWhenTraining], ids=lambda c: c.__name__)
def test_right_answers_pass(cls, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(cls, capsys)
    assert passed, out
    assert out.startswith("✅ instance_noise passed: ")


def test_reference_is_exported_and_works_in_the_package_models() -> None:
    assert reference.InstanceNoise is InstanceNoise
    wrapped = InstanceNoise(MLPDiscriminator(hidden=8), std=0.2)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    wrapped.eval()
    assert torch.equal(wrapped(x), wrapped.discriminator(x))
    wrapped.train()
    assert not torch.equal(wrapped(x), wrapped.discriminator(x))
    wrapped.std = 0.0  # annealed to nothing: the discriminator itself
    assert torch.equal(wrapped(x), wrapped.discriminator(x))


def test_not_implemented_is_pending(capsys: pytest.CaptureFixture[str]) -> None:
    class Stub(Wrapper):
        def forward(self, x):
            raise NotImplementedError("Exercise: forward")

    passed, out = run(Stub, capsys)
    assert not passed and out.startswith("⏳ instance_noise pending: not implemented yet")


# ----------------------------------------------------------------------------------------------
# The usual mistakes


class NoNoise(Wrapper):
    def forward(self, x):
        return self.discriminator(x)


class NoiseInEval(Wrapper):
    def forward(self, x):
        return self.discriminator(x + self.std * torch.randn_like(x))


class Variance(Wrapper):
    def forward(self, x):
        if self.training:
            x = x + self.std**2 * torch.randn_like(x)
        return self.discriminator(x)


class SquareRoot(Wrapper):
    def forward(self, x):
        if self.training:
            x = x + self.std**0.5 * torch.randn_like(x)
        return self.discriminator(x)


class Uniform(Wrapper):
    def forward(self, x):
        if self.training:
            x = x + self.std * torch.rand_like(x)
        return self.discriminator(x)


class Multiplicative(Wrapper):
    def forward(self, x):
        if self.training:
            x = x * (1 + self.std * torch.randn_like(x))
        return self.discriminator(x)


class OnTheOutput(Wrapper):
    def forward(self, x):
        out = self.discriminator(x)
        return out + self.std * torch.randn_like(out) if self.training else out


class Detached(Wrapper):
    def forward(self, x):
        if self.training:
            x = x.detach() + self.std * torch.randn_like(x)
        return self.discriminator(x)


class FixedNoise(Wrapper):
    def forward(self, x):
        if not hasattr(self, "noise"):
            self.noise = self.std * torch.randn_like(x)
        return self.discriminator(x + self.noise if self.training else x)


class OnePerSample(Wrapper):
    def forward(self, x):
        if self.training:
            x = x + self.std * torch.randn(x.shape[0], 1, 1, 1)
        return self.discriminator(x)


class SameForTheBatch(Wrapper):
    def forward(self, x):
        if self.training:
            x = x + self.std * torch.randn(1, *x.shape[1:])
        return self.discriminator(x)


class InPlace(Wrapper):
    def forward(self, x):
        if self.training:
            x += self.std * torch.randn_like(x)
        return self.discriminator(x)


class NotRegistered(nn.Module):
    def __init__(self, discriminator, std):
        super().__init__()
        self.parts = [discriminator]  # a plain list hides D's parameters from .parameters()
        self.std = std

    def forward(self, x):
        return self.parts[0](x + self.std * torch.randn_like(x) if self.training else x)


def not_a_module(discriminator, std):
    return lambda x: discriminator(x + std * torch.randn_like(x))


class ReturnsNoisyInput(Wrapper):
    def forward(self, x):
        return x + self.std * torch.randn_like(x)


MISTAKES = [
    (NoNoise, "no noise reached the discriminator"),
    (NoiseInEval, "eval mode too"),
    (Variance, "std**2"),
    (SquareRoot, "sqrt(std)"),
    (Uniform, "uniform"),
    (Multiplicative, "multiplied"),
    (OnTheOutput, "output (the logits)"),
    (Detached, "no gradient"),
    (FixedNoise, "same noise is added at every call"),
    (OnePerSample, "every pixel of a sample gets the same noise"),
    (SameForTheBatch, "every sample in the batch gets the same noise"),
    (InPlace, "in place"),
    (NotRegistered, "parameters are not among the wrapper's"),
    (not_a_module, "not an nn.Module"),
    (ReturnsNoisyInput, "expected the discriminator's logits"),
]


@pytest.mark.parametrize(("mistake", "diagnosis"), MISTAKES, ids=[m.__name__ for m, _ in MISTAKES])
def test_mistake_is_diagnosed(mistake, diagnosis: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(mistake, capsys)
    assert_rejected(passed, out, diagnosis, name="instance_noise")


@pytest.mark.parametrize("wrong", WRONG_VERSIONS, ids=[w.problem[:40] for w in WRONG_VERSIONS])
def test_each_wrong_version_of_the_table_gets_its_own_message(
    wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(wrong.fn, capsys)
    assert_rejected(passed, out, wrong.problem, wrong.hint)
