"""gannotes: the package behind a hands-on course on generative adversarial networks.

Importing it is cheap: it loads no dataset and opens no network connection. The modules:

- :mod:`gannotes.settings` - smoke mode, data and cache folders
- :mod:`gannotes.device`   - device choice and seeding
- :mod:`gannotes.data`     - MNIST / Fashion-MNIST as tensors, and the batch source
- :mod:`gannotes.mixtures` - the 2-D Gaussian mixtures of the mode-collapse literature
- :mod:`gannotes.metrics`  - Fréchet distance, class coverage, classifier score and k-NN precision/recall from a
  small trained classifier; mode metrics for 2-D mixtures
- :mod:`gannotes.plots`    - image grids, training curves, 2-D samples, interpolations, class histograms
"""

from .device import get_device, seed_everything
from .settings import scaled, smoke_mode

__version__ = "0.1.0"
__all__ = ["get_device", "scaled", "seed_everything", "smoke_mode"]
