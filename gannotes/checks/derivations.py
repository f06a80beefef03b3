"""Checks for exercises that ask the learner to work something out rather than copy it: 05's class vectors (what a
linear layer does with a one-hot label).

Table checks (:func:`~gannotes.checks.core.check_against_table`), each wrong version one a learner who has not yet
worked the idea out would write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from . import reference
from .core import check_against_table, exercise_check, observe_call, wrong_versions

# ----------------------------------------------------------------------------------------------
# 05: a one-hot label through a linear layer is a table lookup

_CLASS_VECTORS = (
    "write first_layer([z, onehot(y)]) as weight @ [z; onehot(y)] + bias, split the weight into the columns that "
    "multiply z and those that multiply the one-hot part, and see what a one-hot vector picks out; or let the layer "
    "tell you: feed it z = 0 with each one-hot vector."
)


def _class_vectors(first_layer: nn.Linear, z_dim: int, *, part="label", transpose=True, bias=True, z_value=0.0):
    """The table with one ingredient changed: the columns taken (``part``), the transpose, the bias, or z."""
    weight = first_layer.weight.detach()
    classes = first_layer.in_features - z_dim
    if z_value:  # the layer's output for each one-hot vector, with z = z_value instead of 0
        inputs = torch.cat([torch.full((classes, z_dim), z_value), torch.eye(classes)], dim=1)
        return first_layer(inputs).detach()
    columns = {
        "label": weight[:, z_dim:],  # right
        "first": weight[:, :classes],  # the first K columns: they multiply z
        "z": weight[:, :z_dim],  # W_z itself
        "all": weight,  # the whole matrix
    }[part]
    if not transpose:  # one column per class, the bias added down the columns
        return columns + first_layer.bias.detach()[:, None] if bias else columns
    return columns.T + first_layer.bias.detach() if bias else columns.T


def _layer(in_features: int, out_features: int, seed: int) -> nn.Linear:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = nn.Linear(in_features, out_features)
        nn.init.normal_(layer.bias, 0.0, 1.0)  # a bias as large as the weights' effect: forgetting it shows
    return layer


def _observe_class_vectors(fn: Callable[[nn.Linear, int], Any]) -> list:
    """Two layers, shaped so that no two of their dimensions are equal (a transposed table shows as a shape)."""
    seen = []
    for z_dim, classes, out_features, seed in ((8, 10, 12, 1), (5, 3, 7, 2)):
        table = observe_call(fn, _layer(z_dim + classes, out_features, seed), z_dim)
        seen.append(table.detach().float() if isinstance(table, torch.Tensor) else table)
    return seen


CLASS_VECTORS_MISTAKES = wrong_versions(
    _class_vectors,
    _CLASS_VECTORS,
    {
        "the bias is missing: first_layer(x) = weight @ x + bias, and the bias is added whatever the class, so "
        "it belongs in every row of the table.": {"bias": False},
        "your table is (hidden, num_classes): the exercise asks for one row per class, (num_classes, hidden) "
        "(transpose it).": {"transpose": False},
        "your rows are the first num_classes columns of the weight: those multiply z; the one-hot part of the "
        "input comes after z, in columns z_dim and up.": {"part": "first"},
        "your table is the part of the weight that multiplies z, (z_dim, hidden): the label's part is "
        "first_layer.weight[:, z_dim:].": {"part": "z"},
        "your table is the whole weight matrix, one row per input: only the one-hot inputs, the last "
        "num_classes, pick the class's vector.": {"part": "all"},
        "your rows hold the layer's output for z = 1 with each one-hot vector: that adds W_z times a vector of "
        "ones, which belongs to z's part, not the label's. Feed z = 0.": {"z_value": 1.0},
    },
)


@exercise_check("class_vectors")
def check_class_vectors(fn: Callable[[nn.Linear, int], torch.Tensor]) -> str:
    """Check ``fn(first_layer, z_dim) -> T (num_classes, hidden)`` with
    ``first_layer([z, onehot(y)]) == z @ W_z.T + T[y]`` for every z and y."""
    passed = (
        "on two layers, z @ W_z.T + T[y] equals the layer's output on [z, onehot(y)] for every class: the one-hot "
        "input picks row y of your table."
    )
    return check_against_table(
        fn, reference.class_vectors, _observe_class_vectors, CLASS_VECTORS_MISTAKES, passed, _CLASS_VECTORS
    )
