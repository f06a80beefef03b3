"""Fréchet distance against closed forms, the classifier score and k-NN precision/recall on sets whose answer is
known, the evaluator on real MNIST (smoke mode), and 2-D mode metrics."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gannotes import metrics, models
from gannotes.mixtures import grid_of_gaussians, ring_of_gaussians


def _random_covariance(dim: int, rank: int, seed: int) -> torch.Tensor:
    """A random symmetric positive semi-definite ``(dim, dim)`` matrix of the given rank, float64."""
    factor = torch.randn(dim, rank, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return factor @ factor.T / rank


# --------------------------------------------------------------------------------------------
# Fréchet distance


def test_frechet_distance_of_identical_gaussians_is_zero() -> None:
    mu, sigma = torch.randn(20, dtype=torch.float64), _random_covariance(20, 30, seed=0)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_diagonal_gaussians_has_a_closed_form() -> None:
    mu1, mu2 = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.5])
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.0])
    expected = ((mu1 - mu2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum()
    distance = metrics.frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b))
    assert distance == pytest.approx(expected.item(), rel=1e-10)


def test_frechet_distance_matches_the_eigenvalues_of_the_product() -> None:
    # Tr (S1 S2)^(1/2) is the sum of square roots of the (real, non-negative) eigenvalues of S1 S2.
    s1, s2 = _random_covariance(8, 12, seed=1), _random_covariance(8, 3, seed=2)  # s2 is singular
    mu1, mu2 = np.zeros(8), np.full(8, 0.5)
    eigenvalues = np.linalg.eigvals(s1.numpy() @ s2.numpy()).real.clip(min=0)
    expected = 8 * 0.25 + np.trace(s1.numpy()) + np.trace(s2.numpy()) - 2 * np.sqrt(eigenvalues).sum()
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_is_symmetric_and_non_negative() -> None:
    for seed in range(5):
        s1, s2 = _random_covariance(16, 4 + seed, seed), _random_covariance(16, 20, seed + 10)
        mu1, mu2 = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
        forward, backward = metrics.frechet_distance(mu1, s1, mu2, s2), metrics.frechet_distance(mu2, s2, mu1, s1)
        assert forward >= 0 and forward == pytest.approx(backward, rel=1e-8)


def test_frechet_distance_of_feature_statistics_sees_a_shift_exactly() -> None:
    features = torch.randn(500, 6, generator=torch.Generator().manual_seed(0))
    shift = torch.tensor([1.0, 0.0, -2.0, 0.0, 0.0, 0.5])
    stats = metrics.feature_statistics(features)
    assert metrics.frechet_distance(*stats, *stats) == pytest.approx(0.0, abs=1e-8)
    shifted = metrics.feature_statistics(features + shift)
    assert metrics.frechet_distance(*stats, *shifted) == pytest.approx(5.25, rel=1e-6)


def test_frechet_distance_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="Expected means"):
        metrics.frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4))


# --------------------------------------------------------------------------------------------
# The classifier score (the inception score's formula)


def test_classifier_score_is_k_for_confident_balanced_predictions() -> None:
    probabilities = torch.eye(10).repeat(30, 1)  # every class 30 times, each with certainty
    assert metrics.classifier_score(probabilities) == pytest.approx(10.0, rel=1e-12)
    assert metrics.classifier_score(torch.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]]) == pytest.approx(4.0, rel=1e-12)


def test_classifier_score_is_one_for_a_single_class_or_the_same_doubt_everywhere() -> None:
    assert metrics.classifier_score(torch.eye(10)[[3] * 50]) == pytest.approx(1.0, abs=1e-12)
    assert metrics.classifier_score(torch.full((40, 10), 0.1)) == pytest.approx(1.0, abs=1e-12)
    same_doubt = torch.tensor([[0.7, 0.2, 0.1]]).repeat(25, 1)
    assert metrics.classifier_score(same_doubt) == pytest.approx(1.0, abs=1e-12)


def test_classifier_score_matches_a_hand_computed_case() -> None:
    # p(y) = (0.75, 0.25); KL of row 1 = ln(4/3), of row 2 = 0.5 ln(2/3) + 0.5 ln 2.
    probabilities = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    expected = math.exp((math.log(4 / 3) + 0.5 * math.log(2 / 3) + 0.5 * math.log(2)) / 2)
    assert metrics.classifier_score(probabilities) == pytest.approx(expected, rel=1e-12)  # 1.2408


def test_classifier_score_lies_between_one_and_k() -> None:
    for seed in range(5):
        logits = 3 * torch.randn(200, 10, generator=torch.Generator().manual_seed(seed))
        assert 1.0 <= metrics.classifier_score(logits.softmax(dim=1)) <= 10.0


def test_classifier_score_rejects_logits_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="softmax"):
        metrics.classifier_score(torch.randn(20, 10))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        metrics.classifier_score(torch.full((10,), 0.1))


# --------------------------------------------------------------------------------------------
# k-NN precision, recall, density and coverage


def _blobs(centres: torch.Tensor, per_blob: int, seed: int, std: float = 0.3) -> torch.Tensor:
    """``per_blob`` Gaussian points around each of ``centres (C, F)``: ``(C * per_blob, F)``."""
    noise = std * torch.randn(len(centres) * per_blob, centres.shape[1], generator=torch.Generator().manual_seed(seed))
    return centres.repeat_interleave(per_blob, dim=0) + noise


CENTRES = 10 * torch.eye(8)  # 8 well-separated clusters in 8 dimensions


def test_identical_sets_score_perfectly() -> None:
    points = _blobs(CENTRES, 50, seed=0)
    for k in (1, 3, 5):
        result = metrics.precision_recall(points, points.clone(), k=k)
        assert result["precision"] == result["recall"] == result["coverage"] == 1.0
        # Without ties, each point's ball holds itself and its k neighbours: (k + 1) / k balls per point.
        assert result["density"] == pytest.approx((k + 1) / k, rel=1e-12)


def fresh_samples_score() -> dict[str, float]:
    """What a perfect generator scores here: fresh samples of the real distribution (k = 3)."""
    return metrics.precision_recall(_blobs(CENTRES, 100, seed=0), _blobs(CENTRES, 100, seed=1), k=3)


def test_fresh_samples_of_the_same_distribution_score_high() -> None:
    # Not 1: with 100 points per cluster in 8-D the 3-NN balls leave gaps (measured 0.83 / 0.87).
    result = fresh_samples_score()
    assert result["precision"] > 0.75 and result["recall"] > 0.75 and result["coverage"] > 0.75
    assert 0.8 < result["density"] < 1.2


def test_fakes_on_half_the_clusters_lose_recall_not_precision() -> None:
    real, fresh = _blobs(CENTRES, 100, seed=0), fresh_samples_score()
    fake = _blobs(CENTRES[:4], 200, seed=1)  # as many samples, all on 4 of the 8 clusters
    result = metrics.precision_recall(real, fake, k=3)
    assert result["precision"] == pytest.approx(fresh["precision"], abs=0.05)
    assert result["recall"] < 0.6 * fresh["recall"] and result["coverage"] < 0.6 * fresh["coverage"]
    assert result["recall"] > 0.35 and result["coverage"] > 0.35  # the 4 clusters it has are covered


def test_fakes_far_from_the_data_lose_precision() -> None:
    real, fresh = _blobs(CENTRES, 100, seed=0), fresh_samples_score()
    far = metrics.precision_recall(real, _blobs(CENTRES + 100.0, 100, seed=1), k=3)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    half_far = torch.cat([_blobs(CENTRES, 50, seed=2), _blobs(CENTRES + 100.0, 50, seed=3)])
    result = metrics.precision_recall(real, half_far, k=3)
    assert result["precision"] < 0.55 * fresh["precision"] and result["density"] < 0.55 * fresh["density"]
    assert result["recall"] == pytest.approx(fresh["recall"], abs=0.05)  # the near half still spans every cluster


def test_one_good_sample_repeated_is_precise_but_recalls_nothing() -> None:
    real = _blobs(CENTRES, 100, seed=0)
    collapsed = (real[:1] + 0.01).repeat(800, 1)  # next to a real point, 800 times: balls of radius 0
    result = metrics.precision_recall(real, collapsed, k=3)
    assert result["precision"] == 1.0 and result["recall"] == 0.0
    assert 0 < result["coverage"] < 0.02  # the few real balls that reach that one point


def test_precision_recall_is_the_same_in_chunks() -> None:
    real, fake = _blobs(CENTRES, 40, seed=0), _blobs(CENTRES[:5], 60, seed=1)
    assert metrics.precision_recall(real, fake, k=3, chunk=7) == metrics.precision_recall(real, fake, k=3)


def test_precision_recall_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_recall(torch.randn(5, 3), torch.randn(10, 3), k=5)
    with pytest.raises(ValueError, match=r"\(N, F\)"):
        metrics.precision_recall(torch.randn(5, 3), torch.randn(10, 4))


# --------------------------------------------------------------------------------------------
# The evaluator (smoke mode: trained on MNIST test images 0..7999, 8000..9999 held out)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    """A private cache folder, and smoke mode, for every evaluator test in this file."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("cache")
        patch.setenv("GANNOTES_SMOKE", "1")
        patch.setenv("GANNOTES_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def evaluator(cache: Path) -> metrics.Evaluator:
    return metrics.Evaluator.for_dataset("mnist")


def test_classifier_is_accurate_on_heldout_images(evaluator: metrics.Evaluator) -> None:
    assert evaluator.heldout_accuracy > 0.9  # measured 0.967 after smoke training; chance is 0.1
    assert evaluator.features(evaluator.course.heldout.images[:5]).shape == (5, 128)


def test_real_images_score_far_better_than_noise(evaluator: metrics.Evaluator) -> None:
    baselines = evaluator.baselines(n=1000)
    real, noise = baselines["real"], baselines["noise"]
    assert real["n"] == noise["n"] == 1000
    assert real["frechet_distance"] * 10 < noise["frechet_distance"]  # measured ~50x apart
    assert real["classes_covered"] == 10 and real["class_kl"] < 0.05
    assert real["label_accuracy"] > 0.9 and sum(real["class_counts"]) == 1000


def test_one_repeated_image_covers_one_class(evaluator: metrics.Evaluator) -> None:
    result = evaluator.evaluate(evaluator.course.heldout.images[:1].repeat(200, 1, 1, 1))
    assert result["classes_covered"] == 1
    assert result["class_kl"] == pytest.approx(math.log(10))


def test_label_accuracy_with_true_and_shuffled_labels(evaluator: metrics.Evaluator) -> None:
    heldout = evaluator.course.heldout
    shuffled = heldout.labels[torch.randperm(len(heldout), generator=torch.Generator().manual_seed(0))]
    assert evaluator.evaluate(heldout.images, heldout.labels)["label_accuracy"] > 0.9
    assert 0.05 < evaluator.evaluate(heldout.images, shuffled)["label_accuracy"] < 0.15


def test_bad_images_are_explained(evaluator: metrics.Evaluator) -> None:
    images = evaluator.course.heldout.images[:10]
    with pytest.raises(ValueError, match=r"shape \(N, 1, 28, 28\)"):
        evaluator.evaluate(images.view(10, 28, 28))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        evaluator.evaluate((images + 1) * 127.5)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        evaluator.evaluate(torch.full((4, 1, 28, 28), math.nan))
    with pytest.raises(ValueError, match="requested_labels"):
        evaluator.evaluate(images, torch.zeros(3, dtype=torch.long))


def test_cached_classifier_is_reused(
    evaluator: metrics.Evaluator, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(list(cache.glob("evaluator-mnist-*.pt"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier should have been loaded, not retrained")

    monkeypatch.setattr(metrics, "train_classifier", no_training)
    again = metrics.Evaluator.for_dataset("mnist")
    assert again.heldout_accuracy == evaluator.heldout_accuracy
    images = evaluator.course.heldout.images[:100]
    assert torch.equal(again.predict(images), evaluator.predict(images))


def test_corrupt_cache_is_deleted_and_retrained(
    cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("GANNOTES_CACHE", str(tmp_path))
    calls = []
    real_training = metrics.train_classifier

    def short_training(classifier, images, labels, steps, device):
        calls.append(steps)
        real_training(classifier, images, labels, 5, device)  # enough to write a cache; accuracy is not tested

    monkeypatch.setattr(metrics, "train_classifier", short_training)
    metrics.Evaluator.for_dataset("mnist")
    (path,) = tmp_path.glob("evaluator-mnist-*.pt")
    path.write_bytes(b"not a checkpoint")
    metrics.Evaluator.for_dataset("mnist")
    assert "unusable" in capsys.readouterr().out
    assert len(calls) == 2
    metrics.Evaluator.for_dataset("mnist")  # the rewritten file loads
    assert len(calls) == 2 and not list(tmp_path.glob("*.tmp"))


def test_evaluate_generator_on_untrained_generators(evaluator: metrics.Evaluator) -> None:
    generator = models.DCGANGenerator(z_dim=8, width=4).train()
    result = evaluator.evaluate_generator(generator, n=120)
    assert {"n", "frechet_distance", "classes_covered", "class_kl"} <= result.keys() and result["n"] == 120
    assert "label_accuracy" not in result
    assert generator.training  # its mode is restored
    again = evaluator.evaluate_generator(generator, n=120)  # the same seed: the same numbers
    assert again["frechet_distance"] == pytest.approx(result["frechet_distance"], rel=1e-6)
    conditional = models.DCGANGenerator(z_dim=8, width=4, num_classes=10)
    result = evaluator.evaluate_generator(conditional, n=100, num_classes=10)
    assert 0.0 <= result["label_accuracy"] <= 1.0


def test_classifier_score_of_real_images_noise_and_one_image(evaluator: metrics.Evaluator) -> None:
    heldout = evaluator.course.heldout.images
    real = evaluator.evaluate(heldout)["classifier_score"]
    noise = evaluator.baselines(n=500)["noise"]["classifier_score"]
    one = evaluator.evaluate(heldout[:1].repeat(100, 1, 1, 1))["classifier_score"]
    assert 8.0 < real <= 10.0  # confident and balanced, as real digits should be
    assert one == pytest.approx(1.0, abs=1e-9) and noise < real / 2


def test_precision_recall_of_heldout_real_training_and_noise_images(evaluator: metrics.Evaluator) -> None:
    heldout = evaluator.course.heldout.images
    same = evaluator.precision_recall(heldout)  # all held-out images against themselves
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    real = evaluator.precision_recall(evaluator.course.train.images[:1000])
    noise = evaluator.precision_recall(torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert real["precision"] > 0.6 and real["recall"] > 0.6 and real["coverage"] > 0.5
    # Noise lands in one small region of feature space; a large ball around an odd real image can hold it,
    # so its precision need not be low (Naeem et al.'s point), but it recalls and covers nothing.
    assert noise["recall"] < 0.05 and noise["coverage"] < 0.05 and noise["density"] < real["density"]
    one_digit = evaluator.course.train.images[evaluator.course.train.labels == 1][:500]
    narrow = evaluator.precision_recall(one_digit)
    # Real 1s: good images with a tenth of the variety (measured: precision 0.88, recall 0.35, coverage 0.15).
    assert narrow["precision"] > 0.6 and narrow["recall"] < 0.5 * real["recall"] and narrow["coverage"] < 0.3


# --------------------------------------------------------------------------------------------
# 2-D mode metrics (VEEGAN / PacGAN)


def test_samples_at_every_mean_cover_every_mode() -> None:
    ring = ring_of_gaussians()
    assert metrics.mode_metrics(ring.means.repeat(3, 1), ring) == {"modes_covered": 8, "high_quality_share": 1.0}


def test_samples_from_three_modes_cover_three() -> None:
    ring = ring_of_gaussians()
    noise = 0.01 * torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    samples = ring.means[torch.arange(300) % 3] + noise
    assert metrics.mode_metrics(samples, ring)["modes_covered"] == 3


def test_samples_far_away_cover_nothing() -> None:
    ring = ring_of_gaussians()
    result = metrics.mode_metrics(torch.full((50, 2), 5.0), ring)
    assert result == {"modes_covered": 0, "high_quality_share": 0.0}


def test_true_samples_are_high_quality_as_often_as_a_2d_gaussian_allows() -> None:
    grid = grid_of_gaussians()
    result = metrics.mode_metrics(grid.sample(20_000, generator=torch.Generator().manual_seed(0)), grid)
    assert result["modes_covered"] == 25
    # |x - mean| / std is chi-distributed with 2 degrees of freedom: P(< 3) = 1 - exp(-9/2) = 0.989.
    assert result["high_quality_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
