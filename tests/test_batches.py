"""The on-device batch source."""

import pytest
import torch

from gannotes.data import BatchSource


def test_every_item_once_per_epoch_and_fixed_batch_shape() -> None:
    x = torch.arange(100).float().unsqueeze(1)
    y = torch.arange(100)
    batches = BatchSource(x, y, batch_size=32, seed=0)
    seen = []
    for _ in range(100 // 32):
        images, labels = next(batches)
        assert images.shape == (32, 1) and labels.shape == (32,)
        assert torch.equal(images.squeeze(1).long(), labels)  # rows stay paired
        seen += labels.tolist()
    assert len(set(seen)) == 96  # 3 full batches, the remainder of 4 dropped
    assert sorted(seen) != seen  # shuffled


def test_resuming_from_state_dict_repeats_the_sequence() -> None:
    x = torch.randn(50, 3)
    a = BatchSource(x, batch_size=8, seed=1)
    for _ in range(7):  # cross an epoch boundary
        next(a)
    state = a.state_dict()
    expected = [next(a)[0] for _ in range(10)]
    b = BatchSource(x, batch_size=8, seed=999)
    b.load_state_dict(state)
    assert all(torch.equal(e, next(b)[0]) for e in expected)


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match="same first dimension"):
        BatchSource(torch.zeros(10, 2), torch.zeros(9), batch_size=2)
    with pytest.raises(ValueError, match="batch_size must be between 1 and the dataset size"):
        BatchSource(torch.zeros(10, 2), batch_size=64)
