"""POST /v1/rewards (composite reward), /v1/rank (Best-of-L) and /get_reward (OpenRLHF)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends

from service.answers import extract_final_answer
from service.errors import FeatureUnavailableError, InvalidInputError
from service.ranking import rank_by_agreement
from service.reward_pipeline import RewardInput, score_items
from service.rewards import RewardSpec, preset
from service.routers.deps import (
    check_item_count,
    check_languages,
    check_text_lengths,
    get_state,
    require_api_key,
    with_deadline,
)
from service.routers.similarity import ERROR_RESPONSES
from service.schemas import (
    OpenRLHFRequest,
    OpenRLHFResponse,
    RankedCandidateModel,
    RankRequest,
    RankResponse,
    RewardResult,
    RewardsRequest,
    RewardsResponse,
)
from service.state import ServiceState

router = APIRouter(dependencies=[Depends(require_api_key)])


def _spec(request: RewardsRequest, state: ServiceState) -> RewardSpec:
    if request.spec is not None:
        return RewardSpec(name="custom", **request.spec.model_dump())
    return preset(request.preset or state.settings.reward_preset)


@router.post(
    "/v1/rewards",
    response_model=RewardsResponse,
    tags=["rewards"],
    summary="Composite reward for a batch of rollouts",
    responses=ERROR_RESPONSES,
)
async def rewards(
    request: RewardsRequest, state: ServiceState = Depends(get_state)
) -> RewardsResponse:
    """Score rollouts with a named recipe (`preset`) or a custom `spec`, with the language-fidelity gate.

    Presets: `pb-rlsvr-embedding` (semantic similarity to the English reference), `pb-rlsvr-translation`
    (translate, then compare), `pasmr` (answer consistency 1 / 0.1 / 0), `hybrid` (semantic x answer).
    Each result has the final `reward` (null = drop the sample) and every component for logging.
    """
    items = request.items
    check_item_count(state, len(items), "items")
    texts, locs = [], []
    for i, item in enumerate(items):
        for name in ("response", "reference", "pivot_response", "prompt"):
            value = getattr(item, name)
            if value is not None:
                texts.append(value)
                locs.append(f"items[{i}].{name}")
    check_text_lengths(state, texts, locs)
    spec = _spec(request, state)
    inputs = [RewardInput.from_item(item, f"items[{i}]") for i, item in enumerate(items)]
    outputs = await with_deadline(state, score_items(state, spec, inputs))
    state.metrics.items.labels("/v1/rewards").inc(len(outputs))
    return RewardsResponse(
        preset=spec.name,
        results=[RewardResult(**asdict(o)) for o in outputs],
    )


@router.post(
    "/v1/rank",
    response_model=RankResponse,
    tags=["rewards"],
    summary="Best-of-L: rank candidates in several languages",
    responses=ERROR_RESPONSES,
)
async def rank(request: RankRequest, state: ServiceState = Depends(get_state)) -> RankResponse:
    """Score each candidate and pick the best. `agreement` ranks by cross-lingual final-answer consensus
    weighted by semantic agreement (and similarity to an optional English reference); `reward_model`
    uses the sequence-classification checkpoint configured in PIVOT_RANK_MODEL."""
    candidates = request.candidates
    locs = [f"candidates[{i}].response" for i in range(len(candidates))]
    check_text_lengths(state, [c.response for c in candidates], locs)
    check_languages(
        [c.lang for c in candidates], [f"candidates[{i}].lang" for i in range(len(candidates))]
    )
    if request.scorer == "reward_model":
        return await _rank_with_model(request, state)
    embedding = state.require_embedding()
    loop = asyncio.get_running_loop()

    async def work() -> RankResponse:
        answers_future = loop.run_in_executor(
            state.cpu_executor,
            lambda: [extract_final_answer(c.response, c.lang).value for c in candidates],
        )
        texts = [c.response for c in candidates] + (
            [request.reference] if request.reference else []
        )
        text_locs = locs + (["reference"] if request.reference else [])
        embedded = await embedding.embed(texts, allow_truncation=True, locs=text_locs)
        answers = await answers_future
        vectors = embedded.vectors.astype(np.float64)
        n = len(candidates)
        similarity = embedding.calibration.score(vectors[:n] @ vectors[:n].T)
        reference = (
            embedding.calibration.score(vectors[:n] @ vectors[n]) if request.reference else None
        )
        ranked, best = rank_by_agreement(answers, similarity, reference)
        return RankResponse(
            scorer="agreement",
            best_index=best,
            scores=[r.score for r in ranked],
            candidates=[
                RankedCandidateModel(
                    score=r.score,
                    answer=r.answer,
                    answer_support=r.answer_support,
                    semantic_support=r.semantic_support,
                    reference_similarity=r.reference_similarity,
                )
                for r in ranked
            ],
        )

    return await with_deadline(state, work())


async def _rank_with_model(request: RankRequest, state: ServiceState) -> RankResponse:
    if state.settings.rank_model is None:
        raise FeatureUnavailableError(
            "no reward model configured: set PIVOT_RANK_MODEL to a sequence-classification checkpoint "
            'folder, or use "scorer": "agreement"'
        )
    batcher = state.require_rank_model()
    question = request.question or ""
    scores = await with_deadline(
        state, batcher.submit_many([(question, c.response) for c in request.candidates])
    )
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return RankResponse(
        scorer="reward_model",
        best_index=best,
        scores=[round(s, 6) for s in scores],
        candidates=[RankedCandidateModel(score=round(s, 6)) for s in scores],
    )


# --- OpenRLHF -------------------------------------------------------------------------------------

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


def _detect_prompt_language(prompt: str) -> str | None:
    from service.fidelity import detect_language

    return detect_language(prompt).lang


@router.post(
    "/get_reward",
    response_model=OpenRLHFResponse,
    tags=["integrations"],
    summary="OpenRLHF remote reward model",
    responses=ERROR_RESPONSES,
)
async def get_reward(
    request: OpenRLHFRequest, state: ServiceState = Depends(get_state)
) -> OpenRLHFResponse:
    """OpenRLHF's `--reward.remote_url` protocol: `{"query", "prompts", "labels"}` in,
    `{"rewards", "scores", "extra_logs"}` out. The response is `query` minus its prompt. Labels carry the
    gold/pivot answer as a plain string, or a JSON object (see README); the recipe is PIVOT_REWARD_PRESET.
    A null reward (no pivot answer) is sent as 0.0 and flagged in `extra_logs.excluded`."""
    n = len(request.query)
    check_item_count(state, n, "query")
    for name, values in (("prompts", request.prompts), ("labels", request.labels)):
        if values is not None and len(values) != n:
            raise InvalidInputError(f"`{name}` has {len(values)} entries for {n} queries", name)
    check_text_lengths(state, request.query, [f"query[{i}]" for i in range(n)])
    spec = preset(state.settings.reward_preset)
    inputs: list[RewardInput] = []
    for i, query in enumerate(request.query):
        prompt = request.prompts[i] if request.prompts is not None else ""
        response = query[len(prompt) :] if prompt and query.startswith(prompt) else query
        label = parse_label(
            request.labels[i] if request.labels is not None else None, f"labels[{i}]"
        )
        lang = label.get("lang") or (_detect_prompt_language(prompt) if prompt else None)
        if lang is None:
            raise InvalidInputError(
                'cannot tell the target language: put "lang" in the label JSON', f"labels[{i}]"
            )
        inputs.append(
            RewardInput(
                response=response.strip() or response,
                lang=lang,
                reference=label.get("reference"),
                pivot_response=label.get("pivot_response"),
                pivot_answer=label.get("pivot_answer"),
                loc=f"labels[{i}]",
            )
        )
    outputs = await with_deadline(state, score_items(state, spec, inputs))
    state.metrics.items.labels("/get_reward").inc(n)
    rewards_list = [o.reward if o.reward is not None else 0.0 for o in outputs]
    extra_logs: dict[str, list[float]] = {
        "excluded": [1.0 if o.reward is None else 0.0 for o in outputs],
        "gate_passed": [1.0 if o.gate in ("ok", "off", "undetermined") else 0.0 for o in outputs],
    }
    for name in ("semantic", "translation", "answer"):
        if spec.uses(name):
            extra_logs[name] = [float(o.components.get(name) or 0.0) for o in outputs]
    return OpenRLHFResponse(rewards=rewards_list, scores=rewards_list, extra_logs=extra_logs)
