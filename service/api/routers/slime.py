"""POST /slime/reward: slime's built-in remote reward protocol (one sample in, a bare number out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends

from service.api.errors import ERROR_RESPONSES
from service.api.routers.deps import get_state, require_api_key, with_deadline
from service.api.schemas import SlimeRequest
from service.pipeline.rewards import input_from_label, score_items
from service.scoring.labels import parse_label
from service.scoring.rewards import preset
from service.state import ServiceState

router = APIRouter(dependencies=[Depends(require_api_key)])


def prompt_text(prompt: str | list[dict[str, Any]] | None) -> str:
    """The prompt as text: itself, or the content of the last user message (else the last one)."""
    if prompt is None or isinstance(prompt, str):
        return prompt or ""
    messages = [m for m in prompt if isinstance(m, Mapping)]
    users = [m for m in messages if m.get("role") == "user"] or messages
    content = users[-1].get("content") if users else None
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return content if isinstance(content, str) else ""


@router.post(
    "/slime/reward",
    response_model=float,
    tags=["integrations"],
    summary="slime remote reward model",
    responses=ERROR_RESPONSES,
)
async def slime_reward(request: SlimeRequest, state: ServiceState = Depends(get_state)) -> float:
    """slime's `--rm-type remote_rm --rm-url http://HOST:8000/slime/reward`: slime posts
    `{"prompt", "response", "label"}` for each sample and uses the JSON answer as the reward, so
    the answer is a bare number; the recipe is PIVOT_REWARD_PRESET.

    The label is read as `/get_reward`'s labels (a number, text, an object with `lang`...); the
    language is the label's, else detected from the response, else PIVOT_DEFAULT_LANG, else from
    the prompt. A null reward (see `/v1/rewards`, `reason`) is sent as 0.0, since slime cannot take
    null, and counted in `pivot_null_rewards_total{route="/slime/reward"}`. For the reasons per
    sample, use the custom hook `pivot_reward_client.slime.reward_func` instead.
    """
    label = parse_label(request.label, "label")
    item = input_from_label(request.response, label, prompt_text(request.prompt), "label")
    spec = preset(state.settings.reward_preset)
    (output,) = await with_deadline(state, score_items(state, spec, [item]))
    state.metrics.rewards_scored("/slime/reward", [output.reason], [output.truncated])
    return output.reward if output.reward is not None else 0.0
