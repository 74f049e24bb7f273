"""PASMR's self-feedback reward F(A_T, A_en): 1 when the final answers agree, 0.1 when they
differ, 0 for a format error; None when the pivot gives no answer (the trainer drops the sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

from service.scoring.answers.extract import ExtractedAnswer, extract_final_answer
from service.scoring.answers.values import answers_equal, canonical_number
from service.scoring.languages import normalize_lang
from service.scoring.reasoning import DEFAULT_THINK_END, DEFAULT_THINK_START

ConsistencyStatus = Literal["match", "mismatch", "format_error", "no_pivot_answer"]


@dataclass(frozen=True, slots=True)
class ConsistencyRewards:
    """Reward for each outcome of PASMR's F(A_T, A_en)."""

    match: float = 1.0
    mismatch: float = 0.1
    format_error: float = 0.0

    def __post_init__(self) -> None:
        for name in ("match", "mismatch", "format_error"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"reward {name} must be a finite number")


DEFAULT_REWARDS: Final = ConsistencyRewards()


@dataclass(frozen=True, slots=True)
class ConsistencyResult:
    """Outcome of comparing a target-language rollout with the pivot answer."""

    status: ConsistencyStatus
    reward: float | None
    target_answer: str | None
    pivot_answer: str | None
    target_fallback: bool
    pivot_fallback: bool
    detail: str


def score_consistency(
    target_response: str | None,
    lang: str,
    *,
    pivot_response: str | None = None,
    pivot_answer: str | None = None,
    pivot_lang: str = "en",
    rewards: ConsistencyRewards = DEFAULT_REWARDS,
    think_start: str = DEFAULT_THINK_START,
    think_end: str = DEFAULT_THINK_END,
) -> ConsistencyResult:
    """PASMR's F(A_T, A_en): compare the target rollout's final answer with the pivot's.

    A directly given `pivot_answer` (e.g. a gold "1,250") takes precedence over
    `pivot_response`; both are read with `pivot_lang` conventions. A target format error wins
    over a missing pivot answer (the rollout is penalised either way); with a valid target and
    no pivot answer the reward is None so the trainer can drop the sample. Both responses are
    read outside their thinking blocks (`think_start` ... `think_end`).
    """
    normalize_lang(lang)  # fail fast on an unknown language, before any work
    delimiters = {"think_start": think_start, "think_end": think_end}
    target = (
        extract_final_answer(target_response, lang, **delimiters)
        if target_response is not None
        else ExtractedAnswer(None, None, "none", False, "missing target response")
    )
    pivot_value, pivot_fallback, pivot_why = _pivot_side(
        pivot_response, pivot_answer, pivot_lang, think_start, think_end
    )

    if target.value is None:
        return ConsistencyResult(
            "format_error",
            rewards.format_error,
            None,
            pivot_value,
            target.fallback,
            pivot_fallback,
            f"target format error: {target.format_error}",
        )
    if pivot_value is None:
        return ConsistencyResult(
            "no_pivot_answer",
            None,
            target.value,
            None,
            target.fallback,
            pivot_fallback,
            f"no pivot answer: {pivot_why}",
        )
    equal = answers_equal(target.value, pivot_value)
    return ConsistencyResult(
        "match" if equal else "mismatch",
        rewards.match if equal else rewards.mismatch,
        target.value,
        pivot_value,
        target.fallback,
        pivot_fallback,
        f"target {target.value} ({target.method}) {'==' if equal else '!='} pivot {pivot_value}",
    )


def _pivot_side(
    pivot_response: str | None,
    pivot_answer: str | None,
    pivot_lang: str,
    think_start: str,
    think_end: str,
) -> tuple[str | None, bool, str]:
    """(canonical pivot answer, fallback used, reason when missing)."""
    if pivot_answer is not None and pivot_answer.strip():
        value = canonical_number(pivot_answer, pivot_lang)
        if value is None:
            value = extract_final_answer(
                pivot_answer, pivot_lang, think_start=think_start, think_end=think_end
            ).value
        return value, False, "" if value is not None else "pivot answer is not a number"
    if pivot_response is None or not pivot_response.strip():
        return None, False, "no pivot response or answer given"
    pivot = extract_final_answer(
        pivot_response, pivot_lang, think_start=think_start, think_end=think_end
    )
    return pivot.value, pivot.fallback, pivot.format_error or ""
