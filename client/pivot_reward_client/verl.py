"""verl adapter: `compute_score` / `compute_score_async` that score rollouts with pivot-reward.

verl >= 0.9 (tested: 0.9.1) config keys, either as a file path or as a package path::

    reward.custom_reward_function.path=pkg://pivot_reward_client.verl
    # or: reward.custom_reward_function.path=$(python -m pivot_reward_client path verl)
    reward.custom_reward_function.name=compute_score_async     # or compute_score
    +reward.custom_reward_function.reward_kwargs.url=http://127.0.0.1:8000
    +reward.custom_reward_function.reward_kwargs.preset=hybrid

verl's reward loop (`RewardLoopWorker`, naive reward manager) calls the function once per sample,
all samples of a batch concurrently: `compute_score_async` is awaited on the worker's loop (one
async client per loop); `compute_score` runs in the loop's thread pool (one thread-safe client per
process). The service micro-batches the concurrent requests. There is no batch reward manager in
verl's reward loop since 0.7.1, so there is no batch entry point here.

Settings come from `reward_kwargs` (verl passes them as keyword arguments), else the environment
of the reward workers: `url` / `PIVOT_REWARD_URL`, `api_key` / `PIVOT_API_KEY`, `preset` /
`PIVOT_REWARD_PRESET`, `lang` / `PIVOT_REWARD_LANG`, `timeout`, `max_retries`, `deadline`,
`max_in_flight` (see `pivot_reward_client.config`).

`ground_truth` (verl's `reward_model.ground_truth`) is a label as in `pivot_reward_client.labels`:
a gold answer (`"18"`, `18`), an English solution (long or multi-line text: reference + pivot
response), or a JSON object / dict with `reference`, `pivot_answer`, `pivot_response`, `lang`,
`prompt`. `extra_info` may carry the same keys (notably `lang`; `question` counts as `prompt`);
`ground_truth` wins. The language falls back to `lang`; with none, the service detects it (and
its fidelity gate then cannot catch a wrong-language answer).

Returned dict (verl needs `"score"` and logs the other keys as `reward_extra_info`; every sample of
a preset has the same keys):

- `score`: the reward. A reward the service leaves null becomes `0.0` with `excluded: True` and
  the `reason`, because verl needs a number for every sample; filter on `excluded`.
- `excluded` (bool), `truncated` (bool: a text was truncated or windowed by the service).
- one float per component of the preset (`NaN` when it does not apply); a component whose name
  clashes with a key here is prefixed with `component_`.
- `reason`, `answer_status`, `detected_lang`, `gate`: strings (`""` when absent).

This file is loaded by verl without being registered in `sys.modules`: it defines no dataclass
and imports the package absolutely, so both loaders work.
"""

import os
import threading
from collections.abc import Mapping
from typing import Any

from pivot_reward_client import stats
from pivot_reward_client.async_client import AsyncPivotRewardClient
from pivot_reward_client.config import AdapterConfig, resolve
from pivot_reward_client.labels import FIELDS, label_fields
from pivot_reward_client.loops import LoopLocalClients
from pivot_reward_client.results import checked, component_names, reward_of, truncated
from pivot_reward_client.sync_client import PivotRewardClient

__all__ = ["build_item", "close", "compute_score", "compute_score_async", "to_score_dict"]

_RESERVED = ("score", "excluded", "truncated", "reason", "answer_status", "detected_lang", "gate")

_lock = threading.Lock()
_sync_clients: dict[tuple[int, AdapterConfig], PivotRewardClient] = {}
_async_clients: dict[AdapterConfig, LoopLocalClients] = {}


def _sync_client(config: AdapterConfig) -> PivotRewardClient:
    key = (os.getpid(), config)  # a forked worker makes its own
    with _lock:
        client = _sync_clients.get(key)
        if client is None:
            client = PivotRewardClient(config.urls, **config.options())
            _sync_clients[key] = client
        return client


def _async_client(config: AdapterConfig) -> AsyncPivotRewardClient:
    with _lock:
        clients = _async_clients.get(config)
        if clients is None:
            clients = LoopLocalClients(
                lambda: AsyncPivotRewardClient(config.urls, **config.options())
            )
            _async_clients[config] = clients
    return clients.get()


def close() -> None:
    """Close this process's sync clients (new ones are created on next use)."""
    with _lock:
        mine = [k for k in _sync_clients if k[0] == os.getpid()]
        clients = [_sync_clients.pop(k) for k in mine]
    for client in clients:
        client.close()


def build_item(
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    default_lang: str | None = None,
) -> dict[str, Any]:
    """The `/v1/rewards` item for one verl sample."""
    fields: dict[str, str] = {}
    if extra_info:
        extra = {k: extra_info.get(k) for k in FIELDS}
        if extra.get("prompt") is None:
            extra["prompt"] = extra_info.get("question")
        fields.update(label_fields(extra))
    fields.update(label_fields(ground_truth))
    item: dict[str, Any] = {"response": solution_str or "", **fields}
    # Without a language the service detects one (a wrong-language answer then goes unseen).
    if lang := fields.get("lang") or default_lang:
        item["lang"] = lang
    return item


def _component_key(name: str) -> str:
    return f"component_{name}" if name in _RESERVED else name


def to_score_dict(result: Mapping[str, Any], components: list[str]) -> dict[str, Any]:
    """verl's dict for one result (see the module docstring)."""
    reward = reward_of(result)
    values = result.get("components") or {}
    out: dict[str, Any] = {
        "score": 0.0 if reward is None else reward,
        "excluded": reward is None,
        "truncated": truncated(result),
    }
    for name in components:
        value = values.get(name)
        out[_component_key(name)] = float("nan") if value is None else float(value)
    for key in ("reason", "answer_status", "detected_lang", "gate"):
        value = result.get(key)
        out[key] = "" if value is None else str(value)
    return out


def _prepare(
    solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None, kwargs: Any
) -> tuple[AdapterConfig, dict[str, Any]]:
    config = resolve(kwargs)
    return config, build_item(solution_str, ground_truth, extra_info, default_lang=config.lang)


def _answer(config: AdapterConfig, response: Mapping[str, Any]) -> dict[str, Any]:
    results = checked(response, 1)
    stats.record("verl", results)
    return to_score_dict(results[0], component_names(config.preset, results))


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score one rollout (verl's signature); `kwargs` are `reward_kwargs` and verl's extras."""
    config, item = _prepare(solution_str, ground_truth, extra_info, kwargs)
    return _answer(config, _sync_client(config).rewards([item], preset=config.preset))


async def compute_score_async(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Async `compute_score`, awaited by verl's reward loop on its event loop."""
    config, item = _prepare(solution_str, ground_truth, extra_info, kwargs)
    return _answer(config, await _async_client(config).rewards([item], preset=config.preset))
