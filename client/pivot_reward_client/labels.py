"""What a trainer's label / ground truth carries, as `/v1/rewards` item fields.

The same rules as the server's `/get_reward` labels:

- a JSON object (a dict, or a string starting with `{`): the keys `reference`, `pivot_answer`
  (aliases `answer`, `gold`, `gold_answer`), `pivot_response`, `lang`, `prompt`;
- a number (`18`, `2.5`): the gold final answer;
- a short one-line text (`"18"`, `"$1,250.50"`, `"\\frac{3}{4}"`): the gold final answer;
- a longer or multi-line text: an English solution, used as the reference and as the pivot
  response (its final answer is extracted by the server).
"""

import json
import math
from collections.abc import Mapping
from typing import Any

MAX_ANSWER_CHARS = 200  # the server's limit on `pivot_answer`
FIELDS = ("reference", "pivot_answer", "pivot_response", "lang", "prompt")
ALIASES = {"answer": "pivot_answer", "gold": "pivot_answer", "gold_answer": "pivot_answer"}


def plain(value: Any) -> Any:
    """numpy scalars / arrays and similar to plain Python values."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) and not isinstance(value, str | bytes) else value


def text(value: Any) -> str | None:
    """A value as non-blank text, or None (None, NaN, blank)."""
    value = plain(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    result = value if isinstance(value, str) else str(value)
    return result if result.strip() else None


def label_fields(label: Any) -> dict[str, str]:
    """The item fields a label carries (see the module docstring); {} for none."""
    label = plain(label)
    if label is None or isinstance(label, bool):
        return {}
    if isinstance(label, Mapping):
        fields: dict[str, str] = {}
        for key, value in label.items():
            name = ALIASES.get(str(key), str(key))
            if name in FIELDS and name not in fields and (value_text := text(value)) is not None:
                fields[name] = value_text
        return fields
    if isinstance(label, int | float):
        answer = text(label)
        return {"pivot_answer": answer} if answer is not None else {}
    stripped = (label if isinstance(label, str) else str(label)).strip()
    if not stripped:
        return {}
    if stripped.startswith("{"):
        try:
            decoded = json.loads(stripped)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, dict):
            return label_fields(decoded)
    # A final answer is short and on one line; anything else is a whole solution.
    if len(stripped) > MAX_ANSWER_CHARS or "\n" in stripped:
        return {"reference": stripped, "pivot_response": stripped}
    return {"pivot_answer": stripped}
