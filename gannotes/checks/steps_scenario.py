"""The scenario the training-step checks share (:mod:`.training`, :mod:`.conditional`, :mod:`.wasserstein`).

Each step check runs the learner's step, the reference and each wrong version of its table on tiny
MLPs (no batch norm) with plain SGD, after leaving stale gradients in the trained network's ``.grad``
(a step that forgets ``zero_grad`` adds them to its own), and counts how many times G ran. What is
compared is built from the pieces below: the loss a step returns, the form of what it returned, both
networks' parameters after it, whether G received gradients, and which networks are still trainable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..models import MLPDiscriminator, MLPGenerator
from .core import Raised, describe, has_gradient, observe_call

BATCH, Z_DIM, LR = 8, 8, 0.1
STALE = 1.0  # the gradient a previous step leaves in .grad: a step that forgets zero_grad adds it


def tiny_models(*, num_classes: int = 0, linear_critic: bool = False) -> tuple[nn.Module, nn.Module]:
    """A tiny generator and discriminator (no batch norm), conditional with ``num_classes``; the
    discriminator linear (``depth=0``) with ``linear_critic``."""
    G = MLPGenerator(z_dim=Z_DIM, hidden=16, depth=1, num_classes=num_classes)
    D = MLPDiscriminator(hidden=16, depth=0 if linear_critic else 1, num_classes=num_classes)
    return G, D


def run_step(
    step: Callable[..., Any], G: nn.Module, D: nn.Module, trained: nn.Module, *inputs: Any, stale: float = STALE
) -> tuple[Any, int]:
    """``step(G, D, optimizer, *inputs)`` with SGD on ``trained`` (G or D), whose ``.grad`` first holds
    ``stale`` everywhere; returns what the step returned (:class:`Raised` if it raised) and how many
    times G ran forward in it (a call that raised counts too)."""
    for p in trained.parameters():
        p.grad = torch.full_like(p, stale)
    optimizer = torch.optim.SGD(trained.parameters(), lr=LR)
    calls = 0

    def count(*_: Any) -> None:
        nonlocal calls
        calls += 1

    handle = G.register_forward_pre_hook(count)
    try:
        out = observe_call(step, G, D, optimizer, *inputs)
    finally:
        handle.remove()
    return out, calls


def parameters(model: nn.Module) -> tuple[torch.Tensor, ...]:
    return tuple(p.detach().clone() for p in model.parameters())


def trainable(*models: nn.Module) -> tuple[bool, ...]:
    """For each model, whether all its parameters still require gradients."""
    return tuple(all(p.requires_grad for p in model.parameters()) for model in models)


def loss_seen(value: Any, key: str) -> Any:
    """What a step returned as its stats, as something to compare: its loss (the tensor itself, or the
    ``key`` entry of a dict) as a float tensor, or a description of what stands instead."""
    if isinstance(value, Raised):
        return value
    if isinstance(value, dict):
        if key not in value:
            return f"a dict without {key!r}"
        value = value[key]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value))
    if isinstance(value, torch.Tensor):
        return value.detach().float()
    return describe(value)


def form(value: Any) -> Any:
    """The form of what a step returned, e.g. ``((tensor, tensor), dict)`` (what raised stays :class:`Raised`)."""
    if isinstance(value, Raised):
        return value
    if isinstance(value, tuple):
        return "(" + ", ".join(map(form, value)) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(map(form, value)) + "]"
    if isinstance(value, torch.Tensor):
        return "tensor"
    return "dict" if isinstance(value, dict) else type(value).__name__


def models_after(G: nn.Module, D: nn.Module, *, g_gradients: bool = True) -> dict[str, Any]:
    """What a step leaves in the networks: both one's parameters, whether G holds gradients (unless
    ``g_gradients`` is False) and whether each network is still trainable."""
    seen = {"D after": parameters(D), "G after": parameters(G), "trainable": trainable(G, D)}
    if g_gradients:
        seen["G got gradients"] = has_gradient(G)
    return seen
