"""/v1/rank with a user-supplied sequence-classification reward model (a tiny one built locally)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.fixtures.tiny_reward_model import build_tiny_reward_model
from tests.support.server import running_server

pytestmark = pytest.mark.e2e


def test_reward_model_scores_equal_transformers(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = build_tiny_reward_model(tmp_path / "rm")
    question = "janet sells eggs"
    candidates = [
        {"response": "the answer is 18", "lang": "en"},
        {"response": "die antwort lautet 20", "lang": "de"},
        {"response": "la réponse est 18", "lang": "fr"},
    ]
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    with torch.inference_mode():
        expected = [
            float(model(**tokenizer(question, c["response"], return_tensors="pt")).logits[0, 0])
            for c in candidates
        ]
    app = create_app(fast_settings(rank_model=model_dir), encoder_factory=HashFactory())
    with running_server(app) as base:
        data = httpx.post(
            f"{base}/v1/rank",
            json={"question": question, "candidates": candidates, "scorer": "reward_model"},
        ).json()
        assert data["scorer"] == "reward_model"
        assert data["scores"] == pytest.approx(expected, abs=1e-4)
        assert data["best_index"] == max(range(3), key=lambda i: expected[i])
        assert (
            httpx.post(f"{base}/v1/rank", json={"candidates": candidates}).json()["scorer"]
            == "agreement"
        )


def test_bad_reward_model_folder_fails_loading(tmp_path: Path) -> None:
    app = create_app(
        fast_settings(rank_model=tmp_path, exit_on_load_failure=False),
        encoder_factory=HashFactory(),
    )
    with running_server(app, wait_ready=False) as base:
        import time

        for _ in range(100):
            ready = httpx.get(f"{base}/readyz").json()
            if ready["status"] != "loading":
                break
            time.sleep(0.05)
        assert ready["status"] == "failed" and "config.json" in ready["detail"]
