#!/usr/bin/env python
"""Frames and training steps per second of the GAN playground (``gannotes.playground``), as its widget runs them.

A frame is what one tick of the widget's clock costs the kernel: ``steps_per_frame`` training steps, the view's data
(D on the heat-map grid, the mode metrics of 2,500 samples), the figure's update and its PNG. The browser only
shows the image. Training alone (no frames) is measured too. Usage::

    python benchmarks/bench_playground.py --threads 1
    python benchmarks/bench_playground.py --threads 2 --data ring grid --losses non-saturating WGAN-GP --seconds 5
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from gannotes.playground import LOSSES, Playground, PlaygroundFigure


def measure(playground: Playground, steps_per_frame: int, seconds: float) -> dict[str, float]:
    """Frames per second, steps per second and the milliseconds of each part of a frame, over ``seconds``."""
    figure = PlaygroundFigure(playground.view())
    parts = {"train": 0.0, "view": 0.0, "draw": 0.0}
    frames, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        t0 = time.perf_counter()
        playground.step(steps_per_frame)
        t1 = time.perf_counter()
        view = playground.view()
        t2 = time.perf_counter()
        figure.update(view)
        t3 = time.perf_counter()
        for name, seconds_taken in zip(parts, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            parts[name] += seconds_taken
        frames += 1
    elapsed = time.perf_counter() - began
    result = {"frames/s": frames / elapsed, "steps/s": frames * steps_per_frame / elapsed}
    return result | {f"ms {name}": 1000 * total / frames for name, total in parts.items()}


def training_only(playground: Playground, seconds: float) -> float:
    """Training steps per second with no drawing, in chunks of 50 steps."""
    steps, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        playground.step(50)
        steps += 50
    return steps / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the notebooks use 1)")
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per measurement")
    parser.add_argument("--data", nargs="+", default=["ring"], help="ring, grid, moons, spiral")
    parser.add_argument("--losses", nargs="+", default=["non-saturating", "WGAN-GP"], choices=list(LOSSES))
    parser.add_argument("--steps-per-frame", nargs="+", type=int, default=[1, 5, 10])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    header = f"{'data':>8} {'loss':>15} {'n_critic':>8} {'steps/frame':>11} {'frames/s':>9} {'steps/s':>8}"
    print(header + f" {'ms train':>9} {'ms view':>8} {'ms draw':>8}")
    for data in args.data:
        for loss in args.losses:
            n_critic = 5 if loss == "WGAN-GP" else 1
            playground = Playground(data, loss=loss, n_critic=n_critic)
            playground.step(20)  # past the first steps' allocations
            for steps_per_frame in args.steps_per_frame:
                r = measure(playground, steps_per_frame, args.seconds)
                print(
                    f"{data:>8} {loss:>15} {n_critic:>8} {steps_per_frame:>11} {r['frames/s']:>9.1f} "
                    f"{r['steps/s']:>8.0f} {r['ms train']:>9.1f} {r['ms view']:>8.1f} {r['ms draw']:>8.1f}"
                )
            alone = training_only(playground, args.seconds)
            print(f"{data:>8} {loss:>15} {n_critic:>8} {'no frames':>11} {'':>9} {alone:>8.0f}")


if __name__ == "__main__":
    main()
