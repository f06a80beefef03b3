"""Where things live and how big things are: the package's few global settings.

Everything here is read from environment variables *when called*, so a notebook or a test can
change them with ``os.environ`` without re-importing the package.

- ``GANNOTES_SMOKE=1``: smoke mode. Datasets shrink and step counts drop so that every notebook
  runs in seconds (CI does this). The code path is the same; only sizes change, via :func:`scaled`.
- ``GANNOTES_DATA``: a folder holding datasets (see ``data/README.md``).
- ``GANNOTES_CACHE``: where trained evaluators and other caches go (default: the repo's
  ``data/cache``, or ``~/.cache/gannotes`` when that is not writable).
- ``GANNOTES_DEVICE``: force a device (``cpu``, ``cuda``, ``cuda:1``, ``mps``).

Trained models that a later notebook reuses go to :func:`runs_dir`; every file the package writes
goes through :func:`write_atomically`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import torch

T = TypeVar("T")

PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository root when the package is used from a checkout (``pip install -e .``).
REPO_DIR = PACKAGE_DIR.parent


def smoke_mode() -> bool:
    """True when ``GANNOTES_SMOKE`` is set to a true value (``1``, ``true``, ``yes``)."""
    return os.environ.get("GANNOTES_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


def scaled(full: T, smoke: T) -> T:
    """Pick a size: ``full`` for a learner's run, ``smoke`` in smoke mode.

    This is the only place sizes change between the two modes, so a notebook written as
    ``steps = scaled(1500, 20)`` runs the same code either way.
    """
    return smoke if smoke_mode() else full


def repo_data_dir() -> Path:
    """The repository's ``data/`` folder (it may not exist when the package is installed elsewhere)."""
    return REPO_DIR / "data"


def _writable(folder: Path) -> bool:
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
        if _writable(folder):
            return folder
    raise OSError(
        "No writable cache folder: tried "
        + ", ".join(str(c) for c in candidates)
        + ". Set GANNOTES_CACHE to a folder you can write to."
    )


def runs_dir() -> Path:
    """Where notebooks save trained models for later notebooks: ``cache_dir()/runs``, created if needed.

    In smoke mode it is ``cache_dir()/runs/smoke``, so that a model trained for a few steps by a test
    run never passes for a learner's model.
    """
    folder = cache_dir() / "runs"
    if smoke_mode():
        folder = folder / "smoke"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_atomically(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """The one way the package writes a file: ``write(f)`` into a temporary file beside ``path``, flushed
    to disk, then renamed over ``path``. A crash, Ctrl-C or full disk mid-write leaves the previous file
    intact, never half a file, and no temporary file behind.
    """
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
