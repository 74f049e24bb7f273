"""OpenRLHF labels: what a dataset's label column tells the reward (reference, gold answer, language).

OpenRLHF passes the label column through as whatever JSON type the dataset holds, so every type is
read (see `parse_label`); only a label that cannot mean anything is refused (InvalidInputError
naming `labels[i]`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from service.errors import InvalidInputError
from service.scoring.answers import canonical_number
from service.scoring.languages import UnknownLanguageError, normalize_lang

LabelKind = Literal["none", "number", "text", "object"]

# Every alias of the gold / pivot final answer, in the order they win when several agree.
ANSWER_KEYS = ("pivot_answer", "answer", "gold", "gold_answer")
LABEL_KEYS = frozenset({"reference", "pivot_response", "lang", *ANSWER_KEYS})

_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")


@dataclass(frozen=True)
class Label:
    """What one label says; None = the label does not say it."""

    kind: LabelKind
    reference: str | None = None
    pivot_response: str | None = None
    pivot_answer: str | None = None
    lang: str | None = None


def is_bare_number(text: str) -> bool:
    """True for a string that is just a number ("18", "1,250.5", "$18", "3/4", "\\boxed{18}"), not
    a sentence that contains one: no letters outside LaTeX commands, and one readable value."""
    stripped = text.strip()
    if not stripped or any(ch.isalpha() for ch in _LATEX_COMMAND.sub("", stripped)):
        return False
    return canonical_number(stripped, None) is not None


def format_number(value: int | float, loc: str) -> str:
    """A JSON number as a plain decimal string (18, 18.5, 0.0000001; never 1e-07)."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise InvalidInputError("label is not a finite number", loc)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _check_unicode(text: str, loc: str) -> str:
    """Refuse a lone surrogate (legal in JSON, not in any text a model can read)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"not valid Unicode: a lone surrogate at position {exc.start}", loc
        ) from None
    return text


def _text_label(text: str, loc: str) -> Label:
    stripped = _check_unicode(text, loc).strip()
    if not stripped:
        return Label("none")
    if is_bare_number(stripped):
        return Label("number", pivot_answer=stripped)
    # An English response: compare with it, and read its final answer as the pivot answer.
    return Label("text", reference=stripped, pivot_response=stripped)


def _scalar(value: object, loc: str) -> str | None:
    """A label object's value as text; None for null or an empty string."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInputError("must be a string or a number", loc)
    text = (
        _check_unicode(value, loc).strip() if isinstance(value, str) else format_number(value, loc)
    )
    return text or None


def _object_label(label: dict[str, Any], loc: str) -> Label:
    unknown = set(label) - LABEL_KEYS
    if unknown:
        raise InvalidInputError(
            f"unknown label keys {sorted(unknown)}; known: {sorted(LABEL_KEYS)}", loc
        )
    if label.get("lang") is not None and not isinstance(label["lang"], str):
        raise InvalidInputError('the language code must be a string, e.g. "de"', f"{loc}.lang")
    values = {key: _scalar(value, f"{loc}.{key}") for key, value in label.items()}
    answers = {key: values[key] for key in ANSWER_KEYS if values.get(key) is not None}
    if len(set(answers.values())) > 1:
        raise InvalidInputError(
            f"the label gives different answers in {sorted(answers)}: give one", loc
        )
    lang = values.get("lang")
    if lang is not None:
        try:
            lang = normalize_lang(lang)
        except UnknownLanguageError as exc:
            raise InvalidInputError(str(exc), f"{loc}.lang") from None
    reference = values.get("reference")
    pivot_response = values.get("pivot_response")
    pivot_answer = next(iter(answers.values()), None)
    if pivot_response is None and pivot_answer is None:
        pivot_response = reference  # the English reference is also an English answer
    return Label("object", reference, pivot_response, pivot_answer, lang)


def parse_label(label: object, loc: str) -> Label:
    """Read one label of any JSON type:

    - null, `""`, `[]`: no label (the item may still be scored by a recipe that needs nothing);
    - a number, or a string that is just a number (`18`, `"1,250.5"`): the gold answer;
    - any other string: an English response, both the reference and the pivot response (its final
      answer is extracted); a string starting with `{` is read as a JSON object;
    - an object with `reference`, `pivot_answer` (aliases `answer`, `gold`, `gold_answer`),
      `pivot_response`, `lang`; with a reference but no answer, the reference is the pivot response;
    - a one-element list: its element.

    Refused (InvalidInputError at `loc`): a boolean, a list of several elements, an object with
    unknown keys, nested values or conflicting answers, an unknown `lang`, JSON that does not parse.
    """
    if label is None:
        return Label("none")
    if isinstance(label, bool):
        raise InvalidInputError(
            "a true/false label carries no reference, answer or language; give a string, "
            "a number or an object",
            loc,
        )
    if isinstance(label, (int, float)):
        return Label("number", pivot_answer=format_number(label, loc))
    if isinstance(label, list):
        if not label:
            return Label("none")
        if len(label) > 1:
            raise InvalidInputError(
                f"a list label must hold exactly one element, not {len(label)} "
                "(several gold answers are not supported)",
                loc,
            )
        return parse_label(label[0], loc)
    if isinstance(label, str):
        if not label.strip().startswith("{"):
            return _text_label(label, loc)
        try:
            label = json.loads(label)
        except (json.JSONDecodeError, RecursionError) as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InvalidInputError(
                f"label looks like JSON but does not parse: {message}", loc
            ) from None
    if isinstance(label, dict):
        return _object_label(label, loc)
    raise InvalidInputError("label must be a string, a number, an object or null", loc)
