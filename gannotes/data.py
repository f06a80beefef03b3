"""MNIST and Fashion-MNIST as tensors, and the batch source that keeps them on the training device.

Files are looked for in ``root``, ``GANNOTES_DATA``, the repo's ``data/`` and system folders (``data/README.md``),
checked against the md5 of their published contents, and downloaded with torchvision when missing; offline, one
error names the files, their md5 and every folder searched.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .settings import repo_data_dir, smoke_mode, writable

IMAGE_SHAPE = (1, 28, 28)


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not on disk and could not be downloaded."""


class CorruptDatasetError(ValueError):
    """A dataset file is on disk but is truncated, corrupt or not the published file."""


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, verify and describe one dataset."""

    name: str
    title: str
    torchvision_class: str
    classes: tuple[str, ...]
    md5: dict[str, tuple[str, str]]  # file name -> md5 of the published .gz, md5 of its decompressed contents
    system_dirs: tuple[str, ...] = ()  # folders that system packages install into


DATASETS = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        torchvision_class="MNIST",
        classes=tuple("0123456789"),
        md5={
            "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
            "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"),
            "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
            "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
        },
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        torchvision_class="FashionMNIST",
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
        md5={
            "train-images-idx3-ubyte.gz": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
            "train-labels-idx1-ubyte.gz": ("25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"),
            "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
            "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),  # apt-get install dataset-fashion-mnist
    ),
}


@dataclass(frozen=True)
class ImageDataset:
    """float32 ``images (N, C, H, W)`` in ``[-1, 1]`` (MNIST's: ``(N, 1, 28, 28)``), int64 ``labels (N,)``, and which
    images they are."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    description: str

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a dataset by name; an unknown name is an error listing the known ones."""
    key = name.lower().replace("_", "-").replace("fashionmnist", "fashion-mnist")
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)}.")
    return DATASETS[key]


def split_files(split: str) -> tuple[str, str]:
    """The names of the (images, labels) files of ``"train"`` or ``"test"``."""
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}: use one of train, test.")
    prefix = "t10k" if split == "test" else "train"
    return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"


def data_dirs(root: str | Path | None = None) -> list[Path]:
    """The data folders searched, in order: ``root``, ``GANNOTES_DATA``, the repo's ``data/``. A relative
    ``GANNOTES_DATA`` is taken from the repository's root, wherever the process runs (a notebook's kernel runs in
    its own folder)."""
    folders = [Path(root).expanduser()] if root else []
    env = os.environ.get("GANNOTES_DATA")
    if env:
        folders.append(repo_data_dir().parent / Path(env).expanduser())  # an absolute path stays as it is
    return folders + [repo_data_dir()]


def candidate_folders(spec: DatasetSpec, root: str | Path | None = None) -> list[Path]:
    """Every folder that may hold ``spec``'s files, in search order: in each data folder, ``<name>/``,
    torchvision's ``<Class>/raw/``, the folder itself and its ``raw/`` (a copied ``MNIST/`` folder); then the
    system folders."""
    subfolders = (spec.name, f"{spec.torchvision_class}/raw", ".", "raw")
    folders = [base / sub for base in data_dirs(root) for sub in subfolders]
    return list(dict.fromkeys(folders + [Path(d) for d in spec.system_dirs]))  # drop repeats, keep order


def find_split(spec: DatasetSpec, split: str, root: str | Path | None = None) -> tuple[Path, Path] | None:
    """Paths of the (images, labels) files of ``split`` in the first folder that holds both, or None. Each may be
    the ``.gz`` or the decompressed copy that torchvision leaves beside it. MNIST and Fashion-MNIST use the same
    file names: a folder whose labels file is the other dataset's (by md5) is passed over."""
    images, labels = split_files(split)
    others = {other.md5[labels][1] for other in DATASETS.values() if other is not spec}
    for folder in dict.fromkeys(f.resolve() for f in candidate_folders(spec, root)):
        paths = [folder / name if (folder / name).is_file() else folder / name[:-3] for name in (images, labels)]
        if all(p.is_file() for p in paths) and _contents_md5(paths[1]) not in others:
            return paths[0], paths[1]
    return None


def _contents_md5(path: Path) -> str:
    """The md5 of a (small) file's decompressed contents; "" when it does not decompress."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error):
        return ""
    return hashlib.md5(raw).hexdigest()


@lru_cache(maxsize=4)  # the modification time is in the key so that a replaced file is read again
def _read_idx(path: Path, _mtime_ns: int, raw_md5: str) -> np.ndarray:
    """The bytes of ``path`` (``.gz`` or decompressed) after its IDX header, once their md5 is checked."""
    raw = path.read_bytes()
    fix = f"Delete {path} and download it again, or replace it with the published file."
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise CorruptDatasetError(f"{path} is truncated or not a valid gzip file ({err}). {fix}") from None
    digest = hashlib.md5(raw).hexdigest()
    if digest != raw_md5:
        raise CorruptDatasetError(
            f"{path} is truncated, altered or not the published file: once decompressed it is {len(raw)} bytes "
            f"with md5 {digest}, expected md5 {raw_md5}. {fix}"
        )
    # The header is big-endian int32s: a magic number, then each dimension (N for labels, N, 28, 28 for images).
    return np.frombuffer(raw, dtype=np.uint8, offset=4 * (1 + raw[3]))


def download_dataset(name: str, folder: str | Path | None = None) -> Path:
    """Download both splits of ``name`` with torchvision into ``folder`` (default: the repo's ``data/``, else
    ``GANNOTES_DATA``, whichever is writable); returns the folder the ``.gz`` files are in. An instructor can run
    this once on a good connection and copy the folder to every laptop (``data/README.md``)."""
    import torchvision.datasets  # here, so that `import gannotes` stays light

    spec = dataset_spec(name)
    if folder is None:
        folder = next((d for d in data_dirs()[::-1] if writable(d)), repo_data_dir())
    target = Path(folder).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    for train in (True, False):
        getattr(torchvision.datasets, spec.torchvision_class)(root=str(target), train=train, download=True)
    return target / spec.torchvision_class / "raw"


def load_dataset(
    name: str = "mnist",
    split: str = "train",
    subset: int | range | None = None,
    root: str | Path | None = None,
    download: bool = True,
) -> ImageDataset:
    """One split (``"train"``: 60,000 images, ``"test"``: 10,000) of ``"mnist"`` or ``"fashion-mnist"``.

    ``subset``: ``None`` (all), ``n`` (the first n) or a ``range`` of consecutive images. ``root``: a folder searched
    before all others. ``download``: download with torchvision when the files are not found. The returned
    dataset's ``description`` says which images these are.
    """
    spec = dataset_spec(name)
    files = split_files(split)
    paths = find_split(spec, split, root)
    reason = "download=False was given"
    if paths is None and download:
        try:
            download_dataset(spec.name)
            reason = "the download finished but the files are not where expected"
        except Exception as err:  # noqa: BLE001 - any failure means "no dataset", said clearly below
            reason = f"{type(err).__name__}: {err}"
        paths = find_split(spec, split, root)
    if paths is None:
        needed = "".join(f"\n  {name}  (md5 {spec.md5[name][0]})" for name in files)
        searched = "".join(f"\n  {folder}" for folder in candidate_folders(spec, root))
        raise DatasetNotFoundError(
            f"{spec.title} ({split} split) is not on this machine, and downloading it failed: {reason}\n"
            f"Files needed:{needed}\nFolders searched:{searched}\n"
            f"Fix: copy the files into data/{spec.name}/ (an instructor can fetch them once with "
            f"`python -m gannotes download {spec.name}` on a machine with internet), "
            "or set GANNOTES_DATA to the folder that holds them."
            + (" With only the test split, GANNOTES_TRAIN_SPLIT=test trains on it." if split == "train" else "")
        )
    images, labels = (_read_idx(p, p.stat().st_mtime_ns, spec.md5[f][1]) for p, f in zip(paths, files, strict=True))
    n = len(labels)
    if subset is None or isinstance(subset, int):
        subset = range(n if subset is None else min(subset, n))
    if not (isinstance(subset, range) and subset.step == 1 and 0 <= subset.start < subset.stop <= n):
        raise ValueError(f"subset must be None, a number of images or a non-empty range inside 0..{n}, not {subset}.")
    which = f"all {n} images" if len(subset) == n else f"images {subset.start}..{subset[-1]} ({len(subset)})"
    pixels = images.reshape(n, *IMAGE_SHAPE)[subset.start : subset.stop].astype(np.float32)
    return ImageDataset(
        torch.from_numpy(pixels) / 127.5 - 1,
        torch.from_numpy(labels[subset.start : subset.stop].astype(np.int64)),
        spec.classes,
        f"{spec.title} {split} split, {which}",
    )


#: The files an image folder is read for (those torchvision's ImageFolder reads).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
_GRAYSCALE_MODES = ("1", "L", "LA", "I", "I;16", "F")  # PIL's modes without colour


def image_folder(
    folder: str | Path, image_size: int = 32, channels: int | None = None, limit: int | None = None, seed: int = 0
) -> ImageDataset:
    """The images under ``folder`` as ``(N, C, image_size, image_size)`` in ``[-1, 1]``, in a random order (``seed``).

    torchvision's ImageFolder layout: each subfolder is a class, searched recursively (``folder/cat/a/1.png`` is a
    ``cat``); images directly in ``folder`` make one more class, named after it. Each image is resized so that its
    shorter side is ``image_size``, then centre-cropped to a square. ``channels``: 1 (grayscale), 3 (RGB;
    transparency is dropped) or None: 1 if every image is grayscale, else 3. ``limit``: read only that many images,
    drawn at random, for folders too large to hold in memory.
    """
    from PIL import Image, ImageOps  # here, so that `import gannotes` stays light

    if channels not in (None, 1, 3) or image_size < 1:
        raise ValueError(f"channels must be 1, 3 or None and image_size at least 1, not {channels} and {image_size}.")
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f"There is no folder {root}: give the folder that holds your images.")
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not found:
        kinds = " ".join(IMAGE_EXTENSIONS)
        raise DatasetNotFoundError(f"{root} holds no images: no file in it or in its subfolders ends in {kinds}.")
    order = torch.randperm(len(found), generator=torch.Generator().manual_seed(seed))
    files = [found[i] for i in order[:limit].tolist()]

    def read(path: Path, mode: str | None = None) -> str | Image.Image:
        """The image's mode when ``mode`` is None (only its header is read), else the image in ``mode``, fitted."""
        try:
            with Image.open(path) as image:
                return image.mode if mode is None else ImageOps.fit(image.convert(mode), (image_size, image_size))
        except (OSError, SyntaxError, ValueError) as err:  # how PIL says "not an image I can read"
            raise CorruptDatasetError(f"{path} is not a readable image ({err}). Delete or replace it.") from None

    if channels is None:
        channels = 1 if all(read(path) in _GRAYSCALE_MODES for path in files) else 3
    mode = "L" if channels == 1 else "RGB"
    pixels = np.stack([np.asarray(read(path, mode)).reshape(image_size, image_size, channels) for path in files])
    # A file's class is its first folder under root; files directly in root make a class named after root.
    names = [root.name if path.parent == root else path.relative_to(root).parts[0] for path in files]
    classes = tuple(sorted(set(names)))
    which = f"all {len(found)} images" if len(files) == len(found) else f"{len(files)} of its {len(found)} images"
    return ImageDataset(
        torch.from_numpy(pixels).permute(0, 3, 1, 2).float().contiguous() / 127.5 - 1,
        torch.tensor([classes.index(name) for name in names]),
        classes,
        f"{root}: {which} ({len(classes)} classes), resized and centre-cropped to {image_size}x{image_size} "
        + ("grayscale" if channels == 1 else "RGB"),
    )


def from_28(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """28x28 course images at ``image_size`` 28, 32 or 64 pixels: padded with background (-1) to 32x32, 2 pixels a
    side (as LeNet-5 padded MNIST), then for 64 each pixel doubled. :func:`to_28` undoes it exactly."""
    if image_size not in (28, 32, 64):
        raise ValueError(f"28x28 images can be trained at 28, 32 or 64 pixels, not {image_size}.")
    if image_size == 28:
        return images
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2), value=-1.0)
    return padded.repeat_interleave(image_size // 32, dim=2).repeat_interleave(image_size // 32, dim=3)


def to_28(images: torch.Tensor) -> torch.Tensor:
    """Images ``(N, C, S, S)`` made by :func:`from_28`, or by a generator trained on them, back at 28x28 for the
    evaluator: for 64, the mean of each 2x2 block; then the central 28x28 (a generator's border goes unjudged)."""
    size = images.shape[-1]
    if images.dim() != 4 or size not in (28, 32, 64):
        raise ValueError(f"Expected images (N, C, S, S) of 28, 32 or 64 pixels, got {tuple(images.shape)}.")
    if size == 64:
        images = torch.nn.functional.avg_pool2d(images, 2)
    return images if size == 28 else images[..., 2:30, 2:30]


def _torchvision_dataset(name: str, root: str | Path | None, **options: Any) -> Any:
    """torchvision's dataset ``name`` (``CIFAR10``, ``CelebA``) from a data folder, or downloaded if in none."""
    import torchvision.datasets

    make = getattr(torchvision.datasets, name)
    for folder in data_dirs(root):
        try:
            return make(str(folder), download=False, **options)
        except RuntimeError:  # torchvision's "Dataset not found or corrupted"
            continue
    target = next((d for d in data_dirs(root)[::-1] if writable(d)), repo_data_dir())
    try:
        return make(str(target), download=True, **options)
    except Exception as err:  # noqa: BLE001 - network and archive errors come in many types
        raise DatasetNotFoundError(
            f"{name} is not in {', '.join(map(str, data_dirs(root)))}, and downloading it into {target} failed "
            f"({type(err).__name__}: {err}). The first time it needs internet (and CelebA's host is often over "
            "its daily quota: then download it by hand, see torchvision's CelebA documentation)."
        ) from None


def _with_channels(dataset: ImageDataset, channels: int | None) -> ImageDataset:
    """``dataset`` with 1 channel (colour becomes luminance), 3 (gray is repeated) or its own (None)."""
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None (the dataset's own), not {channels}.")
    images = dataset.images
    if channels == 1 and images.shape[1] == 3:  # ITU-R 601 luminance, as PIL's convert("L")
        images = (images * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    elif channels == 3 and images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    return ImageDataset(images, dataset.labels, dataset.classes, dataset.description)


def image_data(
    source: str = "fashion-mnist",
    image_size: int = 32,
    channels: int | None = None,
    limit: int | None = None,
    root: str | Path | None = None,
) -> CourseData:
    """Training and held-out images of ``source``, ``(N, C, image_size, image_size)`` in ``[-1, 1]``, described.

    - ``"mnist"``, ``"fashion-mnist"``: :func:`course_data`'s split through :func:`from_28` (28, 32 or 64 pixels).
    - ``"folder:PATH"``: :func:`image_folder`; the last tenth of its random order (at least one image) is held out.
    - ``"cifar10"`` (its train and test splits) and ``"celeba"`` (its aligned faces, read as a folder): downloaded
      with torchvision the first time, which needs internet.

    ``channels``: 1 or 3 (None: the dataset's own). ``limit``: at most this many training images (a folder: images
    read, a tenth of them held out).
    """
    name = source.lower()
    if name.startswith("folder:") or name == "celeba":
        if name == "celeba":
            celeba = _torchvision_dataset("CelebA", root, split="all")
            folder = Path(celeba.root) / celeba.base_folder / "img_align_celeba"
        else:
            folder = Path(source[len("folder:") :])
        images = image_folder(folder, image_size, channels, limit)
        if len(images) < 2:
            raise ValueError(f"{folder} holds a single image: training and holding out need at least 2.")
        cut = len(images) - max(1, len(images) // 10)
        train, heldout = (
            ImageDataset(images.images[part], images.labels[part], images.classes, f"{images.description}; {what}")
            for part, what in [(slice(cut), f"the first {cut} for training"), (slice(cut, None), "the rest held out")]
        )
        return CourseData(train, heldout)
    if name == "cifar10":
        splits = []
        for train in (True, False):
            split = _torchvision_dataset("CIFAR10", root, train=train)
            pixels = torch.from_numpy(split.data).permute(0, 3, 1, 2).float() / 127.5 - 1  # from (N, 32, 32, 3) uint8
            if image_size != 32:
                pixels = torch.nn.functional.interpolate(pixels, size=image_size, mode="bilinear", antialias=True)
            text = (
                f"CIFAR-10 {'train' if train else 'test'} split, all {len(pixels)} images at {image_size}x{image_size}"
            )
            splits.append(ImageDataset(pixels, torch.tensor(split.targets), tuple(split.classes), text))
    else:
        course = course_data(name, root)
        splits = [
            ImageDataset(from_28(d.images, image_size), d.labels, d.classes, f"{d.description}, at {image_size} pixels")
            for d in (course.train, course.heldout)
        ]
    train, heldout = splits
    if limit is not None and limit < len(train):
        note = f", the first {limit} only"
        train = ImageDataset(train.images[:limit], train.labels[:limit], train.classes, train.description + note)
    return CourseData(_with_channels(train, channels), _with_channels(heldout, channels))


def write_shapes_folder(folder: str | Path, n: int = 200, size: int = 48, seed: int = 0) -> Path:
    """Write ``n`` PNG images of coloured discs and squares into ``folder/discs`` and ``folder/squares``: an image
    folder to try :func:`image_folder` on when you have none at hand. Sizes vary around ``size``, so that they are
    resized and cropped; returns ``folder``."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    folder = Path(folder)
    for i in range(n):
        kind = ("discs", "squares")[i % 2]
        width, height = (int(size * f) for f in rng.uniform(0.8, 1.3, size=2))
        image = Image.new("RGB", (width, height), tuple(int(c) for c in rng.integers(0, 90, 3)))
        r = min(width, height) * rng.uniform(0.2, 0.35)
        x, y = width / 2 + rng.uniform(-0.1, 0.1) * width, height / 2 + rng.uniform(-0.1, 0.1) * height
        draw = ImageDraw.Draw(image)
        shape = draw.ellipse if kind == "discs" else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(120, 256, 3)))
        (folder / kind).mkdir(parents=True, exist_ok=True)
        image.save(folder / kind / f"{i:04d}.png")
    return folder


@dataclass(frozen=True)
class CourseData:
    """The images the course trains on and the images held out for evaluation."""

    train: ImageDataset
    heldout: ImageDataset

    def describe(self) -> str:
        return f"Training on: {self.train.description}\nHeld out for evaluation: {self.heldout.description}"


def course_data(name: str = "mnist", root: str | Path | None = None) -> CourseData:
    """The course's split of ``name`` into training and held-out images; ``.describe()`` says which.

    Learner mode: the whole train split, holding out the whole test split. Smoke mode (``GANNOTES_SMOKE=1``), or
    ``GANNOTES_TRAIN_SPLIT=test`` on machines with only the test split: test images 0..7999, holding out 8000..9999.
    """
    split = os.environ.get("GANNOTES_TRAIN_SPLIT", "train").strip().lower()
    if split not in ("train", "test"):
        raise ValueError(f"GANNOTES_TRAIN_SPLIT must be 'train' or 'test', not {split!r}.")
    if smoke_mode() or split == "test":
        train, heldout = ("test", range(8000)), ("test", range(8000, 10000))
    else:
        train, heldout = ("train", None), ("test", None)
    return CourseData(load_dataset(name, *train, root), load_dataset(name, *heldout, root))


class BatchSource:
    """Endless shuffled minibatches, drawn with ``next()``, from tensors kept whole on the training device.

    A batch is one ``index_select``: no DataLoader, no worker, no per-image Python (MNIST fits on any device).
    Each epoch is a fresh permutation from the source's own generator, so the order is reproducible and resumable
    (:meth:`state_dict`). Every batch has exactly ``batch_size`` rows (an epoch's remainder is dropped).

    Several processes (``world_size``, this one ``rank``): ``batch_size`` is the global batch. Every process draws
    the same permutation and takes its own rows ``shard`` of each batch, so the order of the data does not depend
    on the number of processes, and a state saved with one number resumes with another.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        device: torch.device | str = "cpu",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        n = tensors[0].shape[0] if tensors else 0
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(f"All tensors need the same first dimension, got {[t.shape[0] for t in tensors]}.")
        if not 0 < batch_size <= n:
            raise ValueError(f"batch_size must be between 1 and the dataset size ({n}), got {batch_size}.")
        if batch_size % world_size:
            raise ValueError(
                f"The batch size ({batch_size}) is the global batch, split equally between the {world_size} "
                f"processes: make it a multiple of {world_size}, or start fewer processes."
            )
        self.tensors = tuple(t.to(device) for t in tensors)
        self.batch_size = batch_size
        local = batch_size // world_size
        self.shard = slice(rank * local, (rank + 1) * local)  # this process's rows of every batch
        self.device = torch.device(device)
        self._generator = torch.Generator().manual_seed(seed)
        self._order = self._new_order()
        self._position = 0

    def __next__(self) -> tuple[torch.Tensor, ...]:
        if self._position + self.batch_size > self._order.numel():
            self._order, self._position = self._new_order(), 0
        index = self._order[self._position : self._position + self.batch_size][self.shard]
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
