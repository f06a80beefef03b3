"""Check for notebook 09's exercise: ``InstanceNoise(discriminator, std)``, a module that adds fresh
N(0, std^2) noise to every value of D's input in training mode (none in eval mode) and returns D's output.

A table check: the learner's class, the reference and each wrong version wrap a probe discriminator that
records its input; what is compared is how the noise it received looks and what passes through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .core import Raised, WrongVersion, check_against_table, describe, exercise_check, fail, observe_call
from .reference import InstanceNoise

STD, BATCH = 0.3, 256  # 0.3 is far from its square (0.09) and its square root (0.55)
NOISE = "x = x + self.std * torch.randn_like(x)"
MODULE = "subclass nn.Module, call super().__init__() first, then store self.discriminator = discriminator."


class _Probe(nn.Module):
    """A linear discriminator that keeps a copy of every input it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(28 * 28, 1)
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.linear(x.flatten(1)).squeeze(1)


def _observe(cls: Callable[..., Any]) -> Any:
    """The noise D received in training mode (its mean and spread in units of std, whether it varies within a
    sample and across the batch, whether the next call draws new noise), whether D gets noise in eval mode, and
    whether the wrapper returns D's output and passes the input's gradient through."""
    probe = _Probe()
    wrapper = observe_call(cls, probe, STD)
    if isinstance(wrapper, Raised):
        return wrapper
    if not isinstance(wrapper, nn.Module):
        fail(f"InstanceNoise(discriminator, std) gave {describe(wrapper)}, not an nn.Module.", MODULE)
    if not any(p is probe.linear.weight for p in wrapper.parameters()):
        fail("the discriminator's parameters are not among the wrapper's: an optimizer would not train D.", MODULE)
    x = torch.rand(BATCH, 1, 28, 28) * 2 - 1
    x_in = x.clone().requires_grad_(True)
    out = observe_call(wrapper.train(), x_in)
    if isinstance(out, Raised):
        return out
    if not isinstance(out, torch.Tensor) or out.shape != (BATCH,) or len(probe.seen) != 1:
        fail(
            f"the wrapper returned {describe(out)} from {len(probe.seen)} calls of the discriminator, expected the "
            f"discriminator's logits of shape ({BATCH},) from one call.",
            f"in forward: {NOISE} (in training mode), then return self.discriminator(x).",
        )
    seen = probe.seen[-1]
    (grad,) = torch.autograd.grad(out.sum(), x_in, allow_unused=True) if out.requires_grad else (None,)
    wrapper(x.clone())
    fresh = not torch.equal(probe.seen[-1], seen)
    wrapper.eval()(x.clone())
    seen_in_eval = probe.seen[-1]
    noise = seen - x
    return {
        "noise mean, std (in units of std)": (round(noise.mean().item() / STD, 1), round(noise.std().item() / STD, 1)),
        "noise varies within a sample": bool(noise.flatten(1).std(1).mean() > 0.1 * STD),
        "noise varies across the batch": bool(noise.std(0).mean() > 0.1 * STD),
        "new noise at the next call": fresh,
        "noise in eval mode": not torch.equal(seen_in_eval, x),
        "returns D(noisy input)": torch.allclose(out.detach(), probe(seen).detach(), atol=1e-5),
        "input gradient passes through": grad is not None and torch.allclose(grad, probe.linear.weight.view_as(x[0])),
    }


class _Wrong(InstanceNoise):
    """Instance noise whose forward is ``written(D, x, std, training)``: a wrong version per usual mistake."""

    def __init__(self, discriminator: nn.Module, std: float, written: Callable[..., Any]) -> None:
        super().__init__(discriminator, std)
        self.written = written

    def forward(self, x: torch.Tensor) -> Any:
        return self.written(self.discriminator, x, self.std, self.training)


def _wrong(written: Callable[..., Any]) -> Callable[[nn.Module, float], nn.Module]:
    return lambda discriminator, std: _Wrong(discriminator, std, written)


_ONCE = torch.randn(BATCH, 1, 28, 28, generator=torch.Generator().manual_seed(9))
WRONG_VERSIONS = (
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x)),
        "no noise reached the discriminator in training mode: it received the input unchanged.",
        f"in forward, when self.training: {NOISE}.",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x + s * torch.randn_like(x))),
        "noise is added in eval mode too: in eval mode D must see the input as it is.",
        "add the noise only when self.training is True.",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x + s**2 * torch.randn_like(x) if training else x)),
        "the noise has standard deviation std**2: std is a standard deviation, not a variance.",
        NOISE + ".",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x + s**0.5 * torch.randn_like(x) if training else x)),
        "the noise has standard deviation sqrt(std): std is already a standard deviation.",
        NOISE + ".",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x + s * torch.rand_like(x) if training else x)),
        "the noise is uniform on [0, std): torch.rand_like draws from U(0, 1).",
        "use Gaussian noise with mean 0: " + NOISE + ".",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x * (1 + s * torch.randn_like(x)) if training else x)),
        "the noise is multiplied with the input: black (-1) and mid-grey (0) pixels are not blurred alike.",
        "add the noise: " + NOISE + ".",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x + s * torch.randn(len(x), 1, 1, 1) if training else x)),
        "every pixel of a sample gets the same noise (shape (B, 1, 1, 1)): that shifts its brightness, not blurs it.",
        "draw one value per input value: torch.randn_like(x) has x's full shape.",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x + s * torch.randn(1, *x.shape[1:]) if training else x)),
        "every sample in the batch gets the same noise (shape (1, ...) broadcast over the batch).",
        "draw noise for the whole batch: torch.randn_like(x).",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x + s * _ONCE if training else x)),
        "the same noise is added at every call (drawn once, e.g. in __init__): D learns to see through it.",
        "draw new noise inside forward, at every call: torch.randn_like(x).",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x) + s * torch.randn(len(x)) * training),
        "the noise was added to D's output (the logits), not to its input: D still sees clean images.",
        f"add the noise to x before calling the discriminator: {NOISE}.",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x.detach() + s * torch.randn_like(x) if training else x)),
        "the noisy input is detached from the input: the generator would get no gradient through D.",
        "do not detach x: the noise is a constant added to x, and the gradient passes through it.",
    ),
    WrongVersion(
        _wrong(lambda D, x, s, training: D(x.add_(s * torch.randn_like(x)) if training else x)),
        "the noise was added in place (x += ...): not allowed on an input that needs gradients, and on a real "
        "batch it would change the caller's data.",
        f"make a new tensor: {NOISE}.",
    ),
)


@exercise_check("instance_noise")
def check_instance_noise(cls: Callable[[nn.Module, float], nn.Module]) -> str:
    """Check ``cls(discriminator, std)``: a module adding fresh N(0, std^2) noise to D's inputs when training."""
    return check_against_table(
        cls,
        InstanceNoise,
        _observe,
        WRONG_VERSIONS,
        f"adds fresh Gaussian noise of std {STD} to every input value in training mode, none in eval mode, and "
        "passes gradients through to G.",
        f"in forward: if self.training: {NOISE}; then return self.discriminator(x).",
    )
