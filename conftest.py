"""pytest set-up for the whole repository (package tests and notebooks alike).

Smoke mode is on unless the caller chose otherwise: `pytest` should finish in minutes on a laptop,
and the notebook kernels nbval starts inherit this environment. Run `GANNOTES_SMOKE=0 pytest` to
execute the notebooks at full size (slow).
"""

import os

os.environ.setdefault("GANNOTES_SMOKE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_sessionstart(session) -> None:
    """Without MNIST's test split, stop at once with one clear message instead of hundreds of failures."""
    import pytest

    from gannotes import data, doctor

    try:
        data.load_dataset("mnist", "test")  # found on disk, or downloaded where there is internet
    except (data.DatasetNotFoundError, data.CorruptDatasetError):
        problems = doctor.data_problems(("test",))
        pytest.exit("The tests need MNIST's test split.\n" + "\n".join(problems), returncode=4)
