"""POST /get_reward: OpenRLHF's remote reward protocol."""

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
from service.api.schemas import OpenRLHFRequest, OpenRLHFResponse
from service.errors import InvalidInputError
from service.pipeline.rewards import RewardInput, score_items
from service.scoring.labels import parse_label
from service.scoring.rewards import preset
from service.state import ServiceState

router = APIRouter(dependencies=[Depends(require_api_key)])


def _detect_prompt_language(prompt: str) -> str | None:
    from service.scoring.fidelity import detect_language

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
