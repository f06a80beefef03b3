"""The training loop and the reference steps: every variant runs, resume is exact, checkpoints are safe,
failures are clear."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from gannotes import losses, steps, train
from gannotes.data import ImageDataset, load_dataset
from gannotes.models import sample
from gannotes.train import CheckpointError, TrainConfig, TrainingDiverged, fit, resume, save, start


@pytest.fixture(scope="module")
def small_mnist() -> ImageDataset:
    return load_dataset("mnist", "test", subset=512)


def _config(model: str, **overrides) -> TrainConfig:
    small = dict(steps=8, batch_size=16, g_width=8, d_width=8, log_every=4, sample_every=4, device="cpu")
    if model == "gan":
        small.update(g_width=32, d_width=32)
    return TrainConfig.for_model(model, **{**small, **overrides})


def _start(config: TrainConfig, data: ImageDataset, **kwargs) -> train.Run:
    return start(config, data.images, data.labels if config.conditional else None, **kwargs)


def _fit(run: train.Run, **kwargs) -> dict:
    return fit(run, *steps.STEPS[run.config.model], progress=False, **kwargs)


@pytest.mark.parametrize("model", train.MODELS)
def test_every_variant_trains_and_records_history(model: str, small_mnist: ImageDataset) -> None:
    run = _start(_config(model), small_mnist)
    history = _fit(run)
    assert run.step == 8 and history["step"] == [4, 8]
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm", "sec_per_step"):
        assert len(history[key]) == 2, key
        assert all(torch.isfinite(torch.tensor(history[key]))), key
    assert ("wasserstein" in history) == model.startswith("wgan")
    step, images = history["samples"][-1]
    assert step == 8 and images.shape == (64, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    assert run.images_per_second() > 0


def _params(run: train.Run) -> list[torch.Tensor]:
    return [t.detach().clone() for m in (run.G, run.D) for t in m.state_dict().values()]


@pytest.mark.parametrize("model", ["dcgan", "cgan", "wgan-gp"])
def test_resuming_reproduces_the_uninterrupted_run(model: str, small_mnist: ImageDataset, tmp_path: Path) -> None:
    # The DCGAN case also covers the laptop setting's deeper discriminator.
    config = dict(steps=12, checkpoint_every=6, d_depth=3 if model == "dcgan" else 2)
    straight = _start(_config(model, **config), small_mnist)
    _fit(straight)

    first = _start(_config(model, **config), small_mnist)
    _fit(first, steps=6, out_dir=tmp_path)  # stop half way; the checkpoint is written at step 6
    del first
    resumed = resume(tmp_path / "checkpoint.pt", small_mnist.images, small_mnist.labels if model == "cgan" else None)
    assert resumed.step == 6
    _fit(resumed)

    assert resumed.step == straight.step == 12
    for a, b in zip(_params(straight), _params(resumed), strict=True):
        assert torch.equal(a, b)
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert resumed.history[key] == straight.history[key]
    assert torch.equal(resumed.history["samples"][-1][1], straight.history["samples"][-1][1])


def test_interrupt_saves_and_raises_again(small_mnist: ImageDataset, tmp_path: Path, capsys) -> None:
    run = _start(_config("dcgan", steps=20), small_mnist)

    def interrupted_g_step(*args):
        if run.step == 5:
            raise KeyboardInterrupt
        return steps.gan_g_step(*args)

    with pytest.raises(KeyboardInterrupt):
        fit(run, steps.gan_d_step, interrupted_g_step, out_dir=tmp_path, progress=False)
    assert run.step == 5 and run.history["step"] == [4]
    assert "Interrupted at step 5 of 20; checkpoint saved to" in capsys.readouterr().out
    assert train.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 5


def test_checkpoint_write_is_atomic(small_mnist: ImageDataset, tmp_path: Path, monkeypatch) -> None:
    run = _start(_config("dcgan", steps=4), small_mnist)
    _fit(run)
    path = save(run, tmp_path / "checkpoint.pt")
    good = path.read_bytes()

    def crash_mid_write(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        save(run, path)
    assert path.read_bytes() == good  # the previous checkpoint survives intact
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # and no temporary file is left behind
    assert train.load_checkpoint(path)["step"] == 4


def test_bad_checkpoints_are_clear_errors(small_mnist: ImageDataset, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        train.load_checkpoint(tmp_path / "missing.pt")
    path = save(_start(_config("dcgan", steps=2), small_mnist), tmp_path / "checkpoint.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="not a readable checkpoint.*truncated"):
        train.load_checkpoint(truncated)
    other = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="not a gannotes training checkpoint"):
        train.load_checkpoint(other)
    g = nn.Linear(2, 2)
    g.z_dim = 2
    with pytest.raises(CheckpointError, match="does not match these models"):
        resume(path, small_mnist.images, G=g, D=nn.Linear(2, 1))


def test_nan_loss_stops_with_a_clear_message(small_mnist: ImageDataset) -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1).sum(1) * self.w * float("nan")

    g = train.build_models(_config("dcgan"))[0]
    run = _start(_config("dcgan"), small_mnist, G=g, D=Broken())
    with pytest.raises(TrainingDiverged, match="became nan by step 4: training diverged. Try lower learning rates"):
        _fit(run)


@pytest.mark.parametrize("model", train.MODELS)
def test_each_step_updates_only_its_own_player(model: str, small_mnist: ImageDataset) -> None:
    run = _start(_config(model), small_mnist)
    d_step, g_step = steps.STEPS[model]
    g_before = [p.detach().clone() for p in run.G.parameters()]
    d_before = [p.detach().clone() for p in run.D.parameters()]
    real = next(run.batches)
    fakes, stats = d_step(run.G, run.D, run.d_optimizer, *real, torch.randn(16, run.G.z_dim))
    fakes = fakes if isinstance(fakes, tuple) else (fakes,)
    assert fakes[0].shape == (16, 1, 28, 28) and fakes[0].grad_fn is not None  # kept their graph for G's step
    assert stats["d_loss"].shape == () and not stats["d_loss"].requires_grad
    assert all(p.grad is None for p in run.G.parameters())
    assert all(torch.equal(a, b) for a, b in zip(g_before, run.G.parameters(), strict=True))
    d_after = [p.detach().clone() for p in run.D.parameters()]
    assert not all(torch.equal(a, b) for a, b in zip(d_before, d_after, strict=True))
    run.D.zero_grad(set_to_none=True)
    g_step(run.G, run.D, run.g_optimizer, *fakes)
    assert all(p.grad is None for p in run.D.parameters())  # D was frozen
    assert all(torch.equal(a, b) for a, b in zip(d_after, run.D.parameters(), strict=True))
    assert all(p.requires_grad for p in run.D.parameters())  # and unfrozen after
    assert not all(torch.equal(a, b) for a, b in zip(g_before, run.G.parameters(), strict=True))


def test_acgan_class_head_learns_from_real_images_only(small_mnist: ImageDataset) -> None:
    run = _start(_config("acgan"), small_mnist)
    images, labels = next(run.batches)
    no_update = torch.optim.SGD(run.D.parameters(), lr=0.0)  # the step's gradients stay in .grad, to read
    z = torch.randn(16, run.G.z_dim)
    (fake, fake_labels), stats = steps.acgan_d_step(run.G, run.D, no_update, images, labels, z)
    got = run.D.class_head.weight.grad.clone()

    def class_head_gradient(with_fakes: bool) -> torch.Tensor:
        run.D.zero_grad(set_to_none=True)
        _, real_classes = run.D(images)
        loss = nn.functional.cross_entropy(real_classes, labels)
        if with_fakes:
            loss = loss + nn.functional.cross_entropy(run.D(fake.detach())[1], fake_labels)
        loss.backward()
        return run.D.class_head.weight.grad

    torch.testing.assert_close(got, class_head_gradient(with_fakes=False))
    assert not torch.allclose(got, class_head_gradient(with_fakes=True))  # the paper's term would show here
    # The detached term still counts in the logged loss: the paper's loss, value for value.
    (real_logits, real_classes), (fake_logits, fake_classes) = run.D(images), run.D(fake.detach())
    paper = losses.acgan_discriminator_loss(real_logits, real_classes, labels, fake_logits, fake_classes, fake_labels)
    torch.testing.assert_close(stats["d_loss"], paper.detach())


def test_weight_clipping_keeps_critic_in_range(small_mnist: ImageDataset) -> None:
    run = _start(_config("wgan", steps=2), small_mnist)
    _fit(run)
    assert max(p.abs().max().item() for p in run.D.parameters()) <= 0.01


def test_a_step_may_report_just_its_loss_and_a_bare_loss_is_a_clear_error(small_mnist: ImageDataset) -> None:
    def d_loss_only(*args):
        fake, stats = steps.gan_d_step(*args)
        return fake, stats["d_loss"]

    run = _start(_config("dcgan", steps=4), small_mnist)
    history = fit(run, d_loss_only, steps.gan_g_step, progress=False)
    assert len(history["d_loss"]) == 1 and "d_real" not in history

    def notebook_03_style(*args):
        return steps.gan_d_step(*args)[1]["d_loss"]

    with pytest.raises(TypeError, match=r"must return \(fakes, stats\).*returned Tensor. End your step with"):
        fit(_start(_config("dcgan", steps=4), small_mnist), notebook_03_style, steps.gan_g_step, progress=False)


def test_two_dimensional_data_with_custom_models_and_optimizers() -> None:
    from gannotes.mixtures import ring_of_gaussians
    from gannotes.models import MLPDiscriminator, MLPGenerator

    points = ring_of_gaussians().sample(2048, generator=torch.Generator().manual_seed(0))
    config = TrainConfig.for_model("gan", z_dim=2, steps=10, batch_size=128, log_every=5, device="cpu")
    g = MLPGenerator(z_dim=2, out_shape=(2,), hidden=32, tanh=False)
    run = start(
        config,
        points,
        G=g,
        D=MLPDiscriminator((2,), hidden=32),
        d_optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=1e-2),
    )
    assert isinstance(run.d_optimizer, torch.optim.SGD) and isinstance(run.g_optimizer, torch.optim.Adam)
    history = _fit(run)
    assert history["samples"][-1][1].shape == (64, 2)


def test_config_errors_are_explained(small_mnist: ImageDataset) -> None:
    with pytest.raises(ValueError, match="Unknown model 'stylegan'. Choose one of: gan, dcgan"):
        TrainConfig.for_model("stylegan")
    with pytest.raises(ValueError, match="Unknown settings 'fast'. Choose one of: published, laptop"):
        TrainConfig.for_model("dcgan", "fast")
    with pytest.raises(TypeError, match="unexpected keyword argument 'learning_rate'"):
        TrainConfig.for_model("dcgan", learning_rate=1e-3)
    with pytest.raises(ValueError, match="must not use batch norm"):
        TrainConfig.for_model("wgan-gp", d_norm="batch")
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig.for_model("dcgan", optimizer="sgd")
    with pytest.raises(ValueError, match="d_depth = 4; choose one of 2, 3."):
        TrainConfig.for_model("dcgan", d_depth=4)
    with pytest.raises(ValueError, match="steps must be at least 1, got 0"):
        TrainConfig.for_model("dcgan", steps=0)
    with pytest.raises(ValueError, match="cgan is conditional: pass the labels"):
        start(_config("cgan"), small_mnist.images)
    run = _start(_config("dcgan", steps=4), small_mnist)
    _fit(run)
    with pytest.raises(ValueError, match="already at step 4: ask for at least 4 steps, not 2."):
        _fit(run, steps=2)


def test_published_and_laptop_settings() -> None:
    dcgan = TrainConfig.for_model("dcgan", "published")
    assert (dcgan.optimizer, dcgan.lr_d, dcgan.betas, dcgan.g_width) == ("adam", 2e-4, (0.5, 0.999), 32)
    wgan = TrainConfig.for_model("wgan", "published")
    assert (wgan.optimizer, wgan.lr_d, wgan.n_critic) == ("rmsprop", 5e-5, 5)
    gp = TrainConfig.for_model("wgan-gp", "published")
    assert (gp.lr_d, gp.betas, gp.n_critic, gp.d_norm) == (1e-4, (0.0, 0.9), 5, "layer")
    for model, changes in train.SETTINGS["laptop"].items():
        laptop = TrainConfig.for_model(model)  # the default
        assert all(getattr(laptop, key) == value for key, value in changes.items()), model
    assert TrainConfig.for_model("dcgan").g_width == 16


def test_generator_from_checkpoint_matches_the_run(small_mnist: ImageDataset, tmp_path: Path) -> None:
    run = _start(_config("cgan", steps=4), small_mnist)
    _fit(run, out_dir=tmp_path)
    generator, config = train.generator_from_checkpoint(tmp_path / "checkpoint.pt")
    assert config.model == "cgan" and not generator.training
    z, labels = run.fixed_z[:4], torch.arange(4)
    assert torch.allclose(sample(generator, z=z, labels=labels), sample(run.G, z=z, labels=labels))


def test_reuse_only_a_run_trained_to_the_end_with_the_same_config(small_mnist: ImageDataset, tmp_path: Path) -> None:
    config = _config("dcgan", steps=4)
    assert train.reuse(tmp_path / "none.pt", config, small_mnist.images) is None
    run = _start(config, small_mnist)
    _fit(run)
    path = save(run, tmp_path / "04.pt")
    assert train.reuse(path, _config("dcgan", steps=4), small_mnist.images).step == 4
    assert train.reuse(path, _config("dcgan", steps=8), small_mnist.images) is None
    assert train.reuse(path, _config("dcgan", steps=4, lr_g=1e-3), small_mnist.images) is None


def test_fit_puts_both_networks_back_in_training_mode(small_mnist: ImageDataset) -> None:
    run = _start(_config("dcgan", steps=2), small_mnist)
    run.G.eval()  # e.g. a learner sampled by hand between two calls to fit()
    run.D.eval()
    running_mean = run.G.project[1].running_mean.clone()
    _fit(run)
    assert run.G.training and run.D.training
    # batch norm's statistics moved: the steps ran in training mode
    assert not torch.equal(running_mean, run.G.project[1].running_mean)


def test_sample_restores_mode_and_repeats_with_a_seed(small_mnist: ImageDataset) -> None:
    run = _start(_config("cgan", steps=2), small_mnist)
    first = sample(run.G, 12, seed=3)
    assert run.G.training and first.shape == (12, 1, 28, 28) and first.device.type == "cpu"
    assert torch.equal(first, sample(run.G, 12, seed=3))
    assert torch.equal(sample(run.G, 12, seed=3, labels=torch.arange(12) % 10), first)  # default labels 0, 1, ...
    with pytest.raises(ValueError, match="at least 1 sample, not 0"):
        sample(run.G, 0)
