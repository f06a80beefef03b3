"""gannotes: the package behind a hands-on course on generative adversarial networks.

Notebooks import what they use from here; importing loads no dataset and opens no network connection.
"""
# ruff: noqa: F401  (these imports are the public names)

from . import checks, diagrams, losses, metrics, plots, steps
from .data import BatchSource, course_data
from .device import describe_device, get_device, seed_everything
from .explorer import LatentExplorer, lerp, nearest_images, slerp
from .metrics import Evaluator
from .mixtures import grid_of_gaussians, ring_of_gaussians
from .models import (
    ACGANDiscriminator,
    DCGANDiscriminator,
    DCGANGenerator,
    MinibatchStdDev,
    MLPDiscriminator,
    MLPGenerator,
    PackedDiscriminator,
    count_parameters,
    sample,
)
from .playground import Playground
from .settings import runs_dir, scaled, smoke_mode
from .stacked import StackedLinear, stacked_mlp
from .train import SETTINGS, TrainConfig, build_models, fit, generator_from_checkpoint, resume, reuse, save, start

__version__ = "0.2.0"
