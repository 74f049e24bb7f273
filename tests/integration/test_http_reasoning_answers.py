"""Reasoning blocks over HTTP: /v1/answer-consistency, /v1/rewards and /v1/rank read the answer
outside the thinking block, with the delimiters of PIVOT_THINK_START / PIVOT_THINK_END."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server

# A custom pair, so the test shows the settings reach the scoring (not the built-in default).
START, END = "<reasoning>", "</reasoning>"
VISIBLE_75 = f"{START}3 × 25 = 75, plus 20 loose: 95. The answer is 95.{END}\nDie Antwort ist 75."
ONLY_INSIDE = f"{START}7 × 8 = 56. So the answer is 56.{END}"
UNCLOSED = f"{START}First 60 × 2.5 = 150 km, then 40 × 1.5 = 60 km, total 210"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    settings = fast_settings(max_wait_ms=5, think_start=START, think_end=END)
    with running_server(create_app(settings, encoder_factory=HashFactory())) as base_url:
        yield base_url


def test_answer_consistency_uses_the_configured_delimiters(server: str) -> None:
    body = {
        "items": [
            {"target_response": VISIBLE_75, "pivot_answer": "75", "lang": "de"},
            {"target_response": VISIBLE_75, "pivot_answer": "95", "lang": "de"},
            {"target_response": ONLY_INSIDE, "pivot_answer": "56", "lang": "bn"},
            {"target_response": UNCLOSED, "pivot_answer": "210", "lang": "te"},
            {
                "target_response": "Jibu ni 64.",
                "pivot_response": f"{START}8 × 8 = 64",
                "lang": "sw",
            },
        ]
    }
    response = httpx.post(f"{server}/v1/answer-consistency", json=body, timeout=30)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "match",
        "mismatch",
        "format_error",
        "format_error",
        "no_pivot_answer",
    ]
    assert "answer_only_in_reasoning" in results[2]["detail"]
    assert "unclosed_reasoning" in results[3]["detail"]
    assert "unclosed_reasoning" in results[4]["detail"]


def test_rewards_pasmr_uses_the_configured_delimiters(server: str) -> None:
    body = {
        "preset": "pasmr",
        "items": [
            {"response": VISIBLE_75, "lang": "de", "pivot_answer": "75"},
            {"response": ONLY_INSIDE, "lang": "bn", "pivot_answer": "56"},
        ],
    }
    response = httpx.post(f"{server}/v1/rewards", json=body, timeout=30)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["answer_status"] for r in results] == ["match", "format_error"]
    assert results[1]["reward"] == 0.0


def test_rank_reads_answers_outside_the_block(server: str) -> None:
    body = {
        "candidates": [
            {"response": VISIBLE_75, "lang": "de"},
            {"response": f"{START}La réponse est 75.{END}\nJe ne sais pas.", "lang": "fr"},
        ]
    }
    response = httpx.post(f"{server}/v1/rank", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert [c["answer"] for c in response.json()["candidates"]] == ["75", None]
