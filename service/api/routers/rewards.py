"""POST /v1/rewards: composite rewards (presets + the language-fidelity gate)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends

from service.api.errors import ERROR_RESPONSES
from service.api.routers.deps import (
    check_item_count,
    get_state,
    require_api_key,
    with_deadline,
)
from service.api.schemas import RewardResult, RewardsRequest, RewardsResponse
from service.pipeline.rewards import score_items
from service.scoring.rewards import RewardSpec, preset
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
    Each result has the final `reward` and every component for logging. One item never fails the
    batch: a text over PIVOT_MAX_TEXT_CHARS is cut and flagged (`truncated`, `original_chars`), and an
    item that cannot be scored gets `reward: null` with a `reason` (`language_unknown`,
    `no_reference`, `no_pivot_answer`): drop that sample.
    """
    items = request.items
    check_item_count(state, len(items), "items")
    spec = _spec(request, state)
    inputs = [item.to_input(f"items[{i}]") for i, item in enumerate(items)]
    outputs = await with_deadline(
        state, score_items(state, spec, inputs, long_text=request.long_text)
    )
    state.metrics.rewards_scored(
        "/v1/rewards", [o.reason for o in outputs], [o.truncated for o in outputs]
    )
    return RewardsResponse(
        preset=spec.name,
        results=[RewardResult(**asdict(o)) for o in outputs],
    )
