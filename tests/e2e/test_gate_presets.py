"""A pasted reference earns 0 under every preset, over HTTP, however it is wrapped.

One loopback server with the hash encoder and the tiny NLLB (so `pb-rlsvr-translation` runs for
real). Each paste is scored twice: with the preset (gate on) it must earn exactly 0 with
`copied_reference`; with the same recipe and the gate off it earns a positive reward (except
under translation, whose tiny model translates into noise), which shows that the gate, not an
accident of the components, is what takes the reward away.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from service.api.app import create_app
from service.scoring.rewards import PRESETS
from tests.conftest import HashFactory, fast_settings
from tests.fixtures.tiny_nllb import TinyNllb, build_tiny_nllb
from tests.support.server import running_server

pytestmark = pytest.mark.e2e

REFERENCE = (
    "The baker makes 240 rolls. She sells 180 of them before noon and half of the remaining 60 in "
    "the afternoon, so 30 rolls are left. The answer is 30."
)
GERMAN = (
    "Die Bäckerin backt 240 Brötchen. Bis Mittag verkauft sie 180 davon und am Nachmittag die "
    "Hälfte der restlichen 60, also bleiben 30 Brötchen übrig. Die Antwort ist 30."
)
PASTES = {
    "code fence": f"```\n{REFERENCE}\n```",
    "tagged code fence": f"```text\n{REFERENCE}\n```",
    "display math": f"$${REFERENCE}$$",
    "text in display math": "$$\\text{" + REFERENCE + "}$$",
    "text in bracket math": "\\[\\text{" + REFERENCE + "}\\]",
    "blockquote": "> " + REFERENCE,
    "html comment": f"<!-- {REFERENCE} -->",
    "native wrapper": f"Hier ist die Lösung:\n{REFERENCE}\nIch hoffe, das hilft dir weiter!",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyNllb:
    return build_tiny_nllb(tmp_path_factory.mktemp("tiny_nllb_gate"))


@pytest.fixture(scope="module")
def server(tiny: TinyNllb) -> Iterator[str]:
    settings = fast_settings(translation_model=tiny.ct2_dir, translation_threads=1, max_wait_ms=10)
    with running_server(create_app(settings, encoder_factory=HashFactory())) as base:
        yield base


def _score(server: str, response: str, **recipe: object) -> dict:
    body = {
        "items": [
            {"response": response, "lang": "de", "reference": REFERENCE, "pivot_answer": "30"}
        ],
        **recipe,
    }
    reply = httpx.post(f"{server}/v1/rewards", json=body, timeout=120)
    assert reply.status_code == 200, reply.text
    return reply.json()["results"][0]


def _gate_off(preset: str) -> dict[str, object]:
    spec = PRESETS[preset]
    return {
        "spec": {
            **spec.weights(),
            "combine": spec.combine,
            "gate": False,
        }
    }


@pytest.mark.parametrize("paste", sorted(PASTES))
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_a_wrapped_paste_earns_zero_under_every_preset(
    server: str, preset: str, paste: str
) -> None:
    response = PASTES[paste]
    gated = _score(server, response, preset=preset)
    assert gated["gate"] == "copied_reference", gated
    assert gated["reward"] == 0.0
    ungated = _score(server, response, **_gate_off(preset))
    assert ungated["gate"] == "off" and ungated["reward"] is not None
    if not PRESETS[preset].uses("translation"):
        # The tiny NLLB's translations are noise, so only the other recipes show a paste's
        # unearned reward; for translation the point is that the gate zeroes whatever it scored.
        assert ungated["reward"] > 0.0, ungated


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_a_genuine_german_answer_passes_the_gate_under_every_preset(
    server: str, preset: str
) -> None:
    result = _score(server, GERMAN, preset=preset)
    assert result["gate"] == "ok", result
    assert result["reward"] == _score(server, GERMAN, **_gate_off(preset))["reward"]


def test_pasmr_without_reference_still_reads_fenced_english(server: str) -> None:
    # pasmr needs no reference, so there is nothing to call a copy: the gate reads the fenced
    # prose as English instead (before the fix: "undetermined", which passed with reward 1).
    body = {
        "preset": "pasmr",
        "items": [
            {
                "response": "```\nShe has 240 rolls, sells 180 and then 30 more. So 30 are left.\n```",
                "lang": "de",
                "pivot_answer": "30",
            }
        ],
    }
    reply = httpx.post(f"{server}/v1/rewards", json=body, timeout=60)
    result = reply.json()["results"][0]
    assert result["answer_status"] == "match"
    assert result["gate"] == "wrong_language" and result["reward"] == 0.0
