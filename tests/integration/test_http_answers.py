"""/v1/answer-consistency and /v1/pivot/extract over HTTP on loopback."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from service.scoring.answers import score_consistency


def test_consistency_statuses_and_rewards(fast_server: str) -> None:
    body = {
        "items": [
            {
                "target_response": "Die Antwort lautet 1.250.",
                "pivot_response": "The answer is 1,250.",
                "lang": "de",
            },
            {"target_response": "উত্তর: ১৬", "pivot_answer": "18", "lang": "bn"},
            {"target_response": "Je ne sais pas.", "pivot_answer": "18", "lang": "fr"},
            {"target_response": "答案是 42。", "pivot_response": "I cannot tell.", "lang": "zh"},
            {"target_response": "Jibu ni 7", "pivot_answer": "7.00", "lang": "swh_Latn"},
        ]
    }
    response = httpx.post(f"{fast_server}/v1/answer-consistency", json=body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "match",
        "mismatch",
        "format_error",
        "no_pivot_answer",
        "match",
    ]
    assert [r["reward"] for r in results] == [1.0, 0.1, 0.0, None, 1.0]
    assert results[0]["target_answer"] == results[0]["pivot_answer"] == "1250"
    assert results[1]["target_answer"] == "16"
    # the HTTP result is the pure function's result
    direct = score_consistency("উত্তর: ১৬", "bn", pivot_answer="18")
    assert results[1]["detail"] == direct.detail


def test_reward_overrides(fast_server: str) -> None:
    body = {
        "items": [{"target_response": "The answer is 3.", "pivot_answer": "4", "lang": "en"}],
        "rewards": {"match": 2.0, "mismatch": -1.0, "format_error": -2.0},
    }
    results = httpx.post(f"{fast_server}/v1/answer-consistency", json=body).json()["results"]
    assert results[0]["reward"] == -1.0


@pytest.mark.parametrize(
    ("body", "loc", "text"),
    [
        (
            {"items": [{"target_response": "x", "pivot_answer": "1", "lang": "xx"}]},
            "items[0].lang",
            "supported codes",
        ),
        ({"items": [{"target_response": "x", "lang": "de"}]}, "items[0]", "pivot_response"),
        ({"items": []}, "items", ""),
        (
            {
                "items": [{"target_response": "x", "pivot_answer": "1", "lang": "de"}],
                "rewards": {"match": "NaN"},
            },
            "rewards.match",
            "",
        ),
        (
            {"items": [{"target_response": "", "pivot_answer": "1", "lang": "de"}]},
            "items[0].target_response",
            "",
        ),
    ],
)
def test_consistency_bad_input(fast_server: str, body: dict, loc: str, text: str) -> None:
    response = httpx.post(f"{fast_server}/v1/answer-consistency", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert any(f["loc"] == loc for f in error["fields"]), error
    assert text in error["message"]


def test_pivot_extract(fast_server: str) -> None:
    body = {
        "rollouts": [
            "<pivot>How many eggs?</pivot> Sie verkauft 9 Eier. Die Antwort lautet 9.",
            "Sie verkauft 9 Eier. Die Antwort lautet 9.",
            "[[Q]]How many?[[/Q]] 答案是 3",
        ]
    }
    data = httpx.post(f"{fast_server}/v1/pivot/extract", json=body).json()
    assert data["start"] == "<pivot>"
    first, second, third = data["results"]
    assert first["pivot_question"] == "How many eggs?" and "Antwort" in first["target_answer"]
    assert first["format_error"] is None
    assert second["format_error"] and second["pivot_question"] is None
    assert third["format_error"]
    custom = httpx.post(
        f"{fast_server}/v1/pivot/extract",
        json={"rollouts": body["rollouts"][2:], "start": "[[Q]]", "end": "[[/Q]]"},
    ).json()
    assert custom["results"][0]["pivot_question"] == "How many?"


async def test_answer_scoring_does_not_stall_similarity(fast_server: str) -> None:
    """A big consistency batch runs off the event loop: small similarity requests still answer quickly."""
    rollout = (
        "Schritt für Schritt: "
        + " ".join(f"{i} + 1 = {i + 1}." for i in range(40))
        + " Die Antwort lautet 41."
    )
    big = {
        "items": [
            {"target_response": rollout + f" {i}", "pivot_answer": "41", "lang": "de"}
            for i in range(1024)
        ]
    }
    async with httpx.AsyncClient(base_url=fast_server, timeout=60) as client:
        heavy = asyncio.ensure_future(client.post("/v1/answer-consistency", json=big))
        await asyncio.sleep(0.05)
        latencies = []
        while not heavy.done():
            started = time.perf_counter()
            r = await client.post(
                "/v1/similarity", json={"reference": "a b", "candidates": [f"x {len(latencies)}"]}
            )
            assert r.status_code == 200
            latencies.append(time.perf_counter() - started)
        assert (await heavy).status_code == 200
    assert latencies, "the consistency batch finished before any probe"
    assert max(latencies) < 1.0, latencies
