"""How a conditional GAN's label accuracy varies with the seed, at the notebooks' settings (benchmarks/README.md).

``--model cgan``: notebook 05's steps (``steps.cgan_d_step``, ``steps.cgan_g_step``). ``--model acgan``: notebook
06's (``steps.acgan_d_step``: the paper's loss with the generated images' class logits detached, so that D's class
head learns from real images only). ``--model acgan-paper``: D minimises the paper's -(L_S + L_C), the class loss on
real and on generated images. Each run: the laptop settings, one ``fit`` on MNIST
test images 0..7999; then the evaluator's label accuracy (2,000 samples), its reading of 200 samples per digit (the
worst digit), and the Fréchet distance. Two processes side by side with ``--threads 1`` on a 2-core machine::

    python benchmarks/bench_seeds.py --model acgan-paper --seeds 0-10 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time

import torch

os.environ.setdefault("GANNOTES_TRAIN_SPLIT", "test")

from gannotes import Evaluator, TrainConfig, course_data, fit, losses, sample, start, steps  # noqa: E402


def paper_d_step(G, D, d_optimizer, real, labels, z):
    """The paper's D step: the class loss trains D's class head on real *and* generated images."""
    fake_labels = steps.random_labels(G, len(z), z.device)
    fake = G(z, fake_labels)
    (real_logits, real_classes), (fake_logits, fake_classes) = D(real), D(fake.detach())
    loss = losses.acgan_discriminator_loss(real_logits, real_classes, labels, fake_logits, fake_classes, fake_labels)
    d_optimizer.zero_grad()
    loss.backward()
    d_optimizer.step()
    return (fake, fake_labels), {"d_loss": loss.detach()}


STEPS = {
    "cgan": (steps.cgan_d_step, steps.cgan_g_step),
    "acgan": (steps.acgan_d_step, steps.acgan_g_step),
    "acgan-paper": (paper_d_step, steps.acgan_g_step),
}


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=tuple(STEPS), default="acgan")
    parser.add_argument("--seeds", type=seeds, default=seeds("0-2"), help="a seed or a range, e.g. 0-10")
    parser.add_argument("--steps", type=int, default=2400, help="generator updates (notebooks 05 and 06: 2400)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    course = course_data("mnist")
    evaluator = Evaluator.for_dataset("mnist")
    asked = torch.arange(10).repeat_interleave(200)
    print("model        seed  label accuracy  worst digit  Fréchet distance  seconds")
    for seed in args.seeds:
        config = TrainConfig.for_model(args.model.removesuffix("-paper"), steps=args.steps, seed=seed)
        run = start(config, course.train.images, course.train.labels)
        began = time.perf_counter()
        fit(run, *STEPS[args.model], progress=False)
        seconds = time.perf_counter() - began
        scores = evaluator.evaluate_generator(run.G, n=2000, num_classes=10)
        read = evaluator.predict(sample(run.G, len(asked), labels=asked, seed=0))
        worst = min((read[asked == c] == c).float().mean().item() for c in range(10))
        print(
            f"{args.model:<12} {seed:>4} {scores['label_accuracy']:>15.3f} {worst:>12.3f} "
            f"{scores['frechet_distance']:>17.1f} {seconds:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
