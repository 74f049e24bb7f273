"""/v1/translate and /v1/translation-similarity through the real server, on the tiny NLLB model.

The service's translations must equal transformers' greedy `generate` on the same model; language
codes, ordering, batching across requests, caching and truncation are checked over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.e2e.test_translation_model import ITEMS, hf_greedy
from tests.fixtures.tiny_nllb import TinyNllb, build_tiny_nllb
from tests.support.server import running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyNllb:
    return build_tiny_nllb(tmp_path_factory.mktemp("tiny_nllb_service"))


@pytest.fixture(scope="module")
def reference(tiny: TinyNllb) -> tuple[Any, Any]:
    from transformers import AutoTokenizer, M2M100ForConditionalGeneration

    tokenizer = AutoTokenizer.from_pretrained(str(tiny.hf_dir))
    model = M2M100ForConditionalGeneration.from_pretrained(str(tiny.hf_dir)).eval()
    return tokenizer, model


@pytest.fixture(scope="module")
def server(tiny: TinyNllb) -> Iterator[tuple[str, Any]]:
    settings = fast_settings(
        translation_model=tiny.ct2_dir,
        translation_compute_type="float32",  # same arithmetic as transformers, for exact equality
        translation_threads=1,
        max_wait_ms=50,
        translation_max_length=100,
    )
    app = create_app(settings, encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base, app.state.pivot


def test_translations_equal_transformers_greedy(
    server: tuple[str, Any], reference: tuple[Any, Any]
) -> None:
    base, _ = server
    body = {
        "texts": [text for _, _, text in ITEMS],
        "source_langs": [code for code, _, _ in ITEMS],
        "target_lang": "fr",
        "max_length": 40,
    }
    response = httpx.post(f"{base}/v1/translate", json=body, timeout=60)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["target_lang"] == "fra_Latn"
    got = [t["text"] for t in data["translations"]]
    expected = [hf_greedy(reference, text, flores, "fra_Latn", 40)[1] for _, flores, text in ITEMS]
    assert got == expected
    assert [t["source_lang"] for t in data["translations"]] == [flores for _, flores, _ in ITEMS]


def test_single_source_lang_and_flores_codes_agree(server: tuple[str, Any]) -> None:
    base, _ = server
    texts = ["Der Bäcker backt 7 Kuchen.", "Janets Enten legen 16 Eier."]
    iso = httpx.post(
        f"{base}/v1/translate", json={"texts": texts, "source_lang": "de", "target_lang": "en"}
    ).json()
    flores = httpx.post(
        f"{base}/v1/translate",
        json={"texts": texts, "source_lang": "deu_Latn", "target_lang": "eng_Latn"},
    ).json()
    assert iso == flores


def _counter(state: Any, name: str) -> float:
    """A translation metric as /metrics exports it (summed over labels)."""
    return sum(
        sample.value
        for metric in state.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == name
    )


def _batches(state: Any) -> float:
    """Translation model calls so far (the batch-size histogram's count for the translator)."""
    return sum(
        sample.value
        for metric in state.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == "pivot_batch_size_count"
        and sample.labels.get("model") == state.translation.name
    )


def test_concurrent_requests_are_batched_and_cached(server: tuple[str, Any]) -> None:
    base, state = server
    batches_before = _batches(state)
    texts = [f"Tom kauft {i} Äpfel jeden Tag." for i in range(16)]

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post("/v1/translate", json={"texts": [t], "source_lang": "de"})
                    for t in texts
                )
            )

    responses = asyncio.run(send_all())
    assert all(r.status_code == 200 for r in responses)
    batches = _batches(state) - batches_before
    assert batches < len(texts) / 2, batches  # 16 one-text requests shared a few batches
    hits_before = _counter(state, "pivot_translation_cache_hits_total")
    together = httpx.post(
        f"{base}/v1/translate", json={"texts": texts, "source_lang": "de"}, timeout=60
    ).json()
    assert _counter(state, "pivot_translation_cache_hits_total") - hits_before == len(texts)
    assert [t["text"] for t in together["translations"]] == [
        r.json()["translations"][0]["text"] for r in responses
    ]
    assert _batches(state) - batches_before == batches  # nothing recomputed


def test_identical_texts_translated_once(server: tuple[str, Any]) -> None:
    base, state = server
    misses_before = _counter(state, "pivot_translation_cache_misses_total")
    body = {"texts": ["Das ist ein neuer Satz mit 99 Wörtern."] * 5, "source_lang": "de"}
    data = httpx.post(f"{base}/v1/translate", json=body).json()
    assert len({t["text"] for t in data["translations"]}) == 1 and len(data["translations"]) == 5
    assert _counter(state, "pivot_translation_cache_misses_total") - misses_before == 1


def test_over_long_input_is_truncated_and_flagged(server: tuple[str, Any]) -> None:
    base, _ = server
    long_text = " ".join(["Der Hund läuft schnell im Park."] * 60)
    data = httpx.post(
        f"{base}/v1/translate", json={"texts": ["kurz", long_text], "source_lang": "de"}
    ).json()
    assert [t["truncated"] for t in data["translations"]] == [False, True]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"texts": ["x"], "source_lang": "xx"}, "source_lang"),
        ({"texts": ["x"], "source_lang": "de", "target_lang": "qq_Latn"}, "target_lang"),
        ({"texts": ["x", "y"], "source_langs": ["de", "klingon"]}, "source_langs[1]"),
        ({"texts": ["x"], "source_lang": "de", "beam_size": 9}, "beam_size"),
        ({"texts": ["x"], "source_lang": "de", "max_length": 101}, "max_length"),
        ({"texts": ["x"], "source_lang": "de", "beam_size": 0}, "beam_size"),
        ({"texts": ["x"]}, "body"),
        ({"texts": ["x", "y"], "source_langs": ["de"]}, "body"),
        ({"texts": [], "source_lang": "de"}, "texts"),
    ],
)
def test_bad_translation_requests(server: tuple[str, Any], body: dict, loc: str) -> None:
    base, _ = server
    response = httpx.post(f"{base}/v1/translate", json=body)
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert any(f["loc"] == loc for f in fields), fields
    if "lang" in loc:
        assert "supported codes include" in response.json()["error"]["message"]


def test_translation_similarity_returns_translation_and_scores(
    server: tuple[str, Any], reference: tuple[Any, Any]
) -> None:
    base, _ = server
    body = {
        "reference": "Janet sells 16 eggs per day.",
        "candidates": ["Janets Enten legen 16 Eier pro Tag.", "Der Hund läuft schnell im Park."],
        "source_lang": "de",
        "chrf": True,
    }
    data = httpx.post(f"{base}/v1/translation-similarity", json=body, timeout=60).json()
    assert data["translation_model"] and data["model"] == "test-hash-encoder"
    for result, candidate in zip(data["results"], body["candidates"], strict=True):
        assert (
            result["translation"] == hf_greedy(reference, candidate, "deu_Latn", "eng_Latn", 100)[1]
        )
        assert 0.0 <= result["score"] <= 1.0 and 0.0 <= result["chrf"] <= 1.0
    pairs = {
        "pairs": [
            {"candidate": c, "reference": body["reference"], "source_lang": "deu_Latn"}
            for c in body["candidates"]
        ]
    }
    same = httpx.post(f"{base}/v1/translation-similarity", json=pairs, timeout=60).json()
    assert [r["score"] for r in same["results"]] == [r["score"] for r in data["results"]]
    assert all(r["chrf"] is None for r in same["results"])


def test_models_lists_translation(server: tuple[str, Any]) -> None:
    base, _ = server
    models = httpx.get(f"{base}/v1/models").json()["models"]
    translation = next(m for m in models if m["kind"] == "translation")
    assert translation["available"] and "cpu" in translation["device"]


def test_without_translation_model_endpoints_answer_503_with_instructions() -> None:
    app = create_app(fast_settings(), encoder_factory=HashFactory())
    with running_server(app) as base:
        for path, body in (
            ("/v1/translate", {"texts": ["x"], "source_lang": "de"}),
            (
                "/v1/translation-similarity",
                {"reference": "r", "candidates": ["c"], "source_lang": "de"},
            ),
        ):
            response = httpx.post(f"{base}{path}", json=body)
            assert response.status_code == 503
            assert "PIVOT_TRANSLATION_MODEL" in response.json()["error"]["message"]
        models = httpx.get(f"{base}/v1/models").json()["models"]
        assert any(m["kind"] == "translation" and not m["available"] for m in models)
        assert (
            httpx.post(
                f"{base}/v1/similarity", json={"reference": "r", "candidates": ["r"]}
            ).status_code
            == 200
        )
