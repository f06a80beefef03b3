"""Checks for the training-tips exercise (09): instance noise, a wrapper that blurs what D sees.

The learner writes ``InstanceNoise(discriminator, std)``, an ``nn.Module`` whose ``forward(x)`` adds
fresh Gaussian noise of standard deviation ``std`` to every input value in training mode (and none in
eval mode), then returns ``discriminator(x)``. The check wraps a probe discriminator that records
what it receives, so the noise can be measured exactly: its mean and spread, whether it is fresh for
every value and every call, whether it reaches D's input (not its output), whether eval mode turns it
off, and whether gradients still flow through to the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .core import ErrorHint, call_learner, describe, exercise_check, fail

STD = 0.3  # far from its square (0.09) and its square root (0.55), so those mistakes show
BATCH = 256
IMAGE = (1, 28, 28)

INPLACE_ERRORS = (
    ErrorHint(
        "in-place operation",
        "the noise was added in place (x += ... or x.add_(...)): on an input that needs gradients this is not "
        "allowed, and on a real batch it would change the caller's data.",
        "make a new tensor: x = x + self.std * torch.randn_like(x).",
    ),
)


class _Probe(nn.Module):
    """A linear discriminator that keeps a copy of every input it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(28 * 28, 1)
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.linear(x.flatten(1)).squeeze(1)


def _inputs(seed: int) -> torch.Tensor:
    return torch.rand(BATCH, *IMAGE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _call(wrapper: nn.Module, probe: _Probe, x: torch.Tensor, context: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The wrapper's output on ``x`` and the input the probe received."""
    probe.seen.clear()
    out = call_learner(wrapper, x, context=context, hints=INPLACE_ERRORS)
    if not isinstance(out, torch.Tensor) or out.shape != (x.shape[0],):
        fail(
            f"the wrapper returned {describe(out)}, expected the discriminator's logits of shape ({x.shape[0]},).",
            "end forward with return self.discriminator(x).",
        )
    if len(probe.seen) != 1:
        fail(
            f"the wrapped discriminator was called {len(probe.seen)} times for one call of the wrapper.",
            "call self.discriminator exactly once, on the noisy input.",
        )
    return out, probe.seen[0]


def _check_noise(noise: torch.Tensor, x: torch.Tensor) -> None:
    """Fail unless ``noise`` looks like fresh N(0, STD^2) values, independent of ``x``, one per input value."""
    if noise.abs().max() == 0:
        fail(
            "no noise reached the discriminator in training mode: it received the input unchanged.",
            "in forward, when self.training: x = x + self.std * torch.randn_like(x), then call self.discriminator(x).",
        )
    mean, std = noise.mean().item(), noise.std().item()
    if abs(mean - STD / 2) < 0.05 * STD and abs(std - STD / 12**0.5) < 0.05 * STD:
        fail(
            f"the noise is uniform on [0, std) (mean {mean:.3f}, spread {std:.3f}): torch.rand_like draws from "
            "U(0, 1).",
            "use Gaussian noise with mean 0: self.std * torch.randn_like(x).",
        )
    ratio = noise / x
    if ratio.std().item() > 0 and abs(ratio.std().item() - STD) < 0.1 * STD and abs(std - STD) > 0.1 * STD:
        fail(
            "the noise is multiplied with the input (x * (1 + std * n)): its size then depends on the pixel, and "
            "black pixels (-1) and mid-grey ones (0) are not blurred alike.",
            "add the noise: x + self.std * torch.randn_like(x).",
        )
    if noise.flatten(1).std(dim=1).mean() < 0.1 * STD:
        fail(
            "every pixel of a sample gets the same noise value (noise of shape (B, 1, 1, 1)): that shifts the image's "
            "brightness instead of blurring it.",
            "draw one value per input value: torch.randn_like(x) has x's full shape.",
        )
    if noise.std(dim=0).mean() < 0.1 * STD:
        fail(
            "every sample in the batch gets the same noise (noise of shape (1, ...) broadcast over the batch).",
            "draw noise for the whole batch: torch.randn_like(x).",
        )
    if abs(mean) > 0.05 * STD:
        fail(f"the noise has mean {mean:.3f}, not 0.", "use torch.randn_like(x), which has mean 0.")
    if abs(std - STD**2) < 0.1 * STD**2:
        fail(
            f"the noise has standard deviation {std:.3f} = std**2: std is a standard deviation, not a variance.",
            "multiply unit Gaussian noise by self.std itself: self.std * torch.randn_like(x).",
        )
    if abs(std - STD**0.5) < 0.1 * STD**0.5:
        fail(
            f"the noise has standard deviation {std:.3f} = sqrt(std): std is already a standard deviation.",
            "multiply unit Gaussian noise by self.std: self.std * torch.randn_like(x).",
        )
    if abs(std - STD) > 0.03 * STD:
        fail(
            f"the noise has standard deviation {std:.3f}, expected std = {STD}.",
            "noise = self.std * torch.randn_like(x).",
        )


@exercise_check("instance_noise")
def check_instance_noise(cls: Callable[[nn.Module, float], nn.Module]) -> str:
    """Check ``cls(discriminator, std)``: a module adding fresh N(0, std^2) noise to D's inputs when training."""
    probe = _Probe()
    wrapper = call_learner(cls, probe, STD, context="constructing InstanceNoise(discriminator, std=0.3)")
    if not isinstance(wrapper, nn.Module):
        fail(
            f"InstanceNoise(discriminator, std) gave {describe(wrapper)}, not an nn.Module.",
            "make InstanceNoise a subclass of nn.Module and call super().__init__() first.",
        )
    if not any(p is probe.linear.weight for p in wrapper.parameters()):
        fail(
            "the wrapped discriminator's parameters are not among the wrapper's: an optimizer built on the wrapper "
            "would never train D.",
            "store it as a module attribute (self.discriminator = discriminator) after super().__init__().",
        )
    wrapper.train()
    x = _inputs(seed=1)
    x_in = x.clone().requires_grad_(True)
    context = f"called in training mode on images of shape {tuple(x.shape)}"
    out, seen = _call(wrapper, probe, x_in, context)
    if not torch.equal(x_in.detach(), x):
        fail("the wrapper changed its input in place.", "make a new tensor: x = x + self.std * torch.randn_like(x).")
    noise = seen - x
    if noise.abs().max() == 0 and not torch.allclose(out.detach(), probe.linear(x.flatten(1)).squeeze(1).detach()):
        fail(
            "the noise was added to D's output (the logits), not to its input: D still sees clean images.",
            "add the noise to x before calling the discriminator: return self.discriminator(x + noise).",
        )
    _check_noise(noise, x)
    if not torch.allclose(out.detach(), probe.linear(seen.flatten(1)).squeeze(1).detach(), atol=1e-5):
        fail(
            "the wrapper does not return the discriminator's output on the noisy input.",
            "return self.discriminator(x) after adding the noise to x.",
        )
    (grad,) = torch.autograd.grad(out.sum(), x_in, allow_unused=True) if out.requires_grad else (None,)
    if grad is None:
        fail(
            "the output is not connected to the input: the generator would get no gradient through D.",
            "do not detach x or use torch.no_grad(): the noise is a constant added to x, the gradient passes through.",
        )
    expected = probe.linear.weight.detach().view(1, *IMAGE).expand_as(x)
    if not torch.allclose(grad, expected, atol=1e-6):
        fail(
            "the gradient of D's output with respect to the input is wrong: adding noise should pass it through "
            "unchanged (d(x + n)/dx = 1).",
            "add the noise with x + self.std * torch.randn_like(x), with no detach and no scaling of x.",
        )
    _, seen_again = _call(wrapper, probe, x.clone(), context)
    if torch.equal(seen_again - x, noise):
        fail(
            "the same noise is added at every call (drawn once, e.g. in __init__): D learns to see through it.",
            "draw new noise inside forward, every call: torch.randn_like(x).",
        )
    wrapper.eval()
    _, seen_eval = _call(wrapper, probe, x.clone(), "called in eval mode")
    if not torch.equal(seen_eval, x):
        fail(
            "noise is added in eval mode too: instance noise is a training device; in eval mode D must see the "
            "input as it is.",
            "add the noise only when self.training is True.",
        )
    return (
        f"adds fresh Gaussian noise of std {noise.std().item():.3f} (std = {STD}) to every input value in training "
        "mode, none in eval mode, and passes gradients through to G."
    )
