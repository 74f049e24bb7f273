"""POST /get_reward: OpenRLHF's remote reward protocol."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends

from service.api.errors import ERROR_RESPONSES
from service.api.routers.deps import check_item_count, get_state, require_api_key, with_deadline
from service.api.schemas import OpenRLHFRequest, OpenRLHFResponse
from service.errors import InvalidInputError
from service.pipeline.rewards import (
    NULL_REASONS,
    RewardInput,
    RewardOutput,
    input_from_label,
    score_items,
)
from service.scoring.labels import parse_label
from service.scoring.rewards import COMPONENTS, RewardSpec, preset
from service.state import ServiceState

router = APIRouter(dependencies=[Depends(require_api_key)])


def split_response(query: str, prompt: str) -> str:
    """The response part of OpenRLHF's `query` (prompt + response). The prompt is searched, not
    only matched at the start: a decoded query can begin with padding tokens."""
    at = query.find(prompt) if prompt else -1
    response = query[at + len(prompt) :] if at >= 0 else query
    return response.strip() or response


def extra_logs(spec: RewardSpec, outputs: Sequence[RewardOutput]) -> dict[str, list[float]]:
    """Per-sample floats for OpenRLHF to log. The keys depend only on the recipe, never on the
    batch: OpenRLHF concatenates each key over all responses, taking the keys of the first."""

    def flags(test: list[bool]) -> list[float]:
        return [1.0 if t else 0.0 for t in test]

    logs: dict[str, list[float]] = {
        "excluded": flags([o.reward is None for o in outputs]),
        **{reason: flags([o.reason == reason for o in outputs]) for reason in NULL_REASONS},
        "format_error": flags([o.answer_status == "format_error" for o in outputs]),
        "truncated": flags([o.truncated for o in outputs]),
        "lang_guessed": flags([o.lang_source not in (None, "given") for o in outputs]),
        "gate_passed": flags([o.gate_passed for o in outputs]),
    }
    for name in COMPONENTS:
        if spec.uses(name):
            logs[name] = [float(o.components.get(name) or 0.0) for o in outputs]
    return logs


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
    `{"rewards", "scores", "extra_logs"}` out; the recipe is PIVOT_REWARD_PRESET.

    The response is `query` minus its prompt. A label may be any JSON type (see `labels`); the
    language is the label's `lang`, else detected from the response, else PIVOT_DEFAULT_LANG, else
    detected from the prompt. A sample whose reward is null (see `/v1/rewards`, `reason`) is sent as
    0.0 and flagged in `extra_logs`; an empty `query` gets empty lists.
    """
    n = len(request.query)
    check_item_count(state, n, "query")
    for name, values in (("prompts", request.prompts), ("labels", request.labels)):
        if values is not None and len(values) != n:
            raise InvalidInputError(f"`{name}` has {len(values)} entries for {n} queries", name)
    spec = preset(state.settings.reward_preset)
    inputs: list[RewardInput] = []
    for i, query in enumerate(request.query):
        prompt = request.prompts[i] if request.prompts is not None else ""
        label = parse_label(
            request.labels[i] if request.labels is not None else None, f"labels[{i}]"
        )
        inputs.append(
            input_from_label(split_response(query, prompt), label, prompt, f"labels[{i}]")
        )
    outputs = await with_deadline(state, score_items(state, spec, inputs)) if inputs else []
    state.metrics.rewards_scored(
        "/get_reward", [o.reason for o in outputs], [o.truncated for o in outputs]
    )
    rewards_list = [o.reward if o.reward is not None else 0.0 for o in outputs]
    return OpenRLHFResponse(
        rewards=rewards_list, scores=rewards_list, extra_logs=extra_logs(spec, outputs)
    )
