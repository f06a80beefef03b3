"""Beyond digits: the 32x32 and 64x64 DCGANs, the image-folder loader and the command line on a folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gannotes import data, models
from gannotes.__main__ import main
from gannotes.data import CorruptDatasetError, DatasetNotFoundError
from gannotes.train import TrainConfig, build_models

TINY = ["--batch-size", "8", "--g-width", "8", "--d-width", "8", "--device", "cpu"]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [32, 64])
def test_dcgans_make_and_judge_32_and_64_pixel_images(size: int, channels: int) -> None:
    shape = (channels, size, size)
    g = models.DCGANGenerator(z_dim=16, width=8, image_shape=shape)
    images = g(torch.randn(3, 16))
    assert images.shape == (3, *shape) and images.min() >= -1 and images.max() <= 1
    for depth in (2, 3):
        assert models.DCGANDiscriminator(8, depth=depth, image_shape=shape)(images).shape == (3,)
    labels = torch.tensor([0, 1, 2])
    cgan_g = models.DCGANGenerator(16, 8, num_classes=10, image_shape=shape)
    assert cgan_g(torch.randn(3, 16), labels).shape == (3, *shape)
    assert models.DCGANDiscriminator(8, num_classes=10, image_shape=shape)(images, labels).shape == (3,)
    logits, class_logits = models.ACGANDiscriminator(8, num_classes=10, image_shape=shape)(images)
    assert logits.shape == (3,) and class_logits.shape == (3, 10)


@pytest.mark.parametrize(("size", "maps"), [(32, [4, 8, 16, 32]), (64, [4, 8, 16, 32, 64])])
def test_the_papers_architecture_doubles_from_4x4_and_halves_back(size: int, maps: list[int]) -> None:
    g = models.DCGANGenerator(z_dim=100, width=64, image_shape=(3, size, size))
    x, sides = torch.randn(2, 100)[:, :, None, None], []
    for layer in [g.project, *g.blocks, g.to_image]:
        x = layer(x)
        sides.append(x.shape[-1])
    assert sides == maps  # z -> 4x4 -> ... -> the image, each layer doubling the size
    assert g.project[0].out_channels == 64 * 2 ** (len(maps) - 2)  # 256 channels at 4x4 for 32, 512 for 64
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in g.to_image)  # no batch norm on the output
    d = models.DCGANDiscriminator(64, image_shape=(3, size, size))
    first = d.features[0]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in first)  # nor on D's input layer
    assert d.trunk(torch.randn(2, 3, size, size)).shape == (2, 64 * 2 ** (len(maps) - 2) * 4 * 4)
    if size == 64:  # the DCGAN paper's 64x64 networks (pytorch/examples' ngf = ndf = 64, nz = 100): same parameters
        assert models.count_parameters(g) == 3_576_704 + 3  # + the output layer's bias, which we keep
        assert models.count_parameters(d) == 2_765_568 + 64 + 1  # + biases of the input and last layers


def test_unsupported_image_shapes_are_explained() -> None:
    for shape in [(3, 48, 48), (3, 32, 64), (32, 32)]:
        with pytest.raises(ValueError, match=r"square images of shape \(C, 28, 28\), \(C, 32, 32\), \(C, 64, 64\)"):
            models.DCGANGenerator(image_shape=shape)
        with pytest.raises(ValueError, match="square images of shape"):
            models.DCGANDiscriminator(image_shape=shape)
    with pytest.raises(ValueError, match=r"expects input of shape \(B, 3, 32, 32\), got \(2, 1, 32, 32\)"):
        models.DCGANDiscriminator(image_shape=(3, 32, 32))(torch.randn(2, 1, 32, 32))


def test_build_models_follows_the_data_shape() -> None:
    for model in ("dcgan", "cgan", "acgan", "wgan-gp"):
        config = TrainConfig.for_model(model, g_width=8, d_width=8)
        G, D = build_models(config, (3, 64, 64))
        z = torch.randn(2, config.z_dim)
        labels = torch.tensor([1, 2]) if config.conditional else None
        fake = G(z, labels) if config.conditional else G(z)
        assert fake.shape == (2, 3, 64, 64)
        out = D(fake, labels) if model == "cgan" else D(fake)
        assert (out[0] if isinstance(out, tuple) else out).shape == (2,)


def _write(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8), mode).save(path)
    return path


def _folder(tmp_path: Path) -> Path:
    """Two class folders (one nested deeper) and one image at the top: RGB, RGBA, grayscale, odd sizes."""
    root = tmp_path / "pictures"
    rng = np.random.default_rng(0)
    _write(root / "cats" / "a.png", rng.integers(0, 256, (30, 47, 3)))  # landscape RGB
    _write(root / "cats" / "deeper" / "b.PNG", rng.integers(0, 256, (51, 17, 4)))  # portrait RGBA, upper-case suffix
    _write(root / "dogs" / "c.jpg", rng.integers(0, 256, (16, 16, 3)))
    _write(root / "dogs" / "d.bmp", rng.integers(0, 256, (23, 41)))  # grayscale
    _write(root / "top.png", rng.integers(0, 256, (40, 40, 3)))
    (root / "dogs" / "notes.txt").write_text("not an image, and not read")
    return root


def test_a_folder_becomes_labelled_square_images(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    folder = data.image_folder(root, image_size=16)
    assert folder.images.shape == (5, 3, 16, 16) and folder.images.dtype == torch.float32
    assert folder.images.min() >= -1 and folder.images.max() <= 1
    assert folder.classes == ("cats", "dogs", "pictures")  # subfolders are classes, the top-level image its own
    assert sorted(torch.bincount(folder.labels).tolist()) == [1, 2, 2]
    assert "all 5 images (3 classes), resized and centre-cropped to 16x16 RGB" in folder.description
    gray = data.image_folder(root, image_size=8, channels=1)
    assert gray.images.shape == (5, 1, 8, 8)
    some = data.image_folder(root, image_size=8, limit=2)
    assert len(some) == 2 and "2 of its 5 images" in some.description
    assert torch.equal(data.image_folder(root, 16).images, folder.images)  # the same order every time (seed)


def test_grayscale_folders_stay_grayscale_and_the_centre_is_kept(tmp_path: Path) -> None:
    wide = np.zeros((16, 48))
    wide[:, 16:32] = 255  # a white square in the middle of a black band: the centre crop keeps exactly it
    _write(tmp_path / "wide.png", wide)
    _write(tmp_path / "tall.png", wide.T)  # the same, upright
    folder = data.image_folder(tmp_path, image_size=16)
    assert folder.images.shape == (2, 1, 16, 16)  # every image is grayscale: one channel
    assert torch.equal(folder.images, torch.ones(2, 1, 16, 16))
    assert data.image_folder(tmp_path, image_size=16, channels=3).images.shape == (2, 3, 16, 16)
    # Twice as large: halved first (the shorter side becomes 16), then cropped. Only the filter's edge sees black.
    big = np.zeros((32, 96))
    big[:, 32:64] = 255
    _write(tmp_path / "big" / "wide.png", big)
    halved = data.image_folder(tmp_path / "big", image_size=16).images
    assert halved.shape == (1, 1, 16, 16) and halved.min() > 0.8 and halved[..., 2:-2].min() == 1


def test_missing_empty_and_unreadable_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="There is no folder .*nowhere: give the folder"):
        data.image_folder(tmp_path / "nowhere")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetNotFoundError, match=r"empty holds no images: no file in it .* ends in \.jpg"):
        data.image_folder(tmp_path / "empty")
    broken = tmp_path / "broken"
    _write(broken / "good.png", np.zeros((8, 8, 3)))
    (broken / "bad.png").write_bytes(b"these bytes are not a PNG")
    with pytest.raises(CorruptDatasetError, match=r"bad\.png is not a readable image .* Delete or replace it"):
        data.image_folder(broken)
    truncated = tmp_path / "truncated"
    png = _write(truncated / "cut.png", np.random.default_rng(0).integers(0, 256, (64, 64, 3))).read_bytes()
    (truncated / "cut.png").write_bytes(png[: len(png) // 2])
    with pytest.raises(CorruptDatasetError, match=r"cut\.png is not a readable image"):
        data.image_folder(truncated)
    with pytest.raises(ValueError, match="channels must be 1, 3 or None"):
        data.image_folder(broken, channels=2)


def test_image_data_holds_out_a_tenth_of_a_folder(tmp_path: Path) -> None:
    data.write_shapes_folder(tmp_path / "shapes", n=30, size=20)
    course = data.image_data(f"folder:{tmp_path / 'shapes'}", image_size=32)
    assert course.train.images.shape == (27, 3, 32, 32) and course.heldout.images.shape == (3, 3, 32, 32)
    assert course.train.classes == ("discs", "squares")
    assert "the first 27 for training" in course.describe() and "the rest held out" in course.describe()
    gray = data.image_data(f"folder:{tmp_path / 'shapes'}", image_size=32, channels=1, limit=10)
    assert gray.train.images.shape == (9, 1, 32, 32) and len(gray.heldout) == 1
    _write(tmp_path / "one" / "only.png", np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="holds a single image: training and holding out need at least 2"):
        data.image_data(f"folder:{tmp_path / 'one'}")


def test_28_pixel_images_are_padded_and_recovered_exactly(mnist_test: data.ImageDataset) -> None:
    digits = mnist_test.images[:50]
    assert torch.equal(data.from_28(digits, 28), digits)
    for size in (32, 64):
        bigger = data.from_28(digits, size)
        assert bigger.shape == (50, 1, size, size)
        assert (bigger[..., : size // 16] == -1).all()  # the border is background
        assert torch.equal(data.to_28(bigger), digits)
    with pytest.raises(ValueError, match="can be trained at 28, 32 or 64 pixels, not 48"):
        data.from_28(digits, 48)
    course = data.image_data("mnist", 32, channels=3, limit=100)
    assert course.train.images.shape == (100, 3, 32, 32) and "the first 100 only" in course.train.description


def test_downloaded_datasets_fail_clearly_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: None
) -> None:
    monkeypatch.setenv("GANNOTES_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(data, "repo_data_dir", lambda: tmp_path / "repo-data")
    with pytest.raises(DatasetNotFoundError, match=r"CIFAR10 is not in .*, and downloading it .* failed"):
        data.image_data("cifar10")


def test_cli_trains_on_a_folder_at_32_pixels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = data.write_shapes_folder(tmp_path / "shapes", n=40, size=24)
    out = tmp_path / "run"
    argv = ["train", "--model", "dcgan", "--dataset", f"folder:{folder}", "--image-size", "32", "--steps", "3"]
    assert main([*argv, "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "No evaluator for folder:" in printed and "resized and centre-cropped to 32x32 RGB" in printed
    report = json.loads((out / "metrics.json").read_text())
    assert report["steps"] == 3 and report["image_size"] == 32 and "generated" not in report
    assert main(["train", "--out", str(out), "--resume", "--steps", "4", "--dataset", f"folder:{folder}"]) == 0
    png = tmp_path / "samples.png"
    assert main(["sample", "--checkpoint", str(out / "checkpoint.pt"), "--n", "4", "--out", str(png)]) == 0
    assert Image.open(png).mode == "RGB"


def test_cli_datasets_and_sizes_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--model", "dcgan", "--dataset", "imagenet"])
    assert "unknown dataset 'imagenet': choose mnist, fashion-mnist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--model", "dcgan", "--image-size", "48"])
    assert "--image-size: invalid choice: 48" in capsys.readouterr().err
    missing = ["train", "--model", "dcgan", "--dataset", f"folder:{tmp_path / 'nowhere'}", "--out", str(tmp_path)]
    assert main(missing) == 1
    assert "There is no folder" in capsys.readouterr().err


def test_cli_evaluates_32_pixel_digits_at_the_evaluators_28(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["train", "--model", "dcgan", "--image-size", "32", "--steps", "2", "--eval-samples", "50"]
    assert main([*argv, "--out", str(out), *TINY]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["image_size"] == 32 and "at 32 pixels" in report["data"]
    assert report["generated"]["n"] == 50 and report["generated"]["frechet_distance"] > 0
    assert report["baselines"]["real"]["classes_covered"] == 10
