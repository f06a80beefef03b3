"""MNIST and Fashion-MNIST as tensors, and a batch source that keeps them on the training device.

Images come back as float32 tensors of shape ``(N, 1, 28, 28)`` scaled to ``[-1, 1]`` (the range of
a ``tanh`` generator) with int64 labels of shape ``(N,)``.

Where files are looked for, in order (the first folder holding both files of a split wins):

1. an explicit ``root`` argument;
2. the ``GANNOTES_DATA`` environment variable;
3. the repository's ``data/`` folder;
4. for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``).

In each folder the standard IDX ``.gz`` names are accepted in ``mnist/`` (or ``fashion-mnist/``),
in torchvision's ``MNIST/raw`` (or ``FashionMNIST/raw``) layout, or directly in the folder.
If nothing is found the files are downloaded with torchvision into the first writable folder; if
that fails (no network) one error names the files, their md5 and every folder searched.

Every file is verified before use: the md5 of the published ``.gz`` or of its decompressed
contents (which survives re-compression), plus the IDX header's magic number, item count and
image size. A truncated or corrupt file is an error, never garbage images.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .settings import repo_data_dir, smoke_mode

IMAGE_SHAPE = (1, 28, 28)
_IDX_MAGIC = {"images": 2051, "labels": 2049}


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not on disk and could not be downloaded."""


class CorruptDatasetError(ValueError):
    """A dataset file is on disk but is truncated, corrupt or not the published file."""


@dataclass(frozen=True)
class IdxFile:
    """One published IDX file: its name, item count and checksums."""

    name: str
    count: int
    gz_md5: str  # md5 of the published .gz (what torchvision checks)
    raw_md5: str | None = None  # md5 of the decompressed bytes; None where we could not measure it


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, verify and describe one dataset."""

    name: str
    title: str
    folders: tuple[str, ...]  # sub-folders searched inside every data folder
    system_dirs: tuple[str, ...]  # folders that system packages install into
    splits: dict[str, tuple[IdxFile, IdxFile]]  # split -> (images, labels)
    classes: tuple[str, ...]
    torchvision_class: str


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        folders=("mnist", "MNIST/raw"),
        system_dirs=(),
        splits={
            "train": (
                IdxFile("train-images-idx3-ubyte.gz", 60000, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                IdxFile("train-labels-idx1-ubyte.gz", 60000, "d53e105ee54ea40749a09fcbcd1e9432"),
            ),
            "test": (
                IdxFile(
                    "t10k-images-idx3-ubyte.gz",
                    10000,
                    "9fb629c4189551a2d022fa330f9573f3",
                    "2646ac647ad5339dbf082846283269ea",
                ),
                IdxFile(
                    "t10k-labels-idx1-ubyte.gz",
                    10000,
                    "ec29112dd5afa0611ce80d1b7f02629c",
                    "27ae3e4e09519cfbb04c329615203637",
                ),
            ),
        },
        classes=tuple(str(d) for d in range(10)),
        torchvision_class="MNIST",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        folders=("fashion-mnist", "FashionMNIST/raw"),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        splits={
            "train": (
                IdxFile(
                    "train-images-idx3-ubyte.gz",
                    60000,
                    "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                    "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                ),
                IdxFile(
                    "train-labels-idx1-ubyte.gz",
                    60000,
                    "25c81989df183df01b3e8a0aad5dffbe",
                    "9018921c3c673c538a1fc5bad174d6f9",
                ),
            ),
            "test": (
                IdxFile(
                    "t10k-images-idx3-ubyte.gz",
                    10000,
                    "bef4ecab320f06d8554ea6380940ec79",
                    "8181f5470baa50b63fa0f6fddb340f0a",
                ),
                IdxFile(
                    "t10k-labels-idx1-ubyte.gz",
                    10000,
                    "bb300cfdad3c16e7a12a480ee83cd310",
                    "15d484375f8d13e6eb1aabb0c3f46965",
                ),
            ),
        },
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        torchvision_class="FashionMNIST",
    ),
}


@dataclass(frozen=True)
class ImageDataset:
    """Images in ``[-1, 1]`` with their labels, and a line saying exactly which images they are.

    - ``images``: float32, ``(N, 1, 28, 28)``, values in ``[-1, 1]``
    - ``labels``: int64, ``(N,)``, values in ``0 .. len(classes) - 1``
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    description: str

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to(self, device: torch.device | str) -> ImageDataset:
        return ImageDataset(self.images.to(device), self.labels.to(device), self.classes, self.description)


# --------------------------------------------------------------------------------------------
# Finding files


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a dataset by name; an unknown name is an error listing the known ones."""
    key = name.lower().replace("_", "-")
    if key == "fashionmnist":
        key = "fashion-mnist"
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)}.")
    return DATASETS[key]


def data_dirs(root: str | Path | None = None) -> list[Path]:
    """The data folders searched, in order: ``root``, ``GANNOTES_DATA``, the repo's ``data/``."""
    dirs = []
    if root is not None:
        dirs.append(Path(root).expanduser())
    if os.environ.get("GANNOTES_DATA"):
        dirs.append(Path(os.environ["GANNOTES_DATA"]).expanduser())
    dirs.append(repo_data_dir())
    return dirs


def candidate_folders(spec: DatasetSpec, root: str | Path | None = None) -> list[Path]:
    """Every folder that may hold ``spec``'s files, in search order."""
    folders: list[Path] = []
    for base in data_dirs(root):
        folders += [base / sub for sub in spec.folders] + [base]
    folders += [Path(d) for d in spec.system_dirs]
    return list(dict.fromkeys(folders))  # drop repeats, keep order


def find_split(spec: DatasetSpec, split: str, root: str | Path | None = None) -> tuple[Path, Path] | None:
    """Paths of the (images, labels) files of ``split``, or None when no folder holds both."""
    images, labels = _split_files(spec, split)
    for folder in candidate_folders(spec, root):
        paths = [_existing(folder, f.name) for f in (images, labels)]
        if paths[0] is not None and paths[1] is not None:
            return paths[0], paths[1]
    return None


def _existing(folder: Path, gz_name: str) -> Path | None:
    """``folder/name.gz``, or the decompressed ``folder/name`` that torchvision leaves beside it."""
    for path in (folder / gz_name, folder / gz_name.removesuffix(".gz")):
        if path.is_file():
            return path
    return None


def _split_files(spec: DatasetSpec, split: str) -> tuple[IdxFile, IdxFile]:
    if split not in spec.splits:
        raise ValueError(f"Unknown split {split!r} for {spec.title}: use one of {', '.join(spec.splits)}.")
    return spec.splits[split]


# --------------------------------------------------------------------------------------------
# Reading and verifying IDX files


def read_idx(path: str | Path, expected: IdxFile, kind: str) -> np.ndarray:
    """Read and verify one IDX file (``.gz`` or decompressed). ``kind`` is ``images`` or ``labels``.

    Returns uint8 ``(count, 28, 28)`` for images, ``(count,)`` for labels.
    Raises :class:`CorruptDatasetError` naming the file and what is wrong with it.
    """
    path = Path(path)
    stat = path.stat()
    return _read_idx_cached(str(path), stat.st_size, stat.st_mtime_ns, expected, kind).copy()


@lru_cache(maxsize=8)
def _read_idx_cached(path_str: str, _size: int, _mtime: int, expected: IdxFile, kind: str) -> np.ndarray:
    path = Path(path_str)
    blob = path.read_bytes()
    fix = f"Delete {path} and download it again, or replace it with the published file."
    if path.suffix == ".gz":
        gz_ok = hashlib.md5(blob).hexdigest() == expected.gz_md5
        try:
            raw = gzip.decompress(blob)
        except (OSError, EOFError, zlib.error) as err:
            raise CorruptDatasetError(f"{path} is truncated or not a valid gzip file ({err}). {fix}") from None
    else:
        gz_ok, raw = False, blob
    _check_header(raw, expected, kind, path, fix)
    if not gz_ok and expected.raw_md5 is not None and hashlib.md5(raw).hexdigest() != expected.raw_md5:
        raise CorruptDatasetError(
            f"{path} has the right header but its contents differ from the published {expected.name} "
            f"(md5 of the .gz should be {expected.gz_md5}). {fix}"
        )
    offset = 16 if kind == "images" else 8
    array = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    return array.reshape(expected.count, 28, 28) if kind == "images" else array


def _check_header(raw: bytes, expected: IdxFile, kind: str, path: Path, fix: str) -> None:
    header_len = 16 if kind == "images" else 8
    if len(raw) < header_len:
        raise CorruptDatasetError(f"{path} is too short to be an IDX file ({len(raw)} bytes). {fix}")
    magic, count = int.from_bytes(raw[0:4], "big"), int.from_bytes(raw[4:8], "big")
    if magic != _IDX_MAGIC[kind]:
        raise CorruptDatasetError(
            f"{path} is not an IDX {kind} file (magic number {magic}, expected {_IDX_MAGIC[kind]}). {fix}"
        )
    if count != expected.count:
        raise CorruptDatasetError(f"{path} holds {count} {kind}, expected {expected.count}. {fix}")
    if kind == "images":
        rows, cols = int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
        if (rows, cols) != (28, 28):
            raise CorruptDatasetError(f"{path} holds {rows}x{cols} images, expected 28x28. {fix}")
    expected_len = header_len + expected.count * (784 if kind == "images" else 1)
    if len(raw) != expected_len:
        raise CorruptDatasetError(
            f"{path} is {len(raw)} bytes once decompressed, expected {expected_len}: it is truncated. {fix}"
        )


# --------------------------------------------------------------------------------------------
# Downloading


def download_dataset(name: str, folder: str | Path | None = None) -> Path:
    """Download ``name`` (both splits) with torchvision into ``folder`` (default: the repo's ``data/``).

    Returns the folder the ``.gz`` files are in. An instructor can run this once on a good
    connection and copy the folder to every laptop (see ``data/README.md``).
    """
    import torchvision.datasets  # imported here so that `import gannotes` stays light

    spec = dataset_spec(name)
    target = Path(folder).expanduser() if folder is not None else _download_target()
    target.mkdir(parents=True, exist_ok=True)
    dataset_class = getattr(torchvision.datasets, spec.torchvision_class)
    dataset_class(root=str(target), train=True, download=True)
    dataset_class(root=str(target), train=False, download=True)
    return target / spec.torchvision_class / "raw"


def _download_target() -> Path:
    for folder in data_dirs()[::-1]:  # the repo's data/ first, then GANNOTES_DATA
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return repo_data_dir()


def _not_found(spec: DatasetSpec, split: str, root: str | Path | None, reason: str) -> DatasetNotFoundError:
    files = "\n".join(f"  {f.name}  (md5 {f.gz_md5})" for f in _split_files(spec, split))
    folders = "\n".join(f"  {f}" for f in candidate_folders(spec, root))
    return DatasetNotFoundError(
        f"{spec.title} ({split} split) is not on this machine, and downloading it failed: {reason}\n"
        f"Files needed:\n{files}\nFolders searched:\n{folders}\n"
        f"Fix: copy the files into data/{spec.folders[0]}/ (an instructor can fetch them once with "
        f"`python -m gannotes download {spec.name}` on a machine with internet), "
        "or set GANNOTES_DATA to the folder that holds them."
    )


# --------------------------------------------------------------------------------------------
# Public loaders


def load_dataset(
    name: str = "mnist",
    split: str = "train",
    subset: int | slice | range | Sequence[int] | None = None,
    root: str | Path | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load one split of MNIST or Fashion-MNIST as tensors in ``[-1, 1]``.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images). Never silently swapped.
        subset: which images of the split: ``None`` (all), ``n`` (the first n), a ``slice``/``range``,
            or a list of indices.
        root: a folder searched before all others.
        download: download with torchvision when the files are not found.

    Returns:
        An :class:`ImageDataset`; its ``description`` says which images these are.
    """
    spec = dataset_spec(name)
    _split_files(spec, split)  # validates the split name
    paths = find_split(spec, split, root)
    if paths is None:
        if not download:
            raise _not_found(spec, split, root, "download=False was given")
        try:
            download_dataset(spec.name)
        except Exception as err:  # noqa: BLE001 - any failure means "no dataset", said clearly below
            raise _not_found(spec, split, root, f"{type(err).__name__}: {err}") from None
        paths = find_split(spec, split, root)
        if paths is None:
            raise _not_found(spec, split, root, "the download finished but the files are not where expected")
    images_file, labels_file = _split_files(spec, split)
    images = read_idx(paths[0], images_file, "images")
    labels = read_idx(paths[1], labels_file, "labels")
    index, which = _subset_index(subset, len(labels))
    images_t = torch.from_numpy(images[index]).unsqueeze(1).float().div_(127.5).sub_(1.0)
    labels_t = torch.from_numpy(labels[index].astype(np.int64))
    return ImageDataset(images_t, labels_t, spec.classes, f"{spec.title} {split} split, {which}")


def _subset_index(subset: int | slice | range | Sequence[int] | None, n: int) -> tuple[np.ndarray, str]:
    if subset is None:
        return np.arange(n), f"all {n} images"
    if isinstance(subset, int):
        subset = range(min(subset, n))
    if isinstance(subset, slice):
        subset = range(*subset.indices(n))
    if isinstance(subset, range):
        if len(subset) == 0 or subset.start < 0 or subset[-1] >= n:
            raise ValueError(f"subset {subset} is empty or outside 0..{n - 1}")
        step = "" if subset.step == 1 else f" step {subset.step}"
        return np.asarray(subset), f"images {subset.start}..{subset[-1]}{step} ({len(subset)})"
    index = np.asarray(subset, dtype=np.int64)
    if index.size == 0 or index.min() < 0 or index.max() >= n:
        raise ValueError(f"subset indices must lie in 0..{n - 1}")
    return index, f"{index.size} chosen images"


@dataclass(frozen=True)
class CourseData:
    """The images the course trains on and the images held out for evaluation."""

    train: ImageDataset
    heldout: ImageDataset

    def describe(self) -> str:
        return f"Training on: {self.train.description}\nHeld out for evaluation: {self.heldout.description}"


def course_data(name: str = "mnist", root: str | Path | None = None) -> CourseData:
    """The course's split of ``name`` into training and held-out images.

    - Learner mode: train on the whole train split, hold out the whole test split.
    - Smoke mode (``GANNOTES_SMOKE=1``), or ``GANNOTES_TRAIN_SPLIT=test`` on machines that only have
      the test split: train on test images 0..7999 and hold out 8000..9999. The returned
      descriptions say so; print them (``.describe()``).
    """
    split = os.environ.get("GANNOTES_TRAIN_SPLIT", "train").strip().lower()
    if split not in {"train", "test"}:
        raise ValueError(f"GANNOTES_TRAIN_SPLIT must be 'train' or 'test', not {split!r}.")
    if smoke_mode() or split == "test":
        return CourseData(
            load_dataset(name, "test", range(0, 8000), root),
            load_dataset(name, "test", range(8000, 10000), root),
        )
    return CourseData(load_dataset(name, "train", None, root), load_dataset(name, "test", None, root))


# --------------------------------------------------------------------------------------------
# Batches


class BatchSource:
    """Endless shuffled minibatches from tensors kept whole on the training device.

    MNIST is 47 MB as float32: it fits on any device, so there is no DataLoader, no worker process
    and no per-image Python on the hot path; a batch is one ``index_select``. Each epoch uses a fresh
    permutation drawn from the source's own generator, so the order is reproducible and resumable
    (:meth:`state_dict`). Every batch has exactly ``batch_size`` rows (an epoch's remainder is dropped).

    Example::

        batches = BatchSource(data.images, data.labels, batch_size=64, device=device)
        images, labels = next(batches)
    """

    def __init__(
        self, *tensors: torch.Tensor, batch_size: int, device: torch.device | str = "cpu", seed: int = 0
    ) -> None:
        if not tensors:
            raise ValueError("BatchSource needs at least one tensor.")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(f"All tensors need the same first dimension, got {[t.shape[0] for t in tensors]}.")
        if not 0 < batch_size <= n:
            raise ValueError(f"batch_size must be between 1 and the dataset size ({n}), got {batch_size}.")
        self.tensors = tuple(t.to(device) for t in tensors)
        self.batch_size = batch_size
        self.device = torch.device(device)
        self._generator = torch.Generator().manual_seed(seed)
        self._order = self._new_order()
        self._position = 0

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.tensors[0].shape[0] // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        return self

    def __next__(self) -> tuple[torch.Tensor, ...]:
        if self._position + self.batch_size > self._order.numel():
            self._order, self._position = self._new_order(), 0
        index = self._order[self._position : self._position + self.batch_size]
        self._position += self.batch_size
        return tuple(t.index_select(0, index) for t in self.tensors)

    def _new_order(self) -> torch.Tensor:
        # Drawn on the CPU so the order is the same on every device; one small copy per epoch.
        return torch.randperm(self.tensors[0].shape[0], generator=self._generator).to(self.device)

    def state_dict(self) -> dict[str, torch.Tensor | int]:
        return {"generator": self._generator.get_state(), "order": self._order.cpu(), "position": self._position}

    def load_state_dict(self, state: dict) -> None:
        self._generator.set_state(state["generator"])
        self._order = state["order"].to(self.device)
        self._position = int(state["position"])
