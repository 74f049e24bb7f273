"""The composite-reward pipeline shared by /v1/rewards, /get_reward (OpenRLHF) and `pivot-reward score`."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.errors import InvalidInputError
from service.pipeline.translate_compare import DEFAULT_MAX_LENGTH, translate_and_compare
from service.scoring import bulk
from service.scoring.answers import ConsistencyResult
from service.scoring.bulk import GateVerdict
from service.scoring.languages import check_languages
from service.scoring.rewards import RewardSpec, combine
from service.state import ServiceState


@dataclass(frozen=True)
class RewardInput:
    """One rollout to score, with whatever the recipe needs."""

    response: str
    lang: str
    reference: str | None = None
    pivot_response: str | None = None
    pivot_answer: str | None = None
    loc: str = "items[0]"  # where the item sits in the request, for error messages


@dataclass
class RewardOutput:
    reward: float | None
    components: dict[str, float | None] = field(default_factory=dict)
    gate: str = "off"
    detected_lang: str | None = None
    answer_status: str | None = None
    translation: str | None = None


def validate_inputs(spec: RewardSpec, items: Sequence[RewardInput]) -> None:
    """422 naming the field when an item lacks what the recipe needs or has an unknown language."""
    check_languages([item.lang for item in items], [f"{item.loc}.lang" for item in items])
    for item in items:
        if (spec.uses("semantic") or spec.uses("translation")) and item.reference is None:
            raise InvalidInputError(
                f"recipe '{spec.name}' compares with an English reference: give `reference`",
                f"{item.loc}.reference",
            )


async def score_items(
    state: ServiceState, spec: RewardSpec, items: Sequence[RewardInput]
) -> list[RewardOutput]:
    """Components, gate and final reward per item (same inputs, same outputs, whatever the batch)."""
    validate_inputs(spec, items)
    n = len(items)
    components: list[dict[str, float | None]] = [{} for _ in range(n)]
    translations: list[str | None] = [None] * n

    async def rules_task() -> list[tuple[GateVerdict | None, ConsistencyResult | None]]:
        """The gate and answer consistency: CPU-bound, one admission to the CPU pool."""
        with_gate, with_answer = spec.gate, spec.uses("answer")
        if not (with_gate or with_answer):
            return [(None, None)] * n
        return await state.cpu.run(
            functools.partial(bulk.reward_rules, with_gate=with_gate, with_answer=with_answer),
            [
                (item.response, item.lang, item.reference, item.pivot_response, item.pivot_answer)
                for item in items
            ],
        )

    async def semantic_task() -> None:
        if not spec.uses("semantic"):
            return
        embedding = state.require_embedding()
        _, scores, _ = await embedding.cosine_pairs(
            [item.response for item in items],
            [item.reference or "" for item in items],
            allow_truncation=True,  # a reward must not fail on a long rollout
            candidate_locs=[f"{item.loc}.response" for item in items],
            reference_locs=[f"{item.loc}.reference" for item in items],
        )
        for i, score in enumerate(scores):
            components[i]["semantic"] = round(float(score), 6)

    async def translation_task() -> None:
        if not spec.uses("translation"):
            return
        translation = state.require_translation()
        embedding = state.require_embedding()
        compared = await translate_and_compare(
            translation,
            embedding,
            [item.response for item in items],
            translation.language_tokens(
                [item.lang for item in items], [f"{item.loc}.lang" for item in items]
            ),
            [item.reference or "" for item in items],
            beam_size=1,
            max_length=min(DEFAULT_MAX_LENGTH, state.settings.translation_max_length),
            allow_truncation=True,
            candidate_locs=[f"{item.loc}.response" for item in items],
            reference_locs=[f"{item.loc}.reference" for item in items],
        )
        for i, (text, score) in enumerate(zip(compared.texts, compared.scores, strict=True)):
            components[i]["translation"] = round(float(score), 6)
            translations[i] = text

    rules, _, _ = await asyncio.gather(rules_task(), semantic_task(), translation_task())
    results = []
    for i in range(n):
        verdict, answer = rules[i]
        answer_status = None
        if answer is not None:
            answer_status = answer.status
            components[i]["answer"] = answer.reward
        reason, detected, passed = verdict if verdict is not None else ("off", None, True)
        results.append(
            RewardOutput(
                reward=None if (r := combine(spec, components[i], passed)) is None else round(r, 6),
                components=components[i],
                gate=reason,
                detected_lang=detected,
                answer_status=answer_status,
                translation=translations[i],
            )
        )
    return results
