"""Device selection and seeding."""

import subprocess
import sys

import pytest
import torch

from gannotes import device as dev


def test_falls_back_to_cpu_without_accelerators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANNOTES_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    assert dev.get_device() == torch.device("cpu")


def test_prefers_cuda_then_mps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANNOTES_DEVICE", raising=False)
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dev.get_device().type == "mps"


def test_environment_variable_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("GANNOTES_DEVICE", "cpu")
    assert dev.get_device() == torch.device("cpu")
    assert dev.get_device("cpu") == torch.device("cpu")


def test_unavailable_or_unknown_devices_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    monkeypatch.setenv("GANNOTES_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="Device 'cuda' was requested.*Available: cpu. Unset GANNOTES_DEVICE"):
        dev.get_device()
    with pytest.raises(RuntimeError, match="Device 'mps' was requested.*Available: cpu"):
        dev.get_device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert dev.get_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(RuntimeError, match="Device 'cuda:1' was requested.*Available: cuda:0, cpu"):
        dev.get_device("cuda:1")
    with pytest.raises(ValueError, match="Unknown device 'gpu'"):
        dev.get_device("gpu")


def test_seed_everything_repeats_draws() -> None:
    dev.seed_everything(7)
    a = (torch.randn(3), torch.rand(2))
    dev.seed_everything(7)
    b = (torch.randn(3), torch.rand(2))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_import_is_light_and_offline() -> None:
    # Importing the package must not read a dataset or touch the network.
    code = """
import sys
events = []
def hook(event, args):
    if event == "socket.connect" or (event == "open" and str(args[0]).endswith((".gz", "ubyte"))):
        events.append((event, str(args[0])))
sys.addaudithook(hook)
import gannotes, gannotes.data, gannotes.mixtures
print(events)
print("torchvision" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "False"]
