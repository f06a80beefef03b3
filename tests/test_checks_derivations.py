"""Notebook 05's class-vectors check: right answers, however derived, pass; a stub is pending; each wrong version
of the table is rejected with its own message."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from check_runner import not_implemented, run
from torch import nn

from gannotes.checks import check_class_vectors, reference
from gannotes.checks.core import WrongVersion
from gannotes.checks.derivations import CLASS_VECTORS_MISTAKES


# Right answers, worked out in different ways
def from_the_weight(first_layer, z_dim):
    return first_layer.weight[:, z_dim:].T + first_layer.bias


def by_asking_the_layer(first_layer, z_dim):
    """Feed z = 0 with each one-hot vector: the output is the class's vector."""
    classes = first_layer.in_features - z_dim
    return first_layer(torch.cat([torch.zeros(classes, z_dim), torch.eye(classes)], dim=1))


def column_by_column(first_layer, z_dim):
    rows = [first_layer.weight[:, z_dim + c] + first_layer.bias for c in range(first_layer.in_features - z_dim)]
    return torch.stack(rows).detach()


def through_one_hot(first_layer, z_dim):
    """The layer applied to one-hot labels, minus what z = 0 would contribute (nothing)."""
    classes = first_layer.in_features - z_dim
    one_hot = F.one_hot(torch.arange(classes), classes).float()
    return F.linear(torch.cat([torch.zeros(classes, z_dim), one_hot], dim=1), first_layer.weight, first_layer.bias)


@pytest.mark.parametrize(
    "fn", [reference.class_vectors, from_the_weight, by_asking_the_layer, column_by_column, through_one_hot]
)
def test_right_answers_pass(fn: Callable, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_class_vectors, fn, capsys)
    assert passed, out
    assert out.startswith("✅ class_vectors passed: ")


def test_the_reference_satisfies_the_identity() -> None:
    """The exercise's identity, on a layer and labels the check never uses."""
    torch.manual_seed(5)
    layer, z, labels = nn.Linear(16 + 4, 9), torch.randn(6, 16), torch.tensor([0, 3, 1, 3, 2, 0])
    table = reference.class_vectors(layer, 16)
    assert table.shape == (4, 9)
    through_layer = layer(torch.cat([z, F.one_hot(labels, 4).float()], dim=1))
    torch.testing.assert_close(z @ layer.weight[:, :16].T + table[labels], through_layer)
    # and nn.Embedding holding that table is the same lookup
    torch.testing.assert_close(nn.Embedding.from_pretrained(table)(labels), table[labels])


def test_not_implemented_is_pending(capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_class_vectors, not_implemented, capsys)
    assert not passed
    assert out == "⏳ class_vectors pending: not implemented yet — the notebook will use the reference for now."


def test_an_error_is_reported_with_its_message(capsys: pytest.CaptureFixture[str]) -> None:
    def sliced_wrong(first_layer, z_dim):
        return first_layer.weight[z_dim:, :].T @ torch.ones(3, 3)

    passed, out = run(check_class_vectors, sliced_wrong, capsys)
    assert not passed and out.startswith("❌ class_vectors failed: your function raised RuntimeError")


@pytest.mark.parametrize("wrong", CLASS_VECTORS_MISTAKES, ids=lambda w: w.problem[:40])
def test_each_wrong_version_is_rejected_with_its_message(
    wrong: WrongVersion, capsys: pytest.CaptureFixture[str]
) -> None:
    passed, out = run(check_class_vectors, wrong.fn, capsys)
    assert not passed
    assert out == f"❌ class_vectors failed: {wrong.problem} Hint: {wrong.hint}"


def test_the_wrong_versions_are_told_apart() -> None:
    """No two wrong versions (nor one and the reference) look alike, so each message can be reached."""
    assert len({w.problem for w in CLASS_VECTORS_MISTAKES}) == len(CLASS_VECTORS_MISTAKES)


# The same mistakes, written as a learner would
def without_bias(first_layer, z_dim):
    return first_layer.weight[:, z_dim:].T


def not_transposed(first_layer, z_dim):
    return first_layer.weight[:, z_dim:] + first_layer.bias[:, None]


def z_set_to_ones(first_layer, z_dim):
    classes = first_layer.in_features - z_dim
    return first_layer(torch.cat([torch.ones(classes, z_dim), torch.eye(classes)], dim=1))


def first_columns(first_layer, z_dim):
    classes = first_layer.in_features - z_dim
    return first_layer.weight[:, :classes].T + first_layer.bias


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (without_bias, "the bias is missing"),
        (not_transposed, "one row per class"),
        (z_set_to_ones, "for z = 1"),
        (first_columns, "those multiply z"),
    ],
)
def test_mistakes_written_by_hand_are_named(fn: Callable, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    passed, out = run(check_class_vectors, fn, capsys)
    assert not passed and expected in out, out
