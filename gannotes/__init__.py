"""gannotes: the package behind a hands-on course on generative adversarial networks.

Notebooks import what they use from here. Importing is cheap: it loads no dataset and opens no
network connection. The modules, each with one job:

- :mod:`gannotes.settings` - smoke mode, data and cache folders, atomic file writes
- :mod:`gannotes.device`   - device choice and seeding
- :mod:`gannotes.data`     - MNIST / Fashion-MNIST as tensors, and the batch source
- :mod:`gannotes.mixtures` - the 2-D Gaussian mixtures of the mode-collapse literature
- :mod:`gannotes.models`   - generators and discriminators, and :func:`sample`, the one way to draw from G
- :mod:`gannotes.losses`   - one formula per function
- :mod:`gannotes.steps`    - each variant's discriminator and generator steps (reference versions)
- :mod:`gannotes.train`    - the configuration, the loop :func:`fit`, checkpoints
- :mod:`gannotes.metrics`  - Fréchet distance, class coverage, classifier score, k-NN precision/recall, mode metrics
- :mod:`gannotes.plots`    - image grids, training curves, 2-D samples, interpolations, class histograms
- :mod:`gannotes.checks`   - the exercises' checks
"""

from . import checks, losses, metrics, plots, steps
from .data import BatchSource, course_data
from .device import describe_device, get_device, seed_everything
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
from .settings import runs_dir, scaled, smoke_mode
from .train import (
    SETTINGS,
    CheckpointError,
    Run,
    TrainConfig,
    build_models,
    fit,
    generator_from_checkpoint,
    resume,
    reuse,
    save,
    start,
)

__version__ = "0.2.0"
__all__ = [
    "ACGANDiscriminator",
    "BatchSource",
    "CheckpointError",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "Evaluator",
    "MLPDiscriminator",
    "MLPGenerator",
    "MinibatchStdDev",
    "PackedDiscriminator",
    "Run",
    "SETTINGS",
    "TrainConfig",
    "build_models",
    "checks",
    "count_parameters",
    "course_data",
    "describe_device",
    "fit",
    "generator_from_checkpoint",
    "get_device",
    "grid_of_gaussians",
    "losses",
    "metrics",
    "plots",
    "resume",
    "reuse",
    "ring_of_gaussians",
    "runs_dir",
    "sample",
    "save",
    "scaled",
    "seed_everything",
    "smoke_mode",
    "start",
    "steps",
]
