"""Choosing a device and seeding every random number generator.

No other module names a device: they all take the one :func:`get_device` returns.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def get_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the device to train on.

    Order: ``preferred`` if given, else the ``GANNOTES_DEVICE`` environment variable, else CUDA,
    then Apple MPS, then the CPU. Asking for a device that is not available is an error that says
    which devices are (never a silent fallback that would make a "GPU run" run on the CPU).
    """
    choice = preferred if preferred is not None else os.environ.get("GANNOTES_DEVICE") or None
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(choice)
    except RuntimeError as err:
        raise ValueError(
            f"Unknown device {choice!r}. Use 'cpu', 'cuda', 'cuda:N' or 'mps' "
            f"(available here: {', '.join(available_devices())})."
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(_unavailable(choice, "CUDA is not available in this PyTorch install"))
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise RuntimeError(_unavailable(choice, f"only {torch.cuda.device_count()} CUDA device(s)"))
    if device.type == "mps" and not _mps_available():
        raise RuntimeError(_unavailable(choice, "Apple MPS is not available on this machine"))
    return device


def available_devices() -> list[str]:
    """Names of the devices this machine can use, e.g. ``['cuda', 'cpu']``."""
    names = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        names.append("mps")
    return [*names, "cpu"]


def describe_device(device: torch.device) -> str:
    """One human line about ``device``: its kind, name and, for the CPU, the thread count."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's generators (all devices) so runs repeat."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds the legacy global generator that libraries still use
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _unavailable(choice: str, why: str) -> str:
    return (
        f"Device {choice!r} was requested ({why}). Available: {', '.join(available_devices())}. "
        "Unset GANNOTES_DEVICE or pass another device."
    )
