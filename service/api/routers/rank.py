"""POST /v1/rank: Best-of-L, ranking candidates written in several languages."""

from __future__ import annotations

import asyncio
import functools

import numpy as np
from fastapi import APIRouter, Depends

from service.api.errors import ERROR_RESPONSES
from service.api.routers.deps import (
    check_text_lengths,
    get_state,
    require_api_key,
    with_deadline,
)
from service.api.schemas import RankedCandidateModel, RankRequest, RankResponse
from service.errors import FeatureUnavailableError
from service.scoring import bulk
from service.scoring.languages import check_languages
from service.scoring.ranking import rank_by_agreement
from service.state import ServiceState

router = APIRouter(dependencies=[Depends(require_api_key)])


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

    async def work() -> RankResponse:
        texts = [c.response for c in candidates] + (
            [request.reference] if request.reference else []
        )
        text_locs = locs + (["reference"] if request.reference else [])
        # Final answers (CPU pool) and embeddings (model queue) at the same time.
        answers, embedded = await asyncio.gather(
            state.cpu.run(
                functools.partial(
                    bulk.final_answers,
                    think_start=state.settings.think_start,
                    think_end=state.settings.think_end,
                ),
                [(c.response, c.lang) for c in candidates],
                loc="candidates",
            ),
            embedding.embed(texts, allow_truncation=True, locs=text_locs),
        )
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
