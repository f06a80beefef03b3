"""pytest set-up for the whole repository (package tests and notebooks alike).

Smoke mode is on unless the caller chose otherwise: `pytest` should finish in minutes on a laptop,
and the notebook kernels nbval starts inherit this environment. Run `GANNOTES_SMOKE=0 pytest` to
execute the notebooks at full size (slow).
"""

import os

os.environ.setdefault("GANNOTES_SMOKE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
