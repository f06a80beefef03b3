"""The dataset loaders: real files, alternative layouts, corrupt files, missing files offline."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from gannotes import data
from gannotes.data import CorruptDatasetError, DatasetNotFoundError


def _mnist_test_files() -> tuple[Path, Path]:
    paths = data.find_split(data.dataset_spec("mnist"), "test")
    assert paths is not None, "the MNIST test split should be on disk once the session fixture loaded it"
    return paths


def test_mnist_test_split_is_real_and_scaled(mnist_test: data.ImageDataset) -> None:
    assert mnist_test.images.shape == (10000, 1, 28, 28)
    assert mnist_test.images.dtype == torch.float32
    assert mnist_test.images.min().item() == -1.0 and mnist_test.images.max().item() == 1.0
    assert mnist_test.labels.dtype == torch.int64
    # The published test set starts 7, 2, 1, 0, 4 and has between 892 and 1135 images per class.
    assert mnist_test.labels[:5].tolist() == [7, 2, 1, 0, 4]
    counts = torch.bincount(mnist_test.labels, minlength=10)
    assert counts.min().item() == 892 and counts.max().item() == 1135
    # Digits are light strokes on a dark background: most pixels sit at -1.
    assert (mnist_test.images == -1).float().mean().item() > 0.75
    assert mnist_test.classes == tuple("0123456789")
    assert "test split" in mnist_test.description


def test_subsets_are_explicit_and_described(mnist_test: data.ImageDataset) -> None:
    first = data.load_dataset("mnist", "test", subset=range(8000))
    rest = data.load_dataset("mnist", "test", subset=range(8000, 10000))
    assert len(first) == 8000 and len(rest) == 2000
    assert "images 0..7999" in first.description and "images 8000..9999" in rest.description
    assert torch.equal(torch.cat([first.images, rest.images]), mnist_test.images)
    first_100 = data.load_dataset("mnist", "test", subset=100)
    assert len(first_100) == 100 and "images 0..99 (100)" in first_100.description
    assert "all 10000 images" in mnist_test.description
    for bad in (range(9990, 10010), range(0, 100, 2), [3, 1]):
        with pytest.raises(ValueError, match="subset must be None, a number of images or a non-empty range"):
            data.load_dataset("mnist", "test", subset=bad)


def test_course_data_in_smoke_mode_uses_disjoint_test_images(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANNOTES_SMOKE", "1")
    split = data.course_data("mnist")
    assert len(split.train) == 8000 and len(split.heldout) == 2000
    assert "test split, images 0..7999" in split.describe()
    assert "test split, images 8000..9999" in split.describe()


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="Known datasets: mnist, fashion-mnist"):
        data.load_dataset("cifar10")
    with pytest.raises(ValueError, match="use one of train, test"):
        data.load_dataset("mnist", "validation")


def test_torchvision_layout_and_uncompressed_files_are_found(tmp_path: Path) -> None:
    images, labels = _mnist_test_files()
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(images, raw / images.name)
    # torchvision leaves decompressed copies beside the .gz; a folder with only those works too.
    (raw / labels.name.removesuffix(".gz")).write_bytes(gzip.decompress(labels.read_bytes()))
    found = data.find_split(data.dataset_spec("mnist"), "test", root=tmp_path)
    assert found == (raw / images.name, raw / "t10k-labels-idx1-ubyte")
    assert len(data.load_dataset("mnist", "test", root=tmp_path, download=False)) == 10000


def test_recompressed_file_with_published_contents_is_accepted(tmp_path: Path) -> None:
    # Debian's Fashion-MNIST package re-compresses the files: the .gz md5 differs, the contents don't.
    images, labels = _mnist_test_files()
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / images.name).write_bytes(gzip.compress(gzip.decompress(images.read_bytes()), compresslevel=1))
    shutil.copy(labels, folder / labels.name)
    loaded = data.load_dataset("mnist", "test", root=tmp_path, download=False)
    assert loaded.labels[:3].tolist() == [7, 2, 1]


def _write_variant(tmp_path: Path, transform) -> Path:
    """A copy of the MNIST test split whose images file went through `transform(raw_bytes)`."""
    images, labels = _mnist_test_files()
    folder = tmp_path / "mnist"
    folder.mkdir()
    raw = gzip.decompress(images.read_bytes())
    (folder / images.name).write_bytes(transform(raw))
    shutil.copy(labels, folder / labels.name)
    return folder / images.name


def test_truncated_download_is_a_clear_error(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, lambda raw: gzip.compress(raw)[:200_000])
    with pytest.raises(CorruptDatasetError, match="truncated or not a valid gzip") as err:
        data.load_dataset("mnist", "test", root=tmp_path, download=False)
    assert str(path) in str(err.value) and "download it again" in str(err.value)


def _flip_one_pixel(raw: bytes) -> bytes:
    buf = bytearray(raw)
    buf[5000] ^= 0xFF
    return bytes(buf)


@pytest.mark.parametrize(
    "transform",
    [lambda raw: raw[:-784], _flip_one_pixel, lambda raw: b"<html>404 not found</html>" + raw[26:]],
    ids=["truncated contents", "altered pixel", "not an IDX file"],
)
def test_wrong_contents_are_a_clear_error(tmp_path: Path, transform) -> None:
    path = _write_variant(tmp_path, lambda raw: gzip.compress(transform(raw)))
    with pytest.raises(CorruptDatasetError, match="truncated, altered or not the published file") as err:
        data.load_dataset("mnist", "test", root=tmp_path, download=False)
    assert str(path) in str(err.value) and "2646ac647ad5339dbf082846283269ea" in str(err.value)


def _isolate_from_local_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GANNOTES_DATA", str(empty))
    monkeypatch.setattr(data, "repo_data_dir", lambda: tmp_path / "repo-data")
    return empty


def test_missing_dataset_offline_names_files_md5_and_folders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, offline: None
) -> None:
    empty = _isolate_from_local_data(monkeypatch, tmp_path)
    with pytest.raises(DatasetNotFoundError) as err:
        data.load_dataset("mnist", "train")  # goes through torchvision's real download, which fails
    message = str(err.value)
    assert "MNIST (train split) is not on this machine, and downloading it failed" in message
    assert "train-images-idx3-ubyte.gz  (md5 f68b3c2dcbeaaa9fbdd348bbdeb94873)" in message
    assert "train-labels-idx1-ubyte.gz  (md5 d53e105ee54ea40749a09fcbcd1e9432)" in message
    assert str(empty / "mnist") in message and str(tmp_path / "repo-data" / "MNIST" / "raw") in message
    assert "GANNOTES_DATA" in message


def test_missing_dataset_without_download_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _isolate_from_local_data(monkeypatch, tmp_path)
    hidden = dataclasses.replace(data.DATASETS["fashion-mnist"], system_dirs=())  # hide Debian's copy
    monkeypatch.setitem(data.DATASETS, "fashion-mnist", hidden)
    with pytest.raises(DatasetNotFoundError, match="download=False was given"):
        data.load_dataset("fashion-mnist", "test", download=False)


def _write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_fashion_mnist_layout_with_structurally_valid_files(tmp_path: Path) -> None:
    # Files we write ourselves: right header and size, so only the md5 check can tell them apart.
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (10000, 28, 28)), 2051)
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 10000), 2049)
    with pytest.raises(CorruptDatasetError, match="not the published file") as err:
        data.load_dataset("fashion-mnist", "test", root=tmp_path, download=False)
    assert str(folder / "t10k-images-idx3-ubyte.gz") in str(err.value)


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist package is not installed",
)
def test_fashion_mnist_from_debian_package() -> None:
    train = data.load_dataset("fashion-mnist", "train")
    assert train.images.shape == (60000, 1, 28, 28)
    assert torch.bincount(train.labels).tolist() == [6000] * 10
