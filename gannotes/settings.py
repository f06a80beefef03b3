"""Global settings, read from the environment when called: ``GANNOTES_SMOKE=1`` (smoke mode, see :func:`scaled`),
``GANNOTES_DATA`` (a dataset folder), ``GANNOTES_CACHE`` (the cache folder), ``GANNOTES_DEVICE`` (force a device).
Also the folders the package writes to, and :func:`write_atomically`, the one way it writes a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import torch

T = TypeVar("T")


def smoke_mode() -> bool:
    """True when ``GANNOTES_SMOKE`` is ``1``, ``true``, ``yes`` or ``on``."""
    return os.environ.get("GANNOTES_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


def scaled(full: T, smoke: T) -> T:
    """``full`` for a learner's run, ``smoke`` in smoke mode: the only place where the two modes differ."""
    return smoke if smoke_mode() else full


def repo_data_dir() -> Path:
    """The repository's ``data/`` folder (it may not exist when the package is installed elsewhere)."""
    return Path(__file__).resolve().parent.parent / "data"


def writable(folder: Path) -> bool:
    """Create ``folder`` if needed; True when this process can write to it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def cache_dir() -> Path:
    """A writable folder for caches: ``GANNOTES_CACHE``, else ``data/cache``, else ``~/.cache/gannotes``."""
    env = os.environ.get("GANNOTES_CACHE")
    candidates = [Path(env).expanduser()] if env else []
    candidates += [repo_data_dir() / "cache", Path.home() / ".cache" / "gannotes"]
    for folder in candidates:
        if writable(folder):
            return folder
    tried = ", ".join(str(c) for c in candidates)
    raise OSError(f"No writable cache folder: tried {tried}. Set GANNOTES_CACHE to a folder you can write to.")


def runs_dir() -> Path:
    """Where notebooks save trained models for later ones: ``cache_dir()/runs``, or ``runs/smoke`` in smoke mode
    (so that a model trained for a few steps never passes for a learner's)."""
    folder = cache_dir() / ("runs/smoke" if smoke_mode() else "runs")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_atomically(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """``write(f)`` into a temporary file beside ``path``, flushed to disk, then renamed over ``path``: a crash,
    Ctrl-C or full disk mid-write leaves the previous file intact, never half a file, and no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path


def save_atomically(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` through :func:`write_atomically`."""
    return write_atomically(path, lambda f: torch.save(obj, f))
