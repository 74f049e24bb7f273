"""The composite-reward pipeline shared by /v1/rewards, /get_reward (OpenRLHF) and `pivot-reward score`.

One item never fails the batch: a text over PIVOT_MAX_TEXT_CHARS is cut (head + tail) and flagged,
and an item that cannot be scored (no language, no reference, no pivot answer) gets reward null and
a machine-readable `reason`, while the others are scored as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from service.pipeline.translate_compare import DEFAULT_MAX_LENGTH, translate_and_compare
from service.scoring.answers import ConsistencyResult, score_consistency
from service.scoring.languages import check_languages
from service.scoring.rewards import RewardSpec, combine
from service.scoring.text_limits import fit_text
from service.state import ServiceState

NullReason = Literal["language_unknown", "no_reference", "no_pivot_answer"]
# Why a reward is null, in the order they are checked (the first that applies is reported).
NULL_REASONS: tuple[NullReason, ...] = ("language_unknown", "no_reference", "no_pivot_answer")
# The texts of an item that are scored, so cut to the character limit and flagged when cut.
SCORED_TEXTS = ("response", "reference", "pivot_response")


@dataclass(frozen=True)
class RewardInput:
    """One rollout to score, with whatever the recipe needs."""

    response: str
    lang: str | None = (
        None  # None: detected from the response, else PIVOT_DEFAULT_LANG, else prompt
    )
    reference: str | None = None
    pivot_response: str | None = None
    pivot_answer: str | None = None
    prompt: str | None = None  # only read to guess the language, as a last resort
    loc: str = "items[0]"  # where the item sits in the request, for error messages


@dataclass
class RewardOutput:
    reward: float | None
    components: dict[str, float | None] = field(default_factory=dict)
    gate: str = "off"
    detected_lang: str | None = None
    answer_status: str | None = None
    translation: str | None = None
    reason: NullReason | None = None  # set exactly when reward is None
    lang: str | None = None  # the language the item was scored in
    lang_source: str | None = None  # given, response, default, prompt (None: no language)
    truncated: bool = False  # a scored text was over PIVOT_MAX_TEXT_CHARS and was cut
    original_chars: dict[str, int] = field(default_factory=dict)  # cut field -> its length


def canonical_languages(items: Sequence[RewardInput]) -> list[RewardInput]:
    """The items with their given language codes made canonical (`DE` -> `de`); 422 naming the
    field for a code nobody knows."""
    given = [i for i, item in enumerate(items) if item.lang is not None]
    codes = check_languages(
        [items[i].lang or "" for i in given], [f"{items[i].loc}.lang" for i in given]
    )
    out = list(items)
    for i, code in zip(given, codes, strict=True):
        out[i] = replace(items[i], lang=code)
    return out


def fit_item(item: RewardInput, limit: int) -> tuple[RewardInput, dict[str, int]]:
    """The item with every scored text cut to `limit` characters, and the cut fields' lengths."""
    cut: dict[str, int] = {}
    changes: dict[str, str] = {}
    for name in SCORED_TEXTS:
        text = getattr(item, name)
        if text is not None and len(text) > limit:
            cut[name] = len(text)
            changes[name] = fit_text(text, limit)
    if item.prompt is not None and len(item.prompt) > limit:
        changes["prompt"] = fit_text(item.prompt, limit)  # not scored, so not flagged
    return (replace(item, **changes) if changes else item), cut


def null_reason(
    spec: RewardSpec, item: RewardInput, answer: ConsistencyResult | None
) -> NullReason | None:
    """Why this item's reward cannot be computed, or None when it can."""
    if item.lang is None:
        return "language_unknown"
    if (spec.uses("semantic") or spec.uses("translation")) and item.reference is None:
        return "no_reference"
    if answer is not None and answer.status == "no_pivot_answer":
        return "no_pivot_answer"
    return None


async def score_items(
    state: ServiceState, spec: RewardSpec, items: Sequence[RewardInput]
) -> list[RewardOutput]:
    """Components, gate and final reward per item (same inputs, same outputs, whatever the batch)."""
    loop = asyncio.get_running_loop()
    limit = state.settings.max_text_chars
    fitted = [fit_item(item, limit) for item in canonical_languages(items)]
    default_lang = state.settings.default_lang

    def choose() -> list[tuple[str | None, str | None]]:
        from service.scoring.language_choice import choose_language  # lingua: loaded on use

        return [
            choose_language(item.lang, item.response, default=default_lang, prompt=item.prompt)
            for item, _ in fitted
        ]

    if any(item.lang is None for item, _ in fitted):
        choices = await loop.run_in_executor(state.cpu_executor, choose)
    else:
        choices = [(item.lang, "given") for item, _ in fitted]
    resolved = [replace(item, lang=lang) for (item, _), (lang, _) in zip(fitted, choices)]
    n = len(resolved)
    # What each component can score: a language, and a reference where the component compares.
    has_lang = [i for i, item in enumerate(resolved) if item.lang is not None]
    comparable = [i for i in has_lang if resolved[i].reference is not None]
    components: list[dict[str, float | None]] = [
        {name: None for name, w in spec.weights().items() if w > 0} for _ in range(n)
    ]
    translations: list[str | None] = [None] * n

    async def gate_task() -> list[tuple[str, str | None, bool]]:
        if not spec.gate:
            return [("off", None, True)] * n
        from service.scoring.fidelity import check_fidelity

        def run() -> list[tuple[str, str | None, bool]]:
            out: list[tuple[str, str | None, bool]] = [("undetermined", None, True)] * n
            for i in has_lang:
                item = resolved[i]
                assert item.lang is not None
                verdict = check_fidelity(item.response, item.lang, reference=item.reference)
                out[i] = (verdict.reason, verdict.detected_lang, verdict.passed)
            return out

        return await loop.run_in_executor(state.cpu_executor, run)

    async def answer_task() -> list[ConsistencyResult | None] | None:
        if not spec.uses("answer"):
            return None

        def run() -> list[ConsistencyResult | None]:
            out: list[ConsistencyResult | None] = [None] * n
            for i in has_lang:
                item = resolved[i]
                assert item.lang is not None
                out[i] = score_consistency(
                    item.response,
                    item.lang,
                    pivot_response=item.pivot_response,
                    pivot_answer=item.pivot_answer,
                )
            return out

        return await loop.run_in_executor(state.cpu_executor, run)

    async def semantic_task() -> None:
        if not spec.uses("semantic") or not comparable:
            return
        embedding = state.require_embedding()
        _, scores, _ = await embedding.cosine_pairs(
            [resolved[i].response for i in comparable],
            [resolved[i].reference or "" for i in comparable],
            allow_truncation=True,  # a reward must not fail on a long rollout
            candidate_locs=[f"{resolved[i].loc}.response" for i in comparable],
            reference_locs=[f"{resolved[i].loc}.reference" for i in comparable],
        )
        for i, score in zip(comparable, scores, strict=True):
            components[i]["semantic"] = round(float(score), 6)

    async def translation_task() -> None:
        if not spec.uses("translation"):
            return
        translation = state.require_translation()
        embedding = state.require_embedding()
        if not comparable:
            return
        chosen = [resolved[i] for i in comparable]
        compared = await translate_and_compare(
            translation,
            embedding,
            [item.response for item in chosen],
            translation.language_tokens(
                [item.lang or "" for item in chosen], [f"{item.loc}.lang" for item in chosen]
            ),
            [item.reference or "" for item in chosen],
            beam_size=1,
            max_length=min(DEFAULT_MAX_LENGTH, state.settings.translation_max_length),
            allow_truncation=True,
            candidate_locs=[f"{item.loc}.response" for item in chosen],
            reference_locs=[f"{item.loc}.reference" for item in chosen],
        )
        for i, text, score in zip(comparable, compared.texts, compared.scores, strict=True):
            components[i]["translation"] = round(float(score), 6)
            translations[i] = text

    gates, answers, _, _ = await asyncio.gather(
        gate_task(), answer_task(), semantic_task(), translation_task()
    )
    results = []
    for i in range(n):
        answer = answers[i] if answers is not None else None
        if answer is not None:
            components[i]["answer"] = answer.reward
        reason_of_gate, detected, passed = gates[i]
        reward = combine(spec, components[i], passed)
        reason = null_reason(spec, resolved[i], answer)
        assert (reward is None) == (reason is not None), "a null reward must say why"
        results.append(
            RewardOutput(
                reward=None if reward is None else round(reward, 6),
                components=components[i],
                gate=reason_of_gate,
                detected_lang=detected,
                answer_status=None if answer is None else answer.status,
                translation=translations[i],
                reason=reason,
                lang=resolved[i].lang,
                lang_source=choices[i][1],
                truncated=bool(fitted[i][1]),
                original_chars=fitted[i][1],
            )
        )
    return results
