"""Command line: ``python -m gannotes COMMAND`` (or ``gannotes COMMAND``).

- ``train --model dcgan --dataset mnist [--steps N] [--out DIR] [--resume]``: train, writing
  ``checkpoint.pt``, ``samples.png`` and ``metrics.json`` to the output folder.
- ``sample --checkpoint DIR/checkpoint.pt [--n 64] [--label 3] [--out FILE.png]``: draw images.
- ``download NAME [--to FOLDER]``: fetch a dataset once (e.g. before a workshop) into ``data/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from . import data
from .device import get_device


def _train(args: argparse.Namespace) -> int:
    from .train import GANTrainer, TrainConfig

    out = Path(args.out or f"runs/{args.model}-{args.dataset}")
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists() and not args.resume:
        raise _UsageError(f"{checkpoint} already exists: pass --resume to continue it, or choose another --out.")
    if args.resume and not checkpoint.exists():
        raise _UsageError(f"--resume was given but {checkpoint} does not exist.")
    course = data.course_data(args.dataset)
    print(course.describe())
    labels = course.train.labels
    if args.resume:
        trainer = GANTrainer.from_checkpoint(checkpoint, course.train.images, labels, out_dir=out, device=args.device)
        if args.steps is not None:
            trainer.config.steps = max(trainer.config.steps, args.steps)
    else:
        overrides = {k: v for k, v in vars(args).items() if k in _CONFIG_ARGS and v is not None}
        config = TrainConfig.for_model(args.model, **overrides)
        trainer = GANTrainer(config, course.train.images, labels if config.conditional else None, out_dir=out)
    print(f"Training {trainer.config.model} on {trainer.device} to step {trainer.config.steps}; output in {out}/")
    trainer.train()
    grid_labels = torch.arange(64) % trainer.config.num_classes if trainer.config.conditional else None
    _save_grid(trainer.sample(64, grid_labels), out / "samples.png")
    report = {
        "model": trainer.config.model,
        "dataset": args.dataset,
        "data": course.describe(),
        "steps": trainer.step,
        "images_per_second": round(trainer.images_per_second(), 1),
        "device": str(trainer.device),
        "config": vars(trainer.config),
    }
    if not args.no_eval:
        from .metrics import Evaluator

        evaluator = Evaluator.for_dataset(args.dataset, device=trainer.device)
        k = trainer.config.num_classes if trainer.config.conditional else 0
        report["generated"] = evaluator.evaluate_generator(trainer.generator, n=args.eval_samples, num_classes=k)
        report["baselines"] = evaluator.baselines(n=args.eval_samples)
        print("Evaluator:", json.dumps(report["generated"]))
    (out / "metrics.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"Wrote {checkpoint}, {out / 'samples.png'} and {out / 'metrics.json'}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from .train import generator_from_checkpoint

    device = get_device(args.device)
    generator, config = generator_from_checkpoint(args.checkpoint, device)
    labels = None
    if config.conditional:
        if args.label is not None and not 0 <= args.label < config.num_classes:
            raise _UsageError(f"--label must be between 0 and {config.num_classes - 1}, got {args.label}.")
        labels = (
            torch.full((args.n,), args.label) if args.label is not None else torch.arange(args.n) % config.num_classes
        )
    elif args.label is not None:
        raise _UsageError(f"This checkpoint's model ({config.model}) is unconditional: drop --label.")
    torch.manual_seed(args.seed)
    with torch.no_grad():
        z = torch.randn(args.n, config.z_dim).to(device)
        images = generator(z, labels.to(device)) if labels is not None else generator(z)
    _save_grid(images.float().cpu(), Path(args.out))
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

    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images, path, nrow=8, normalize=True, value_range=(-1, 1))


class _UsageError(Exception):
    """A mistake in the command's arguments: printed without a traceback."""


_CONFIG_ARGS = {"steps", "batch_size", "lr_g", "lr_d", "seed", "device", "z_dim", "g_width", "d_width", "d_depth"}


def build_parser() -> argparse.ArgumentParser:
    from .train import MODELS

    parser = argparse.ArgumentParser(prog="python -m gannotes", description="Train and sample the course's GANs.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a GAN; writes checkpoint.pt, samples.png, metrics.json")
    train.add_argument("--model", required=True, choices=MODELS)
    train.add_argument("--dataset", default="mnist", choices=sorted(data.DATASETS))
    train.add_argument("--out", help="output folder (default: runs/MODEL-DATASET)")
    train.add_argument("--resume", action="store_true", help="continue the checkpoint in --out")
    train.add_argument("--steps", type=int, help="total generator steps")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr-g", type=float)
    train.add_argument("--lr-d", type=float)
    train.add_argument("--z-dim", type=int)
    train.add_argument("--g-width", type=int)
    train.add_argument("--d-width", type=int)
    train.add_argument("--d-depth", type=int, choices=(2, 3), help="DCGAN discriminator blocks (default 2)")
    train.add_argument("--seed", type=int)
    train.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the best available)")
    train.add_argument("--no-eval", action="store_true", help="skip the evaluator's metrics")
    train.add_argument("--eval-samples", type=int, default=2000)
    train.set_defaults(run=_train)

    sample = commands.add_parser("sample", help="draw a grid of images from a checkpoint")
    sample.add_argument("--checkpoint", required=True, type=Path)
    sample.add_argument("--n", type=int, default=64)
    sample.add_argument("--label", type=int, help="class to draw (conditional models only)")
    sample.add_argument("--out", default="samples.png")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--device")
    sample.set_defaults(run=_sample)

    download = commands.add_parser("download", help="download a dataset (both splits) with torchvision")
    download.add_argument("name", choices=sorted(data.DATASETS), help="which dataset")
    download.add_argument("--to", default=None, help="folder to download into (default: the repo's data/)")
    download.set_defaults(run=_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .train import CheckpointError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (
        _UsageError,
        data.DatasetNotFoundError,
        data.CorruptDatasetError,
        CheckpointError,
        FileNotFoundError,
        ValueError,
        RuntimeError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
