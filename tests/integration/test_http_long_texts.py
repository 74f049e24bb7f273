"""Long texts and reasoning outputs over HTTP (hash encoder): windowing, truncation, gate scope."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server

LONG = " ".join(f"Janet verkauft Eier Nummer {i} auf dem Markt." for i in range(120))  # ~840 words
REFERENCE = "Janet sells her eggs at the farmers market every day. The answer is 18."
THINK_THEN_GERMAN = (
    "<think>\nShe has 16 eggs, eats 3, bakes with 4, so 9 are left; 9 times 2 dollars is 18.\n"
    "Let me double-check that: three for breakfast and four for the muffins is seven eggs, and "
    "sixteen minus seven leaves nine eggs to sell at the market, which brings in eighteen.\n"
    "</think>\nJanet hat 16 Eier, isst 3 und backt mit 4, also bleiben 9. Sie verkauft sie für je "
    "2 Dollar und verdient 18 Dollar. Die Antwort ist 18."
)


def _server(**overrides: object) -> Iterator[str]:
    app = create_app(fast_settings(max_wait_ms=5, **overrides), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from _server()


@pytest.fixture(scope="module")
def truncating_server() -> Iterator[str]:
    yield from _server(reward_long_text="truncate", gate_scope="full")


def _rewards(base: str, items: list[dict], **extra: object) -> list[dict]:
    reply = httpx.post(f"{base}/v1/rewards", json={"items": items, **extra}, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()["results"]


def test_similarity_keeps_its_contract_and_offers_windows(server: str) -> None:
    body = {"reference": REFERENCE, "candidates": [LONG, "kurz"]}
    rejected = httpx.post(f"{server}/v1/similarity", json=body)
    assert rejected.status_code == 422
    assert rejected.json()["error"]["fields"][0]["loc"] == "candidates[0]"
    cut = httpx.post(f"{server}/v1/similarity", json={**body, "truncate": True}).json()["results"]
    assert [(r["truncated"], r["long_text"]) for r in cut] == [
        (True, "truncated"),
        (False, "whole"),
    ]
    whole = httpx.post(f"{server}/v1/similarity", json={**body, "window": True}).json()["results"]
    assert [(r["truncated"], r["long_text"]) for r in whole] == [
        (False, "windowed"),
        (False, "whole"),
    ]
    assert 0.0 <= whole[0]["score"] <= 1.0


def test_rewards_window_long_texts_by_default_and_report_it(server: str) -> None:
    items = [
        {"response": LONG, "lang": "de", "reference": REFERENCE},
        {"response": "Janet verkauft Eier.", "lang": "de", "reference": REFERENCE},
    ]
    windowed = _rewards(server, items, preset="pb-rlsvr-embedding")
    assert [r["long_text"] for r in windowed] == ["windowed", "whole"]
    cut = _rewards(server, items, preset="pb-rlsvr-embedding", long_text="truncate")
    assert [r["long_text"] for r in cut] == ["truncated", "whole"]
    pasmr = _rewards(server, [{**items[0], "pivot_answer": "18"}], preset="pasmr")
    assert pasmr[0]["long_text"] is None  # no similarity component, nothing to report


def test_a_long_reference_is_windowed_too(server: str) -> None:
    result = _rewards(
        server,
        [{"response": "Janet verkauft Eier.", "lang": "de", "reference": LONG}],
        preset="pb-rlsvr-embedding",
    )[0]
    assert result["long_text"] == "windowed"


def test_bad_long_text_option_is_a_422_naming_the_field(server: str) -> None:
    reply = httpx.post(
        f"{server}/v1/rewards",
        json={"items": [{"response": "x", "lang": "de", "reference": "y"}], "long_text": "all"},
    )
    assert reply.status_code == 422
    assert any(f["loc"] == "long_text" for f in reply.json()["error"]["fields"])


def test_settings_choose_truncation_and_a_request_can_ask_for_windows(
    truncating_server: str,
) -> None:
    item = {"response": LONG, "lang": "de", "reference": REFERENCE}
    assert _rewards(truncating_server, [item], preset="pb-rlsvr-embedding")[0]["long_text"] == (
        "truncated"
    )
    asked = _rewards(truncating_server, [item], preset="pb-rlsvr-embedding", long_text="window")
    assert asked[0]["long_text"] == "windowed"


def test_gate_scope_answer_skips_english_thinking_and_full_does_not(
    server: str, truncating_server: str
) -> None:
    item = {"response": THINK_THEN_GERMAN, "lang": "de", "pivot_answer": "18"}
    assert _rewards(server, [item], preset="pasmr")[0]["gate"] == "ok"
    full = _rewards(truncating_server, [item], preset="pasmr")[0]  # PIVOT_GATE_SCOPE=full
    assert full["gate"] == "wrong_language" and full["reward"] == 0.0


@pytest.mark.parametrize(
    ("name", "value"), [("gate_scope", "visible"), ("reward_long_text", "all")]
)
def test_bad_settings_are_rejected(name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{name: value})  # type: ignore[arg-type]


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_GATE_SCOPE", "full")
    monkeypatch.setenv("PIVOT_REWARD_LONG_TEXT", "truncate")
    settings = Settings()
    assert settings.gate_scope == "full" and settings.reward_long_text == "truncate"
    assert Settings.model_fields["gate_scope"].default == "answer"
    assert Settings.model_fields["reward_long_text"].default == "window"
