"""slime adapter: a custom reward function (`--custom-rm-path pivot_reward_client.slime.reward_func`).

slime calls `await reward_func(args, sample)` for one sample, or `await reward_func(args, samples)`
for a group (with `--group-rm`); either way this scores through the service's `/get_reward`, the
same protocol as OpenRLHF: `query` = prompt + response, and `sample.label` as the label (text,
number or object; see the README's OpenRLHF section). A group goes as one request.

Returns the reward as a float (a list of floats for a group), as slime expects without
`--reward-key`. A sample the service cannot score gets 0.0; when `sample.metadata` is a dict, the
details go into `sample.metadata["pivot_reward"]` (`excluded`, and `extra_logs`' other values).

Settings: `args.rm_url` (a base URL; a trailing `/get_reward` is dropped), else `PIVOT_REWARD_URL`;
`PIVOT_API_KEY` and the other
`PIVOT_REWARD_*` variables of `pivot_reward_client.config`.

slime's own remote path (`--rm-type remote_rm --rm-url http://HOST:8000/slime/reward`) needs none
of this code: it posts `{"prompt", "response", "label"}` and the service answers a bare number
(null rewards as 0.0, without the details). `payload(sample)` builds that shape and
`score_payloads()` scores such payloads.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from pivot_reward_client import stats
from pivot_reward_client.async_client import AsyncPivotRewardClient
from pivot_reward_client.config import AdapterConfig, resolve
from pivot_reward_client.loops import LoopLocalClients
from pivot_reward_client.texts import prompt_text

__all__ = ["payload", "reward_func", "score_payloads"]

_clients: dict[AdapterConfig, LoopLocalClients] = {}


def _client(config: AdapterConfig) -> AsyncPivotRewardClient:
    clients = _clients.get(config)
    if clients is None:
        clients = _clients.setdefault(
            config,
            LoopLocalClients(lambda: AsyncPivotRewardClient(config.urls, **config.options())),
        )
    return clients.get()


def payload(sample: Any) -> dict[str, Any]:
    """slime's remote reward payload for a sample: `{"prompt", "response", "label"}`."""
    return {"prompt": sample.prompt, "response": sample.response, "label": sample.label}


def _base_url(args: Any) -> str | None:
    url = getattr(args, "rm_url", None)
    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip().rstrip("/")
    return url.removesuffix("/get_reward")


async def score_payloads(
    payloads: Sequence[Mapping[str, Any]], config: AdapterConfig
) -> tuple[list[float], dict[str, list[Any]]]:
    """Rewards and per-sample logs for slime payloads, in one `/get_reward` request."""
    prompts = [p.get("prompt") for p in payloads]
    prompt_texts = [p if isinstance(p, str) else prompt_text(p) for p in prompts]
    queries = [q + str(p.get("response") or "") for q, p in zip(prompt_texts, payloads)]
    labels = [p.get("label") for p in payloads]
    answer = await _client(config).get_reward(queries, prompt_texts, labels)
    rewards = [float(r) for r in answer.get("rewards") or []]
    if len(rewards) != len(payloads):
        raise RuntimeError(f"pivot-reward returned {len(rewards)} rewards for {len(payloads)}")
    logs = {k: v for k, v in (answer.get("extra_logs") or {}).items() if isinstance(v, list)}
    stats.record_flags("slime", logs.get("excluded") or [0.0] * len(payloads))
    return rewards, logs


async def reward_func(args: Any, sample: Any, **kwargs: Any) -> float | list[float]:
    """slime's custom reward function: one sample, or a list of samples (a group)."""
    samples = list(sample) if isinstance(sample, list | tuple) else [sample]
    if not samples:
        return []
    config = resolve({"url": _base_url(args), **kwargs})
    rewards, logs = await score_payloads([payload(s) for s in samples], config)
    for i, one in enumerate(samples):
        metadata = getattr(one, "metadata", None)
        if isinstance(metadata, dict):
            details = {k: v[i] for k, v in logs.items() if i < len(v)}
            details["excluded"] = bool(details.get("excluded"))
            metadata["pivot_reward"] = details
    return rewards if isinstance(sample, list | tuple) else rewards[0]
