"""Shared fixtures: settings for fast tests, a hash-encoder app on a real loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.api.app import create_app
from service.scoring.calibration import Calibration
from service.settings import Settings
from tests.support.encoders import RecordingHashEncoder
from tests.support.server import running_server

# tests/trainers runs in the trainers' own venv (`make test-trainers`), not in the server's.
collect_ignore = ["trainers"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
MGSM_DIR = SHARED_DIR / "data" / "mgsm"


def fast_settings(**overrides: object) -> Settings:
    """Settings for tests with the deterministic hash encoder (no model files)."""
    values: dict[str, object] = {"embedding_model": "test-hash-encoder", "log_json": False}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class HashFactory:
    """Encoder factory that keeps a handle on the encoder so tests can inspect its calls."""

    def __init__(self) -> None:
        self.encoder = RecordingHashEncoder()

    def __call__(self, settings: Settings) -> tuple[RecordingHashEncoder, Calibration, str | None]:
        return self.encoder, Calibration(0.0, 1.0, "test"), None


@pytest.fixture
def hash_factory() -> HashFactory:
    return HashFactory()


@pytest.fixture
def fast_server(hash_factory: HashFactory) -> Iterator[str]:
    app = create_app(fast_settings(max_wait_ms=20), encoder_factory=hash_factory)
    with running_server(app) as base_url:
        yield base_url
