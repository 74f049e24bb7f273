"""The OpenVINO backend against torch, with the real e5 model: f32 equal, bf16 within a bound (issue 15)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from models.openvino_export import METADATA_FILE, is_exported
from models.registry import ensure_openvino, openvino_path
from service.api.app import create_app
from service.engine.encoder import SentenceTransformerEncoder
from service.engine.openvino_encoder import OpenVinoEncoder
from service.scoring.calibration import BUILTIN_CALIBRATIONS
from service.settings import Settings
from tests.support.server import running_server

pytestmark = pytest.mark.e2e

# Varied scripts, lengths, digits and symbols; the last ones are long (300+ tokens).
TEXTS = [
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four.",
    "Janet verkauft 9 Eier für je 2 $, also verdient sie 18 $. Die Antwort lautet 18.",
    "El vestido necesita 3 rollos de lana. La respuesta es 3.",
    "Elle vend 9 œufs à 2 $. La réponse est 18.",
    "জ্যানেট প্রতিটি ২ ডলারে ৯টি ডিম বিক্রি করে, তাই সে ১৮ ডলার পায়। উত্তর: ১৮",
    "เจเน็ตขายไข่ 9 ฟองในราคาฟองละ 2 ดอลลาร์ คำตอบคือ ๑๘",
    "ジャネットのアヒルは1日に16個の卵を産みます。答えは１８です。",
    "她卖 10 个鸡蛋。答案是 20。",
    "Ответ: 18. Джанет продаёт 9 яиц по 2 доллара.",
    "Jibu ni 18. Janet anauza mayai 9 kwa dola 2 kila moja.",
    "జానెట్ 9 గుడ్లను అమ్ముతుంది. సమాధానం: 18",
    "Ａｎｓｗｅｒ： café naïve 🙂 \\boxed{\\frac{3}{4}} #### 18",
    "x",
    " ".join(["Step by step: 5 + 6 = 11, then 11 * 3 = 33."] * 30),
    " ".join(["Schritt für Schritt: 5 + 6 = 11, also 11 · 3 = 33."] * 25),
]


@pytest.fixture(scope="module")
def ir_dir(prepared_model_dir: Path, real_settings: Settings) -> Path:
    return ensure_openvino(prepared_model_dir, real_settings.cache_dir)


@pytest.fixture(scope="module")
def torch_vectors(prepared_model_dir: Path) -> np.ndarray:
    encoder = SentenceTransformerEncoder(prepared_model_dir, "e5", device="cpu")
    return np.stack(encoder.predict_batch(TEXTS))


def _openvino_vectors(
    model_dir: Path, ir: Path, precision: str
) -> tuple[OpenVinoEncoder, np.ndarray]:
    encoder = OpenVinoEncoder(model_dir, ir, "e5", precision=precision)
    return encoder, np.stack(encoder.predict_batch(TEXTS))


def test_export_is_validated_and_cached_beside_the_model(
    ir_dir: Path, prepared_model_dir: Path, real_settings: Settings
) -> None:
    assert is_exported(ir_dir)
    assert ir_dir == openvino_path(prepared_model_dir, real_settings.cache_dir)
    assert ir_dir.parent == prepared_model_dir.parent
    meta = json.loads((ir_dir / METADATA_FILE).read_text(encoding="utf-8"))
    assert meta["validation"]["passed"] and meta["validation"]["min_cosine"] >= 0.9999
    assert ensure_openvino(prepared_model_dir, real_settings.cache_dir) == ir_dir  # no re-export


def test_f32_equals_torch_per_text(
    ir_dir: Path, prepared_model_dir: Path, torch_vectors: np.ndarray
) -> None:
    encoder, vectors = _openvino_vectors(prepared_model_dir, ir_dir, "fp32")
    assert (encoder.backend, encoder.precision, encoder.device) == ("openvino", "fp32", "cpu")
    cosines = np.sum(vectors * torch_vectors, axis=1)
    print(f"\nopenvino f32 vs torch: min cosine {cosines.min():.8f}")
    assert cosines.min() >= 0.99999, cosines
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The same tokeniser: token counts (and so the 422 over-length rule) are the torch path's.
    reference = SentenceTransformerEncoder(prepared_model_dir, "e5", device="cpu")
    assert encoder.count_tokens(TEXTS) == reference.count_tokens(TEXTS)
    assert max(encoder.count_tokens(TEXTS)) > 300


def test_bf16_differs_from_torch_within_a_bound(
    ir_dir: Path, prepared_model_dir: Path, torch_vectors: np.ndarray
) -> None:
    encoder, vectors = _openvino_vectors(prepared_model_dir, ir_dir, "bf16")
    cosines = np.sum(vectors * torch_vectors, axis=1)
    # Pair cosines, as the reward sees them: every text against every other.
    calibration = BUILTIN_CALIBRATIONS["multilingual-e5-small"]
    base = calibration.score(torch_vectors @ torch_vectors.T)
    fast = calibration.score(vectors @ vectors.T)
    score_diff = float(np.abs(np.asarray(base) - np.asarray(fast)).max())
    print(
        f"\nopenvino {encoder.precision} vs torch fp32: min cosine {cosines.min():.6f}, "
        f"max |score diff| over {len(TEXTS) ** 2} pairs {score_diff:.4f}"
    )
    assert cosines.min() >= 0.999, cosines
    assert score_diff <= 0.03
    if encoder.precision == "fp32":
        pytest.skip("this CPU has no bf16 units: OpenVINO ran f32 (the equality test covers it)")
    assert cosines.min() < 0.999999, "bf16 should not be bit-exact: is the hint applied?"


@pytest.fixture(scope="module")
def openvino_server(real_settings: Settings, ir_dir: Path) -> Iterator[str]:
    settings = real_settings.model_copy(update={"embedding_backend": "openvino"})
    with running_server(create_app(settings), ready_timeout_s=900) as base_url:
        yield base_url


def test_service_on_openvino_reports_it_and_scores_like_torch(
    openvino_server: str, torch_vectors: np.ndarray
) -> None:
    with httpx.Client(base_url=openvino_server, timeout=300) as client:
        models = client.get("/v1/models").json()["models"][0]
        assert (models["backend"], models["precision"]) == ("openvino", "fp32")
        body = client.post(
            "/v1/similarity", json={"reference": TEXTS[0], "candidates": TEXTS[1:12]}
        ).json()
    got = np.array([r["cosine"] for r in body["results"]])
    expected = torch_vectors[1:12] @ torch_vectors[0]
    assert np.abs(got - expected).max() <= 1e-4


def test_prepare_models_exports_the_ir_when_the_backend_is_openvino(
    ir_dir: Path,
    real_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from service.cli import main

    monkeypatch.setenv("PIVOT_CACHE_DIR", str(real_settings.cache_dir))
    monkeypatch.setenv("PIVOT_EMBEDDING_BACKEND", "openvino")
    assert main(["prepare-models", "--quiet"]) == 0
    assert f"OpenVINO IR ready: {ir_dir}" in capsys.readouterr().out
