"""Fixtures shared by the package tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from browser import lab_server, launch_browser

from gannotes import data


@pytest.fixture(scope="session")
def mnist_test() -> data.ImageDataset:
    """The real MNIST test split (from GANNOTES_DATA, data/, or a download)."""
    return data.load_dataset("mnist", "test")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network: every socket connection fails at once, as on a laptop with no wifi."""

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """A headless Chromium for the tests of one module (see tests/browser.py: skips or fails clearly without one)."""
    yield from launch_browser()


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server, in smoke mode, on a copy of the test module's ``NOTEBOOK``: the URL that opens it."""
    with lab_server(request.module.NOTEBOOK, tmp_path_factory.mktemp("lab")) as url:
        yield url
