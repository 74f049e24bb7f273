"""Which language an item is scored in, when the request may not say."""

from __future__ import annotations

from typing import Literal

from service.scoring.fidelity import detect_language

LangSource = Literal["given", "response", "default", "prompt"]


def choose_language(
    given: str | None,
    response: str,
    *,
    default: str | None = None,
    prompt: str | None = None,
) -> tuple[str | None, LangSource | None]:
    """(language, where it came from), first of: the item's own `lang`; the language detected in
    the response; the configured default; the language detected in the prompt. (None, None) when
    none gives one.

    The response comes before the prompt because chat templates often wrap a target-language
    question in an English system prompt. A language read from the response cannot be wrong for
    it, so the fidelity gate cannot catch a wrong-language answer then: datasets should say `lang`.
    """
    if given is not None:
        return given, "given"
    if (detected := detect_language(response).lang) is not None:
        return detected, "response"
    if default is not None:
        return default, "default"
    if prompt and (detected := detect_language(prompt).lang) is not None:
        return detected, "prompt"
    return None, None
