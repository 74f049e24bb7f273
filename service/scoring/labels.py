"""OpenRLHF labels: what a dataset's label column tells the reward (reference, gold answer, language)."""

from __future__ import annotations

import json
from typing import Any

from service.errors import InvalidInputError

_LABEL_KEYS = {
    "reference",
    "pivot_answer",
    "pivot_response",
    "lang",
    "answer",
    "gold",
    "gold_answer",
}


def parse_label(label: str | dict[str, Any] | None, loc: str) -> dict[str, str]:
    """A label is a plain gold/pivot answer (`"18"`), or a JSON object (or its string) with any of
    `reference`, `pivot_answer` (aliases `answer`, `gold`, `gold_answer`), `pivot_response`, `lang`."""
    if label is None:
        return {}
    if isinstance(label, str):
        stripped = label.strip()
        if stripped.startswith("{"):
            try:
                label = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(
                    f"label looks like JSON but does not parse: {exc.msg}", loc
                ) from None
        else:
            return {"pivot_answer": stripped} if stripped else {}
    if not isinstance(label, dict):
        raise InvalidInputError("label must be a string or a JSON object", loc)
    unknown = set(label) - _LABEL_KEYS
    if unknown:
        raise InvalidInputError(
            f"unknown label keys {sorted(unknown)}; known: {sorted(_LABEL_KEYS)}", loc
        )
    parsed: dict[str, str] = {}
    for key, value in label.items():
        if value is None:
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise InvalidInputError(f"label key '{key}' must be a string or number", loc)
        target = "pivot_answer" if key in ("answer", "gold", "gold_answer") else key
        parsed[target] = str(value)
    return parsed
