"""Command line: ``python -m gannotes start|train|sample|download|doctor|prepare``; ``--help`` on each says more.

``train`` uses the notebooks' laptop settings (every :class:`~gannotes.train.TrainConfig` field is a flag) and writes
``checkpoint.pt``, ``samples.png`` and ``metrics.json``; ``sample`` draws from a checkpoint; ``download`` a dataset.
``torchrun --nproc_per_node N -m gannotes train ...`` trains on N processes (GPUs), rank 0 printing and writing.
``prepare`` runs the notebooks that train the course's models, so that slow laptops can load their saved runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from . import __version__, data
from . import doctor as gannotes_doctor
from .device import get_device
from .models import sample
from .settings import runs_dir, write_atomically
from .steps import STEPS
from .train import (
    MODELS,
    SETTINGS,
    TrainConfig,
    TrainingDiverged,
    fit,
    generator_from_checkpoint,
    processes,
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
# Every TrainConfig field but the model is a flag (--lr-g, --d-depth ...).
CONFIG_FIELDS = [f for f in dataclasses.fields(TrainConfig) if f.name != "model"]


DATA_FLAGS = ("dataset", "image_size", "max_images")


def _data_of_the_run(args: argparse.Namespace, out: Path) -> None:
    """Fill the data flags: on --resume from the run's data.json (a different value is an error), else defaults."""
    saved = json.loads((out / "data.json").read_text()) if args.resume and (out / "data.json").exists() else {}
    for name in DATA_FLAGS:
        given = getattr(args, name)
        if given is not None and saved.get(name, given) != given:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{out} was trained with {flag} {saved[name]}: drop {flag} {given} to continue it.")
        setattr(args, name, saved.get(name) if given is None else given)
    args.dataset = args.dataset or "mnist"


def _train(args: argparse.Namespace) -> int:
    if args.model is None and not (args.resume and args.out):
        raise ValueError("Choose a model with --model, or continue the run in --out with --resume.")
    out = Path(args.out or f"runs/{args.model}-{Path((args.dataset or 'mnist').removeprefix('folder:')).name}")
    checkpoint = out / "checkpoint.pt"
    _data_of_the_run(args, out)
    if checkpoint.exists() and not args.resume:
        raise ValueError(f"{checkpoint} already exists: pass --resume to continue it, or choose another --out.")
    if args.resume and not checkpoint.exists():
        raise ValueError(f"--resume was given but {checkpoint} does not exist: train without --resume first.")
    given = {f.name: getattr(args, f.name) for f in CONFIG_FIELDS if getattr(args, f.name) is not None}
    if args.resume and set(given) - {"steps", "device"}:
        ignored = ", ".join(sorted(set(given) - {"steps", "device"}))
        raise ValueError(f"--resume continues a run with its own settings: drop {ignored}.")
    config = None if args.resume else TrainConfig.for_model(args.model, args.settings, **given)  # before any data
    size = args.image_size or (28 if args.dataset in data.DATASETS else 32)  # MNIST's own size, else DCGAN's 32
    course = data.image_data(args.dataset, size, limit=args.max_images)
    print(course.describe())
    if args.resume:
        run = resume(checkpoint, course.train.images, course.train.labels, device=args.device)
        if args.model not in (None, run.config.model):
            raise ValueError(
                f"{checkpoint} is a {run.config.model} run, not {args.model}: pass --model {run.config.model}."
            )
    else:
        run = start(config, course.train.images, course.train.labels if config.conditional else None)
    target = args.steps or run.config.steps
    rank, world = processes()
    if rank == 0 and not args.resume:  # what --resume reads back, so a run continues on the data it started with
        text = json.dumps({name: getattr(args, name) for name in DATA_FLAGS})
        write_atomically(out / "data.json", lambda f: f.write(text.encode()))
    where, batch = str(run.device), f"batch {run.config.batch_size}"
    if world > 1:
        where, batch = f"{world} processes ({run.device.type})", f"{batch} ({run.config.batch_size // world} each)"
    print(f"Training {run.config.model} on {where}, {batch}, from step {run.step} to {target}; output in {out}/")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a killed run (e.g. by a scheduler) saves like Ctrl-C
    try:
        fit(run, *STEPS[run.config.model], steps=target, out_dir=out, progress=rank == 0)
    except KeyboardInterrupt:
        if rank == 0:
            launcher = f"torchrun --nproc_per_node {world} -m gannotes" if world > 1 else "python -m gannotes"
            print(f"Continue with: {launcher} train --out {out} --resume", file=sys.stderr)
        return 130
    if rank != 0:  # rank 0 writes the samples and the report
        return 0
    _save_grid(sample(run.G, 64, seed=run.config.seed), out / "samples.png")
    report = {"model": run.config.model, "dataset": args.dataset, "image_size": size, "data": course.describe()}
    report["steps"] = run.step
    report.update(images_per_second=round(run.images_per_second(), 1), device=str(run.device), processes=world)
    report["config"] = dataclasses.asdict(run.config)
    if not args.no_eval and args.dataset not in data.DATASETS:
        print(f"No evaluator for {args.dataset}: its classifier knows MNIST and Fashion-MNIST only.")
    elif not args.no_eval:
        from .metrics import Evaluator

        evaluator = Evaluator.for_dataset(args.dataset, device=run.device)
        k = run.config.num_classes if run.config.conditional else 0
        labels = torch.arange(args.eval_samples) % k if k else None
        images = data.to_28(sample(run.G, args.eval_samples, labels=labels, seed=0))  # the evaluator's 28x28
        report["generated"] = evaluator.evaluate(images, labels)
        report["baselines"] = evaluator.baselines(n=args.eval_samples)
        print("Evaluator:", json.dumps(report["generated"]))
    text = json.dumps(report, indent=2, default=str) + "\n"
    write_atomically(out / "metrics.json", lambda f: f.write(text.encode()))
    print(f"Wrote {checkpoint}, {out / 'samples.png'} and {out / 'metrics.json'}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    generator, config = generator_from_checkpoint(args.checkpoint, get_device(args.device))
    labels = None
    if args.label is not None:
        if not config.conditional:
            raise ValueError(f"This checkpoint's model ({config.model}) is unconditional: drop --label.")
        if not 0 <= args.label < config.num_classes:
            raise ValueError(f"--label must be between 0 and {config.num_classes - 1}, got {args.label}.")
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


def _start(args: argparse.Namespace) -> int:
    """Copy the exercise notebooks into work/ (never over a learner's copy), then open JupyterLab there."""
    repo = data.repo_data_dir().parent
    work = Path(args.work or repo / "work")
    work.mkdir(parents=True, exist_ok=True)
    new = [p for p in sorted((repo / "notebooks").glob("*.ipynb")) if not (work / p.name).exists()]
    for notebook in new:
        shutil.copy2(notebook, work / notebook.name)
    print(f"Your notebooks are in {work} ({len(new)} new; yours are never overwritten).")
    if args.no_lab:
        return 0
    return subprocess.call([sys.executable, "-m", "jupyterlab", str(work / "00_setup.ipynb")], cwd=repo)


# The notebooks that save a run: 04, 05, 06 and 11 can load theirs instead of training (their USE_SAVED_RUN switch),
# and notebook 10 evaluates those of 04-07 (07's WGAN-GP always trains: its notebook studies it along the way).
PREPARED_NOTEBOOKS = ("04_dcgan", "05_cgan", "06_acgan", "07_wgan", "11_your_own_images")


def _prepare(args: argparse.Namespace) -> int:
    """Execute the solution notebooks that train the course's models, headless: each saves its run in runs_dir()."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError:
        raise ValueError(
            "prepare runs notebooks: install the course environment, pip install -r requirements.txt"
        ) from None
    folder = data.repo_data_dir().parent / "solutions"
    names = args.notebooks or PREPARED_NOTEBOOKS
    unknown = [name for name in names if not (folder / f"{name}.ipynb").is_file()]
    if unknown:
        raise ValueError(f"no notebook {', '.join(unknown)} in {folder}: choose from {', '.join(PREPARED_NOTEBOOKS)}")
    for name in names:
        path, started = folder / f"{name}.ipynb", time.perf_counter()
        print(f"{name}: training ...", flush=True)
        client = NotebookClient(
            nbformat.read(path, as_version=4),
            timeout=3600,
            kernel_name="python3",
            resources={"metadata": {"path": str(folder)}},
        )
        try:
            client.execute()
        except CellExecutionError as err:
            raise ValueError(f"{name} failed; run it in JupyterLab to see why. {str(err).splitlines()[-1]}") from None
        print(f"{name}: done in {time.perf_counter() - started:.0f} s")
    print(
        f"Saved runs are in {runs_dir()}. Copy that folder to the same place on each laptop (GANNOTES_CACHE/runs, "
        "normally data/cache/runs), and set USE_SAVED_RUN = True at the top of a notebook to load its run."
    )
    return 0


def _save_grid(images: torch.Tensor, path: Path) -> None:
    from torchvision.utils import save_image

    write_atomically(path, lambda f: save_image(images, f, format="png", nrow=8, normalize=True, value_range=(-1, 1)))


DATASET_HELP = "mnist, fashion-mnist, cifar10 or celeba (downloaded), or folder:PATH (your images)"


def _dataset(text: str) -> str:
    name = text.lower()
    if name.startswith("folder:") and len(text) > len("folder:"):
        return text
    if name in (*data.DATASETS, "cifar10", "celeba"):
        return name
    raise argparse.ArgumentTypeError(f"unknown dataset {text!r}: choose {DATASET_HELP}")


def _positive(text: str) -> int:
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    formatted = {"epilog": ENVIRONMENT, "formatter_class": argparse.RawDescriptionHelpFormatter}
    parser = argparse.ArgumentParser(
        prog="python -m gannotes", description="Train and sample the course's GANs.", **formatted
    )
    parser.add_argument("--version", action="version", version=f"gannotes {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train a GAN; writes checkpoint.pt, samples.png, metrics.json", **formatted
    )
    train.add_argument("--model", choices=MODELS, help="which GAN (with --resume: the checkpoint's)")
    settings_help = "laptop (default: the notebooks' settings, fast on a CPU) or published (the papers')"
    train.add_argument("--settings", default="laptop", choices=tuple(SETTINGS), help=settings_help)
    train.add_argument("--dataset", type=_dataset, help=DATASET_HELP + " (default mnist; with --resume the run's)")
    train.add_argument("--image-size", type=int, choices=(28, 32, 64), help="pixels (default: 28 for MNIST, else 32)")
    train.add_argument("--max-images", type=_positive, help="train on at most this many images (large datasets)")
    train.add_argument("--out", help="output folder (default: runs/MODEL-DATASET, or runs/MODEL-FOLDERNAME)")
    train.add_argument("--resume", action="store_true", help="continue the checkpoint in --out (to --steps in all)")
    train.add_argument("--no-eval", action="store_true", help="skip the evaluator's metrics")
    train.add_argument("--eval-samples", type=_positive, default=2000)
    flags = train.add_argument_group("training settings (default: those of --settings)")
    for f in CONFIG_FIELDS:
        kind = int if f.name == "seed" else {"int": _positive, "float": float}.get(f.type, str)
        flags.add_argument(
            "--" + f.name.replace("_", "-"),
            type=float if f.name == "betas" else kind,
            nargs=2 if f.name == "betas" else None,
            metavar=("BETA1", "BETA2") if f.name == "betas" else None,
            choices=f.metadata["choices"],
            help=f.metadata["help"],
        )
    train.set_defaults(run=_train)

    sampler = commands.add_parser("sample", help="draw a grid of images from a checkpoint", **formatted)
    sampler.add_argument("--checkpoint", required=True, type=Path)
    sampler.add_argument("--n", type=_positive, default=64, help="how many images (default 64)")
    sampler.add_argument("--label", type=int, help="class to draw (conditional models only)")
    sampler.add_argument("--out", default="samples.png")
    sampler.add_argument("--seed", type=int, default=0)
    sampler.add_argument("--device")
    sampler.set_defaults(run=_sample)

    download = commands.add_parser("download", help="download a dataset (both splits) with torchvision")
    download.add_argument("name", choices=sorted(data.DATASETS), help="which dataset")
    download.add_argument("--to", help="folder to download into (default: the repo's data/)")
    download.set_defaults(run=_download)

    begin = commands.add_parser("start", help="copy the exercise notebooks into work/ and open JupyterLab there")
    begin.add_argument("--work", help="the folder for your notebooks (default: work/ in this repository)")
    begin.add_argument("--no-lab", action="store_true", help="only copy the notebooks")
    begin.set_defaults(run=_start)

    doctor = commands.add_parser("doctor", help="check this machine for the course and predict notebook times")
    doctor.add_argument("--no-probe", action="store_true", help="skip the few-second speed probe")
    doctor.set_defaults(run=lambda args: int(gannotes_doctor.main(probe=not args.no_probe) > 0))

    prepare = commands.add_parser(
        "prepare", help="train the course's models once (runs their notebooks) so slow laptops can load them"
    )
    prepare.add_argument("notebooks", nargs="*", help=f"which (default: {' '.join(PREPARED_NOTEBOOKS)})")
    prepare.set_defaults(run=_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Under torchrun (WORLD_SIZE, RANK, LOCAL_RANK set) the processes join one group: nccl carries CUDA tensors
    # between them, gloo CPU ones.
    joined = args.command == "train" and int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized()
    if joined:
        dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    rank = processes()[0]
    try:  # one printout per run, rank 0's: the other processes would repeat it
        with open(os.devnull, "w") as silent, contextlib.redirect_stdout(silent if rank else sys.stdout):
            return args.run(args)
    except (ValueError, FileNotFoundError, TrainingDiverged) as err:  # bad input: one clear line, no traceback
        if rank == 0:  # every process meets the same error: say it once
            print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if joined:
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
