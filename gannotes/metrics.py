"""How good is a generator? Numbers from a small classifier the package trains itself.

An :class:`Evaluator` is a small CNN trained on the course's training images (never the held-out ones);
its penultimate features give the Fréchet distance (FID's formula, with this classifier in place of
Inception) and k-NN precision / recall, its predictions class coverage, label accuracy and the
classifier score. The 2-D mixtures of :mod:`gannotes.mixtures` get :func:`mode_metrics`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import IMAGE_SHAPE, BatchSource, CourseData, course_data, dataset_spec
from .device import get_device
from .mixtures import GaussianMixture2D
from .models import sample
from .settings import cache_dir, save_atomically, scaled

#: Bump when the classifier or its training changes, so that no cache made by older code is reused.
CACHE_VERSION = 2
#: A class counts as covered when at least this share of its fair share ``1 / K`` of the samples is
#: predicted as it: 1% of samples for 10 classes. A handful of misclassified samples is not a mode.
COVERED_SHARE_OF_FAIR = 0.1
#: VEEGAN / PacGAN: a 2-D sample is of high quality within this many standard deviations of a mode.
HIGH_QUALITY_STDS = 3.0

Array = torch.Tensor | np.ndarray


def frechet_distance(mu1: Array, sigma1: Array, mu2: Array, sigma2: Array) -> float:
    """Fréchet (2-Wasserstein) distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``, in float64 on the CPU.

    ``d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``, with means ``(D,)`` and covariances ``(D, D)``;
    0 for identical Gaussians, never negative. ``S1 S2`` is not symmetric (a general ``sqrtm`` of it can come
    back complex from rounding alone), but it has the eigenvalues of the symmetric positive semi-definite
    ``sqrt(S1) S2 sqrt(S1)``, and the trace of a square root is the sum of the eigenvalues' square roots.
    """
    mu1, sigma1, mu2, sigma2 = (torch.as_tensor(a).detach().cpu().double() for a in (mu1, sigma1, mu2, sigma2))
    dim = mu1.shape[0]
    if mu1.shape != (dim,) or mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(
            f"Expected means (D,) and covariances (D, D), got {tuple(mu1.shape)}, {tuple(sigma1.shape)}, "
            f"{tuple(mu2.shape)}, {tuple(sigma2.shape)}."
        )
    # One thread: LAPACK's eigensolvers gain nothing from threads at this size, and stall on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        values, vectors = torch.linalg.eigh(sigma1)
        sqrt_sigma1 = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
        middle = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
        eigenvalues = torch.linalg.eigvalsh((middle + middle.T) / 2)  # symmetrise away rounding
    finally:
        torch.set_num_threads(threads)
    trace_sqrt = eigenvalues.clamp(min=0).sqrt().sum()  # tiny negative eigenvalues are rounding
    diff = mu1 - mu2
    distance = diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)  # identical Gaussians can round to -1e-12


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(F,)`` and covariance ``(F, F)`` (unbiased, as in FID) of ``features (N, F)``, float64 on the CPU."""
    if features.dim() != 2 or features.shape[0] < 2:
        raise ValueError(f"Need features of shape (N, F) with N >= 2, got {tuple(features.shape)}.")
    features = features.detach().cpu().double()
    return features.mean(dim=0), torch.cov(features.T)


def classifier_score(probabilities: Array) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))``: the inception score (Salimans et al., 2016) of any classifier.

    ``probabilities (N, K)``: softmax outputs ``p(y|x)``, one row per sample; ``p(y)`` is their mean. The
    score lies in ``[1, K]``: K for certain predictions of equally frequent classes, 1 when every row is
    the same. It never looks at real data, so copies of the training set score as well as a good generator.
    """
    p = torch.as_tensor(probabilities).detach().cpu().double()
    if p.dim() != 2 or p.shape[0] == 0 or p.shape[1] < 1:
        raise ValueError(f"Expected probabilities of shape (N, K) with N >= 1, got {tuple(p.shape)}.")
    if not ((p >= 0).all() and torch.allclose(p.sum(dim=1), torch.ones(len(p), dtype=p.dtype), atol=1e-4)):
        raise ValueError("Each row must be a probability distribution (>= 0, sums to 1): pass softmax(logits).")
    # KL(p || m) = sum p log p - p log m, with 0 log 0 = 0 (xlogy); m > 0 wherever p > 0.
    kl = (torch.xlogy(p, p) - torch.xlogy(p, p.mean(dim=0))).sum(dim=1)
    return kl.mean().exp().item()


def precision_recall(
    real_features: torch.Tensor, fake_features: torch.Tensor, k: int = 5, chunk: int = 2048
) -> dict[str, float]:
    """k-NN precision and recall (Kynkäänniemi et al., 2019), density and coverage (Naeem et al., 2020).

    ``real_features (N, F)``, ``fake_features (M, F)``, compared in float64 Euclidean distance. Each real
    feature gets a closed ball reaching its k-th nearest other real feature (``k = 5`` as Naeem et al.
    recommend): together an estimate of where real data lives. Likewise for the fakes. Returns:

    - ``precision`` in [0, 1]: share of fakes inside at least one real ball (quality);
    - ``recall`` in [0, 1]: share of reals inside at least one *fake* ball (diversity);
    - ``density`` in [0, N / k]: real balls containing each fake, averaged, over k; about 1 when fakes are
      distributed like the reals ((k + 1) / k for two identical sets without ties);
    - ``coverage`` in [0, 1]: share of real balls holding at least one fake (ignores fakes that stray).

    Ties: balls are closed, and each distance is computed from its own pair's differences (``cdist``
    without the faster ``|a|^2 + |b|^2 - 2 a.b``, whose rounding depends on the batch and the processor), so
    equal pairs of points give exactly equal distances: a copy of a real point lies in the same balls as the
    point itself, on every machine. Compare sets of equal size: the balls shrink as N grows. ``chunk`` rows
    of distances are computed at a time.
    """
    real, fake = (torch.as_tensor(x).detach().cpu().double() for x in (real_features, fake_features))
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"Expected features (N, F) and (M, F), got {tuple(real.shape)} and {tuple(fake.shape)}.")
    if not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k must be at least 1 and below both set sizes ({len(real)}, {len(fake)}), got {k}.")

    def distances(a: torch.Tensor, b: torch.Tensor) -> Iterator[torch.Tensor]:
        return (torch.cdist(block, b, compute_mode="donot_use_mm_for_euclid_dist") for block in a.split(chunk))

    # The (k + 1)-th smallest distance: the nearest is the point itself, at exactly 0.
    real_radii = torch.cat([d.kthvalue(k + 1, dim=1).values for d in distances(real, real)])
    fake_radii = torch.cat([d.kthvalue(k + 1, dim=1).values for d in distances(fake, fake)])
    fake_in_real = torch.cat([d <= real_radii for d in distances(fake, real)])  # (M, N)
    real_in_fake = torch.cat([d <= fake_radii for d in distances(real, fake)])  # (N, M)
    return {
        "precision": fake_in_real.any(dim=1).double().mean().item(),
        "recall": real_in_fake.any(dim=1).double().mean().item(),
        "density": fake_in_real.sum().item() / (k * len(fake)),
        "coverage": fake_in_real.any(dim=0).double().mean().item(),
    }


def new_classifier(num_classes: int = 10, feature_dim: int = 128) -> nn.Sequential:
    """A small CNN: ``images (B, 1, 28, 28)`` in ``[-1, 1]`` -> class logits ``(B, num_classes)``.

    Two stages of 3x3 convolution, ReLU and 2x2 max-pooling (28 -> 14 -> 7), a linear ReLU layer giving the
    features ``(B, feature_dim)`` (``classifier[:-1]``), and a linear head. Its initialisation is fixed, drawn
    without touching the caller's random state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, feature_dim),
            nn.ReLU(),
            nn.Linear(feature_dim, num_classes),
        )


def train_classifier(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int, device) -> None:
    """Train ``classifier`` in place: Adam on cross-entropy, minibatches of 64 drawn on ``device``."""
    batches = BatchSource(images, labels, batch_size=64, device=device, seed=0)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    classifier.to(device).train()
    for _ in range(steps):
        x, y = next(batches)
        loss = F.cross_entropy(classifier(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    classifier.eval()


def _load_cached(path: Path, key: str, num_classes: int) -> nn.Sequential | None:
    """The classifier cached at ``path``, or None when there is none or it is unusable (then it is deleted)."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["key"] != key:  # a renamed or copied file
            raise ValueError(f"it was made for key {saved['key']!r}")
        classifier = new_classifier(num_classes)
        classifier.load_state_dict(saved["state_dict"])
        return classifier
    except Exception as err:  # noqa: BLE001 - a cache we cannot read is retrained, whatever went wrong
        print(f"Evaluator: the cached {path} is unusable ({type(err).__name__}: {err}); deleting it and retraining.")
        path.unlink(missing_ok=True)
        return None


class Evaluator:
    """A trained classifier and the metrics computed from it. Build one with :meth:`for_dataset`.

    Its methods take ``images (N, 1, 28, 28)`` in ``[-1, 1]``. Attributes: ``classifier``, ``course`` (the
    images it was trained on and the held-out ones), ``device``, ``num_classes``, ``heldout_accuracy`` (the
    classifier's accuracy on the held-out images) and ``heldout_features`` ``(N_heldout, F)``, the real data
    every metric compares with.
    """

    def __init__(self, classifier: nn.Sequential, course: CourseData, device: torch.device) -> None:
        self.classifier = classifier.to(device).eval()
        self.course = course
        self.device = device
        self.num_classes = course.train.num_classes
        self.heldout_features, logits = self._classify(course.heldout.images)
        self.heldout_accuracy = (logits.argmax(dim=1) == course.heldout.labels).float().mean().item()
        self._heldout_statistics = feature_statistics(self.heldout_features)

    @classmethod
    def for_dataset(
        cls, name: str = "mnist", device: torch.device | str | None = None, root: str | Path | None = None
    ) -> Evaluator:
        """Load the evaluator of ``name`` from the cache, or train it on ``course_data(name).train`` and cache it."""
        device = get_device(device)
        spec = dataset_spec(name)
        course = course_data(spec.name, root)
        steps = scaled(2000, 200)
        # The key names the images trained on and the step count (which smoke mode changes).
        key = hashlib.sha256(f"{CACHE_VERSION}|{course.describe()}|{steps}".encode()).hexdigest()[:12]
        path = cache_dir() / f"evaluator-{spec.name}-{key}.pt"
        classifier = _load_cached(path, key, course.train.num_classes)
        if classifier is not None:
            done = f"loaded {path.name} (trained on {course.train.description})"
        else:
            start = time.perf_counter()
            classifier = new_classifier(course.train.num_classes)
            train_classifier(classifier, course.train.images, course.train.labels, steps, device)
            save_atomically({"key": key, "state_dict": classifier.state_dict()}, path)
            seconds = time.perf_counter() - start
            done = (
                f"trained a classifier on {course.train.description} ({steps} steps, {seconds:.0f} s), cached as {path}"
            )
        evaluator = cls(classifier, course, device)
        print(f"Evaluator: {done}; held-out accuracy {evaluator.heldout_accuracy:.2%}.")
        return evaluator

    @torch.no_grad()
    def _classify(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features ``(N, F)`` and class logits ``(N, K)`` of checked ``images``, on the CPU, 1000 at a time."""
        images = torch.as_tensor(images)
        if tuple(images.shape[1:]) != IMAGE_SHAPE or not images.is_floating_point() or len(images) == 0:
            raise ValueError(
                f"Expected non-empty float images of shape (N, 1, 28, 28), got {tuple(images.shape)} {images.dtype}."
            )
        low, high = images.min().item(), images.max().item()
        if not -1.001 <= low <= high <= 1.001:  # also false for NaN; the margin allows float rounding
            raise ValueError(
                f"Images must lie in [-1, 1] (a tanh generator's range; map [0, 1] images with x * 2 - 1), "
                f"got values in [{low:.3g}, {high:.3g}]."
            )
        features = torch.cat([self.classifier[:-1](chunk.to(self.device)) for chunk in images.split(1000)])
        return features.cpu(), self.classifier[-1](features).cpu()

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The classifier's penultimate features ``(N, F)`` of ``images``, on the CPU."""
        return self._classify(images)[0]

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted labels ``(N,)`` (int64, on the CPU) of ``images``."""
        return self._classify(images)[1].argmax(dim=1)

    def heldout_statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and covariance of the held-out images' features: the real-data reference of the Fréchet distance."""
        return self._heldout_statistics

    def evaluate(self, images: torch.Tensor, requested_labels: torch.Tensor | None = None) -> dict:
        """Every image metric of ``images``, N >= 2 (2000 gives stable numbers).

        Returns a dict: ``n``; ``frechet_distance`` to the held-out images (lower is better; compare only
        across equal N, as it is biased upwards for small N); ``classes_covered`` (classes predicted for at
        least ``COVERED_SHARE_OF_FAIR / K`` of the samples); ``class_kl``, KL(predicted class histogram ||
        uniform) in nats (0 for balanced classes, ``ln K`` = 2.30 when every sample is one class);
        ``class_counts`` (K ints); ``classifier_score`` (:func:`classifier_score`, 1 to K, higher is better);
        and, when ``requested_labels (N,)`` are given, ``label_accuracy``: the share classified as requested.
        """
        features, logits = self._classify(images)
        if images.shape[0] < 2:
            raise ValueError("Need at least 2 images to estimate a covariance (use ~2000 for stable numbers).")
        if requested_labels is not None and requested_labels.shape != (images.shape[0],):
            raise ValueError(f"requested_labels must have shape ({images.shape[0]},), got {requested_labels.shape}.")
        predicted = logits.argmax(dim=1)
        counts = torch.bincount(predicted, minlength=self.num_classes)
        share = counts.double() / counts.sum()
        result = {
            "n": images.shape[0],
            "frechet_distance": frechet_distance(*feature_statistics(features), *self._heldout_statistics),
            "classes_covered": int((share >= COVERED_SHARE_OF_FAIR / self.num_classes).sum()),
            "class_kl": torch.xlogy(share, share * self.num_classes).sum().item(),  # 0 log 0 = 0
            "class_counts": counts.tolist(),
            "classifier_score": classifier_score(logits.double().softmax(dim=1)),
        }
        if requested_labels is not None:
            result["label_accuracy"] = (predicted == requested_labels.cpu()).double().mean().item()
        return result

    def precision_recall(self, images: torch.Tensor, k: int = 5) -> dict[str, float]:
        """:func:`precision_recall` of ``images`` against N held-out images.

        The held-out images are drawn at random (always the same ones for the same N; all of them when N is
        larger): the two sets have equal sizes, as the k-NN balls depend on it.
        """
        real = self.heldout_features
        if len(images) < len(real):
            real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[: len(images)]]
        return precision_recall(real, self.features(images), k=k)

    def evaluate_generator(self, generator: nn.Module, n: int = 2000, num_classes: int = 0, seed: int = 0) -> dict:
        """:meth:`evaluate` on ``n`` images of ``generator`` (:func:`gannotes.models.sample`, noise from ``seed``).

        A conditional generator (``num_classes > 0``) is asked for every class equally often, and the result
        includes ``label_accuracy``.
        """
        labels = torch.arange(n) % num_classes if num_classes else None
        return self.evaluate(sample(generator, n, labels=labels, seed=seed), labels)

    def baselines(self, n: int = 2000) -> dict[str, dict]:
        """The metrics of two reference sets, to read a generator's numbers against.

        - ``"real"``: ``n`` images of ``course.train`` with their true labels; the classifier was trained on
          them, so this is a slightly optimistic best case.
        - ``"noise"``: ``n`` images of uniform noise in ``[-1, 1]``: a worst case.
        """
        rng = torch.Generator().manual_seed(0)
        train = self.course.train
        index = torch.randperm(len(train), generator=rng)[: min(n, len(train))]
        noise = torch.rand(n, *IMAGE_SHAPE, generator=rng) * 2 - 1
        return {"real": self.evaluate(train.images[index], train.labels[index]), "noise": self.evaluate(noise)}


def mode_metrics(samples: torch.Tensor, mixture: GaussianMixture2D) -> dict[str, float | int]:
    """Mode coverage and sample quality of 2-D ``samples (N, 2)`` (any device), as in VEEGAN and PacGAN.

    A sample is of **high quality** within ``HIGH_QUALITY_STDS`` (3) standard deviations of its nearest
    mode's mean (Euclidean distance). A mode is **covered** when it is the nearest mode of at least one
    high-quality sample (Srivastava et al., 2017, Sec. 5.1; Lin et al., 2018).
    Returns ``modes_covered`` (0 .. K) and ``high_quality_share`` (0 .. 1).
    """
    if samples.dim() != 2 or samples.shape[1] != 2 or samples.shape[0] == 0:
        raise ValueError(f"Expected samples of shape (N, 2) with N >= 1, got {tuple(samples.shape)}.")
    means = mixture.means.to(device=samples.device, dtype=samples.dtype)
    distance, nearest = torch.cdist(samples, means).min(dim=1)
    high_quality = distance < HIGH_QUALITY_STDS * mixture.std  # False for NaN samples
    return {
        "modes_covered": int(nearest[high_quality].unique().numel()),
        "high_quality_share": high_quality.float().mean().item(),
    }
