"""/v1/rewards and /v1/rank over HTTP (hash encoder, real fidelity/answers); /get_reward is in
test_http_openrlhf.py."""

from __future__ import annotations

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
    result = data["results"][0]
    assert result["reward"] is None and result["answer_status"] == "no_pivot_answer"
    assert result["reason"] == "no_pivot_answer"


@pytest.mark.parametrize("preset", ["hybrid", "pasmr", "pb-rlsvr-embedding"])
def test_per_item_reasons_never_fail_the_batch(server: str, preset: str) -> None:
    items = [
        item(GERMAN),
        {"response": GERMAN, "lang": "de", "pivot_answer": "18"},  # no reference
        {"response": "18", "reference": REFERENCE, "pivot_answer": "18"},  # no language at all
        {"response": GERMAN, "lang": "de", "reference": REFERENCE},  # no pivot answer
        item(GERMAN_WRONG),
    ]
    results = rewards(server, items, preset=preset)["results"]
    expected = {
        "hybrid": [None, "no_reference", "language_unknown", "no_pivot_answer", None],
        "pasmr": [None, None, "language_unknown", "no_pivot_answer", None],
        "pb-rlsvr-embedding": [None, "no_reference", "language_unknown", None, None],
    }[preset]
    assert [r["reason"] for r in results] == expected
    for result in results:
        assert (result["reward"] is None) == (result["reason"] is not None), result
    assert results[2]["lang"] is None and results[2]["lang_source"] is None
    # the scorable items get exactly what they get alone
    for i in (0, 4):
        assert results[i] == rewards(server, [items[i]], preset=preset)["results"][0]


def test_language_is_optional(server: str) -> None:
    given, detected = rewards(server, [item(GERMAN), {**item(GERMAN), "lang": None}])["results"]
    assert (given["lang"], given["lang_source"]) == ("de", "given")
    assert (detected["lang"], detected["lang_source"]) == ("de", "response")
    assert detected["reward"] == given["reward"]
    from_prompt = rewards(
        server, [{**item("18"), "lang": None, "prompt": "Wie viel Geld verdient Janet jeden Tag?"}]
    )["results"][0]
    assert (from_prompt["lang"], from_prompt["lang_source"]) == ("de", "prompt")
    canonical = rewards(server, [item(GERMAN, lang="deu_Latn")])["results"][0]
    assert canonical["lang"] == "de" and canonical["reward"] == given["reward"]


def long_german(chars: int) -> str:
    steps = [f"Schritt {i}: {i} + {i} = {2 * i}." for i in range(chars // 20 + 1)]
    return " ".join(steps) + " Die Antwort lautet 18."


def test_long_texts_are_cut_and_flagged_not_422(server: str) -> None:
    long_reference = "She adds the numbers step by step. " * 3_000 + "The answer is 18."
    items = [
        item(GERMAN),
        item(long_german(25_000)),
        item(long_german(150_000)),
        item(GERMAN, reference=long_reference),
        item(GERMAN_WRONG),
    ]
    results = rewards(server, items)["results"]
    assert [r["truncated"] for r in results] == [False, True, True, True, False]
    assert results[0]["original_chars"] == {} and results[4]["original_chars"] == {}
    assert results[1]["original_chars"]["response"] == len(items[1]["response"])
    assert results[2]["original_chars"] == {"response": len(items[2]["response"])}
    assert results[3]["original_chars"] == {"reference": len(long_reference)}
    assert [r["answer_status"] for r in results] == ["match"] * 4 + ["mismatch"]
    assert all(r["reason"] is None and r["reward"] is not None for r in results)
    assert results[0] == rewards(server, [items[0]])["results"][0]


def test_low_level_endpoints_keep_their_422_for_long_texts(server: str) -> None:
    response = httpx.post(
        f"{server}/v1/similarity", json={"reference": "r", "candidates": ["x" * 20_001]}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["loc"] == "candidates[0]"


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


def test_a_lone_surrogate_is_422_naming_the_field_not_a_model_failure(server: str) -> None:
    body = b'{"items": [{"response": "Die Antwort \\ud800 lautet 18.", "lang": "de", "reference": "r"}]}'
    response = httpx.post(
        f"{server}/v1/rewards", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["loc"] == "items[0].response"
