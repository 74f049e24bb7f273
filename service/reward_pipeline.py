"""The composite-reward pipeline shared by /v1/rewards, /get_reward (OpenRLHF) and `pivot-reward score`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.answers import ConsistencyResult, score_consistency
from service.errors import InvalidInputError
from service.languages import UnknownLanguageError, normalize_lang
from service.rewards import RewardSpec, combine
from service.schemas import RewardItem
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

    @classmethod
    def from_item(cls, item: RewardItem, loc: str) -> RewardInput:
        """From a validated /v1/rewards item (also a line of `pivot-reward score`)."""
        return cls(
            response=item.response,
            lang=item.lang,
            reference=item.reference,
            pivot_response=item.pivot_response,
            pivot_answer=item.pivot_answer,
            loc=loc,
        )


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
    for item in items:
        try:
            normalize_lang(item.lang)
        except UnknownLanguageError as exc:
            raise InvalidInputError(str(exc), f"{item.loc}.lang") from None
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
    loop = asyncio.get_running_loop()
    n = len(items)
    components: list[dict[str, float | None]] = [{} for _ in range(n)]
    translations: list[str | None] = [None] * n

    async def gate_task() -> list[tuple[str, str | None, bool]]:
        if not spec.gate:
            return [("off", None, True)] * n
        from service.fidelity import check_fidelity

        def run() -> list[tuple[str, str | None, bool]]:
            out: list[tuple[str, str | None, bool]] = []
            for item in items:
                verdict = check_fidelity(item.response, item.lang, reference=item.reference)
                out.append((verdict.reason, verdict.detected_lang, verdict.passed))
            return out

        return await loop.run_in_executor(state.cpu_executor, run)

    async def answer_task() -> list[ConsistencyResult] | None:
        if not spec.uses("answer"):
            return None

        def run() -> list[ConsistencyResult]:
            return [
                score_consistency(
                    item.response,
                    item.lang,
                    pivot_response=item.pivot_response,
                    pivot_answer=item.pivot_answer,
                )
                for item in items
            ]

        return await loop.run_in_executor(state.cpu_executor, run)

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
        sources = []
        for item in items:
            try:
                sources.append(translation.translator.language_token(item.lang))
            except UnknownLanguageError as exc:
                raise InvalidInputError(str(exc), f"{item.loc}.lang") from None
        english = translation.translator.language_token("en")
        settings = state.settings
        outputs = await translation.translate(
            [item.response for item in items],
            sources,
            english,
            beam_size=1,
            max_length=min(256, settings.translation_max_length),
        )
        texts = [o.text if o.text.strip() else "(empty)" for o in outputs]
        _, scores, _ = await embedding.cosine_pairs(
            texts,
            [item.reference or "" for item in items],
            allow_truncation=True,
            candidate_locs=[f"{item.loc}.response" for item in items],
            reference_locs=[f"{item.loc}.reference" for item in items],
        )
        for i, (output, score) in enumerate(zip(outputs, scores, strict=True)):
            components[i]["translation"] = round(float(score), 6)
            translations[i] = output.text

    gates, answers, _, _ = await asyncio.gather(
        gate_task(), answer_task(), semantic_task(), translation_task()
    )
    results = []
    for i in range(n):
        answer_status = None
        if answers is not None:
            answer_status = answers[i].status
            components[i]["answer"] = answers[i].reward
        reason, detected, passed = gates[i]
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
