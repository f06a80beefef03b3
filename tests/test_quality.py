"""Training really learns: short runs on real MNIST improve the evaluator's numbers.

These are the slowest package tests (about a minute on two cores): they train a DCGAN and a
conditional GAN briefly on the real MNIST test images 0..7999 and score them with the evaluator
on the held-out images 8000..9999.
"""

from __future__ import annotations

import pytest
import torch

from gannotes import data, steps
from gannotes.metrics import Evaluator
from gannotes.models import sample
from gannotes.train import TrainConfig, fit, start


@pytest.fixture(scope="module")
def course() -> data.CourseData:
    return data.course_data("mnist")


@pytest.fixture(scope="module")
def evaluator(course: data.CourseData) -> Evaluator:
    return Evaluator.for_dataset("mnist", device="cpu")


def test_short_dcgan_run_improves_on_the_untrained_generator(course, evaluator) -> None:
    run = start(TrainConfig.for_model("dcgan", "published", steps=300, device="cpu"), course.train.images)
    before = evaluator.evaluate_generator(run.G, n=1000)
    fit(run, steps.gan_d_step, steps.gan_g_step, progress=False)
    after = evaluator.evaluate_generator(run.G, n=1000)
    noise = evaluator.baselines(n=1000)["noise"]
    # Untrained samples are noise-like; 300 steps should at least halve the distance and spread
    # predictions over more classes.
    assert after["frechet_distance"] < 0.5 * before["frechet_distance"], (before, after)
    assert after["frechet_distance"] < 0.5 * noise["frechet_distance"]
    assert after["classes_covered"] >= max(before["classes_covered"], 6), (before, after)


def test_short_cgan_run_draws_the_requested_digits(course, evaluator) -> None:
    config = TrainConfig.for_model("cgan", "published", steps=300, device="cpu")
    run = start(config, course.train.images, course.train.labels)
    before = evaluator.evaluate_generator(run.G, n=1000, num_classes=10)
    fit(run, steps.cgan_d_step, steps.cgan_g_step, progress=False)
    after = evaluator.evaluate_generator(run.G, n=1000, num_classes=10)
    # Chance is 0.1: a generator that ignores its label gets about that.
    assert before["label_accuracy"] < 0.25
    assert after["label_accuracy"] > 0.5, after
    samples = sample(run.G, 10, labels=torch.arange(10))
    assert samples.shape == (10, 1, 28, 28)
