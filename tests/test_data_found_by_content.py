"""Datasets are recognised by their contents, and found where the docs say to put them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gannotes import data

ROOT = Path(__file__).resolve().parent.parent
MNIST = data.dataset_spec("mnist")


@pytest.fixture
def mnist_test_files() -> tuple[Path, Path]:
    paths = data.find_split(MNIST, "test")
    assert paths is not None, "these tests need MNIST's test split"
    return paths


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mnist_test_files: tuple[Path, Path]) -> Path:
    """A machine whose only data folder is GANNOTES_DATA=tmp_path/shared (the repo's data/ empty); the real
    files are located first, to copy from."""
    monkeypatch.setattr(data, "repo_data_dir", lambda: tmp_path / "repo" / "data")
    monkeypatch.setenv("GANNOTES_DATA", str(tmp_path / "shared"))
    (tmp_path / "shared").mkdir()
    return tmp_path / "shared"


def test_mnist_files_loose_in_a_data_folder_are_not_taken_for_fashion_mnist(
    only: Path, mnist_test_files: tuple[Path, Path]
) -> None:
    for path in mnist_test_files:
        shutil.copy(path, only / path.name)  # same names as Fashion-MNIST's files
    assert len(data.load_dataset("mnist", "test", download=False)) == 10_000
    fashion = data.find_split(data.dataset_spec("fashion-mnist"), "test")
    assert fashion is None or only not in fashion[0].parents  # Debian's real copy may be found instead


def test_a_copied_mnist_folder_is_found_where_it_was_pointed(only: Path, mnist_test_files: tuple[Path, Path]) -> None:
    stick = only / "MNIST"
    (stick / "raw").mkdir(parents=True)
    for path in mnist_test_files:
        shutil.copy(path, stick / "raw" / path.name)
    os.environ["GANNOTES_DATA"] = str(stick)  # as the README says: point at the copied MNIST/ folder
    assert len(data.load_dataset("mnist", "test", download=False)) == 10_000


def test_relative_data_folder_works_from_any_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mnist_test_files: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("GANNOTES_DATA", os.path.relpath(mnist_test_files[0].parent, ROOT))
    monkeypatch.chdir(tmp_path)  # a notebook's kernel runs in notebooks/, not the repository root
    found = data.find_split(MNIST, "test")
    assert found is not None and found[0].resolve() == mnist_test_files[0].resolve()


def test_missing_train_split_names_the_test_split_switch(only: Path) -> None:
    with pytest.raises(data.DatasetNotFoundError, match="GANNOTES_TRAIN_SPLIT=test"):
        data.load_dataset("mnist", "train", download=False)
