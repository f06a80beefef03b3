"""Training speed of gannotes' loop (``fit`` with the reference steps) against a textbook PyTorch GAN loop, in one run.

Two measurements, each for our loop ("ours") and for a plain baseline written the way tutorials
and pytorch/examples write it ("textbook": a torchvision-datasets-style Dataset over the same
tensors, a DataLoader, eager fp32, ``.item()`` on the losses every step):

1. Throughput: real training images consumed per second, for gan, dcgan, cgan, acgan, wgan and
   wgan-gp. Both arms train the *same* architecture at the *same* batch size, so the ratio is
   the implementation's speed alone.
2. Time to quality, for dcgan, cgan and acgan: train in chunks, evaluate between chunks with
   ``gannotes.metrics.Evaluator`` (evaluation time is not training time), stop when the target is
   met or the training-time budget (120 s) is spent. Each arm uses its own settings: ours the
   learner settings in ``RECOMMENDED`` (``--ours-defaults``: the presets), the textbook the
   published ones (batch 64, Adam 2e-4, betas (0.5, 0.999), fp32) on the same architecture.

   Targets: dcgan covers all 10 classes with a Frechet distance within 2x of the evaluator's
   real-data baseline; cgan and acgan reach a label accuracy >= 0.97.

Arms are interleaved (ours, textbook, textbook, ours, ...) and each figure is the median over
repetitions: other programs on the machine change absolute timings, ratios measured side by side
are what to trust. The load average is printed with every section.

Data: MNIST test images 0..7999 for training and 8000..9999 held out (``course_data`` with
``GANNOTES_TRAIN_SPLIT=test``, which this script sets), so it needs only the test split.

Usage (see benchmarks/README.md)::

    python benchmarks/bench_speed.py                 # everything, about 15 minutes on 2 cores
    python benchmarks/bench_speed.py --quick         # a 2-3 minute sanity run
    python benchmarks/bench_speed.py --models dcgan --no-quality
    python benchmarks/bench_speed.py --profile dcgan # our loop's top operators
    python benchmarks/bench_speed.py --device cuda --gpu-epoch   # one 60,000-image DCGAN epoch
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GANNOTES_TRAIN_SPLIT", "test")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from gannotes.data import course_data  # noqa: E402
from gannotes.steps import STEPS  # noqa: E402
from gannotes.train import MODELS, SETTINGS, TrainConfig, build_models, fit, start  # noqa: E402

QUALITY_MODELS = ("dcgan", "cgan", "acgan")
# Ours trains with the laptop settings of the notebooks (gannotes.train.SETTINGS["laptop"]: a narrower
# generator, lr 5e-4) in the time-to-quality runs (--ours-defaults: with the presets instead).
RECOMMENDED = {model: SETTINGS["laptop"][model] for model in QUALITY_MODELS}
WASSERSTEIN = ("wgan", "wgan-gp")
CLIP, GP_WEIGHT = 0.01, 10.0  # the papers' clipping bound and penalty weight, as in gannotes.steps
# Training seconds after which the arms are evaluated (an evaluation takes ~2 s and is not counted).
CHECKPOINTS = (20, 40, 60, 80, 100, 120, 150, 180, 210, 240, 270, 300)
# What training time is measured with: wall-clock seconds, or with --clock cpu this process's CPU
# seconds, which other programs on a busy machine barely change (meaningful with --threads 1).
CLOCK = [time.perf_counter]


# ----------------------------------------------------------------------------------------------
# The textbook baseline


class TensorMNIST(Dataset):
    """A torchvision-``datasets``-style dataset: one ``(image, target)`` per ``__getitem__``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable | None = None) -> None:
        self.data, self.targets, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        return img, target


class TextbookGAN:
    """The loop of pytorch/examples' DCGAN, generalised to the six variants, one step at a time.

    Same models as ours (:func:`gannotes.train.build_models`), eager fp32, a DataLoader that
    reshuffles every epoch, and every step reads its losses back with ``.item()``.
    """

    def __init__(self, config: TrainConfig, images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> None:
        torch.manual_seed(config.seed)
        self.cfg, self.device = config, device
        self.generator, self.discriminator = (m.to(device) for m in build_models(config))
        if config.optimizer == "rmsprop":
            self.opt_g = torch.optim.RMSprop(self.generator.parameters(), lr=config.lr_g)
            self.opt_d = torch.optim.RMSprop(self.discriminator.parameters(), lr=config.lr_d)
        else:
            self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=config.lr_g, betas=config.betas)
            self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr_d, betas=config.betas)
        self.loader = DataLoader(
            TensorMNIST(images, labels), batch_size=config.batch_size, shuffle=True, drop_last=True
        )
        self._batches = iter(self.loader)
        self.g_losses: list[float] = []
        self.d_losses: list[float] = []

    def _next(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            real, labels = next(self._batches)
        except StopIteration:
            self._batches = iter(self.loader)
            real, labels = next(self._batches)
        return real.to(self.device), labels.to(self.device)

    def _d(self, x: torch.Tensor, labels: torch.Tensor):
        return self.discriminator(x, labels) if self.cfg.model == "cgan" else self.discriminator(x)

    def _g(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels) if self.cfg.conditional else self.generator(z)

    def step(self) -> None:
        cfg, b = self.cfg, self.cfg.batch_size
        ones = torch.ones(b, device=self.device)
        zeros = torch.zeros(b, device=self.device)
        for _ in range(cfg.n_critic):
            real, real_labels = self._next()
            z = torch.randn(b, cfg.z_dim, device=self.device)
            fake_labels = torch.randint(cfg.num_classes, (b,), device=self.device)
            fake = self._g(z, fake_labels)
            self.discriminator.zero_grad()
            out_real, out_fake = self._d(real, real_labels), self._d(fake.detach(), fake_labels)
            if cfg.model == "acgan":
                loss_d = (
                    F.binary_cross_entropy_with_logits(out_real[0], ones)
                    + F.binary_cross_entropy_with_logits(out_fake[0], zeros)
                    + F.cross_entropy(out_real[1], real_labels)
                    + F.cross_entropy(out_fake[1], fake_labels)
                )
            elif cfg.model in WASSERSTEIN:
                loss_d = out_fake.mean() - out_real.mean()
                if cfg.model == "wgan-gp":
                    eps = torch.rand(b, 1, 1, 1, device=self.device)
                    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
                    grad = torch.autograd.grad(self._d(x_hat, real_labels).sum(), x_hat, create_graph=True)[0]
                    loss_d = loss_d + GP_WEIGHT * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
            else:
                loss_d = F.binary_cross_entropy_with_logits(out_real, ones) + F.binary_cross_entropy_with_logits(
                    out_fake, zeros
                )
            loss_d.backward()
            self.opt_d.step()
            if cfg.model == "wgan":
                for p in self.discriminator.parameters():
                    p.data.clamp_(-CLIP, CLIP)
            self.d_losses.append(loss_d.item())
        self.generator.zero_grad()
        out = self._d(fake, fake_labels)
        if cfg.model == "acgan":
            loss_g = F.binary_cross_entropy_with_logits(out[0], ones) + F.cross_entropy(out[1], fake_labels)
        elif cfg.model in WASSERSTEIN:
            loss_g = -out.mean()
        else:
            loss_g = F.binary_cross_entropy_with_logits(out, ones)
        loss_g.backward()
        self.opt_g.step()
        self.g_losses.append(loss_g.item())


# ----------------------------------------------------------------------------------------------
# The two arms behind one interface: train whole steps for about `seconds`, expose the generator


class Arm:
    name = ""

    def __init__(self, model: str, images: torch.Tensor, labels: torch.Tensor, device: torch.device, **cfg) -> None:
        raise NotImplementedError

    def run_steps(self, n: int) -> None:
        raise NotImplementedError

    def train_for(self, seconds: float) -> float:
        """Train whole steps for up to ``seconds``; return the training seconds actually spent.

        A step is started only if the last measured step time says it ends within ``seconds``, so
        a time-to-quality run does not creep past its budget (steps right after an evaluation run
        slower than the estimate, so calls aim at 90% of what is left).
        """
        spent = 0.0
        while spent < seconds and (not self.sec_per_step or seconds - spent >= self.sec_per_step):
            # Steps per call from the measured step time, so the clock is read rarely.
            n = max(1, min(200, int(0.9 * (seconds - spent) / self.sec_per_step))) if self.sec_per_step else 1
            t = CLOCK[0]()
            self.run_steps(n)
            _sync(self.device)
            dt = CLOCK[0]() - t
            self.sec_per_step = dt / n
            spent += dt
            self.steps += n
        return spent


class Ours(Arm):
    name = "ours"

    def __init__(self, model: str, images: torch.Tensor, labels: torch.Tensor, device: torch.device, **cfg) -> None:
        self.config = TrainConfig.for_model(model, "published", device=str(device), **cfg)
        self.device, self.steps, self.sec_per_step = device, 0, 0.0
        self.images_per_step = self.config.batch_size * self.config.n_critic
        self.run = start(self.config, images, labels if self.config.conditional else None)
        self.generator = self.run.G

    def run_steps(self, n: int) -> None:
        fit(self.run, *STEPS[self.config.model], steps=self.run.step + n, progress=False)


class Textbook(Arm):
    name = "textbook"

    def __init__(self, model: str, images: torch.Tensor, labels: torch.Tensor, device: torch.device, **cfg) -> None:
        self.config = TrainConfig.for_model(model, "published", device=str(device), **cfg)
        self.device, self.steps, self.sec_per_step = device, 0, 0.0
        self.images_per_step = self.config.batch_size * self.config.n_critic
        self.loop = TextbookGAN(self.config, images, labels, device)
        self.generator = self.loop.generator

    def run_steps(self, n: int) -> None:
        for _ in range(n):
            self.loop.step()


def textbook_settings(model: str, ours_settings: dict) -> dict:
    """The published settings a tutorial uses, on our architecture (same widths and z_dim as ours)."""
    ours = TrainConfig.for_model(model, "published", **ours_settings)
    settings = {
        "g_width": ours.g_width,
        "d_width": ours.d_width,
        "d_depth": ours.d_depth,
        "z_dim": ours.z_dim,
        "batch_size": 64,
    }
    if model not in WASSERSTEIN:  # the WGANs' presets already are their papers' settings
        settings.update(lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))
    return settings


# ----------------------------------------------------------------------------------------------
# Measurements


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def throughput(arm_class: type[Arm], model: str, images, labels, device, seconds: float, batch_size: int | None):
    """Images per second over about ``seconds`` of training, after a short warm-up."""
    overrides = {} if batch_size is None else {"batch_size": batch_size}
    arm = arm_class(model, images, labels, device, **overrides)
    arm.train_for(min(1.0, seconds / 3))  # warm-up: first-call allocations and kernel selection
    steps_before = arm.steps
    spent = arm.train_for(seconds)
    if arm.steps == steps_before:  # one step outlasts the window (a slow or busy machine): time one step alone
        start = CLOCK[0]()
        arm.run_steps(1)
        _sync(device)
        spent, arm.steps = CLOCK[0]() - start, arm.steps + 1
    return (arm.steps - steps_before) * arm.images_per_step / spent


def quality_target(model: str, baselines: dict) -> tuple[Callable[[dict], bool], str]:
    if model == "dcgan":
        limit = 2 * baselines["frechet_distance"]
        target = f"10 classes, FD <= {limit:.2f}"
        return (lambda m: m["classes_covered"] == 10 and m["frechet_distance"] <= limit), target
    return (lambda m: m["label_accuracy"] >= 0.97), "label accuracy >= 0.97"


def time_to_quality(arm: Arm, model: str, evaluator, met: Callable[[dict], bool], budget: float, eval_n: int):
    """Training seconds until ``met`` first holds (None if not within ``budget``), and the last metrics."""
    spent, metrics = 0.0, {}
    k = 10 if model in ("cgan", "acgan") else 0
    for checkpoint in [c for c in CHECKPOINTS if c < budget] + [budget]:
        spent += arm.train_for(checkpoint - spent)
        metrics = evaluator.evaluate_generator(arm.generator, eval_n, num_classes=k)
        if met(metrics) and spent <= budget:  # a run that crept past the budget did not meet it
            return spent, metrics, arm.steps
    return None, metrics, arm.steps


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def interleaved(reps: int) -> list[tuple[type[Arm], ...]]:
    """Arm order per repetition: ours first, then textbook first, and so on."""
    return [(Ours, Textbook) if r % 2 == 0 else (Textbook, Ours) for r in range(reps)]


# ----------------------------------------------------------------------------------------------
# Sections


def run_throughput(args, course, device) -> dict:
    print(f"\n== Throughput (images/s), {args.reps} repetitions of ~{args.seconds:g} s per arm; load {load_average()}")
    results = {}
    for model in args.models:
        batch = args.batch_size or TrainConfig.for_model(model, "published").batch_size
        runs: dict[str, list[float]] = {"ours": [], "textbook": []}
        for order in interleaved(args.reps):
            for arm in order:
                runs[arm.name].append(
                    throughput(arm, model, course.train.images, course.train.labels, device, args.seconds, batch)
                )
        ours, book = median(runs["ours"]), median(runs["textbook"])
        results[model] = {"batch_size": batch, "ours": runs["ours"], "textbook": runs["textbook"]}
        print(f"  {model:8s} batch {batch:4d}: ours {ours:8.0f}  textbook {book:8.0f}  ratio {ours / book:5.2f}x")
    print(f"  load after: {load_average()}")
    return results


def run_quality(args, course, device) -> dict:
    from gannotes.metrics import Evaluator

    t = time.perf_counter()
    evaluator = Evaluator.for_dataset("mnist")
    baselines = evaluator.baselines()["real"]  # real training images: the best a generator can look
    print(f"\n== Time to quality (training seconds, budget {args.budget:g} s), {args.quality_reps} repetitions")
    print(f"  evaluator ready in {time.perf_counter() - t:.1f} s; real-data baseline: {_fmt(baselines)}")
    print(f"  load {load_average()}")
    results = {}
    for model in [m for m in args.models if m in QUALITY_MODELS]:
        met, target = quality_target(model, baselines)
        print(f"  {model}: target {target}")
        runs: dict[str, list] = {"ours": [], "textbook": []}
        for rep, order in enumerate(interleaved(args.quality_reps)):
            for arm_class in [a for a in order if a.name in args.arms]:
                ours_settings = {} if args.ours_defaults else RECOMMENDED.get(model, {})
                settings = ours_settings if arm_class is Ours else textbook_settings(model, ours_settings)
                arm = arm_class(model, course.train.images, course.train.labels, device, seed=rep, **settings)
                seconds, metrics, steps = time_to_quality(arm, model, evaluator, met, args.budget, args.eval_n)
                runs[arm.name].append({"seconds": seconds, "steps": steps, "metrics": metrics})
                shown = f"{seconds:6.1f} s" if seconds is not None else f">{args.budget:g} s"
                batch = arm.config.batch_size
                print(f"    rep {rep} {arm.name:8s}: {shown} ({steps} steps, batch {batch}) {_fmt(metrics)}")
        results[model] = runs
    print(f"  load after: {load_average()}")
    return results


def _ttq_median(runs: list[dict], budget: float) -> str:
    """Median time to quality, counting a miss as 'more than the budget'."""
    if not runs:
        return "-"
    values = sorted(r["seconds"] if r["seconds"] is not None else float("inf") for r in runs)
    m = values[(len(values) - 1) // 2] if len(values) % 2 else values[len(values) // 2 - 1 : len(values) // 2 + 1]
    if isinstance(m, list):
        m = float("inf") if float("inf") in m else sum(m) / 2
    hits = sum(r["seconds"] is not None for r in runs)
    return (f">{budget:g}" if m == float("inf") else f"{m:.1f}") + f" ({hits}/{len(runs)} met)"


def _fmt(metrics: dict) -> str:
    shown = ("frechet_distance", "classes_covered", "class_kl", "label_accuracy")
    return ", ".join(f"{k}={metrics[k]:.3g}" for k in shown if k in metrics)


def run_profile(args, course, device) -> None:
    from torch.profiler import ProfilerActivity, profile

    model = args.profile
    arm = Ours(model, course.train.images, course.train.labels, device)
    arm.train_for(2.0)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        arm.train_for(args.seconds)
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"\n== Profile of ours, {model}, {arm.steps} steps in total; load {load_average()}")
    print(prof.key_averages().table(sort_by=sort, row_limit=args.profile_rows))


def run_gpu_epoch(args, device) -> dict:
    """One 60,000-image DCGAN epoch: the 10,000 test images repeated (or noise if absent)."""
    try:
        from gannotes.data import load_dataset

        base = load_dataset("mnist", "test", download=False)
        images, labels = base.images.repeat(6, 1, 1, 1), base.labels.repeat(6)
        source = "MNIST test split repeated 6x"
    except FileNotFoundError:
        images, labels = torch.rand(60000, 1, 28, 28) * 2 - 1, torch.randint(10, (60000,))
        source = "uniform noise"
    print(f"\n== One 60,000-image DCGAN epoch on {device} ({source}); load {load_average()}")
    results = {}
    for arm_class in (Ours, Textbook):
        for batch in args.gpu_batches:
            arm = arm_class("dcgan", images, labels, device, batch_size=batch)
            arm.run_steps(20)  # warm-up
            _sync(device)
            steps = 60000 // batch
            times = []
            for _ in range(args.reps):
                t = time.perf_counter()
                arm.run_steps(steps)
                _sync(device)
                times.append(time.perf_counter() - t)
            results[f"{arm.name}-b{batch}"] = times
            print(
                f"  {arm.name:8s} batch {batch:4d}: {median(times):6.2f} s/epoch (median of {len(times)}), "
                f"{steps * batch / median(times):8.0f} images/s"
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition, short windows, budget 60 s")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated, default: all six")
    parser.add_argument("--reps", type=int, help="throughput repetitions per arm (default 3, quick 1)")
    parser.add_argument("--quality-reps", type=int, help="time-to-quality repetitions (default 1)")
    parser.add_argument("--seconds", type=float, help="timed seconds per throughput run (default 3, quick 2)")
    parser.add_argument("--batch-size", type=int, default=None, help="throughput batch (default: ours' default)")
    parser.add_argument("--budget", type=float, help="training-seconds budget for quality (default 120, quick 60)")
    parser.add_argument("--eval-n", type=int, help="generated images per evaluation (default 2000, quick 1000)")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--arms", default="ours,textbook", help="time-to-quality arms (default both)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, mps")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="cpu: process CPU seconds")
    parser.add_argument("--ours-defaults", action="store_true", help="ours trains with the presets, not RECOMMENDED")
    parser.add_argument("--profile", metavar="MODEL", help="profile ours on MODEL instead of benchmarking")
    parser.add_argument("--profile-rows", type=int, default=15)
    parser.add_argument("--gpu-epoch", action="store_true", help="time one 60,000-image DCGAN epoch and exit")
    parser.add_argument("--gpu-batches", default="64,256", help="batch sizes for --gpu-epoch")
    parser.add_argument("--json", type=Path, help="also write all measurements to this file")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.gpu_batches = [int(b) for b in args.gpu_batches.split(",")]
    args.arms = [a.strip() for a in args.arms.split(",")]
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODELS)}")
    defaults = {"reps": (3, 1), "quality_reps": (1, 1), "seconds": (3.0, 2.0), "budget": (120.0, 60.0)}
    for name, (full, quick) in {**defaults, "eval_n": (2000, 1000)}.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    device = torch.device(args.device)

    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, device {device}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, {args.clock} clock; load {load_average()}"
    )
    report: dict = {"torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads()}
    if args.gpu_epoch:
        report["gpu_epoch"] = run_gpu_epoch(args, device)
    else:
        course = course_data("mnist")
        print(course.describe().replace("\n", "; "))
        if args.profile:
            run_profile(args, course, device)
            return 0
        started = time.perf_counter()
        if not args.no_throughput:
            report["throughput"] = run_throughput(args, course, device)
        if not args.no_quality:
            report["quality"] = run_quality(args, course, device)
        print_summary(args, report)
        print(f"\nTotal wall time {time.perf_counter() - started:.0f} s; load {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


def print_summary(args, report: dict) -> None:
    print("\n== Summary (medians)")
    if "throughput" in report:
        print(f"  {'model':8s} {'batch':>5s} {'ours img/s':>11s} {'textbook':>9s} {'ratio':>6s}")
        for model, r in report["throughput"].items():
            ours, book = median(r["ours"]), median(r["textbook"])
            print(f"  {model:8s} {r['batch_size']:5d} {ours:11.0f} {book:9.0f} {ours / book:5.2f}x")
    if "quality" in report:
        print(f"  {'model':8s} {'ours: s to target':>22s} {'textbook':>18s}")
        for model, runs in report["quality"].items():
            print(
                f"  {model:8s} {_ttq_median(runs['ours'], args.budget):>22s} "
                f"{_ttq_median(runs['textbook'], args.budget):>18s}"
            )


if __name__ == "__main__":
    sys.exit(main())
