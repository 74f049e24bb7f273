"""The composite-reward pipeline shared by /v1/rewards, /get_reward (OpenRLHF) and `pivot-reward score`.

One item never fails the batch: a text over PIVOT_MAX_TEXT_CHARS is cut (head + tail) and flagged,
and an item that cannot be scored (no language, no reference, no pivot answer) gets reward null and
a machine-readable `reason`, while the others are scored as usual.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from service.engine.embedding import LongTextHandling, worst
from service.pipeline.translate_compare import DEFAULT_MAX_LENGTH, translate_and_compare
from service.scoring import bulk
from service.scoring.answers import ConsistencyResult
from service.scoring.bulk import GateVerdict
from service.scoring.fidelity import FidelityConfig, GateScope
from service.scoring.labels import Label
from service.scoring.languages import check_languages
from service.scoring.rewards import RewardSpec, combine
from service.scoring.text_limits import fit_text
from service.settings import LongTextMode, Settings
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


def input_from_label(response: str, label: Label, prompt: str, loc: str) -> RewardInput:
    """One item of a trainer's protocol (OpenRLHF, slime): a response, its parsed label, a prompt."""
    return RewardInput(
        response=response,
        lang=label.lang,
        reference=label.reference,
        pivot_response=label.pivot_response,
        pivot_answer=label.pivot_answer,
        prompt=prompt or None,
        loc=loc,
    )


@dataclass
class RewardOutput:
    reward: float | None
    components: dict[str, float | None] = field(default_factory=dict)
    gate: str = "off"
    gate_passed: bool = True  # what the gate decided (`empty` / `undetermined` may pass)
    detected_lang: str | None = None
    answer_status: str | None = None
    translation: str | None = None
    reason: NullReason | None = None  # set exactly when reward is None
    lang: str | None = None  # the language the item was scored in
    lang_source: str | None = None  # given, response, default, prompt (None: no language)
    truncated: bool = False  # a scored text was over PIVOT_MAX_TEXT_CHARS and was cut
    original_chars: dict[str, int] = field(default_factory=dict)  # cut field -> its length
    long_text: LongTextHandling | None = None  # how the similarity read its texts (None: unused)


def fidelity_config(settings: Settings) -> FidelityConfig:
    """The gate's options from the settings (scope and the thinking-block delimiters)."""
    return _fidelity_config(settings.gate_scope, settings.think_start, settings.think_end)


@functools.lru_cache(maxsize=8)
def _fidelity_config(scope: GateScope, start: str, end: str) -> FidelityConfig:
    return FidelityConfig(scope=scope, think_start=start, think_end=end)


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
    state: ServiceState,
    spec: RewardSpec,
    items: Sequence[RewardInput],
    *,
    long_text: LongTextMode | None = None,
) -> list[RewardOutput]:
    """Components, gate and final reward per item (same inputs, same outputs, whatever the batch).

    `long_text` says how texts over the embedding model's token limit are read: `window` (whole,
    as overlapping windows) or `truncate`; default PIVOT_REWARD_LONG_TEXT.
    """
    limit = state.settings.max_text_chars
    fitted = [fit_item(item, limit) for item in canonical_languages(items)]
    if any(item.lang is None for item, _ in fitted):
        choices = await state.cpu.run(
            functools.partial(bulk.languages, default=state.settings.default_lang),
            [(item.lang, item.response, item.prompt) for item, _ in fitted],
        )
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
    handling: list[LongTextHandling | None] = [None] * n
    window = (long_text or state.settings.reward_long_text) == "window"

    async def rules_task() -> list[tuple[GateVerdict | None, ConsistencyResult | None]]:
        """The gate and answer consistency of the items with a language: one CPU-pool admission."""
        with_gate, with_answer = spec.gate, spec.uses("answer")
        out: list[tuple[GateVerdict | None, ConsistencyResult | None]] = [(None, None)] * n
        if not (with_gate or with_answer) or not has_lang:
            return out
        scored = await state.cpu.run(
            functools.partial(
                bulk.reward_rules,
                with_gate=with_gate,
                with_answer=with_answer,
                fidelity=fidelity_config(state.settings),
                think_start=state.settings.think_start,
                think_end=state.settings.think_end,
            ),
            [
                (
                    resolved[i].response,
                    resolved[i].lang or "",
                    resolved[i].reference,
                    resolved[i].pivot_response,
                    resolved[i].pivot_answer,
                )
                for i in has_lang
            ],
        )
        for i, rules in zip(has_lang, scored, strict=True):
            out[i] = rules
        return out

    async def semantic_task() -> None:
        if not spec.uses("semantic") or not comparable:
            return
        embedding = state.require_embedding()
        pairs = await embedding.cosine_pairs(
            [resolved[i].response for i in comparable],
            [resolved[i].reference or "" for i in comparable],
            allow_truncation=True,  # a reward must not fail on a long rollout
            candidate_locs=[f"{resolved[i].loc}.response" for i in comparable],
            reference_locs=[f"{resolved[i].loc}.reference" for i in comparable],
            window=window,
        )
        for j, (i, score) in enumerate(zip(comparable, pairs.scores, strict=True)):
            components[i]["semantic"] = round(float(score), 6)
            handling[i] = _worse(handling[i], pairs.long_text[j])

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
            window=window,
        )
        for j, (i, text, score) in enumerate(
            zip(comparable, compared.texts, compared.scores, strict=True)
        ):
            components[i]["translation"] = round(float(score), 6)
            translations[i] = text
            read: LongTextHandling = (
                "truncated" if compared.translation_truncated[j] else compared.long_text[j]
            )
            handling[i] = _worse(handling[i], read)

    rules, _, _ = await asyncio.gather(rules_task(), semantic_task(), translation_task())
    results = []
    for i in range(n):
        verdict, answer = rules[i]
        if answer is not None:
            components[i]["answer"] = answer.reward
        if verdict is not None:
            reason_of_gate, detected, passed = verdict
        elif spec.gate:  # no language, so nothing to check the response against
            reason_of_gate, detected, passed = "undetermined", None, True
        else:
            reason_of_gate, detected, passed = "off", None, True
        reward = combine(spec, components[i], passed)
        reason = null_reason(spec, resolved[i], answer)
        assert (reward is None) == (reason is not None), "a null reward must say why"
        results.append(
            RewardOutput(
                reward=None if reward is None else round(reward, 6),
                components=components[i],
                gate=reason_of_gate,
                gate_passed=passed,
                detected_lang=detected,
                answer_status=None if answer is None else answer.status,
                translation=translations[i],
                reason=reason,
                lang=resolved[i].lang,
                lang_source=choices[i][1],
                truncated=bool(fitted[i][1]),
                original_chars=fitted[i][1],
                long_text=handling[i],
            )
        )
    return results


def _worse(a: LongTextHandling | None, b: LongTextHandling) -> LongTextHandling:
    return b if a is None else worst(a, b)
