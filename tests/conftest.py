"""Fixtures shared by the package tests."""

from __future__ import annotations

import socket

import pytest

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
