"""Real-model fixtures: the default e5 model, prepared once into the configured cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import MGSM_DIR
from tests.support.server import running_server

MGSM_LANGS = ("bn", "de", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")


def load_mgsm(lang: str) -> list[tuple[str, str]]:
    """(question, answer) rows of MGSM for one language."""
    rows = []
    for line in (MGSM_DIR / f"mgsm_{lang}.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            question, answer = line.rsplit("\t", 1)
            rows.append((question, answer))
    return rows


@pytest.fixture(scope="session")
def mgsm() -> dict[str, list[tuple[str, str]]]:
    if not (MGSM_DIR / "mgsm_en.tsv").is_file():
        pytest.skip(
            f"MGSM data not found at {MGSM_DIR} (it lives in ../shared beside the checkout)"
        )
    return {lang: load_mgsm(lang) for lang in ("en", *MGSM_LANGS)}


@pytest.fixture(scope="session")
def real_settings() -> Settings:
    """Settings from the environment (PIVOT_CACHE_DIR etc.), with the default embedding model."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return Settings(embedding_model="multilingual-e5-small", log_json=False, device="cpu")


@pytest.fixture(scope="session")
def real_server(real_settings: Settings) -> Iterator[str]:
    app = create_app(real_settings)
    with running_server(app, ready_timeout_s=900) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def prepared_model_dir(real_settings: Settings) -> Path:
    from models.registry import ensure_model

    return Path(
        ensure_model(real_settings.embedding_model, real_settings.cache_dir, progress=False)
    )
