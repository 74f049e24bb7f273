"""Which language an item is scored in: given, detected in the response, default, prompt."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.scoring.language_choice import choose_language
from service.settings import Settings

GERMAN = "Janet verkauft neun Eier zu je zwei Dollar, also verdient sie achtzehn Dollar."
SWAHILI_PROMPT = "Swali: Janet ana mayai kumi na sita. Anauza mayai mangapi kila siku sokoni?"


def test_the_given_language_wins() -> None:
    assert choose_language("fr", GERMAN, default="es", prompt=SWAHILI_PROMPT) == ("fr", "given")


def test_detected_in_the_response() -> None:
    assert choose_language(None, GERMAN, default="es", prompt=SWAHILI_PROMPT) == (
        "de",
        "response",
    )


def test_default_when_the_response_has_too_few_letters() -> None:
    assert choose_language(None, "18", default="es", prompt=SWAHILI_PROMPT) == ("es", "default")
    assert choose_language(None, "\\boxed{18}", default="es") == ("es", "default")


def test_prompt_as_the_last_resort() -> None:
    assert choose_language(None, "18", prompt=SWAHILI_PROMPT) == ("sw", "prompt")


def test_nothing_tells() -> None:
    assert choose_language(None, "18") == (None, None)
    assert choose_language(None, "18", prompt="= 3") == (None, None)


@pytest.mark.parametrize(("value", "expected"), [("DE", "de"), ("deu_Latn", "de"), ("", None)])
def test_default_lang_setting_is_canonical(value: str, expected: str | None) -> None:
    assert Settings(default_lang=value).default_lang == expected
    assert Settings().default_lang is None


def test_unknown_default_lang_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_DEFAULT_LANG", "klingon")
    with pytest.raises(ValidationError, match="default_lang"):
        Settings()
