"""What the exercise-check tests share: run a check and read the one line it printed."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def run(check: Callable[[Callable], bool], fn: Callable, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    """Run a check; return what it returned and the one line it printed."""
    passed = check(fn)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n"), f"a check prints exactly one line, got {out!r}"
    return passed, out.strip()


def not_implemented(*args):
    raise NotImplementedError("Exercise: write this function")


def assert_rejected(passed: bool, out: str, *expected: str, name: str = "") -> None:
    """The check's one line says it failed (for exercise ``name``), gives a hint, and contains each ``expected``."""
    assert not passed, out
    assert out.startswith(f"❌ {name}") and " failed: " in out and " Hint: " in out, out
    assert all(text in out for text in expected), out
