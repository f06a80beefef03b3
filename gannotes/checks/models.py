"""Checks for the model-building exercises: the DCGAN generator block and init (04), conditioned inputs (05).

Table checks (:func:`~gannotes.checks.core.check_against_table`); a module is observed through a short
description: its layers, their settings and the shape it outputs, or its parameters' statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from . import reference
from .core import Raised, check_against_table, exercise_check, observe_call, wrong_versions

# ----------------------------------------------------------------------------------------------
# 04: the generator block

_BLOCK = (
    "kernel_size=4, stride=2, padding=1 doubles the size, (H - 1) * 2 - 2 + 4 = 2H: nn.Sequential(nn.ConvTranspose2d("
    "in_channels, out_channels, 4, 2, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())."
)


def _block(
    cin, cout, *, conv=nn.ConvTranspose2d, kernel=4, stride=2, padding=1, norm=True, act=nn.ReLU, at=1, wrap=True
):
    """A generator block with one ingredient changed: ``norm="in"`` for BatchNorm2d(cin), ``at=2`` after the ReLU."""
    layers = [conv(cin, cout, kernel, stride, padding, bias=False), act()]
    if norm:
        layers.insert(at, nn.BatchNorm2d(cin if norm == "in" else cout))
    return nn.Sequential(*layers) if wrap else layers


def _layer(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        return f"{type(module).__name__}(k={module.kernel_size[0]}, s={module.stride[0]}, p={module.padding[0]})"
    return type(module).__name__


def _observe_block(make: Callable[[int, int], Any]) -> list:
    """For two shapes: the block's layers, and the shape it outputs in training mode."""
    seen = []
    for cin, cout, size in ((8, 4, 7), (3, 5, 5)):
        block = observe_call(make, cin, cout)
        if not isinstance(block, nn.Module | Raised):
            block = "not an nn.Module"
        elif isinstance(block, nn.Module):
            out = observe_call(block.train(), torch.randn(2, cin, size, size))
            block = ([_layer(m) for m in block.modules() if not list(m.children())], getattr(out, "shape", out))
        seen.append(block)
    return seen


BLOCK_MISTAKES = wrong_versions(
    _block,
    _BLOCK,
    {
        "with stride 1 and kernel_size=3 the block keeps the size: it must double it.": {"kernel": 3, "stride": 1},
        "with stride 1 the block adds one pixel: it must double the size.": {"stride": 1},
        "kernel_size=3 makes the output 2H - 1 pixels wide (-1 pixels).": {"kernel": 3},
        "padding=0 makes the output 2H + 2 pixels wide (+2 pixels).": {"padding": 0},
        "no batch norm: DCGAN normalises after each generator convolution but the last.": {"norm": False},
        "nn.BatchNorm2d(in_channels): the batch norm follows a layer with out_channels channels.": {"norm": "in"},
        "LeakyReLU in place of ReLU: LeakyReLU is the discriminator's activation.": {"act": nn.LeakyReLU},
        "Tanh in place of ReLU: tanh belongs only at the generator's output.": {"act": nn.Tanh},
        "nn.Conv2d halves the size: the generator upsamples with nn.ConvTranspose2d.": {"conv": nn.Conv2d},
        "ReLU before the batch norm: ConvTranspose2d -> BatchNorm2d -> ReLU, in that order.": {"at": 2},
        "your function's result is not an nn.Module (a list of layers is not one): use nn.Sequential.": {"wrap": False},
    },
)


@exercise_check("generator_block")
def check_generator_block(fn: Callable[[int, int], nn.Module]) -> str:
    """Check ``fn(in_channels, out_channels) -> nn.Module`` mapping ``(B, in, H, W) -> (B, out, 2H, 2W)``.

    ``bias=True`` passes with a note: batch norm subtracts each channel's mean right after, which
    cancels the bias, so it is wasted parameters, not a wrong result.
    """
    passed = "doubles the size on two inputs with ConvTranspose2d(k=4, s=2, p=1) -> BatchNorm2d -> ReLU"
    passed = check_against_table(fn, reference.generator_block, _observe_block, BLOCK_MISTAKES, passed, _BLOCK)
    if any(m.bias is not None for m in fn(4, 2).modules() if isinstance(m, nn.ConvTranspose2d)):
        passed += " (note: bias=True is wasted — batch norm subtracts each channel's mean right after; use bias=False)"
    return passed + "."


# ----------------------------------------------------------------------------------------------
# 04: DCGAN's initialisation

_SENTINEL = 5.0  # every parameter starts here, so a layer the learner's function skipped shows
_INIT = (
    "if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)): nn.init.normal_(module.weight, 0.0, 0.02) and zero "
    "the bias; if isinstance(module, nn.BatchNorm2d): nn.init.normal_(module.weight, 1.0, 0.02), zero the bias."
)


def _init(
    module, *, kinds=(nn.Conv2d, nn.ConvTranspose2d), conv=(0.0, 0.02), bn=(1.0, 0.02), uniform=False, zero_bias=True
):
    """DCGAN's initialisation with one ingredient changed (``bn=()``: batch norm left alone)."""
    if isinstance(module, kinds):
        if uniform:  # the right std, the wrong distribution
            nn.init.uniform_(module.weight, -(3**0.5) * conv[1], 3**0.5 * conv[1])
        else:
            nn.init.normal_(module.weight, *conv)
        if zero_bias:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and bn:
        nn.init.normal_(module.weight, *bn)
        nn.init.zeros_(module.bias)


def _initialised(init: Callable[[nn.Module], None]) -> Any:
    """Layers of every kind, all parameters at the sentinel, after ``model.apply(init)`` (or what it raised)."""
    model = nn.Sequential(nn.Conv2d(64, 128, 4), nn.ReLU(), nn.ConvTranspose2d(128, 64, 4), nn.BatchNorm2d(1024))
    model.append(nn.Linear(256, 64))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(_SENTINEL)
    error = observe_call(model.apply, init)
    return error if isinstance(error, Raised) else model


def _stats(p: torch.Tensor) -> Any:
    """Mean, std and, on a big layer, the share within one std (0.7 for a normal, 0.6 for a uniform), rounded."""
    p = p.detach().flatten()
    if (p == _SENTINEL).all():
        return "left as it was"
    within = None  # measured well enough only on a big layer
    if p.numel() > 10_000:
        within = round(((p - p.mean()).abs() < p.std()).float().mean().item(), 1)
    return round(p.mean().item(), 2), float(f"{p.std().item():.1g}"), within


def _observe_init(init: Callable[[nn.Module], None]) -> Any:
    model = _initialised(init)
    if isinstance(model, Raised):
        return model
    seen = {f"{type(m).__name__}.{n}": _stats(p) for m in model[:4] for n, p in m.named_parameters()}
    seen["Linear"] = _stats(model[4].weight) in ("left as it was", seen["Conv2d.weight"])  # either passes
    return seen


INIT_MISTAKES = wrong_versions(
    _init,
    _INIT,
    {
        "conv weights have std 1, expected 0.02: nn.init.normal_(w) keeps its defaults, N(0, 1).": {"conv": ()},
        "conv weights have mean 0.02: normal_(tensor, mean, std), so normal_(w, 0.02) leaves std=1.": {"conv": (0.02,)},
        "conv weights have std 0.2, ten times too large: DCGAN uses 0.02.": {"conv": (0.0, 0.2)},
        "conv weights have the right mean and std but are not normally distributed (uniform_).": {"uniform": True},
        "ConvTranspose2d weights were not initialised: it is not a subclass of nn.Conv2d.": {"kinds": nn.Conv2d},
        "the convolutions' biases were left as they were: DCGAN starts biases at 0.": {"zero_bias": False},
        "batch-norm weights around 0 scale each channel to almost nothing: they start around 1.": {"bn": (0.0, 0.02)},
        "BatchNorm2d weights were not initialised: your function skips nn.BatchNorm2d.": {"bn": ()},
        "your function touched .weight on a module without one: model.apply visits every module.": {"kinds": nn.Module},
    },
)


@exercise_check("weights_init")
def check_weights_init(fn: Callable[[nn.Module], None]) -> str:
    """Check ``fn(module)``, used as ``model.apply(fn)``, against DCGAN's initialisation.

    Conv and transposed-conv weights ~ N(0, 0.02), batch-norm weights ~ N(1, 0.02), biases 0, other
    modules left alone; ``Linear`` layers may be drawn like the convolutions (as the package does),
    or left alone (noted).
    """
    passed = "conv and transposed-conv weights ~ N(0, 0.02), batch-norm weights ~ N(1, 0.02), biases 0"
    passed = check_against_table(fn, reference.weights_init, _observe_init, INIT_MISTAKES, passed, _INIT)
    if (_initialised(fn)[4].weight == _SENTINEL).all():
        passed += " (note: Linear layers were left alone; the package's version also draws them from N(0, 0.02))"
    return passed + "."
