"""Long responses translated sentence by sentence, on the tiny NLLB through the real server.

The tiny model accepts 128 tokens: a whole multi-sentence rollout given at once is cut (before:
the translation reward silently read a cut translation). Sentence by sentence, every piece fits
and nothing is cut; when a piece's translation does hit `max_length`, `truncated` says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.api.app import create_app
from service.scoring.sentences import split_sentences
from tests.conftest import HashFactory, fast_settings
from tests.fixtures.tiny_nllb import TinyNllb, build_tiny_nllb
from tests.support.server import running_server

pytestmark = pytest.mark.e2e

SENTENCES = [
    "Janet kauft 5 Äpfel.",
    "Der Bauer verkauft 12 Eier.",
    "Meine Schwester liest 3 Bücher.",
    "Ein Lehrer backt 7 Kuchen.",
]
LONG = "\n".join(" ".join(SENTENCES) for _ in range(15))  # 60 sentences, ~500 tokens
REFERENCE = "Janet buys 5 apples. The farmer sells 12 eggs."


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyNllb:
    return build_tiny_nllb(tmp_path_factory.mktemp("tiny_nllb_long"))


@pytest.fixture(scope="module")
def server(tiny: TinyNllb) -> Iterator[tuple[str, Any]]:
    settings = fast_settings(
        translation_model=tiny.ct2_dir, translation_threads=1, translation_max_length=100
    )
    app = create_app(settings, encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base, app.state.pivot


def test_the_whole_text_in_one_piece_is_cut(server: tuple[str, Any]) -> None:
    base, _ = server
    reply = httpx.post(f"{base}/v1/translate", json={"texts": [LONG], "source_lang": "de"})
    assert reply.json()["translations"][0]["truncated"] is True


def test_a_long_response_is_translated_sentence_by_sentence(server: tuple[str, Any]) -> None:
    base, _ = server
    body = {"reference": REFERENCE, "candidates": [LONG], "source_lang": "de"}
    result = httpx.post(f"{base}/v1/translation-similarity", json=body, timeout=120).json()
    (item,) = result["results"]
    assert item["truncated"] is False
    # Every sentence was translated on its own: the same four sentences, translated once each
    # (cached), and the output has the source's 15 lines.
    assert len(item["translation"].split("\n")) == 15
    singles = httpx.post(
        f"{base}/v1/translate", json={"texts": SENTENCES, "source_lang": "de"}
    ).json()["translations"]
    first_line = " ".join(t["text"].strip() for t in singles)
    assert item["translation"].split("\n")[0] == first_line
    assert len(split_sentences(LONG)) == 60


def test_the_translation_reward_reads_every_sentence_and_says_so(server: tuple[str, Any]) -> None:
    base, _ = server
    items = [{"response": LONG, "lang": "de", "reference": REFERENCE}]
    reply = httpx.post(
        f"{base}/v1/rewards", json={"preset": "pb-rlsvr-translation", "items": items}, timeout=120
    )
    result = reply.json()["results"][0]
    assert result["long_text"] in ("whole", "windowed")  # not truncated
    assert result["translation"].count("\n") == 14


def test_a_translation_cut_at_max_length_is_reported(server: tuple[str, Any]) -> None:
    base, _ = server
    body = {"reference": REFERENCE, "candidates": [LONG], "source_lang": "de", "max_length": 2}
    item = httpx.post(f"{base}/v1/translation-similarity", json=body, timeout=120).json()[
        "results"
    ][0]
    assert item["truncated"] is True


def test_a_run_on_sentence_longer_than_the_model_is_cut_at_spaces(server: tuple[str, Any]) -> None:
    base, _ = server
    run_on = " und ".join(s.rstrip(".") for s in SENTENCES * 10)  # one 40-clause "sentence"
    body = {"reference": REFERENCE, "candidates": [run_on], "source_lang": "de"}
    item = httpx.post(f"{base}/v1/translation-similarity", json=body, timeout=120).json()[
        "results"
    ][0]
    assert item["truncated"] is False and item["translation"].strip()
