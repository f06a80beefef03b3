"""How good is a generator? Numbers from a small classifier the package trains itself.

Image metrics (MNIST, Fashion-MNIST) come from an :class:`Evaluator`: a small CNN trained on the
course's training images (never on the held-out ones); its penultimate layer gives the features.

- ``frechet_distance``: the Fréchet distance between Gaussians fitted to the features of the samples
  and of the held-out real images. It is FID's formula (Heusel et al., 2017) with this classifier in
  place of Inception: nothing to download, and its features know about digits. Compare numbers
  only across the same evaluator and the same ``n``: the estimate is biased upwards for small ``n``.
- ``classes_covered``, ``class_kl``, ``class_counts``: how the predicted classes spread out; mode
  collapse shows here.
- ``label_accuracy``: for a conditional generator, how often it draws the class it was asked for.
- ``classifier_score``: the inception score's formula with this classifier's 10 classes in place of
  Inception's 1000 (:func:`classifier_score`, between 1 and 10).
- :func:`precision_recall`: k-nearest-neighbour precision and recall in feature space (Kynkäänniemi
  et al., 2019), with density and coverage (Naeem et al., 2020): quality and diversity as separate numbers.

The 2-D mixtures of :mod:`gannotes.mixtures` get :func:`mode_metrics` (the VEEGAN / PacGAN protocol).
"""

from __future__ import annotations

import hashlib
import time
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
CACHE_VERSION = 1
#: A class counts as covered when at least this share of its fair share ``1 / K`` of the samples is
#: predicted as it: 1% of samples for 10 classes. A handful of misclassified samples is not a mode.
COVERED_SHARE_OF_FAIR = 0.1
#: VEEGAN / PacGAN: a 2-D sample is of high quality within this many standard deviations of a mode.
HIGH_QUALITY_STDS = 3.0

Array = torch.Tensor | np.ndarray


# --------------------------------------------------------------------------------------------
# The Fréchet distance


def frechet_distance(mu1: Array, sigma1: Array, mu2: Array, sigma2: Array) -> float:
    """Fréchet (2-Wasserstein) distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``, with means ``(D,)`` and covariances
    ``(D, D)``. It is 0 for identical Gaussians and never negative. Computed in float64 on the CPU.

    ``S1 S2`` is not symmetric, and a general matrix square root of it (scipy's ``sqrtm``) can come
    back complex from rounding alone. Its trace equals that of the *symmetric* positive semi-definite
    ``(sqrt(S1) S2 sqrt(S1))^(1/2)`` (the two products have the same eigenvalues), and the trace of a
    square root is the sum of the square roots of the eigenvalues: two ``eigh`` calls suffice.
    """
    mu1, sigma1, mu2, sigma2 = (torch.as_tensor(a).detach().cpu().double() for a in (mu1, sigma1, mu2, sigma2))
    dim = mu1.shape[0]
    if mu1.shape != (dim,) or mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(
            f"Expected means (D,) and covariances (D, D), got {tuple(mu1.shape)}, {tuple(sigma1.shape)}, "
            f"{tuple(mu2.shape)}, {tuple(sigma2.shape)}."
        )
    # One thread: LAPACK's eigensolvers gain nothing from threads on a 128x128 matrix, and on a busy
    # 2-core machine their many tiny parallel regions made one call take ~1 s instead of ~3 ms.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sqrt_sigma1 = _psd_sqrt(sigma1)
        middle = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
        eigenvalues = torch.linalg.eigvalsh((middle + middle.T) / 2)  # symmetrise away rounding
    finally:
        torch.set_num_threads(threads)
    trace_sqrt = eigenvalues.clamp(min=0).sqrt().sum()  # tiny negative eigenvalues are rounding
    diff = mu1 - mu2
    distance = diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)  # identical Gaussians can round to -1e-12


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix: ``V diag(sqrt(w)) V^T``."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(F,)`` and covariance ``(F, F)`` (unbiased, as in FID) of ``features (N, F)``, float64 on the CPU."""
    if features.dim() != 2 or features.shape[0] < 2:
        raise ValueError(f"Need features of shape (N, F) with N >= 2, got {tuple(features.shape)}.")
    features = features.detach().cpu().double()
    return features.mean(dim=0), torch.cov(features.T)


# --------------------------------------------------------------------------------------------
# The classifier score (the inception score's formula) and k-NN precision / recall


def classifier_score(probabilities: Array) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))``: the inception score (Salimans et al., 2016) of any classifier.

    ``probabilities (N, K)``: one predicted distribution ``p(y|x)`` per sample (non-negative rows summing
    to 1: softmax outputs, not logits); ``p(y)`` is their mean over the N samples. The score lies in
    ``[1, K]``: it is K when every sample is classified with certainty and the classes are equally
    frequent, and 1 when every row is the same (one class, or the same doubt everywhere). It never
    looks at real data, so it cannot tell copies of the training set, or one perfect image per class,
    from a good generator. Computed in float64 on all N at once (Salimans et al. average over 10 splits).
    """
    p = torch.as_tensor(probabilities).detach().cpu().double()
    if p.dim() != 2 or p.shape[0] == 0 or p.shape[1] < 1:
        raise ValueError(f"Expected probabilities of shape (N, K) with N >= 1, got {tuple(p.shape)}.")
    if not ((p >= 0).all() and torch.allclose(p.sum(dim=1), torch.ones(len(p), dtype=p.dtype), atol=1e-4)):
        raise ValueError("Each row must be a probability distribution (>= 0, sums to 1): pass softmax(logits).")
    marginal = p.mean(dim=0)
    # KL(p || m) = sum p log p - p log m, with 0 log 0 = 0 (xlogy); m > 0 wherever p > 0.
    kl = (torch.xlogy(p, p) - torch.xlogy(p, marginal)).sum(dim=1)
    return kl.mean().exp().item()


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(A, B)`` Euclidean distances, each computed from its own pair's differences.

    The faster ``|a|^2 + |b|^2 - 2 a.b`` form rounds differently depending on the rest of the batch and
    on the processor's kernels, so a point could sit a rounding error inside or outside a ball of
    exactly its own distance. Computed from the differences, equal pairs give bit-identical distances
    and a point's distance to itself is exactly 0, on every machine.
    """
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _kth_neighbour_distance(points: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """``(N,)``: each point's distance to its k-th nearest *other* point of the same set."""
    radii = [_distances(block, points).topk(k + 1, dim=1, largest=False).values[:, k] for block in points.split(chunk)]
    return torch.cat(radii)


def _inside_balls(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    """``(Q, C)`` bool: query q lies in the closed ball of centre c and radius ``radii[c]``."""
    return torch.cat([_distances(block, centres) <= radii for block in queries.split(chunk)])


def precision_recall(
    real_features: torch.Tensor, fake_features: torch.Tensor, k: int = 5, chunk: int = 2048
) -> dict[str, float]:
    """k-NN precision and recall (Kynkäänniemi et al., 2019), density and coverage (Naeem et al., 2020).

    ``k = 5`` as Naeem et al. recommend (Kynkäänniemi et al. used 3): larger balls, real-vs-real scores
    nearer 1, and more room for outliers to inflate precision.

    ``real_features (N, F)`` and ``fake_features (M, F)``, compared in float64 Euclidean distance. Each
    real feature gets a ball reaching its k-th nearest other real feature: together the balls are an
    estimate of where real data lives (its manifold). Likewise for the fakes. Returns:

    - ``precision`` in [0, 1]: share of fakes inside at least one real ball (quality, fidelity);
    - ``recall`` in [0, 1]: share of reals inside at least one *fake* ball (diversity);
    - ``density`` in [0, N / k]: real balls containing each fake, averaged, divided by k; about 1
      when fakes are distributed like the reals (exactly (k + 1) / k for two identical sets without
      ties); below 1 for fakes off the manifold, above 1 for fakes crowded where reals are dense;
    - ``coverage`` in [0, 1]: share of real balls holding at least one fake (diversity, and unlike
      recall it ignores fakes that stray).

    Ties: balls are closed (a point exactly at the radius is inside), and distances are computed so that
    equal pairs of points give exactly equal distances (see :func:`_distances`), so a copy of a real
    point always lies in that point's ball and in the same balls as the point itself, whatever the
    processor. Compare sets of equal size: the balls shrink as N grows. ``chunk`` rows are compared at a time.
    """
    real, fake = (torch.as_tensor(x).detach().cpu().double() for x in (real_features, fake_features))
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"Expected features (N, F) and (M, F), got {tuple(real.shape)} and {tuple(fake.shape)}.")
    if not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"k must be at least 1 and below both set sizes ({len(real)}, {len(fake)}), got {k}.")
    real_radii = _kth_neighbour_distance(real, k, chunk)
    fake_radii = _kth_neighbour_distance(fake, k, chunk)
    fake_in_real = _inside_balls(fake, real, real_radii, chunk)  # (M, N)
    real_in_fake = _inside_balls(real, fake, fake_radii, chunk)  # (N, M)
    return {
        "precision": fake_in_real.any(dim=1).double().mean().item(),
        "recall": real_in_fake.any(dim=1).double().mean().item(),
        "density": fake_in_real.sum().item() / (k * len(fake)),
        "coverage": fake_in_real.any(dim=0).double().mean().item(),
    }


# --------------------------------------------------------------------------------------------
# The classifier


class Classifier(nn.Module):
    """A small CNN: ``images (B, 1, 28, 28)`` in ``[-1, 1]`` -> class logits ``(B, num_classes)``.

    ``trunk``: two stages of 3x3 convolution, ReLU and 2x2 max-pooling (28 -> 14 -> 7), then a linear
    ReLU layer of ``feature_dim`` units: the features ``(B, feature_dim)`` the Fréchet distance compares.
    ``head``: a linear layer from the features to the logits.
    """

    def __init__(self, num_classes: int = 10, feature_dim: int = 128) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(images))


def _new_classifier(num_classes: int) -> Classifier:
    """A classifier with a fixed initialisation, drawn without touching the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return Classifier(num_classes)


def train_classifier(
    classifier: Classifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    device: torch.device,
    batch_size: int = 64,
) -> None:
    """Train ``classifier`` in place: Adam on cross-entropy, minibatches drawn on ``device``."""
    batches = BatchSource(images, labels, batch_size=batch_size, device=device, seed=0)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    classifier.to(device).train()
    for _ in range(steps):
        x, y = next(batches)
        loss = F.cross_entropy(classifier(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    classifier.eval()


@torch.no_grad()
def _classify(
    classifier: Classifier, images: torch.Tensor, device: torch.device, batch_size: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(N, F)`` and class logits ``(N, K)``, on the CPU, in eval mode, batch by batch."""
    classifier.eval()
    features, logits = [], []
    for chunk in images.split(batch_size):
        h = classifier.trunk(chunk.to(device))
        features.append(h.cpu())
        logits.append(classifier.head(h).cpu())
    return torch.cat(features), torch.cat(logits)


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"Expected images as a tensor of shape (N, 1, 28, 28), got {shape}.")
    if images.shape[0] == 0 or not images.is_floating_point():
        raise ValueError(f"Expected a non-empty float tensor of images, got {images.shape[0]} of {images.dtype}.")
    low, high = images.min().item(), images.max().item()
    if not -1.001 <= low <= high <= 1.001:  # also false for NaN; the margin allows float rounding
        raise ValueError(
            f"Images must lie in [-1, 1] (a tanh generator's range; map [0, 1] images with x * 2 - 1), "
            f"got values in [{low:.3g}, {high:.3g}]."
        )


# --------------------------------------------------------------------------------------------
# The evaluator


class Evaluator:
    """A trained classifier and the metrics computed from it. Build one with :meth:`for_dataset`.

    Attributes: ``classifier``, ``course`` (the images it was trained on and the held-out ones),
    ``device``, ``num_classes`` and ``heldout_accuracy`` (the classifier's accuracy on the held-out images).
    """

    def __init__(self, classifier: Classifier, course: CourseData, device: torch.device, heldout_accuracy: float):
        self.classifier = classifier.to(device).eval()
        self.course = course
        self.device = device
        self.num_classes = course.train.num_classes
        self.heldout_accuracy = heldout_accuracy
        self._heldout_features: torch.Tensor | None = None
        self._heldout_statistics: tuple[torch.Tensor, torch.Tensor] | None = None

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
        classifier = _new_classifier(course.train.num_classes)
        accuracy = _load_cached(classifier, path, key)
        if accuracy is not None:
            print(
                f"Evaluator: loaded {path.name} (trained on {course.train.description}); "
                f"held-out accuracy {accuracy:.2%}."
            )
            return cls(classifier, course, device, accuracy)
        start = time.perf_counter()
        classifier = _new_classifier(course.train.num_classes)  # a failed load may have changed some weights
        train_classifier(classifier, course.train.images, course.train.labels, steps, device)
        _, logits = _classify(classifier, course.heldout.images, device)
        accuracy = (logits.argmax(dim=1) == course.heldout.labels).float().mean().item()
        save_atomically({"key": key, "state_dict": classifier.state_dict(), "heldout_accuracy": accuracy}, path)
        print(
            f"Evaluator: trained a classifier on {course.train.description} ({steps} steps, "
            f"{time.perf_counter() - start:.0f} s); held-out accuracy {accuracy:.2%}; cached as {path}."
        )
        return cls(classifier, course, device, accuracy)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The classifier's penultimate features of ``images (N, 1, 28, 28)`` in ``[-1, 1]``: ``(N, F)`` on the CPU."""
        _check_images(images)
        return _classify(self.classifier, images, self.device)[0]

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted labels ``(N,)`` (int64, on the CPU) of ``images (N, 1, 28, 28)`` in ``[-1, 1]``."""
        _check_images(images)
        return _classify(self.classifier, images, self.device)[1].argmax(dim=1)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """The classifier's ``p(y|x)``, ``(N, K)`` on the CPU, of ``images (N, 1, 28, 28)`` in ``[-1, 1]``."""
        _check_images(images)
        return _classify(self.classifier, images, self.device)[1].softmax(dim=1)

    def heldout_features(self) -> torch.Tensor:
        """The held-out images' features ``(N_heldout, F)``: the real data every metric compares with, computed once."""
        if self._heldout_features is None:
            self._heldout_features = _classify(self.classifier, self.course.heldout.images, self.device)[0]
        return self._heldout_features

    def heldout_statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and covariance of the held-out images' features: the real-data reference, computed once."""
        if self._heldout_statistics is None:
            self._heldout_statistics = feature_statistics(self.heldout_features())
        return self._heldout_statistics

    def evaluate(self, images: torch.Tensor, requested_labels: torch.Tensor | None = None) -> dict:
        """Every image metric of ``images (N, 1, 28, 28)`` in ``[-1, 1]``, N >= 2 (2000 gives stable numbers).

        Returns a dict: ``n``; ``frechet_distance`` to the held-out images (lower is better);
        ``classes_covered`` (classes predicted for at least ``COVERED_SHARE_OF_FAIR / K`` of the
        samples); ``class_kl``, KL(predicted class histogram || uniform) in nats (0 for perfectly
        balanced classes, ``ln K`` = 2.30 when every sample is one class); ``class_counts`` (K ints);
        ``classifier_score`` (:func:`classifier_score`, 1 to K, higher is better); and, when
        ``requested_labels (N,)`` are given, ``label_accuracy``: the share classified as requested.
        """
        _check_images(images)
        if images.shape[0] < 2:
            raise ValueError("Need at least 2 images to estimate a covariance (use ~2000 for stable numbers).")
        features, logits = _classify(self.classifier, images, self.device)
        predicted = logits.argmax(dim=1)
        counts = torch.bincount(predicted, minlength=self.num_classes)
        share = counts.double() / counts.sum()
        nonzero = share[share > 0]
        result = {
            "n": images.shape[0],
            "frechet_distance": frechet_distance(*feature_statistics(features), *self.heldout_statistics()),
            "classes_covered": int((share >= COVERED_SHARE_OF_FAIR / self.num_classes).sum()),
            "class_kl": (nonzero * (nonzero * self.num_classes).log()).sum().item(),
            "class_counts": counts.tolist(),
            "classifier_score": classifier_score(logits.double().softmax(dim=1)),
        }
        if requested_labels is not None:
            if requested_labels.shape != predicted.shape:
                raise ValueError(
                    f"requested_labels must have shape {tuple(predicted.shape)}, got {requested_labels.shape}."
                )
            result["label_accuracy"] = (predicted == requested_labels.cpu()).double().mean().item()
        return result

    def precision_recall(self, images: torch.Tensor, k: int = 5) -> dict[str, float]:
        """:func:`precision_recall` of ``images (N, 1, 28, 28)`` in ``[-1, 1]`` against N held-out images.

        The held-out images are drawn at random (always the same ones for the same N; all of them when
        N is larger): the two sets have equal sizes, as the k-NN balls depend on it.
        """
        real = self.heldout_features()
        if len(images) < len(real):
            real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[: len(images)]]
        return precision_recall(real, self.features(images), k=k)

    def generate(
        self, generator: nn.Module, n: int = 2000, num_classes: int = 0, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n`` images from ``generator`` (:func:`gannotes.models.sample`, noise from ``seed``, so they repeat)
        and the labels asked for: every class equally often when ``num_classes > 0``, else None.
        """
        labels = torch.arange(n) % num_classes if num_classes else None
        return sample(generator, n, labels=labels, seed=seed), labels

    def evaluate_generator(self, generator: nn.Module, n: int = 2000, num_classes: int = 0, seed: int = 0) -> dict:
        """:meth:`evaluate` on the ``n`` images of :meth:`generate` (same arguments).

        A conditional generator (``num_classes > 0``) is asked for every class equally often, and the
        result includes ``label_accuracy``.
        """
        return self.evaluate(*self.generate(generator, n, num_classes, seed))

    def baselines(self, n: int = 2000) -> dict[str, dict]:
        """The metrics of two reference sets, to read a generator's numbers against.

        - ``"real"``: ``n`` real images drawn from ``course.train`` (not held out), with their true labels.
          The classifier was trained on them, so this is a slightly optimistic best case.
        - ``"noise"``: ``n`` images of uniform noise in ``[-1, 1]``: a worst case.
        """
        rng = torch.Generator().manual_seed(0)
        train = self.course.train
        index = torch.randperm(len(train), generator=rng)[: min(n, len(train))]
        noise = torch.rand(n, *IMAGE_SHAPE, generator=rng) * 2 - 1
        return {"real": self.evaluate(train.images[index], train.labels[index]), "noise": self.evaluate(noise)}


def _load_cached(classifier: Classifier, path: Path, key: str) -> float | None:
    """Load cached weights into ``classifier``; the cached held-out accuracy, or None when there is no usable cache."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["key"] != key:  # a renamed or copied file
            raise ValueError(f"it was made for key {saved['key']!r}")
        classifier.load_state_dict(saved["state_dict"])
        return float(saved["heldout_accuracy"])
    except Exception as err:  # noqa: BLE001 - a cache we cannot read is retrained, whatever went wrong
        print(f"Evaluator: the cached {path} is unusable ({type(err).__name__}: {err}); deleting it and retraining.")
        path.unlink(missing_ok=True)
        return None


# --------------------------------------------------------------------------------------------
# 2-D mixtures


def mode_metrics(samples: torch.Tensor, mixture: GaussianMixture2D) -> dict[str, float | int]:
    """Mode coverage and sample quality of 2-D ``samples (N, 2)`` (any device), as in VEEGAN and PacGAN.

    A sample is of **high quality** when it lies within ``HIGH_QUALITY_STDS`` (3) standard deviations
    of its nearest mode's mean (Euclidean distance < 3 std). A mode is **covered** when at least one
    high-quality sample has it as its nearest mode. VEEGAN (Srivastava et al., 2017, Sec. 5.1): "the
    number of mixture components whose mean is nearest to at least one high quality sample"; PacGAN
    (Lin et al., 2018) uses the same protocol and its code counts exactly this.

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
