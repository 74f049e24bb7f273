"""POST /v1/similarity: PB-RLSVR's embedding reward."""

from __future__ import annotations

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
    CalibrationInfo,
    SimilarityRequest,
    SimilarityResponse,
    SimilarityResult,
)
from service.errors import UnknownModelError
from service.state import ServiceState

router = APIRouter(tags=["scoring"], dependencies=[Depends(require_api_key)])


@router.post(
    "/v1/similarity",
    response_model=SimilarityResponse,
    summary="Cross-lingual semantic equivalence",
    responses=ERROR_RESPONSES,
)
async def similarity(
    request: SimilarityRequest, state: ServiceState = Depends(get_state)
) -> SimilarityResponse:
    """Score each candidate against its (English) reference: calibrated `score` in [0, 1] and raw `cosine`.

    Results come back in request order. Duplicate texts are embedded once, and embeddings are cached,
    so sending the same reference with every rollout costs nothing extra.
    """
    count, loc = request.item_count()
    check_item_count(state, count, loc)
    candidates, references, candidate_locs, reference_locs = request.as_pairs()
    check_text_lengths(state, candidates + references, candidate_locs + reference_locs)
    service = state.require_embedding()
    if request.model is not None and request.model != service.name:
        raise UnknownModelError(
            f"model '{request.model}' is not loaded; available: ['{service.name}']", "model"
        )
    pairs = await with_deadline(
        state,
        service.cosine_pairs(
            candidates,
            references,
            allow_truncation=request.truncate,
            candidate_locs=candidate_locs,
            reference_locs=reference_locs,
            window=request.window,
        ),
    )
    state.metrics.items.labels("/v1/similarity").inc(count)
    cal = service.calibration
    return SimilarityResponse(
        model=service.name,
        calibration=CalibrationInfo(low=cal.low, high=cal.high, source=cal.source),
        results=[
            SimilarityResult(
                score=round(float(s), 6),
                cosine=round(float(c), 6),
                truncated=handling == "truncated",
                long_text=handling,
            )
            for s, c, handling in zip(pairs.scores, pairs.cosines, pairs.long_text)
        ],
    )
