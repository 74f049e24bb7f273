"""POST /v1/answer-consistency (PASMR's self-feedback reward) and /v1/pivot/extract."""

from __future__ import annotations

import functools
from dataclasses import asdict

from fastapi import APIRouter, Depends

from service.api.errors import ERROR_RESPONSES
from service.api.routers.deps import (
    check_item_count,
    check_text_lengths,
    get_state,
    require_api_key,
    with_deadline,
)
from service.api.schemas import (
    ConsistencyRequest,
    ConsistencyResponse,
    ConsistencyResultModel,
    PivotExtractRequest,
    PivotExtractResponse,
    PivotExtractResult,
)
from service.errors import InvalidInputError
from service.scoring import bulk
from service.scoring.answers import ConsistencyRewards
from service.scoring.languages import check_languages
from service.state import ServiceState

router = APIRouter(tags=["answers"], dependencies=[Depends(require_api_key)])


@router.post(
    "/v1/answer-consistency",
    response_model=ConsistencyResponse,
    summary="PASMR answer consistency (1 / 0.1 / 0)",
    responses=ERROR_RESPONSES,
)
async def answer_consistency(
    request: ConsistencyRequest, state: ServiceState = Depends(get_state)
) -> ConsistencyResponse:
    """Compare each target-language answer's final number with the pivot's.

    `match` -> rewards.match (1.0), `mismatch` -> rewards.mismatch (0.1), `format_error` (no final
    answer, truncated, refusal, repetition loop) -> rewards.format_error (0.0), `no_pivot_answer` ->
    null: the trainer should drop the sample. Results in request order.
    """
    items = request.items
    check_item_count(state, len(items), "items")
    texts, locs = [], []
    for i, item in enumerate(items):
        texts.append(item.target_response)
        locs.append(f"items[{i}].target_response")
        if item.pivot_response is not None:
            texts.append(item.pivot_response)
            locs.append(f"items[{i}].pivot_response")
        elif item.pivot_answer is None:
            raise InvalidInputError("give `pivot_response` or `pivot_answer`", f"items[{i}]")
    check_text_lengths(state, texts, locs)
    check_languages([item.lang for item in items], [f"items[{i}].lang" for i in range(len(items))])
    check_languages(
        [item.pivot_lang for item in items], [f"items[{i}].pivot_lang" for i in range(len(items))]
    )
    rewards = ConsistencyRewards(**request.rewards.model_dump())

    tasks = [
        (item.target_response, item.lang, item.pivot_response, item.pivot_answer, item.pivot_lang)
        for item in items
    ]
    results = await with_deadline(
        state,
        state.cpu.run(
            functools.partial(
                bulk.consistency,
                rewards=rewards,
                think_start=state.settings.think_start,
                think_end=state.settings.think_end,
            ),
            tasks,
        ),
    )
    state.metrics.items.labels("/v1/answer-consistency").inc(len(results))
    return ConsistencyResponse(results=[ConsistencyResultModel(**asdict(r)) for r in results])


@router.post(
    "/v1/pivot/extract",
    response_model=PivotExtractResponse,
    summary="Split a PASMR rollout into pivot question and target answer",
    responses=ERROR_RESPONSES,
)
async def pivot_extract(
    request: PivotExtractRequest, state: ServiceState = Depends(get_state)
) -> PivotExtractResponse:
    """From rollouts that begin with the English question between delimiters, return the pivot question
    and the target-language answer after it, or a `format_error` (missing/duplicated delimiters,
    empty pivot or answer). Same function as `service.scoring.pivot.extract_pivot`, importable in-process."""
    check_item_count(state, len(request.rollouts), "rollouts")
    check_text_lengths(
        state, request.rollouts, [f"rollouts[{i}]" for i in range(len(request.rollouts))]
    )
    start = request.start or state.settings.pivot_start
    end = request.end or state.settings.pivot_end

    extracted = await with_deadline(
        state,
        state.cpu.run(
            functools.partial(
                bulk.pivots, start=start, end=end, require_start=request.require_start
            ),
            request.rollouts,
            loc="rollouts",
        ),
    )
    results = [PivotExtractResult(**asdict(e)) for e in extracted]
    state.metrics.items.labels("/v1/pivot/extract").inc(len(results))
    return PivotExtractResponse(start=start, end=end, results=results)
