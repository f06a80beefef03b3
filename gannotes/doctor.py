"""``python -m gannotes doctor``: is this machine ready for the course? One line per fact, one per problem.

An instructor runs it on every laptop before a workshop: versions, device, threads, the data (found and checked
by md5), the evaluator cache, and a few-second speed probe that predicts each notebook's learner-mode time.
"""

from __future__ import annotations

import os
import platform
import sys
import time

import torch

from . import __version__, data
from .device import describe_device, get_device
from .settings import cache_dir

# The reference host: each notebook's learner-mode time (seconds, README's course map, 2 threads, nothing else
# running) and the probe's one-thread speed (DCGAN steps/s at the laptop settings), on the same kind of VM.
REFERENCE_HOST = "a 2-core AMD EPYC VM (AVX-512), torch 2.14"
REFERENCE_STEPS_PER_S = 19.5
REFERENCE_SECONDS: dict[str, int] = {
    "00_setup": 61,  # mostly the first import of torch in a fresh kernel: 12 s when run again
    "01_generative_vs_discriminative": 25,
    "02_minimax_loss": 24,
    "03_first_gan": 49,
    "04_dcgan": 108,
    "05_cgan": 111,
    "06_acgan": 133,
    "07_wgan": 149,
    "08_mode_collapse": 129,
    "09_training_tips": 136,
    "10_evaluating_gans": 67,
    "11_your_own_images": 141,
}
BUDGET_SECONDS = 300  # the course's promise: every notebook in at most 5 minutes


def data_problems(splits: tuple[str, ...] = ("train", "test")) -> list[str]:
    """One line per MNIST split that is missing or damaged (looked for and md5-checked, never downloaded), or []."""
    problems = []
    for split in splits:
        try:
            data.load_dataset("mnist", split, download=False)
        except data.DatasetNotFoundError:
            files = " and ".join(data.split_files(split))
            problems.append(
                f"MNIST's {split} split is not in any data folder searched. Fix: copy {files} into data/mnist/ "
                "or set GANNOTES_DATA to their folder (`python -m gannotes download mnist` fetches them where "
                "there is internet)."
                + (" With only the test split, GANNOTES_TRAIN_SPLIT=test trains on it." if split == "train" else "")
            )
        except data.CorruptDatasetError as err:
            problems.append(f"MNIST's {split} split is damaged: {err}")
    return problems


def probe_steps_per_second(seconds: float = 3.0) -> float:
    """DCGAN training steps per second of CPU time at the notebooks' laptop settings, on random images, on one
    thread, for ``seconds``: one core's speed, which is what varies most between laptops. CPU time, not wall time,
    so that other programs running on the laptop do not slow the measurement."""
    from .steps import STEPS
    from .train import TrainConfig, fit, start

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = start(TrainConfig.for_model("dcgan", device=str(get_device())), torch.rand(2048, 1, 28, 28) * 2 - 1)
        fit(run, *STEPS["dcgan"], steps=3, progress=False)  # warm-up: first calls allocate and pick kernels
        begin, first = time.process_time(), run.step
        while time.process_time() - begin < seconds:
            fit(run, *STEPS["dcgan"], steps=run.step + 5, progress=False)
        return (run.step - first) / (time.process_time() - begin)
    finally:
        torch.set_num_threads(threads)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s" if seconds >= 60 else f"{seconds:.0f} s"


def main(probe: bool = True) -> int:
    """Print the report; return the number of problems (the command's exit status is 1 if there are any)."""
    problems: list[str] = []
    print(f"gannotes {__version__} doctor")
    print(f"  Python {platform.python_version()} ({sys.executable})")
    try:
        import torchvision

        print(f"  torch {torch.__version__}, torchvision {torchvision.__version__}")
        if torch.version.cuda and not torch.cuda.is_available():
            print("  note: this torch carries CUDA libraries this machine cannot use; the CPU build is far smaller")
            print("        (README, Set up: pip install torch from https://download.pytorch.org/whl/cpu)")
    except Exception as err:  # noqa: BLE001 - a broken install shows here as anything from ImportError to OSError
        problems.append(f"torchvision does not import ({type(err).__name__}: {err}): pip install -r requirements.txt")
    device = get_device()
    print(f"  device: {describe_device(device)}; {os.cpu_count()} CPUs")
    train_split = os.environ.get("GANNOTES_TRAIN_SPLIT", "train").strip().lower()
    splits = ("test",) if train_split == "test" else ("train", "test")
    print("  data folders searched: " + ", ".join(str(f) for f in data.candidate_folders(data.dataset_spec("mnist"))))
    missing = data_problems(splits)
    problems += missing
    if not missing:
        print(f"  MNIST {' and '.join(splits)} split{'s' if len(splits) > 1 else ''}: found, md5 verified")
    cached = sorted(cache_dir().glob("evaluator-mnist-*.pt"))
    print(f"  evaluator: {'cached in ' + str(cached[-1]) if cached else 'not cached yet: notebook 00 prepares it'}")
    if probe and REFERENCE_STEPS_PER_S > 0:
        rate = probe_steps_per_second()
        scale = REFERENCE_STEPS_PER_S / rate
        print(f"  speed: {rate:.1f} DCGAN steps/s ({1 / scale:.2f}x {REFERENCE_HOST}); predicted learner-mode times:")
        for name, seconds in REFERENCE_SECONDS.items():
            late = "  over the 5-minute budget" if seconds * scale > BUDGET_SECONDS else ""
            print(f"    {name:34s} {_minutes(seconds * scale):>12s}{late}")
        print(f"    {'the whole course':34s} {_minutes(sum(REFERENCE_SECONDS.values()) * scale):>12s}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("Ready for the course." if not problems else f"{len(problems)} problem(s): fix them, then run this again.")
    return len(problems)
