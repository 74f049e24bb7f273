"""List-in, list-out forms of the CPU-bound rules, as the CPU pool runs them.

Each function takes a chunk of plain tuples and returns one result per tuple, in order. They are
module-level and their arguments and results are plain data, so a worker process can import and
run them without the rest of the service (no models, no HTTP), and so a chunk can be pickled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.scoring.answers import (
    DEFAULT_REWARDS,
    ConsistencyResult,
    ConsistencyRewards,
    extract_final_answer,
    score_consistency,
)
from service.scoring.pivot import PivotExtraction, extract_pivot
from service.scoring.reasoning import DEFAULT_THINK_END, DEFAULT_THINK_START

if TYPE_CHECKING:
    from service.scoring.fidelity import FidelityConfig

# (target_response, lang, pivot_response, pivot_answer, pivot_lang)
ConsistencyTask = tuple[str, str, str | None, str | None, str]
# (response, lang, reference)
FidelityTask = tuple[str, str, str | None]
# (reason, detected_lang, passed)
GateVerdict = tuple[str, str | None, bool]
# (response, lang, reference, pivot_response, pivot_answer)
RewardRulesTask = tuple[str, str, str | None, str | None, str | None]


def consistency(
    tasks: Sequence[ConsistencyTask],
    rewards: ConsistencyRewards | None = None,
    *,
    think_start: str = DEFAULT_THINK_START,
    think_end: str = DEFAULT_THINK_END,
) -> list[ConsistencyResult]:
    """PASMR answer consistency per item (see `score_consistency`; default rewards when None)."""
    return [
        score_consistency(
            target,
            lang,
            pivot_response=pivot_response,
            pivot_answer=pivot_answer,
            pivot_lang=pivot_lang,
            rewards=rewards or DEFAULT_REWARDS,
            think_start=think_start,
            think_end=think_end,
        )
        for target, lang, pivot_response, pivot_answer, pivot_lang in tasks
    ]


def gate(
    tasks: Sequence[FidelityTask], *, fidelity: FidelityConfig | None = None
) -> list[GateVerdict]:
    """The language-fidelity verdict per response: (reason, detected language, passed)."""
    from service.scoring.fidelity import DEFAULT_FIDELITY, check_fidelity  # lingua: gate only

    config = fidelity or DEFAULT_FIDELITY
    out: list[GateVerdict] = []
    for response, lang, reference in tasks:
        verdict = check_fidelity(response, lang, reference=reference, config=config)
        out.append((verdict.reason, verdict.detected_lang, verdict.passed))
    return out


def reward_rules(
    tasks: Sequence[RewardRulesTask],
    *,
    with_gate: bool,
    with_answer: bool,
    fidelity: FidelityConfig | None = None,
    think_start: str = DEFAULT_THINK_START,
    think_end: str = DEFAULT_THINK_END,
) -> list[tuple[GateVerdict | None, ConsistencyResult | None]]:
    """The CPU-bound parts of a composite reward in one pass: the gate and answer consistency."""
    verdicts: list[GateVerdict | None] = (
        list(gate([(r, lang, ref) for r, lang, ref, _, _ in tasks], fidelity=fidelity))
        if with_gate
        else [None] * len(tasks)
    )
    answers: list[ConsistencyResult | None] = (
        list(
            consistency(
                [(r, lang, pr, pa, "en") for r, lang, _, pr, pa in tasks],
                think_start=think_start,
                think_end=think_end,
            )
        )
        if with_answer
        else [None] * len(tasks)
    )
    return list(zip(verdicts, answers, strict=True))


def final_answers(
    tasks: Sequence[tuple[str, str]],
    *,
    think_start: str = DEFAULT_THINK_START,
    think_end: str = DEFAULT_THINK_END,
) -> list[str | None]:
    """The canonical final answer of each (response, lang), or None."""
    return [
        extract_final_answer(text, lang, think_start=think_start, think_end=think_end).value
        for text, lang in tasks
    ]


def pivots(
    rollouts: Sequence[str], *, start: str, end: str, require_start: bool
) -> list[PivotExtraction]:
    """Split each PASMR rollout into its pivot question and target-language answer."""
    return [extract_pivot(r, start=start, end=end, require_start=require_start) for r in rollouts]


def languages(
    tasks: Sequence[tuple[str | None, str, str | None]], *, default: str | None
) -> list[tuple[str | None, str | None]]:
    """(language, source) per (given lang, response, prompt): see `choose_language`."""
    from service.scoring.language_choice import choose_language  # lingua: loaded on use

    return [
        choose_language(given, response, default=default, prompt=prompt)
        for given, response, prompt in tasks
    ]


def warm_up() -> None:
    """Build what the rules load lazily (lingua's detector), e.g. once per worker process."""
    from service.scoring.fidelity import warm_up as warm_fidelity

    warm_fidelity()
