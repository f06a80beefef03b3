"""Command line: ``python -m gannotes COMMAND`` (or ``gannotes COMMAND``).

- ``train --model dcgan [--steps N] [--out DIR] [--resume]``: train with the notebooks' laptop settings
  (``--settings published`` for the papers'), writing ``checkpoint.pt``, ``samples.png`` and
  ``metrics.json``. Every field of :class:`gannotes.train.TrainConfig` is a flag.
- ``sample --checkpoint DIR/checkpoint.pt [--n 64] [--label 3] [--out FILE.png]``: draw images.
- ``download NAME [--to FOLDER]``: fetch a dataset once (e.g. before a workshop) into ``data/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import signal
import sys
from pathlib import Path
from typing import Any

import torch

from . import __version__, data
from .device import get_device
from .models import sample
from .settings import write_atomically
from .steps import STEPS
from .train import (
    CHOICES,
    SETTINGS,
    CheckpointError,
    TrainConfig,
    TrainingDiverged,
    fit,
    generator_from_checkpoint,
    resume,
    start,
)

ENVIRONMENT = """environment variables:
  GANNOTES_DATA         a folder holding the datasets (see data/README.md)
  GANNOTES_CACHE        where the evaluator and saved runs are cached (default: data/cache)
  GANNOTES_DEVICE       force a device: cpu, cuda, cuda:N or mps
  GANNOTES_SMOKE=1      smoke mode: tiny sizes and step counts, for tests
  GANNOTES_TRAIN_SPLIT  'test' trains on MNIST test images 0..7999 (for machines without the train split)
"""


class _UsageError(Exception):
    """A mistake in the command's arguments: printed without a traceback."""


def _train(args: argparse.Namespace) -> int:
    out = Path(args.out or f"runs/{args.model}-{args.dataset}")
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists() and not args.resume:
        raise _UsageError(f"{checkpoint} already exists: pass --resume to continue it, or choose another --out.")
    if args.resume and not checkpoint.exists():
        raise _UsageError(f"--resume was given but {checkpoint} does not exist: train without --resume first.")
    given = {f.name: getattr(args, f.name) for f in _CONFIG_FIELDS if getattr(args, f.name) is not None}
    if not args.resume:
        config = TrainConfig.for_model(args.model, args.settings, **given)  # bad values stop here, before any data
    elif set(given) - {"steps", "device"}:
        ignored = ", ".join(sorted(set(given) - {"steps", "device"}))
        raise _UsageError(f"--resume continues a run with its own settings: drop {ignored}.")
    course = data.course_data(args.dataset)
    print(course.describe())
    labels = course.train.labels
    if args.resume:
        run = resume(checkpoint, course.train.images, labels, device=args.device)
        if run.config.model != args.model:
            raise _UsageError(
                f"{checkpoint} is a {run.config.model} run, not {args.model}: pass --model {run.config.model}."
            )
        if args.steps is not None and args.steps < run.step:
            raise _UsageError(f"{checkpoint} is already at step {run.step}: ask for --steps {run.step} or more.")
        target = args.steps if args.steps is not None else run.config.steps
    else:
        run = start(config, course.train.images, labels if config.conditional else None)
        target = config.steps
    if run.step >= target:
        print(f"{checkpoint} is already at step {run.step}: nothing to train. Ask for more with --steps.")
        return 0
    print(f"Training {run.config.model} on {run.device} from step {run.step} to {target}; output in {out}/")
    signal.signal(signal.SIGTERM, _raise_interrupt)  # a killed run (e.g. by a scheduler) saves like Ctrl-C
    try:
        fit(run, *STEPS[run.config.model], steps=target, out_dir=out)
    except KeyboardInterrupt:
        print(f"Continue with: python -m gannotes train --out {out} --resume", file=sys.stderr)
        return 130
    _save_grid(sample(run.G, 64, seed=run.config.seed), out / "samples.png")
    report: dict[str, Any] = {
        "model": run.config.model,
        "dataset": args.dataset,
        "data": course.describe(),
        "steps": run.step,
        "images_per_second": round(run.images_per_second(), 1),
        "device": str(run.device),
        "config": dataclasses.asdict(run.config),
    }
    if not args.no_eval:
        from .metrics import Evaluator

        evaluator = Evaluator.for_dataset(args.dataset, device=run.device)
        k = run.config.num_classes if run.config.conditional else 0
        report["generated"] = evaluator.evaluate_generator(run.G, n=args.eval_samples, num_classes=k)
        report["baselines"] = evaluator.baselines(n=args.eval_samples)
        print("Evaluator:", json.dumps(report["generated"]))
    text = json.dumps(report, indent=2, default=str) + "\n"
    write_atomically(out / "metrics.json", lambda f: f.write(text.encode()))
    print(f"Wrote {checkpoint}, {out / 'samples.png'} and {out / 'metrics.json'}")
    return 0


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _sample(args: argparse.Namespace) -> int:
    device = get_device(args.device)
    generator, config = generator_from_checkpoint(args.checkpoint, device)
    labels = None
    if args.label is not None:
        if not config.conditional:
            raise _UsageError(f"This checkpoint's model ({config.model}) is unconditional: drop --label.")
        if not 0 <= args.label < config.num_classes:
            raise _UsageError(f"--label must be between 0 and {config.num_classes - 1}, got {args.label}.")
        labels = torch.full((args.n,), args.label)
    _save_grid(sample(generator, args.n, labels=labels, seed=args.seed), Path(args.out))
    print(f"Wrote {args.n} samples to {args.out}")
    return 0


def _download(args: argparse.Namespace) -> int:
    try:
        folder = data.download_dataset(args.name, args.to)
    except Exception as err:  # noqa: BLE001 - network errors come in many types
        print(f"error: downloading {args.name} failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(f"{args.name} is in {folder}")
    return 0


def _save_grid(images: torch.Tensor, path: Path) -> None:
    from torchvision.utils import save_image

    buffer = io.BytesIO()
    save_image(images, buffer, format="png", nrow=8, normalize=True, value_range=(-1, 1))
    write_atomically(path, lambda f: f.write(buffer.getvalue()))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# Every TrainConfig field is a flag (--lr-g, --d-depth ...), except the model, which is its own flag.
_CONFIG_FIELDS = [f for f in dataclasses.fields(TrainConfig) if f.name != "model"]


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    for f in _CONFIG_FIELDS:
        flag, kind = "--" + f.name.replace("_", "-"), {"int": int, "float": float}.get(str(f.type), str)
        options: dict[str, Any] = {"help": f.metadata["help"], "default": None}
        if f.name in CHOICES:
            options.update(choices=CHOICES[f.name])
        elif f.name == "betas":
            options.update(type=float, nargs=2, metavar=("BETA1", "BETA2"))
        elif kind is int:
            options.update(type=_positive if f.name != "seed" else int)
        else:
            options.update(type=kind)
        parser.add_argument(flag, **options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gannotes",
        description="Train and sample the course's GANs.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gannotes {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        help="train a GAN; writes checkpoint.pt, samples.png, metrics.json",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--model", required=True, choices=tuple(SETTINGS["published"]))
    train.add_argument(
        "--settings",
        default="laptop",
        choices=tuple(SETTINGS),
        help="laptop (default: the notebooks' settings, fast on a CPU) or published (the papers')",
    )
    train.add_argument("--dataset", default="mnist", choices=sorted(data.DATASETS))
    train.add_argument("--out", help="output folder (default: runs/MODEL-DATASET)")
    train.add_argument("--resume", action="store_true", help="continue the checkpoint in --out (to --steps in all)")
    train.add_argument("--no-eval", action="store_true", help="skip the evaluator's metrics")
    train.add_argument("--eval-samples", type=_positive, default=2000)
    _add_config_flags(train.add_argument_group("training settings (default: those of --settings)"))
    train.set_defaults(run=_train)

    sample_parser = commands.add_parser("sample", help="draw a grid of images from a checkpoint", epilog=ENVIRONMENT)
    sample_parser.add_argument("--checkpoint", required=True, type=Path)
    sample_parser.add_argument("--n", type=_positive, default=64, help="how many images (default 64)")
    sample_parser.add_argument("--label", type=int, help="class to draw (conditional models only)")
    sample_parser.add_argument("--out", default="samples.png")
    sample_parser.add_argument("--seed", type=int, default=0)
    sample_parser.add_argument("--device")
    sample_parser.set_defaults(run=_sample)

    download = commands.add_parser("download", help="download a dataset (both splits) with torchvision")
    download.add_argument("name", choices=sorted(data.DATASETS), help="which dataset")
    download.add_argument("--to", default=None, help="folder to download into (default: the repo's data/)")
    download.set_defaults(run=_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (
        _UsageError,
        data.DatasetNotFoundError,
        data.CorruptDatasetError,
        CheckpointError,
        TrainingDiverged,
        FileNotFoundError,
        ValueError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
