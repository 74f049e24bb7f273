"""Fixtures of the trainer tests: live servers (see helpers.py) and a clean PIVOT_* environment."""

import os
from collections.abc import Callable, Iterator

import pytest

from tests.trainers.helpers import SERVER_PYTHON_ENV, live_server


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    with live_server() as base:
        yield base


@pytest.fixture(scope="session")
def second_server() -> Iterator[str]:
    with live_server() as base:
        yield base


@pytest.fixture(scope="session")
def pasmr_server() -> Iterator[str]:
    """A server whose default recipe (what /get_reward uses) is `pasmr`."""
    with live_server(reward_preset="pasmr") as base:
        yield base


@pytest.fixture(scope="session")
def keyed_server() -> Iterator[str]:
    """A server that requires the API key `trainer-key`."""
    with live_server(api_keys="trainer-key") as base:
        yield base


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Drop PIVOT_* settings from this process; returns a setter for the ones a test wants."""
    for name in list(os.environ):
        if name.startswith("PIVOT_") and name != SERVER_PYTHON_ENV:
            monkeypatch.delenv(name)

    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)

    return set_env
