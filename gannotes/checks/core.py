"""What every exercise check shares: run the learner's function safely, compare it with a table, report one line.

A check ``check_xxx(fn) -> bool`` is a body decorated with :func:`exercise_check`; the body is usually one call
to :func:`check_against_table`: the learner's ``fn``, the reference and each :class:`WrongVersion` (a wrong
implementation a learner would write, with its message) run through the same seeded scenario, and the first
wrong version ``fn`` behaves like names the mistake. The check prints exactly one line (``✅ name passed: ...``,
``❌ name failed: ... Hint: ...`` or ``⏳ name pending: ...``), never raises, and leaves the random state, grad
mode and thread count as it found them.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, ParamSpec

import torch

P = ParamSpec("P")

PASSED, FAILED, PENDING = "✅", "❌", "⏳"
VERDICTS = {PASSED: "passed", FAILED: "failed", PENDING: "pending"}
_DEFAULT_ERROR_HINT = "call your function yourself in a new cell to see the full traceback."
_MAX_MESSAGE = 300  # characters of a learner's exception message kept in the one-line report


class CheckFailure(Exception):
    """Raised inside a check body: ``problem`` says exactly what is wrong, ``hint`` how to fix it."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem, self.hint = problem, hint


def fail(problem: str, hint: str = "") -> NoReturn:
    """Stop the check with a diagnosis (one sentence) and a hint (one sentence)."""
    raise CheckFailure(problem, hint)


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """Collapse whitespace (exception messages span lines) and cut to ``limit`` characters."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(err: BaseException) -> str:
    """An exception as ``Type: message`` on one line (torch's own "Hint:" lowered, to keep the check's apart)."""
    return f"{type(err).__name__}: {one_line(str(err)).replace('Hint:', 'hint:')}"


def report(name: str, outcome: str, message: str, hint: str = "") -> None:
    """Print the one line a check shows the learner."""
    message = one_line(message, limit=10_000)
    if hint and not message.endswith((".", "!", "?", "…")):
        message += "."  # a learner's exception message often has no full stop before our "Hint:"
    # In words too: a browser without an emoji font draws every mark as the same box.
    line = f"{outcome} {name} {VERDICTS[outcome]}: {message}"
    if hint:
        line += f" Hint: {one_line(hint, limit=10_000)}"
    print(line)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's CPU generator seeded, then restore the caller's random state.

    Fixed seeds make a check repeat exactly; restoring the state means that running a check cell
    does not change the samples the rest of the notebook draws.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def run_check(name: str, body: Callable[..., str], *args: Any, **kwargs: Any) -> bool:
    """Run ``body(*args, **kwargs)``, print one line about it and return whether it passed.

    ``NotImplementedError`` anywhere in the learner's code means "not written yet" (``⏳``); any
    other exception is reported as a failure with its type and message, never propagated, so a
    notebook keeps running past a broken exercise.
    """
    # The checks' tensors are tiny: one thread avoids the cost of waking the others for each
    # operation, which on a busy machine dominates (milliseconds per op instead of microseconds).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # Learner code may run under a notebook's torch.no_grad() or warn about shapes: the check
        # needs gradients, and its output must stay one line.
        with seeded(0), torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            message = body(*args, **kwargs)
    except NotImplementedError:
        report(name, PENDING, "not implemented yet — the notebook will use the reference for now.")
        return False
    except CheckFailure as failure:
        report(name, FAILED, failure.problem, failure.hint)
        return False
    except Exception as err:  # any error in learner code must become a report, not a crash
        report(name, FAILED, f"your code raised {error_text(err)}", _DEFAULT_ERROR_HINT)
        return False
    finally:
        torch.set_num_threads(threads)
    report(name, PASSED, message)
    return True


def exercise_check(name: str) -> Callable[[Callable[P, str]], Callable[P, bool]]:
    """Decorator: turn a check body (returns what passed, raises :class:`CheckFailure`) into a check.

    The decorated function prints one line and returns ``True`` if the learner's function passed.
    """

    def decorate(body: Callable[P, str]) -> Callable[P, bool]:
        @functools.wraps(body)
        def check(*args: P.args, **kwargs: P.kwargs) -> bool:
            return run_check(name, body, *args, **kwargs)

        # help() and the notebook's tooltips show the learner's side: the check returns a bool.
        check.__annotations__ = {**body.__annotations__, "return": "bool"}
        check.__signature__ = inspect.signature(body).replace(return_annotation="bool")  # type: ignore[attr-defined]
        return check

    return decorate


def describe(value: Any) -> str:
    """A short human description of a value: ``tensor of shape (8,) float32`` or ``float 1.25``."""
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} {str(value.dtype).removeprefix('torch.')}"
    if value is None:
        return "None"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value:.4g}"
    return type(value).__name__


def fmt(x: torch.Tensor | float, digits: int = 4) -> str:
    """A number or a small tensor, rounded for a report: ``1.386`` or ``[1.386, -0.5]``."""
    if isinstance(x, torch.Tensor):
        flat = x.detach().flatten().tolist()
        if len(flat) == 1:
            return f"{flat[0]:.{digits}g}"
        shown = ", ".join(f"{v:.{digits}g}" for v in flat[:6])
        return f"[{shown}{', …' if len(flat) > 6 else ''}]"
    return f"{x:.{digits}g}"


def scalar_output(value: Any, what: str = "your function's output", batch: int | None = None) -> torch.Tensor:
    """Require a scalar tensor (shape ``()``), with a specific hint for a per-sample ``(B,)`` result."""
    if not isinstance(value, torch.Tensor):
        fail(
            f"{what} should be a torch tensor, got {describe(value)}.",
            "return a scalar tensor so that loss.backward() works: torch operations only, no .item() or float().",
        )
    if value.shape != torch.Size([]):
        per_sample = batch is not None and value.dim() >= 1 and value.shape[0] in (batch, 2 * batch)
        fail(
            f"{what} should be a scalar (shape ()), got shape {tuple(value.shape)}"
            + (": one value per sample." if per_sample else "."),
            "average over the batch with .mean() to get a single number."
            if per_sample
            else "reduce to a single number with .mean(); a scalar tensor has shape ().",
        )
    if not value.is_floating_point():
        fail(f"{what} should be a floating-point tensor, got {describe(value)}.", "compute the loss in float32.")
    return value


def same_values(got: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """True when both have the same shape and close values (NaN never matches); never raises."""
    got, expected = got.detach(), expected.detach()
    if got.shape != expected.shape:
        return False
    if got.dtype != expected.dtype:
        got, expected = got.double(), expected.double()
    return bool(torch.allclose(got, expected, rtol=rtol, atol=atol))


def has_gradient(model: torch.nn.Module) -> bool:
    """True when some parameter of ``model`` holds a non-zero gradient."""
    return any(p.grad is not None and bool(p.grad.detach().abs().sum() > 0) for p in model.parameters())


# --------------------------------------------------------------------------------------------
# Checks from tables: a scenario, the reference, and a table of wrong versions


@dataclass(frozen=True)
class Raised:
    """What a call that raised leaves to compare: its exception as ``Type: message``."""

    error: str


@dataclass(frozen=True)
class WrongVersion:
    """A wrong implementation of an exercise, and what a learner whose function behaves like it is told."""

    fn: Callable[..., Any]
    problem: str
    hint: str


def wrong_versions(fn: Callable[..., Any], hint: str, problems: dict[str, dict[str, Any]]) -> list[WrongVersion]:
    """A table of wrong versions: ``fn`` called with each problem's ingredients (keyword arguments)."""
    return [WrongVersion(functools.partial(fn, **kwargs), problem, hint) for problem, kwargs in problems.items()]


def observe_call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, or :class:`Raised` if it raised (``NotImplementedError`` propagates: "not written yet")."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as err:  # a wrong version may raise too: the error is what is compared
        return Raised(error_text(err))


def same_observation(a: Any, b: Any) -> bool:
    """Equal observations: tensors close (:func:`same_values`), containers element by element, else ``==``."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and same_values(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_observation(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_observation(a[k], b[k]) for k in a)
    return a == b


def _first_error(observation: Any) -> Raised | None:
    if isinstance(observation, Raised):
        return observation
    if isinstance(observation, (list, tuple)):
        return next((e for e in map(_first_error, observation) if e is not None), None)
    if isinstance(observation, dict):
        return _first_error(list(observation.values()))
    return None


def check_against_table(
    fn: Callable[..., Any],
    reference: Callable[..., Any],
    observe: Callable[[Callable[..., Any]], Any],
    wrong_versions: Sequence[WrongVersion],
    passed: str,
    hint: str,
) -> str:
    """The body of a table check: run the learner's ``fn``, the ``reference`` and each wrong version
    through the same scenario, ``observe(f)`` (seeded alike, so random draws are the same), and compare.

    Returns ``passed`` when ``fn`` behaves like the reference; otherwise fails with the problem of the
    first wrong version it behaves like, or with what it raised, or with a general ``hint``.
    """
    if not callable(fn):
        fail(f"expected a function, got {type(fn).__name__}.", "pass the function itself, without calling it.")

    def seen(f: Callable[..., Any]) -> Any:
        with seeded(0):
            return observe(f)

    mine = seen(fn)
    if same_observation(mine, seen(reference)):
        return passed
    for wrong in wrong_versions:
        if same_observation(mine, seen(wrong.fn)):
            fail(wrong.problem, wrong.hint)
    error = _first_error(mine)
    if error is not None:
        fail(f"your function raised {error.error}", _DEFAULT_ERROR_HINT)
    fail("your function does not do what the exercise asks: its result differs from the reference's.", hint)
