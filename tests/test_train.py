"""The training loop: every variant runs, resume is exact, checkpoints are safe, failures are clear."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from gannotes import train
from gannotes.data import ImageDataset, load_dataset
from gannotes.train import LEARNER_SETTINGS, CheckpointError, GANTrainer, TrainConfig, TrainingDiverged


@pytest.fixture(scope="module")
def small_mnist() -> ImageDataset:
    return load_dataset("mnist", "test", subset=512)


def _config(model: str, **overrides) -> TrainConfig:
    small = dict(steps=8, batch_size=16, g_width=8, d_width=8, log_every=4, sample_every=4, device="cpu")
    if model == "gan":
        small.update(g_width=32, d_width=32)
    return TrainConfig.for_model(model, **{**small, **overrides})


@pytest.mark.parametrize("model", train.MODELS)
def test_every_variant_trains_and_records_history(model: str, small_mnist: ImageDataset) -> None:
    trainer = GANTrainer(_config(model), small_mnist.images, small_mnist.labels)
    history = trainer.train(progress=False)
    assert trainer.step == 8 and history["step"] == [4, 8]
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm", "sec_per_step"):
        assert len(history[key]) == 2, key
        assert all(torch.isfinite(torch.tensor(history[key]))), key
    assert ("wasserstein" in history) == model.startswith("wgan")
    steps, images = history["samples"][-1]
    assert steps == 8 and images.shape == (64, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    if model in ("cgan", "acgan"):
        assert trainer.sample(4, labels=torch.tensor([0, 1, 2, 3])).shape == (4, 1, 28, 28)


def _params(trainer: GANTrainer) -> list[torch.Tensor]:
    return [t.detach().clone() for m in (trainer.generator, trainer.discriminator) for t in m.state_dict().values()]


@pytest.mark.parametrize("model", ["dcgan", "cgan", "wgan-gp"])
def test_resuming_reproduces_the_uninterrupted_run(model: str, small_mnist: ImageDataset, tmp_path: Path) -> None:
    # The DCGAN case also covers the learner setting's deeper discriminator.
    dcgan = model == "dcgan"
    config = dict(steps=12, checkpoint_every=6, label_flip=0.1 if dcgan else 0.0, d_depth=3 if dcgan else 2)
    straight = GANTrainer(_config(model, **config), small_mnist.images, small_mnist.labels)
    straight.train(progress=False)

    first = GANTrainer(_config(model, **config), small_mnist.images, small_mnist.labels, out_dir=tmp_path)
    first.train(steps=6, progress=False)  # stop half way; the checkpoint is written at step 6
    del first
    resumed = GANTrainer.from_checkpoint(tmp_path / "checkpoint.pt", small_mnist.images, small_mnist.labels)
    assert resumed.step == 6
    resumed.train(progress=False)

    assert resumed.step == straight.step == 12
    for a, b in zip(_params(straight), _params(resumed), strict=True):
        assert torch.equal(a, b)
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert resumed.history[key] == straight.history[key]
    assert torch.equal(resumed.history["samples"][-1][1], straight.history["samples"][-1][1])


def test_interrupt_saves_and_returns(small_mnist: ImageDataset, tmp_path: Path, monkeypatch, capsys) -> None:
    trainer = GANTrainer(_config("dcgan", steps=20), small_mnist.images, out_dir=tmp_path)
    original = trainer.train_step

    def interrupted(record: bool = False):
        if trainer.step == 5:
            raise KeyboardInterrupt
        return original(record)

    monkeypatch.setattr(trainer, "train_step", interrupted)
    history = trainer.train(progress=False)
    assert trainer.step == 5 and history["step"] == [4]
    assert "Interrupted at step 5; saved" in capsys.readouterr().out
    assert train.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 5


def test_checkpoint_write_is_atomic(small_mnist: ImageDataset, tmp_path: Path, monkeypatch) -> None:
    trainer = GANTrainer(_config("dcgan", steps=4), small_mnist.images)
    trainer.train(progress=False)
    path = trainer.save(tmp_path / "checkpoint.pt")
    good = path.read_bytes()

    def crash_mid_write(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        trainer.save(path)
    assert path.read_bytes() == good  # the previous checkpoint survives intact
    assert train.load_checkpoint(path)["step"] == 4


def test_bad_checkpoints_are_clear_errors(small_mnist: ImageDataset, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        train.load_checkpoint(tmp_path / "missing.pt")
    trainer = GANTrainer(_config("dcgan", steps=2), small_mnist.images)
    path = trainer.save(tmp_path / "checkpoint.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint.*truncated"):
        train.load_checkpoint(truncated)
    other = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not a gannotes training checkpoint"):
        train.load_checkpoint(other)
    with pytest.raises(CheckpointError, match="does not match these models"):
        GANTrainer.from_checkpoint(path, small_mnist.images, generator=nn.Linear(2, 2), discriminator=nn.Linear(2, 1))


def test_nan_loss_stops_with_a_clear_message(small_mnist: ImageDataset) -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1).sum(1) * self.w * float("nan")

    g = train.build_models(_config("dcgan"))[0]
    trainer = GANTrainer(_config("dcgan"), small_mnist.images, generator=g, discriminator=Broken())
    with pytest.raises(TrainingDiverged, match="became nan by step 4: training diverged. Try lower learning rates"):
        trainer.train(progress=False)


def test_discriminator_step_leaves_generator_alone_and_generator_step_leaves_d_alone(
    small_mnist: ImageDataset,
) -> None:
    trainer = GANTrainer(_config("dcgan"), small_mnist.images)
    g_before = [p.detach().clone() for p in trainer.generator.parameters()]
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    real = small_mnist.images[:16]
    fake = trainer.generator(torch.randn(16, trainer.config.z_dim))
    trainer.discriminator_step(real, None, fake.detach(), None)
    assert all(p.grad is None for p in trainer.generator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(g_before, trainer.generator.parameters(), strict=True))
    d_after = [p.detach().clone() for p in trainer.discriminator.parameters()]
    assert not all(torch.equal(a, b) for a, b in zip(d_before, d_after, strict=True))
    trainer.discriminator.zero_grad(set_to_none=True)
    trainer.generator_step(fake, None)
    assert all(p.grad is None for p in trainer.discriminator.parameters())  # D was frozen
    assert all(torch.equal(a, b) for a, b in zip(d_after, trainer.discriminator.parameters(), strict=True))
    assert all(p.requires_grad for p in trainer.discriminator.parameters())  # and unfrozen after


def test_weight_clipping_keeps_critic_in_range(small_mnist: ImageDataset) -> None:
    trainer = GANTrainer(_config("wgan", steps=2), small_mnist.images)
    trainer.train(progress=False)
    assert max(p.abs().max().item() for p in trainer.discriminator.parameters()) <= 0.01


def test_two_dimensional_data_with_custom_models() -> None:
    from gannotes.mixtures import ring_of_gaussians
    from gannotes.models import MLPDiscriminator, MLPGenerator

    points = ring_of_gaussians().sample(2048, generator=torch.Generator().manual_seed(0))
    config = TrainConfig.for_model("gan", z_dim=2, steps=10, batch_size=128, log_every=5, device="cpu")
    g = MLPGenerator(z_dim=2, out_shape=(2,), hidden=32, tanh=False)
    trainer = GANTrainer(config, points, generator=g, discriminator=MLPDiscriminator((2,), hidden=32))
    history = trainer.train(progress=False)
    assert history["samples"][-1][1].shape == (64, 2)


def test_config_errors_are_explained(small_mnist: ImageDataset) -> None:
    with pytest.raises(ValueError, match="Unknown model 'stylegan'. Choose one of: gan, dcgan"):
        TrainConfig.for_model("stylegan")
    with pytest.raises(ValueError, match="Unknown TrainConfig field"):
        TrainConfig.for_model("dcgan", learning_rate=1e-3)
    with pytest.raises(ValueError, match="must not use batch norm"):
        TrainConfig.for_model("wgan-gp", d_norm="batch")
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig.for_model("dcgan", optimizer="sgd")
    with pytest.raises(ValueError, match="d_depth must be 2 or 3"):
        TrainConfig.for_model("dcgan", d_depth=4)
    with pytest.raises(ValueError, match="cgan is conditional: pass the labels"):
        GANTrainer(_config("cgan"), small_mnist.images)


def test_published_defaults() -> None:
    dcgan = TrainConfig.for_model("dcgan")
    assert (dcgan.optimizer, dcgan.lr_d, dcgan.betas) == ("adam", 2e-4, (0.5, 0.999))
    wgan = TrainConfig.for_model("wgan")
    assert (wgan.optimizer, wgan.lr_d, wgan.clip_value, wgan.n_critic) == ("rmsprop", 5e-5, 0.01, 5)
    gp = TrainConfig.for_model("wgan-gp")
    assert (gp.lr_d, gp.betas, gp.gp_weight, gp.n_critic, gp.d_norm) == (1e-4, (0.0, 0.9), 10.0, 5, "layer")


def test_generator_from_checkpoint(small_mnist: ImageDataset, tmp_path: Path) -> None:
    trainer = GANTrainer(_config("cgan", steps=4), small_mnist.images, small_mnist.labels, out_dir=tmp_path)
    trainer.train(progress=False)
    generator, config = train.generator_from_checkpoint(tmp_path / "checkpoint.pt")
    assert config.model == "cgan" and not generator.training
    z = trainer.fixed_z[:4]
    labels = torch.arange(4)
    trainer.generator.eval()
    assert torch.allclose(generator(z, labels), trainer.generator(z, labels))


def test_train_puts_both_networks_back_in_training_mode(small_mnist: ImageDataset) -> None:
    trainer = GANTrainer(_config("dcgan", steps=2), small_mnist.images)
    trainer.generator.eval()  # e.g. a learner sampled by hand between two calls to train()
    trainer.discriminator.eval()
    running_mean = trainer.generator.project[1].running_mean.clone()
    trainer.train(progress=False)
    assert trainer.generator.training and trainer.discriminator.training
    # batch norm's statistics moved: the steps ran in training mode
    assert not torch.equal(running_mean, trainer.generator.project[1].running_mean)


def test_learner_settings_are_valid_overrides_for_known_models():
    for model, overrides in LEARNER_SETTINGS.items():
        config = TrainConfig.for_model(model, **overrides)
        assert all(getattr(config, key) == value for key, value in overrides.items())
