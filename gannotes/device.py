"""Choosing a device (no other module names one: they take what :func:`get_device` returns), and seeding."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def get_device(preferred: str | torch.device | None = None) -> torch.device:
    """The device to train on: ``preferred``, else ``GANNOTES_DEVICE``, else CUDA, then Apple MPS, then the CPU.

    A requested device that is not available is an error naming those that are, never a silent fallback that
    would make a "GPU run" run on the CPU.
    """
    choice = preferred if preferred is not None else os.environ.get("GANNOTES_DEVICE") or None
    if choice is None:
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu")
    try:
        device = torch.device(choice)
    except RuntimeError as err:
        raise ValueError(
            f"Unknown device {choice!r}. Use 'cpu', 'cuda', 'cuda:N' or 'mps' "
            f"(available here: {', '.join(available_devices())})."
        ) from err
    cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if (device.type == "cuda" and (device.index or 0) >= cuda_count) or (device.type == "mps" and not _mps_available()):
        raise RuntimeError(
            f"Device {choice!r} was requested but neither this machine nor this PyTorch install offers it. "
            f"Available: {', '.join(available_devices())}. Unset GANNOTES_DEVICE or pass another device."
        )
    return device


def available_devices() -> list[str]:
    """Names of the devices this machine can use, e.g. ``['cuda:0', 'cpu']``."""
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
