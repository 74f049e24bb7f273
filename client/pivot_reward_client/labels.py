"""What a trainer's label / ground truth carries, as `/v1/rewards` item fields.

The same rules as the server's `/get_reward` labels:

- a JSON object (a dict, or a string starting with `{`): the keys `reference`, `pivot_answer`
  (aliases `answer`, `gold`, `gold_answer`), `pivot_response`, `lang`, `prompt`;
- a number (`18`, `2.5`), or a text that is just a number (`"18"`, `"$1,250.50"`,
  `"\\frac{3}{4}"`: digits, no letters outside LaTeX commands): the gold final answer;
- any other text: an English response, used as the reference and as the pivot response (its
  final answer is extracted by the server);
- a one-element list: its element.
"""

import json
import math
import re
from collections.abc import Mapping
from typing import Any

MAX_ANSWER_CHARS = 200  # the server's limit on `pivot_answer`
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
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


def is_bare_number(value: str) -> bool:
    """A text that is just a number: a digit, and no letters outside LaTeX commands."""
    stripped = _LATEX_COMMAND.sub("", value)
    return any(c.isdigit() for c in stripped) and not any(c.isalpha() for c in stripped)


def label_fields(label: Any) -> dict[str, str]:
    """The item fields a label carries (see the module docstring); {} for none."""
    label = plain(label)
    if isinstance(label, list | tuple) and len(label) == 1:
        label = label[0]
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
    if is_bare_number(stripped) and len(stripped) <= MAX_ANSWER_CHARS:
        return {"pivot_answer": stripped}
    return {"reference": stripped, "pivot_response": stripped}
