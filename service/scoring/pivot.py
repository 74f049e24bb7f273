"""Split a PASMR stage-1 rollout into its English pivot question and target-language answer.

PASMR's PAM stage teaches the model to write the English translation of the question between
two delimiter tokens and then answer in the target language::

    <pivot>How many eggs are left?</pivot>Es bleiben 53 Eier übrig. Die Antwort lautet 53.

The paper does not fix the delimiter strings, so the defaults are ``<pivot>`` / ``</pivot>``
(XML-like, unlikely in math text, and a single added special token each when registered with
the tokenizer); pass the trainer's own tokens via ``start`` / ``end``.

Format rules (anything else is a format error, which PASMR rewards with 0):

* exactly one start and one end delimiter, start before end (a repeated or nested delimiter
  means the model did not learn the format, so no block is guessed);
* the pivot question and the answer after the end delimiter are both non-empty after
  stripping whitespace;
* text before the start delimiter is tolerated (``allow_preamble=True``, e.g. a leftover chat
  prefix) unless the caller asks for strictness;
* ``require_start=False`` supports prompts that already end with the start delimiter, so the
  rollout itself only contains ``question</pivot>answer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_END", "DEFAULT_START", "PivotExtraction", "extract_pivot"]

DEFAULT_START: Final = "<pivot>"
DEFAULT_END: Final = "</pivot>"

# Format-error reasons (stable strings, safe as metric labels).
EMPTY_ROLLOUT: Final = "empty_rollout"
MISSING_START: Final = "missing_start_delimiter"
MISSING_END: Final = "missing_end_delimiter"
OUT_OF_ORDER: Final = "delimiters_out_of_order"
NESTED: Final = "nested_delimiters"
DUPLICATED: Final = "duplicated_delimiters"
EMPTY_PIVOT: Final = "empty_pivot"
EMPTY_ANSWER: Final = "empty_answer"
PREAMBLE: Final = "text_before_pivot"


@dataclass(frozen=True, slots=True)
class PivotExtraction:
    """Pivot question and target answer of a rollout, or the reason it is malformed."""

    pivot_question: str | None
    target_answer: str | None
    format_error: str | None = None

    @property
    def ok(self) -> bool:
        """True when both parts were extracted."""
        return self.format_error is None


def _error(reason: str) -> PivotExtraction:
    return PivotExtraction(None, None, reason)


def _occurrences(text: str, token: str) -> list[int]:
    found: list[int] = []
    i = text.find(token)
    while i != -1:
        found.append(i)
        i = text.find(token, i + len(token))
    return found


def extract_pivot(
    rollout: str,
    *,
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    allow_preamble: bool = True,
    require_start: bool = True,
) -> PivotExtraction:
    """Extract (pivot question, target answer) from a stage-1 style rollout.

    Raises ValueError for empty delimiters (a caller bug, not a rollout format error).
    """
    if not start or not end:
        raise ValueError("pivot delimiters must be non-empty strings")
    if not rollout or not rollout.strip():
        return _error(EMPTY_ROLLOUT)

    if start == end:
        marks = _occurrences(rollout, start)
        if len(marks) > 2:
            return _error(DUPLICATED)
        if len(marks) == 2:
            starts, ends = [marks[0]], [marks[1]]
        else:  # one mark: either the opening one is in the prompt, or the closing one is missing
            starts, ends = ([], marks) if not require_start else (marks, [])
    else:
        starts, ends = _occurrences(rollout, start), _occurrences(rollout, end)
        # "</pivot>" contains no "<pivot>", but a start that is a substring of end (e.g. "<p"
        # and "<p>") would double count; drop start hits that are really inside an end token
        ends_spans = [(e, e + len(end)) for e in ends]
        starts = [
            s for s in starts if not any(a <= s < b and s + len(start) <= b for a, b in ends_spans)
        ]

    if len(starts) > 1 or len(ends) > 1:
        if starts and ends and len(starts) > 1 and starts[1] < ends[0]:
            return _error(NESTED)
        return _error(DUPLICATED)
    if not ends:
        return _error(MISSING_END if starts or not require_start else MISSING_START)
    if not starts:
        if require_start:
            return _error(MISSING_START)
        body_start = 0
    else:
        if starts[0] > ends[0]:
            return _error(OUT_OF_ORDER)
        if not allow_preamble and rollout[: starts[0]].strip():
            return _error(PREAMBLE)
        body_start = starts[0] + len(start)

    question = rollout[body_start : ends[0]].strip()
    answer = rollout[ends[0] + len(end) :].strip()
    if not question:
        return _error(EMPTY_PIVOT)
    if not answer:
        return PivotExtraction(question, None, EMPTY_ANSWER)
    return PivotExtraction(question, answer)
