"""/v1/rewards, /v1/rank and OpenRLHF's /get_reward over HTTP (hash encoder, real fidelity/answers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server

REFERENCE = "Janet sells 16 - 3 - 4 = 9 eggs at $2 each, so she makes $18. The answer is 18."
GERMAN = (
    "Janet verkauft 16 - 3 - 4 = 9 Eier zu je 2 $, also verdient sie 18 $. Die Antwort lautet 18."
)
GERMAN_WRONG = (
    "Janet verkauft 16 - 3 - 4 = 9 Eier zu je 2 $, also verdient sie 20 $. Die Antwort lautet 20."
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = create_app(fast_settings(max_wait_ms=20), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


def rewards(base: str, items: list[dict], **extra: object) -> dict:
    response = httpx.post(f"{base}/v1/rewards", json={"items": items, **extra}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def item(response: str, **kw: str) -> dict:
    return {"response": response, "lang": "de", "reference": REFERENCE, "pivot_answer": "18", **kw}


def test_hybrid_rewards_right_answers_in_the_right_language(server: str) -> None:
    data = rewards(server, [item(GERMAN), item(GERMAN_WRONG), item(REFERENCE)], preset="hybrid")
    right, wrong, pasted = data["results"]
    assert data["preset"] == "hybrid"
    assert right["answer_status"] == "match" and right["gate"] == "ok" and right["reward"] > 0
    assert wrong["answer_status"] == "mismatch"
    assert wrong["reward"] == pytest.approx(wrong["components"]["semantic"] * 0.1, abs=1e-6)
    assert (
        pasted["gate"] != "ok" and pasted["reward"] == 0.0
    )  # the pasted English reference earns nothing
    assert set(right["components"]) == {"semantic", "answer"}


@pytest.mark.parametrize(
    ("preset", "components"),
    [
        ("pb-rlsvr-embedding", {"semantic"}),
        ("pasmr", {"answer"}),
        ("hybrid", {"semantic", "answer"}),
    ],
)
def test_presets_report_their_components(server: str, preset: str, components: set[str]) -> None:
    data = rewards(server, [item(GERMAN)], preset=preset)
    assert set(data["results"][0]["components"]) == components


def test_pasmr_without_pivot_answer_is_null(server: str) -> None:
    data = rewards(server, [{"response": GERMAN, "lang": "de"}], preset="pasmr")
    assert (
        data["results"][0]["reward"] is None
        and data["results"][0]["answer_status"] == "no_pivot_answer"
    )


def test_custom_spec_and_gate_off(server: str) -> None:
    spec = {"semantic": 1, "answer": 1, "combine": "mean", "gate": False}
    data = rewards(server, [item(REFERENCE)], spec=spec)
    result = data["results"][0]
    assert data["preset"] == "custom" and result["gate"] == "off"
    assert result["reward"] == pytest.approx((result["components"]["semantic"] + 1.0) / 2)


def test_same_inputs_same_reward_whatever_the_batch(server: str) -> None:
    alone = rewards(server, [item(GERMAN)])["results"][0]
    batch = rewards(server, [item(GERMAN_WRONG), item("Etwas ganz anderes."), item(GERMAN)])[
        "results"
    ][2]
    assert alone == batch


def test_translation_preset_without_model_is_503(server: str) -> None:
    response = httpx.post(
        f"{server}/v1/rewards", json={"items": [item(GERMAN)], "preset": "pb-rlsvr-translation"}
    )
    assert (
        response.status_code == 503
        and "PIVOT_TRANSLATION_MODEL" in response.json()["error"]["message"]
    )


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"items": [{"response": GERMAN, "lang": "de"}], "preset": "hybrid"}, "items[0].reference"),
        ({"items": [item(GERMAN, lang="xx")]}, "items[0].lang"),
        ({"items": [item(GERMAN)], "preset": "best"}, "preset"),
        ({"items": [item(GERMAN)], "spec": {"semantic": 0}}, "spec"),
        ({"items": [item(GERMAN)], "spec": {"semantic": "NaN"}}, "spec.semantic"),
        ({"items": []}, "items"),
    ],
)
def test_rewards_bad_input(server: str, body: dict, loc: str) -> None:
    response = httpx.post(f"{server}/v1/rewards", json=body)
    assert response.status_code == 422, response.text
    assert any(f["loc"].startswith(loc) for f in response.json()["error"]["fields"]), (
        response.json()
    )


def test_rank_prefers_cross_lingual_consensus(server: str) -> None:
    body = {
        "candidates": [
            {"response": "她卖 10 个鸡蛋，每个 2 美元。答案是 20。", "lang": "zh"},
            {"response": "Sie verkauft 9 Eier zu je 2 $. Die Antwort lautet 18.", "lang": "de"},
            {"response": "Elle vend 9 œufs à 2 $. La réponse est 18.", "lang": "fr"},
            {"response": "Ella vende 9 huevos a 2 $. La respuesta es 18.", "lang": "es"},
        ]
    }
    data = httpx.post(f"{server}/v1/rank", json=body).json()
    assert data["scorer"] == "agreement" and len(data["scores"]) == 4
    assert data["best_index"] in (1, 2, 3)
    assert data["scores"][0] < min(data["scores"][1:])
    assert [c["answer"] for c in data["candidates"]] == ["20", "18", "18", "18"]
    no_model = httpx.post(f"{server}/v1/rank", json={**body, "scorer": "reward_model"})
    assert no_model.status_code == 503 and "PIVOT_RANK_MODEL" in no_model.json()["error"]["message"]


def openrlhf_body(n: int = 1, label: object = None) -> dict:
    prompt = "Frage: Janet hat 16 Eier, isst 3, backt mit 4 und verkauft den Rest zu 2 $. Wie viel verdient sie?\nAntwort:"
    label = (
        label
        if label is not None
        else json.dumps({"pivot_answer": "18", "lang": "de", "reference": REFERENCE})
    )
    return {"query": [prompt + " " + GERMAN] * n, "prompts": [prompt] * n, "labels": [label] * n}


def test_openrlhf_protocol(server: str) -> None:
    response = httpx.post(f"{server}/get_reward", json=openrlhf_body(2))
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"rewards", "scores", "extra_logs"}
    assert len(data["rewards"]) == 2 and data["rewards"] == data["scores"]
    assert data["rewards"][0] > 0
    assert set(data["extra_logs"]) >= {"excluded", "gate_passed", "semantic", "answer"}
    # the response was query minus prompt: the same as scoring the German answer directly
    direct = rewards(server, [item(GERMAN)])["results"][0]["reward"]
    assert data["rewards"][0] == direct


def test_openrlhf_plain_label_detects_language_from_prompt(server: str) -> None:
    body = openrlhf_body(1, label="18")
    response = httpx.post(f"{server}/get_reward", json=body)
    # hybrid needs an English reference, which a plain label cannot carry
    assert (
        response.status_code == 422
        and response.json()["error"]["fields"][0]["loc"] == "labels[0].reference"
    )


def test_openrlhf_bad_labels(server: str) -> None:
    body = openrlhf_body(2)
    body["labels"] = body["labels"][:1]
    assert httpx.post(f"{server}/get_reward", json=body).status_code == 422
    broken = openrlhf_body(1, label='{"pivot_answer": 18')
    assert (
        httpx.post(f"{server}/get_reward", json=broken).json()["error"]["fields"][0]["loc"]
        == "labels[0]"
    )


def test_openrlhf_single_sample_requests_are_batched() -> None:
    """OpenRLHF sends one sample per request, many at once: they must share model batches."""
    factory = HashFactory()
    app = create_app(fast_settings(max_wait_ms=50, max_batch_size=512), encoder_factory=factory)
    with running_server(app) as base:
        factory.encoder.calls.clear()
        prompt = "Frage: Wie viel verdient sie?\nAntwort:"

        async def send_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                return await asyncio.gather(
                    *(
                        client.post(
                            "/get_reward",
                            json={
                                "query": [f"{prompt} Sie verdient {i} $. Die Antwort lautet {i}."],
                                "prompts": [prompt],
                                "labels": [
                                    json.dumps(
                                        {"pivot_answer": "18", "lang": "de", "reference": REFERENCE}
                                    )
                                ],
                            },
                        )
                        for i in range(64)
                    )
                )

        responses = asyncio.run(send_all())
        assert all(r.status_code == 200 for r in responses)
        assert responses[18].json()["extra_logs"]["answer"] == [1.0]
        calls = factory.encoder.calls
        assert sum(calls) == 65 and len(calls) <= 8, calls  # 64 responses + the shared reference
